//! The REPL's meta commands (`:help`, `:load`, `:time`, …): one table entry each, with its
//! help text and the kind of argument it completes. A new command is a new entry and a function.

use super::Session;
use crate::style::Palette;
use crate::tier_stats::{Compiled, units};
use smalt_gc::Word;
use smalt_vm::objects::{class, debug};
use smalt_vm::tier::JitMode;
use smalt_vm::{Vm, VmError};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// What the REPL does after a command or an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next input.
    Continue,
    /// Leave with this exit status.
    Quit(i32),
}

/// What a command's argument is, for completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// File names.
    Files,
    /// A class name.
    Class,
    /// `Class>>selector`.
    Method,
    /// A Smalltalk expression.
    Expression,
    /// `Class>>selector` or an expression.
    MethodOrExpression,
    /// One of these words.
    Words(&'static [&'static str]),
}

/// A meta command.
pub struct Command {
    /// Its name, typed after `:`.
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// How its argument is written in the help (empty without one).
    pub usage: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// The argument's kind.
    pub arg: ArgKind,
    /// Runs it with the (trimmed) argument text.
    pub run: fn(&mut Session<'_>, &str) -> Flow,
}

/// Every meta command, in the order `:help` lists them.
pub static COMMANDS: &[Command] = &[
    Command {
        name: "help",
        aliases: &["h", "?"],
        usage: "[COMMAND]",
        help: "this text, or one command's",
        arg: ArgKind::None,
        run: help,
    },
    Command {
        name: "load",
        aliases: &["l"],
        usage: "FILE…",
        help: "load class files (.som)",
        arg: ArgKind::Files,
        run: load,
    },
    Command {
        name: "time",
        aliases: &["t"],
        usage: "EXPR",
        help: "evaluate EXPR and time it (with the JIT: in both tiers, and their ratio)",
        arg: ArgKind::Expression,
        run: time,
    },
    Command {
        name: "jit",
        aliases: &[],
        usage: "[on [N]|off|eager|stats]",
        help: "show or switch the tier (on: compile code run N times; eager: all code)",
        arg: ArgKind::Words(&["on", "off", "eager", "stats"]),
        run: jit,
    },
    Command {
        name: "browse",
        aliases: &["br"],
        usage: "CLASS",
        help: "a class's definition: superclasses, variables, selectors (or EXPR's class)",
        arg: ArgKind::Class,
        run: browse,
    },
    Command {
        name: "source",
        aliases: &["src"],
        usage: "CLASS>>SEL",
        help: "a method's source and where it is defined ('Foo class>>new' for class side)",
        arg: ArgKind::Method,
        run: source,
    },
    Command {
        name: "bytecode",
        aliases: &["b"],
        usage: "CLASS>>SEL | EXPR",
        help: "the bytecode of a method, or of an expression compiled as a do-it",
        arg: ArgKind::MethodOrExpression,
        run: bytecode,
    },
    Command {
        name: "gc",
        aliases: &[],
        usage: "",
        help: "collect garbage and show heap statistics",
        arg: ArgKind::None,
        run: gc,
    },
    Command {
        name: "save",
        aliases: &[],
        usage: "FILE",
        help: "save the running system as an image (resume it: smalt --image FILE)",
        arg: ArgKind::Files,
        run: save,
    },
    Command {
        name: "quit",
        aliases: &["q", "exit"],
        usage: "",
        help: "leave (or Ctrl-D)",
        arg: ArgKind::None,
        run: |_, _| Flow::Quit(0),
    },
];

/// The command called `name` (or one of its aliases).
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// Runs the command line `line` (the text after `:`).
pub fn run(session: &mut Session<'_>, line: &str) -> Flow {
    let (name, arg) = match line.trim().split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (line.trim(), ""),
    };
    match find(name) {
        Some(cmd) => (cmd.run)(session, arg),
        None => {
            let p = session.err;
            session.warn(&p.error(&format!("unknown command :{name} (try :help)")));
            Flow::Continue
        }
    }
}

