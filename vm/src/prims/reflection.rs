//! Reflection over the whole object memory: instances of a class, every class, and exchanging
//! identities (`become:`).
//!
//! # What a heap walk may show
//!
//! The heap holds objects that only the VM uses: the Arrays inside method dictionaries and the
//! globals, a class's array of instance variable names, a method's debug info, the
//! special-objects array. The VM reads their slots without checking them (they are its own),
//! so Smalltalk code must never get hold of them: a walk skips them and every method
//! dictionary ([`internal_objects`]). Everything else a walk finds is an object a program
//! could have reached anyway.
//!
//! A walk starts with a full collection, so it answers only live objects, and copies what it
//! found into an Array allocated after room for it was reserved: no collection runs while
//! raw references are held. `allInstancesDo:` (Smalltalk) iterates such a snapshot, so objects
//! made while it runs are not visited, and the moving collector cannot upset it.
//!
//! # become:
//!
//! `a become: b` is two-way: every reference to `a` (heap, stack, VM roots, handles) becomes
//! one to `b` and the other way round, and the identity hashes go with the references (see
//! `smalt_gc`'s `exchange_identities`). The primitive refuses what the VM relies on
//! ([`become_problem`]): immediates, nil/true/false, read-only objects (symbols, literals,
//! boxed numbers), classes, methods, closures, contexts, the VM's internal objects, and, for
//! objects of different classes, any object that is the receiver of a running method or of a
//! block: compiled code addresses `self`'s instance variables by position, so it may only
//! ever see objects of the shape it was compiled for.

use super::{Prim, PrimDef, prim_try, vm_try};
use crate::frame;
use crate::objects::{class, class_index as ci, closure, debug, method_dict};
use crate::vm::{Vm, sp};
use smalt_gc::{ClassIndex, Format, Oop, Word};
use std::collections::HashSet;

/// The objects that only the VM may see (see the module docs), as raw words. Besides method
/// dictionaries (recognised by their class), they are all Arrays.
fn internal_objects(vm: &Vm) -> HashSet<u64> {
    let mut hidden = HashSet::new();
    let mut hide = |w: Word| {
        if w.as_oop().is_some() {
            hidden.insert(w.raw());
        }
    };
    hide(vm.specials);
    for o in vm.heap.objects() {
        let w = o.word();
        match vm.heap.header(o).class_index() {
            ci::METHOD_DICTIONARY | ci::SYSTEM_DICTIONARY
                if vm.heap.num_slots(o) >= method_dict::SIZE =>
            {
                hide(vm.heap.slot(o, method_dict::KEYS));
                hide(vm.heap.slot(o, method_dict::VALUES));
            }
            _ if vm.is_class_shaped(w) => {
                hide(vm.heap.slot(o, class::INSTANCE_VARIABLES));
            }
            _ if matches!(vm.heap.format(o), Format::CompiledMethod { .. }) => {
                let d = vm.method_trailer(w, 0);
                if let Some(d) = d.as_oop()
                    && vm.heap.num_slots(d) >= debug::SIZE
                {
                    hide(vm.heap.slot(d, debug::LINES));
                    hide(vm.heap.slot(d, debug::TEMP_NAMES));
                }
                hide(d);
            }
            _ => {}
        }
    }
    hidden
}

/// Whether a walk may show this object.
fn visible(vm: &Vm, o: Oop, hidden: &HashSet<u64>) -> bool {
    vm.heap.header(o).class_index() != ci::METHOD_DICTIONARY && !hidden.contains(&o.word().raw())
}

/// The class indices whose class is `cls` (a class may own several: Integer's large integers,
/// Double's boxed floats).
fn indices_of(vm: &Vm, cls: Word) -> Vec<ClassIndex> {
    vm.heap
        .classes()
        .iter()
        .filter(|(_, c)| *c == cls)
        .map(|(i, _)| i)
        .collect()
}

