//! Rust-level tests of VM behaviour that Smalltalk suites cannot easily check: inline-cache
//! invalidation, class loading from a class path, deep recursion.

use smalt_vm::{Vm, VmError, VmOptions};
use std::path::PathBuf;

mod common;
use common::Capture;

fn vm_with(options: VmOptions) -> (Vm, Capture) {
    let mut vm = Vm::new(options).expect("the VM starts");
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    (vm, out)
}

#[test]
fn program_output_goes_to_the_vm_output() {
    let (mut vm, out) = vm();
    eval(&mut vm, "'hello' println. 42 println").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.0.borrow()), "hello\n42\n");
}

fn vm() -> (Vm, Capture) {
    vm_with(VmOptions::default())
}

/// Evaluates a do-it and answers the printString of its value.
fn eval(vm: &mut Vm, src: &str) -> Result<String, VmError> {
    let v = vm.evaluate(src, "test", true)?;
    let s = vm.send_message(v, "printString", &[])?;
    Ok(vm.string_value(s).unwrap_or_default())
}

/// A normal VM and one in GC-stress mode (collecting at every safepoint once the class library
/// is loaded: booting it under stress would only test the loader, slowly).
fn normal_and_stressed() -> Vec<(Vm, Capture)> {
    let (normal, out) = vm();
    let (mut stressed, out2) = vm();
    stressed.heap.set_stress(1);
    vec![(normal, out), (stressed, out2)]
}

#[test]
fn redefining_a_method_invalidates_the_caches_that_found_the_old_one() {
    for (mut vm, _) in normal_and_stressed() {
        vm.load_class_source(
            "Shape = ( area = ( ^1 ) describe = ( ^self area ) )",
            "Shape.som",
        )
        .unwrap();
        vm.load_class_source("Square = Shape ( )", "Square.som")
            .unwrap();
        // Warm the send site in #describe for both classes.
        let warm = "| s q | s := Shape new. q := Square new. (s describe) + (q describe)";
        assert_eq!(eval(&mut vm, warm).unwrap(), "2");
        // A subclass override must be seen by the cached site.
        let square = vm.global("Square").unwrap();
        vm.compile_and_install(square, "area ^4", "test").unwrap();
        assert_eq!(eval(&mut vm, warm).unwrap(), "5");
        // Redefining the superclass method affects Shape but not Square.
        let shape = vm.global("Shape").unwrap();
        vm.compile_and_install(shape, "area ^10", "test").unwrap();
        assert_eq!(eval(&mut vm, warm).unwrap(), "14");
        // Removing the override makes Square inherit again.
        let sel = vm.intern("area").unwrap();
        let square = vm.global("Square").unwrap();
        assert!(vm.remove_method(square, sel));
        assert_eq!(eval(&mut vm, warm).unwrap(), "20");
    }
}

#[test]
fn invalidation_clears_exactly_the_affected_sites() {
    let (mut vm, _) = vm();
    vm.load_class_source("A = ( foo = ( ^1 ) bar = ( ^2 ) )", "A.som")
        .unwrap();
    vm.load_class_source("B = ( foo = ( ^3 ) )", "B.som")
        .unwrap();
    eval(&mut vm, "A new foo. A new bar. B new foo").unwrap();
    // Changing A>>foo must not clear the site caching B>>foo, nor any #bar site.
    let a = vm.global("A").unwrap();
    let foo = vm.intern("foo").unwrap();
    let cleared = vm.invalidate_selector(a, foo);
    assert_eq!(cleared, 1, "only the site that cached A>>foo");
}

