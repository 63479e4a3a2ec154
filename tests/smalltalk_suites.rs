//! Runs every Smalltalk test suite of `tests/smalltalk/` in a fresh VM, once normally and once
//! under GC stress, and fails with the suite's report if any test fails.

use smalt_vm::{Vm, VmOptions};
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

/// Output captured from the VM.
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smalltalk")
}

/// Runs `TestRunner run: <suite>`; answers the report, as `Err` if a test did not pass.
fn run_suite(suite: &str, gc_stress: u32) -> Result<String, String> {
    let options = VmOptions {
        class_path: vec![suite_dir()],
        ..VmOptions::default()
    };
    let mut vm = Vm::new(options).map_err(|e| format!("cannot start the VM: {e}"))?;
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    vm.heap.set_stress(gc_stress);
    let started = std::time::Instant::now();
    let result = vm.evaluate(&format!("TestRunner run: {suite}"), "suite", false);
    let elapsed = started.elapsed();
    let passed = matches!(&result, Ok(w) if *w == vm.true_obj());
    let mut report = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    if let Err(e) = &result {
        report.push_str(&format!("the suite stopped: {e}\n"));
    }
    let summary = report.lines().last().unwrap_or("(no report)");
    eprintln!("{summary} [gc stress {gc_stress}, {elapsed:.2?}]");
    if passed { Ok(report) } else { Err(report) }
}

fn check(suite: &str, gc_stress: u32) {
    if let Err(report) = run_suite(suite, gc_stress) {
        panic!("{suite} failed (gc stress {gc_stress}):\n{report}");
    }
}

/// Collect at every STRESS-th safepoint in the stress runs.
const STRESS: u32 = 50;

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

suites!(IntegerTest, LargeIntegerTest, DoubleTest, CharacterTest, StringTest, SymbolTest, ArrayTest, ByteArrayTest, OrderedCollectionTest, VectorTest, SortedCollectionTest, IntervalTest, SetTest, DictionaryTest, BagTest, AssociationTest, StreamTest, BooleanTest, ObjectTest, BlockTest);
