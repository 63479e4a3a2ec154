//! The compiler's limits are reported before it does work that grows faster than the input,
//! and its passes over large methods are linear.
//!
//! Each case runs under a generous watchdog (never a timing): the inputs are large enough that
//! a pass quadratic in their size would take many minutes even in an optimised build, while a
//! linear one takes a second or two in a debug build.

use smalt_vm::compiler::{
    ClassScope, CompileErrors, MAX_FRAME_NAMES, MAX_INSTANCE_VARIABLES, compile_method,
    parse_class, parse_method, verify,
};
use std::sync::mpsc;
use std::time::Duration;

/// Far beyond what any of these cases needs when the compiler is linear.
const WATCHDOG: Duration = Duration::from_secs(240);

/// Runs `f` on a thread of its own; fails the test if it does not finish under the watchdog.
fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(v) => v,
        Err(_) => panic!("{what}: the compiler did not finish within {WATCHDOG:?}"),
    }
}

fn names(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn scope() -> ClassScope {
    ClassScope::new("Foo", &[], false)
}

/// The only error of `errors`, checked to be on line 1 at the `n`-th name of the list that
/// starts at byte `list_start` (names `prefix0 prefix1 …`).
fn error_at_name(errors: &CompileErrors, src: &str, prefix: &str, n: usize) -> String {
    let e = &errors.errors()[0];
    let name = format!("{prefix}{n}");
    let at = src
        .find(&format!(" {name} "))
        .expect("the name is in the source")
        + 1;
    assert_eq!(e.line, 1, "{e}");
    assert_eq!(e.column as usize, at + 1, "{e}");
    e.message.clone()
}

#[test]
fn a_hundred_thousand_temporaries_are_refused_at_the_first_one_too_many() {
    let src = format!("foo | {} | ^1", names("t", 100_000));
    let probe = src.clone();
    let errors = finishes("100,000 temps", move || parse_method("t.st", &probe)).unwrap_err();
    let msg = error_at_name(&errors, &src, "t", MAX_FRAME_NAMES);
    assert!(msg.contains("too many arguments and temporaries"), "{msg}");

    // In a block and in a class method too.
    let src = format!("C = ( foo = ( ^[ :a | | {} | a ] ) )", names("t", 100_000));
    let errors = finishes("100,000 block temps", move || parse_class("c.som", &src)).unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("too many arguments and temporaries")
    );
}

#[test]
fn a_hundred_thousand_arguments_are_refused() {
    let pattern: String = (0..100_000).map(|i| format!("k{i}: a{i} ")).collect();
    let src = format!("{pattern} ^1");
    let errors = finishes("100,000 args", move || parse_method("a.st", &src)).unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("too many arguments and temporaries"),
        "{errors}"
    );

    let params: String = (0..100_000).map(|i| format!(":p{i} ")).collect();
    let src = format!("foo ^[ {params} | 1 ]");
    let errors = finishes("100,000 block params", move || parse_method("b.st", &src)).unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("too many arguments and temporaries"),
        "{errors}"
    );
}

#[test]
fn seventy_thousand_instance_variables_are_refused_at_the_first_one_too_many() {
    let src = format!("C = ( | {} | foo = ( ^1 ) )", names("v", 70_000));
    let probe = src.clone();
    let errors = finishes("70,000 ivars", move || parse_class("c.som", &probe)).unwrap_err();
    let msg = error_at_name(&errors, &src, "v", MAX_INSTANCE_VARIABLES);
    assert!(msg.contains("at most 256 instance variables"), "{msg}");
    // Exactly the limit is fine.
    let src = format!(
        "C = ( | {} | foo = ( ^v255 ) )",
        names("v", MAX_INSTANCE_VARIABLES)
    );
    assert!(parse_class("c.som", &src).is_ok());
}

#[test]
fn methods_of_many_statements_compile_and_verify_in_linear_time() {
    // 200,000 statements: the quadratic source-map check of the validator took 5.8 s for
    // 20,000 and would take ten minutes here.
    let src = format!("foo | a | {} ^a", "a := a + 1. ".repeat(200_000));
    finishes("200,000 statements", move || {
        let def = parse_method("s.st", &src).expect("parses");
        let code = compile_method(&def, &scope(), "s.st", &src).expect("compiles");
        assert!(code.source_map.len() >= 200_000);
        verify(&code).expect("verifies");
    });
}

#[test]
fn a_class_file_of_many_methods_keeps_little_per_method() {
    // A class file of 200,000 small methods: parsing keeps a few facts per method, not its
    // syntax tree (made again when the method is compiled), nor the file's tokens.
    let n = 200_000;
    let mut src = String::from("Many = (\n");
    for i in 0..n {
        src.push_str(&format!("m{i} = ( ^{i} )\n"));
    }
    src.push_str("last: a with: b = ( | t | t := a + b. ^[ t * 2 ] value )\n)\n");
    let probe = src.clone();
    let class =
        finishes("200,000 methods", move || parse_class("many.som", &probe)).expect("parses");
    assert_eq!(class.instance_methods.len(), n + 1);
    assert!(
        std::mem::size_of::<smalt_vm::compiler::MethodDef>() <= 192,
        "a parsed method takes {} bytes",
        std::mem::size_of::<smalt_vm::compiler::MethodDef>()
    );
    // The methods compile from the file's source, with their positions.
    let scope = ClassScope::new("Many", &[], false);
    for m in [
        &class.instance_methods[0],
        &class.instance_methods[n - 1],
        &class.instance_methods[n],
    ] {
        let code = compile_method(m, &scope, "many.som", &src).expect("compiles");
        verify(&code).expect("verifies");
        assert_eq!(code.position, m.position);
    }
    let last = compile_method(&class.instance_methods[n], &scope, "many.som", &src).unwrap();
    assert_eq!(last.source_map[0].1.line as usize, n + 2);
}
