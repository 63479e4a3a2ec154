//! The `smalt` command against hostile surroundings and input files: a full or closed stderr,
//! a full disk or a closed pipe on stdout, source files with a byte-order mark, invalid
//! UTF-8 or old line endings. Nothing panics, nothing hangs, nothing is lost silently.
//!
//! Runs that could hang run under a generous watchdog (the child is killed and the test fails),
//! never a timing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Far longer than any of these runs takes: reaching it means the VM hung.
const WATCHDOG: Duration = Duration::from_secs(120);

fn smalt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smalt"))
}

/// Waits for a child under the watchdog; kills it and fails the test if it does not end.
fn wait_watched(child: &mut Child, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for smalt") {
            return status;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: smalt did not finish within {WATCHDOG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `smalt args` to the end under the watchdog, stdout and stderr captured.
fn run(args: &[&str], what: &str) -> Output {
    let mut child = smalt()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smalt starts");
    // Read both pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_watched(&mut child, what);
    Output {
        status,
        stdout: out_thread.join().expect("stdout reader"),
        stderr: err_thread.join().expect("stderr reader"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smalt-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the file");
    path.to_string_lossy().into_owned()
}

/// No Rust panic, no abort, no death by a signal: smalt ended by itself with `status`.
fn ended_cleanly(status: ExitStatus, stderr: &str, what: &str) -> i32 {
    assert!(
        !stderr.contains("panicked"),
        "{what}: smalt panicked:\n{stderr}"
    );
    let code = status
        .code()
        .unwrap_or_else(|| panic!("{what}: killed by a signal"));
    assert_ne!(code, 101, "{what}: exit status 101 is a Rust panic");
    code
}

// ---- stderr and stdout that cannot be written ------------------------------------------------

#[cfg(target_os = "linux")]
fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stderr_never_panics() {
    for args in [
        &["-e", "1/0"][..],
        &["-e", "nil foo"],
        &["-e", "1 +"],
        &["-e", "system errorPrintln: 'x'. 3"],
        &["/nonexistent/Missing.som"],
    ] {
        let mut child = smalt()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(dev_full())
            .spawn()
            .expect("smalt starts");
        let status = wait_watched(&mut child, &format!("{args:?}"));
        let code = ended_cleanly(status, "", &format!("{args:?} 2>/dev/full"));
        assert_ne!(code, 0, "{args:?}: the error still fails the run");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_and_fails_the_run() {
    let dir = scratch_dir("full-stdout");
    let program = write_file(
        &dir,
        "Out.som",
        b"Out = ( run = ( 1 to: 10 do: [ :i | i println ] ) )",
    );
    for args in [
        vec![program.as_str()],
        vec!["-e", "3 + 4"],
        vec!["-e", "'x' println. system exit: 0"],
        // More than a buffer's worth: the write fails during the run.
        vec!["-e", "1 to: 100000 do: [ :i | i println ]. 5"],
    ] {
        let mut child = smalt()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(dev_full())
            .stderr(Stdio::piped())
            .spawn()
            .expect("smalt starts");
        let mut err = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        let status = wait_watched(&mut child, &format!("{args:?}"));
        let stderr = text(&reader.join().expect("reader"));
        let code = ended_cleanly(status, &stderr, &format!("{args:?} >/dev/full"));
        assert_ne!(code, 0, "{args:?} >/dev/full succeeded");
        assert!(
            stderr.contains("No space left on device"),
            "{args:?}: the lost output is not reported: {stderr:?}"
        );
        assert_eq!(
            stderr.matches("No space left").count(),
            1,
            "{args:?}: reported once: {stderr:?}"
        );
    }
}

#[test]
fn a_closed_pipe_stops_a_program_that_prints_for_ever() {
    let mut child = smalt()
        .args([
            "-e",
            "[ true ] whileTrue: [ 'all work and no play' println ]",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smalt starts");
    // Read a little, then close the pipe, as `| head -1` does.
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 64];
    out.read_exact(&mut first).expect("the program prints");
    drop(out);
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_watched(&mut child, "printing into a closed pipe");
    let stderr = text(&reader.join().expect("reader"));
    let code = ended_cleanly(status, &stderr, "printing into a closed pipe");
    // Quietly, with the status of a process ended by SIGPIPE.
    assert_eq!(code, 141, "{stderr}");
    assert_eq!(stderr, "");
    assert!(text(&first).starts_with("all work"));
}

// ---- source files ------------------------------------------------------------------------------

#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = scratch_dir("bom");
    let file = write_file(
        &dir,
        "Bom.som",
        b"\xEF\xBB\xBFBom = ( run = ( 'with a BOM' println ) )\n",
    );
    let o = run(&[&file], "BOM");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "with a BOM\n");
}

#[test]
fn invalid_utf8_in_a_source_file_names_its_position() {
    let dir = scratch_dir("utf8");
    let file = write_file(
        &dir,
        "Bad.som",
        b"Bad = (\n  run = (\n    'caf\xE9' println ) )\n",
    );
    let o = run(&[&file], "invalid UTF-8");
    let stderr = text(&o.stderr);
    ended_cleanly(o.status, &stderr, "invalid UTF-8");
    assert!(!o.status.success());
    assert!(
        stderr.starts_with(&format!("{file}:3:9: error: invalid UTF-8 (byte 0xE9)")),
        "{stderr}"
    );
    // The line is shown with the caret under the bad byte.
    let lines: Vec<&str> = stderr.lines().collect();
    let bad_at = lines[1].find('\u{FFFD}').expect("the bad byte is shown");
    assert_eq!(lines[2].find('^'), Some(bad_at), "{stderr}");
}

/// The trace line of `Ends>>run`, for a file whose lines end with `eol`.
fn trace_line_of_run(eol: &str, name: &str) -> String {
    let dir = scratch_dir(name);
    let source = [
        "Ends = (",
        "    run = (",
        "        'one' println.",
        "        'two' println.",
        "        ^1 / 0",
        "    )",
        ")",
        "",
    ]
    .join(eol);
    let file = write_file(&dir, "Ends.som", source.as_bytes());
    let o = run(&[&file], name);
    assert_eq!(text(&o.stdout), "one\ntwo\n");
    let stderr = text(&o.stderr);
    stderr
        .lines()
        .find(|l| l.contains("Ends>>run"))
        .unwrap_or_else(|| panic!("no trace line for Ends>>run:\n{stderr}"))
        .trim()
        .to_string()
}

#[test]
fn stack_traces_count_lines_with_every_line_ending() {
    for (eol, name) in [("\n", "lf"), ("\r\n", "crlf"), ("\r", "cr")] {
        let line = trace_line_of_run(eol, name);
        assert!(line.ends_with("Ends.som:5)"), "{name}: {line}");
    }
}

#[test]
fn compile_errors_count_lines_with_every_line_ending() {
    for (eol, name) in [("\r\n", "crlf-error"), ("\r", "cr-error")] {
        let dir = scratch_dir(name);
        let source = ["E = (", "  run = (", "    1 +", "  )", ")"].join(eol);
        let file = write_file(&dir, "E.som", source.as_bytes());
        let o = run(&[&file], name);
        let stderr = text(&o.stderr);
        assert!(
            stderr.starts_with(&format!("{file}:4:3: error:")),
            "{name}: {stderr}"
        );
        assert!(stderr.contains("    4 |   )\n"), "{name}: {stderr:?}");
    }
}

// ---- Ctrl-C, heap limits, out of memory from the command line ------------------------------

/// Sends SIGINT to a running smalt (as Ctrl-C does) once it has printed `ready`.
#[cfg(unix)]
fn interrupt_when_ready(args: &[&str], what: &str) -> (i32, String, String) {
    use std::io::BufRead;
    let mut child = smalt()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smalt starts");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("the program prints");
    assert_eq!(first, "ready\n", "{what}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    let status = wait_watched(&mut child, what);
    let stderr = text(&reader.join().expect("reader"));
    let code = ended_cleanly(status, &stderr, what);
    (code, rest, stderr)
}

#[cfg(unix)]
#[test]
fn ctrl_c_unwinds_exits_130_and_shows_where_the_program_was() {
    let dir = scratch_dir("sigint");
    let file = write_file(
        &dir,
        "Spin.som",
        b"Spin = (
    spin = ( | n | n := 0. 'ready' println. system flush. [ true ] whileTrue: [ n := n + 1 ] )
    run = (
        [ [ self spin ] ifCurtailed: [ 'curtailed' println ] ] ensure: [ 'ensure' println ]
    )
)
",
    );
    let (code, out, err) = interrupt_when_ready(&[&file], "Ctrl-C in a loop");
    assert_eq!(code, 130, "{err}");
    assert_eq!(out, "curtailed\nensure\n");
    assert!(
        err.starts_with("interrupted\nSmalltalk stack (most recent call last):\n"),
        "{err}"
    );
    assert!(
        err.contains("Spin>>spin (") && err.contains("Spin.som:2)"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_long_big_integer_operation() {
    let expr = "[ 'ready' println. system flush.
          ((3 raisedTo: 30000000) gcd: (2 raisedTo: 47000000) + 1) printString size ]
            ensure: [ 'ensure' println ]";
    let (code, out, err) = interrupt_when_ready(&["-e", expr], "Ctrl-C in gcd:");
    assert_eq!(code, 130, "{err}");
    assert_eq!(out, "ensure\n");
    assert!(err.contains("Nil>>DoIt (-e:"), "{err}");
}

#[test]
fn heap_limits_that_cannot_work_say_why() {
    let o = run(&["--max-heap", "1M", "-e", "3 + 4"], "--max-heap 1M");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("smalt: a heap limit of 1.0M is too small: the class library alone takes"),
        "{err}"
    );
    assert!(err.contains("give at least"), "{err}");
    for absurd in ["99999999999999G", "999999999999999999999999"] {
        let o = run(&["--max-heap", absurd, "-e", "3 + 4"], absurd);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("too large: the number overflows"), "{err}");
    }
    let o = run(&["--max-heap", "3M", "-e", "3 + 4"], "--max-heap 3M");
    assert_eq!(text(&o.stdout), "7\n", "{}", text(&o.stderr));
}

/// The cases of the issue: a list that grows for ever in a small heap, and a collection of
/// arrays in a larger one. Both end with the OutOfMemory error, soon.
#[test]
fn filling_the_heap_ends_with_out_of_memory() {
    for (heap, expr) in [
        (
            "2M",
            "| a | a := nil. [ true ] whileTrue: [ a := Array with: a ]",
        ),
        (
            "64M",
            "| oc | oc := OrderedCollection new. [ true ] whileTrue: [ oc add: (Array new: 1000) ]",
        ),
    ] {
        let o = run(&["--max-heap", heap, "-e", expr], expr);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{heap}: {err}");
        assert!(
            err.starts_with("OutOfMemory: out of memory\n"),
            "{heap}: {err}"
        );
    }
}
