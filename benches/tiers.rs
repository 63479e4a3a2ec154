//! The classic benchmark programs of `benches/som` under both tiers, the interpreter and the
//! JIT, in one run.
//!
//! First a steady-state comparison: for each program a VM per tier runs the program's inner
//! loop alternately (so that both see the same machine load), measuring thread CPU time; after
//! warm-up runs (the JIT compiles what is hot in them) the median of the measured runs is the
//! program's time in that tier. The table gives per-program ratios and their geometric mean,
//! the first run of each tier (compile time included) and the JIT's compile statistics.
//! Then criterion measures each program in each tier (`interp/NAME`, `jit/NAME`).
//!
//! Every run checks the program's result (`innerBenchmarkLoop:` answers whether it verified).
//!
//! ```sh
//! cargo bench --bench tiers                 # the table, then criterion
//! cargo bench --bench tiers -- --table      # the table only
//! ```

use criterion::Criterion;
use smalt_gc::{Handle, Word};
use smalt_vm::tier::JitMode;
use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;
use std::time::Duration;

/// (program, inner iterations per run).
const PROGRAMS: &[(&str, i64)] = &[
    ("Sieve", 10),
    ("Queens", 10),
    ("Towers", 3),
    ("Permute", 5),
    ("List", 5),
    ("Storage", 5),
    ("Mandelbrot", 1),
    ("NBody", 3),
    ("Richards", 1),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/som")
}

/// A VM in `jit` mode with an instance of benchmark `name` in a handle.
fn setup(name: &str, jit: JitMode) -> (Vm, Handle) {
    smalt_jit::install();
    let mut vm = Vm::new(VmOptions {
        class_path: vec![dir()],
        jit,
        ..VmOptions::default()
    })
    .expect("the VM starts");
    let cls = vm
        .load_class_file(&dir().join(format!("{name}.som")))
        .expect("the benchmark loads");
    let obj = vm.send_message(cls, "new", &[]).expect("an instance");
    let h = vm.push_handle(obj);
    (vm, h)
}

/// One run of the program's inner loop; panics on a wrong result.
fn run(vm: &mut Vm, h: Handle, inner: i64, name: &str) {
    let ok = vm
        .send_message(
            vm.handle(h),
            "innerBenchmarkLoop:",
            &[Word::small_int(inner)],
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(ok, vm.true_obj(), "{name} computed a wrong result");
}

fn timed(vm: &mut Vm, h: Handle, inner: i64, name: &str) -> Duration {
    let t = smalt_jit::os::thread_cpu_time();
    run(vm, h, inner, name);
    smalt_jit::os::thread_cpu_time() - t
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn table(warmup: usize, measured: usize) {
    println!(
        "{:<11} {:>13} {:>13} {:>8} {:>13} {:>13}",
        "program", "interp", "jit", "ratio", "interp 1st", "jit 1st"
    );
    let mut log_sum = 0.0;
    let mut reports = Vec::new();
    for &(name, inner) in PROGRAMS {
        let (mut vi, hi) = setup(name, JitMode::Off);
        let (mut vj, hj) = setup(name, JitMode::On);
        let first_i = timed(&mut vi, hi, inner, name);
        let first_j = timed(&mut vj, hj, inner, name);
        for _ in 1..warmup {
            run(&mut vi, hi, inner, name);
            run(&mut vj, hj, inner, name);
        }
        let (mut ti, mut tj) = (Vec::new(), Vec::new());
        for _ in 0..measured {
            ti.push(timed(&mut vi, hi, inner, name));
            tj.push(timed(&mut vj, hj, inner, name));
        }
        let (mi, mj) = (median(ti), median(tj));
        let ratio = mi.as_secs_f64() / mj.as_secs_f64();
        log_sum += ratio.ln();
        println!(
            "{name:<11} {:>13.2?} {:>13.2?} {ratio:>7.2}x {first_i:>13.2?} {first_j:>13.2?}",
            mi, mj
        );
        if let Some(r) = vj.tier_report() {
            reports.push((name, r));
        }
    }
    println!(
        "geometric mean of the ratios: {:.2}x",
        (log_sum / PROGRAMS.len() as f64).exp()
    );
    for (name, r) in reports {
        for line in r.lines().take(3) {
            println!("{name:<11} {line}");
        }
    }
}

fn criterion(c: &mut Criterion) {
    for &(name, inner) in PROGRAMS {
        for (tier, mode) in [("interp", JitMode::Off), ("jit", JitMode::On)] {
            let (mut vm, h) = setup(name, mode);
            for _ in 0..3 {
                run(&mut vm, h, inner, name);
            }
            c.bench_function(&format!("{tier}/{name}"), |b| {
                b.iter(|| run(&mut vm, h, inner, name))
            });
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    if !benching {
        // `cargo test --benches`: one quick pass checking every program in both tiers.
        table(2, 1);
        return;
    }
    table(6, 9);
    if args.iter().any(|a| a == "--table") {
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion(&mut c);
    c.final_summary();
}
