//! The benchmark programs of `benches/som/`, one criterion benchmark each: the classics (Sieve,
//! Queens, Towers, Permute, List, Storage, Mandelbrot, NBody, Richards) and the later ones at
//! their benchmark size (Bounce, DeltaBlue, Json, Havlak, CD). A VM with the class path set to
//! `benches/som` runs `Name new innerBenchmarkLoop: 1`, which checks its own result, so a fast
//! wrong answer cannot pass for speed.
//!
//! `benches/compare.sh REV` runs these against an older revision in one run (interleaved) and
//! prints the ratios.

use criterion::{Criterion, criterion_group, criterion_main};
use smalt_gc::Handle;
use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;
use std::time::Duration;

const BENCHMARKS: &[&str] = &[
    "Sieve",
    "Queens",
    "Towers",
    "Permute",
    "List",
    "Storage",
    "Mandelbrot",
    "NBody",
    "Richards",
    "Bounce",
    "DeltaBlue",
    "Json",
    "Havlak",
    "CD",
];

/// A VM that has loaded benchmark `name`, and an instance of it kept in a handle (object
/// references held by Rust code must live in a root across sends: collections move objects).
fn instance(name: &str) -> (Vm, Handle) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/som");
    let mut vm = Vm::new(VmOptions {
        class_path: vec![dir],
        ..VmOptions::default()
    })
    .expect("the VM starts");
    let bench = vm
        .evaluate(&format!("{name} new"), "bench", false)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let h = vm.push_handle(bench);
    (vm, h)
}

fn classics(c: &mut Criterion) {
    let mut g = c.benchmark_group("som");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    for name in BENCHMARKS {
        let (mut vm, bench) = instance(name);
        let one = smalt_gc::Word::small_int(1);
        g.bench_function(*name, |b| {
            b.iter(|| {
                let ok = vm
                    .send_message(vm.handle(bench), "innerBenchmarkLoop:", &[one])
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(ok, vm.true_obj(), "{name} computed a wrong result");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, classics);
criterion_main!(benches);
