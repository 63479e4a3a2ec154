//! Every object format: allocation, accessors, and survival through collections (including
//! large objects with an overflow word, every byte padding, and compiled methods).
mod common;
use common::*;
use smalt_gc::*;

fn immediates() -> [Word; 5] {
    [
        Word::small_int(-12345),
        Word::small_int(SMALL_INT_MAX),
        Word::character('λ' as u32),
        Word::try_small_float(2.5e-7).unwrap(),
        Word::try_small_float(-0.0).unwrap(),
    ]
}

#[test]
fn fixed_objects() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    for n in [0, 1, 5, 254] {
        let o = heap.alloc(CLS, Format::Fixed, n).unwrap();
        assert_eq!(heap.num_slots(o), n);
        assert_eq!(heap.format(o), Format::Fixed);
        assert_eq!(heap.header(o).class_index(), CLS);
        assert!(heap.slots(o).iter().all(|&w| w == heap.nil().raw()));
        for i in 0..n {
            heap.set_slot(o, i, immediates()[i % 5]);
        }
        roots.strong.push(o.word());
    }
    for _ in 0..2 {
        collect(&mut heap, &mut roots);
    }
    for (k, n) in [0, 1, 5, 254].into_iter().enumerate() {
        let o = roots.oop(k);
        assert_eq!(heap.num_slots(o), n);
        assert_eq!(heap.format(o), Format::Fixed);
        for i in 0..n {
            assert_eq!(heap.slot(o, i), immediates()[i % 5]);
        }
        assert_eq!(heap.try_slot(o, n), None);
    }
}

#[test]
fn indexable_objects_around_the_overflow_boundary() {
    let mut heap = heap_with(HeapConfig {
        initial_bytes: 2 << 20,
        ..HeapConfig::default()
    });
    let sizes = [0, 1, 253, 254, 255, 256, 1000, 70_000];
    let mut roots = VecRoots::default();
    for &n in &sizes {
        let o = heap.alloc(CLS, Format::Indexable, n).unwrap();
        assert_eq!(heap.num_slots(o), n, "fresh object of {n} slots");
        let field = heap.header(o).slot_field();
        assert_eq!(field, n.min(OVERFLOW_SLOTS));
        for i in 0..n {
            heap.set_slot(o, i, Word::from_usize(i * 3 + n));
        }
        roots.strong.push(o.word());
        // A garbage object in between, so the survivors move.
        heap.alloc(CLS, Format::Indexable, n).unwrap();
    }
    let before = heap.used_bytes();
    collect(&mut heap, &mut roots);
    assert!(heap.used_bytes() < before);
    assert_eq!(count(&heap), sizes.len());
    for (k, &n) in sizes.iter().enumerate() {
        let o = roots.oop(k);
        assert_eq!(heap.num_slots(o), n, "moved object of {n} slots");
        assert_eq!(heap.format(o), Format::Indexable);
        for i in 0..n {
            assert_eq!(heap.slot(o, i), Word::from_usize(i * 3 + n));
        }
    }
    // A linear walk sees each object once, large ones included, in copy order: nil first,
    // then the roots in visiting order, then the class table's class object.
    let walked: Vec<usize> = heap.objects().skip(1).map(|o| heap.num_slots(o)).collect();
    assert_eq!(walked[..sizes.len()], sizes);
    assert_eq!(walked.len(), sizes.len() + 1);
}

#[test]
fn fixed_indexable_objects() {
    let mut heap = heap();
    let o = heap.alloc(CLS, Format::FixedIndexable, 300).unwrap();
    let target = heap.alloc(CLS, Format::Fixed, 1).unwrap();
    heap.set_slot(target, 0, Word::small_int(77));
    heap.set_slot(o, 0, target.word());
    heap.set_slot(o, 299, target.word());
    let mut roots = VecRoots::strong(&[o.word()]);
    collect(&mut heap, &mut roots);
    let o = roots.oop(0);
    assert_eq!(heap.format(o), Format::FixedIndexable);
    assert_eq!(heap.slot(o, 0), heap.slot(o, 299));
    assert_eq!(heap.slot(heap.slot(o, 0).oop(), 0), Word::small_int(77));
    assert_eq!(count(&heap), 2);
}