const INTRO: &str = "\
Type Smalltalk statements and press Enter: the value of the last one is printed and kept in
`it` (so `it size` works on the last answer). Input goes on over several lines while brackets,
strings or comments are open; the prompt then shows what is open and how deep.
  x := 3 + 4.                         assigning a new name defines a session variable
  Foo = Object ( bar = ( ^42 ) )      defines a class (SOM syntax)
  Foo compile: 'baz ^43'              adds a method
Tab completes names, selectors (those the receiver understands when the text shows its class),
commands and file names. Ctrl-C clears the line, or stops a running evaluation; Ctrl-D leaves.";

fn help(s: &mut Session<'_>, arg: &str) -> Flow {
    let p = s.out;
    let line = |c: &Command| {
        let head = format!(":{} {}", c.name, c.usage);
        format!(
            "  {}{}  {}",
            p.name(&head),
            " ".repeat(29usize.saturating_sub(head.chars().count())),
            c.help
        )
    };
    if !arg.is_empty() {
        let name = arg.trim_start_matches(':');
        match find(name) {
            Some(c) => {
                let mut text = line(c);
                if !c.aliases.is_empty() {
                    let a: Vec<String> = c.aliases.iter().map(|a| format!(":{a}")).collect();
                    let _ = write!(text, "\n  (also {})", a.join(", "));
                }
                s.say(&text);
            }
            None => s.warn(&format!("no command :{name} (try :help)")),
        }
        return Flow::Continue;
    }
    let mut text = String::from(INTRO);
    text.push_str("\nCommands:");
    for c in COMMANDS {
        text.push('\n');
        text.push_str(&line(c));
    }
    s.say(&text);
    Flow::Continue
}

fn load(s: &mut Session<'_>, arg: &str) -> Flow {
    if arg.is_empty() {
        s.warn("usage: :load FILE…");
        return Flow::Continue;
    }
    for file in arg.split_whitespace() {
        match s.vm.load_class_file(std::path::Path::new(file)) {
            Ok(cls) => {
                let text = format!("{} defined", s.vm.class_name(cls));
                s.say(&s.out.good(&text));
            }
            Err(e) => {
                s.report(&e);
                break;
            }
        }
    }
    Flow::Continue
}

/// How long an evaluation took, the collections during it, and what the JIT compiled.
struct Timing {
    wall: Duration,
    collections: u64,
    gc_time: Duration,
    compiled: Option<Compiled>,
}

impl Timing {
    /// `12.345 ms, 2 collections, 1.2 ms in GC, 3 methods and blocks compiled in 2.1 ms`.
    fn describe(&self) -> String {
        let mut text = format!("{}, ", human(self.wall));
        match self.collections {
            0 => text.push_str("no collections"),
            1 => {
                let _ = write!(text, "1 collection, {} in GC", human(self.gc_time));
            }
            n => {
                let _ = write!(text, "{n} collections, {} in GC", human(self.gc_time));
            }
        }
        if let Some(c) = self.compiled {
            let _ = write!(text, ", {}", c.describe());
        }
        text
    }
}

/// Runs an input in `vm` and times it.
fn timed(vm: &mut Vm, src: &str) -> (Result<super::Outcome, VmError>, Timing) {
    let before = vm.heap.stats().clone();
    let compiled_before = Compiled::of(vm);
    let start = Instant::now();
    let result = super::evaluate_in(vm, src);
    let wall = start.elapsed();
    let after = vm.heap.stats();
    let jit_on = vm.jit_mode().0 != JitMode::Off;
    let timing = Timing {
        wall,
        collections: after.collections - before.collections,
        gc_time: after.total_time.saturating_sub(before.total_time),
        compiled: match (jit_on, compiled_before, Compiled::of(vm)) {
            (true, Some(b), Some(a)) => Some(a.since(b)),
            _ => None,
        },
    };
    (result, timing)
}

