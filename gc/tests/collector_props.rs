//! Property tests of the collector against a model.
//!
//! A random program of operations builds an object graph (every format, large objects with
//! overflow words, compiled methods, weak slots and weak roots, sharing, cycles, garbage),
//! mutates it, and collects, following the VM's protocol: an allocation that reports
//! `Exhausted` collects and retries. A Rust-side [`Model`] keeps the same graph keyed by an id
//! that each object also stores (slot 0 of pointer objects, word 0 of word objects, the bits
//! above the low 16 of a method's slot 0; byte objects are identified through the references
//! to them).
//!
//! After each collection the model drops what is not strongly reachable and clears weak
//! references to it, and [`World::check`] walks the heap and the model side by side from every
//! root: the heap's reachable graph must be isomorphic to the model (one heap object per model
//! id and back), with unchanged classes, formats, sizes, identity hashes, slots, words and
//! bytes; the heap must hold nothing else; and the verifier must find nothing wrong.
//!
//! `GC_PROPS_DEBUG=1 cargo test -p smalt-gc --test collector_props -- --nocapture` prints, per
//! program, how many collections ran and how many weak references were cleared.
mod common;
use common::{CLS, VecRoots};
use proptest::prelude::*;
use smalt_gc::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The class-table entry the program may point at a model object (a root).
const CLASS_ROOT: ClassIndex = ClassIndex(11);

