//! smalt-stdlib: the class library as Smalltalk source, in load order.
//!
//! Each entry is a SOM class file; a class's superclass always comes earlier in the list. The
//! VM compiles them at start-up (and, later, into the embedded default image). A file for a
//! kernel class adds methods to it; a class may be extended by a second file (the exception
//! protocol of Object and Block lives with the exceptions).

/// (file name, source) of every class-library file, superclasses first.
pub const FILES: &[(&str, &str)] = &[
    ("Object.som", include_str!("../Object.som")),
    ("Nil.som", include_str!("../Nil.som")),
    ("Boolean.som", include_str!("../Boolean.som")),
    ("True.som", include_str!("../True.som")),
    ("False.som", include_str!("../False.som")),
    ("Magnitude.som", include_str!("../Magnitude.som")),
    ("Number.som", include_str!("../Number.som")),
    ("Integer.som", include_str!("../Integer.som")),
    ("Double.som", include_str!("../Double.som")),
    ("Character.som", include_str!("../Character.som")),
    ("Association.som", include_str!("../Association.som")),
    ("Pair.som", include_str!("../Pair.som")),
    ("Message.som", include_str!("../Message.som")),
    ("Class.som", include_str!("../Class.som")),
    ("Metaclass.som", include_str!("../Metaclass.som")),
    ("Method.som", include_str!("../Method.som")),
    ("Block.som", include_str!("../Block.som")),
    ("Collection.som", include_str!("../Collection.som")),
    (
        "SequenceableCollection.som",
        include_str!("../SequenceableCollection.som"),
    ),
    (
        "ArrayedCollection.som",
        include_str!("../ArrayedCollection.som"),
    ),
    ("Array.som", include_str!("../Array.som")),
    ("String.som", include_str!("../String.som")),
    ("Symbol.som", include_str!("../Symbol.som")),
    ("ByteArray.som", include_str!("../ByteArray.som")),
    (
        "OrderedCollection.som",
        include_str!("../OrderedCollection.som"),
    ),
    (
        "SortedCollection.som",
        include_str!("../SortedCollection.som"),
    ),
    ("Vector.som", include_str!("../Vector.som")),
    ("Interval.som", include_str!("../Interval.som")),
    (
        "HashedCollection.som",
        include_str!("../HashedCollection.som"),
    ),
    ("Set.som", include_str!("../Set.som")),
    ("IdentitySet.som", include_str!("../IdentitySet.som")),
    ("Dictionary.som", include_str!("../Dictionary.som")),
    (
        "IdentityDictionary.som",
        include_str!("../IdentityDictionary.som"),
    ),
    ("Hashtable.som", include_str!("../Hashtable.som")),
    ("Bag.som", include_str!("../Bag.som")),
    ("Stream.som", include_str!("../Stream.som")),
    (
        "PositionableStream.som",
        include_str!("../PositionableStream.som"),
    ),
    ("ReadStream.som", include_str!("../ReadStream.som")),
    ("WriteStream.som", include_str!("../WriteStream.som")),
    (
        "ReadWriteStream.som",
        include_str!("../ReadWriteStream.som"),
    ),
    ("Transcript.som", include_str!("../Transcript.som")),
    (
        "SystemDictionary.som",
        include_str!("../SystemDictionary.som"),
    ),
    ("System.som", include_str!("../System.som")),
    ("Context.som", include_str!("../Context.som")),
    (
        "BlockExceptions.som",
        include_str!("../BlockExceptions.som"),
    ),
    ("Exception.som", include_str!("../Exception.som")),
    ("ExceptionSet.som", include_str!("../ExceptionSet.som")),
    ("Error.som", include_str!("../Error.som")),
    (
        "ArithmeticError.som",
        include_str!("../ArithmeticError.som"),
    ),
    ("ZeroDivide.som", include_str!("../ZeroDivide.som")),
    (
        "MessageNotUnderstood.som",
        include_str!("../MessageNotUnderstood.som"),
    ),
    (
        "SubscriptOutOfBounds.som",
        include_str!("../SubscriptOutOfBounds.som"),
    ),
    ("KeyNotFound.som", include_str!("../KeyNotFound.som")),
    (
        "NotYetImplemented.som",
        include_str!("../NotYetImplemented.som"),
    ),
    (
        "PrimitiveFailed.som",
        include_str!("../PrimitiveFailed.som"),
    ),
    ("StackOverflow.som", include_str!("../StackOverflow.som")),
    (
        "BlockCannotReturn.som",
        include_str!("../BlockCannotReturn.som"),
    ),
    ("OutOfMemory.som", include_str!("../OutOfMemory.som")),
    (
        "NonBooleanReceiver.som",
        include_str!("../NonBooleanReceiver.som"),
    ),
    ("UnknownGlobal.som", include_str!("../UnknownGlobal.som")),
    (
        "ModificationForbidden.som",
        include_str!("../ModificationForbidden.som"),
    ),
    (
        "IllegalResumeAttempt.som",
        include_str!("../IllegalResumeAttempt.som"),
    ),
    ("Warning.som", include_str!("../Warning.som")),
    ("Notification.som", include_str!("../Notification.som")),
    ("Halt.som", include_str!("../Halt.som")),
    ("ObjectErrors.som", include_str!("../ObjectErrors.som")),
    ("MessageExtras.som", include_str!("../MessageExtras.som")),
    ("NotFound.som", include_str!("../NotFound.som")),
    (
        "CollectionIsEmpty.som",
        include_str!("../CollectionIsEmpty.som"),
    ),
    ("TestFailure.som", include_str!("../TestFailure.som")),
    ("TestCase.som", include_str!("../TestCase.som")),
    ("TestResult.som", include_str!("../TestResult.som")),
    ("TestRunner.som", include_str!("../TestRunner.som")),
    // The Smalltalk-80 classics, part two: geometry, numbers, time, randomness, reflection.
    // The *Classics and *Reflection files extend kernel classes (Number, Integer, Double,
    // Collection, Class, Object, Array, SystemDictionary).
    ("Point.som", include_str!("../Point.som")),
    ("Rectangle.som", include_str!("../Rectangle.som")),
    ("Fraction.som", include_str!("../Fraction.som")),
    ("NumberClassics.som", include_str!("../NumberClassics.som")),
    (
        "IntegerClassics.som",
        include_str!("../IntegerClassics.som"),
    ),
    ("DoubleClassics.som", include_str!("../DoubleClassics.som")),
    ("Random.som", include_str!("../Random.som")),
    (
        "CollectionClassics.som",
        include_str!("../CollectionClassics.som"),
    ),
    ("Duration.som", include_str!("../Duration.som")),
    ("Date.som", include_str!("../Date.som")),
    ("Time.som", include_str!("../Time.som")),
    ("DateAndTime.som", include_str!("../DateAndTime.som")),
    (
        "ClassDescriptions.som",
        include_str!("../ClassDescriptions.som"),
    ),
    (
        "ClassReflection.som",
        include_str!("../ClassReflection.som"),
    ),
    (
        "ObjectReflection.som",
        include_str!("../ObjectReflection.som"),
    ),
    (
        "ArrayReflection.som",
        include_str!("../ArrayReflection.som"),
    ),
    (
        "SystemReflection.som",
        include_str!("../SystemReflection.som"),
    ),
];