/// What a tier is called in the REPL's messages.
fn tier_label(mode: JitMode) -> &'static str {
    match mode {
        JitMode::Off => "interpreter",
        JitMode::On => "JIT",
        JitMode::Eager => "eager JIT",
    }
}

/// The bytes of an image of the session as it is now: the other tier of `:time` runs in a VM
/// loaded from them, so that the session sees the input's effects once.
fn session_image(vm: &mut Vm) -> Result<Vec<u8>, String> {
    let snapshot = vm.snapshot().map_err(|e| e.to_string())?;
    Ok(smalt_image::encode(&snapshot, smalt::tag::NONE))
}

/// A VM in tier `mode` loaded from `image` (made by `session_image` of `vm`), with `vm`'s
/// options and interrupt flag; what its programs print is discarded.
fn copy_in(vm: &Vm, image: &[u8], mode: JitMode, threshold: u32) -> Result<Vm, String> {
    let mut options = vm.options.clone();
    options.jit = mode;
    options.jit_threshold = threshold;
    options.print_ir.clear();
    // The bytes were made just now by this process: the CRCs need no checking.
    let loaded = smalt_image::load_bytes(image, options, smalt_image::Trust::Embedded)
        .map_err(|e| e.to_string())?;
    let mut copy = loaded.vm;
    copy.out = Box::new(std::io::sink());
    copy.interrupt = vm.interrupt.clone();
    Ok(copy)
}

/// `:time EXPR`: runs EXPR in the session (its tier) and prints its value and time; with a
/// JIT, then runs it in the other tier too (the interpreter when the JIT is on, the JIT when
/// it is off) in a copy of the session made before the run, and prints that time and the
/// ratio.
fn time(s: &mut Session<'_>, arg: &str) -> Flow {
    if arg.is_empty() {
        s.warn("usage: :time EXPR");
        return Flow::Continue;
    }
    let (mode, threshold) = s.vm.jit_mode();
    let other = match mode {
        _ if !s.vm.jit_available() => None,
        JitMode::Off => Some(JitMode::On),
        JitMode::On | JitMode::Eager => Some(JitMode::Off),
    };
    // The copy is taken before the run, so both tiers start from the same state.
    let image = match other.map(|_| session_image(s.vm)) {
        Some(Err(e)) => {
            let p = s.err;
            s.warn(&p.error(&format!(
                "cannot copy the session to time the other tier: {e}"
            )));
            None
        }
        Some(Ok(bytes)) => Some(bytes),
        None => None,
    };
    let (result, timing) = timed(s.vm, arg);
    let failed = result.is_err();
    if let Flow::Quit(code) = s.show_result(result) {
        return Flow::Quit(code);
    }
    let width = 11;
    let line =
        |label: &str, t: &Timing, note: &str| format!("{label:<width$}  {}{note}", t.describe());
    let text = line(tier_label(mode), &timing, "");
    s.say(&s.out.dim(&text));
    let (Some(other), Some(image), false) = (other, image, failed) else {
        return Flow::Continue;
    };
    let mut copy = match copy_in(s.vm, &image, other, threshold) {
        Ok(vm) => vm,
        Err(e) => {
            let p = s.err;
            s.warn(&p.error(&format!("cannot time the {}: {e}", tier_label(other))));
            return Flow::Continue;
        }
    };
    drop(image);
    let (result, other_timing) = timed(&mut copy, arg);
    match result {
        Ok(_) => {
            let text = line(
                tier_label(other),
                &other_timing,
                " (in a copy of the session)",
            );
            s.say(&s.out.dim(&text));
            let (jit, interp, jit_mode) = if mode == JitMode::Off {
                (&other_timing, &timing, other)
            } else {
                (&timing, &other_timing, mode)
            };
            let ratio = interp.wall.as_secs_f64() / jit.wall.as_secs_f64().max(1e-9);
            let text = if ratio >= 1.0 {
                format!(
                    "{} ran {ratio:.2} times faster than the interpreter",
                    tier_label(jit_mode)
                )
            } else {
                format!(
                    "{} ran {:.2} times slower than the interpreter",
                    tier_label(jit_mode),
                    1.0 / ratio
                )
            };
            let shortest = interp.wall.min(jit.wall);
            let text = if shortest < Duration::from_millis(1) {
                format!("{text} (one run each: this short, the ratio is mostly noise)")
            } else {
                text
            };
            s.say(&s.out.dim(&text));
        }
        Err(VmError::Exit(_)) => {}
        Err(e) => {
            let p = s.err;
            s.warn(&p.error(&format!(
                "under the {} (in a copy of the session):",
                tier_label(other)
            )));
            crate::cli::report_error(&e);
        }
    }
    Flow::Continue
}

