//! Image benchmarks: starting a VM from the embedded default image (what every `smalt` start
//! does), loading an image file, saving one, and, for comparison, compiling the class library
//! from source (what every start did before images). Each checks the VM it made works.

use criterion::{Criterion, criterion_group, criterion_main};
use smalt_gc::Word;
use smalt_vm::{Vm, VmOptions};

fn check(vm: &mut Vm) {
    let v = vm.evaluate("3 + 4", "bench", false).expect("runs");
    assert_eq!(v, Word::small_int(7));
}

fn start(c: &mut Criterion) {
    let mut g = c.benchmark_group("image");
    g.bench_function("start from the default image", |b| {
        b.iter(|| {
            let mut vm = smalt::new_vm(VmOptions::default()).expect("loads");
            check(&mut vm);
        })
    });
    let path = std::env::temp_dir().join(format!("smalt-bench-{}.image", std::process::id()));
    let mut vm = smalt::new_vm(VmOptions::default()).expect("loads");
    smalt_image::save(&path, &vm.snapshot().expect("snapshot"), 0).expect("saves");
    g.bench_function("load an image file (all checks)", |b| {
        b.iter(|| {
            let mut l = smalt_image::load_file(&path, VmOptions::default()).expect("loads");
            check(&mut l.vm);
        })
    });
    g.bench_function("save an image file (collect, write, sync, rename)", |b| {
        b.iter(|| {
            let s = vm.snapshot().expect("snapshot");
            smalt_image::save(&path, &s, 0).expect("saves");
        })
    });
    g.sample_size(10);
    g.bench_function("compile the class library (no image)", |b| {
        b.iter(|| {
            let mut vm = Vm::new(VmOptions::default()).expect("compiles");
            check(&mut vm);
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, start);
criterion_main!(benches);
