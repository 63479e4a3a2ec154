//! `smalt bench`: runs the benchmark programs under each tier (a named VM configuration) in one
//! process, interleaved, after warm-up runs, and reports per program the mean time per iteration
//! with its 95% confidence interval for each tier and the speed ratio between tiers with its
//! interval, then the geometric mean of the ratios. `--json` writes the raw samples, `--svg` a
//! chart, and `--compare OLD NEW` compares two `--json` files the way benchstat does.
//!
//! Every run checks its program's result (`innerBenchmarkLoop:` answers false at a wrong
//! result): a wrong result is an error, not a time.

mod chart;
mod programs;
pub mod stats;
pub mod tiers;

use crate::style::Palette;
use crate::tier_stats::Compiled;
use clap::Parser;
use programs::Suite;
use serde::{Deserialize, Serialize};
use smalt_gc::Word;
use smalt_vm::{Vm, VmError};
use stats::{Ratio, Summary};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tiers::Tier;

/// Run the benchmark programs and compare tiers.
#[derive(Parser, Debug)]
#[command(
    name = "smalt bench",
    about = "Run the benchmark programs (embedded from benches/som) under each tier and compare them",
    after_help = "Times are per iteration of a program's `benchmark` (each measured run does \
                  several, see --inner), shown as mean ± the half-width of the 95% confidence \
                  interval. Tiers run interleaved in one process, after warm-up runs."
)]
struct BenchArgs {
    /// Programs to run: class names of the embedded programs, or .som files of your own
    /// Benchmark subclasses; all embedded programs when none is named.
    #[arg(value_name = "PROGRAM")]
    programs: Vec<String>,

    /// The tiers to compare, comma-separated, the baseline first (default: every tier this
    /// build has).
    #[arg(long, value_name = "LIST")]
    tiers: Option<String>,

    /// Measured runs per program and tier.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: u32,

    /// Warm-up runs per program and tier (not measured).
    #[arg(long, default_value_t = 3, value_name = "N")]
    warmup: u32,

    /// Iterations of `benchmark` per run (default: as many as take about --target-ms in the
    /// baseline tier).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    inner: Option<u64>,

    /// The time one run should take when --inner is not given.
    #[arg(long, default_value_t = 100, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    target_ms: u64,

    /// What a run's time is: `wall` (elapsed time) or `cpu` (the CPU time of the thread
    /// running it, less disturbed by other processes on a busy machine).
    #[arg(long, value_enum, default_value_t = Clock::Wall)]
    clock: Clock,

    /// Write the raw samples as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write a chart (SVG): per program one bar per tier with its confidence interval.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,

    /// Compare two --json files (e.g. of two builds) instead of running anything (with --svg:
    /// a chart of old against new).
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with_all = ["programs", "tiers", "json", "list"])]
    compare: Option<Vec<PathBuf>>,

    /// List the programs and tiers and stop.
    #[arg(long)]
    list: bool,
}

/// How runs are timed.
#[derive(clap::ValueEnum, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Elapsed (wall-clock) time.
    #[default]
    Wall,
    /// CPU time of the thread that runs the program.
    Cpu,
}

impl Clock {
    /// The current reading of this clock.
    fn now(self) -> Duration {
        match self {
            Clock::Wall => {
                static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                START.get_or_init(Instant::now).elapsed()
            }
            Clock::Cpu => {
                use nix::time::{ClockId, clock_gettime};
                clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
                    .map(Duration::from)
                    .unwrap_or_default()
            }
        }
    }
}

/// The results of a run: what `--json` writes and `--compare` reads.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Results {
    /// The version of smalt that ran.
    pub smalt: String,
    /// The tiers, the baseline first.
    pub tiers: Vec<String>,
    /// Warm-up runs per program and tier.
    pub warmup: u32,
    /// Measured runs per program and tier.
    pub runs: u32,
    /// The clock the runs were timed with (files from before this field: wall).
    #[serde(default)]
    pub clock: Clock,
    /// Per program.
    pub programs: Vec<ProgramResult>,
}

