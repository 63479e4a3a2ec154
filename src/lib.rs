//! The parts of the `smalt` command that tests and tools use as a library: the default image,
//! compiled from the class library at build time (see `build.rs`) and embedded here, and
//! starting a VM from it or from an image file.

use smalt_image::{FileWriter, ImageError, Trust};
use smalt_vm::{Vm, VmOptions};
use std::path::Path;
use std::rc::Rc;

/// The default image: the kernel and the whole class library, as `Vm::new` makes them.
pub static DEFAULT_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/default.image"));

/// Image tags: what the `smalt` command was running when Smalltalk code saved an image, so
/// that a resumed image finishes that run as the command would have (see `docs/image-format.md`).
pub mod tag {
    /// Nothing (the default image, or `:save` between inputs).
    pub const NONE: u32 = 0;
    /// A REPL input: its value is printed, an error is reported and the REPL goes on.
    pub const REPL: u32 = 1;
    /// `-e EXPR`: its value is printed.
    pub const EVAL: u32 = 2;
    /// A program (`smalt File.som`, `-cp … Class`).
    pub const PROGRAM: u32 = 3;
}

/// A VM resumed from the default image: the class library, ready to run (what `Vm::new`
/// gives, without compiling anything).
pub fn new_vm(options: VmOptions) -> Result<Vm, ImageError> {
    Ok(smalt_image::load_bytes(DEFAULT_IMAGE, options, Trust::Embedded)?.vm)
}

/// A started VM with an image writer installed for `Smalltalk saveImage:`.
pub struct Started {
    /// The VM.
    pub vm: Vm,
    /// Its image writer: set its tag to what the command runs next.
    pub writer: Rc<FileWriter>,
    /// The tag of the image it was loaded from.
    pub tag: u32,
}

/// Starts a VM from the image file `image`, or from the default image.
pub fn start(options: VmOptions, image: Option<&Path>) -> Result<Started, ImageError> {
    let loaded = match image {
        Some(path) => smalt_image::load_file(path, options)?,
        None => smalt_image::load_bytes(DEFAULT_IMAGE, options, Trust::Embedded)?,
    };
    let mut vm = loaded.vm;
    let writer = Rc::new(FileWriter::default());
    vm.image_writer = Some(writer.clone());
    Ok(Started {
        vm,
        writer,
        tag: loaded.tag,
    })
}