#[test]
fn word_objects_are_copied_but_never_scanned() {
    let mut heap = heap();
    let kept = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let w = heap.alloc(CLS, Format::Words, 300).unwrap();
    assert!(heap.words(w).iter().all(|&x| x == 0));
    // Values that look like references (even to a live object) must come through unchanged.
    let looks_like_ref = kept.offset();
    for (i, x) in heap.words_mut(w).iter_mut().enumerate() {
        *x = if i % 2 == 0 {
            looks_like_ref
        } else {
            u64::MAX - i as u64
        };
    }
    let expected = heap.words(w).to_vec();
    let mut roots = VecRoots::strong(&[w.word(), kept.word()]);
    // Put a garbage object first so `kept` moves and its old offset goes stale.
    collect(&mut heap, &mut roots);
    heap.alloc(CLS, Format::Fixed, 3).unwrap();
    collect(&mut heap, &mut roots);
    let w = roots.oop(0);
    assert_eq!(heap.format(w), Format::Words);
    assert_eq!(heap.words(w), &expected[..]);
}

#[test]
fn byte_objects_with_every_padding() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    let lengths: Vec<usize> = (0..=17).chain(2030..=2042).collect();
    let content = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 7 + len) as u8).collect() };
    for &len in &lengths {
        let o = heap.alloc_bytes_from(CLS, &content(len)).unwrap();
        let unused = (8 - len % 8) % 8;
        assert_eq!(
            heap.format(o),
            Format::Bytes {
                unused: unused as u8
            }
        );
        assert!(heap.format(o).is_bytes() && !heap.format(o).is_pointers());
        assert_eq!(heap.format(o).unused_bytes(), unused);
        assert_eq!(heap.num_slots(o), len.div_ceil(8));
        assert_eq!(heap.byte_len(o), len);
        assert_eq!(heap.bytes(o), &content(len)[..]);
        roots.strong.push(o.word());
        heap.alloc_bytes(CLS, len).unwrap(); // garbage in between
    }
    collect(&mut heap, &mut roots);
    collect(&mut heap, &mut roots);
    assert_eq!(count(&heap), lengths.len());
    for (k, &len) in lengths.iter().enumerate() {
        let o = roots.oop(k);
        assert_eq!(heap.byte_len(o), len);
        assert_eq!(heap.bytes(o), &content(len)[..], "length {len}");
        heap.bytes_mut(o).iter_mut().for_each(|b| *b = !*b);
    }
    collect(&mut heap, &mut roots);
    for (k, &len) in lengths.iter().enumerate() {
        let flipped: Vec<u8> = content(len).iter().map(|b| !b).collect();
        assert_eq!(heap.bytes(roots.oop(k)), &flipped[..]);
    }
}

#[test]
fn fresh_byte_objects_are_zero() {
    let mut heap = heap();
    heap.poison_spare();
    for len in 0..20 {
        let o = heap.alloc_bytes(CLS, len).unwrap();
        assert_eq!(heap.bytes(o), &vec![0; len][..]);
    }
}

#[test]
fn byte_contents_that_look_like_references_are_not_touched() {
    let mut heap = heap();
    let garbage = heap.alloc(CLS, Format::Fixed, 4).unwrap();
    let target = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let bytes: Vec<u8> = [target.offset(), garbage.offset(), 1 << 40]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let b = heap.alloc_bytes_from(CLS, &bytes).unwrap();
    let mut roots = VecRoots::strong(&[b.word(), target.word()]);
    collect(&mut heap, &mut roots);
    assert_eq!(heap.bytes(roots.oop(0)), &bytes[..]);
}

