//! Object-memory benchmarks: allocation rate and collection time per MB of live data.
//!
//! * `alloc/mostly-garbage/N-slot`: allocates small objects, keeping one in 16 alive for a
//!   while in a rooted ring of 1024 slots; when the space fills the benchmark collects and
//!   retries, as the VM does at a safepoint, so collections are included in the rate.
//!   Throughput is in objects (criterion's `elem/s`).
//! * `collect/small-objects/N MB` and `collect/arrays/N MB`: one collection of a live graph of
//!   N MB (4-slot objects linked in a list with extra sharing, or 1022-slot arrays of
//!   SmallIntegers). Throughput is in live bytes; the bench also prints ms per MB.
//!
//! Every benchmark checks its results afterwards: the verifier is clean and the live data is
//! intact (counts and checksums).
//!
//! Run with `cargo bench -p smalt-gc`; the figures are recorded in `docs/object-format.md`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use smalt_gc::*;
use std::hint::black_box;
use std::time::Duration;

const CLS: ClassIndex = ClassIndex(10);
const MB: usize = 1 << 20;

struct VecRoots(Vec<Word>);

impl Roots for VecRoots {
    fn visit_strong(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        self.0.iter_mut().for_each(visit);
    }
}

/// A heap with nil and a class object registered at `CLS`.
fn new_heap(initial_bytes: usize) -> Heap {
    let mut heap = Heap::new(HeapConfig {
        initial_bytes,
        max_bytes: 1 << 30,
        grow_percent: 50,
        reserve_bytes: 0,
    });
    let nil = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    heap.set_nil(nil.word());
    let class = heap.alloc(CLS, Format::Fixed, 0).unwrap();
    heap.classes_mut().set(CLS, class.word());
    heap
}

/// Allocates following the VM's protocol: on `Exhausted`, collect and retry.
#[inline]
fn alloc(heap: &mut Heap, roots: &mut VecRoots, format: Format, slots: usize) -> Oop {
    match heap.alloc(CLS, format, slots) {
        Ok(o) => o,
        Err(AllocError::Exhausted) => {
            heap.collect(roots, slots).unwrap();
            heap.alloc(CLS, format, slots).unwrap()
        }
        Err(e) => panic!("{e}"),
    }
}

// ---- allocation rate -----------------------------------------------------------------------

const RING: usize = 1024;
const BATCH: u64 = 100_000;

fn alloc_rate(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc");
    group.throughput(Throughput::Elements(BATCH));
    for slots in [2usize, 4] {
        let mut heap = new_heap(8 * MB);
        let ring = heap.alloc(CLS, Format::Indexable, RING).unwrap();
        let mut roots = VecRoots(vec![ring.word()]);
        let mut made: u64 = 0;
        group.bench_function(
            BenchmarkId::new("mostly-garbage", format!("{slots}-slot")),
            |b| {
                b.iter(|| {
                    for _ in 0..BATCH {
                        let o = alloc(&mut heap, &mut roots, Format::Fixed, slots);
                        heap.set_slot(o, 0, Word::small_int(made as i64));
                        if made.is_multiple_of(16) {
                            let ring = roots.0[0].oop();
                            heap.set_slot(ring, (made / 16) as usize % RING, o.word());
                        }
                        made += 1;
                    }
                    black_box(&heap);
                })
            },
        );
        // Check: the ring holds the last survivors, numbered as allocated.
        heap.verify(&mut roots).unwrap();
        let ring = roots.0[0].oop();
        let newest = (made - 1) / 16 * 16;
        for k in 0..RING as u64 {
            let Some(n) = newest.checked_sub(16 * k) else {
                break;
            };
            let o = heap.slot(ring, (n / 16) as usize % RING).oop();
            assert_eq!(heap.num_slots(o), slots);
            assert_eq!(heap.slot(o, 0), Word::small_int(n as i64));
        }
        let s = heap.stats();
        eprintln!(
            "alloc {slots}-slot: {made} objects, {} collections, {:.3} ms per collection, \
             capacity {} KiB",
            s.collections,
            ms(s.total_time) / s.collections.max(1) as f64,
            heap.capacity_bytes() >> 10,
        );
    }
    group.finish();
}

// ---- collection time per MB live -----------------------------------------------------------

/// A live graph and what to check it against.
struct Graph {
    heap: Heap,
    roots: VecRoots,
    objects: usize,
    checksum: i64,
}

