//! A first end-to-end check of allocation, collection and weak slots.
use smalt_gc::*;

struct VecRoots(Vec<Word>, Vec<Word>);
impl Roots for VecRoots {
    fn visit_strong(&mut self, v: &mut dyn FnMut(&mut Word)) {
        self.0.iter_mut().for_each(v);
    }
    fn visit_weak(&mut self, v: &mut dyn FnMut(&mut Word)) {
        self.1.iter_mut().for_each(v);
    }
}

#[test]
fn collect_keeps_reachable_graph_and_clears_weak() {
    let mut heap = Heap::new(HeapConfig {
        initial_bytes: 64 << 10,
        ..Default::default()
    });
    let cls = ClassIndex(10);
    let nil = heap.alloc(cls, Format::Fixed, 0).unwrap();
    heap.set_nil(nil.word());
    let meta = heap.alloc(cls, Format::Fixed, 0).unwrap();
    heap.classes_mut().set(cls, meta.word());
    let a = heap.alloc(cls, Format::Indexable, 3).unwrap();
    let b = heap.alloc_bytes_from(cls, b"hello world").unwrap();
    let big = heap.alloc(cls, Format::Indexable, 1000).unwrap();
    let dead = heap.alloc(cls, Format::Fixed, 2).unwrap();
    let weak = heap.alloc(cls, Format::Weak, 2).unwrap();
    heap.set_slot(a, 0, b.word());
    heap.set_slot(a, 1, a.word());
    heap.set_slot(a, 2, big.word());
    heap.set_slot(big, 999, Word::small_int(-7));
    heap.set_slot(weak, 0, dead.word());
    heap.set_slot(weak, 1, b.word());
    heap.set_slot(a, 1, weak.word());
    let ha = heap.identity_hash(a);
    let mut roots = VecRoots(vec![a.word()], vec![dead.word(), b.word()]);
    for _ in 0..3 {
        heap.collect(&mut roots, 0).unwrap();
        heap.poison_spare();
        heap.verify(&mut roots).unwrap();
    }
    let a = roots.0[0].oop();
    assert_eq!(heap.identity_hash(a), ha);
    let b = heap.slot(a, 0).oop();
    assert_eq!(heap.bytes(b), b"hello world");
    let weak = heap.slot(a, 1).oop();
    assert_eq!(heap.slot(weak, 0), heap.nil());
    assert_eq!(heap.slot(weak, 1), b.word());
    let big = heap.slot(a, 2).oop();
    assert_eq!(heap.num_slots(big), 1000);
    assert_eq!(heap.slot(big, 999).as_small_int(), Some(-7));
    assert_eq!(roots.1[0], heap.nil());
    assert_eq!(roots.1[1], b.word());
}