#[test]
fn compiled_methods() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    let literal = heap.alloc_bytes_from(CLS, b"#foo:").unwrap();
    let mut expected = Vec::new();
    for (pointers, code_len) in [(1, 0), (1, 1), (2, 7), (3, 8), (4, 9), (5, 13), (2, 2100)] {
        let m = heap.alloc_method(CLS, pointers, code_len).unwrap();
        let unused = ((8 - code_len % 8) % 8) as u8;
        assert_eq!(heap.format(m), Format::CompiledMethod { unused });
        assert!(!heap.format(m).is_pointers() && !heap.format(m).is_bytes());
        assert_eq!(
            heap.slot(m, 0),
            Word::small_int(pointers as i64 - 1),
            "slot 0 counts the pointer slots after it"
        );
        assert_eq!(heap.method_pointer_slots(m), pointers);
        for i in 1..pointers {
            assert_eq!(heap.slot(m, i), heap.nil());
            heap.set_slot(m, i, literal.word());
        }
        assert_eq!(heap.method_bytes(m), &vec![0; code_len][..]);
        // Code bytes that look like a reference to `literal` are not scanned.
        let code: Vec<u8> = (0..code_len)
            .map(|i| literal.offset().to_le_bytes()[i % 8])
            .collect();
        heap.method_bytes_mut(m).copy_from_slice(&code);
        // Only the low 16 bits of slot 0 count: the VM keeps other header fields above them.
        let header = ((pointers as i64 + 40) << 16) | (pointers as i64 - 1);
        heap.set_slot(m, 0, Word::small_int(header));
        assert_eq!(heap.method_pointer_slots(m), pointers);
        roots.strong.push(m.word());
        expected.push((pointers, code, header));
        heap.alloc_method(CLS, 2, 3).unwrap(); // garbage
    }
    collect(&mut heap, &mut roots);
    collect(&mut heap, &mut roots);
    // The literal survived through the methods alone, once.
    assert_eq!(count(&heap), expected.len() + 1);
    let mut literals = Vec::new();
    for (k, (pointers, code, header)) in expected.iter().enumerate() {
        let m = roots.oop(k);
        assert_eq!(heap.slot(m, 0), Word::small_int(*header));
        assert_eq!(heap.method_pointer_slots(m), *pointers);
        assert_eq!(heap.method_bytes(m), &code[..]);
        literals.extend((1..*pointers).map(|i| heap.slot(m, i)));
    }
    assert!(literals.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(heap.bytes(literals[0].oop()), b"#foo:");
}

#[test]
fn a_corrupt_method_header_never_makes_the_collector_scan_a_neighbour() {
    let mut heap = heap();
    let m = heap.alloc_method(CLS, 1, 0).unwrap();
    // Slot 0 claims 50 pointer slots; the method has one slot.
    heap.set_slot(m, 0, Word::small_int(50));
    let w = heap.alloc(CLS, Format::Words, 2).unwrap();
    heap.words_mut(w).copy_from_slice(&[1 << 40, 8]);
    let mut roots = VecRoots::strong(&[m.word(), w.word()]);
    assert!(heap.verify(&mut roots).is_err());
    heap.collect(&mut roots, 0).unwrap();
    assert_eq!(heap.words(roots.oop(1)), &[1 << 40, 8]);
}

#[test]
fn weak_slots_follow_survivors_and_lose_the_dead() {
    let mut heap = heap();
    let alive_small = heap.alloc(CLS, Format::Fixed, 1).unwrap();
    let alive_large = heap.alloc(CLS, Format::Indexable, 400).unwrap();
    let dead_small = heap.alloc(CLS, Format::Fixed, 1).unwrap();
    let dead_large = heap.alloc(CLS, Format::Indexable, 400).unwrap();
    heap.set_slot(alive_large, 399, Word::small_int(399));
    let weak = heap.alloc(CLS, Format::Weak, 7).unwrap();
    let w = [
        alive_small.word(),
        alive_large.word(),
        dead_small.word(),
        dead_large.word(),
        Word::small_int(5),
        Word::character('x' as u32),
        weak.word(), // itself: alive through the root below
    ];
    for (i, v) in w.iter().enumerate() {
        heap.set_slot(weak, i, *v);
    }
    // The weak object is reached first, its referents later: they are forwarded only after
    // the weak object was copied, and the weak pass must still find their copies.
    let mut roots = VecRoots::strong(&[weak.word(), alive_large.word(), alive_small.word()]);
    collect(&mut heap, &mut roots);
    let weak = roots.oop(0);
    assert_eq!(heap.slot(weak, 0), roots.strong[2]);
    assert_eq!(heap.slot(weak, 1), roots.strong[1]);
    assert_eq!(heap.slot(weak, 2), heap.nil());
    assert_eq!(heap.slot(weak, 3), heap.nil());
    assert_eq!(heap.slot(weak, 4), Word::small_int(5));
    assert_eq!(heap.slot(weak, 5), Word::character('x' as u32));
    assert_eq!(heap.slot(weak, 6), weak.word());
    assert_eq!(
        heap.slot(heap.slot(weak, 1).oop(), 399),
        Word::small_int(399)
    );
    assert_eq!(count(&heap), 3, "the dead referents were freed");
}

