//! Snapshots without files: a VM rebuilt from its own snapshot behaves as the original, and
//! primitives are found by name when the snapshot comes from a build with another primitive
//! table.

use smalt_gc::Word;
use smalt_vm::objects::{MethodInfoBits, class, debug, method};
use smalt_vm::snapshot::{Checks, Snapshot};
use smalt_vm::{Vm, VmOptions};

fn eval(vm: &mut Vm, src: &str) -> String {
    let v = vm.evaluate(src, "test", true).expect(src);
    let s = vm.send_message(v, "printString", &[]).expect("printString");
    vm.string_value(s).unwrap()
}

fn load(snap: Snapshot<'_>) -> Result<Vm, String> {
    Vm::from_snapshot(VmOptions::default(), snap, Checks::All).map_err(|e| e.to_string())
}

#[test]
fn a_rebuilt_vm_runs_the_class_library() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    eval(
        &mut vm,
        "Gx := 3 factorial. Gy := (1 to: 5) asOrderedCollection",
    );
    let snap = vm.snapshot().unwrap();
    assert!(snap.active.is_none());
    let mut vm2 = load(snap).unwrap();
    assert_eq!(eval(&mut vm2, "Gx"), "6");
    assert_eq!(eval(&mut vm2, "Gy"), "an OrderedCollection(1 2 3 4 5)");
    assert_eq!(
        eval(&mut vm2, "(100 factorial / 98 factorial) printString"),
        "'9900'"
    );
    assert_eq!(eval(&mut vm2, "[:x | x * 2] value: 21"), "42");
}

/// The heap index of slot `i` of the object `o`.
fn slot_index(o: Word, i: usize) -> usize {
    o.oop().index() + 1 + i
}

/// `Object>>identityHash` (a primitive method) of a VM, with its info word's heap index.
fn identity_hash_method(vm: &mut Vm) -> (Word, usize) {
    let object = vm.global("Object").unwrap();
    let sel = vm.intern("identityHash").unwrap();
    let md = vm.heap.slot(object.oop(), class::METHODS);
    let m = vm.dict_at(md, sel).unwrap();
    (m, slot_index(m, method::INFO))
}

#[test]
fn primitives_are_found_by_name_when_the_tables_differ() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let mut snap = vm.snapshot().unwrap().into_owned();
    let (_, info_at) = identity_hash_method(&mut vm);
    let bits = MethodInfoBits::decode(Word::from_raw(snap.heap[info_at]).as_small_int().unwrap());
    assert_ne!(bits.primitive, 0);
    // Another build numbers its primitives differently: this one is now a wrong number.
    let wrong = MethodInfoBits {
        primitive: bits.primitive + 1,
        ..bits
    };
    snap.heap.to_mut()[info_at] = Word::small_int(wrong.encode()).raw();
    snap.primitive_stamp ^= 1;
    let mut vm2 = load(snap).unwrap();
    let (_, info_at2) = identity_hash_method(&mut vm2);
    let fixed = MethodInfoBits::decode(
        Word::from_raw(vm2.heap.image_words()[info_at2])
            .as_small_int()
            .unwrap(),
    );
    assert_eq!(fixed.primitive, bits.primitive, "renumbered by name");
    assert_eq!(
        eval(
            &mut vm2,
            "| o | o := Object new. o identityHash = o identityHash"
        ),
        "true"
    );
}

#[test]
fn an_image_needing_a_primitive_this_build_lacks_is_refused() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let mut snap = vm.snapshot().unwrap().into_owned();
    let (m, _) = identity_hash_method(&mut vm);
    let n = vm.heap.method_pointer_slots(m.oop());
    let dbg = vm.heap.slot(m.oop(), n - 1);
    // Name a primitive no build has (any Symbol will do: #printString is no primitive).
    let not_a_primitive = vm.intern("printString").unwrap();
    snap.heap.to_mut()[slot_index(dbg, debug::PRIMITIVE)] = not_a_primitive.raw();
    snap.primitive_stamp ^= 1;
    let e = load(snap).expect_err("refused");
    assert!(
        e.contains("primitive #printString is missing in this build"),
        "{e}"
    );
}

#[test]
fn a_snapshot_is_refused_between_steps_of_a_run() {
    // snapshot() is for VMs between runs; inside a run Smalltalk code uses saveImage:.
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    vm.run_depth = 1;
    assert!(vm.snapshot().is_err());
}
