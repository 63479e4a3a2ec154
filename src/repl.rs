//! The interactive read-eval-print loop.
//!
//! Each input is a do-it (`| temps | statements`) whose value is printed with `printString` and
//! kept in the session variable `it`; assigning an undeclared name defines a global, so
//! variables persist between inputs. A SOM class definition (`Name = Superclass ( … )`) typed at
//! the prompt defines the class. Input continues on the next line while brackets, strings or
//! comments are open, under a prompt that shows what is open and how deep (`scan`). Errors
//! print their description and Smalltalk stack trace and the prompt comes back; so does Ctrl-C
//! while code runs. Lines starting with `:` are meta commands (`commands`). Tab completes
//! (`complete`).
//!
//! When standard input is not a terminal the same loop reads it without line editing, so
//! `smalt < script.st` works. A line that is not UTF-8 is reported and skipped, in both modes.

mod commands;
mod complete;
mod scan;

use crate::style::{Palette, ValueKind};
use anyhow::Context as _;
use commands::Flow;
use complete::Catalog;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor, Helper, Hinter, Validator};
use smalt_gc::Word;
use smalt_vm::{Vm, VmError};
use std::borrow::Cow;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// The name under which the REPL keeps the last value it printed.
pub const LAST_VALUE: &str = "it";

pub use commands::human;

const MAIN_PROMPT: &str = "smalt> ";

/// A REPL session: the VM and how to print.
pub struct Session<'vm> {
    /// The VM the inputs run in.
    pub vm: &'vm mut Vm,
    /// Colours for standard output.
    pub out: Palette,
    /// Colours for standard error.
    pub err: Palette,
}

/// What an input evaluated to.
enum Outcome {
    /// The value of an expression.
    Value(Word),
    /// A class the input defined.
    Defined(Word),
}

impl<'vm> Session<'vm> {
    fn new(vm: &'vm mut Vm) -> Self {
        Session {
            vm,
            out: Palette::stdout(),
            err: Palette::stderr(),
        }
    }

    /// Prints a line of the REPL's own output.
    pub fn say(&mut self, text: &str) {
        let _ = writeln!(self.vm.out, "{text}");
        let _ = self.vm.out.flush();
    }

    /// Prints a complaint about a command (usage, unknown names) on standard error.
    pub fn warn(&mut self, text: &str) {
        let _ = self.vm.out.flush();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", self.err.warn(text));
    }

    /// The width of the terminal (80 when it is not one).
    pub fn width(&self) -> usize {
        console::Term::stdout()
            .size_checked()
            .map_or(80, |(_, cols)| usize::from(cols).clamp(40, 200))
    }

    /// Compiles and runs an input: a class definition or a do-it.
    fn evaluate(&mut self, src: &str) -> Result<Outcome, VmError> {
        evaluate_in(self.vm, src)
    }

    /// Prints what an input evaluated to (its printString, coloured by kind) and keeps the value
    /// in `it`; or prints the error.
    fn show_result(&mut self, result: Result<Outcome, VmError>) -> Flow {
        let (value, defined) = match result {
            Ok(Outcome::Value(v)) => (v, false),
            Ok(Outcome::Defined(c)) => (c, true),
            Err(VmError::Exit(code)) => return Flow::Quit(code),
            Err(e) => {
                self.report(&e);
                return Flow::Continue;
            }
        };
        let mark = self.vm.handle_mark();
        let h = self.vm.push_handle(value);
        let shown = (|| {
            self.vm.set_global(LAST_VALUE, self.vm.handle(h))?;
            let v = self.vm.handle(h);
            if defined {
                return Ok(self.out.good(&format!("{} defined", self.vm.class_name(v))));
            }
            let kind = self.kind_of(v);
            let s = self.vm.send_message(v, "printString", &[])?;
            let text = self
                .vm
                .string_value(s)
                .unwrap_or_else(|| self.vm.describe(s));
            Ok(self.out.value(&text, kind))
        })();
        self.vm.release_handles(mark);
        match shown {
            Ok(text) => self.say(&text),
            Err(VmError::Exit(code)) => return Flow::Quit(code),
            Err(e) => self.report(&e),
        }
        Flow::Continue
    }

