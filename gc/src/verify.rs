//! The heap verifier: checks every header and every reference after a collection.
//!
//! It checks that each object has a valid format, a registered class and fits in the used part
//! of the space; that every pointer slot and every root is an immediate or a reference to the
//! header of an object (not into the middle of one, not past the top); that no from-space
//! forwarding word survived; that compiled methods have a SmallInteger slot 0 whose pointer
//! count fits; and that byte padding lies in a slot that exists.
//!
//! A corrupt heap is reported as a [`VerifyError`], never a panic: the verifier only indexes
//! words below `top` and never trusts a count before checking it against the object's extent.

use crate::collector::Roots;
use crate::header::{Format, Header};
use crate::heap::{Heap, method_pointer_end, method_pointer_slots, object_extent};
use crate::word::{Oop, TAG_MASK, Word};

/// The first problem the verifier found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A header is corrupt.
    #[error("object at word {at}: {problem}")]
    BadObject { at: usize, problem: String },
    /// A slot holds something that is not a valid value.
    #[error("slot {slot} of object at word {at} holds {value:#x}: {problem}")]
    BadSlot {
        at: usize,
        slot: usize,
        value: u64,
        problem: &'static str,
    },
    /// A root holds something that is not a valid value.
    #[error("root {which} holds {value:#x}: {problem}")]
    BadRoot {
        which: String,
        value: u64,
        problem: &'static str,
    },
}

impl Heap {
    /// Checks the whole heap and the given roots; see the module docs.
    pub fn verify(&self, roots: &mut dyn Roots) -> Result<(), VerifyError> {
        let mut starts = vec![false; self.top];
        let mut at = 1;
        while at < self.top {
            let (h, end) = object_extent(&self.space, at);
            if end > self.top || h >= self.top {
                return Err(bad(at, "extends past the top of the space"));
            }
            let header = Header::from_raw(self.space[h]);
            if header.is_forwarded() {
                return Err(bad(h, "forwarding word in the current space"));
            }
            let Some(format) = header.format() else {
                return Err(bad(h, "reserved format"));
            };
            if self.classes.get(header.class_index()).is_none() {
                return Err(bad(
                    h,
                    &format!("unregistered class index {}", header.class_index().0),
                ));
            }
            match format {
                Format::CompiledMethod { unused } => {
                    let slot0 = Word::from_raw(if end > h + 1 { self.space[h + 1] } else { 0 });
                    let pointer_end = h + 1 + method_pointer_slots(slot0.raw());
                    if !slot0.is_small_int() || pointer_end > end {
                        return Err(bad(h, "compiled method with a bad slot 0"));
                    }
                    if unused != 0 && pointer_end == end {
                        return Err(bad(h, "compiled method with padding but no bytecodes"));
                    }
                }
                Format::Bytes { unused } if unused != 0 && end == h + 1 => {
                    return Err(bad(h, "byte object with padding but no slots"));
                }
                Format::Bytes { .. }
                    if header.is_ascii() && !self.bytes(Oop::from_index(h)).is_ascii() =>
                {
                    return Err(bad(h, "byte object marked ASCII with other bytes"));
                }
                Format::Bytes { .. } => {}
                _ if header.is_ascii() => {
                    return Err(bad(h, "object that holds no bytes marked ASCII"));
                }
                _ => {}
            }
            starts[h] = true;
            at = end;
        }
        let check = |w: Word| -> Result<(), &'static str> { check_word(w, &starts, self.nil) };
        let mut at = 1;
        while at < self.top {
            let (h, end) = object_extent(&self.space, at);
            let pointer_end = match Header::from_raw(self.space[h]).format() {
                Some(f) if f.is_pointers() => end,
                Some(Format::CompiledMethod { .. }) => method_pointer_end(&self.space, h, end),
                _ => h + 1,
            };
            for s in h + 1..pointer_end {
                check(Word::from_raw(self.space[s])).map_err(|problem| VerifyError::BadSlot {
                    at: h,
                    slot: s - h - 1,
                    value: self.space[s],
                    problem,
                })?;
            }
            at = end;
        }
        let root_err = |which: String, w: Word, problem| VerifyError::BadRoot {
            which,
            value: w.raw(),
            problem,
        };
        check(self.nil).map_err(|p| root_err("nil".into(), self.nil, p))?;
        for (i, w) in self.classes.iter() {
            check(w).map_err(|p| root_err(format!("class table {}", i.0), w, p))?;
        }
        for (i, &w) in self.handles.iter().enumerate() {
            check(w).map_err(|p| root_err(format!("handle {i}"), w, p))?;
        }
        let mut first: Option<VerifyError> = None;
        let mut n = 0usize;
        let mut visit = |kind: &str, w: &mut Word| {
            if first.is_none()
                && let Err(p) = check(*w)
            {
                first = Some(root_err(format!("{kind} root #{n}"), *w, p));
            }
            n += 1;
        };
        roots.visit_strong(&mut |w| visit("strong", w));
        roots.visit_weak(&mut |w| visit("weak", w));
        first.map_or(Ok(()), Err)
    }
}

