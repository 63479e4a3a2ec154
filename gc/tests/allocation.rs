//! Allocation and the safepoint protocol: exhaustion → collect → retry, the growth policy,
//! out-of-memory at the maximum heap, huge requests, handles, GC stress and statistics.
mod common;
use common::*;
use smalt_gc::*;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

fn config(initial: usize, max: usize, grow_percent: usize) -> HeapConfig {
    HeapConfig {
        initial_bytes: initial,
        max_bytes: max,
        grow_percent,
        reserve_bytes: 0,
    }
}

/// Allocates `n` objects of `slots` slots into a linked list rooted at `roots.strong[0]`
/// (slot 0 links, slot 1 numbers them), following the safepoint protocol. Stops early on
/// out-of-memory and returns how many were made.
fn grow_list(heap: &mut Heap, roots: &mut VecRoots, n: usize, slots: usize) -> usize {
    if roots.strong.is_empty() {
        roots.strong.push(heap.nil());
    }
    for i in 0..n {
        let o = match alloc_retrying(heap, roots, Format::Indexable, slots) {
            Ok(o) => o,
            Err(AllocError::OutOfMemory { .. }) => return i,
            Err(e) => panic!("{e}"),
        };
        let head = roots.strong[0];
        let number = match head.as_oop() {
            Some(h) if head != heap.nil() => heap.slot(h, 1).as_small_int().unwrap() + 1,
            _ => 0,
        };
        heap.set_slot(o, 0, head);
        heap.set_slot(o, 1, Word::small_int(number));
        roots.strong[0] = o.word();
    }
    n
}

/// Walks the list made by `grow_list` and returns its length, checking the numbers.
fn list_len(heap: &Heap, roots: &VecRoots) -> usize {
    let mut w = roots.strong[0];
    let mut n = 0;
    while w != heap.nil() {
        let o = w.oop();
        n += 1;
        w = heap.slot(o, 0);
        let expected_next = heap.slot(o, 1).as_small_int().unwrap();
        if w != heap.nil() {
            assert_eq!(
                heap.slot(w.oop(), 1).as_small_int(),
                Some(expected_next - 1)
            );
        }
    }
    n
}

