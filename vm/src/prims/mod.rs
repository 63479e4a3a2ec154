//! Primitives: Rust functions that implement methods, selected by the method header.
//!
//! Every primitive has a **name**. A method names its primitive either with a pragma
//! (`<primitive: #integerAdd>`, or `<primitive: N>` for entry N of [`table`]) or, SOM style, by
//! being declared `= primitive`, in which case the name is `Class>>selector` (for example
//! `Integer>>+` or `System class>>new`); the same function may be registered under several names.
//! At install time the name is resolved to an index into [`table`], stored in the method's info
//! word; the name itself is kept in the method's debug info so that an image can re-resolve it.
//!
//! A primitive takes a fixed set of argument counts: those of its `Class>>selector` names, or
//! for the few without one, those in [`ARITIES`]. Installing a method whose argument count the
//! primitive does not take is a compile error, so a primitive never reads arguments that are
//! not there, whichever class or selector names it (`<primitive:>` may name any primitive in
//! any class). Its receiver, on the other hand, can be anything: `perform:`, a user subclass
//! of a kernel class or a copied `<primitive:>` method may run it on any object, so every
//! primitive checks its receiver as carefully as its arguments.
//!
//! A primitive finds its receiver and arguments on top of the VM stack (`vm.regs.sp`), never
//! panics on bad arguments, and answers a [`Prim`]:
//!
//! * `Done(v)`: the receiver and arguments are replaced by `v`;
//! * `Fail`: the method's Smalltalk code runs instead (a SOM `= primitive` method's code sends
//!   `#primitiveFailed`, which signals an error);
//! * `Switched`: the primitive changed the registers itself (it activated a block, performed a
//!   send, unwound the stack…), and the interpreter continues from `vm.regs`;
//! * `Error(e)`: execution stops (exit, unhandled error, out of memory).
//!
//! Primitives may collect garbage (any allocation is a safepoint), so they read their arguments
//! from the stack again after allocating.

use crate::objects::class_index as ci;
use crate::vm::{Vm, VmError};
use rustc_hash::FxHashMap;
use smalt_gc::Word;
use std::sync::LazyLock;

mod blocks;
mod clock;
mod collections;
mod contexts;
mod numbers;
pub(crate) mod objects;
mod random;
mod reflection;
mod strings;
mod system;

pub(crate) use contexts::{MarkedFrames, format_trace, stack_trace};
pub(crate) use numbers::word_from_big;

/// The outcome of a primitive.
#[derive(Debug)]
pub enum Prim {
    /// Answer this value.
    Done(Word),
    /// Fall through to the method's Smalltalk code.
    Fail,
    /// The registers were changed; continue from `vm.regs`.
    Switched,
    /// Stop running.
    Error(VmError),
    /// The primitive could not allocate: it fails, and `system primitiveFailureReason`
    /// answers `#outOfMemory`.
    OutOfMemory,
}

impl From<VmError> for Prim {
    fn from(e: VmError) -> Prim {
        match e {
            VmError::OutOfMemory => Prim::OutOfMemory,
            e => Prim::Error(e),
        }
    }
}

/// A primitive: gets the VM and the number of arguments of the send.
pub type PrimFn = fn(&mut Vm, usize) -> Prim;

/// A named primitive: names (the first is the canonical one) and the function.
pub type PrimDef = (&'static [&'static str], PrimFn);