/// The visible instances of `cls` in the heap, in heap order. Reads only: holds no reference
/// across a safepoint.
fn instances_of(vm: &Vm, cls: Word) -> Vec<Oop> {
    let indices = indices_of(vm, cls);
    if indices.contains(&ci::METHOD_DICTIONARY) {
        return Vec::new();
    }
    let found: Vec<Oop> = vm
        .heap
        .objects()
        .filter(|o| indices.contains(&vm.heap.header(*o).class_index()))
        .collect();
    // Only Arrays may be the VM's own (see `internal_objects`): the costly walk that finds
    // them is needed for Arrays alone.
    if !indices.contains(&ci::ARRAY) || found.is_empty() {
        return found;
    }
    let hidden = internal_objects(vm);
    found
        .into_iter()
        .filter(|o| visible(vm, *o, &hidden))
        .collect()
}

/// An Array of the objects `find` answers, found after a full collection. `find` runs twice
/// (to size the Array, then to fill it after the allocation that may have moved everything).
fn snapshot(vm: &mut Vm, find: impl Fn(&Vm) -> Vec<Oop>) -> Prim {
    vm_try!(vm.collect_garbage(0));
    let count = find(vm).len();
    vm_try!(vm.reserve(Vm::object_words(count)));
    let found = find(vm);
    // Nothing can be born between the two walks; a collection can only have freed objects.
    let n = found.len().min(count);
    let array = vm.alloc_reserved(ci::ARRAY, Format::Indexable, n);
    for (i, o) in found.into_iter().take(n).enumerate() {
        vm.heap.set_slot(array, i, o.word());
    }
    Prim::Done(array.word())
}

/// `Class>>allInstances`: every live instance (none for the classes of immediates).
fn class_all_instances(vm: &mut Vm, n: usize) -> Prim {
    prim_try!(vm.is_class(vm.rcv(n)).then_some(()));
    // The receiver stays on the stack, where the collections update it.
    snapshot(vm, |vm| instances_of(vm, vm.rcv(n)))
}

/// `Class>>instanceCount`: the number of live instances.
fn class_instance_count(vm: &mut Vm, n: usize) -> Prim {
    prim_try!(vm.is_class(vm.rcv(n)).then_some(()));
    vm_try!(vm.collect_garbage(0));
    let count = instances_of(vm, vm.rcv(n)).len();
    Prim::Done(Word::from_usize(count))
}

/// `SystemDictionary>>someObject`: an object of the heap a program may see: the first in heap
/// order after nil, true and false (which come first in every heap) that is neither an Array
/// nor a method dictionary, so never one of the VM's own (see `internal_objects`).
fn system_some_object(vm: &mut Vm, n: usize) -> Prim {
    let _ = n;
    let unique = [vm.nil(), vm.true_obj(), vm.false_obj()];
    let first = vm.heap.objects().find(|o| {
        !unique.contains(&o.word())
            && !matches!(
                vm.heap.header(*o).class_index(),
                ci::ARRAY | ci::METHOD_DICTIONARY
            )
    });
    Prim::Done(first.map_or(vm.nil(), Oop::word))
}

/// `SystemDictionary>>allClassesAndMetaclasses`: every class and metaclass in the class
/// table, once each, in class-index order.
fn system_all_classes(vm: &mut Vm, n: usize) -> Prim {
    let _ = n;
    let mut seen = HashSet::new();
    let count = vm
        .heap
        .classes()
        .iter()
        .filter(|(_, c)| seen.insert(c.raw()) && vm.is_class(*c))
        .count();
    vm_try!(vm.reserve(Vm::object_words(count)));
    let mut seen = HashSet::new();
    let classes: Vec<Word> = vm
        .heap
        .classes()
        .iter()
        .filter(|(_, c)| seen.insert(c.raw()) && vm.is_class(*c))
        .map(|(_, c)| c)
        .collect();
    let array = vm.alloc_reserved(ci::ARRAY, Format::Indexable, count);
    for (i, c) in classes.into_iter().enumerate() {
        vm.heap.set_slot(array, i, c);
    }
    Prim::Done(array.word())
}

// ---- become: -------------------------------------------------------------------------------