    /// The colour class of a value.
    fn kind_of(&self, v: Word) -> ValueKind {
        let vm = &*self.vm;
        if v == vm.nil() || v == vm.true_obj() || v == vm.false_obj() {
            return ValueKind::Constant;
        }
        if vm.is_class(v) {
            return ValueKind::Class;
        }
        let cls = vm.class_of(v);
        let is = |name: &str| vm.global(name).is_some_and(|c| vm.inherits_from(cls, c));
        if is("Number") {
            ValueKind::Number
        } else if is("Symbol") || is("Character") {
            ValueKind::Symbol
        } else if is("String") {
            ValueKind::String
        } else {
            ValueKind::Other
        }
    }

    /// Handles one complete input.
    fn handle(&mut self, input: &str) -> Flow {
        let trimmed = input.trim();
        if let Some(command) = trimmed.strip_prefix(':') {
            return commands::run(self, command);
        }
        let result = self.evaluate(input);
        self.show_result(result)
    }
}

/// Compiles and runs an input in `vm`: a class definition or a do-it.
fn evaluate_in(vm: &mut Vm, src: &str) -> Result<Outcome, VmError> {
    vm.interrupt.store(false, Ordering::Relaxed);
    // Without its final newline, an input that ends too early is reported at the end of the
    // line typed, not at the start of an empty line after it.
    let src = src.trim_end();
    if looks_like_class_definition(src.trim()) {
        vm.load_class_source(src, "repl").map(Outcome::Defined)
    } else {
        vm.evaluate(src, "repl", true).map(Outcome::Value)
    }
}

/// Runs the REPL until end of input or `:quit`; answers the exit status.
pub fn run(vm: &mut Vm) -> anyhow::Result<i32> {
    let mut session = Session::new(vm);
    // `it` exists from the start, so an input may name it before any value was printed; an
    // image saved from the REPL brings its own.
    if session.vm.global(LAST_VALUE).is_none() {
        let nil = session.vm.nil();
        let _ = session.vm.set_global(LAST_VALUE, nil);
    }
    if std::io::stdin().is_terminal() {
        interactive(&mut session)
    } else {
        piped(&mut session)
    }
}

/// The history file: `smalt/history` in the user's data directory (`$XDG_DATA_HOME`, by default
/// `~/.local/share`).
fn history_path() -> Option<PathBuf> {
    let dir = dirs::data_dir()?.join("smalt");
    let _ = std::fs::create_dir_all(&dir);
    Some(dir.join("history"))
}

/// The line editor's helper: completion, colours, and the earlier lines of the input.
#[derive(Helper, Hinter, Validator)]
struct InputHelper {
    catalog: Catalog,
    files: FilenameCompleter,
    /// The earlier lines of a multi-line input (each ending in a newline).
    pending: String,
}

impl Completer for InputHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(complete::complete(
            &self.catalog,
            &self.files,
            &self.pending,
            line,
            pos,
        ))
    }
}

impl Highlighter for InputHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        let p = Palette::new(true);
        Cow::Owned(if prompt == MAIN_PROMPT {
            p.paint(prompt, owo_colors::Style::new().green().bold())
        } else {
            p.dim(prompt)
        })
    }

    /// Strings, comments and literals in colour (only escape sequences are added, so the line
    /// keeps its width).
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.pending.is_empty() && line.trim_start().starts_with(':') {
            return Cow::Borrowed(line);
        }
        let text = format!("{}{line}", self.pending);
        let offset = self.pending.len();
        let (_, spans) = scan::scan(&text);
        let p = Palette::new(true);
        let mut out = String::with_capacity(line.len() * 2);
        let mut at = 0;
        for (range, kind) in spans {
            if range.end <= offset {
                continue;
            }
            let (s, e) = (range.start.max(offset) - offset, range.end - offset);
            out.push_str(&line[at..s]);
            let style = match kind {
                scan::Kind::String => owo_colors::Style::new().green(),
                scan::Kind::Comment => owo_colors::Style::new().dimmed(),
                scan::Kind::Literal => owo_colors::Style::new().cyan(),
            };
            out.push_str(&p.paint(&line[s..e], style));
            at = e;
        }
        if at == 0 {
            return Cow::Borrowed(line);
        }
        out.push_str(&line[at..]);
        Cow::Owned(out)
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