/// `:jit`: shows the tier; `:jit on [N]`, `:jit off`, `:jit eager` switch it between inputs;
/// `:jit stats` prints the JIT's statistics (`--jit-stats`).
fn jit(s: &mut Session<'_>, arg: &str) -> Flow {
    let words: Vec<&str> = arg.split_whitespace().collect();
    let (mode, threshold) = s.vm.jit_mode();
    let target = match words.as_slice() {
        [] => {
            let text = jit_status(s.vm);
            s.say(&text);
            return Flow::Continue;
        }
        ["stats"] => {
            match s.vm.tier_report() {
                Some(report) => s.say(report.trim_end()),
                None => s.say("no JIT has been attached to this session (:jit on attaches one)"),
            }
            return Flow::Continue;
        }
        ["off"] => (JitMode::Off, threshold),
        ["eager"] => (JitMode::Eager, threshold),
        ["on"] => (JitMode::On, threshold),
        ["on", n] => match n.parse::<u32>() {
            Ok(n) if n >= 1 => (JitMode::On, n),
            _ => {
                s.warn(&format!("'{n}' is not a threshold (a count from 1 up)"));
                return Flow::Continue;
            }
        },
        _ => {
            s.warn("usage: :jit [on [THRESHOLD] | off | eager | stats]");
            return Flow::Continue;
        }
    };
    match s.vm.set_jit(target.0, target.1) {
        Ok(retired) => {
            let mut text = jit_status(s.vm);
            if retired > 0 && mode != JitMode::Off {
                let _ = write!(
                    text,
                    "\n(the native code of {} was discarded)",
                    units(retired)
                );
            }
            s.say(&text);
        }
        Err(e) => {
            let p = s.err;
            s.warn(&p.error(&format!("cannot switch the JIT {}: {e}", words[0])));
        }
    }
    Flow::Continue
}

/// `jit on: …` — the tier, what makes code compile, and what is compiled so far.
fn jit_status(vm: &Vm) -> String {
    let (mode, threshold) = vm.jit_mode();
    let mut text = match mode {
        JitMode::Off if !vm.jit_available() => {
            return "jit off: this build of smalt has no JIT; the interpreter runs everything"
                .into();
        }
        JitMode::Off => {
            "jit off: the interpreter runs everything (:jit on compiles hot code)".to_string()
        }
        JitMode::On => format!(
            "jit on: a method or block is compiled once it has run {threshold} times \
             (calls or loop iterations)"
        ),
        JitMode::Eager => {
            "jit eager: every method and block is compiled before its next run".to_string()
        }
    };
    if let Some(c) = Compiled::of(vm) {
        if c.units == 0 {
            text.push_str("\nnothing compiled yet");
        } else {
            let _ = write!(
                text,
                "\n{} so far; native code in use for {}",
                c.describe(),
                units(vm.native_method_count())
            );
        }
    }
    text
}