/// Why `w` may not exchange its identity with anything, as far as the object itself tells
/// (no heap walk), or `None`.
fn unexchangeable(vm: &Vm, w: Word) -> Option<&'static str> {
    let Some(o) = w.as_oop() else {
        return Some("immediate values have no identity to exchange");
    };
    if w == vm.nil() || w == vm.true_obj() || w == vm.false_obj() {
        return Some("nil, true and false are unique");
    }
    if vm.heap.is_read_only(o) {
        return Some("it is read-only");
    }
    if vm.is_class_shaped(w) {
        return Some("the VM relies on the identity of classes");
    }
    if matches!(vm.heap.format(o), Format::CompiledMethod { .. }) {
        return Some("the VM relies on the identity of methods");
    }
    match vm.heap.header(o).class_index() {
        ci::BLOCK | ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3 => {
            return Some("the VM relies on the identity of blocks");
        }
        ci::CONTEXT => return Some("the VM relies on the identity of contexts"),
        ci::SYSTEM => return Some("there is one system"),
        ci::METHOD_DICTIONARY | ci::SYSTEM_DICTIONARY => {
            return Some("the VM relies on its identity");
        }
        _ => {}
    }
    (0..sp::COUNT)
        .any(|i| vm.special(i) == w)
        .then_some("the VM relies on its identity")
}

/// Whether `w` is `self` in a frame of the current chain or in a block.
fn is_receiver(vm: &Vm, w: Word) -> bool {
    let mut fp = vm.regs.fp;
    let mut frames = 0usize;
    while fp < vm.regs.sp && frames <= vm.stack.capacity() {
        if vm.stack[vm.frame_bp(fp)] == w {
            return true;
        }
        match vm.stack[fp + frame::CALLER_FP].as_small_int() {
            Some(c) if c >= 0 => fp = c as usize,
            _ => break,
        }
        frames += 1;
    }
    vm.heap.objects().any(|o| {
        matches!(
            vm.heap.header(o).class_index(),
            ci::BLOCK | ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3
        ) && vm.heap.num_slots(o) > closure::RECEIVER
            && vm.heap.slot(o, closure::RECEIVER) == w
    })
}

/// Why the identities of the pairs may not be exchanged, or `None`. The checks that walk the
/// heap come last, so that most refusals cost nothing.
fn become_problem(vm: &Vm, pairs: &[(Word, Word)]) -> Option<&'static str> {
    let mut seen = HashSet::new();
    let mut shapes_differ = false;
    for &(a, b) in pairs {
        for w in [a, b] {
            if let Some(p) = unexchangeable(vm, w) {
                return Some(p);
            }
            if !seen.insert(w.raw()) {
                return Some("an object appears twice");
            }
        }
        let (ca, cb) = (vm.heap.class_index_of(a), vm.heap.class_index_of(b));
        if ca == cb {
            continue;
        }
        // Objects the VM reads by layout are exchanged only with their own kind.
        let kernel = |c| matches!(c, ci::ASSOCIATION | ci::UNDECLARED_BINDING | ci::MESSAGE);
        if kernel(ca) || kernel(cb) {
            return Some("the VM reads its slots: it can only be exchanged with its own kind");
        }
        if vm.run_depth > 1 {
            return Some(
                "objects of different classes cannot be exchanged inside a call from the VM",
            );
        }
        shapes_differ = true;
    }
    // Only Arrays may be the VM's own (see `internal_objects`).
    let arrays = seen
        .iter()
        .any(|w| vm.heap.class_index_of(Word::from_raw(*w)) == ci::ARRAY);
    if arrays && seen.iter().any(|w| internal_objects(vm).contains(w)) {
        return Some("the VM relies on its identity");
    }
    if shapes_differ {
        for &(a, b) in pairs {
            if vm.heap.class_index_of(a) != vm.heap.class_index_of(b)
                && (is_receiver(vm, a) || is_receiver(vm, b))
            {
                return Some(
                    "it is self in a running method or a block, whose code needs an object of its class",
                );
            }
        }
    }
    None
}

/// The pairs of elements of `elementsExchangeIdentityWith:`: two Arrays of the same size.
fn element_pairs(vm: &Vm, n: usize) -> Option<Vec<(Word, Word)>> {
    if n != 1 {
        return None;
    }
    let array = |w: Word| {
        w.as_oop()
            .filter(|o| vm.heap.header(*o).class_index() == ci::ARRAY)
    };
    let (x, y) = (array(vm.rcv(n))?, array(vm.arg(n, 1))?);
    let len = vm.heap.num_slots(x);
    (len == vm.heap.num_slots(y)).then(|| {
        (0..len)
            .map(|i| (vm.heap.slot(x, i), vm.heap.slot(y, i)))
            .filter(|(a, b)| a != b)
            .collect()
    })
}

