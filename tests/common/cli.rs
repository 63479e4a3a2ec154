//! Running the `smalt` binary from the command-line tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A command for the `smalt` binary under test.
pub fn smalt_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smalt"))
}

/// Runs smalt with `args` and `stdin` (bytes, so that a test can feed it invalid UTF-8) as
/// its standard input; answers when it ends.
pub fn smalt_in(args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    let mut child = smalt_cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the smalt binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_ref())
        .expect("write stdin");
    child.wait_with_output().expect("smalt ends")
}

/// Runs smalt with `args` and an empty standard input.
pub fn smalt(args: &[&str]) -> Output {
    smalt_in(args, b"")
}

/// Runs smalt with no program (the REPL) reading `input` from a pipe.
pub fn repl(input: impl AsRef<[u8]>) -> Output {
    smalt_in(&[], input)
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty directory for a test's files (named after the test process and `name`).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smalt-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes the class file `name.som` into `dir`; answers its path.
pub fn write_class(dir: &Path, name: &str, source: &str) -> String {
    let path = dir.join(format!("{name}.som"));
    std::fs::write(&path, source).expect("write class file");
    path_str(&path)
}

/// A path as a command-line argument.
pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
