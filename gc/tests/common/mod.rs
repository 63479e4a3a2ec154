//! Helpers shared by the integration tests: a heap with nil and one registered class, and
//! roots held in vectors.
#![allow(dead_code)]

use smalt_gc::*;

/// The class index every test object uses (registered to a class object by [`heap`]).
pub const CLS: ClassIndex = ClassIndex(10);

/// Strong and weak roots held in vectors.
#[derive(Default, Debug)]
pub struct VecRoots {
    pub strong: Vec<Word>,
    pub weak: Vec<Word>,
}

impl VecRoots {
    pub fn strong(words: &[Word]) -> VecRoots {
        VecRoots {
            strong: words.to_vec(),
            weak: Vec::new(),
        }
    }

    /// Strong root `i` as an object reference.
    pub fn oop(&self, i: usize) -> Oop {
        self.strong[i].oop()
    }
}

impl Roots for VecRoots {
    fn visit_strong(&mut self, v: &mut dyn FnMut(&mut Word)) {
        self.strong.iter_mut().for_each(v);
    }
    fn visit_weak(&mut self, v: &mut dyn FnMut(&mut Word)) {
        self.weak.iter_mut().for_each(v);
    }
}

/// A heap of the given configuration holding nil and one class object, registered at [`CLS`].
pub fn heap_with(config: HeapConfig) -> Heap {
    let mut heap = Heap::new(config);
    let nil = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    heap.set_nil(nil.word());
    let class = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    heap.classes_mut().set(CLS, class.word());
    heap
}

/// A 64 KiB heap with the default limits.
pub fn heap() -> Heap {
    heap_with(HeapConfig {
        initial_bytes: 64 << 10,
        ..HeapConfig::default()
    })
}

/// Number of objects in the heap besides nil and the class object.
pub fn count(heap: &Heap) -> usize {
    heap.objects().count() - 2
}

/// Collects, poisons the old space and verifies.
pub fn collect(heap: &mut Heap, roots: &mut VecRoots) {
    heap.collect(roots, 0).unwrap();
    heap.poison_spare();
    heap.verify(roots).unwrap();
}

/// Allocates, collecting and retrying once on `Exhausted`: the VM's safepoint protocol.
pub fn alloc_retrying(
    heap: &mut Heap,
    roots: &mut VecRoots,
    format: Format,
    slots: usize,
) -> Result<Oop, AllocError> {
    match heap.alloc(CLS, format, slots) {
        Err(AllocError::Exhausted) => {
            heap.collect(roots, slots)?;
            heap.alloc(CLS, format, slots)
        }
        r => r,
    }
}
