//! The interactive read-eval-print loop.
//!
//! Each input is a do-it (`| temps | statements`) whose value is printed with `printString`;
//! assigning an undeclared name defines a global, so variables persist between inputs. A SOM
//! class definition (`Name = Superclass ( … )`) typed at the prompt defines the class. Input
//! continues on the next line while brackets, strings or comments are open. Errors print their
//! description and Smalltalk stack trace and the prompt comes back; so does Ctrl-C while code
//! runs. Lines starting with `:` are commands (`:help`).
//!
//! When standard input is not a terminal the same loop reads it without line editing, so
//! `smalt < script.st` works.

use crate::cli::{is_complete, report};
use anyhow::Context as _;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Completer, Editor, Helper, Highlighter, Hinter};
use smalt_vm::{Vm, VmError};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

const HELP: &str = "\
Type Smalltalk statements and press Enter: the value of the last one is printed.
  x := 3 + 4.            assigning a new name defines a global (it persists)
  Foo = Object ( bar = ( ^42 ) )      defines a class (SOM syntax)
  Foo compile: 'baz ^43'              adds a method
Commands:
  :help                  this text
  :load FILE             load a class file
  :bytecode Class>>sel   show a method's bytecode
  :gc                    collect garbage and show heap statistics
  :save FILE             save the running system (resume it with smalt --image FILE)
  :quit                  leave (or Ctrl-D)
Ctrl-C stops a running evaluation.";

/// Multi-line input: a line is complete once its brackets, strings and comments close.
#[derive(Helper, Completer, Hinter, Highlighter)]
struct InputHelper;

impl Validator for InputHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

/// Runs the REPL until end of input or `:quit`; answers the exit status.
pub fn run(vm: &mut Vm) -> anyhow::Result<i32> {
    if std::io::stdin().is_terminal() {
        interactive(vm)
    } else {
        piped(vm)
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".smalt_history"))
}