/// One program's samples.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProgramResult {
    /// The program (its class name).
    pub name: String,
    /// Iterations of `benchmark` per run.
    pub inner: u64,
    /// Per tier: the seconds each measured run took, in the order they ran.
    pub seconds: BTreeMap<String, Vec<f64>>,
    /// Per JIT tier: what it compiled before and during the measured runs (files from before
    /// this field, and tiers without a JIT, have none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compiled: BTreeMap<String, Compilation>,
}

/// What a JIT tier compiled for one program: methods and blocks, and the thread CPU time spent
/// compiling them, before the measured runs (while the VM started, the program loaded, and the
/// warm-up runs ran) and during them. Compile time is not part of a run's time only when it
/// all happened before measuring.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct Compilation {
    /// Methods and blocks compiled before the measured runs.
    pub warmup_units: u64,
    /// Seconds spent compiling them.
    pub warmup_seconds: f64,
    /// Methods and blocks compiled during the measured runs.
    pub measured_units: u64,
    /// Seconds spent compiling them (part of the measured times).
    pub measured_seconds: f64,
}

impl ProgramResult {
    /// The summary of a tier's times per iteration.
    pub fn per_iteration(&self, tier: &str) -> Option<Summary> {
        let xs: Vec<f64> = self
            .seconds
            .get(tier)?
            .iter()
            .map(|s| s / self.inner as f64)
            .collect();
        (!xs.is_empty()).then(|| Summary::of(&xs))
    }
}

/// Why a benchmark run stopped.
enum Failure {
    /// The arguments or files were wrong; the message says how (exit status 2).
    Usage(String),
    /// A program failed under a tier: its error, with the Smalltalk stack (exit status 1).
    Smalltalk(String, VmError),
    /// A program computed a wrong result (exit status 1).
    WrongResult(String),
    /// Something else went wrong (exit status 1).
    Other(String),
}

/// Runs `smalt bench` with its arguments (`argv[0]` is `bench`); answers the exit status.
pub fn main(argv: Vec<String>) -> i32 {
    let args = match BenchArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let err = Palette::stderr();
    let fail = |msg: &str| {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            err.error(&format!("smalt bench: {msg}"))
        );
    };
    match run(&args) {
        Ok(()) => 0,
        Err(Failure::Usage(msg)) => {
            fail(&msg);
            2
        }
        Err(Failure::WrongResult(msg)) | Err(Failure::Other(msg)) => {
            fail(&msg);
            1
        }
        Err(Failure::Smalltalk(_, VmError::Interrupted { .. })) => {
            fail("interrupted");
            130
        }
        Err(Failure::Smalltalk(what, e)) => {
            fail(&what);
            crate::cli::report_error(&e).max(1)
        }
    }
}