/// A value in the model.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
enum V {
    #[default]
    Nil,
    Int(i64),
    Char(u32),
    Float(u64),
    Ref(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fixed,
    Indexable,
    FixedIndexable,
    Weak,
    Words,
    Bytes,
    Method,
}

#[derive(Clone, Debug)]
struct MObj {
    kind: Kind,
    /// Pointer slots: all slots of pointer objects (slot 0 holds the id), a method's slot 0
    /// and literals; empty for words and bytes.
    slots: Vec<V>,
    /// Words of a word object (word 0 holds the id).
    words: Vec<u64>,
    /// Bytes of a byte object or a method's code.
    bytes: Vec<u8>,
    /// Identity hash, 0 until asked for.
    hash: u32,
}

impl MObj {
    /// The slots a program may store references into (not the id or method header).
    fn assignable(&self) -> std::ops::Range<usize> {
        match self.kind {
            Kind::Words | Kind::Bytes => 0..0,
            _ => 1..self.slots.len(),
        }
    }
}

/// The model: objects by id and the roots.
#[derive(Default)]
struct Model {
    /// Weak references cleared so far (for coverage checks).
    cleared: usize,
    objs: BTreeMap<u32, MObj>,
    strong: Vec<V>,
    weak: Vec<V>,
    handles: Vec<V>,
    class_root: V,
}

impl Model {
    /// What a collection does to the model: keep what strong roots reach through strong slots,
    /// clear weak slots and weak roots whose referents are gone.
    fn collect(&mut self) {
        let mut reached = BTreeSet::new();
        let mut stack: Vec<u32> = self
            .strong
            .iter()
            .chain(&self.handles)
            .chain(std::iter::once(&self.class_root))
            .filter_map(|v| match v {
                V::Ref(id) => Some(*id),
                _ => None,
            })
            .collect();
        while let Some(id) = stack.pop() {
            if !reached.insert(id) {
                continue;
            }
            let o = &self.objs[&id];
            if o.kind != Kind::Weak {
                stack.extend(o.slots.iter().filter_map(|v| match v {
                    V::Ref(r) => Some(*r),
                    _ => None,
                }));
            }
        }
        self.objs.retain(|id, _| reached.contains(id));
        let mut cleared = 0;
        let mut clear = |v: &mut V| {
            if let V::Ref(r) = v
                && !reached.contains(r)
            {
                *v = V::Nil;
                cleared += 1;
            }
        };
        for o in self.objs.values_mut() {
            if o.kind == Kind::Weak {
                o.slots.iter_mut().for_each(&mut clear);
            }
        }
        self.weak.iter_mut().for_each(&mut clear);
        self.cleared += cleared;
    }
}

/// What kind of object to allocate.
#[derive(Clone, Debug)]
enum KindSpec {
    Fixed(usize),
    Indexable(usize),
    FixedIndexable(usize),
    Weak(usize),
    Words(usize),
    Bytes(Vec<u8>),
    Method { literals: usize, code: Vec<u8> },
}

impl KindSpec {
    fn slots(&self) -> usize {
        match self {
            KindSpec::Fixed(n)
            | KindSpec::Indexable(n)
            | KindSpec::FixedIndexable(n)
            | KindSpec::Weak(n)
            | KindSpec::Words(n) => n + 1,
            KindSpec::Bytes(b) => b.len().div_ceil(8),
            KindSpec::Method { literals, code } => 1 + literals + code.len().div_ceil(8),
        }
    }
}

/// A value to store; `Obj(i)` names the `i % n`-th of the `n` objects currently valid.
#[derive(Clone, Debug)]
enum ValSpec {
    Nil,
    Int(i64),
    Char(u32),
    Float(f64),
    Obj(usize),
}

#[derive(Clone, Debug)]
enum Op {
    /// Allocate, store `init` in the first assignable slots, optionally store the new object
    /// into slot `link.1` of object `link.0`, optionally make it a root.
    Alloc {
        kind: KindSpec,
        init: Vec<ValSpec>,
        link: Option<(usize, usize)>,
        root: bool,
    },
    Store {
        obj: usize,
        slot: usize,
        val: ValSpec,
    },
    /// Overwrite a word of a word object or a byte of a byte object or method.
    StoreRaw {
        obj: usize,
        index: usize,
        bits: u64,
    },
    Root(ValSpec),
    WeakRoot(ValSpec),
    DropRoot(usize),
    DropWeakRoot(usize),
    PushHandle(ValSpec),
    PopHandles(usize),
    SetClassRoot(ValSpec),
    Hash(usize),
    Verify,
    Collect(u8),
    Poison,
}

struct World {
    heap: Heap,
    roots: VecRoots,
    model: Model,
    /// Heap object of each model id; valid until the next collection.
    oops: HashMap<u32, Oop>,
    /// The ids of `oops`, in a stable order, for `ValSpec::Obj` and the ops' indices.
    valid: Vec<u32>,
    handle_marks: Vec<(HandleMark, Handle)>,
    next_id: u32,
    collections: u64,
    /// Large objects (overflow word) checked after collections (for coverage checks).
    large_checked: usize,
}

impl World {
    fn new(initial_bytes: usize) -> World {
        let heap = common::heap_with(HeapConfig {
            initial_bytes,
            max_bytes: 256 << 20,
            grow_percent: 50,
            reserve_bytes: 0,
        });
        let mut world = World {
            heap,
            roots: VecRoots::default(),
            model: Model::default(),
            oops: HashMap::new(),
            valid: Vec::new(),
            handle_marks: Vec::new(),
            next_id: 1,
            collections: 0,
            large_checked: 0,
        };
        let nil = world.heap.nil();
        world.heap.classes_mut().set(CLASS_ROOT, nil);
        world
    }

    fn resolve(&self, v: &ValSpec) -> V {
        match *v {
            ValSpec::Nil => V::Nil,
            ValSpec::Int(i) => V::Int(i),
            ValSpec::Char(c) => V::Char(c),
            ValSpec::Float(x) => V::Float(x.to_bits()),
            ValSpec::Obj(i) if !self.valid.is_empty() => V::Ref(self.valid[i % self.valid.len()]),
            ValSpec::Obj(_) => V::Nil,
        }
    }

    fn word(&self, v: V) -> Word {
        match v {
            V::Nil => self.heap.nil(),
            V::Int(i) => Word::small_int(i),
            V::Char(c) => Word::character(c),
            V::Float(bits) => Word::try_small_float(f64::from_bits(bits)).unwrap(),
            V::Ref(id) => self.oops[&id].word(),
        }
    }

