//! Command-line parsing and the top-level drivers (program, expression, REPL).

use crate::output::{ProgramOutput, error_output, finish_output};
use anyhow::bail;
use clap::Parser;
use smalt_vm::{Vm, VmError, VmOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// A Smalltalk-80 virtual machine that runs SOM programs.
#[derive(Parser, Debug)]
#[command(name = "smalt", version, about, long_about = None)]
struct Args {
    /// Directories to load classes from, separated by ':' (also -cp).
    #[arg(long = "classpath", value_name = "DIRS")]
    classpath: Option<String>,

    /// Evaluate an expression and print its value.
    #[arg(short = 'e', long = "eval", value_name = "EXPR")]
    eval: Option<String>,

    /// Collect garbage at every N-th safepoint (default 1 when given without a value).
    #[arg(long = "gc-stress", value_name = "N", num_args = 0..=1, require_equals = true, default_missing_value = "1")]
    gc_stress: Option<u32>,

    /// Verify the whole heap after every collection (slow; for debugging the VM).
    #[arg(long = "verify-heap")]
    verify_heap: bool,

    /// Warn about legal but suspicious code as classes load (a variable that shadows an outer
    /// variable or an instance variable), with file:line:column.
    #[arg(long = "warn")]
    warn: bool,

    /// Largest heap size, e.g. 512M or 2G.
    #[arg(long = "max-heap", value_name = "SIZE", value_parser = crate::heap_limit::parse_size)]
    max_heap: Option<usize>,

    /// Largest VM stack in words (deeper recursion raises a StackOverflow error).
    #[arg(long = "max-stack", value_name = "WORDS", hide = true)]
    max_stack: Option<usize>,

    /// Start from this image (saved by Smalltalk saveImage: or the REPL's :save) instead of
    /// the default one; a computation suspended in saveImage: continues first.
    #[arg(long = "image", value_name = "FILE")]
    image: Option<PathBuf>,

    /// Print the bytecode of a method, e.g. 'Integer>>fib' or 'Foo class>>new', then run.
    #[arg(long = "print-bytecode", value_name = "CLASS>>SELECTOR")]
    print_bytecode: Vec<String>,

    /// The native-code tier: off (interpreter only), on (compile hot methods), eager (compile
    /// every method before its first run).
    #[arg(long = "jit", value_name = "MODE", default_value = "on")]
    jit: smalt_vm::tier::JitMode,

    /// Compile a method or block after this many invocations or loop back-edges.
    #[arg(long = "jit-threshold", value_name = "N", default_value_t = smalt_vm::tier::DEFAULT_THRESHOLD)]
    jit_threshold: u32,

    /// Print the Cranelift IR and machine-code size of a method when it is compiled, e.g.
    /// 'Integer>>fib' (blocks in it too); with --jit=eager it is compiled at its first call.
    #[arg(long = "print-ir", value_name = "CLASS>>SELECTOR")]
    print_ir: Vec<String>,

    /// Print JIT statistics when the program ends: methods compiled, compile time, code
    /// size, send sites by cache state with their misses and (counted) native hits.
    #[arg(long = "jit-stats")]
    jit_stats: bool,

    /// The program: a .som file or a class name on the class path, then its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    program: Vec<String>,
}

/// Runs the command; answers the exit status.
pub fn main(argv: Vec<String>) -> i32 {
    // SOM's `-cp DIR` is spelled `--classpath` for clap.
    if argv.get(1).is_some_and(|a| a == "bench") {
        return crate::bench::main(argv[1..].to_vec());
    }
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| if a == "-cp" { "--classpath".into() } else { a })
        .collect();
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            error_output(format_args!("smalt: {e:#}\n"));
            1
        }
    }
}

