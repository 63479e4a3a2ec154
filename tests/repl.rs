//! The REPL reading a pipe: meta commands, `it`, and input that is not UTF-8. (The terminal
//! side — completion, Ctrl-C, the continuation prompt — is in `repl_pty.rs`.)

mod common;
use common::cli::{repl, text};

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
    // :time prints the value, then the time in each tier (the session's JIT, then the
    // interpreter in a copy of the session) and their ratio; the value is `it`
    assert!(out.contains("\n19\nJIT  "), "{out}");
    let after_time = out.split_once("\n19\n").map(|x| x.1).unwrap_or_default();
    let lines: Vec<&str> = after_time.lines().collect();
    assert!(
        lines[0].starts_with("JIT          ") && lines[0].contains("collection"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("interpreter  ") && lines[1].ends_with(" (in a copy of the session)"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("JIT ran ") && lines[2].contains(" than the interpreter"),
        "{out}"
    );
    assert_eq!(lines[3], "19", "it is the timed value: {out}");
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

#[test]
fn jit_switches_between_inputs_and_time_runs_both_tiers() {
    let o = repl(
        concat!(
            ":jit\n",
            "x := 0\n",
            ":time 1 to: 3000 do: [ :i | x := x + i ]. x\n",
            "x\n",
            ":jit off\n",
            ":jit\n",
            ":time (1 to: 3000) inject: 0 into: [ :a :b | a + b ]\n",
            ":jit on 20\n",
            "(1 to: 100) inject: 0 into: [ :a :b | a + b ]\n",
            ":jit\n",
            ":jit eager\n",
            "Foo = Object ( twice: n = ( ^n * 2 ) )\n",
            "(1 to: 5) collect: [ :i | Foo new twice: i ]\n",
            ":time Foo new twice: 21\n",
            ":jit stats\n",
            ":jit off\n",
            "(1 to: 5) collect: [ :i | Foo new twice: i ]\n",
            ":jit sideways\n",
            ":jit on zero\n",
            ":help jit\n",
        )
        .as_bytes(),
    );
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("a line starting {prefix:?}: {out}"))
    };
    // The command line's default: on, threshold 1000.
    assert!(
        lines[0].starts_with("jit on: a method or block is compiled once it has run 1000 times"),
        "{out}"
    );
    // :time in the JIT session: the session runs the input once (x is 4501500, not twice
    // that); the interpreter ran in a copy.
    let t = at("4501500");
    assert!(lines[t + 1].starts_with("JIT          "), "{out}");
    assert!(
        lines[t + 1].contains("compiled in ") || lines[t + 1].contains("nothing compiled"),
        "{out}"
    );
    assert!(
        lines[t + 2].starts_with("interpreter  ")
            && lines[t + 2].ends_with("(in a copy of the session)"),
        "{out}"
    );
    assert!(lines[t + 3].starts_with("JIT ran "), "{out}");
    assert_eq!(
        lines[t + 4],
        "4501500",
        "the session saw the input once: {out}"
    );
    // :jit off: the interpreter from now on; the JIT runs in the copy.
    let off = at("jit off: the interpreter runs everything");
    assert!(off > t + 4, "{out}");
    let t = at("4501500") + 5;
    assert!(lines[t..].iter().any(|l| l.starts_with("4501500")), "{out}");
    let interp = lines[t..]
        .iter()
        .position(|l| l.starts_with("interpreter  "))
        .map(|k| k + t)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(!lines[interp].contains("copy"), "{out}");
    assert!(
        lines[interp + 1].starts_with("JIT          ")
            && lines[interp + 1].ends_with("(in a copy of the session)"),
        "{out}"
    );
    assert!(lines[interp + 2].starts_with("JIT ran "), "{out}");
    // :jit on 20: hot code compiles at the new threshold.
    let on = at("jit on: a method or block is compiled once it has run 20 times");
    assert_eq!(lines[on + 2], "5050", "{out}");
    assert!(
        lines[on + 4].contains(" so far; native code in use for ")
            && !lines[on + 3].contains("for 0 "),
        "{out}"
    );
    // :jit eager: every tier computes the same answers.
    at("jit eager: every method and block is compiled before its next run");
    let answers = lines.iter().filter(|l| **l == "#(2 4 6 8 10)").count();
    assert_eq!(answers, 2, "{out}");
    assert!(out.contains("\n42\neager JIT    "), "{out}");
    assert!(out.contains("eager JIT ran "), "{out}");
    assert!(out.contains("jit: compile time "), ":jit stats: {out}");
    assert!(out.contains("(the native code of "), "{out}");
    assert!(
        err.contains("usage: :jit [on [THRESHOLD] | off | eager | stats]"),
        "{err}"
    );
    assert!(err.contains("'zero' is not a threshold"), "{err}");
    assert!(out.contains(":jit [on [N]|off|eager|stats]"), "{out}");
}