    fn pick(&self, i: usize) -> Option<u32> {
        (!self.valid.is_empty()).then(|| self.valid[i % self.valid.len()])
    }

    // ---- operations ------------------------------------------------------------------------

    fn run(&mut self, op: &Op) {
        match op {
            Op::Alloc {
                kind,
                init,
                link,
                root,
            } => self.alloc(kind, init, *link, *root),
            Op::Store { obj, slot, val } => {
                let Some(id) = self.pick(*obj) else { return };
                let range = self.model.objs[&id].assignable();
                if range.is_empty() {
                    return;
                }
                let slot = range.start + slot % range.len();
                let v = self.resolve(val);
                self.store(id, slot, v);
            }
            Op::StoreRaw { obj, index, bits } => {
                let Some(id) = self.pick(*obj) else { return };
                let oop = self.oops[&id];
                let o = self.model.objs.get_mut(&id).unwrap();
                match o.kind {
                    Kind::Words if o.words.len() > 1 => {
                        let i = 1 + index % (o.words.len() - 1);
                        o.words[i] = *bits;
                        self.heap.words_mut(oop)[i] = *bits;
                    }
                    Kind::Bytes if !o.bytes.is_empty() => {
                        let i = index % o.bytes.len();
                        o.bytes[i] = *bits as u8;
                        self.heap.bytes_mut(oop)[i] = *bits as u8;
                    }
                    Kind::Method if !o.bytes.is_empty() => {
                        let i = index % o.bytes.len();
                        o.bytes[i] = *bits as u8;
                        self.heap.method_bytes_mut(oop)[i] = *bits as u8;
                    }
                    _ => {}
                }
            }
            Op::Root(v) => {
                let v = self.resolve(v);
                self.roots.strong.push(self.word(v));
                self.model.strong.push(v);
            }
            Op::WeakRoot(v) => {
                let v = self.resolve(v);
                self.roots.weak.push(self.word(v));
                self.model.weak.push(v);
            }
            Op::DropRoot(i) => {
                if !self.model.strong.is_empty() {
                    let i = i % self.model.strong.len();
                    self.model.strong.swap_remove(i);
                    self.roots.strong.swap_remove(i);
                }
            }
            Op::DropWeakRoot(i) => {
                if !self.model.weak.is_empty() {
                    let i = i % self.model.weak.len();
                    self.model.weak.swap_remove(i);
                    self.roots.weak.swap_remove(i);
                }
            }
            Op::PushHandle(v) => {
                let v = self.resolve(v);
                let mark = self.heap.handle_mark();
                let h = self.heap.push_handle(self.word(v));
                self.handle_marks.push((mark, h));
                self.model.handles.push(v);
            }
            Op::PopHandles(n) => {
                let n = n % (self.handle_marks.len() + 1);
                if n > 0 {
                    let keep = self.handle_marks.len() - n;
                    self.heap.release_handles(self.handle_marks[keep].0);
                    self.handle_marks.truncate(keep);
                    self.model.handles.truncate(keep);
                }
            }
            Op::SetClassRoot(v) => {
                let v = self.resolve(v);
                let w = self.word(v);
                self.heap.classes_mut().set(CLASS_ROOT, w);
                self.model.class_root = v;
            }
            Op::Hash(i) => {
                let Some(id) = self.pick(*i) else { return };
                let h = self.heap.identity_hash(self.oops[&id]);
                assert_ne!(h, 0);
                let o = self.model.objs.get_mut(&id).unwrap();
                if o.hash != 0 {
                    assert_eq!(o.hash, h, "identity hash changed");
                }
                o.hash = h;
            }
            Op::Verify => self.heap.verify(&mut self.roots).unwrap(),
            Op::Collect(times) => {
                for _ in 0..=*times % 3 {
                    self.collect(0);
                }
            }
            Op::Poison => self.heap.poison_spare(),
        }
    }