/// A duration in the unit that reads best (`812 µs`, `12.3 ms`, `2.41 s`).
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.3} s")
    } else if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else {
        format!("{:.1} µs", secs * 1e6)
    }
}

/// The class named `name` (`Foo class` for a metaclass), loading it from the class path if
/// needed.
fn class_named(vm: &mut Vm, name: &str) -> Result<Word, String> {
    let (base, meta) = match name.trim().strip_suffix(" class") {
        Some(b) => (b.trim(), true),
        None => (name.trim(), false),
    };
    let cls = match vm.global(base) {
        Some(c) if vm.is_class(c) => c,
        Some(_) => return Err(format!("{base} is not a class")),
        None => match vm.load_class_from_path(base) {
            Ok(Some(c)) => c,
            Ok(None) => return Err(format!("no class {base}")),
            Err(e) => return Err(e.to_string()),
        },
    };
    Ok(if meta { vm.class_of(cls) } else { cls })
}

fn selectors_of(vm: &Vm, cls: Word) -> Vec<String> {
    let md = vm.heap.slot(cls.oop(), class::METHODS);
    if md == vm.nil() {
        return Vec::new();
    }
    let mut v: Vec<String> = vm
        .dict_entries(md)
        .into_iter()
        .filter_map(|(k, _)| vm.string_value(k))
        .collect();
    v.sort();
    v
}

/// The file a class's methods come from (that of its first method with debug info).
fn defining_file(vm: &Vm, cls: Word) -> Option<String> {
    let md = vm.heap.slot(cls.oop(), class::METHODS);
    if md == vm.nil() {
        return None;
    }
    vm.dict_entries(md).into_iter().find_map(|(_, m)| {
        let d = vm.method_trailer(m, 0).as_oop()?;
        vm.string_value(vm.heap.slot(d, debug::FILE))
    })
}

/// `words` joined with spaces and wrapped at `width` columns after an indent.
fn wrap(words: &[String], indent: usize, width: usize, p: Palette) -> String {
    let mut out = String::new();
    let mut col = indent;
    for (i, w) in words.iter().enumerate() {
        let n = w.chars().count();
        if i > 0 && col + 1 + n > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if i > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(&p.name(w));
        col += n;
    }
    out
}

fn browse(s: &mut Session<'_>, arg: &str) -> Flow {
    if arg.is_empty() {
        s.warn("usage: :browse CLASS (or an expression: its class)");
        return Flow::Continue;
    }
    let cls = match class_named(s.vm, arg) {
        Ok(c) => c,
        Err(msg) => {
            // Not a class name: browse the class of the expression's value.
            let looks_like_name = arg
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ' ');
            if looks_like_name && arg.starts_with(char::is_uppercase) {
                s.warn(&msg);
                return Flow::Continue;
            }
            match s.vm.evaluate(arg, "repl", true) {
                Ok(v) => s.vm.class_of(v),
                Err(e) => {
                    s.report(&e);
                    return Flow::Continue;
                }
            }
        }
    };
    let text = browse_text(s.vm, cls, s.out, s.width());
    s.say(&text);
    Flow::Continue
}

