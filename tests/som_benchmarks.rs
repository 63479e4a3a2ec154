//! The benchmark programs of `benches/som/` compute the right answers (each checks its own
//! result in `verifyResult:`); the timing runs are `smalt -cp benches/som BenchRunner NAME N`.

use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;

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
];

#[test]
fn every_benchmark_verifies_its_result() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/som");
    let mut vm = Vm::new(VmOptions {
        class_path: vec![dir],
        ..VmOptions::default()
    })
    .unwrap();
    for name in BENCHMARKS {
        let src = format!("{name} new innerBenchmarkLoop: 1");
        let ok = vm
            .evaluate(&src, "test", false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok, vm.true_obj(), "{name} computed a wrong result");
    }
}