fn interactive(vm: &mut Vm) -> anyhow::Result<i32> {
    let mut editor: Editor<InputHelper, DefaultHistory> =
        Editor::new().context("cannot start the line editor")?;
    editor.set_helper(Some(InputHelper));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "smalt {} — a Smalltalk-80 virtual machine. Type :help for help, Ctrl-D to quit.",
        env!("CARGO_PKG_VERSION")
    );
    let status = loop {
        match editor.readline("smalt> ") {
            Ok(input) => {
                if input.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(input.as_str());
                if let Some(code) = handle(vm, &input) {
                    break code;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break 0,
            Err(e) => return Err(e).context("reading input"),
        }
    };
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(status)
}

fn piped(vm: &mut Vm) -> anyhow::Result<i32> {
    let stdin = std::io::stdin();
    let mut buffer = String::new();
    for line in stdin.lock().lines() {
        buffer.push_str(&line.context("reading input")?);
        buffer.push('\n');
        if !is_complete(&buffer) {
            continue;
        }
        let input = std::mem::take(&mut buffer);
        if input.trim().is_empty() {
            continue;
        }
        if let Some(code) = handle(vm, &input) {
            return Ok(code);
        }
    }
    if !buffer.trim().is_empty()
        && let Some(code) = handle(vm, &buffer)
    {
        return Ok(code);
    }
    Ok(0)
}

/// Handles one input; `Some(status)` ends the REPL.
fn handle(vm: &mut Vm, input: &str) -> Option<i32> {
    let trimmed = input.trim();
    if let Some(command) = trimmed.strip_prefix(':') {
        return command_line(vm, command);
    }
    vm.interrupt.store(false, Ordering::Relaxed);
    // Without its final newline, an input that ends too early is reported at the end of the
    // line typed, not at the start of an empty line after it.
    let input = input.trim_end();
    let result = if looks_like_class_definition(trimmed) {
        vm.load_class_source(input, "repl")
            .map(|cls| format!("{} defined", vm.class_name(cls)))
    } else {
        vm.evaluate(input, "repl", true)
            .and_then(|v| vm.send_message(v, "printString", &[]))
            .map(|s| vm.string_value(s).unwrap_or_default())
    };
    match result {
        Ok(text) => {
            let _ = writeln!(vm.out, "{text}");
            let _ = vm.out.flush();
            None
        }
        Err(VmError::Exit(code)) => Some(code),
        Err(e) => {
            report(vm, &e);
            None
        }
    }
}

/// `Name = Superclass ( …` or `Name = ( … )` whose body has a method (a `name = (` pattern
/// or `----`): an expression `x = ( … )` compares and is not taken for a class.
fn looks_like_class_definition(src: &str) -> bool {
    let mut words = src.split_whitespace();
    let (Some(name), Some("=")) = (words.next(), words.next()) else {
        return false;
    };
    let starts_upper = name.chars().next().is_some_and(|c| c.is_uppercase());
    let ident = name.chars().all(|c| c.is_alphanumeric() || c == '_');
    let Some(open) = src.find('(') else {
        return false;
    };
    let between = src[src.find('=').unwrap_or(0) + 1..open].trim();
    let super_ok = between.is_empty() || between.chars().all(|c| c.is_alphanumeric() || c == '_');
    let body = &src[open + 1..];
    starts_upper
        && ident
        && super_ok
        && (body.contains("= (")
            || body.contains("=(")
            || body.contains("----")
            || body.trim_start().starts_with('|')
            || body.trim() == ")")
}

fn command_line(vm: &mut Vm, command: &str) -> Option<i32> {
    let (name, arg) = match command.split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (command, ""),
    };
    let say = |vm: &mut Vm, text: String| {
        let _ = writeln!(vm.out, "{text}");
        let _ = vm.out.flush();
    };
    match name {
        "q" | "quit" | "exit" => return Some(0),
        "h" | "help" | "?" => say(vm, HELP.to_string()),
        "load" | "l" => match vm.load_class_file(std::path::Path::new(arg)) {
            Ok(cls) => {
                let text = format!("{} defined", vm.class_name(cls));
                say(vm, text)
            }
            Err(e) => {
                report(vm, &e);
            }
        },
        "bytecode" | "b" => match vm.method_listing(arg) {
            Ok(text) => say(vm, text.trim_end().to_string()),
            Err(e) => say(vm, format!("{e}")),
        },
        "gc" => {
            let r = vm.collect_garbage(0);
            let s = vm.heap.stats().clone();
            let text = format!(
                "{} collections, {:.1} ms collecting, {} KiB live, heap {} KiB{}",
                s.collections,
                s.total_time.as_secs_f64() * 1000.0,
                s.live_bytes_after_last / 1024,
                vm.heap.capacity_bytes() / 1024,
                if r.is_err() { " (out of memory)" } else { "" }
            );
            say(vm, text)
        }
        "save" => {
            let path = std::path::Path::new(arg);
            let text = if arg.is_empty() {
                "usage: :save FILE".to_string()
            } else {
                match vm.snapshot() {
                    Ok(s) => match smalt_image::save(path, &s, smalt::tag::NONE) {
                        Ok(()) => format!("saved {arg}"),
                        Err(e) => e.to_string(),
                    },
                    Err(e) => format!("cannot save: {e}"),
                }
            };
            say(vm, text)
        }
        _ => say(vm, format!("unknown command :{name} (try :help)")),
    }
    None
}

#[cfg(test)]
mod tests {
    use super::looks_like_class_definition as class_def;

    #[test]
    fn class_definitions_are_told_from_expressions() {
        assert!(class_def("Foo = Object ( bar = ( ^1 ) )"));
        assert!(class_def("Foo = ( bar = ( ^1 ) )"));
        assert!(class_def("Foo = Object ( | a b | )"));
        assert!(class_def("Foo = ( )"));
        assert!(class_def(
            "Counter = Object (\n  | n |\n  inc = ( n := n + 1 )\n)"
        ));
        assert!(!class_def("x = (3 + 4)"));
        assert!(!class_def("X = (3 + 4)"));
        assert!(!class_def("3 + 4"));
        assert!(!class_def("Foo new bar"));
    }
}
