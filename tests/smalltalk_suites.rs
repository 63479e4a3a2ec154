//! Runs every Smalltalk test suite of `tests/smalltalk/` in a fresh VM resumed from the
//! embedded default image (as `smalt` starts), once normally and once under GC stress, and
//! fails with the suite's report if any test fails.

use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;

mod common;
use common::Capture;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smalltalk")
}

/// Runs `TestRunner run: <suite>`; answers the report, as `Err` if a test did not pass.
fn run_suite(suite: &str, gc_stress: u32, verify_heap: bool) -> Result<String, String> {
    let options = VmOptions {
        class_path: vec![suite_dir()],
        verify_heap,
        ..VmOptions::default()
    };
    let mut vm = smalt::new_vm(options).map_err(|e| format!("cannot start the VM: {e}"))?;
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    vm.heap.set_stress(gc_stress);
    let collections_before = vm.heap.stats().collections;
    let started = std::time::Instant::now();
    let result = vm.evaluate(&format!("TestRunner run: {suite}"), "suite", false);
    let elapsed = started.elapsed();
    let passed = matches!(&result, Ok(w) if *w == vm.true_obj());
    let mut report = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    if let Err(e) = &result {
        report.push_str(&format!("the suite stopped: {e}\n"));
    }
    let summary = report.lines().last().unwrap_or("(no report)");
    let collections = vm.heap.stats().collections - collections_before;
    eprintln!("{summary} [gc stress {gc_stress}: {collections} collections, {elapsed:.2?}]");
    if passed { Ok(report) } else { Err(report) }
}

fn check(suite: &str, gc_stress: u32) {
    check_with(suite, gc_stress, false);
}

fn check_with(suite: &str, gc_stress: u32, verify_heap: bool) {
    if let Err(report) = run_suite(suite, gc_stress, verify_heap) {
        panic!("{suite} failed (gc stress {gc_stress}):\n{report}");
    }
}

/// The stress runs collect at every safepoint (every allocation), each collection copying the
/// whole class library: all suites together take about 35 s this way in a debug build on two
/// cores.
const STRESS: u32 = 1;

macro_rules! suites {
    ($($suite:ident),* $(,)?) => {
        /// Every suite, run normally.
        #[allow(non_snake_case)]
        mod normal {
            $( #[test] fn $suite() { super::check(stringify!($suite), 0); } )*
        }
        /// Every suite, under GC stress.
        #[allow(non_snake_case)]
        mod stress {
            $( #[test] fn $suite() { super::check(stringify!($suite), super::STRESS); } )*
        }
    };
}

/// The embedded default image holds the world a VM compiling the class library makes: the
/// same objects, classes, methods and identity hashes (a stale image would differ).
#[test]
fn the_default_image_is_the_compiled_class_library() {
    let mut compiled = Vm::new(VmOptions::default()).expect("the class library compiles");
    compiled.collect_garbage(0).expect("a collection");
    let resumed = smalt::new_vm(VmOptions::default()).expect("the default image loads");
    assert!(
        smalt_image::world::world(&compiled) == smalt_image::world::world(&resumed),
        "the default image differs from the compiled class library"
    );
}

/// A suite in a VM that compiled the class library itself (the path the build takes to make
/// the default image).
#[test]
fn a_suite_in_a_vm_compiled_from_source() {
    let options = VmOptions {
        class_path: vec![suite_dir()],
        ..VmOptions::default()
    };
    let mut vm = Vm::new(options).expect("the class library compiles");
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    let result = vm.evaluate("TestRunner run: IntegerTest", "suite", false);
    assert!(
        matches!(&result, Ok(w) if *w == vm.true_obj()),
        "{}",
        out.text()
    );
}

/// A small suite collecting at every safepoint and verifying the whole heap after each
/// collection.
#[test]
fn symbol_suite_collecting_and_verifying_at_every_safepoint() {
    check_with("SymbolTest", 1, true);
}

suites!(
    IntegerTest,
    LargeIntegerTest,
    DoubleTest,
    CharacterTest,
    StringTest,
    SymbolTest,
    ArrayTest,
    ByteArrayTest,
    OrderedCollectionTest,
    VectorTest,
    SortedCollectionTest,
    IntervalTest,
    SetTest,
    DictionaryTest,
    BagTest,
    AssociationTest,
    StreamTest,
    BooleanTest,
    ObjectTest,
    BlockTest,
    ClassTest,
    SystemTest,
    TestCaseTest,
    ExceptionTest,
    ContextTest,
    AbstractClassesTest,
    ReadOnlyTest,
    InliningTest,
    SomProtocolTest,
    // The classics, part two.
    PointTest,
    RectangleTest,
    FractionTest,
    RandomTest,
    DurationTest,
    DateTest,
    TimeTest,
    DateAndTimeTest,
    ReflectionTest,
    PrintingTest,
);
