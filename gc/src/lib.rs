//! smalt-gc: the object memory of smalt.
//!
//! Everything a Smalltalk program touches is a [`Word`]: an immediate (SmallInteger, Character,
//! SmallFloat64) or a reference ([`Oop`]) to an object in the [`Heap`]. Each object starts with a
//! one-word [`Header`] (class index, [`Format`], identity hash, slot count). Classes are found
//! through the [`ClassTable`] by index.
//!
//! Allocation is a bump of a pointer and never collects by itself: when the space is full it
//! reports [`AllocError::Exhausted`]; the VM then reaches a safepoint, calls [`Heap::collect`]
//! with its [`Roots`], and retries. The collector is Cheney's copying algorithm; roots are exact
//! (the VM's stack and tables, the class table, the handle stack). Weak slots are cleared to nil
//! when their referents die. [`Heap::verify`] checks every reference after a collection, and
//! [`Heap::set_stress`] makes the VM collect at every safepoint.
//!
//! See `docs/object-format.md` for the layout diagrams and the reasons behind them.

#![deny(unsafe_code)]

mod class_table;
mod collector;
mod exchange;
mod header;
mod heap;
pub mod layout;
mod verify;
mod word;

pub use class_table::ClassTable;
pub use collector::Roots;
pub use header::{
    ASCII, ClassIndex, Format, GC_FORWARDED, Header, MAX_CLASS_INDEX, MAX_HASH, OVERFLOW_SLOTS,
    READ_ONLY,
};
pub use heap::{
    AllocError, GcStats, Handle, HandleMark, Heap, HeapConfig, MAX_OBJECT_SLOTS, MAX_SPACE_BYTES,
    ObjectIter,
};
pub use verify::VerifyError;
pub use word::{
    CHAR_TAG, FLOAT_TAG, Oop, SMALL_INT_MAX, SMALL_INT_MIN, SMALL_INT_TAG, TAG_MASK, Word,
};

/// Class index of SmallInteger.
pub const SMALL_INTEGER_CLASS: ClassIndex = ClassIndex(1);
/// Class index of Character.
pub const CHARACTER_CLASS: ClassIndex = ClassIndex(2);
/// Class index of SmallFloat64 (immediate doubles).
pub const SMALL_FLOAT_CLASS: ClassIndex = ClassIndex(3);
/// First class index free for the VM's classes.
pub const FIRST_FREE_CLASS: ClassIndex = ClassIndex(4);
