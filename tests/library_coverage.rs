//! Every public method of the class library is exercised by the Smalltalk suites.
//!
//! Runs all suites of `tests/smalltalk/` in one VM, then walks the method side table: a method
//! of a class-library file that never ran (its invocation counter is zero) is uncovered.
//! Primitive methods whose primitive succeeds never open a frame, so for them the test only
//! asks that a test file sends the selector.

use smalt_vm::objects::{FLAG_BLOCK, debug};
use smalt_vm::{Vm, VmOptions};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The files of the class library that the suites of this directory cover (the exception
/// classes and Context are the lead's, with their own suites: ExceptionTest, ContextTest).
const COVERED_FILES: &[&str] = &[
    "Object",
    "Nil",
    "Boolean",
    "True",
    "False",
    "Magnitude",
    "Number",
    "Integer",
    "Double",
    "Character",
    "Association",
    "Pair",
    "Message",
    "Class",
    "Metaclass",
    "Method",
    "Block",
    "Collection",
    "SequenceableCollection",
    "ArrayedCollection",
    "Array",
    "String",
    "Symbol",
    "ByteArray",
    "OrderedCollection",
    "SortedCollection",
    "Vector",
    "Interval",
    "HashedCollection",
    "Set",
    "IdentitySet",
    "Dictionary",
    "IdentityDictionary",
    "Hashtable",
    "Bag",
    "Stream",
    "PositionableStream",
    "ReadStream",
    "WriteStream",
    "ReadWriteStream",
    "Transcript",
    "SystemDictionary",
    "System",
    "NotFound",
    "CollectionIsEmpty",
    "TestFailure",
    "TestCase",
    "TestResult",
    "TestRunner",
    "Point",
    "Rectangle",
    "Fraction",
    "NumberClassics",
    "IntegerClassics",
    "DoubleClassics",
    "Random",
    "CollectionClassics",
    "Duration",
    "Date",
    "Time",
    "DateAndTime",
    "ClassDescriptions",
    "ClassReflection",
    "ObjectReflection",
    "ArrayReflection",
    "SystemReflection",
];

/// Methods that the suites cannot run in-process (they end the process or wait for input).
const EXEMPT: &[&str] = &[
    "System>>exit:",
    "System>>exit",
    "System>>initialize:",
    "System>>printStackTrace",
    "System>>gcStress:",
    "System>>unhandledError:context:",
    "TestCase>>run",
];

/// The class-library sources: primitive methods that the library itself sends (helpers like
/// `primIncludesKey:`) count as covered when the method that sends them runs.
fn library_text() -> String {
    smalt_stdlib::FILES
        .iter()
        .map(|(_, source)| *source)
        .collect()
}

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smalltalk")
}

fn suites() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(suite_dir())
        .expect("tests/smalltalk")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".som")?;
            stem.ends_with("Test").then(|| stem.to_string())
        })
        .collect();
    names.sort();
    names
}

/// All test sources, for the selectors of primitive methods.
fn test_text() -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(suite_dir())
        .expect("tests/smalltalk")
        .flatten()
    {
        text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    text
}

/// Whether the test text sends `selector` (each keyword of it, in order, somewhere).
fn sent_in(text: &str, selector: &str) -> bool {
    if !selector.ends_with(':') {
        return text.contains(selector);
    }
    let parts: Vec<&str> = selector.split_inclusive(':').collect();
    text.match_indices(parts[0]).any(|(i, _)| {
        let mut rest = &text[i..];
        parts.iter().all(|p| match rest.find(p) {
            Some(j) => {
                rest = &rest[j + p.len()..];
                true
            }
            None => false,
        })
    })
}

#[test]
fn every_library_method_runs_in_some_suite() {
    let options = VmOptions {
        class_path: vec![suite_dir()],
        ..VmOptions::default()
    };
    let mut vm = Vm::new(options).expect("VM");
    vm.out = Box::new(std::io::sink());
    vm.err = Box::new(std::io::sink());
    // The suites through the runner's whole protocol (the output goes nowhere).
    let all = suites().join(". ");
    vm.evaluate(
        &format!("TestRunner runAll: {{ {all} }}. AssociationTest run"),
        "coverage",
        false,
    )
    .unwrap_or_else(|e| panic!("running the suites: {e}"));
    let text = test_text() + &library_text();
    let mut uncovered = BTreeSet::new();
    for info in vm.methods.infos.iter().skip(1) {
        let m = info.method;
        if m.as_oop().is_none() || info.flags & FLAG_BLOCK != 0 || info.invocations > 0 {
            continue;
        }
        let Some(dbg) = vm.method_trailer(m, 0).as_oop() else {
            continue;
        };
        let file = vm
            .string_value(vm.heap.slot(dbg, debug::FILE))
            .unwrap_or_default();
        let Some(stem) = file
            .strip_prefix("stdlib/")
            .and_then(|f| f.strip_suffix(".som"))
        else {
            continue;
        };
        if !COVERED_FILES.contains(&stem) {
            continue;
        }
        let selector = vm.string_value(vm.method_selector(m)).unwrap_or_default();
        let holder = vm.class_name(vm.method_holder(m));
        let name = format!("{holder}>>{selector}");
        if EXEMPT.contains(&name.as_str()) {
            continue;
        }
        if info.primitive != 0 && sent_in(&text, &selector) {
            continue;
        }
        uncovered.insert(name);
    }
    assert!(
        uncovered.is_empty(),
        "{} class-library methods never ran in the suites:\n  {}",
        uncovered.len(),
        uncovered.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}
