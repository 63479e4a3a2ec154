//! smalt-stdlib: the class library as Smalltalk source, in load order.
//!
//! Each entry is a SOM class file; a class's superclass always comes earlier in the list. The
//! VM compiles them at start-up (and, later, into the embedded default image). A file for a
//! kernel class adds methods to it.

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
];
