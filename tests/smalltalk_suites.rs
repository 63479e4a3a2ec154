//! Runs every Smalltalk test suite of `tests/smalltalk/` in a fresh VM resumed from the
//! embedded default image (as `smalt` starts), in every tier (the interpreter, the eager JIT,
//! the JIT with a low threshold), each normally and under GC stress, and fails with the
//! suite's report if any test fails.

use smalt_vm::tier::JitMode;
use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;

mod common;
use common::Capture;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smalltalk")
}

/// A tier to run a suite in.
#[derive(Clone, Copy, Debug)]
enum Tier {
    Interpreter,
    /// Every method and block compiled before its first run.
    Eager,
    /// Compiled after a few invocations or loop iterations: mixes interpreted and native
    /// frames, and enters loops through on-stack replacement.
    Hot,
}

/// Runs `TestRunner run: <suite>`; answers the report, as `Err` if a test did not pass.
fn run_suite(suite: &str, tier: Tier, gc_stress: u32, verify_heap: bool) -> Result<String, String> {
    smalt_jit::install();
    let (jit, jit_threshold) = match tier {
        Tier::Interpreter => (JitMode::Off, 0),
        Tier::Eager => (JitMode::Eager, 1),
        Tier::Hot => (JitMode::On, 3),
    };
    let options = VmOptions {
        class_path: vec![suite_dir()],
        verify_heap,
        jit,
        jit_threshold,
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
    eprintln!(
        "{summary} [{tier:?}, gc stress {gc_stress}: {collections} collections, {elapsed:.2?}]"
    );
    if passed { Ok(report) } else { Err(report) }
}

fn check(suite: &str, tier: Tier, gc_stress: u32) {
    check_with(suite, tier, gc_stress, false);
}

fn check_with(suite: &str, tier: Tier, gc_stress: u32, verify_heap: bool) {
    if let Err(report) = run_suite(suite, tier, gc_stress, verify_heap) {
        panic!("{suite} failed ({tier:?}, gc stress {gc_stress}):\n{report}");
    }
}

/// The stress runs collect at every safepoint (every allocation), each collection copying the
/// whole class library: all suites together take about 35 s this way in a debug build on two
/// cores.
const STRESS: u32 = 1;

macro_rules! suites {
    (stressed in eager: $($a:ident),* ; stressed in hot: $($b:ident),* $(,)?) => {
        suites!(@all $($a,)* $($b),*);
        /// Half of the suites under GC stress with the eager JIT (the other half with the hot
        /// JIT: every suite is stressed in one JIT tier, which keeps CI within its budget).
        #[allow(non_snake_case)]
        mod eager_stress {
            use super::Tier::*;
            $( #[test] fn $a() { super::check(stringify!($a), Eager, super::STRESS); } )*
        }
        /// The other half under GC stress with the hot JIT.
        #[allow(non_snake_case)]
        mod hot_stress {
            use super::Tier::*;
            $( #[test] fn $b() { super::check(stringify!($b), Hot, super::STRESS); } )*
        }
    };
    (@all $($suite:ident),* $(,)?) => {
        /// Every suite, run normally.
        #[allow(non_snake_case)]
        mod normal {
            use super::Tier::*;
            $( #[test] fn $suite() { super::check(stringify!($suite), Interpreter, 0); } )*
        }
        /// Every suite, under GC stress.
        #[allow(non_snake_case)]
        mod stress {
            use super::Tier::*;
            $( #[test] fn $suite() { super::check(stringify!($suite), Interpreter, super::STRESS); } )*
        }
        /// Every suite, every method compiled before its first run.
        #[allow(non_snake_case)]
        mod eager {
            use super::Tier::*;
            $( #[test] fn $suite() { super::check(stringify!($suite), Eager, 0); } )*
        }
        /// Every suite, methods compiled once hot (a low threshold).
        #[allow(non_snake_case)]
        mod hot {
            use super::Tier::*;
            $( #[test] fn $suite() { super::check(stringify!($suite), Hot, 0); } )*
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
    check_with("SymbolTest", Tier::Interpreter, 1, true);
}

/// The same with every method compiled.
#[test]
fn symbol_suite_eager_collecting_and_verifying_at_every_safepoint() {
    check_with("SymbolTest", Tier::Eager, 1, true);
}

suites!(
    stressed in eager:
    IntegerTest,
    DoubleTest,
    StringTest,
    ArrayTest,
    OrderedCollectionTest,
    SortedCollectionTest,
    SetTest,
    BagTest,
    StreamTest,
    ObjectTest,
    ClassTest,
    TestCaseTest,
    ContextTest,
    ReadOnlyTest,
    SomProtocolTest,
    PointTest,
    RectangleTest,
    FractionTest,
    RandomTest,
    DurationTest;
    stressed in hot:
    LargeIntegerTest,
    CharacterTest,
    SymbolTest,
    ByteArrayTest,
    VectorTest,
    IntervalTest,
    DictionaryTest,
    AssociationTest,
    BooleanTest,
    BlockTest,
    SystemTest,
    ExceptionTest,
    AbstractClassesTest,
    InliningTest,
    // The classics, part two.
    DateTest,
    TimeTest,
    DateAndTimeTest,
    ReflectionTest,
    PrintingTest,
);