fn interactive(session: &mut Session<'_>) -> anyhow::Result<i32> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)?
        .max_history_size(10_000)?
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<InputHelper, DefaultHistory> =
        Editor::with_config(config).context("cannot start the line editor")?;
    editor.set_helper(Some(InputHelper {
        catalog: Catalog::default(),
        files: FilenameCompleter::new(),
        pending: String::new(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let old = std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".smalt_history"));
        match old.filter(|o| !h.exists() && o.exists()) {
            Some(o) => drop(editor.load_history(&o)),
            None => drop(editor.load_history(h)),
        }
    }
    session.say(&format!(
        "smalt {} — a Smalltalk-80 virtual machine. :help for help, Tab completes, Ctrl-D quits.",
        env!("CARGO_PKG_VERSION")
    ));
    let status = 'session: loop {
        let catalog = Catalog::of(session.vm);
        if let Some(h) = editor.helper_mut() {
            h.catalog = catalog;
        }
        let mut pending = String::new();
        // Read lines until the input is complete.
        let input = loop {
            let open = scan::open_at_end(&pending);
            let prompt = if pending.is_empty() {
                MAIN_PROMPT.to_string()
            } else {
                open.continuation_prompt()
            };
            if let Some(h) = editor.helper_mut() {
                h.pending.clone_from(&pending);
            }
            match editor.readline(&prompt) {
                Ok(line) => {
                    pending.push_str(&line);
                    pending.push('\n');
                    if scan::open_at_end(&pending).is_complete() {
                        break pending;
                    }
                }
                // Ctrl-C drops the input typed so far.
                Err(ReadlineError::Interrupted) => continue 'session,
                // Ctrl-D leaves at the main prompt; in a continuation it hands the input over
                // as it is, so the compiler says what is missing.
                Err(ReadlineError::Eof) if pending.is_empty() => break 'session 0,
                Err(ReadlineError::Eof) => break pending,
                Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                    // The rest of the bad line is still in the terminal's queue: drop it too.
                    let _ = nix::sys::termios::tcflush(
                        std::io::stdin(),
                        nix::sys::termios::FlushArg::TCIFLUSH,
                    );
                    let what = if pending.is_empty() {
                        "the line"
                    } else {
                        "the input"
                    };
                    session.warn(&format!(
                        "smalt: the line typed is not valid UTF-8: {what} was discarded"
                    ));
                    continue 'session;
                }
                Err(e) => return Err(e).context("reading input"),
            }
        };
        if input.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(input.trim_end());
        if let Some(h) = editor.helper_mut() {
            h.pending.clear();
        }
        if let Flow::Quit(code) = session.handle(&input) {
            break code;
        }
    };
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(status)
}

fn piped(session: &mut Session<'_>) -> anyhow::Result<i32> {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut buffer = String::new();
    let mut bytes = Vec::new();
    let mut line_no = 0usize;
    // The input being read has a line that is not UTF-8: it is skipped whole.
    let mut bad_input = false;
    loop {
        bytes.clear();
        if stdin
            .read_until(b'\n', &mut bytes)
            .context("reading input")?
            == 0
        {
            break;
        }
        line_no += 1;
        let line = match std::str::from_utf8(&bytes) {
            Ok(l) => Cow::Borrowed(l),
            Err(e) => {
                session.warn(&format!(
                    "smalt: line {line_no} of the input is not valid UTF-8 (byte {} of the \
                     line): the input it belongs to is skipped",
                    e.valid_up_to() + 1
                ));
                bad_input = true;
                // Read on to the end of this input (the bytes that are not UTF-8 cannot open
                // or close a bracket), so that its rest is not taken for new inputs.
                String::from_utf8_lossy(&bytes)
            }
        };
        buffer.push_str(line.strip_suffix('\n').unwrap_or(&line));
        buffer.push('\n');
        if !scan::open_at_end(&buffer).is_complete() {
            continue;
        }
        let input = std::mem::take(&mut buffer);
        if std::mem::take(&mut bad_input) {
            continue;
        }
        if input.trim().is_empty() {
            continue;
        }
        if let Flow::Quit(code) = session.handle(&input) {
            return Ok(code);
        }
    }
    if !buffer.trim().is_empty()
        && !bad_input
        && let Flow::Quit(code) = session.handle(&buffer)
    {
        return Ok(code);
    }
    Ok(0)
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