    fn store(&mut self, id: u32, slot: usize, v: V) {
        let w = self.word(v);
        self.heap.set_slot(self.oops[&id], slot, w);
        self.model.objs.get_mut(&id).unwrap().slots[slot] = v;
    }

    fn alloc(
        &mut self,
        kind: &KindSpec,
        init: &[ValSpec],
        link: Option<(usize, usize)>,
        root: bool,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        let oop = match self.try_alloc(kind) {
            Ok(oop) => oop,
            Err(AllocError::Exhausted) => {
                // The safepoint protocol: collect with the request's size, then retry.
                self.collect(kind.slots());
                self.try_alloc(kind)
                    .expect("allocation after a collection for it")
            }
            Err(e) => panic!("unexpected {e}"),
        };
        let heap = &mut self.heap;
        let nil = V::Nil;
        let obj = match kind {
            KindSpec::Fixed(n)
            | KindSpec::Indexable(n)
            | KindSpec::FixedIndexable(n)
            | KindSpec::Weak(n) => {
                heap.set_slot(oop, 0, Word::small_int(id.into()));
                let mut slots = vec![nil; n + 1];
                slots[0] = V::Int(id.into());
                let kind = match kind {
                    KindSpec::Fixed(_) => Kind::Fixed,
                    KindSpec::Indexable(_) => Kind::Indexable,
                    KindSpec::FixedIndexable(_) => Kind::FixedIndexable,
                    _ => Kind::Weak,
                };
                MObj {
                    kind,
                    slots,
                    words: vec![],
                    bytes: vec![],
                    hash: 0,
                }
            }
            KindSpec::Words(n) => {
                let mut words = vec![0; n + 1];
                words[0] = u64::from(id);
                heap.words_mut(oop)[0] = u64::from(id);
                MObj {
                    kind: Kind::Words,
                    slots: vec![],
                    words,
                    bytes: vec![],
                    hash: 0,
                }
            }
            KindSpec::Bytes(b) => MObj {
                kind: Kind::Bytes,
                slots: vec![],
                words: vec![],
                bytes: b.clone(),
                hash: 0,
            },
            KindSpec::Method { literals, code } => {
                let header = (i64::from(id) << 16) | *literals as i64;
                heap.set_slot(oop, 0, Word::small_int(header));
                heap.method_bytes_mut(oop).copy_from_slice(code);
                let mut slots = vec![nil; literals + 1];
                slots[0] = V::Int(header);
                MObj {
                    kind: Kind::Method,
                    slots,
                    words: vec![],
                    bytes: code.clone(),
                    hash: 0,
                }
            }
        };
        let assignable = obj.assignable();
        self.model.objs.insert(id, obj);
        self.oops.insert(id, oop);
        for (slot, v) in assignable.zip(init) {
            let v = self.resolve(v);
            self.store(id, slot, v);
        }
        if let Some((obj, slot)) = link
            && let Some(holder) = self.pick(obj)
        {
            let range = self.model.objs[&holder].assignable();
            if !range.is_empty() {
                self.store(holder, range.start + slot % range.len(), V::Ref(id));
            }
        }
        if root {
            self.roots.strong.push(oop.word());
            self.model.strong.push(V::Ref(id));
        }
        self.valid.push(id);
    }

    fn try_alloc(&mut self, kind: &KindSpec) -> Result<Oop, AllocError> {
        let heap = &mut self.heap;
        match kind {
            KindSpec::Fixed(n) => heap.alloc(CLS, Format::Fixed, n + 1),
            KindSpec::Indexable(n) => heap.alloc(CLS, Format::Indexable, n + 1),
            KindSpec::FixedIndexable(n) => heap.alloc(CLS, Format::FixedIndexable, n + 1),
            KindSpec::Weak(n) => heap.alloc(CLS, Format::Weak, n + 1),
            KindSpec::Words(n) => heap.alloc(CLS, Format::Words, n + 1),
            KindSpec::Bytes(b) => heap.alloc_bytes_from(CLS, b),
            KindSpec::Method { literals, code } => heap.alloc_method(CLS, literals + 1, code.len()),
        }
    }

