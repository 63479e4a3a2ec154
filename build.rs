//! Compiles the class library (`stdlib/*.som`) into the default image that the `smalt` binary
//! embeds (`src/lib.rs`), so that starting smalt loads an image instead of compiling source.
//!
//! The build-dependencies are the VM and the image writer themselves, so the image always
//! matches the VM it is embedded in. Cargo reruns this script whenever one of them is rebuilt:
//! changing a `stdlib/*.som` file rebuilds `smalt-stdlib` (it includes the files), which
//! rebuilds the image.

use smalt_vm::{Vm, VmOptions};
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut vm = Vm::new(VmOptions::default())
        .unwrap_or_else(|e| panic!("the class library does not load: {e}"));
    let snapshot = vm
        .snapshot()
        .unwrap_or_else(|e| panic!("cannot snapshot the class library: {e}"));
    let bytes = smalt_image::encode(&snapshot, 0);
    std::fs::write(out.join("default.image"), bytes)
        .unwrap_or_else(|e| panic!("cannot write the default image: {e}"));
}
