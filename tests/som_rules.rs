//! Rust-level tests of the SOM language rules and their error messages: the class path
//! (replacement, kernel files, cycles), classes that do not inherit from Object, chains of
//! sends of any length, `--warn`, and how errors end a program.

use smalt_vm::{Vm, VmError, VmOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Capture;

/// A fresh directory holding the given class files.
fn class_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smalt-som-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (class, source) in files {
        std::fs::write(dir.join(format!("{class}.som")), source).expect("write class file");
    }
    dir
}

fn vm_on(class_path: Vec<PathBuf>) -> Result<(Vm, Capture), VmError> {
    let mut vm = Vm::new(VmOptions {
        class_path,
        ..VmOptions::default()
    })?;
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    Ok((vm, out))
}

/// The printString of a do-it's value.
fn eval(vm: &mut Vm, src: &str) -> Result<String, VmError> {
    let v = vm.evaluate(src, "test", true)?;
    let s = vm.send_message(v, "printString", &[])?;
    Ok(vm.string_value(s).unwrap_or_default())
}

fn load_error(dir: &Path, class: &str) -> String {
    let (mut vm, _) = vm_on(vec![dir.to_path_buf()]).expect("the VM starts");
    match vm.load_class_file(&dir.join(format!("{class}.som"))) {
        Err(VmError::Load(msg)) => msg,
        other => panic!("loading {class} did not fail: {other:?}"),
    }
}

#[test]
fn a_superclass_cycle_is_reported_as_a_cycle() {
    let dir = class_dir(
        "cycle",
        &[("A", "A = B ( foo = ( ^1 ) )"), ("B", "B = A ( )")],
    );
    let msg = load_error(&dir, "A");
    assert!(
        msg.contains("B.som:1:1: error: superclass cycle: A -> B -> A"),
        "{msg}"
    );
    let dir = class_dir("self-cycle", &[("C", "C = C ( )")]);
    let msg = load_error(&dir, "C");
    assert!(msg.contains("superclass cycle: C -> C"), "{msg}");
}