#[test]
fn weak_slots_do_not_keep_referents_alive_through_chains() {
    let mut heap = heap();
    // root -> weak1 ~> weak2 ~> obj: weak2 is reachable only weakly, so it dies, and so does obj.
    let obj = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let weak2 = heap.alloc(CLS, Format::Weak, 1).unwrap();
    heap.set_slot(weak2, 0, obj.word());
    let weak1 = heap.alloc(CLS, Format::Weak, 1).unwrap();
    heap.set_slot(weak1, 0, weak2.word());
    let mut roots = VecRoots::strong(&[weak1.word()]);
    collect(&mut heap, &mut roots);
    assert_eq!(heap.slot(roots.oop(0), 0), heap.nil());
    assert_eq!(count(&heap), 1);
}

#[test]
fn large_weak_objects() {
    let mut heap = heap();
    let kept = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let weak = heap.alloc(CLS, Format::Weak, 600).unwrap();
    for i in 0..600 {
        let v = if i % 3 == 0 {
            kept.word()
        } else {
            heap.alloc(CLS, Format::Fixed, 0).unwrap().word()
        };
        heap.set_slot(weak, i, v);
    }
    let mut roots = VecRoots::strong(&[weak.word(), kept.word()]);
    collect(&mut heap, &mut roots);
    let weak = roots.oop(0);
    assert_eq!(heap.num_slots(weak), 600);
    for i in 0..600 {
        let expected = if i % 3 == 0 {
            roots.strong[1]
        } else {
            heap.nil()
        };
        assert_eq!(heap.slot(weak, i), expected, "slot {i}");
    }
    assert_eq!(count(&heap), 2);
}

#[test]
fn weak_roots() {
    let mut heap = heap();
    let alive = heap.alloc(CLS, Format::Indexable, 300).unwrap();
    let dead = heap.alloc(CLS, Format::Indexable, 300).unwrap();
    let dead_small = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let mut roots = VecRoots {
        strong: vec![alive.word()],
        weak: vec![
            dead.word(),
            alive.word(),
            Word::small_int(3),
            dead_small.word(),
        ],
    };
    collect(&mut heap, &mut roots);
    assert_eq!(
        roots.weak,
        [heap.nil(), roots.strong[0], Word::small_int(3), heap.nil()]
    );
    assert_eq!(count(&heap), 1);
}

#[test]
fn one_object_reached_from_many_roots_and_slots_is_copied_once() {
    let mut heap = heap();
    let shared = heap.alloc(CLS, Format::Indexable, 260).unwrap();
    let holder = heap.alloc(CLS, Format::Indexable, 3).unwrap();
    for i in 0..3 {
        heap.set_slot(holder, i, shared.word());
    }
    heap.set_slot(shared, 0, holder.word());
    let h = heap.push_handle(shared.word());
    heap.classes_mut().set(ClassIndex(11), shared.word());
    let mut roots = VecRoots::strong(&[shared.word(), holder.word(), shared.word()]);
    roots.weak.push(shared.word());
    collect(&mut heap, &mut roots);
    let s = roots.strong[0];
    assert_eq!(roots.strong[2], s);
    assert_eq!(roots.weak[0], s);
    assert_eq!(heap.handle(h), s);
    assert_eq!(heap.classes().get(ClassIndex(11)), Some(s));
    let holder = roots.oop(1);
    assert!((0..3).all(|i| heap.slot(holder, i) == s));
    assert_eq!(heap.slot(s.oop(), 0), holder.word());
    assert_eq!(count(&heap), 2);
}

#[test]
fn cycles_survive_when_rooted_and_die_when_not() {
    let mut heap = heap();
    let selfish = heap.alloc(CLS, Format::Fixed, 1).unwrap();
    heap.set_slot(selfish, 0, selfish.word());
    // A ring of 1000 objects, alternating small and large.
    let ring: Vec<Oop> = (0..1000)
        .map(|i| {
            let n = if i % 100 == 0 { 300 } else { 2 };
            let o = heap.alloc(CLS, Format::Indexable, n).unwrap();
            heap.set_slot(o, 1, Word::from_usize(i));
            o
        })
        .collect();
    for i in 0..ring.len() {
        heap.set_slot(ring[i], 0, ring[(i + 1) % ring.len()].word());
    }
    let mut roots = VecRoots::strong(&[selfish.word(), ring[500].word()]);
    collect(&mut heap, &mut roots);
    assert_eq!(count(&heap), 1001);
    let s = roots.oop(0);
    assert_eq!(heap.slot(s, 0), s.word());
    let mut o = roots.oop(1);
    for i in 0..1000 {
        assert_eq!(heap.slot(o, 1), Word::from_usize((500 + i) % 1000));
        o = heap.slot(o, 0).oop();
    }
    assert_eq!(o, roots.oop(1));
    roots.strong.clear();
    collect(&mut heap, &mut roots);
    assert_eq!(count(&heap), 0);
}