fn run(args: &BenchArgs) -> Result<(), Failure> {
    if let Some(files) = &args.compare {
        return compare(&files[0], &files[1], args.svg.as_deref());
    }
    let tiers = tiers::select(args.tiers.as_deref()).map_err(Failure::Usage)?;
    // As the command line does before it makes a VM (idempotent): the JIT tiers need it.
    smalt_jit::install();
    let mut suite = Suite::embedded().map_err(Failure::Other)?;
    let mut names = Vec::new();
    for p in &args.programs {
        if p.ends_with(".som") {
            let class = suite.add_file(Path::new(p)).map_err(Failure::Usage)?;
            if !suite.is_benchmark(&class) {
                return Err(Failure::Usage(format!(
                    "{p}: {class} is not a Benchmark subclass (it needs `benchmark` and \
                     `verifyResult:`)"
                )));
            }
            names.push(class);
        } else {
            let all = suite.programs();
            match all.iter().find(|n| n.eq_ignore_ascii_case(p)) {
                Some(n) => names.push(n.clone()),
                None => {
                    return Err(Failure::Usage(format!(
                        "no program '{p}' (the programs are {})",
                        all.join(", ")
                    )));
                }
            }
        }
    }
    if names.is_empty() {
        names = suite.programs();
    }
    let out = Palette::stdout();
    if args.list {
        let mut text = format!("{}\n", out.heading("programs:"));
        for n in suite.programs() {
            let _ = writeln!(text, "  {n}");
        }
        let _ = writeln!(text, "{}", out.heading("tiers:"));
        for t in tiers::TIERS {
            let note = match t.setup {
                Ok(_) => String::new(),
                Err(why) => format!(" (not available: {why})"),
            };
            let _ = writeln!(text, "  {:<10} {}{}", t.name, t.about, out.dim(&note));
        }
        print_out(&text);
        return Ok(());
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt.clone());
    let tier_names: Vec<&str> = tiers.iter().map(|t| t.name).collect();
    print_out(&format!(
        "smalt bench: {} program{} under {}; {} run{} after {} warm-up run{} each\n\
         {}\n",
        names.len(),
        plural(names.len()),
        tier_names.join(", "),
        args.runs,
        plural(args.runs as usize),
        args.warmup,
        plural(args.warmup as usize),
        out.dim(&format!(
            "{} time per iteration: mean ± half-width of the 95% confidence interval",
            match args.clock {
                Clock::Wall => "wall",
                Clock::Cpu => "CPU",
            }
        )),
    ));
    let per_program = u64::from(args.warmup + args.runs) * tiers.len() as u64;
    let bar = indicatif::ProgressBar::new(per_program * names.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} runs  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let width = names.iter().map(String::len).max().unwrap_or(8).max(8);
    let mut results = Results {
        smalt: env!("CARGO_PKG_VERSION").to_string(),
        tiers: tier_names.iter().map(|s| s.to_string()).collect(),
        warmup: args.warmup,
        runs: args.runs,
        clock: args.clock,
        programs: Vec::new(),
    };
    for name in &names {
        bar.set_message(name.clone());
        let r = run_program(&suite, name, &tiers, args, &interrupt, &bar);
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                bar.finish_and_clear();
                return Err(e);
            }
        };
        let text = program_lines(&r, &results.tiers, width, out);
        bar.suspend(|| print_out(&text));
        results.programs.push(r);
    }
    bar.finish_and_clear();
    if results.tiers.len() > 1 {
        print_out(&geomean_lines(&results, out));
    }
    let compiled = compilation_lines(&results, out);
    if !compiled.is_empty() {
        let gap = if results.tiers.len() == 1 { "\n" } else { "" };
        print_out(&format!("{gap}{compiled}"));
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&results)
            .map_err(|e| Failure::Other(format!("cannot encode the results: {e}")))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure::Other(format!("{}: cannot write: {e}", path.display())))?;
    }
    if let Some(path) = &args.svg {
        chart::write_svg(&results, path).map_err(Failure::Other)?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = write!(o, "{text}");
    let _ = o.flush();
}

/// A VM of one tier with the suite loaded and an instance of the program.
struct Bench {
    vm: Vm,
    bench: smalt_gc::Handle,
}

impl Bench {
    fn new(
        suite: &Suite,
        name: &str,
        tier: &Tier,
        interrupt: &Arc<AtomicBool>,
    ) -> Result<Bench, Failure> {
        let what = || format!("{name} under {}: cannot start", tier.name);
        // From the default image, in the tier's mode, as the `smalt` command starts.
        let mut vm = smalt::new_vm(tiers::options(tier))
            .map_err(|e| Failure::Other(format!("{}: {e}", what())))?;
        vm.interrupt = interrupt.clone();
        suite
            .load_into(&mut vm)
            .map_err(|e| Failure::Smalltalk(what(), e))?;
        let cls = vm
            .global(name)
            .ok_or_else(|| Failure::Other(format!("{name}: no such class after loading")))?;
        let obj = vm
            .send_message(cls, "new", &[])
            .map_err(|e| Failure::Smalltalk(what(), e))?;
        let bench = vm.push_handle(obj);
        Ok(Bench { vm, bench })
    }