fn browse_text(vm: &Vm, cls: Word, p: Palette, width: usize) -> String {
    let nil = vm.nil();
    let name = vm.class_name(cls);
    let mut chain = Vec::new();
    let mut c = vm.superclass(cls);
    while c != nil && chain.len() < 100 {
        chain.push(vm.class_name(c));
        c = vm.superclass(c);
    }
    let mut out = String::new();
    let sup = chain.first().cloned().unwrap_or_else(|| "nil".into());
    let _ = write!(out, "{} = {} (", p.heading(&name), p.name(&sup));
    if let Some(file) = defining_file(vm, cls) {
        let _ = write!(out, "    {}", p.dim(&format!("\"{file}\"")));
    }
    out.push('\n');
    if chain.len() > 1 {
        let _ = writeln!(out, "    {}", p.dim(&format!("\"{}\"", chain.join(" → "))));
    }
    let all = vm.instance_variable_names(cls);
    let inherited = if vm.superclass(cls) == nil {
        0
    } else {
        vm.instance_variable_names(vm.superclass(cls)).len()
    };
    let own: Vec<String> = all.iter().skip(inherited).cloned().collect();
    if !own.is_empty() {
        let _ = writeln!(out, "    | {} |", own.join(" "));
    }
    if inherited > 0 {
        let _ = writeln!(
            out,
            "    {}",
            p.dim(&format!("\"inherited: {}\"", all[..inherited].join(" ")))
        );
    }
    let meta = vm.class_of(cls);
    let sides = [("instance side", cls), ("class side", meta)];
    for (label, c) in sides {
        if label == "class side" && vm.class_name(cls).ends_with(" class") {
            break;
        }
        let sels = selectors_of(vm, c);
        let head = format!("    {label} ({}): ", sels.len());
        let indent = head.chars().count();
        let _ = writeln!(
            out,
            "{}{}",
            p.heading(&head),
            if sels.is_empty() {
                p.dim("none")
            } else {
                wrap(&sels, indent, width, p)
            }
        );
    }
    out.push(')');
    out
}

/// The method named by `Class>>sel` (or `Class class>>sel`): the method found by lookup from
/// that class, the class asked for and the class that defines it.
fn method_named(vm: &mut Vm, spec: &str) -> Result<(Word, Word, Word), String> {
    let (cls_name, sel) = spec
        .split_once(">>")
        .ok_or_else(|| "expected Class>>selector".to_string())?;
    let cls = class_named(vm, cls_name)?;
    let sel = sel.trim().trim_start_matches('#');
    let sym = vm
        .symbols
        .get(sel)
        .ok_or_else(|| format!("{} does not understand #{sel}", vm.class_name(cls)))?;
    let m = vm
        .lookup_in(cls, sym)
        .ok_or_else(|| format!("{} does not understand #{sel}", vm.class_name(cls)))?;
    let holder = vm.method_holder(m);
    Ok((m, cls, holder))
}

fn source(s: &mut Session<'_>, arg: &str) -> Flow {
    let (m, cls, holder) = match method_named(s.vm, arg) {
        Ok(x) => x,
        Err(msg) => {
            s.warn(&format!("{msg} (usage: :source Class>>selector)"));
            return Flow::Continue;
        }
    };
    let vm = &*s.vm;
    let p = s.out;
    let sel = vm.string_value(vm.method_selector(m)).unwrap_or_default();
    let mut head = format!("{}>>{}", vm.class_name(holder), sel);
    if holder != cls {
        let _ = write!(head, " (inherited by {})", vm.class_name(cls));
    }
    let (file, line, text) = match vm.method_trailer(m, 0).as_oop() {
        Some(d) => {
            let file = vm.string_value(vm.heap.slot(d, debug::FILE));
            let lines = vm.heap.slot(d, debug::LINES);
            let line = lines
                .as_oop()
                .filter(|l| vm.heap.num_slots(*l) > 1)
                .and_then(|l| vm.heap.slot(l, 1).as_small_int());
            let text = vm.string_value(vm.heap.slot(d, debug::SOURCE));
            (file, line, text)
        }
        None => (None, None, None),
    };
    let place = match (file, line) {
        (Some(f), Some(l)) => format!("  \"{f}:{l}\""),
        (Some(f), None) => format!("  \"{f}\""),
        _ => String::new(),
    };
    let body = match text {
        Some(t) => dedent(&t),
        None => p.dim("(no source: a primitive or a method compiled without its text)"),
    };
    let out = format!("{}{}\n{}", p.heading(&head), p.dim(&place), body);
    s.say(&out);
    Flow::Continue
}