#[test]
fn identity_hashes_are_nonzero_stable_and_survive_moves() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    let mut hashes = Vec::new();
    for i in 0..2000 {
        let n = if i % 500 == 0 { 255 } else { i % 4 };
        let o = heap.alloc(CLS, Format::Indexable, n).unwrap();
        assert_eq!(heap.peek_identity_hash(o), 0, "no hash until asked");
        let h = heap.identity_hash(o);
        assert!((1..=MAX_HASH).contains(&h));
        assert_eq!(heap.identity_hash(o), h);
        assert_eq!(heap.peek_identity_hash(o), h);
        if i % 2 == 0 {
            roots.strong.push(o.word());
            hashes.push(h);
        }
    }
    // Hashes spread out (not a constant or a short cycle).
    let mut distinct = hashes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > hashes.len() * 9 / 10);
    for _ in 0..3 {
        collect(&mut heap, &mut roots);
        for (k, &h) in hashes.iter().enumerate() {
            assert_eq!(heap.peek_identity_hash(roots.oop(k)), h);
        }
    }
    // Changing the class keeps the hash, and the hash keeps the class.
    let o = roots.oop(0);
    heap.set_class_index(o, ClassIndex(12));
    let nil = heap.nil();
    heap.classes_mut().set(ClassIndex(12), nil);
    assert_eq!(heap.peek_identity_hash(o), hashes[0]);
    assert_eq!(heap.header(o).class_index(), ClassIndex(12));
}

#[test]
fn identity_hash_is_never_zero_over_many_objects() {
    let mut heap = heap_with(HeapConfig {
        initial_bytes: 2 << 20,
        ..HeapConfig::default()
    });
    for _ in 0..100_000 {
        let o = match heap.alloc(CLS, Format::Fixed, 0) {
            Ok(o) => o,
            Err(_) => {
                heap.collect(&mut (), 0).unwrap();
                heap.alloc(CLS, Format::Fixed, 0).unwrap()
            }
        };
        assert_ne!(heap.identity_hash(o), 0);
    }
}

#[test]
fn class_indices_of_immediates_and_objects() {
    let mut heap = heap();
    let o = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    assert_eq!(
        heap.class_index_of(Word::small_int(-1)),
        SMALL_INTEGER_CLASS
    );
    assert_eq!(heap.class_index_of(Word::character(65)), CHARACTER_CLASS);
    assert_eq!(
        heap.class_index_of(Word::try_small_float(1.0).unwrap()),
        SMALL_FLOAT_CLASS
    );
    assert_eq!(heap.class_index_of(o.word()), CLS);
    heap.set_class_index(o, ClassIndex(4000));
    assert_eq!(heap.class_index_of(o.word()), ClassIndex(4000));
}

#[test]
fn the_class_table_is_a_root() {
    let mut heap = heap();
    let class = heap.alloc(CLS, Format::Fixed, 1).unwrap();
    heap.set_slot(class, 0, Word::small_int(42));
    let index = heap
        .classes_mut()
        .register(class.word(), FIRST_FREE_CLASS)
        .unwrap();
    let instance = heap.alloc(index, Format::Fixed, 0).unwrap();
    let mut roots = VecRoots::strong(&[instance.word()]);
    heap.alloc(CLS, Format::Indexable, 10).unwrap(); // garbage
    collect(&mut heap, &mut roots);
    let class = heap.classes().get(index).unwrap().oop();
    assert_eq!(heap.slot(class, 0), Word::small_int(42));
    assert_eq!(heap.class_index_of(roots.strong[0]), index);
    assert_eq!(count(&heap), 2);
}