    /// One run of `inner` iterations, checked: its time on `clock`.
    fn run(
        &mut self,
        name: &str,
        tier: &str,
        inner: u64,
        clock: Clock,
    ) -> Result<Duration, Failure> {
        let n = Word::small_int(inner as i64);
        let obj = self.vm.handle(self.bench);
        let start = clock.now();
        let r = self.vm.send_message(obj, "innerBenchmarkLoop:", &[n]);
        let elapsed = clock.now().saturating_sub(start);
        match r {
            Ok(v) if v == self.vm.true_obj() => Ok(elapsed),
            Ok(_) => Err(Failure::WrongResult(format!(
                "{name} computed a wrong result under {tier} (verifyResult: answered false)"
            ))),
            Err(e) => Err(Failure::Smalltalk(format!("{name} failed under {tier}"), e)),
        }
    }
}

/// Iterations per run so that a run takes about `target`: measured on the baseline tier.
fn calibrate(
    b: &mut Bench,
    name: &str,
    tier: &str,
    target: Duration,
    clock: Clock,
) -> Result<u64, Failure> {
    let mut n = 1u64;
    loop {
        let t = b.run(name, tier, n, clock)?;
        if t >= target / 10 || n >= 1 << 24 {
            let per = t.as_secs_f64() / n as f64;
            return Ok(((target.as_secs_f64() / per).round() as u64).clamp(1, 100_000_000));
        }
        n *= 4;
    }
}

fn run_program(
    suite: &Suite,
    name: &str,
    tiers: &[&'static Tier],
    args: &BenchArgs,
    interrupt: &Arc<AtomicBool>,
    bar: &indicatif::ProgressBar,
) -> Result<ProgramResult, Failure> {
    let mut benches = tiers
        .iter()
        .map(|t| Bench::new(suite, name, t, interrupt))
        .collect::<Result<Vec<_>, _>>()?;
    let inner = match args.inner {
        Some(n) => n,
        None => calibrate(
            &mut benches[0],
            name,
            tiers[0].name,
            Duration::from_millis(args.target_ms),
            args.clock,
        )?,
    };
    let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); tiers.len()];
    // What each JIT tier compiled: from its VM's start to the first measured run, and then.
    let counters = |benches: &[Bench]| -> Vec<Option<Compiled>> {
        benches.iter().map(|b| Compiled::of(&b.vm)).collect()
    };
    let mut at_measuring = counters(&benches);
    for round in 0..(args.warmup + args.runs) as usize {
        if round == args.warmup as usize {
            at_measuring = counters(&benches);
        }
        // Interleaved, and each round starts with the next tier, so that no tier always runs
        // right after another.
        for k in 0..tiers.len() {
            let t = (round + k) % tiers.len();
            let d = benches[t].run(name, tiers[t].name, inner, args.clock)?;
            if round >= args.warmup as usize {
                seconds[t].push(d.as_secs_f64());
            }
            bar.inc(1);
        }
    }
    let at_end = counters(&benches);
    let compiled = tiers
        .iter()
        .zip(at_measuring.iter().zip(&at_end))
        .filter_map(|(t, (m, e))| {
            let (m, e) = ((*m)?, (*e)?);
            let during = e.since(m);
            Some((
                t.name.to_string(),
                Compilation {
                    warmup_units: m.units,
                    warmup_seconds: m.time.as_secs_f64(),
                    measured_units: during.units,
                    measured_seconds: during.time.as_secs_f64(),
                },
            ))
        })
        .collect();
    Ok(ProgramResult {
        name: name.to_string(),
        inner,
        seconds: tiers
            .iter()
            .map(|t| t.name.to_string())
            .zip(seconds)
            .collect(),
        compiled,
    })
}

