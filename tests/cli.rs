//! Golden tests of the `smalt` command line: `-e` printing, SOM programs with `run`/`run:` and
//! arguments, exit statuses, and errors on stderr.

mod common;
use common::cli::{repl, scratch_dir, smalt, stderr, stdout, write_class};

#[test]
fn eval_prints_the_print_string() {
    let cases = [
        ("3 + 4", "7"),
        ("'it''s' reverse", "'s''ti'"),
        ("#(1 $a 'b' #c)", "#(1 $a 'b' #c)"),
        ("#foo", "#foo"),
        (
            "(OrderedCollection new) add: 1; add: 2; yourself",
            "an OrderedCollection(1 2)",
        ),
        ("1000 factorial printString size", "2568"),
        ("7 / 2", "3"),
        ("7 // 2", "3.5"),
        ("-7 \\\\ 2", "1"),
        ("Object new", "an Object"),
        ("Integer class", "Integer class"),
        ("(1 to: 5) reverse", "(5 to: 1 by: -1)"),
        ("1/2 + 0.25", "0.25"),
    ];
    for (expr, expected) in cases {
        let o = smalt(&["-e", expr]);
        assert!(o.status.success(), "{expr}: {}", stderr(&o));
        assert_eq!(stdout(&o), format!("{expected}\n"), "smalt -e {expr:?}");
    }
}

#[test]
fn eval_output_comes_before_the_value() {
    let o = smalt(&[
        "-e",
        "Transcript show: 'hi'; cr. 'x' displayNl. 3 printNl. 4",
    ]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "hi\nx\n3\n4\n");
}

#[test]
fn program_with_run_and_arguments() {
    let dir = scratch_dir("run-args");
    let file = write_class(
        &dir,
        "Greeter",
        "Greeter = (
            run: args = (
                args size println.
                (args copyFrom: 2 to: args size) do: [ :a | ('Hello, ', a) println ]
            )
        )",
    );
    let o = smalt(&[&file, "Ada", "Grace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3\nHello, Ada\nHello, Grace\n");
}

#[test]
fn program_with_run_only() {
    let dir = scratch_dir("run");
    write_class(
        &dir,
        "Counter",
        "Counter = ( run = ( (1 to: 3) do: [ :i | i print ]. '' println ) )",
    );
    let o = smalt(&["-cp", dir.to_str().unwrap(), "Counter"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "123\n");
}

#[test]
fn program_loads_other_classes_from_its_directory() {
    let dir = scratch_dir("classpath");
    write_class(&dir, "Helper", "Helper = ( ---- answer = ( ^42 ) )");
    let file = write_class(&dir, "Main", "Main = ( run = ( Helper answer println ) )");
    let o = smalt(&[&file]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
}

#[test]
fn test_case_class_as_program_reports_and_sets_the_status() {
    let dir = scratch_dir("testcase");
    write_class(
        &dir,
        "PassingTest",
        "PassingTest = TestCase ( testOne = ( self assert: 1 + 1 equals: 2 ) )",
    );
    write_class(
        &dir,
        "FailingTest",
        "FailingTest = TestCase ( testOne = ( self assert: 1 + 1 equals: 3 ) )",
    );
    let cp = dir.to_str().unwrap();
    let o = smalt(&["-cp", cp, "PassingTest"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "PassingTest: 1 run, 1 passed, 0 failed, 0 errors\n"
    );
    let o = smalt(&["-cp", cp, "FailingTest"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "  FAIL FailingTest>>#testOne: expected 3 but got 2 (FailingTest.som:1)\n\
         FailingTest: 1 run, 0 passed, 1 failed, 0 errors\n"
    );
}

#[test]
fn system_exit_sets_the_status() {
    let o = smalt(&["-e", "'bye' println. system exit: 3"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "bye\n");
    let dir = scratch_dir("exit");
    let file = write_class(&dir, "Quitter", "Quitter = ( run = ( system exit: 7 ) )");
    let o = smalt(&[&file]);
    assert_eq!(o.status.code(), Some(7));
    let o = smalt(&["-e", "system exit"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn unhandled_errors_exit_with_status_1_and_a_message_on_stderr() {
    let o = smalt(&["-e", "nil frobnicate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("MessageNotUnderstood: Nil does not understand #frobnicate"),
        "{}",
        stderr(&o)
    );
    let o = smalt(&["-e", "#(1 2) at: 3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("SubscriptOutOfBounds: index 3 out of bounds"));
    let dir = scratch_dir("error");
    let file = write_class(
        &dir,
        "Divider",
        "Divider = ( run = ( 'before' println. (1 / 0) println. 'after' println ) )",
    );
    let o = smalt(&[&file]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "before\n");
    assert!(
        stderr(&o).contains("ZeroDivide: division by zero"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("Divider>>run"), "{}", stderr(&o));
}

#[test]
fn a_missing_class_is_an_error() {
    let dir = scratch_dir("missing");
    let o = smalt(&["-cp", dir.to_str().unwrap(), "NoSuchProgram"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("NoSuchProgram"), "{}", stderr(&o));
}

#[test]
fn the_repl_prints_values_keeps_globals_and_survives_errors() {
    let o = repl(concat!(
        "3 + 4\n",
        "x := 6.\n",
        "x * 7\n",
        "1 / 0\n",
        "(1 to: 3) collect: [ :i |\n",
        "    i * x ]\n",
        "Counter = Object ( | n | inc = ( n := (n ifNil: [ 0 ]) + 1. ^n ) )\n",
        "| c | c := Counter new. c inc; inc\n",
        "1 +\n",
        ":help\n",
        ":quit\n",
        "'not reached' println\n",
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..5],
        &["7", "6", "42", "#(6 12 18)", "Counter defined"],
        "{out}"
    );
    assert_eq!(lines[5], "2", "{out}");
    assert!(out.contains(":load FILE"), "help text: {out}");
    assert!(!out.contains("not reached"), "{out}");
    let err = stderr(&o);
    assert!(err.contains("ZeroDivide: division by zero"), "{err}");
    assert!(
        err.contains("repl:1:4: error: expected an argument"),
        "{err}"
    );
}

#[test]
fn the_repl_ends_at_end_of_input_and_system_exit_sets_its_status() {
    assert_eq!(repl("").status.code(), Some(0));
    let o = repl("'a' println\nsystem exit: 3\n'b' println\n");
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "a\n'a'\n", "println's output, then its value");
}

#[test]
fn an_unhandled_error_runs_the_unwind_blocks_before_the_program_stops() {
    let dir = scratch_dir("unwind");
    let file = write_class(
        &dir,
        "Unwinding",
        "Unwinding = (
            inner = ( [ 1 / 0 ] ensure: [ 'inner ensure' println ] )
            run = (
                [ [ self inner ] ifCurtailed: [ 'curtailed' println ] ]
                    ensure: [ 'outer ensure' println ].
                'not reached' println ) )",
    );
    let o = smalt(&[&file]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "inner ensure\ncurtailed\nouter ensure\n");
    let err = stderr(&o);
    assert!(err.starts_with("ZeroDivide: division by zero\n"), "{err}");
    assert!(
        err.contains("Unwinding>>inner"),
        "the trace is taken before unwinding: {err}"
    );

    // An error inside an unwind block stops at once, and both errors are reported.
    let o = smalt(&["-e", "[ 1 / 0 ] ensure: [ nil foo ]. 'not reached' println"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.starts_with("ZeroDivide: division by zero\n"), "{err}");
    assert!(
        err.contains("another error: MessageNotUnderstood: Nil does not understand #foo"),
        "{err}"
    );
}