#[test]
fn classes_load_from_the_class_path_superclasses_first() {
    let dir = tempdir("classpath");
    std::fs::write(
        dir.join("Animal.som"),
        "Animal = ( sound = ( ^'...' ) speak = ( ^self sound ) )",
    )
    .unwrap();
    std::fs::write(dir.join("Dog.som"), "Dog = Animal ( sound = ( ^'woof' ) )").unwrap();
    let (mut vm, _) = vm_with(VmOptions {
        class_path: vec![dir.clone()],
        ..VmOptions::default()
    });
    // Dog is not loaded: reading the global loads Dog.som, which loads Animal.som first.
    assert_eq!(eval(&mut vm, "Dog new speak").unwrap(), "'woof'");
    assert!(vm.global("Animal").is_some());
}

#[test]
fn a_missing_superclass_is_a_load_error_with_a_position() {
    let dir = tempdir("missing-super");
    std::fs::write(dir.join("Orphan.som"), "\nOrphan = Nowhere ( )").unwrap();
    let (mut vm, _) = vm_with(VmOptions {
        class_path: vec![dir.clone()],
        ..VmOptions::default()
    });
    match vm.load_class_file(&dir.join("Orphan.som")) {
        Err(VmError::Load(msg)) => {
            assert!(msg.contains("Orphan.som:2:1"), "{msg}");
            assert!(msg.contains("Nowhere"), "{msg}");
        }
        other => panic!("expected a load error, got {other:?}"),
    }
}