/// A time in seconds with its interval, in the unit that suits the time.
fn time_with_ci(s: &Summary) -> String {
    let (scale, unit) = if s.mean >= 1.0 {
        (1.0, "s")
    } else if s.mean >= 1e-3 {
        (1e3, "ms")
    } else {
        (1e6, "µs")
    };
    let ci = s.ci95();
    let ci = if ci.is_nan() {
        "?".to_string()
    } else {
        format!("{:.3}", ci * scale)
    };
    format!("{:.3} {unit} ± {ci}", s.mean * scale)
}

/// `jit ran 4.21 ± 0.09 times faster than interp` (or slower; `~` when the interval holds 1).
fn ratio_sentence(r: &Ratio, fast: &str, base: &str, p: Palette) -> String {
    let ci = |c: f64, v: f64| {
        if c.is_nan() {
            " (one run: no interval)".to_string()
        } else {
            format!(" ± {:.2}", c.min(v * 100.0))
        }
    };
    if r.within_noise() {
        return p.dim(&format!(
            "~ {fast} and {base} ran equally fast within the noise ({fast} ran {:.2}{} times as fast)",
            r.value,
            ci(r.ci, r.value)
        ));
    }
    if r.value >= 1.0 {
        p.good(&format!(
            "{fast} ran {:.2}{} times faster than {base}",
            r.value,
            ci(r.ci, r.value)
        ))
    } else {
        // The interval of 1/r, by the same delta method: ci(1/r) = ci(r) / r².
        let inv = 1.0 / r.value;
        p.warn(&format!(
            "{fast} ran {:.2}{} times slower than {base}",
            inv,
            ci(r.ci / (r.value * r.value), inv)
        ))
    }
}

fn program_lines(r: &ProgramResult, tiers: &[String], width: usize, p: Palette) -> String {
    let mut out = String::new();
    let base = r.per_iteration(&tiers[0]);
    // The times line up whatever the tiers are called (`jit-eager`).
    let tier_width = tiers
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    for (k, tier) in tiers.iter().enumerate() {
        let Some(s) = r.per_iteration(tier) else {
            continue;
        };
        let name = if k == 0 { r.name.as_str() } else { "" };
        let _ = write!(
            out,
            "{}  {:<tier_width$} {:>24}",
            p.heading(&format!("{name:<width$}")),
            tier,
            time_with_ci(&s)
        );
        if k == 0 {
            let runs = format!(
                "({} iteration{} per run)",
                r.inner,
                plural(r.inner as usize)
            );
            let _ = write!(out, "   {}", p.dim(&runs));
        } else if let Some(b) = &base {
            let _ = write!(
                out,
                "   {}",
                ratio_sentence(&Ratio::of(b, &s), tier, &tiers[0], p)
            );
        }
        if let Some(c) = r.compiled.get(tier) {
            let _ = write!(out, "   {}", compilation_note(c, p));
        }
        out.push('\n');
    }
    out
}

/// `[41 compiled in 23.1 ms during warm-up]`, and what compiled while measuring.
fn compilation_note(c: &Compilation, p: Palette) -> String {
    let warm = p.dim(&format!(
        "[{} compiled in {} before measuring",
        c.warmup_units,
        crate::repl::human(Duration::from_secs_f64(c.warmup_seconds))
    ));
    if c.measured_units == 0 {
        return format!("{warm}{}", p.dim("]"));
    }
    format!(
        "{warm}{} {}{}",
        p.dim(";"),
        p.warn(&format!(
            "{} while measuring, {}",
            c.measured_units,
            crate::repl::human(Duration::from_secs_f64(c.measured_seconds))
        )),
        p.dim("]")
    )
}

