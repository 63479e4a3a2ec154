//! SOM-style programs under `tests/som/<name>/`, each run as `smalt -cp <class path> Main`
//! would run it, normally and under GC stress, and compared with `expected.txt` in its folder
//! (the exact output, errors included).
//!
//! * `scoping`: shadowing (inlined blocks four levels deep, loops, instance variables) and
//!   assignment to method, block and loop arguments.
//! * `replace`: a program folder with its own `Vector.som`, `Pair.som` and `TestCase.som`;
//!   the class path decides, and the library's own code keeps its classes.
//! * `kernel`: class files for kernel classes (`Integer.som`, `Object.som`) add methods.
//! * `doubles`: every Double edge case, SOM selectors (IEEE 754) beside Smalltalk-80 ones.
//! * `unknown_global`: `unknownGlobal:` goes to the receiver of the method, in blocks too.
//! * `som_layout`: a class-path folder laid out like SOM's core library (kernel classes
//!   declaring their primitives SOM style, SOM-style Vector/Set/Dictionary replacing smalt's).
//! * `som_core`: SOM's own core library (SOM-st/SOM, `Smalltalk/`) ahead of smalt's. It is
//!   not part of this repository: the test looks for it in `$SOM_CORE`, then in
//!   `shared/som-core/Smalltalk` beside or above the checkout, and says so when it is absent.

use smalt_vm::{Vm, VmOptions};
use std::path::{Path, PathBuf};

mod common;
use common::Capture;

fn program_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/som")
        .join(name)
}

/// Runs `Main` with `class_path` (the program's folder last); answers everything it printed
/// on stdout and stderr, and how a failure ended.
fn run(class_path: Vec<PathBuf>, gc_stress: u32) -> String {
    let out = Capture::default();
    let mut vm = match Vm::new(VmOptions {
        class_path,
        ..VmOptions::default()
    }) {
        Ok(vm) => vm,
        Err(e) => return format!("cannot start: {e}\n"),
    };
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    vm.heap.set_stress(gc_stress);
    let result = (|| {
        let args = vm.new_string_array(&["Main"])?;
        let system = vm.special(smalt_vm::vm::sp::SYSTEM);
        vm.send_message(system, "initialize:", &[args])
    })();
    let mut text = out.text();
    if let Err(e) = result {
        text.push_str(&format!("stopped: {e}\n"));
    }
    text
}

fn check(name: &str, front: &[PathBuf], gc_stress: u32) {
    let dir = program_dir(name);
    let expected = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap_or_else(|e| panic!("{name}/expected.txt: {e}"));
    let mut class_path = front.to_vec();
    class_path.push(dir);
    let got = run(class_path, gc_stress);
    if got != expected {
        panic!(
            "{name} (gc stress {gc_stress}): output differs\n--- expected\n{expected}--- got\n{got}"
        );
    }
}

macro_rules! programs {
    ($($name:ident),* $(,)?) => {
        mod normal {
            $( #[test] fn $name() { super::check(stringify!($name), &[], 0); } )*
        }
        mod stress {
            $( #[test] fn $name() { super::check(stringify!($name), &[], 1); } )*
        }
    };
}

programs!(
    scoping,
    replace,
    kernel,
    som_layout,
    unknown_global,
    doubles
);

/// SOM's core library, if this machine has it.
fn som_core() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SOM_CORE") {
        return Some(PathBuf::from(dir));
    }
    let mut dir: Option<&Path> = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join("shared/som-core/Smalltalk");
        if candidate.join("Object.som").is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

#[test]
fn som_core_library() {
    let Some(core) = som_core() else {
        eprintln!(
            "SOM's core library was not found (set SOM_CORE to its Smalltalk/ folder): \
             som_core_library checked nothing"
        );
        return;
    };
    check("som_core", std::slice::from_ref(&core), 0);
    check("som_core", &[core], 1);
}