/// A list of 4-slot objects: next, two SmallIntegers, and a reference two back (sharing).
fn small_objects(live: usize) -> Graph {
    let n = live / (5 * 8);
    let mut heap = new_heap(live + MB);
    let mut roots = VecRoots(vec![heap.nil()]);
    let mut prev = heap.nil();
    for i in 0..n {
        let o = alloc(&mut heap, &mut roots, Format::Fixed, 4);
        let head = roots.0[0];
        heap.set_slot(o, 0, head);
        heap.set_slot(o, 1, Word::from_usize(i));
        heap.set_slot(o, 2, Word::from_usize(i * 3));
        heap.set_slot(o, 3, prev);
        prev = head;
        roots.0[0] = o.word();
    }
    let mut g = Graph {
        heap,
        roots,
        objects: n,
        checksum: 0,
    };
    g.checksum = small_objects_checksum(&g);
    g
}

fn small_objects_checksum(g: &Graph) -> i64 {
    let (heap, nil) = (&g.heap, g.heap.nil());
    let mut w = g.roots.0[0];
    let (mut count, mut sum) = (0usize, 0i64);
    while w != nil {
        let o = w.oop();
        sum = sum.wrapping_add(heap.slot(o, 1).as_small_int().unwrap());
        sum = sum.wrapping_add(heap.slot(o, 2).as_small_int().unwrap());
        let back = heap.slot(o, 3);
        let next = heap.slot(o, 0);
        // The shared reference is the object two further down the list.
        let expected = if next == nil {
            nil
        } else {
            heap.slot(next.oop(), 0)
        };
        assert_eq!(back, expected);
        count += 1;
        w = next;
    }
    assert_eq!(count, g.objects);
    sum
}

/// A list of 1022-slot arrays (8 KiB each with header and overflow word): slot 0 links, the
/// rest are SmallIntegers.
const ARRAY_SLOTS: usize = 1022;

fn arrays(live: usize) -> Graph {
    let n = live / ((ARRAY_SLOTS + 2) * 8);
    let mut heap = new_heap(live + MB);
    let mut roots = VecRoots(vec![heap.nil()]);
    for i in 0..n {
        let o = alloc(&mut heap, &mut roots, Format::Indexable, ARRAY_SLOTS);
        heap.set_slot(o, 0, roots.0[0]);
        for j in 1..ARRAY_SLOTS {
            heap.set_slot(o, j, Word::from_usize(i + j));
        }
        roots.0[0] = o.word();
    }
    let mut g = Graph {
        heap,
        roots,
        objects: n,
        checksum: 0,
    };
    g.checksum = arrays_checksum(&g);
    g
}

fn arrays_checksum(g: &Graph) -> i64 {
    let (heap, nil) = (&g.heap, g.heap.nil());
    let mut w = g.roots.0[0];
    let (mut count, mut sum) = (0usize, 0i64);
    while w != nil {
        let o = w.oop();
        assert_eq!(heap.num_slots(o), ARRAY_SLOTS);
        for j in 1..ARRAY_SLOTS {
            sum = sum.wrapping_add(heap.slot(o, j).as_small_int().unwrap());
        }
        count += 1;
        w = heap.slot(o, 0);
    }
    assert_eq!(count, g.objects);
    sum
}

fn collect_time(c: &mut Criterion) {
    type Builder = fn(usize) -> Graph;
    type Checker = fn(&Graph) -> i64;
    let shapes: [(&str, Builder, Checker); 2] = [
        ("small-objects", small_objects, small_objects_checksum),
        ("arrays", arrays, arrays_checksum),
    ];
    let mut group = c.benchmark_group("collect");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for (name, build, check) in shapes {
        for mb in [1usize, 8, 32] {
            let mut g = build(mb * MB);
            // The first collection settles the space size; measure the steady state.
            g.heap.collect(&mut g.roots, 0).unwrap();
            let live = g.heap.stats().live_bytes_after_last;
            let before = g.heap.stats().clone();
            group.throughput(Throughput::Bytes(live as u64));
            group.bench_function(BenchmarkId::new(name, format!("{mb} MB")), |b| {
                b.iter(|| g.heap.collect(&mut g.roots, 0).unwrap())
            });
            let s = g.heap.stats();
            let n = s.collections - before.collections;
            let per = ms(s.total_time - before.total_time) / n as f64;
            assert_eq!(s.live_bytes_after_last, live, "live data changed");
            g.heap.poison_spare();
            g.heap.verify(&mut g.roots).unwrap();
            assert_eq!(check(&g), g.checksum, "graph damaged");
            eprintln!(
                "collect {name} {mb} MB: {:.2} MB live, {n} collections, {per:.3} ms each, \
                 {:.3} ms per MB live",
                live as f64 / MB as f64,
                per / (live as f64 / MB as f64),
            );
        }
    }
    group.finish();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

criterion_group!(benches, alloc_rate, collect_time);
criterion_main!(benches);