/// Per JIT tier, what it compiled over all programs.
fn compilation_lines(results: &Results, p: Palette) -> String {
    let mut out = String::new();
    for tier in &results.tiers {
        let cs: Vec<&Compilation> = results
            .programs
            .iter()
            .filter_map(|r| r.compiled.get(tier))
            .collect();
        if cs.is_empty() {
            continue;
        }
        let units: u64 = cs.iter().map(|c| c.warmup_units + c.measured_units).sum();
        let secs: f64 = cs
            .iter()
            .map(|c| c.warmup_seconds + c.measured_seconds)
            .sum();
        let (m_units, m_secs): (u64, f64) = (
            cs.iter().map(|c| c.measured_units).sum(),
            cs.iter().map(|c| c.measured_seconds).sum(),
        );
        let when = if m_units == 0 {
            "all before the measured runs (not in the times)".to_string()
        } else {
            format!(
                "{m_units} of them ({}) during the measured runs (in the times)",
                crate::repl::human(Duration::from_secs_f64(m_secs))
            )
        };
        let _ = writeln!(
            out,
            "{}",
            p.dim(&format!(
                "{tier} compiled {} in {} (thread CPU time), {when}",
                crate::tier_stats::units(units as usize),
                crate::repl::human(Duration::from_secs_f64(secs))
            ))
        );
    }
    out
}

fn geomean_lines(results: &Results, p: Palette) -> String {
    let mut out = String::from("\n");
    let base = &results.tiers[0];
    for tier in &results.tiers[1..] {
        let ratios: Vec<Ratio> = results
            .programs
            .iter()
            .filter_map(|r| Some(Ratio::of(&r.per_iteration(base)?, &r.per_iteration(tier)?)))
            .collect();
        if let Some(g) = Ratio::geomean(&ratios) {
            let _ = writeln!(
                out,
                "{} {}",
                p.heading("geomean:"),
                ratio_sentence(&g, tier, base, p)
            );
        }
    }
    out
}

fn read_results(path: &Path) -> Result<Results, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "{}: not the JSON of smalt bench --json: {e}",
            path.display()
        ))
    })
}

/// `--compare OLD NEW`: per program and tier both ran, the change of the mean time per
/// iteration with its interval, `~` where it is within the noise; then the geomean.
fn compare(old_path: &Path, new_path: &Path, svg: Option<&Path>) -> Result<(), Failure> {
    let old = read_results(old_path)?;
    let new = read_results(new_path)?;
    let p = Palette::stdout();
    if old.clock != new.clock {
        return Err(Failure::Usage(format!(
            "the files were timed with different clocks ({:?} and {:?}): run both with the same --clock",
            old.clock, new.clock
        )));
    }
    let common_tiers: Vec<&String> = new.tiers.iter().filter(|t| old.tiers.contains(t)).collect();
    if common_tiers.is_empty() {
        return Err(Failure::Usage(format!(
            "the files share no tier ({} ran {}, {} ran {})",
            old_path.display(),
            old.tiers.join(","),
            new_path.display(),
            new.tiers.join(",")
        )));
    }
    let label = |prog: &str, tier: &str| {
        if common_tiers.len() > 1 {
            format!("{prog} ({tier})")
        } else {
            prog.to_string()
        }
    };
    let mut rows = Vec::new();
    // For the chart: each row's old and new samples as two "tiers".
    let mut chart = Results {
        smalt: new.smalt.clone(),
        tiers: vec!["old".into(), "new".into()],
        warmup: new.warmup,
        runs: new.runs,
        clock: new.clock,
        programs: Vec::new(),
    };
    for np in &new.programs {
        let Some(op) = old.programs.iter().find(|o| o.name == np.name) else {
            continue;
        };
        for tier in &common_tiers {
            let (Some(o), Some(n)) = (op.per_iteration(tier), np.per_iteration(tier)) else {
                continue;
            };
            rows.push((label(&np.name, tier), o, n, Ratio::of(&n, &o)));
            let per_iteration = |r: &ProgramResult| -> Vec<f64> {
                r.seconds[tier.as_str()]
                    .iter()
                    .map(|s| s / r.inner as f64)
                    .collect()
            };
            chart.programs.push(ProgramResult {
                name: label(&np.name, tier),
                inner: 1,
                seconds: [
                    ("old".to_string(), per_iteration(op)),
                    ("new".to_string(), per_iteration(np)),
                ]
                .into_iter()
                .collect(),
                compiled: BTreeMap::new(),
            });
        }
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(8).max(8);
    let mut out = format!(
        "{}\n{}\n\n{:<width$}  {:>24}  {:>24}  {}\n",
        p.heading(&format!(
            "smalt bench --compare {} {}",
            old_path.display(),
            new_path.display()
        )),
        p.dim("time per iteration: mean ± half-width of the 95% confidence interval"),
        "program",
        "old",
        "new",
        "change"
    );
    for (name, o, n, r) in &rows {
        let _ = writeln!(
            out,
            "{name:<width$}  {:>24}  {:>24}  {}",
            time_with_ci(o),
            time_with_ci(n),
            change(r, p)
        );
    }
    if let Some(g) = Ratio::geomean(&rows.iter().map(|r| r.3).collect::<Vec<_>>()) {
        let _ = writeln!(
            out,
            "{:<width$}  {:>24}  {:>24}  {}",
            "geomean",
            "",
            "",
            change(&g, p)
        );
    }
    let only = |a: &Results, b: &Results| -> Vec<String> {
        a.programs
            .iter()
            .filter(|x| !b.programs.iter().any(|y| y.name == x.name))
            .map(|x| x.name.clone())
            .collect()
    };
    for (names, file) in [(only(&old, &new), old_path), (only(&new, &old), new_path)] {
        if !names.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                p.dim(&format!("only in {}: {}", file.display(), names.join(", ")))
            );
        }
    }
    print_out(&out);
    if let Some(path) = svg {
        chart::write_svg(&chart, path).map_err(Failure::Other)?;
    }
    Ok(())
}