/// All primitives, index 0 unused (it means "no primitive").
pub struct PrimTable {
    /// (canonical name, function) by index.
    pub entries: Vec<(&'static str, PrimFn)>,
    /// Every name → index.
    pub by_name: FxHashMap<&'static str, u16>,
    /// The argument counts each primitive takes, by index: bit n set = n arguments.
    pub arities: Vec<u32>,
}

/// Argument counts of the primitives that have no `Class>>selector` name to read them from.
const ARITIES: &[(&str, &[usize])] = &[
    ("stringFromCharacters", &[1, 2]),
    ("integerFloorDivide", &[1]),
    ("integerRaisedTo", &[1]),
    ("classDefineSubclass", &[1, 2, 3]),
    ("objectClassIndex", &[0]),
    ("classMethodCount", &[0]),
];

/// The argument counts a primitive with these names takes, as a bit set.
///
/// # Panics
/// If a primitive has neither a `Class>>selector` name nor an [`ARITIES`] entry (a VM bug,
/// caught by the unit test below).
fn arity_bits(names: &[&'static str]) -> u32 {
    let mut bits = 0u32;
    for n in names {
        if let Some((_, selector)) = n.split_once(">>") {
            bits |= 1 << crate::compiler::selector_arity(selector);
        }
    }
    if bits == 0 {
        let (_, counts) = ARITIES
            .iter()
            .find(|(name, _)| *name == names[0])
            .unwrap_or_else(|| panic!("primitive {} has no argument count", names[0]));
        for c in *counts {
            bits |= 1 << c;
        }
    }
    bits
}

/// Names that mark a method without giving it a primitive: the VM sets a flag instead.
pub const UNWIND_MARKER: &str = "unwindMarker";
/// See [`UNWIND_MARKER`].
pub const HANDLER_MARKER: &str = "handlerMarker";

/// Every group of primitives, in table order (index 1 is the first group's first entry).
const GROUPS: [&[PrimDef]; 10] = [
    objects::PRIMITIVES,
    numbers::PRIMITIVES,
    strings::PRIMITIVES,
    blocks::PRIMITIVES,
    contexts::PRIMITIVES,
    system::PRIMITIVES,
    collections::PRIMITIVES,
    reflection::PRIMITIVES,
    random::PRIMITIVES,
    clock::PRIMITIVES,
];

/// A hash of every primitive's names in table order, and of [`ARITIES`]: two builds with the
/// same stamp number their primitives the same way and give them the same argument counts
/// (which follow from the names). Computed at compile time; images record it.
pub const PRIMITIVE_STAMP: u64 = {
    const fn mix(mut h: u64, bytes: &[u8]) -> u64 {
        let mut i = 0;
        while i < bytes.len() {
            h ^= bytes[i] as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        h
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut g = 0;
    while g < GROUPS.len() {
        let defs = GROUPS[g];
        let mut i = 0;
        while i < defs.len() {
            let names = defs[i].0;
            let mut j = 0;
            while j < names.len() {
                h = mix(h, names[j].as_bytes());
                h = mix(h, b",");
                j += 1;
            }
            h = mix(h, b";");
            i += 1;
        }
        g += 1;
    }
    let mut a = 0;
    while a < ARITIES.len() {
        h = mix(h, ARITIES[a].0.as_bytes());
        let mut c = 0;
        while c < ARITIES[a].1.len() {
            h = mix(h, &[ARITIES[a].1[c] as u8]);
            c += 1;
        }
        a += 1;
    }
    h
};

fn no_primitive(_: &mut Vm, _: usize) -> Prim {
    Prim::Fail
}

/// (canonical name, function) of every primitive by index: the cheap part of [`table`],
/// enough to run methods whose primitive indices are known.
pub fn functions() -> &'static [(&'static str, PrimFn)] {
    static FUNCTIONS: LazyLock<Vec<(&'static str, PrimFn)>> = LazyLock::new(|| {
        let mut entries: Vec<(&'static str, PrimFn)> = Vec::with_capacity(1024);
        entries.push(("", no_primitive));
        for defs in GROUPS {
            entries.extend(defs.iter().map(|(names, f)| (names[0], *f)));
        }
        entries
    });
    &FUNCTIONS
}

/// The primitive table.
pub fn table() -> &'static PrimTable {
    static TABLE: LazyLock<PrimTable> = LazyLock::new(|| {
        let entries = functions().to_vec();
        let mut arities = Vec::with_capacity(entries.len());
        arities.push(0);
        let mut by_name = FxHashMap::with_capacity_and_hasher(2048, Default::default());
        for defs in GROUPS {
            for (names, _) in defs {
                let index = arities.len() as u16;
                arities.push(arity_bits(names));
                for n in *names {
                    let old = by_name.insert(*n, index);
                    assert!(old.is_none(), "primitive name {n} registered twice");
                }
            }
        }
        PrimTable {
            entries,
            by_name,
            arities,
        }
    });
    &TABLE
}

/// The index of a named primitive.
pub fn lookup(name: &str) -> Option<u16> {
    table().by_name.get(name).copied()
}

/// Whether primitive `index` takes `nargs` arguments.
pub fn accepts(index: u16, nargs: usize) -> bool {
    nargs < 32
        && table()
            .arities
            .get(usize::from(index))
            .is_some_and(|bits| bits & (1 << nargs) != 0)
}

/// Every primitive's canonical name with the argument counts it takes (for tests and tools).
pub fn primitive_signatures() -> Vec<(&'static str, Vec<usize>)> {
    let t = table();
    t.entries
        .iter()
        .zip(&t.arities)
        .skip(1)
        .map(|((name, _), bits)| (*name, (0..32).filter(|n| bits & (1 << n) != 0).collect()))
        .collect()
}

impl Vm {
    /// Argument `i` of the running primitive: 0 is the receiver, 1..=nargs the arguments.
    #[inline]
    pub(crate) fn arg(&self, nargs: usize, i: usize) -> Word {
        self.stack[self.regs.sp - 1 - nargs + i]
    }