#[test]
fn exhaustion_then_collect_then_retry_succeeds_without_growing_on_garbage() {
    let mut heap = heap();
    let cap = heap.capacity_bytes();
    let mut roots = VecRoots::default();
    let mut exhausted = 0;
    for i in 0..50_000 {
        match heap.alloc(CLS, Format::Fixed, 4) {
            Ok(o) => heap.set_slot(o, 0, Word::from_usize(i)),
            Err(AllocError::Exhausted) => {
                assert!(!heap.can_allocate(4));
                exhausted += 1;
                heap.collect(&mut roots, 4).unwrap();
                assert!(heap.can_allocate(4));
                heap.alloc(CLS, Format::Fixed, 4).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(exhausted > 10);
    assert_eq!(heap.stats().collections, exhausted);
    assert_eq!(heap.capacity_bytes(), cap, "all garbage: no growth");
    heap.verify(&mut roots).unwrap();
}

#[test]
fn the_space_grows_when_live_data_passes_grow_percent() {
    for grow_percent in [10, 50, 100] {
        let mut heap = heap_with(config(64 * KIB, 64 * MIB, grow_percent));
        let mut roots = VecRoots::default();
        let mut last_cap = heap.capacity_bytes();
        let mut grew = 0;
        for _ in 0..40 {
            grow_list(&mut heap, &mut roots, 1000, 6);
            heap.collect(&mut roots, 0).unwrap();
            let (live, cap) = (heap.stats().live_bytes_after_last, heap.capacity_bytes());
            // After a collection, live data (plus the request's header room) fits the policy.
            assert!(
                (live + 16) * 100 <= cap * grow_percent.max(10),
                "{grow_percent}%: {live} live in {cap}"
            );
            if cap > last_cap {
                grew += 1;
                assert!(cap >= 2 * last_cap, "growth at least doubles");
            }
            last_cap = cap;
        }
        assert!(grew >= 2, "{grow_percent}%: grew {grew} times");
        assert_eq!(list_len(&heap, &roots), 40_000);
        heap.verify(&mut roots).unwrap();
    }
}

#[test]
fn a_large_request_grows_the_space_to_fit() {
    let mut heap = heap_with(config(64 * KIB, 64 * MIB, 100));
    let mut roots = VecRoots::default();
    let slots = 1 << 20; // 8 MiB
    assert_eq!(
        heap.alloc(CLS, Format::Indexable, slots),
        Err(AllocError::Exhausted)
    );
    heap.collect(&mut roots, slots).unwrap();
    assert!(heap.capacity_bytes() >= (slots + 2) * 8);
    let o = heap.alloc(CLS, Format::Indexable, slots).unwrap();
    heap.set_slot(o, slots - 1, Word::small_int(1));
    roots.strong.push(o.word());
    collect(&mut heap, &mut roots);
    assert_eq!(heap.num_slots(roots.oop(0)), slots);
    assert_eq!(heap.slot(roots.oop(0), slots - 1), Word::small_int(1));
}

#[test]
fn out_of_memory_at_the_maximum_heap_is_clean() {
    let max = MIB;
    let mut heap = heap_with(config(64 * KIB, max, 50));
    let mut roots = VecRoots::default();
    let made = grow_list(&mut heap, &mut roots, 1_000_000, 8);
    assert!(made > 1000 && made < 1_000_000, "made {made}");
    assert!(heap.capacity_bytes() <= max);
    // The heap is consistent and every object made is still there.
    heap.verify(&mut roots).unwrap();
    assert_eq!(list_len(&heap, &roots), made);
    // Collecting again reports the same, and dropping the data makes room again.
    assert!(matches!(
        heap.collect(&mut roots, 1000),
        Err(AllocError::OutOfMemory { .. }) | Ok(())
    ));
    roots.strong[0] = heap.nil();
    heap.collect(&mut roots, 1000).unwrap();
    assert_eq!(count(&heap), 0);
    assert!(heap.can_allocate(1000));
}

#[test]
fn out_of_memory_reports_request_and_limit() {
    let mut heap = heap_with(config(64 * KIB, 256 * KIB, 50));
    let mut roots = VecRoots::default();
    let err = heap.collect(&mut roots, 40_000).unwrap_err();
    assert_eq!(
        err,
        AllocError::OutOfMemory {
            requested: 40_000 * 8,
            limit: 256 * KIB
        }
    );
    assert_eq!(
        err.to_string(),
        "out of memory: 320000 bytes requested, heap limit 262144 bytes"
    );
    assert_eq!(heap.capacity_bytes(), 64 * KIB, "nothing grew");
    // A request that fits at the maximum size grows the space.
    heap.collect(&mut roots, 20_000).unwrap();
    assert!(heap.capacity_bytes() > 64 * KIB && heap.capacity_bytes() <= 256 * KIB);
    heap.alloc(CLS, Format::Indexable, 20_000).unwrap();
}

#[test]
fn huge_requests_fail_at_once_without_touching_memory() {
    let mut heap = heap(); // default maximum: 4 GiB
    let cap = heap.capacity_bytes();
    let o = heap.alloc(CLS, Format::Fixed, 1).unwrap();
    let mut roots = VecRoots::strong(&[o.word()]);
    for slots in [1 << 30, MAX_OBJECT_SLOTS] {
        assert!(matches!(
            heap.alloc(CLS, Format::Indexable, slots),
            Err(AllocError::OutOfMemory { .. })
        ));
        assert!(!heap.can_allocate(slots));
        assert!(matches!(
            heap.collect(&mut roots, slots),
            Err(AllocError::OutOfMemory { .. })
        ));
        assert_eq!(heap.capacity_bytes(), cap, "{slots} slots: nothing grew");
    }
    for slots in [MAX_OBJECT_SLOTS + 1, 1 << 39, usize::MAX] {
        assert_eq!(
            heap.alloc(CLS, Format::Weak, slots),
            Err(AllocError::TooLarge { slots })
        );
        assert!(!heap.can_allocate(slots));
    }
    assert!(matches!(
        heap.alloc_bytes(CLS, usize::MAX),
        Err(AllocError::TooLarge { .. })
    ));
    assert!(matches!(
        heap.alloc_bytes(CLS, 1 << 33),
        Err(AllocError::OutOfMemory { .. })
    ));
    assert!(matches!(
        heap.alloc_method(CLS, 3, usize::MAX),
        Err(AllocError::TooLarge { .. })
    ));
    assert!(matches!(
        heap.collect(&mut roots, usize::MAX),
        Err(AllocError::OutOfMemory { .. })
    ));
    assert_eq!(heap.capacity_bytes(), cap);
    heap.verify(&mut roots).unwrap();
    assert_eq!(count(&heap), 1);
}

#[test]
fn the_maximum_is_capped_at_the_largest_space() {
    let mut heap = heap_with(config(64 * KIB, usize::MAX, 50));
    // The largest object exactly fills a largest space: reserved word, overflow word, header.
    assert_eq!(MAX_OBJECT_SLOTS + 3, MAX_SPACE_BYTES / 8);
    assert_eq!(
        heap.alloc(CLS, Format::Indexable, MAX_OBJECT_SLOTS),
        Err(AllocError::Exhausted)
    );
    // ...but not beside nil and the class object.
    assert!(matches!(
        heap.collect(&mut (), MAX_OBJECT_SLOTS),
        Err(AllocError::OutOfMemory { limit, .. }) if limit == MAX_SPACE_BYTES
    ));
    assert_eq!(heap.capacity_bytes(), 64 * KIB);
}

#[test]
fn an_initial_size_above_the_maximum_is_the_limit() {
    let mut heap = heap_with(config(256 * KIB, 64 * KIB, 50));
    assert_eq!(heap.capacity_bytes(), 256 * KIB);
    let mut roots = VecRoots::default();
    let made = grow_list(&mut heap, &mut roots, 100_000, 4);
    assert!(made > 1000);
    assert_eq!(heap.capacity_bytes(), 256 * KIB);
    assert_eq!(list_len(&heap, &roots), made);
}

#[test]
fn tiny_initial_sizes_are_raised_to_the_minimum() {
    let heap = Heap::try_new(config(0, MIB, 50)).unwrap();
    assert_eq!(heap.capacity_bytes(), 8 * KIB);
    assert_eq!(heap.used_bytes(), 8, "only the reserved word");
}

#[test]
fn handles_survive_collections_and_release_in_stack_order() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    let outer = heap.handle_mark();
    let a = heap.alloc(CLS, Format::Indexable, 300).unwrap();
    heap.set_slot(a, 299, Word::small_int(299));
    let ha = heap.push_handle(a.word());
    let inner = heap.handle_mark();
    assert_ne!(inner, outer);
    let b = heap.alloc_bytes_from(CLS, b"handle").unwrap();
    let hb = heap.push_handle(b.word());
    let hi = heap.push_handle(Word::small_int(9));
    heap.alloc(CLS, Format::Fixed, 3).unwrap(); // garbage
    collect(&mut heap, &mut roots);
    assert_eq!(count(&heap), 2);
    let a = heap.handle(ha).oop();
    assert_eq!(heap.slot(a, 299), Word::small_int(299));
    assert_eq!(heap.bytes(heap.handle(hb).oop()), b"handle");
    assert_eq!(heap.handle(hi), Word::small_int(9));
    // set_handle replaces the value; the old referent is then garbage.
    heap.set_handle(hb, Word::character('z' as u32));
    collect(&mut heap, &mut roots);
    assert_eq!(count(&heap), 1);
    assert_eq!(heap.handle(hb), Word::character('z' as u32));
    heap.release_handles(inner);
    assert_eq!(heap.handle_mark(), inner);
    assert_eq!(heap.bytes(heap.handle(ha).oop()).len(), 300 * 8);
    heap.release_handles(outer);
    collect(&mut heap, &mut roots);
    assert_eq!(count(&heap), 0);
}

#[test]
fn stress_mode_counts_safepoints() {
    let mut heap = heap();
    assert!(!heap.stress());
    assert!((0..10).all(|_| !heap.stress_due()));
    heap.set_stress(3);
    assert!(heap.stress());
    let due: Vec<bool> = (0..9).map(|_| heap.stress_due()).collect();
    assert_eq!(
        due,
        [false, false, true, false, false, true, false, false, true]
    );
    // Setting the interval restarts the count.
    heap.stress_due();
    heap.set_stress(2);
    assert_eq!([heap.stress_due(), heap.stress_due()], [false, true]);
    heap.set_stress(1);
    assert!((0..10).all(|_| heap.stress_due()));
    heap.set_stress(0);
    assert!(!heap.stress());
    assert!((0..10).all(|_| !heap.stress_due()));
}

#[test]
fn a_vm_loop_under_stress_collects_at_every_safepoint() {
    let mut heap = heap();
    heap.set_stress(1);
    let mut roots = VecRoots::default();
    for i in 0..200 {
        // Safepoint: the VM polls, collects, verifies.
        if heap.stress_due() {
            collect(&mut heap, &mut roots);
        }
        let o = alloc_retrying(&mut heap, &mut roots, Format::Indexable, 2).unwrap();
        heap.set_slot(o, 0, roots.strong.first().copied().unwrap_or(heap.nil()));
        heap.set_slot(o, 1, Word::from_usize(i));
        roots.strong = vec![o.word()];
    }
    assert_eq!(heap.stats().collections, 200);
    assert_eq!(count(&heap), 200);
}

#[test]
fn statistics() {
    let mut heap = heap();
    let s0 = heap.stats().clone();
    assert_eq!(s0.collections, 0);
    let base = s0.bytes_allocated;
    let big = heap.alloc(CLS, Format::Indexable, 300).unwrap();
    heap.alloc(CLS, Format::Fixed, 2).unwrap();
    assert_eq!(heap.stats().bytes_allocated, base + (302 + 3) * 8);
    let mut roots = VecRoots::strong(&[big.word()]);
    collect(&mut heap, &mut roots);
    collect(&mut heap, &mut roots);
    let s = heap.stats();
    assert_eq!(s.collections, 2);
    assert_eq!(s.live_bytes_after_last, heap.used_bytes());
    // Reserved word, nil, class, big (overflow + header + slots).
    assert_eq!(s.live_bytes_after_last, (1 + 1 + 1 + 302) * 8);
    assert_eq!(s.bytes_copied, 2 * s.live_bytes_after_last as u64);
    assert!(s.total_time > std::time::Duration::ZERO);
}

#[test]
fn poisoned_spare_space_is_harmless() {
    let mut heap = heap();
    let mut roots = VecRoots::default();
    for round in 0..20 {
        grow_list(&mut heap, &mut roots, 500, 3);
        heap.poison_spare();
        collect(&mut heap, &mut roots);
        assert_eq!(list_len(&heap, &roots), 500 * (round + 1));
    }
}

#[test]
fn the_fast_allocation_path_makes_what_alloc_makes_or_declines() {
    let mut a = Heap::new(HeapConfig::default());
    let mut b = Heap::new(HeapConfig::default());
    let nil = a.alloc(ClassIndex(9), Format::Fixed, 0).unwrap().word();
    assert_eq!(
        b.alloc(ClassIndex(9), Format::Fixed, 0).unwrap().word(),
        nil
    );
    a.set_nil(nil);
    b.set_nil(nil);
    for (format, slots) in [
        (Format::Fixed, 3),
        (Format::Indexable, 0),
        (Format::FixedIndexable, 7),
        (Format::Words, 2),
        (Format::Indexable, OVERFLOW_SLOTS - 3),
    ] {
        let x = a.alloc(ClassIndex(12), format, slots).unwrap();
        let y = b.alloc_fast(ClassIndex(12), format, slots).unwrap();
        assert_eq!(x, y, "{format:?}");
        assert_eq!(a.header(x), b.header(y), "{format:?}");
        for i in 0..slots {
            assert_eq!(a.slot(x, i), b.slot(y, i), "{format:?} {i}");
        }
        assert_eq!(a.used_bytes(), b.used_bytes());
        assert_eq!(a.stats().bytes_allocated, b.stats().bytes_allocated);
    }
    // Big objects, padded byte formats and GC stress take the ordinary path.
    assert!(
        b.alloc_fast(ClassIndex(12), Format::Indexable, OVERFLOW_SLOTS)
            .is_none()
    );
    assert!(
        b.alloc_fast(ClassIndex(12), Format::Bytes { unused: 3 }, 1)
            .is_none()
    );
    b.set_stress(1);
    assert_eq!(b.native_limit(), 0);
    assert!(b.alloc_fast(ClassIndex(12), Format::Fixed, 1).is_none());
    b.set_stress(0);
    assert_eq!(b.native_limit(), b.used_bytes() / 8 + b.free_words() - 2);
    // Nor does it allocate the last words the VM's reserve keeps free.
    let free = b.free_words();
    b.alloc(ClassIndex(12), Format::Indexable, free - 12)
        .unwrap();
    assert_eq!(b.free_words(), 10);
    assert!(b.alloc_fast(ClassIndex(12), Format::Indexable, 8).is_none());
    assert!(b.alloc_fast(ClassIndex(12), Format::Indexable, 7).is_some());
    // The limit follows the space through collections, growth and the reserve.
    let mut roots = VecRoots::default();
    for _ in 0..3 {
        b.collect(&mut roots, 100_000).unwrap();
        assert_eq!(b.native_limit(), b.used_bytes() / 8 + b.free_words() - 2);
    }
    b.release_reserve();
    assert_eq!(b.native_limit(), b.used_bytes() / 8 + b.free_words() - 2);
    assert!(b.rearm_reserve());
    assert_eq!(b.native_limit(), b.used_bytes() / 8 + b.free_words() - 2);
}