#[test]
fn a_class_that_does_not_inherit_from_object_gets_message_not_understood() {
    for stress in [0, 1] {
        let dir = class_dir(
            &format!("nil-root-{stress}"),
            &[("Root", "Root = nil ( known = ( ^42 ) )")],
        );
        let (mut vm, _) = vm_on(vec![dir]).unwrap();
        vm.heap.set_stress(stress);
        assert_eq!(eval(&mut vm, "Root new known").unwrap(), "42");
        assert_eq!(
            eval(
                &mut vm,
                "[ Root new frob: 3 ] on: MessageNotUnderstood do: [ :e | e message selector ]"
            )
            .unwrap(),
            "#frob:"
        );
        assert_eq!(
            eval(
                &mut vm,
                "[ Root new frob ] on: MessageNotUnderstood do: [ :e | e description ]"
            )
            .unwrap(),
            "'Root does not understand #frob'"
        );
        match vm.evaluate("Root new frob", "test", true) {
            Err(VmError::Unhandled { description, .. }) => assert_eq!(
                description,
                "MessageNotUnderstood: Root does not understand #frob"
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn long_chains_of_sends_compile_and_run() {
    // One level of nesting however long the chain; the passes walk it without recursing
    // (this runs on a test thread's small stack).
    let (mut vm, _) = vm_on(Vec::new()).unwrap();
    let binary = format!("0{}", " + 1".repeat(5000));
    assert_eq!(eval(&mut vm, &binary).unwrap(), "5000");
    let mixed = format!("1{}", " * 2 - 1 + 1".repeat(300));
    assert_eq!(
        eval(&mut vm, &mixed).unwrap(),
        "2037035976334486086268445688409378161051468393665936250636140449354381299763336706183397376"
    );
    let unary = format!("-3{}", " abs negated".repeat(1000));
    assert_eq!(eval(&mut vm, &unary).unwrap(), "-3");
    let in_a_block = format!("[ :x | x{} ] value: 1", " + x".repeat(2000));
    assert_eq!(eval(&mut vm, &in_a_block).unwrap(), "2001");
    // Real nesting is still limited.
    let nested = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    match vm.evaluate(&nested, "test", true) {
        Err(VmError::Load(msg)) => assert!(msg.contains("nested too deeply"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failing_class_path_file_stops_the_start_with_its_error() {
    let dir = class_dir(
        "broken-override",
        &[("Vector", "Vector = ( foo = ( ^1 + ) )")],
    );
    match vm_on(vec![dir]) {
        Err(VmError::Load(msg)) => assert!(
            msg.contains("Vector.som:1:") && msg.contains("error:"),
            "{msg}"
        ),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("the VM started"),
    }
    let dir = class_dir(
        "bad-kernel-file",
        &[("Integer", "Integer = ( | extra | foo = ( ^1 ) )")],
    );
    match vm_on(vec![dir]) {
        Err(VmError::Load(msg)) => assert!(msg.contains("Integer is a kernel class"), "{msg}"),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("the VM started"),
    }
}

#[test]
fn restart_starts_the_sending_activation_over() {
    let (mut vm, _) = vm_on(Vec::new()).unwrap();
    // SOM's Block>>restart: the block that sends it runs again from its start; its
    // variables keep their values (k lives outside, n inside).
    assert_eq!(
        eval(
            &mut vm,
            "| k | k := 0. [ | n | n := (n ifNil: [ 0 ]) + 1. k := k + 1. k < 5 ifTrue: [ [] restart ]. n ] value"
        )
        .unwrap(),
        "5"
    );
    // A method looping by restart runs in constant stack (SOM's whileTrue:).
    assert_eq!(
        eval(
            &mut vm,
            "| i b | i := 0. b := [ i < 100000 ]. b perform: #whileTrue: with: [ i := i + 1 ]. i"
        )
        .unwrap(),
        "100000"
    );
}

#[test]
fn the_class_path_applies_under_gc_stress() {
    // A kernel file (methods added, SOM primitive declarations kept or installed) and a
    // replaced library class, loaded while every safepoint collects.
    let dir = class_dir(
        "stress-class-path",
        &[
            (
                "Integer",
                "Integer = ( + other = primitive  frob: x = primitive  twice = ( ^self + self ) )",
            ),
            (
                "Pair",
                "Pair = ( | a b | a = ( ^a ) setA: x = ( a := x ) ---- of: x = ( ^self new setA: x ) )",
            ),
        ],
    );
    let (mut vm, _) = vm_on(Vec::new()).unwrap();
    vm.options.class_path = vec![dir];
    vm.heap.set_stress(1);
    vm.apply_class_path().unwrap();
    assert_eq!(eval(&mut vm, "21 twice").unwrap(), "42");
    assert_eq!(eval(&mut vm, "(Pair of: 7) a").unwrap(), "7");
    assert_eq!(eval(&mut vm, "(3 -> 4) value").unwrap(), "4");
    assert_eq!(
        eval(
            &mut vm,
            "[ 3 frob: 4 ] on: Error do: [ :e | e messageText ]"
        )
        .unwrap(),
        "'the VM has no primitive Integer>>frob:'"
    );
    // Integer>>+ kept the library's method (same primitive, better fallback).
    assert_eq!(
        eval(&mut vm, "[ 3 + 'x' ] on: Error do: [ :e | e messageText ]").unwrap(),
        "'3 + ''x'': expected a Number, got a String'"
    );
}

#[test]
fn the_first_class_path_entry_wins() {
    let first = class_dir("first", &[("Pair", "Pair = ( which = ( ^#first ) )")]);
    let second = class_dir("second", &[("Pair", "Pair = ( which = ( ^#second ) )")]);
    let (mut vm, _) = vm_on(vec![first, second]).unwrap();
    assert_eq!(eval(&mut vm, "Pair new which").unwrap(), "#first");
}

/// Every method SOM's core library (SOM-st/SOM, `Smalltalk/`) declares `= primitive`.
const SOM_PRIMITIVES: &[&str] = &[
    "Array>>at:",
    "Array>>at:put:",
    "Array>>length",
    "Array class>>new:",
    "Block>>value",
    "Block>>restart",
    "Block1>>value",
    "Block2>>value:",
    "Block3>>value:with:",
    "Class>>name",
    "Class>>new",
    "Class>>superclass",
    "Class>>fields",
    "Class>>methods",
    "Double>>+",
    "Double>>-",
    "Double>>*",
    "Double>>//",
    "Double>>%",
    "Double>>sqrt",
    "Double>>round",
    "Double>>asInteger",
    "Double>>cos",
    "Double>>sin",
    "Double>>=",
    "Double>><",
    "Double>>asString",
    "Double class>>PositiveInfinity",
    "Double class>>fromString:",
    "Integer>>+",
    "Integer>>-",
    "Integer>>*",
    "Integer>>/",
    "Integer>>//",
    "Integer>>%",
    "Integer>>rem:",
    "Integer>>&",
    "Integer>><<",
    "Integer>>>>>",
    "Integer>>bitXor:",
    "Integer>>sqrt",
    "Integer>>atRandom",
    "Integer>>=",
    "Integer>><",
    "Integer>>asString",
    "Integer>>as32BitSignedValue",
    "Integer>>as32BitUnsignedValue",
    "Integer>>asDouble",
    "Integer class>>fromString:",
    "Method>>signature",
    "Method>>holder",
    "Method>>invokeOn:with:",
    "Object>>class",
    "Object>>objectSize",
    "Object>>==",
    "Object>>hashcode",
    "Object>>inspect",
    "Object>>halt",
    "Object>>perform:",
    "Object>>perform:withArguments:",
    "Object>>perform:inSuperclass:",
    "Object>>perform:withArguments:inSuperclass:",
    "Object>>instVarAt:",
    "Object>>instVarAt:put:",
    "Object>>instVarNamed:",
    "Primitive>>signature",
    "Primitive>>holder",
    "Primitive>>invokeOn:with:",
    "String>>concatenate:",
    "String>>asSymbol",
    "String>>hashcode",
    "String>>length",
    "String>>isWhiteSpace",
    "String>>isLetters",
    "String>>isDigits",
    "String>>=",
    "String>>primSubstringFrom:to:",
    "Symbol>>asString",
    "System>>global:",
    "System>>global:put:",
    "System>>hasGlobal:",
    "System>>loadFile:",
    "System>>load:",
    "System>>exit:",
    "System>>printString:",
    "System>>printNewline",
    "System>>errorPrintln:",
    "System>>errorPrint:",
    "System>>printStackTrace",
    "System>>time",
    "System>>ticks",
    "System>>fullGC",
];

/// SOM primitives that smalt's library implements in Smalltalk (a class-path file declaring
/// them `= primitive` keeps the library's method).
const PROVIDED_BY_THE_LIBRARY: &[(&str, &str)] =
    &[("Object>>halt", "Object"), ("Object>>inspect", "Object")];

#[test]
fn every_primitive_soms_library_names_exists() {
    let (mut vm, _) = vm_on(Vec::new()).unwrap();
    for name in SOM_PRIMITIVES {
        let check = match PROVIDED_BY_THE_LIBRARY.iter().find(|(n, _)| n == name) {
            Some((_, class)) => {
                let selector = name.split_once(">>").unwrap().1;
                format!("{class} canUnderstand: #{selector}")
            }
            None => format!("system hasPrimitive: '{name}'"),
        };
        assert_eq!(eval(&mut vm, &check).unwrap(), "true", "{name}");
    }
}

fn smalt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smalt"))
        .args(args)
        .output()
        .expect("the smalt binary runs")
}

#[test]
fn the_command_line_applies_the_class_path() {
    // The command starts from the embedded image, then applies its class path.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/som");
    for program in ["replace", "kernel"] {
        let dir = root.join(program);
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let by_class_path = smalt(&["-cp", dir.to_str().unwrap(), "Main"]);
        assert_eq!(
            String::from_utf8_lossy(&by_class_path.stdout),
            expected,
            "{program}"
        );
        let main = dir.join("Main.som");
        let by_file = smalt(&[main.to_str().unwrap()]);
        assert_eq!(
            String::from_utf8_lossy(&by_file.stdout),
            expected,
            "{program}"
        );
    }
    let bad = class_dir(
        "cli-bad-override",
        &[("Vector", "Vector = ( foo = ( ^1 + ) )")],
    );
    let o = smalt(&["-cp", bad.to_str().unwrap(), "-e", "3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Vector.som:1:"));
}

#[test]
fn warn_reports_shadowing_with_its_position() {
    let dir = class_dir(
        "warn",
        &[(
            "Shadow",
            "Shadow = (\n  | x |\n  run = ( | y | true ifTrue: [ | y | y := 1 ]. [ :x | x ] value: 2 )\n)\n",
        )],
    );
    let path = dir.join("Shadow.som");
    let quiet = smalt(&[path.to_str().unwrap()]);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let warned = smalt(&["--warn", path.to_str().unwrap()]);
    assert!(warned.status.success());
    let err = String::from_utf8_lossy(&warned.stderr);
    assert!(
        err.contains("Shadow.som:3:34: warning: 'y' shadows a variable of an enclosing scope"),
        "{err}"
    );
    assert!(
        err.contains("Shadow.som:3:51: warning: 'x' shadows an instance variable"),
        "{err}"
    );
}

#[test]
fn unhandled_errors_exit_with_status_1_and_name_the_error() {
    let cases = [
        ("1/0", "ZeroDivide"),
        (
            "nil foo",
            "MessageNotUnderstood: Nil does not understand #foo",
        ),
        ("#(1 2) at: 3", "SubscriptOutOfBounds"),
        ("NoSuchThing new", "UnknownGlobal"),
        ("self error: 'boom'", "Error: boom"),
    ];
    for (src, expected) in cases {
        let o = smalt(&["-e", src]);
        assert_eq!(o.status.code(), Some(1), "{src}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with(expected), "{src}: {err}");
    }
}
