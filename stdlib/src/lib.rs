//! smalt-stdlib: the class library as Smalltalk source, in load order.
//!
//! Each entry is a SOM class file; a class's superclass always comes earlier in the list. The
//! VM compiles them at start-up (and, later, into the embedded default image).

/// (file name, source) of every class-library file, superclasses first.
pub const FILES: &[(&str, &str)] = &[
    ("Object.som", include_str!("../Object.som")),
    ("Class.som", include_str!("../Class.som")),
    ("Boolean.som", include_str!("../Boolean.som")),
    ("True.som", include_str!("../True.som")),
    ("False.som", include_str!("../False.som")),
    ("Nil.som", include_str!("../Nil.som")),
    ("Integer.som", include_str!("../Integer.som")),
    ("String.som", include_str!("../String.som")),
    ("Symbol.som", include_str!("../Symbol.som")),
    ("Array.som", include_str!("../Array.som")),
    ("Block.som", include_str!("../Block.som")),
    ("Method.som", include_str!("../Method.som")),
    ("Message.som", include_str!("../Message.som")),
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
        "IllegalResumeAttempt.som",
        include_str!("../IllegalResumeAttempt.som"),
    ),
    ("Warning.som", include_str!("../Warning.som")),
    ("Notification.som", include_str!("../Notification.som")),
    ("Halt.som", include_str!("../Halt.som")),
    ("ObjectErrors.som", include_str!("../ObjectErrors.som")),
    ("MessageExtras.som", include_str!("../MessageExtras.som")),
];
