//! The REPL reading a pipe: meta commands, `it`, and input that is not UTF-8. (The terminal
//! side — completion, Ctrl-C, the continuation prompt — is in `repl_pty.rs`.)

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs the REPL on `input` (bytes, so that a test can feed it invalid UTF-8).
fn repl(input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smalt"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the smalt binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write input");
    child.wait_with_output().expect("smalt ends")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn it_is_the_last_value() {
    let o = repl(b"it\n6 * 7\nit + 1\nit foo\nit\nFoo = Object ( bar = ( ^5 ) )\nit new bar\n");
    assert_eq!(
        text(&o.stdout),
        "nil\n42\n43\n43\nFoo defined\n5\n",
        "an error leaves it alone; a class definition sets it to the class"
    );
    assert!(text(&o.stderr).contains("does not understand #foo"));
}

#[test]
fn lines_that_are_not_utf8_are_reported_and_skipped_with_their_input() {
    let o = repl(b"x := 5\n3 + \xff\n[ 1 +\n \xfe 2 ]\nx + 1\n'\xc3\xa9t\xc3\xa9' size\n");
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(out, "5\n6\n3\n", "the good inputs run: {err}");
    assert!(
        err.contains("line 2 of the input is not valid UTF-8 (byte 5 of the line)"),
        "{err}"
    );
    assert!(
        err.contains("line 4 of the input is not valid UTF-8"),
        "{err}"
    );
    assert!(
        !err.contains("error:"),
        "the rest of a skipped input is not compiled: {err}"
    );
}

#[test]
fn meta_commands_browse_source_bytecode_and_time() {
    let o = repl(
        concat!(
            ":browse Integer\n",
            ":source Integer>>factorial\n",
            ":source Integer class>>new\n",
            ":source Integer>>noSuchSelector\n",
            ":bytecode 3 + 4\n",
            ":bytecode Integer>>factorial\n",
            ":time 20 factorial printString size\n",
            "it\n",
            ":help time\n",
            ":nonsense\n",
            ":browse NoSuchClass\n",
            ":browse #foo , 'x'\n",
        )
        .as_bytes(),
    );
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    // :browse: the definition line, the superclass chain, both sides' selectors
    assert!(
        out.contains("Integer = Number (    \"stdlib/Integer.som\""),
        "{out}"
    );
    assert!(out.contains("\"Number → Magnitude → Object\""), "{out}");
    assert!(
        out.contains("instance side (") && out.contains("factorial"),
        "{out}"
    );
    assert!(out.contains("class side ("), "{out}");
    // :source: where, then the text; inherited methods say so
    assert!(
        out.contains("Integer>>factorial  \"stdlib/Integer.som:"),
        "{out}"
    );
    assert!(out.contains("factorial = (\n    | result |"), "{out}");
    assert!(
        out.contains("Class>>new (inherited by Integer class)"),
        "{out}"
    );
    assert!(
        err.contains("Integer does not understand #noSuchSelector"),
        "{err}"
    );
    // :bytecode of an expression and of a method
    assert!(
        out.contains("DoIt (0 args") && out.contains("PushSmallInt 3"),
        "{out}"
    );
    assert!(out.contains("Integer>>factorial (0 args, "), "{out}");
    // :time prints the value, then the time; the value is `it`
    assert!(out.contains("\n19\n"), "{out}");
    assert!(out.contains(" (interpreter), "), "{out}");
    let after_time = out.split(" (interpreter), ").nth(1).unwrap_or_default();
    assert_eq!(
        after_time.lines().nth(1),
        Some("19"),
        "it is the timed value: {out}"
    );
    assert!(
        err.contains("unknown command :nonsense (try :help)"),
        "{err}"
    );
    assert!(err.contains("no class NoSuchClass"), "{err}");
    assert!(
        out.contains("\nString = ArrayedCollection ("),
        ":browse EXPR browses its class: {out}"
    );
}

#[test]
fn load_reports_each_class_and_stops_at_an_error() {
    let dir = std::env::temp_dir().join(format!("smalt-repl-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("Greeter.som");
    std::fs::write(&good, "Greeter = ( hello = ( ^'hi' ) )").unwrap();
    let bad = dir.join("Broken.som");
    std::fs::write(&bad, "Broken = ( oops = ( ^ ) )").unwrap();
    let input = format!(
        ":load {}\nGreeter new hello\n:load {}\n",
        good.display(),
        bad.display()
    );
    let o = repl(input.as_bytes());
    assert_eq!(text(&o.stdout), "Greeter defined\n'hi'\n");
    assert!(
        text(&o.stderr).contains("Broken.som:1:"),
        "{}",
        text(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
