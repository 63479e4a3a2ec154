//! The benchmark programs of `benches/som/` compute the right answers (each checks its own
//! result in `verifyResult:`); the timing runs are `smalt -cp benches/som BenchRunner NAME N`.
//!
//! The first programs have one size, small enough to run here. The later ones (Bounce,
//! DeltaBlue, Json, Havlak, CD) have a benchmark size (`new`, about 50–100 ms in a release
//! build, several seconds in a debug build) and a quick one (`tiny`), each with its own
//! expected result: a debug build runs the quick sizes, a release build
//! (`cargo test --release --test som_benchmarks`) the benchmark sizes too.

use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;

/// Programs with a single size.
const FIXED_SIZE: &[&str] = &[
    "Sieve",
    "Queens",
    "Towers",
    "Permute",
    "List",
    "Storage",
    "Mandelbrot",
    "NBody",
    "Richards",
];

/// Programs with a benchmark size (`new`) and a quick size (`tiny`).
const SIZED: &[&str] = &["Bounce", "DeltaBlue", "Json", "Havlak", "CD"];

fn vm() -> Vm {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/som");
    Vm::new(VmOptions {
        class_path: vec![dir],
        ..VmOptions::default()
    })
    .unwrap()
}

/// Runs one iteration of the program made by `maker` (`new` or `tiny`) and asserts that it
/// verified its result.
fn run_and_verify(vm: &mut Vm, name: &str, maker: &str) {
    let src = format!("{name} {maker} innerBenchmarkLoop: 1");
    let ok = vm
        .evaluate(&src, "test", false)
        .unwrap_or_else(|e| panic!("{name} {maker}: {e}"));
    assert_eq!(ok, vm.true_obj(), "{name} {maker} computed a wrong result");
}

#[test]
fn every_benchmark_verifies_its_result() {
    let mut vm = vm();
    for name in FIXED_SIZE {
        run_and_verify(&mut vm, name, "new");
    }
    for name in SIZED {
        run_and_verify(&mut vm, name, "tiny");
    }
}

/// The later programs at their quick sizes with a collection at every 100th safepoint: what
/// the collector moves must not change what they compute. (Each also passes collecting at
/// every safepoint, `smalt --gc-stress`, which takes seconds per program in a release build.)
#[test]
fn sized_benchmarks_verify_under_gc_stress() {
    let mut vm = vm();
    vm.heap.set_stress(100);
    let before = vm.heap.stats().collections;
    for name in SIZED {
        run_and_verify(&mut vm, name, "tiny");
    }
    assert!(
        vm.heap.stats().collections - before > 100,
        "the stress runs collected"
    );
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "the benchmark sizes take seconds in a debug build; run with --release"
)]
fn benchmark_sizes_verify_their_results() {
    let mut vm = vm();
    for name in SIZED {
        run_and_verify(&mut vm, name, "new");
    }
}

/// `NAME tiny verifyResult: RESULT`.
fn run_verify(vm: &mut Vm, name: &str, result: &str) -> bool {
    let src = format!("{name} tiny verifyResult: ({result})");
    let ok = vm
        .evaluate(&src, "test", false)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    ok == vm.true_obj()
}

/// A check that cannot fail checks nothing: each sized program accepts its right result at
/// the tiny size and rejects results that are off in any one figure.
#[test]
fn a_wrong_result_is_rejected() {
    let mut vm = vm();
    let json = |depth: u32, lookups: u32, rejections: u32| {
        format!(
            "Array with: #(80 86 137 362 33 23 6 476 4305 3446970 614 {depth}) \
             with: {lookups} with: {rejections}"
        )
    };
    let havlak = |loops: u32, irreducible: u32, differing: u32, edges: u32| {
        format!(
            "Array with: #({loops} {irreducible} 96 5 118 5) with: {differing} \
             with: 99 with: {edges}"
        )
    };
    let cd = |collisions: u32, key_sum: u64, aircraft: u32, black_height: i32| {
        format!("#({collisions} {key_sum} 446 21 {aircraft} {black_height})")
    };
    let cases = [
        (
            "Bounce",
            "#(1331 48786)".to_string(),
            vec!["#(1330 48786)".to_string(), "#(1331 48787)".to_string()],
        ),
        (
            "DeltaBlue",
            "#(0 67952)".to_string(),
            vec!["#(1 67952)".to_string(), "#(0 67951)".to_string()],
        ),
        (
            "Json",
            json(7, 0, 0),
            vec![json(6, 0, 0), json(7, 1, 0), json(7, 0, 1)],
        ),
        (
            "Havlak",
            havlak(36, 2, 0, 157),
            vec![
                havlak(35, 2, 0, 157),
                havlak(36, 1, 0, 157),
                havlak(36, 2, 1, 157),
                havlak(36, 2, 0, 158),
            ],
        ),
        (
            "CD",
            cd(197, 177301970, 20, 3),
            vec![
                cd(196, 177301970, 20, 3),
                cd(197, 177301971, 20, 3),
                cd(197, 177301970, 19, 3),
                cd(197, 177301970, 20, -1),
            ],
        ),
    ];
    for (name, right, wrongs) in cases {
        assert!(
            run_verify(&mut vm, name, &right),
            "{name} rejected its right result {right}"
        );
        for wrong in wrongs {
            assert!(
                !run_verify(&mut vm, name, &wrong),
                "{name} accepted the wrong result {wrong}"
            );
        }
    }
}