/// The change new/old as a percentage with its interval: `-10.9% ± 1.2%`, or `~ (+0.4% ±
/// 1.2%)` within the noise.
fn change(r: &Ratio, p: Palette) -> String {
    let pct = (r.value - 1.0) * 100.0;
    let ci = if r.ci.is_nan() {
        "?".to_string()
    } else {
        format!("{:.1}%", r.ci * 100.0)
    };
    let text = format!("{pct:+.1}% ± {ci}");
    if r.within_noise() {
        p.dim(&format!("~ ({text})"))
    } else if pct < 0.0 {
        p.good(&text)
    } else {
        p.warn(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(name: &str, inner: u64, tiers: &[(&str, &[f64])]) -> ProgramResult {
        ProgramResult {
            name: name.into(),
            inner,
            seconds: tiers
                .iter()
                .map(|(t, xs)| (t.to_string(), xs.to_vec()))
                .collect(),
            compiled: BTreeMap::new(),
        }
    }

    #[test]
    fn times_are_per_iteration() {
        let r = program("Sieve", 10, &[("interp", &[0.010, 0.012, 0.011])]);
        let s = r.per_iteration("interp").unwrap();
        assert!((s.mean - 0.0011).abs() < 1e-12);
        assert!(r.per_iteration("jit").is_none());
        assert_eq!(
            time_with_ci(&Summary::of(&[0.0011, 0.0011])),
            "1.100 ms ± 0.000"
        );
    }

    #[test]
    fn ratios_read_like_hyperfine() {
        let p = Palette::new(false);
        let slow = Summary::of(&[4.0, 4.1, 3.9, 4.0]);
        let fast = Summary::of(&[1.0, 1.01, 0.99, 1.0]);
        let s = ratio_sentence(&Ratio::of(&slow, &fast), "jit", "interp", p);
        assert!(
            s.starts_with("jit ran 4.00 ± 0.") && s.ends_with("times faster than interp"),
            "{s}"
        );
        let s = ratio_sentence(&Ratio::of(&fast, &slow), "jit", "interp", p);
        assert!(
            s.starts_with("jit ran 4.00 ± 0.") && s.ends_with("times slower than interp"),
            "{s}"
        );
        let s = ratio_sentence(&Ratio::of(&slow, &slow), "jit", "interp", p);
        assert!(s.starts_with("~ jit and interp"), "{s}");
    }

    #[test]
    fn report_lines_show_each_tier_and_the_ratio() {
        let p = Palette::new(false);
        let tiers = vec!["interp".to_string(), "jit".to_string()];
        let r = program(
            "Sieve",
            1,
            &[
                ("interp", &[4.0, 4.1, 3.9, 4.0]),
                ("jit", &[1.0, 1.01, 0.99, 1.0]),
            ],
        );
        let text = program_lines(&r, &tiers, 8, p);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("Sieve     interp") && lines[0].contains("4.000 s ± "));
        assert!(lines[1].contains("jit ran 4.00 ± "), "{text}");
        let results = Results {
            smalt: "0".into(),
            tiers,
            warmup: 0,
            runs: 4,
            clock: Clock::Wall,
            programs: vec![r],
        };
        assert!(geomean_lines(&results, p).contains("geomean: jit ran 4.00 ± "));

        // A longer tier name moves the times column for every tier alike.
        let tiers: Vec<String> = ["interp", "jit", "jit-eager"].map(String::from).into();
        let r = program(
            "Sieve",
            1,
            &[
                ("interp", &[4.0, 4.1]),
                ("jit", &[1.0, 1.01]),
                ("jit-eager", &[1.0, 1.02]),
            ],
        );
        let text = program_lines(&r, &tiers, 8, p);
        let ends: Vec<usize> = text.lines().map(|l| l.find(" s ± ").unwrap()).collect();
        assert_eq!(ends, [ends[0]; 3], "{text}");
    }

    #[test]
    fn compile_counts_show_per_program_and_in_all() {
        let p = Palette::new(false);
        let tiers = vec!["interp".to_string(), "jit".to_string()];
        let mut r = program(
            "Sieve",
            1,
            &[("interp", &[4.0, 4.1, 3.9]), ("jit", &[1.0, 1.01, 0.99])],
        );
        r.compiled.insert(
            "jit".into(),
            Compilation {
                warmup_units: 41,
                warmup_seconds: 0.0231,
                measured_units: 0,
                measured_seconds: 0.0,
            },
        );
        let text = program_lines(&r, &tiers, 8, p);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .ends_with("[41 compiled in 23.100 ms before measuring]"),
            "{text}"
        );
        assert!(!text.lines().next().unwrap().contains("compiled"), "{text}");
        let mut late = r.clone();
        late.name = "Towers".into();
        late.compiled.get_mut("jit").unwrap().measured_units = 2;
        late.compiled.get_mut("jit").unwrap().measured_seconds = 0.001;
        let text = program_lines(&late, &tiers, 8, p);
        assert!(text.contains("; 2 while measuring, 1.000 ms]"), "{text}");
        let results = Results {
            smalt: "0".into(),
            tiers,
            warmup: 1,
            runs: 3,
            clock: Clock::Wall,
            programs: vec![r, late],
        };
        let all = compilation_lines(&results, p);
        assert_eq!(
            all,
            "jit compiled 84 methods/blocks in 47.200 ms (thread CPU time), 2 of them \
             (1.000 ms) during the measured runs (in the times)\n"
        );
        // Old files have no compile counts; they read and compare as before.
        let json = r#"{"name":"Sieve","inner":1,"seconds":{"interp":[1.0]}}"#;
        let old: ProgramResult = serde_json::from_str(json).unwrap();
        assert!(old.compiled.is_empty());
        let text = serde_json::to_string(&old).unwrap();
        assert!(!text.contains("compiled"), "{text}");
    }

    #[test]
    fn changes_mark_the_noise() {
        let p = Palette::new(false);
        let a = Summary::of(&[1.0, 1.1, 0.9, 1.0]);
        let b = Summary::of(&[1.02, 1.08, 0.95, 1.0]);
        assert!(change(&Ratio::of(&b, &a), p).starts_with("~ (+"));
        let c = Summary::of(&[0.5, 0.51, 0.49, 0.5]);
        assert!(change(&Ratio::of(&c, &a), p).starts_with("-50.0% ± "));
    }
}