    // ---- collection and checking -------------------------------------------------------------

    fn collect(&mut self, need: usize) {
        self.heap.collect(&mut self.roots, need).unwrap();
        self.collections += 1;
        self.model.collect();
        self.check();
    }

    /// Walks heap and model side by side from every root; rebuilds `oops` and `valid`.
    fn check(&mut self) {
        self.heap.verify(&mut self.roots).unwrap();
        let heap = &self.heap;
        let mut walk = Walk {
            nil: heap.nil(),
            oops: HashMap::new(),
            ids: HashMap::new(),
            todo: Vec::new(),
        };
        // nil and the class object are not model objects.
        walk.ids.insert(heap.nil().oop(), 0);
        walk.ids.insert(heap.classes().get(CLS).unwrap().oop(), 0);
        for (i, (&v, &w)) in self.model.strong.iter().zip(&self.roots.strong).enumerate() {
            walk.pair(v, w, || format!("strong root {i}"));
        }
        for (i, (&v, &w)) in self.model.weak.iter().zip(&self.roots.weak).enumerate() {
            walk.pair(v, w, || format!("weak root {i}"));
        }
        for (i, (&v, &(_, h))) in self
            .model
            .handles
            .iter()
            .zip(&self.handle_marks)
            .enumerate()
        {
            walk.pair(v, heap.handle(h), || format!("handle {i}"));
        }
        let class_root = heap.classes().get(CLASS_ROOT).unwrap();
        walk.pair(self.model.class_root, class_root, || "class root".into());
        while let Some(id) = walk.todo.pop() {
            let oop = walk.oops[&id];
            let o = &self.model.objs[&id];
            check_object(heap, id, oop, o);
            if heap.header(oop).slot_field() == OVERFLOW_SLOTS {
                self.large_checked += 1;
            }
            for (i, &v) in o.slots.iter().enumerate() {
                walk.pair(v, heap.slot(oop, i), || format!("object {id} slot {i}"));
            }
        }
        // The heap holds exactly the model's objects (plus nil and the class object): garbage
        // was freed and nothing reachable was lost.
        assert_eq!(walk.oops.len(), self.model.objs.len(), "reachable objects");
        assert_eq!(
            heap.objects().count(),
            self.model.objs.len() + 2,
            "heap objects"
        );
        self.valid = self.model.objs.keys().copied().collect();
        self.oops = walk.oops;
    }
}

/// The state of a side-by-side walk: the isomorphism found so far and the objects to visit.
struct Walk {
    nil: Word,
    oops: HashMap<u32, Oop>,
    ids: HashMap<Oop, u32>,
    todo: Vec<u32>,
}

impl Walk {
    /// Checks that heap word `w` stands for model value `v`, extending the isomorphism.
    fn pair(&mut self, v: V, w: Word, what: impl Fn() -> String) {
        match v {
            V::Nil => assert_eq!(w, self.nil, "{}: expected nil", what()),
            V::Int(i) => assert_eq!(w.as_small_int(), Some(i), "{}", what()),
            V::Char(c) => assert_eq!(w.as_character(), Some(c), "{}", what()),
            V::Float(b) => {
                assert_eq!(w.as_small_float().map(f64::to_bits), Some(b), "{}", what())
            }
            V::Ref(id) => {
                let Some(oop) = w.as_oop() else {
                    panic!("{}: expected object {id}, got {w:?}", what())
                };
                match self.oops.get(&id) {
                    Some(&o) => assert_eq!(o, oop, "{}: object {id} at two places", what()),
                    None => {
                        let prev = self.ids.insert(oop, id);
                        assert_eq!(prev, None, "{}: two model objects at {oop:?}", what());
                        self.oops.insert(id, oop);
                        self.todo.push(id);
                    }
                }
            }
        }
    }
}

/// Checks class, hash, format, size and raw contents of one object against the model.
fn check_object(heap: &Heap, id: u32, oop: Oop, o: &MObj) {
    let h = heap.header(oop);
    assert_eq!(h.class_index(), CLS);
    assert_eq!(h.hash(), o.hash, "object {id}: identity hash");
    let format = heap.format(oop);
    let padding = |len: usize| ((8 - len % 8) % 8) as u8;
    match o.kind {
        Kind::Words => {
            assert_eq!(format, Format::Words);
            assert_eq!(heap.words(oop), &o.words[..], "object {id}: words");
        }
        Kind::Bytes => {
            let unused = padding(o.bytes.len());
            assert_eq!(format, Format::Bytes { unused });
            assert_eq!(heap.bytes(oop), &o.bytes[..], "object {id}: bytes");
        }
        Kind::Method => {
            let unused = padding(o.bytes.len());
            assert_eq!(format, Format::CompiledMethod { unused });
            assert_eq!(heap.method_pointer_slots(oop), o.slots.len());
            assert_eq!(heap.method_bytes(oop), &o.bytes[..], "object {id}: code");
        }
        kind => {
            let expected = match kind {
                Kind::Fixed => Format::Fixed,
                Kind::Indexable => Format::Indexable,
                Kind::FixedIndexable => Format::FixedIndexable,
                _ => Format::Weak,
            };
            assert_eq!(format, expected);
            assert_eq!(heap.num_slots(oop), o.slots.len());
        }
    }
}

// ---- strategies ------------------------------------------------------------------------------

fn val_spec() -> impl Strategy<Value = ValSpec> {
    prop_oneof![
        1 => Just(ValSpec::Nil),
        1 => any::<i64>().prop_map(|i| ValSpec::Int(i >> 2)),
        1 => any::<u32>().prop_map(ValSpec::Char),
        1 => prop::sample::select(vec![0.0, -0.0, 1.5, -2.25e10, 3.0e-20]).prop_map(ValSpec::Float),
        8 => any::<usize>().prop_map(ValSpec::Obj),
    ]
}

fn bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), len)
}

