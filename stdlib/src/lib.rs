//! smalt-stdlib: the class library as Smalltalk source, in load order.
//!
//! Each entry is a SOM class file; a class's superclass always comes earlier in the list. The
//! VM compiles them at start-up (and, later, into the embedded default image).

/// (file name, source) of every class-library file, superclasses first.
pub const FILES: &[(&str, &str)] = &[
    ("Object.som", include_str!("../Object.som")),
    ("Boolean.som", include_str!("../Boolean.som")),
    ("True.som", include_str!("../True.som")),
    ("False.som", include_str!("../False.som")),
    ("Nil.som", include_str!("../Nil.som")),
    ("Integer.som", include_str!("../Integer.som")),
    ("String.som", include_str!("../String.som")),
    ("Symbol.som", include_str!("../Symbol.som")),
    ("Array.som", include_str!("../Array.som")),
    ("Block.som", include_str!("../Block.som")),
    ("Message.som", include_str!("../Message.som")),
    ("System.som", include_str!("../System.som")),
];
