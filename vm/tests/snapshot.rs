//! Snapshots without files: a VM rebuilt from its own snapshot behaves as the original.

use smalt_vm::snapshot::Snapshot;
use smalt_vm::{Vm, VmOptions};

fn eval(vm: &mut Vm, src: &str) -> String {
    let v = vm.evaluate(src, "test", true).expect(src);
    let s = vm.send_message(v, "printString", &[]).expect("printString");
    vm.string_value(s).unwrap()
}

#[test]
fn a_rebuilt_vm_runs_the_class_library() {
    let t = std::time::Instant::now();
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    eprintln!("new: {:?}", t.elapsed());
    eval(
        &mut vm,
        "Gx := 3 factorial. Gy := (1 to: 5) asOrderedCollection",
    );
    let snap: Snapshot = vm.snapshot().unwrap();
    eprintln!(
        "heap words {} classes {} feedback {}",
        snap.top,
        snap.classes.len(),
        snap.feedback.len()
    );
    let t = std::time::Instant::now();
    let mut vm2 =
        Vm::from_snapshot(VmOptions::default(), snap, smalt_vm::snapshot::Checks::All).unwrap();
    eprintln!("load: {:?}", t.elapsed());
    assert_eq!(eval(&mut vm2, "Gx"), "6");
    assert_eq!(eval(&mut vm2, "Gy"), "an OrderedCollection(1 2 3 4 5)");
    assert_eq!(
        eval(&mut vm2, "(100 factorial / 98 factorial) printString"),
        "'9900'"
    );
    assert_eq!(eval(&mut vm2, "[:x | x * 2] value: 21"), "42");
}