fn kind_spec() -> impl Strategy<Value = KindSpec> {
    prop_oneof![
        5 => (0usize..5).prop_map(KindSpec::Fixed),
        4 => (0usize..9).prop_map(KindSpec::Indexable),
        1 => (254usize..262).prop_map(KindSpec::Indexable),
        2 => (0usize..6).prop_map(KindSpec::FixedIndexable),
        3 => (0usize..5).prop_map(KindSpec::Weak),
        1 => (254usize..258).prop_map(KindSpec::Weak),
        1 => (0usize..5).prop_map(KindSpec::Words),
        1 => (254usize..258).prop_map(KindSpec::Words),
        3 => bytes(0..24).prop_map(KindSpec::Bytes),
        1 => bytes(2033..2049).prop_map(KindSpec::Bytes),
        2 => (0usize..4, bytes(0..20))
            .prop_map(|(literals, code)| KindSpec::Method { literals, code }),
        1 => (0usize..3, bytes(2030..2045))
            .prop_map(|(literals, code)| KindSpec::Method { literals, code }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (
            kind_spec(),
            prop::collection::vec(val_spec(), 0..4),
            prop::option::weighted(0.7, (any::<usize>(), any::<usize>())),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(kind, init, link, root)| Op::Alloc { kind, init, link, root }),
        8 => (any::<usize>(), any::<usize>(), val_spec())
            .prop_map(|(obj, slot, val)| Op::Store { obj, slot, val }),
        2 => (any::<usize>(), any::<usize>(), any::<u64>())
            .prop_map(|(obj, index, bits)| Op::StoreRaw { obj, index, bits }),
        2 => val_spec().prop_map(Op::Root),
        2 => val_spec().prop_map(Op::WeakRoot),
        1 => any::<usize>().prop_map(Op::DropRoot),
        1 => any::<usize>().prop_map(Op::DropWeakRoot),
        1 => val_spec().prop_map(Op::PushHandle),
        1 => any::<usize>().prop_map(Op::PopHandles),
        1 => val_spec().prop_map(Op::SetClassRoot),
        2 => any::<usize>().prop_map(Op::Hash),
        1 => Just(Op::Verify),
        2 => any::<u8>().prop_map(Op::Collect),
        1 => Just(Op::Poison),
    ]
}

fn run(ops: &[Op], initial_bytes: usize) -> World {
    let mut world = World::new(initial_bytes);
    for op in ops {
        world.run(op);
    }
    // Always finish with collections, so every program is checked at least twice.
    world.collect(0);
    world.heap.poison_spare();
    world.collect(0);
    if std::env::var_os("GC_PROPS_DEBUG").is_some() {
        eprintln!(
            "ops {} collections {} live {} weak-cleared {} large-checked {} capacity {}",
            ops.len(),
            world.collections,
            world.model.objs.len(),
            world.model.cleared,
            world.large_checked,
            world.heap.capacity_bytes()
        );
    }
    world
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    })]

    /// A small space: allocation runs out often, so collections happen in the middle of
    /// building the graph, and the space grows.
    #[test]
    fn collections_preserve_the_reachable_graph(ops in prop::collection::vec(op(), 1..240)) {
        run(&ops, 8 << 10);
    }

    /// A space large enough that only explicit collections happen: more garbage and more
    /// weak referents die at once.
    #[test]
    fn explicit_collections_preserve_the_reachable_graph(
        ops in prop::collection::vec(op(), 1..240)
    ) {
        run(&ops, 4 << 20);
    }
}

