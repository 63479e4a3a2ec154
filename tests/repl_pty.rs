//! The REPL driven through a pseudo-terminal, as a person uses it: completion with Tab, the
//! continuation prompt, Ctrl-C at the prompt and during an evaluation, Ctrl-D, history, colours,
//! and a typed line that is not UTF-8. Timeouts are generous (the debug build on a busy
//! machine); nothing asserts a duration.

use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

const TIMEOUT_MS: u64 = 60_000;

/// A fresh data directory for one test's history file.
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smalt-pty-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The REPL in a terminal; `colour` leaves the escape sequences in what the test reads.
fn repl(name: &str, colour: bool) -> (PtySession, PathBuf) {
    repl_with(name, colour, !colour)
}

/// The REPL in a terminal, with `NO_COLOR` unset when `colour`, and escape sequences taken
/// out of what the test reads when `strip`.
fn repl_with(name: &str, colour: bool, strip: bool) -> (PtySession, PathBuf) {
    let dir = data_dir(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smalt"));
    cmd.env("TERM", "xterm-256color")
        .env("XDG_DATA_HOME", &dir)
        .env("HOME", &dir)
        .env("COLUMNS", "100")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    if colour {
        cmd.env_remove("NO_COLOR");
    } else {
        cmd.env("NO_COLOR", "1");
    }
    let options = Options::new()
        .timeout_ms(Some(TIMEOUT_MS))
        .strip_ansi_escape_codes(strip);
    let mut p = spawn_with_options(cmd, options).expect("smalt starts in a pty");
    p.exp_string("Ctrl-D quits").expect("the banner");
    p.exp_string("smalt> ").expect("the first prompt");
    (p, dir)
}

/// Types text without pressing Enter.
fn type_(p: &mut PtySession, text: &str) {
    p.send(text).expect("send");
    p.flush().expect("flush");
}

/// Types a line and waits for `answer`, then for the next prompt.
fn eval(p: &mut PtySession, line: &str, answer: &str) {
    p.send_line(line).expect("send");
    p.exp_string(answer)
        .unwrap_or_else(|e| panic!("{line:?} should answer {answer:?}: {e}"));
    p.exp_string("smalt> ").expect("the prompt comes back");
}

fn quit(mut p: PtySession) {
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("Ctrl-D leaves");
    let status = p.process().wait().expect("exit status");
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

#[test]
fn the_continuation_prompt_shows_what_is_open_and_how_deep() {
    let (mut p, _) = repl("continuation", false);
    p.send_line("(1 to: 3) collect: [ :i |").unwrap();
    p.exp_string("...[1> ").expect("one bracket open");
    p.send_line("  (i * i").unwrap();
    p.exp_string("...(2> ")
        .expect("two open, the inner a parenthesis");
    p.send_line(") ]").unwrap();
    p.exp_string("#(1 4 9)").expect("the whole input evaluated");
    p.exp_string("smalt> ").unwrap();
    p.send_line("'a string").unwrap();
    p.exp_string("....'> ").expect("inside a string");
    p.send_line("that goes on' size").unwrap();
    p.exp_string("21").expect("the string has its newline");
    p.exp_string("smalt> ").unwrap();
    quit(p);
}

#[test]
fn tab_completes_classes_selectors_and_commands() {
    let (mut p, _) = repl("complete", false);
    // A class name, then a selector that instances of the class understand.
    type_(&mut p, "x := OrderedColl\t");
    p.exp_string("OrderedCollection")
        .expect("the class name completed");
    p.send_line(" new add: 5; yourself").unwrap();
    p.exp_string("an OrderedCollection(5)").unwrap();
    p.exp_string("smalt> ").unwrap();
    type_(&mut p, "x removeFi\t");
    p.exp_string("removeFirst")
        .expect("a selector of the session variable's class");
    p.send_line("").unwrap();
    p.exp_string("5").unwrap();
    p.exp_string("smalt> ").unwrap();
    // A literal receiver; Tab twice lists the candidates.
    type_(&mut p, "5 facto\t");
    p.exp_string("factorial").unwrap();
    p.send_line("").unwrap();
    p.exp_string("120").unwrap();
    p.exp_string("smalt> ").unwrap();
    type_(&mut p, "#(3 1 2) asSortedCollection asAr\t");
    p.exp_string("asArray").unwrap();
    p.send_line("").unwrap();
    p.exp_string("#(1 2 3)").unwrap();
    p.exp_string("smalt> ").unwrap();
    type_(&mut p, "Dictionary ne\t\t");
    p.exp_string("new:").expect("the candidates are listed");
    p.exp_string("smalt> Dictionary new")
        .expect("the line is shown again under the list");
    p.send_control('c').unwrap();
    p.exp_string("smalt> ").unwrap();
    // A meta command.
    type_(&mut p, ":sou\t");
    p.exp_string(":source").unwrap();
    p.send_line("Integer>>factorial").unwrap();
    p.exp_string("factorial = (").expect("the method's source");
    p.exp_string("smalt> ").unwrap();
    quit(p);
}

#[test]
fn ctrl_c_clears_the_line_and_stops_an_evaluation() {
    let (mut p, _) = repl("ctrl-c", false);
    type_(&mut p, "3 + 'this line is dropped");
    p.send_control('c').unwrap();
    p.exp_string("smalt> ").unwrap();
    eval(&mut p, "3 + 4", "7");
    // In a continuation Ctrl-C drops the whole input.
    p.send_line("#(1 2").unwrap();
    p.exp_string("...(1> ").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("smalt> ").unwrap();
    eval(&mut p, "10 + 1", "11");
    // During an evaluation it stops it; the session keeps its variables.
    eval(&mut p, "kept := 42", "42");
    p.send_line("'running' println. [ true ] whileTrue: [ kept := kept + 0 ]")
        .unwrap();
    p.exp_string("running").expect("the loop started");
    p.send_control('c').unwrap();
    p.exp_string("interrupted").expect("the loop stopped");
    p.exp_string("smalt> ").unwrap();
    eval(&mut p, "kept", "42");
    quit(p);
}

#[test]
fn errors_show_the_stack_and_it_keeps_the_last_value() {
    let (mut p, _) = repl("errors", false);
    eval(&mut p, "6 * 7", "42");
    eval(&mut p, "it + 1", "43");
    p.send_line("it foo").unwrap();
    p.exp_string("not understand #foo").unwrap();
    p.exp_string("Smalltalk stack").unwrap();
    p.exp_string("Nil>>DoIt (repl:1)").unwrap();
    p.exp_string("smalt> ").unwrap();
    eval(&mut p, "it", "43");
    quit(p);
}

#[test]
fn history_is_kept_in_the_data_directory() {
    let (mut p, dir) = repl("history", false);
    eval(&mut p, "remembered := 3 + 4", "7");
    p.send_line("[ :x |").unwrap();
    p.exp_string("...[1> ").unwrap();
    p.send_line("x ] value: 5").unwrap();
    p.exp_string("5").unwrap();
    p.exp_string("smalt> ").unwrap();
    quit(p);
    let history = std::fs::read_to_string(dir.join("smalt/history")).expect("a history file");
    assert!(history.contains("remembered := 3 + 4"), "{history}");
    assert!(
        history.contains("[ :x |"),
        "a multi-line input is one entry: {history}"
    );
    // The next session finds it: Up brings the last input back.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smalt"));
    cmd.env("TERM", "xterm-256color")
        .env("XDG_DATA_HOME", &dir)
        .env("NO_COLOR", "1");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    p.exp_string("smalt> ").unwrap();
    type_(&mut p, "\x1b[A"); // Up: the multi-line input comes back whole
    p.send_line("").unwrap();
    p.exp_string("5").expect("the recalled input ran");
    p.exp_string("smalt> ").unwrap();
    quit(p);
}

#[test]
fn a_typed_line_that_is_not_utf8_is_reported_and_the_session_goes_on() {
    let (mut p, _) = repl("utf8", false);
    eval(&mut p, "before := 5", "5");
    let mut tty = p.process().get_file_handle().expect("the pty");
    tty.write_all(b"3 + \xff\xfe 4\r").unwrap();
    tty.flush().unwrap();
    p.exp_string("not valid UTF-8")
        .expect("the bad line is reported");
    p.exp_string("smalt> ").unwrap();
    eval(&mut p, "before + 1", "6");
    quit(p);
}

#[test]
fn a_terminal_gets_colours_unless_no_color_is_set() {
    let (mut p, _) = repl("colour", true);
    p.send_line("1/0").unwrap();
    // The error's description in red, the prompt in green.
    p.exp_string("\x1b[31;1mZeroDivide").expect("a red error");
    p.exp_string("\x1b[2m (repl:1)")
        .expect("dim positions in the trace");
    p.exp_string("\x1b[32;1msmalt> ").expect("a green prompt");
    quit(p);
    let (mut p, _) = repl_with("no-colour", false, false);
    p.send_line("1/0").unwrap();
    let (before, _) = p
        .exp_regex("Integer>>/ \\(stdlib/Integer.som:[0-9]+\\)")
        .expect("a plain trace line");
    assert!(
        before.contains("\nZeroDivide: division by zero\r\n") && !before.contains("\x1b[31"),
        "NO_COLOR: no colours: {before:?}"
    );
    // Ctrl-D typed before the line editor takes the terminal again could be discarded with
    // the pending input when it does: wait for the prompt.
    p.exp_string("smalt> ").expect("the prompt comes back");
    quit(p);
}
