//! Build-time products of the `smalt` binary:
//!
//! * **the default image** (`$OUT_DIR/default.image`, embedded by `src/lib.rs`): the class
//!   library (`stdlib/*.som`) compiled by the VM itself, so that starting smalt loads an image
//!   instead of compiling source. `smalt-vm` and `smalt-image` are build-dependencies, so the
//!   image always matches the VM it is embedded in, and Cargo reruns this script whenever one
//!   of them is rebuilt: changing a `stdlib/*.som` file rebuilds `smalt-stdlib` (which includes
//!   the files), and so the image;
//! * **the benchmark programs** of `benches/som/` for `smalt bench` (`bench_programs.rs`):
//!   every `*.som` file there, so a new benchmark is picked up by adding its file.

use smalt_vm::{Vm, VmOptions};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    default_image(&out);
    bench_programs(&out);
}

fn default_image(out: &Path) {
    let mut vm = Vm::new(VmOptions::default())
        .unwrap_or_else(|e| panic!("the class library does not load: {e}"));
    let snapshot = vm
        .snapshot()
        .unwrap_or_else(|e| panic!("cannot snapshot the class library: {e}"));
    let bytes = smalt_image::encode(&snapshot, 0);
    std::fs::write(out.join("default.image"), bytes)
        .unwrap_or_else(|e| panic!("cannot write the default image: {e}"));
}

fn bench_programs(out: &Path) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/som");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "som"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut text = String::from(
        "/// (file name, source) of every file of benches/som, sorted by name.\n\
         pub static FILES: &[(&str, &str)] = &[\n",
    );
    for p in &files {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let _ = writeln!(
            text,
            "    ({name:?}, include_str!({:?})),",
            p.display().to_string()
        );
    }
    text.push_str("];\n");
    std::fs::write(out.join("bench_programs.rs"), text).expect("write bench_programs.rs");
}
