//! Helpers shared by the image tests.
#![allow(dead_code)]

use smalt_gc::{Format, Oop, Word};
use smalt_vm::methods::MethodId;
use smalt_vm::snapshot::{ImageWriter, Snapshot};
use smalt_vm::{Vm, VmOptions};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
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
    fn write_image(&self, snapshot: &Snapshot, path: &str) -> Result<(), String> {
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

/// A canonical description of everything reachable in a VM: objects are numbered in the
/// order a breadth-first walk from the roots (specials, class table in index order, the
/// stack) meets them, and each is described by its class index, format, identity hash,
/// read-only bit and contents, references replaced by numbers. Method ids (a side-table
/// detail) are left out; each method's invocation count and cache cells (classes and methods
/// as numbers) are included. Two VMs hold equal worlds when their descriptions are equal.
pub fn world(vm: &Vm) -> Vec<u64> {
    let heap = &vm.heap;
    let mut number: HashMap<u64, u64> = HashMap::new();
    let mut queue: VecDeque<Oop> = VecDeque::new();
    let mut out = Vec::new();
    let mut visit = |w: Word, number: &mut HashMap<u64, u64>, queue: &mut VecDeque<Oop>| -> u64 {
        match w.as_oop() {
            Some(o) => {
                let n = number.len() as u64;
                let n = *number.entry(w.raw()).or_insert_with(|| {
                    queue.push_back(o);
                    n
                });
                (n << 3) | 6 // the reserved tag marks a numbered reference
            }
            None => w.raw(),
        }
    };
    let mut roots = vec![vm.specials];
    roots.extend(heap.classes().entries().iter().copied());
    roots.extend((0..vm.regs.sp).map(|i| vm.stack[i]));
    for r in roots {
        let v = visit(r, &mut number, &mut queue);
        out.push(v);
    }
    let mut methods = Vec::new();
    while let Some(o) = queue.pop_front() {
        let h = heap.header(o);
        let format = heap.format(o);
        out.extend([
            u64::from(h.class_index().0),
            u64::from(format.bits()),
            u64::from(h.hash()),
            u64::from(h.is_read_only()),
            heap.num_slots(o) as u64,
        ]);
        let slots = heap.slots(o);
        let pointers = match format {
            Format::CompiledMethod { .. } => {
                methods.push(o);
                heap.method_pointer_slots(o)
            }
            f if f.is_pointers() || f == Format::Weak => slots.len(),
            _ => 0,
        };
        for (i, s) in slots.iter().enumerate() {
            let is_method_id = matches!(format, Format::CompiledMethod { .. }) && i == 2;
            if is_method_id {
                out.push(0);
            } else if i < pointers {
                let v = visit(Word::from_raw(*s), &mut number, &mut queue);
                out.push(v);
            } else {
                out.push(*s);
            }
        }
    }
    // Type feedback, methods in walk order.
    for m in methods {
        let id = vm.method_id(m.word());
        out.push(u64::from(vm.methods.info(id).invocations));
        for c in vm.cell_feedback(id) {
            out.extend([
                u64::from(c.literal),
                u64::from(c.state),
                u64::from(c.misses),
            ]);
            for (class, method) in c.entries {
                out.push(u64::from(class));
                out.push(number.get(&method).copied().unwrap_or(u64::MAX));
            }
        }
    }
    let _ = MethodId::NONE;
    out
}