#[test]
fn copy_slots_between_objects() {
    let mut heap = heap();
    let a = heap.alloc(CLS, Format::Indexable, 300).unwrap();
    let b = heap.alloc(CLS, Format::Indexable, 5).unwrap();
    for i in 0..300 {
        heap.set_slot(a, i, Word::from_usize(i));
    }
    heap.copy_slots(a, 290, b, 1, 4);
    let got: Vec<Word> = (0..5).map(|i| heap.slot(b, i)).collect();
    let n = heap.nil();
    assert_eq!(
        got,
        [
            n,
            Word::small_int(290),
            Word::small_int(291),
            Word::small_int(292),
            Word::small_int(293)
        ]
    );
    // Overlapping copy within one object.
    heap.copy_slots(a, 0, a, 1, 10);
    assert_eq!(heap.slot(a, 1), Word::small_int(0));
    assert_eq!(heap.slot(a, 10), Word::small_int(9));
}

#[test]
fn nil_and_the_first_roots_never_move() {
    // The VM allocates nil, true and false first and visits true and false first: they keep
    // their offsets across collections (the JIT compares with them as constants).
    let mut heap = Heap::new(HeapConfig::default());
    let nil = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    heap.set_nil(nil.word());
    let t = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let f = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    let meta = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    heap.classes_mut().set(CLS, meta.word());
    for _ in 0..100 {
        heap.alloc(CLS, Format::Indexable, 10).unwrap();
    }
    let mut roots = VecRoots::default();
    roots.strong.push(t.word());
    roots.strong.push(f.word());
    for _ in 0..3 {
        collect(&mut heap, &mut roots);
        assert_eq!(heap.nil(), nil.word());
        assert_eq!(roots.strong, vec![t.word(), f.word()]);
    }
}

#[test]
fn the_read_only_bit_survives_collections() {
    let mut heap = heap();
    let a = heap.alloc(CLS, Format::Indexable, 3).unwrap();
    let b = heap.alloc_bytes_from(CLS, b"lit").unwrap();
    heap.set_read_only(a, true);
    heap.set_read_only(b, true);
    let c = heap.alloc(CLS, Format::Indexable, 1).unwrap();
    let mut roots = VecRoots::default();
    roots.strong.extend([a.word(), b.word(), c.word()]);
    collect(&mut heap, &mut roots);
    assert!(heap.is_read_only(roots.oop(0)));
    assert!(heap.is_read_only(roots.oop(1)));
    assert!(!heap.is_read_only(roots.oop(2)));
    assert_eq!(heap.bytes(roots.oop(1)), b"lit");
}

#[test]
fn byte_objects_know_when_their_bytes_are_ascii() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    let c = CLS;
    // Made from ASCII bytes or zeros: known; from other bytes: not known.
    let a = heap.alloc_bytes_from(c, b"hello").unwrap();
    assert!(heap.header(a).is_ascii());
    let z = heap.alloc_bytes(c, 12).unwrap();
    assert!(heap.header(z).is_ascii());
    let u = heap.alloc_bytes_from(c, "héllo".as_bytes()).unwrap();
    assert!(!heap.header(u).is_ascii());
    assert!(!heap.bytes_are_ascii(u));
    // Writing ASCII keeps it known; writing anything else, or through bytes_mut, forgets it.
    heap.write_bytes(a, 1, b"E");
    assert!(heap.header(a).is_ascii());
    heap.write_bytes(a, 1, &[0xC3]);
    assert!(!heap.header(a).is_ascii());
    assert!(!heap.bytes_are_ascii(a));
    heap.write_bytes(a, 1, b"e");
    assert!(!heap.header(a).is_ascii(), "not known until a pass");
    assert!(heap.bytes_are_ascii(a), "a pass finds it");
    assert!(heap.header(a).is_ascii(), "and the header keeps it");
    heap.bytes_mut(a)[0] = b'j';
    assert!(!heap.header(a).is_ascii());
    assert!(heap.bytes_are_ascii(a));
    // Copying raw slots into it forgets it too.
    heap.copy_slots(u, 0, a, 0, 1);
    assert!(!heap.header(a).is_ascii());
    assert_eq!(heap.bytes(a), &"héllo".as_bytes()[..5]);
    assert!(!heap.bytes_are_ascii(a));
    // The bit moves with the object.
    let b = heap.alloc_bytes_from(c, b"kept").unwrap();
    roots.strong.push(b.word());
    collect(&mut heap, &mut roots);
    let b = roots.oop(0);
    assert!(heap.header(b).is_ascii());
    assert_eq!(heap.bytes(b), b"kept");
}
