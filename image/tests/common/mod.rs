//! Helpers shared by the image tests.
#![allow(dead_code)]

use smalt_vm::snapshot::{ImageWriter, Snapshot};
use smalt_vm::{Vm, VmOptions};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::OnceLock;

/// The bytes of an image of a fresh VM (the class library compiled once per test binary).
pub fn library_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let mut vm = Vm::new(VmOptions::default()).expect("the class library loads");
        smalt_image::encode(&vm.snapshot().expect("snapshot"), 0)
    })
}

/// A VM loaded from [`library_image`], its output captured.
pub fn library_vm() -> (Vm, Capture) {
    let loaded = smalt_image::load_bytes(
        library_image(),
        VmOptions::default(),
        smalt_image::Trust::File,
    )
    .expect("the library image loads");
    capture(loaded.vm)
}

/// Captures a VM's output.
pub fn capture(mut vm: Vm) -> (Vm, Capture) {
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    (vm, out)
}

/// Output captured from a VM.
#[derive(Clone, Default)]
pub struct Capture(pub Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far; clears it.
    pub fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.borrow_mut())).into_owned()
    }
}

/// The printString of a do-it's value.
pub fn eval(vm: &mut Vm, src: &str) -> String {
    let v = vm
        .evaluate(src, "test", true)
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    let s = vm.send_message(v, "printString", &[]).expect("printString");
    vm.string_value(s).expect("a String")
}

/// An image writer that keeps the images in memory (with tag 9).
#[derive(Default)]
pub struct MemWriter {
    pub images: RefCell<Vec<(String, Vec<u8>)>>,
}

impl ImageWriter for MemWriter {
    fn write_image(&self, snapshot: &Snapshot<'_>, path: &str) -> Result<(), String> {
        if path.is_empty() {
            return Err("no file name".into());
        }
        self.images
            .borrow_mut()
            .push((path.to_string(), smalt_image::encode(snapshot, 9)));
        Ok(())
    }
}

/// Installs a [`MemWriter`] in a VM.
pub fn mem_writer(vm: &mut Vm) -> Rc<MemWriter> {
    let w = Rc::new(MemWriter::default());
    vm.image_writer = Some(w.clone());
    w
}

/// Loads image bytes, checking everything.
pub fn load(bytes: &[u8]) -> Result<smalt_image::Loaded, smalt_image::ImageError> {
    smalt_image::load_bytes(bytes, VmOptions::default(), smalt_image::Trust::File)
}

#[allow(unused_imports)]
pub use smalt_image::world::world;