    /// The receiver of the running primitive.
    #[inline]
    pub(crate) fn rcv(&self, nargs: usize) -> Word {
        self.arg(nargs, 0)
    }

    /// A SmallInteger argument as i64.
    #[inline]
    pub(crate) fn int_arg(&self, nargs: usize, i: usize) -> Option<i64> {
        self.arg(nargs, i).as_small_int()
    }

    /// A size argument (a count of elements to allocate): `Ok` for a non-negative
    /// SmallInteger; `Err(Prim::OutOfMemory)` for a positive large integer, a valid size
    /// that no heap can hold; `Err(Prim::Fail)` for anything else.
    pub(crate) fn size_arg(&self, nargs: usize, i: usize) -> Result<usize, Prim> {
        let a = self.arg(nargs, i);
        match a.as_small_int() {
            Some(v) if v >= 0 => Ok(v as usize),
            Some(_) => Err(Prim::Fail),
            None => match a.as_oop() {
                Some(o) if self.heap.header(o).class_index() == ci::LARGE_POSITIVE => {
                    Err(Prim::OutOfMemory)
                }
                _ => Err(Prim::Fail),
            },
        }
    }

    /// A 1-based index argument checked against `len`, as a 0-based index.
    #[inline]
    pub(crate) fn index_arg(&self, nargs: usize, i: usize, len: usize) -> Option<usize> {
        let v = self.int_arg(nargs, i)?;
        (v >= 1 && (v as usize) <= len).then(|| v as usize - 1)
    }
}

/// `Done` for a result that may have failed to allocate. Running out of memory makes the
/// primitive fail (with the reason recorded), so that Smalltalk code signals an OutOfMemory
/// error that programs can handle.
pub(crate) fn done(r: Result<Word, VmError>) -> Prim {
    match r {
        Ok(w) => Prim::Done(w),
        Err(VmError::OutOfMemory) => Prim::OutOfMemory,
        Err(e) => Prim::Error(e),
    }
}

/// Unwraps an option or fails the primitive.
macro_rules! prim_try {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return $crate::prims::Prim::Fail,
        }
    };
}
pub(crate) use prim_try;

/// Unwraps a VM result or stops with its error (running out of memory fails the primitive).
macro_rules! vm_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::prims::Prim::from(e),
        }
    };
}
pub(crate) use vm_try;

#[cfg(test)]
mod tests {
    #[test]
    fn table_builds_without_duplicate_names() {
        let t = super::table();
        assert!(t.entries.len() > 50);
        assert!(super::lookup("Integer>>+").is_some());
    }

    #[test]
    fn every_primitive_has_argument_counts() {
        let t = super::table();
        assert!(t.arities.iter().skip(1).all(|bits| *bits != 0));
        let add = super::lookup("integerAdd").unwrap();
        assert!(super::accepts(add, 1) && !super::accepts(add, 0) && !super::accepts(add, 2));
        let value = super::lookup("blockValue").unwrap();
        assert!((0..=4).all(|n| super::accepts(value, n)) && !super::accepts(value, 5));
    }
}