fn exchange(vm: &mut Vm, pairs: &[(Word, Word)]) {
    let pairs: Vec<(Oop, Oop)> = pairs.iter().map(|(a, b)| (a.oop(), b.oop())).collect();
    vm.exchange_identities(&pairs);
}

/// `Object>>become: other`: two-way exchange of identities; answers the receiver (which, as
/// a reference, is now the other object).
fn object_become(vm: &mut Vm, n: usize) -> Prim {
    let (a, b) = (vm.rcv(n), vm.arg(n, 1));
    if a == b {
        return Prim::Done(a);
    }
    let pairs = [(a, b)];
    prim_try!(become_problem(vm, &pairs).is_none().then_some(()));
    exchange(vm, &pairs);
    // The receiver's stack slot was rewritten too: answer what it holds now.
    Prim::Done(vm.rcv(n))
}

/// `Array>>elementsExchangeIdentityWith: otherArray`: `become:` for each pair of elements at
/// once.
fn array_exchange_identity(vm: &mut Vm, n: usize) -> Prim {
    let pairs = prim_try!(element_pairs(vm, n));
    prim_try!(become_problem(vm, &pairs).is_none().then_some(()));
    exchange(vm, &pairs);
    Prim::Done(vm.rcv(n))
}

/// Why `become:` (for an argument that is not an Array) or `elementsExchangeIdentityWith:`
/// (for two Arrays) refuses, as a String, or nil.
fn become_problem_string(vm: &mut Vm, pairs: &[(Word, Word)]) -> Prim {
    match become_problem(vm, pairs) {
        Some(p) => super::done(vm.new_string(p)),
        None => Prim::Done(vm.nil()),
    }
}

/// `Object>>becomeProblemWith: other`: why `become:` refuses, as a String, or nil.
fn object_become_problem(vm: &mut Vm, n: usize) -> Prim {
    let (a, b) = (vm.rcv(n), vm.arg(n, 1));
    let pairs = if a == b { vec![] } else { vec![(a, b)] };
    become_problem_string(vm, &pairs)
}

/// `Array>>elementsExchangeProblemWith: otherArray`: why `elementsExchangeIdentityWith:`
/// refuses, as a String, or nil.
fn array_exchange_problem(vm: &mut Vm, n: usize) -> Prim {
    match element_pairs(vm, n) {
        Some(pairs) => become_problem_string(vm, &pairs),
        None => super::done(vm.new_string("it needs two Arrays of the same size")),
    }
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (
        &["Class>>allInstances", "classAllInstances"],
        class_all_instances,
    ),
    (
        &["Class>>instanceCount", "classInstanceCount"],
        class_instance_count,
    ),
    (
        &["SystemDictionary>>someObject", "systemSomeObject"],
        system_some_object,
    ),
    (
        &[
            "SystemDictionary>>allClassesAndMetaclasses",
            "systemAllClasses",
        ],
        system_all_classes,
    ),
    (&["Object>>become:", "objectBecome"], object_become),
    (
        &[
            "Array>>elementsExchangeIdentityWith:",
            "arrayExchangeIdentity",
        ],
        array_exchange_identity,
    ),
    (
        &["Object>>becomeProblemWith:", "objectBecomeProblem"],
        object_become_problem,
    ),
    (
        &[
            "Array>>elementsExchangeProblemWith:",
            "arrayExchangeProblem",
        ],
        array_exchange_problem,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::VmOptions;

    /// `instances_of` and `become_problem` look for the VM's own objects among Arrays only.
    #[test]
    fn the_objects_only_the_vm_sees_are_arrays() {
        let vm = Vm::new(VmOptions::default()).unwrap();
        let hidden = internal_objects(&vm);
        assert!(hidden.len() > 100);
        for w in &hidden {
            assert_eq!(vm.heap.class_index_of(Word::from_raw(*w)), ci::ARRAY);
        }
        let arrays = instances_of(&vm, vm.class_at(ci::ARRAY));
        assert!(arrays.iter().all(|o| !hidden.contains(&o.word().raw())));
        assert!(instances_of(&vm, vm.class_at(ci::METHOD_DICTIONARY)).is_empty());
    }
}
