//! Exchanging identities: the heap walk under two-way `become:`.
//!
//! `a become: b` makes every reference to `a` a reference to `b` and the other way round, in
//! one walk over the whole object memory: every pointer slot of every object (weak slots and
//! the pointer part of compiled methods included), the heap's own roots (nil and the handle
//! stack) and the VM's roots (strong and weak). The objects themselves stay where they are
//! with their class, format and contents; only the references move. Their identity hashes are
//! exchanged too, so each reference keeps the hash it had and identity-hashed collections that
//! hold either object stay valid (Spur's `become:` with `copyHash`).
//!
//! # What the caller must refuse
//!
//! The class table is not rewritten: headers name classes by index, so exchanging a class
//! would leave every instance pointing at the wrong class. The VM refuses classes, and every
//! other object whose identity it relies on (nil, true, false, symbols, methods, contexts…),
//! before calling [`Heap::exchange_identities`].
//!
//! The walk costs one pass over the space, as a collection's scan does, but copies nothing.

use crate::collector::Roots;
use crate::header::{Format, Header};
use crate::heap::{Heap, method_pointer_end, object_extent};
use crate::word::{Oop, Word};
use std::collections::HashMap;

impl Heap {
    /// Exchanges the identities of each pair `(a, b)`: every reference to `a` becomes one to
    /// `b` and the other way round, everywhere (see the module docs), and the pairs' identity
    /// hashes are exchanged. Answers the number of references rewritten.
    ///
    /// # Panics
    /// If an object appears twice among the pairs (the caller checks), or on a corrupt header.
    pub fn exchange_identities(&mut self, pairs: &[(Oop, Oop)], roots: &mut dyn Roots) -> usize {
        let mut map: HashMap<u64, u64> = HashMap::with_capacity(pairs.len() * 2);
        for &(a, b) in pairs {
            let fresh = map.insert(a.word().raw(), b.word().raw()).is_none()
                && map.insert(b.word().raw(), a.word().raw()).is_none();
            assert!(fresh, "exchange_identities: an object appears twice");
        }
        let mut rewritten = 0usize;
        let mut swap = |w: &mut Word| {
            if w.as_oop().is_some()
                && let Some(&to) = map.get(&w.raw())
            {
                *w = Word::from_raw(to);
                rewritten += 1;
            }
        };

        // The objects' pointer slots.
        let mut at = 1;
        while at < self.top {
            let (h, end) = object_extent(&self.space, at);
            let header = Header::from_raw(self.space[h]);
            let pointer_end = match header.format() {
                Some(f) if f.is_pointers() => end,
                Some(Format::CompiledMethod { .. }) => method_pointer_end(&self.space, h, end),
                Some(_) => h + 1,
                None => panic!("corrupt heap: bad format in header {header:?} at word {h}"),
            };
            for s in h + 1..pointer_end {
                let mut w = Word::from_raw(self.space[s]);
                swap(&mut w);
                self.space[s] = w.raw();
            }
            at = end;
        }

        // The roots: the heap's own (nil, handles) and the VM's.
        swap(&mut self.nil);
        self.handles.iter_mut().for_each(&mut swap);
        roots.visit_strong(&mut swap);
        roots.visit_weak(&mut swap);

        // Each reference keeps the identity hash it had.
        for &(a, b) in pairs {
            let (ha, hb) = (self.header(a), self.header(b));
            self.set_header(a, ha.with_hash(hb.hash()));
            self.set_header(b, hb.with_hash(ha.hash()));
        }
        rewritten
    }
}

#[cfg(test)]
mod tests {
    use crate::{ClassIndex, Format, Heap, HeapConfig, Roots, Word};

    struct Stack(Vec<Word>);
    impl Roots for Stack {
        fn visit_strong(&mut self, visit: &mut dyn FnMut(&mut Word)) {
            self.0.iter_mut().for_each(visit);
        }
    }

    #[test]
    fn references_hashes_and_roots_are_exchanged() {
        let mut heap = Heap::new(HeapConfig::default());
        let c = ClassIndex(10);
        let a = heap.alloc(c, Format::Fixed, 1).unwrap();
        let b = heap.alloc(c, Format::Fixed, 2).unwrap();
        let holder = heap.alloc(c, Format::Indexable, 3).unwrap();
        let bytes = heap.alloc_bytes_from(c, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        heap.set_slot(holder, 0, a.word());
        heap.set_slot(holder, 1, b.word());
        heap.set_slot(holder, 2, Word::small_int(7));
        heap.set_slot(a, 0, a.word()); // a refers to itself
        let (ha, hb) = (heap.identity_hash(a), heap.identity_hash(b));
        let h = heap.push_handle(b.word());
        let mut roots = Stack(vec![a.word(), Word::small_int(1)]);
        let before = heap.bytes(bytes).to_vec();

        let n = heap.exchange_identities(&[(a, b)], &mut roots);

        assert_eq!(n, 5);
        assert_eq!(heap.slot(holder, 0), b.word());
        assert_eq!(heap.slot(holder, 1), a.word());
        assert_eq!(heap.slot(holder, 2), Word::small_int(7));
        assert_eq!(heap.slot(a, 0), b.word(), "a's contents now refer to b");
        assert_eq!(heap.handle(h), a.word());
        assert_eq!(roots.0, vec![b.word(), Word::small_int(1)]);
        assert_eq!(
            heap.identity_hash(b),
            ha,
            "the reference that was a keeps a's hash"
        );
        assert_eq!(heap.identity_hash(a), hb);
        assert_eq!(
            heap.bytes(bytes),
            &before[..],
            "byte objects are not scanned"
        );
        assert_eq!(heap.num_slots(a), 1, "the objects keep their contents");
    }

    #[test]
    #[should_panic(expected = "appears twice")]
    fn an_object_in_two_pairs_is_a_caller_bug() {
        let mut heap = Heap::new(HeapConfig::default());
        let a = heap.alloc(ClassIndex(10), Format::Fixed, 0).unwrap();
        let b = heap.alloc(ClassIndex(10), Format::Fixed, 0).unwrap();
        heap.exchange_identities(&[(a, b), (b, a)], &mut ());
    }
}