/// A fixed long program, so that every run covers a collection in the middle of allocation
/// with large objects of every kind, whatever proptest draws.
#[test]
fn a_long_mixed_program() {
    let mut ops = Vec::new();
    for i in 0..3000usize {
        let large = (i / 11) % 7 == 0;
        let kind = match i % 11 {
            0 => KindSpec::Fixed(i % 5),
            1 => KindSpec::Indexable(if large { 300 } else { i % 7 }),
            2 => KindSpec::FixedIndexable(3),
            3 => KindSpec::Weak(if large { 260 } else { 2 }),
            4 => KindSpec::Words(if large { 256 } else { 2 }),
            5 => KindSpec::Bytes(vec![i as u8; i % 19]),
            6 => KindSpec::Bytes(vec![!(i as u8); if large { 2040 } else { 9 }]),
            7 => KindSpec::Method {
                literals: i % 4,
                code: vec![i as u8; if large { 2100 } else { i % 13 }],
            },
            _ => KindSpec::Fixed(2),
        };
        ops.push(Op::Alloc {
            kind,
            init: vec![
                ValSpec::Obj(i * 7),
                ValSpec::Obj(i * 13),
                ValSpec::Int(i as i64),
            ],
            link: Some((i * 31, i)),
            root: i % 50 == 0,
        });
        if i % 3 == 0 {
            ops.push(Op::Store {
                obj: i * 17,
                slot: i,
                val: ValSpec::Obj(i * 23),
            });
        }
        if i % 40 == 0 {
            ops.push(Op::WeakRoot(ValSpec::Obj(i * 5)));
            ops.push(Op::Hash(i * 3));
        }
        if i % 150 == 0 {
            ops.push(Op::DropRoot(i));
        }
        if i % 400 == 0 {
            ops.push(Op::Poison);
        }
    }
    let world = run(&ops, 8 << 10);
    assert!(world.collections > 10, "{} collections", world.collections);
    assert!(
        world.model.cleared > 10,
        "{} weak clears",
        world.model.cleared
    );
    assert!(world.large_checked > 10, "{} large", world.large_checked);
    assert!(world.heap.capacity_bytes() > 8 << 10, "the space grew");
}