fn bad(at: usize, problem: &str) -> VerifyError {
    VerifyError::BadObject {
        at,
        problem: problem.to_string(),
    }
}

fn check_word(w: Word, starts: &[bool], nil: Word) -> Result<(), &'static str> {
    if w.is_small_int() || w.is_character() || w.is_small_float() {
        return Ok(());
    }
    if w.raw() & TAG_MASK != 0 {
        return Err("reserved tag");
    }
    if w == Word::INVALID {
        return if nil == Word::INVALID {
            Ok(())
        } else {
            Err("the invalid word")
        };
    }
    let i = w.oop().index();
    if i >= starts.len() {
        return Err("reference past the top of the space");
    }
    if !starts[i] {
        return Err("reference to something that is not an object header");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Each test corrupts a clean heap in one way and checks the verifier names the problem
    //! (and does not panic).
    use super::*;
    use crate::header::{ClassIndex, GC_FORWARDED, overflow_word};
    use crate::heap::HeapConfig;
    use crate::word::Oop;

    const CLS: ClassIndex = ClassIndex(10);

    struct VecRoots(Vec<Word>, Vec<Word>);
    impl Roots for VecRoots {
        fn visit_strong(&mut self, v: &mut dyn FnMut(&mut Word)) {
            self.0.iter_mut().for_each(v);
        }
        fn visit_weak(&mut self, v: &mut dyn FnMut(&mut Word)) {
            self.1.iter_mut().for_each(v);
        }
    }

    /// A heap with nil, a class and three objects: a 3-slot array `a`, a large array `big`
    /// and a byte object `b`.
    fn heap() -> (Heap, Oop, Oop, Oop) {
        let mut heap = Heap::new(HeapConfig {
            initial_bytes: 64 << 10,
            ..HeapConfig::default()
        });
        let nil = heap.alloc(CLS, Format::Fixed, 0).unwrap();
        heap.set_nil(nil.word());
        let meta = heap.alloc(CLS, Format::Fixed, 0).unwrap();
        heap.classes_mut().set(CLS, meta.word());
        let a = heap.alloc(CLS, Format::Indexable, 3).unwrap();
        let big = heap.alloc(CLS, Format::Indexable, 300).unwrap();
        let b = heap.alloc_bytes_from(CLS, b"abc").unwrap();
        heap.set_slot(a, 0, big.word());
        heap.set_slot(a, 1, b.word());
        heap.verify(&mut ()).expect("the fresh heap is clean");
        (heap, a, big, b)
    }

    fn bad_slot(heap: &Heap, problem: &str) {
        match heap.verify(&mut ()) {
            Err(VerifyError::BadSlot { problem: p, .. }) => assert!(p.contains(problem), "{p}"),
            other => panic!("expected a bad slot ({problem}), got {other:?}"),
        }
    }

    fn bad_object(heap: &Heap, problem: &str) {
        match heap.verify(&mut ()) {
            Err(VerifyError::BadObject { problem: p, .. }) => {
                assert!(p.contains(problem), "{p}")
            }
            other => panic!("expected a bad object ({problem}), got {other:?}"),
        }
    }

    #[test]
    fn reference_past_the_top() {
        let (mut heap, a, ..) = heap();
        heap.set_slot(a, 2, Word::from_raw(1 << 40));
        bad_slot(&heap, "past the top");
        let top = heap.top as u64;
        heap.set_slot(a, 2, Word::from_raw(top * 8));
        bad_slot(&heap, "past the top");
    }

    #[test]
    fn reference_into_the_middle_of_an_object() {
        let (mut heap, a, big, _) = heap();
        heap.set_slot(a, 2, Word::from_raw(big.offset() + 8 * 17));
        bad_slot(&heap, "not an object header");
        // The overflow word of a large object is not its header either.
        heap.set_slot(a, 2, Word::from_raw(big.offset() - 8));
        bad_slot(&heap, "not an object header");
    }

    #[test]
    fn reserved_tag_and_invalid_word_in_a_slot() {
        let (mut heap, a, ..) = heap();
        heap.set_slot(a, 2, Word::from_raw(0b110));
        bad_slot(&heap, "reserved tag");
        heap.set_slot(a, 2, Word::INVALID);
        bad_slot(&heap, "invalid word");
    }

    #[test]
    fn bad_slot_in_a_large_object_names_the_slot() {
        let (mut heap, _, big, _) = heap();
        heap.set_slot(big, 299, Word::from_raw(big.offset() + 16));
        assert_eq!(
            heap.verify(&mut ()),
            Err(VerifyError::BadSlot {
                at: big.index(),
                slot: 299,
                value: big.offset() + 16,
                problem: "reference to something that is not an object header",
            })
        );
    }

    #[test]
    fn reserved_format() {
        let (mut heap, a, ..) = heap();
        let raw = heap.space[a.index()] & !(0x1F << 24);
        heap.space[a.index()] = raw | (5 << 24);
        bad_object(&heap, "reserved format");
        heap.space[a.index()] = raw | (31 << 24);
        bad_object(&heap, "reserved format");
    }

    #[test]
    fn unregistered_class() {
        let (mut heap, a, ..) = heap();
        heap.set_class_index(a, ClassIndex(77));
        bad_object(&heap, "unregistered class index 77");
    }

    #[test]
    fn forwarding_word_left_behind() {
        let (mut heap, _, _, b) = heap();
        heap.space[b.index()] = Header::forwarding(3).raw();
        bad_object(&heap, "forwarding word");
        heap.space[b.index()] |= GC_FORWARDED;
        bad_object(&heap, "forwarding word");
    }

    #[test]
    fn overflow_word_claiming_too_many_slots() {
        let (mut heap, _, big, _) = heap();
        heap.space[big.index() - 1] = overflow_word(1 << 50);
        bad_object(&heap, "past the top");
        // A header saying "overflow" with no overflow word in front of it.
        let (mut heap, a, ..) = self::heap();
        heap.space[a.index()] |= 0xFF << 56;
        bad_object(&heap, "past the top");
    }

    #[test]
    fn compiled_method_with_a_bad_slot_0() {
        let (mut heap, ..) = heap();
        let m = heap.alloc_method(CLS, 3, 5).unwrap();
        heap.verify(&mut ()).unwrap();
        heap.set_slot(m, 0, heap.nil());
        bad_object(&heap, "bad slot 0");
        // 3 pointer slots + 1 code slot. Slot 0 claims more pointer slots than the method has.
        heap.set_slot(m, 0, Word::small_int(4));
        bad_object(&heap, "bad slot 0");
        // All four slots are pointers, yet the format says the last one has padding.
        heap.set_slot(m, 0, Word::small_int(3));
        bad_object(&heap, "padding but no bytecodes");
        // The high bits of slot 0 do not count.
        heap.set_slot(m, 0, Word::small_int((7 << 16) | 2));
        heap.verify(&mut ()).unwrap();
    }

    #[test]
    fn an_ascii_mark_must_be_true() {
        let (mut heap, a, _, b) = heap();
        assert!(heap.header(b).is_ascii());
        heap.bytes_mut(b)[1] = 0xC3;
        let h = heap.header(b).with_ascii(true);
        heap.set_header(b, h);
        bad_object(&heap, "marked ASCII with other bytes");
        heap.bytes_mut(b)[1] = b'b';
        heap.verify(&mut ()).unwrap();
        let h = heap.header(a).with_ascii(true);
        heap.set_header(a, h);
        bad_object(&heap, "holds no bytes marked ASCII");
    }

    #[test]
    fn byte_padding_without_slots() {
        let (mut heap, _, _, b) = heap();
        let h = Header::new(CLS, Format::Bytes { unused: 3 }, 0);
        heap.space[b.index()] = h.raw();
        // The three remaining words of `b` become garbage headers; the first error is ours.
        bad_object(&heap, "padding but no slots");
    }

    #[test]
    fn a_method_without_slots_at_the_very_end_of_the_space_is_reported() {
        let (mut heap, ..) = heap();
        // Fill the space so that the method's header is its very last word.
        let free = heap.space.len() - heap.top;
        let filler = free - 1 - 2;
        heap.alloc(CLS, Format::Words, filler).unwrap();
        let m = heap
            .alloc(CLS, Format::CompiledMethod { unused: 0 }, 0)
            .unwrap();
        assert_eq!(heap.top, heap.space.len());
        bad_object(&heap, "bad slot 0");
        // The collector copes with it too (it scans no slot of it).
        let mut roots = VecRoots(vec![m.word()], vec![]);
        heap.collect(&mut roots, 0).unwrap();
        assert_eq!(heap.num_slots(roots.0[0].oop()), 0);
    }

    #[test]
    fn bad_roots_are_named() {
        let bad = Word::from_raw(1 << 40);
        let root = |which: &str| VerifyError::BadRoot {
            which: which.into(),
            value: bad.raw(),
            problem: "reference past the top of the space",
        };
        let (mut heap, a, ..) = heap();
        let mut roots = VecRoots(vec![a.word(), Word::small_int(1), bad], vec![]);
        assert_eq!(heap.verify(&mut roots), Err(root("strong root #2")));
        let mut roots = VecRoots(vec![a.word()], vec![a.word(), bad]);
        assert_eq!(heap.verify(&mut roots), Err(root("weak root #2")));
        heap.classes_mut().set(ClassIndex(12), bad);
        assert_eq!(heap.verify(&mut ()), Err(root("class table 12")));
        heap.classes_mut().set(ClassIndex(12), a.word());
        let mark = heap.handle_mark();
        heap.push_handle(a.word());
        heap.push_handle(bad);
        assert_eq!(heap.verify(&mut ()), Err(root("handle 1")));
        heap.release_handles(mark);
        let nil = heap.nil();
        heap.set_nil(bad);
        assert_eq!(heap.verify(&mut ()), Err(root("nil")));
        heap.set_nil(nil);
        heap.verify(&mut ()).unwrap();
    }

    #[test]
    fn the_invalid_word_is_fine_before_nil_exists() {
        let mut heap = Heap::new(HeapConfig::default());
        let meta = heap.alloc(CLS, Format::Fixed, 0).unwrap();
        heap.classes_mut().set(CLS, meta.word());
        let a = heap.alloc(CLS, Format::Fixed, 2).unwrap();
        assert_eq!(heap.slot(a, 0), Word::INVALID);
        heap.verify(&mut VecRoots(vec![a.word()], vec![])).unwrap();
    }

    #[test]
    fn errors_read_as_sentences() {
        let (mut heap, a, ..) = heap();
        heap.set_slot(a, 2, Word::from_raw(0b110));
        let msg = heap.verify(&mut ()).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!(
                "slot 2 of object at word {} holds 0x6: reserved tag",
                a.index()
            )
        );
    }
}