#[test]
fn primitives_the_vm_lacks_are_compile_errors_at_the_pragma() {
    let (mut vm, _) = vm();
    let src = "\
Prims = (
  ok = ( ^1 )
  number = ( <primitive: 60000> ^2 )
  named = ( <primitive: #noSuchPrimitive> ^3 )
  arity: x = ( <primitive: #integerAdd> ^4 )
  unary = ( <primitive: #integerAdd> ^5 )
)
";
    match vm.load_class_source(src, "Prims.som") {
        Err(VmError::Load(msg)) => assert_eq!(
            msg,
            "\
Prims.som:3:26: error: no primitive number 60000
    3 |   number = ( <primitive: 60000> ^2 )
      |                          ^
Prims.som:4:25: error: unknown primitive #noSuchPrimitive
    4 |   named = ( <primitive: #noSuchPrimitive> ^3 )
      |                         ^
Prims.som:6:25: error: primitive #integerAdd cannot take 0 arguments
    6 |   unary = ( <primitive: #integerAdd> ^5 )
      |                         ^"
        ),
        other => panic!("expected a load error, got {other:?}"),
    }
    // The other methods are installed; the refused ones are not.
    assert_eq!(eval(&mut vm, "Prims new ok").unwrap(), "1");
    assert_eq!(eval(&mut vm, "Prims new arity: 2").unwrap(), "4");
    assert_eq!(
        eval(&mut vm, "Prims new respondsTo: #number").unwrap(),
        "false"
    );
    // Methods compiled at run time are checked the same way.
    let prims = vm.global("Prims").unwrap();
    match vm.compile_and_install(prims, "bad <primitive: 'nope'> ^1", "test") {
        Err(VmError::Load(msg)) => assert_eq!(
            msg,
            "test:1:17: error: unknown primitive #nope\n    1 | bad <primitive: 'nope'> ^1\n      |                 ^"
        ),
        other => panic!("expected a load error, got {other:?}"),
    }
}

#[test]
fn cyclic_superclasses_do_not_hang() {
    let dir = tempdir("cycle");
    std::fs::write(dir.join("P.som"), "P = Q ( )").unwrap();
    std::fs::write(dir.join("Q.som"), "Q = P ( )").unwrap();
    let (mut vm, _) = vm_with(VmOptions {
        class_path: vec![dir.clone()],
        ..VmOptions::default()
    });
    assert!(matches!(
        vm.load_class_from_path("P"),
        Err(VmError::Load(_))
    ));
}

#[test]
fn a_million_deep_recursion_completes() {
    let (mut vm, _) = vm();
    vm.load_class_source(
        "Deep = ( down: n = ( n = 0 ifTrue: [ ^0 ]. ^1 + (self down: n - 1) ) )",
        "Deep.som",
    )
    .unwrap();
    assert_eq!(eval(&mut vm, "Deep new down: 1000000").unwrap(), "1000000");
}

#[test]
fn unbounded_recursion_raises_a_catchable_error() {
    let (mut vm, _) = vm_with(VmOptions {
        max_stack_words: 1 << 20,
        ..VmOptions::default()
    });
    vm.load_class_source("Forever = ( go: n = ( ^self go: n + 1 ) )", "Forever.som")
        .unwrap();
    let caught = "[ Forever new go: 0 ] on: StackOverflow do: [ :e | e return: #caught ]";
    assert_eq!(eval(&mut vm, caught).unwrap(), "#caught");
    // The VM recovered: the stack limit is back and it can overflow and recover again.
    assert_eq!(eval(&mut vm, caught).unwrap(), "#caught");
    // Unhandled, it ends the evaluation with an error, not an abort.
    match vm.evaluate("Forever new go: 0", "test", false) {
        Err(VmError::Unhandled { description, trace }) => {
            assert!(description.contains("StackOverflow"), "{description}");
            assert!(trace.contains("Forever>>go:"), "{trace}");
        }
        other => panic!("expected an unhandled error, got {other:?}"),
    }
    assert_eq!(eval(&mut vm, "3 + 4").unwrap(), "7");
}

/// An overflow in the handler of an overflow is a StackOverflow error too (regression: it
/// stopped the evaluation, outer handlers or not), a few levels deep; deeper, the evaluation
/// stops with an error and the VM goes on working.
#[test]
fn overflows_inside_overflow_handlers_are_catchable() {
    let (mut vm, _) = vm_with(VmOptions {
        max_stack_words: 1 << 20,
        ..VmOptions::default()
    });
    vm.load_class_source("Forever = ( go: n = ( ^self go: n + 1 ) )", "Forever.som")
        .unwrap();
    let nested = "[ [ Forever new go: 0 ] on: StackOverflow do: [ :e | Forever new go: 0 ] ]
        on: StackOverflow do: [ :e | #outer ]";
    assert_eq!(eval(&mut vm, nested).unwrap(), "#outer");
    let three = "[ Forever new go: 0 ] on: StackOverflow do: [ :e |
        [ Forever new go: 0 ] on: StackOverflow do: [ :e2 |
            [ Forever new go: 0 ] on: StackOverflow do: [ :e3 | #third ] ] ]";
    assert_eq!(eval(&mut vm, three).unwrap(), "#third");
    // Each handled inner overflow gives its room back: many in one handler are fine.
    let many = "[ Forever new go: 0 ] on: StackOverflow do: [ :e |
        (1 to: 50) inject: 0 into: [ :a :i |
            a + ([ Forever new go: 0 ] on: StackOverflow do: [ :e2 | 1 ]) ] ]";
    assert_eq!(eval(&mut vm, many).unwrap(), "50");
    let endless = "| f | f := nil. f := [ [ Forever new go: 0 ] on: StackOverflow do: [ :e | f value ] ]. f value";
    assert!(vm.evaluate(endless, "test", false).is_err());
    assert_eq!(eval(&mut vm, nested).unwrap(), "#outer");
    assert_eq!(eval(&mut vm, "3 + 4").unwrap(), "7");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smalt-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn nil_true_and_false_never_move() {
    let (mut vm, _) = vm();
    let before = (vm.nil().raw(), vm.true_obj().raw(), vm.false_obj().raw());
    assert_eq!(before, (8, 16, 24));
    for _ in 0..3 {
        eval(
            &mut vm,
            "(1 to: 1000) collect: [ :i | i printString ]. system fullGC",
        )
        .unwrap();
        vm.collect_garbage(0).unwrap();
        assert_eq!(
            (vm.nil().raw(), vm.true_obj().raw(), vm.false_obj().raw()),
            before
        );
    }
    // The special-objects Array is in the heap and still names them.
    assert_eq!(vm.special(smalt_vm::vm::sp::TRUE), vm.true_obj());
}