fn options(args: &Args) -> VmOptions {
    let mut o = VmOptions::default();
    if let Some(cp) = &args.classpath {
        o.class_path = cp
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    if let Some(n) = args.gc_stress {
        o.gc_stress = n;
    }
    o.verify_heap = args.verify_heap;
    o.warnings = args.warn;
    o.jit = args.jit;
    o.jit_threshold = args.jit_threshold;
    o.print_ir = args.print_ir.clone();
    o.jit_stats = args.jit_stats;
    if let Some(words) = args.max_stack {
        o.max_stack_words = words.max(1024);
    }
    if let Some(max) = args.max_heap {
        o.heap.max_bytes = max;
        o.heap.initial_bytes = o.heap.initial_bytes.min(max);
    }
    o
}

fn run(args: Args) -> anyhow::Result<i32> {
    let mut opts = options(&args);
    let program = args.program.first().cloned();
    if let Some(p) = &program
        && p.ends_with(".som")
    {
        let dir = Path::new(p)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        opts.class_path.push(dir.to_path_buf());
    }
    let started = match crate::heap_limit::start_vm(opts, args.image.as_deref()) {
        Ok(s) => s,
        Err(e) => bail!("{e}"),
    };
    let (mut vm, writer) = (started.vm, started.writer);
    // The REPL on a terminal shows what a program prints as it prints it (stdout is
    // line-buffered); elsewhere output is buffered, and a failed write or final flush is
    // reported (see output.rs).
    let interactive = args.eval.is_none() && program.is_none() && std::io::stdout().is_terminal();
    vm.out = if interactive {
        Box::new(std::io::stdout())
    } else {
        Box::new(ProgramOutput::new())
    };
    vm.interrupt = install_interrupt_handler();
    let code = run_in(&mut vm, &writer, started.tag, &args, program);
    if args.jit_stats
        && let Some(report) = vm.tier_report()
    {
        let _ = vm.out.flush();
        eprint!("{report}");
    }
    code
}

/// Runs what the command line asks for in a started VM.
fn run_in(
    vm: &mut Vm,
    writer: &smalt_image::FileWriter,
    tag: u32,
    args: &Args,
    program: Option<String>,
) -> anyhow::Result<i32> {
    // The class path decides (SOM): its files for library classes load before anything runs.
    if let Err(e) = vm.apply_class_path() {
        let status = report(vm, &e);
        return Ok(finish_output(&mut vm.out, status));
    }
    if let Some(code) = resume(vm, tag) {
        return Ok(finish_output(&mut vm.out, code));
    }
    let status = if let Some(expr) = &args.eval {
        writer.tag.set(smalt::tag::EVAL);
        let status = eval_and_print(vm, expr);
        interrupted_at_the_end(vm, status)
    } else {
        match program {
            Some(p) => {
                writer.tag.set(smalt::tag::PROGRAM);
                let status = run_program(vm, &p, &args.program[1..], &args.print_bytecode)?;
                interrupted_at_the_end(vm, status)
            }
            None => {
                writer.tag.set(smalt::tag::REPL);
                crate::repl::run(vm)?
            }
        }
    };
    Ok(finish_output(&mut vm.out, status))
}

/// A Ctrl-C that came after the program's last poll point (during its last primitive, say)
/// still makes the run end as interrupted: a SIGINT is never lost.
fn interrupted_at_the_end(vm: &mut Vm, status: i32) -> i32 {
    if status == 0 && vm.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
        return report(
            vm,
            &VmError::Interrupted {
                trace: String::new(),
            },
        );
    }
    status
}

/// Continues the computation an image suspended in `saveImage:`, finishing its run as the
/// command that ran it would have (`tag`): the value of a REPL input or `-e` expression is
/// printed. Answers the exit status if smalt should stop now (`system exit:`, or an error in
/// anything but a REPL input).
fn resume(vm: &mut Vm, tag: u32) -> Option<i32> {
    let result = vm.resume()?;
    let prints = tag == smalt::tag::REPL || tag == smalt::tag::EVAL;
    let result = result.and_then(|v| {
        if prints {
            let s = vm.send_message(v, "printString", &[])?;
            let text = vm.string_value(s).unwrap_or_default();
            let _ = writeln!(vm.out, "{text}");
        }
        Ok(())
    });
    let _ = vm.out.flush();
    match result {
        Ok(()) => None,
        Err(VmError::Exit(code)) => Some(code),
        Err(e) => {
            let code = report(vm, &e);
            (tag != smalt::tag::REPL).then_some(code)
        }
    }
}