/// A method's text as stored: its first line starts at the pattern, the others keep the
/// indentation they had in the file. Shift those back by their common indentation, keeping
/// the body one level in.
fn dedent(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let rest: Vec<&str> = lines.collect();
    let last_indent = rest
        .last()
        .map(|l| l.len() - l.trim_start().len())
        .unwrap_or(0);
    let common = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0)
        .min(last_indent);
    let mut out = first.to_string();
    for l in rest {
        out.push('\n');
        out.push_str(l.get(common..).unwrap_or(l.trim_start()));
    }
    out
}

fn bytecode(s: &mut Session<'_>, arg: &str) -> Flow {
    if arg.is_empty() {
        s.warn("usage: :bytecode Class>>selector, or :bytecode EXPR");
        return Flow::Continue;
    }
    let method = if arg.contains(">>") {
        method_named(s.vm, arg).ok()
    } else {
        None
    };
    let listing = match method {
        Some((m, _, holder)) => {
            let sel =
                s.vm.string_value(s.vm.method_selector(m))
                    .unwrap_or_default();
            let title = format!("{}>>{}", s.vm.class_name(holder), sel);
            Ok(s.vm.listing_of(m, &title))
        }
        // Not a method: an expression, compiled as the REPL compiles its inputs.
        None => {
            s.vm.compile_doit(arg, "repl", true)
                .map(|m| s.vm.listing_of(m, "DoIt"))
        }
    };
    match listing {
        Ok(text) => s.say(text.trim_end()),
        Err(e) => s.report(&e),
    }
    Flow::Continue
}

fn gc(s: &mut Session<'_>, _: &str) -> Flow {
    let r = s.vm.collect_garbage(0);
    let st = s.vm.heap.stats().clone();
    let text = format!(
        "{} collections, {} collecting, {} KiB live, heap {} KiB{}",
        st.collections,
        human(st.total_time),
        st.live_bytes_after_last / 1024,
        s.vm.heap.capacity_bytes() / 1024,
        if r.is_err() { " (out of memory)" } else { "" }
    );
    s.say(&text);
    Flow::Continue
}

/// `:save FILE`: the whole system as an image, between inputs (no computation is suspended
/// in it; `Smalltalk saveImage:` in an input saves that input's computation too).
fn save(s: &mut Session<'_>, arg: &str) -> Flow {
    if arg.is_empty() {
        s.warn("usage: :save FILE");
        return Flow::Continue;
    }
    let saved = match s.vm.snapshot() {
        Ok(snapshot) => smalt_image::save(std::path::Path::new(arg), &snapshot, smalt::tag::NONE)
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot save: {e}")),
    };
    match saved {
        Ok(()) => {
            let text = s.out.good(&format!("saved {arg}"));
            s.say(&text);
        }
        Err(e) => {
            let p = s.err;
            s.warn(&p.error(&e));
        }
    }
    Flow::Continue
}

impl Session<'_> {
    /// Prints an error from running Smalltalk code (description and stack trace).
    pub fn report(&mut self, e: &VmError) {
        crate::cli::report(self.vm, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_alias_is_found_once() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            for n in std::iter::once(&c.name).chain(c.aliases) {
                assert!(seen.insert(*n), "{n} is taken twice");
                assert!(std::ptr::eq(find(n).unwrap(), c));
            }
        }
        assert!(find("nonsense").is_none());
    }

    #[test]
    fn method_text_is_dedented_to_its_pattern() {
        let t = "fib = (\n        ^self < 2\n            ifTrue: [ 1 ]\n    )";
        assert_eq!(
            dedent(t),
            "fib = (\n    ^self < 2\n        ifTrue: [ 1 ]\n)"
        );
        assert_eq!(dedent("+ x = ( ^1 )"), "+ x = ( ^1 )");
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(human(Duration::from_micros(812)), "812.0 µs");
        assert_eq!(human(Duration::from_micros(12_345)), "12.345 ms");
        assert_eq!(human(Duration::from_millis(2_410)), "2.410 s");
    }
}
