//! Interpreter benchmarks: a send-heavy, a block-heavy and an allocation-heavy Smalltalk program.
//! Each checks its result, so a fast wrong answer cannot pass for speed. Throughput is reported
//! in the unit that matters (sends, block evaluations, objects allocated).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smalt_gc::{Handle, Word};
use smalt_vm::{Vm, VmOptions};
use std::path::Path;

/// A VM with the benchmark class loaded and an instance of it kept in a handle (object
/// references held by Rust code must live in a root across sends: collections move objects).
fn vm_with(class: &str) -> (Vm, Handle) {
    let mut vm = Vm::new(VmOptions::default()).expect("VM starts");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/smalltalk/{class}.som"));
    let cls = vm.load_class_file(&path).expect("benchmark loads");
    let obj = vm.send_message(cls, "new", &[]).expect("instance");
    let h = vm.push_handle(obj);
    (vm, h)
}

fn int(vm: &Vm, w: Word) -> i64 {
    w.as_small_int()
        .unwrap_or_else(|| panic!("not an integer: {}", vm.describe(w)))
}

fn fib(c: &mut Criterion) {
    let (mut vm, obj) = vm_with("BenchFib");
    let n = Word::small_int(25);
    let calls = vm.send_message(vm.handle(obj), "calls:", &[n]).unwrap();
    let calls = int(&vm, calls);
    let mut g = c.benchmark_group("interpreter");
    g.throughput(Throughput::Elements(calls as u64));
    g.bench_function("fib 25 (sends)", |b| {
        b.iter(|| {
            let r = vm.send_message(vm.handle(obj), "fib:", &[n]).unwrap();
            assert_eq!(r.as_small_int(), Some(75025));
        })
    });
    g.finish();
}

fn blocks(c: &mut Criterion) {
    let (mut vm, obj) = vm_with("BenchBlocks");
    vm.send_message(vm.handle(obj), "setUp:", &[Word::small_int(1000)])
        .unwrap();
    let k = 100;
    let mut g = c.benchmark_group("interpreter");
    g.throughput(Throughput::Elements(1000 * k as u64));
    g.bench_function("block loop (block evaluations)", |b| {
        b.iter(|| {
            let r = vm
                .send_message(vm.handle(obj), "sumTimes:", &[Word::small_int(k)])
                .unwrap();
            assert_eq!(r.as_small_int(), Some(500_500 * k));
        })
    });
    g.finish();
}

fn alloc(c: &mut Criterion) {
    let (mut vm, obj) = vm_with("BenchAlloc");
    let (n, d) = (10, 12);
    let nodes = (1i64 << (d + 1)) - 1;
    let mut g = c.benchmark_group("interpreter");
    g.throughput(Throughput::Elements((n * nodes) as u64));
    g.bench_function("tree allocation (objects)", |b| {
        b.iter(|| {
            let r = vm
                .send_message(
                    vm.handle(obj),
                    "trees:depth:",
                    &[Word::small_int(n), Word::small_int(d)],
                )
                .unwrap();
            assert_eq!(r.as_small_int(), Some(n * nodes));
        })
    });
    g.finish();
}

criterion_group!(benches, fib, blocks, alloc);
criterion_main!(benches);