fn install_interrupt_handler() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone());
    flag
}

/// Prints an error that stopped Smalltalk code; answers the exit status. This is where every
/// Smalltalk error is printed (programs, `-e`, the REPL): the description, then the Smalltalk
/// stack, coloured when stderr is a terminal. A failed write to stderr is ignored.
pub(crate) fn report(vm: &mut Vm, e: &VmError) -> i32 {
    crate::output::before_report();
    let _ = vm.out.flush();
    report_error(e)
}

/// Prints an error that stopped Smalltalk code (see [`report`]) when the VM's own output needs
/// no flushing; answers the exit status.
pub(crate) fn report_error(e: &VmError) -> i32 {
    let p = crate::style::Palette::stderr();
    let mut err = std::io::stderr().lock();
    match e {
        VmError::Exit(code) => *code,
        VmError::Unhandled { description, trace } => {
            let _ = writeln!(err, "{}", p.error(description));
            write_trace(&mut err, &p, trace);
            1
        }
        // The reader of a pipe went away (`smalt prog | head`): stop quietly, with the status
        // of a process ended by SIGPIPE, as command-line tools do.
        VmError::Load(_) if crate::output::stdout_pipe_closed() => 128 + 13,
        VmError::Load(msg) => {
            let _ = writeln!(err, "{}", p.error(msg));
            1
        }
        VmError::OutOfMemory => {
            let _ = writeln!(
                err,
                "{}",
                p.error("smalt: out of memory (raise the limit with --max-heap)")
            );
            1
        }
        VmError::Interrupted { trace } => {
            let _ = writeln!(err, "{}", p.error("interrupted"));
            write_trace(&mut err, &p, trace);
            130
        }
        VmError::Unwound => {
            let _ = writeln!(err, "smalt: internal error: an unwinding escaped the VM");
            70
        }
    }
}

/// The Smalltalk stack of an error report, under its heading (nothing for an empty trace).
fn write_trace(err: &mut impl Write, p: &crate::style::Palette, trace: &str) {
    if trace.is_empty() {
        return;
    }
    let _ = writeln!(
        err,
        "{}",
        p.heading("Smalltalk stack (most recent call last):")
    );
    for line in trace.lines() {
        let _ = writeln!(err, "{}", p.trace_line(line));
    }
}

fn eval_and_print(vm: &mut Vm, expr: &str) -> i32 {
    let result = vm
        .evaluate(expr, "-e", true)
        .and_then(|v| vm.send_message(v, "printString", &[]))
        .map(|s| vm.string_value(s).unwrap_or_default());
    match result {
        Ok(text) => {
            // A failed write shows when the output is flushed at the end.
            let _ = writeln!(vm.out, "{text}");
            0
        }
        Err(e) => report(vm, &e),
    }
}

fn run_program(
    vm: &mut Vm,
    program: &str,
    rest: &[String],
    listings: &[String],
) -> anyhow::Result<i32> {
    let class_name = if program.ends_with(".som") {
        let path = Path::new(program);
        let cls = vm.load_class_file(path);
        match cls {
            Ok(c) => vm.class_name(c),
            Err(e) => return Ok(report(vm, &e)),
        }
    } else {
        program.to_string()
    };
    for spec in listings {
        match vm.method_listing(spec) {
            Ok(text) => {
                let _ = vm.out.write_all(text.as_bytes());
            }
            Err(e) => error_output(format_args!("smalt: --print-bytecode {spec}: {e}\n")),
        }
    }
    let mut argv = vec![class_name];
    argv.extend(rest.iter().cloned());
    vm.arguments = argv.clone();
    let result = (|| {
        let array = vm.new_string_array(&argv)?;
        let system = vm.special(smalt_vm::vm::sp::SYSTEM);
        vm.send_message(system, "initialize:", &[array])
    })();
    Ok(match result {
        Ok(_) => 0,
        Err(e) => report(vm, &e),
    })
}
