//! Snapshots: the whole state of a VM as plain data, and a VM rebuilt from one.
//!
//! An image (the `smalt-image` crate) is a [`Snapshot`] written to a file. This module is the
//! VM's side of it and knows nothing of files: [`Vm::snapshot`] collects garbage and copies out
//! what a resumed VM needs, in a form that does not depend on where anything lies in this
//! process; [`Vm::from_snapshot`] checks such data and rebuilds a VM from it; [`Vm::resume`]
//! continues the computation that was running when the snapshot was taken.
//!
//! # What a snapshot holds
//!
//! * the heap's used words after a full collection (references are byte offsets from the heap
//!   base, so they need no relocation), the class table (with the several indices that name
//!   one class), nil, true, false, the special-objects Array, the identity-hash generator and
//!   the random generator;
//! * the VM stack up to `sp`, each frame's return pc made **portable** (relative to the code of
//!   the caller's method, or naming a code stub), and the suspended activation's frame and
//!   portable pc. (Each frame's FRAME_INFO word holds this process's method id and first cell;
//!   the loader rewrites it from the frame's method.) Contexts already record their frames as stack positions and their pcs
//!   relative to their code, so the heap needs no translation;
//! * the **type feedback**: each method's invocation counter and the contents of its
//!   inline-cache cells, as class indices and method *references* (heap offsets), never side
//!   table ids.
//!
//! # What is rebuilt on load
//!
//! The method side table (ids, code arena, cells), the symbol index and the primitives'
//! function pointers, looked up by each method's primitive *name* (kept in its debug info), so
//! an image does not depend on the primitive numbering of the build that saved it. The global
//! lookup cache starts empty. Native code is never saved.
//!
//! # The few functions that know the interpreter's data structures
//!
//! [`Vm::register_heap_method`] (a heap method into the side table, through
//! [`Vm::register_method`]), [`Vm::portable_pc`] and
//! [`Vm::absolute_pc`] (a frame's pc to and from its portable form), [`Vm::cell_feedback`] and
//! [`Vm::restore_cell_feedback`] (a method's cells as class indices and method references).
//! When frames, pcs or cells change shape, these are what change with them.
//!
//! # Saving from Smalltalk, and the dependency arrows
//!
//! `vm` does not depend on the image crate. `Smalltalk saveImage: path` takes the snapshot here
//! and hands it to the [`ImageWriter`] installed in [`Vm::image_writer`] by the embedder (the
//! `smalt` binary installs one that writes an image file). Without a writer the primitive
//! fails with a reason. The suspended activation is the one that sent `saveImage:`, with
//! `true` as the answer already in place, so the resumed image continues right after the send
//! and sees `true` where the saving process saw `false`.

use crate::frame::{self, BASE_MARKER};
use crate::methods::{IcEntry, IcState, MethodId, PIC_SIZE};
use crate::objects::{
    FLAG_SOM_PRIMITIVE, MethodInfoBits, class, class_index as ci, closure, context, debug, method,
    method_dict,
};
use crate::prims;
use crate::vm::{MAX_STACK_LIMIT, Registers, STACK_HEADROOM, Vm, VmError, VmOptions, sp};
use smalt_gc::{ClassIndex, Format, Heap, MAX_CLASS_INDEX, Oop, Roots, Word};
use std::borrow::Cow;

/// The state of a VM as plain data: see the module docs. A snapshot taken by a VM borrows
/// its heap (saving copies nothing but into the file); one read from a file owns its words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot<'h> {
    /// The heap's words: `heap[..top]` are the used ones (word 0 reserved), references
    /// relative to the base; any after them are zero (a loader may read the words into a
    /// space of the final size, see `Heap::from_image`).
    pub heap: Cow<'h, [u64]>,
    /// The number of used heap words.
    pub top: usize,
    /// The class table by index (raw words; 0 for a free index).
    pub classes: Vec<u64>,
    /// nil, true, false and the special-objects Array.
    pub roots: SnapshotRoots,
    /// The identity-hash generator's state.
    pub hash_state: u32,
    /// The primitive stamp of the build that took the snapshot ([`primitive_stamp`]).
    pub primitive_stamp: u64,
    /// The random generator's state (`atRandom`).
    pub rng: u64,
    /// The VM stack `0 .. sp` with portable return pcs.
    pub stack: Vec<u64>,
    /// The activation suspended in `saveImage:`, if the snapshot was taken by Smalltalk code.
    pub active: Option<ActiveRun>,
    /// Type feedback of the methods that have any.
    pub feedback: Vec<MethodFeedback>,
    /// Where the heap's methods, symbols and contexts are, if the snapshot says: a trusted
    /// load (the default image) takes them from here instead of walking the heap.
    pub index: Option<HeapIndex>,
}

/// The objects a loader must find in a snapshot's heap, as references (heap byte offsets) in
/// address order: what walking the heap would find.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeapIndex {
    /// Every compiled method and block.
    pub methods: Vec<u64>,
    /// Every Symbol.
    pub symbols: Vec<u64>,
    /// Every Context.
    pub contexts: Vec<u64>,
}

impl Snapshot<'_> {
    /// The snapshot with its own copy of the heap words, independent of the VM it came from.
    pub fn into_owned(self) -> Snapshot<'static> {
        Snapshot {
            heap: Cow::Owned(self.heap.into_owned()),
            ..self
        }
    }
}

/// The root references of a snapshot (heap offsets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotRoots {
    /// nil (always at offset 8).
    pub nil: u64,
    /// true (offset 16).
    pub true_obj: u64,
    /// false (offset 24).
    pub false_obj: u64,
    /// The special-objects Array.
    pub specials: u64,
}

/// The activation that was running when Smalltalk code saved the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActiveRun {
    /// Its frame (the stack index of the frame header).
    pub fp: u64,
    /// Its portable pc (see [`Vm::portable_pc`]), just after the `saveImage:` send.
    pub pc: i64,
    /// The stack limit in force (raised while a stack overflow is being handled).
    pub stack_limit: u64,
    /// The limits before each raise still in effect, oldest first.
    pub overflow_limits: Vec<u64>,
}

/// The type feedback of one method: invocation count and non-empty inline-cache cells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodFeedback {
    /// The method (heap offset).
    pub method: u64,
    /// Times it was entered.
    pub invocations: u32,
    /// Its cells that hold anything.
    pub cells: Vec<CellFeedback>,
}

/// The contents of one inline-cache cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellFeedback {
    /// The send site the cell belongs to.
    pub site: u32,
    /// 1 monomorphic, 2 polymorphic, 3 megamorphic (0, empty, is never saved).
    pub state: u8,
    /// Misses so far.
    pub misses: u32,
    /// (receiver class index, method reference) pairs; class 0 = unused.
    pub entries: [(u32, u64); PIC_SIZE],
}

/// Writes snapshots somewhere (an image file): installed by the embedder, so that `vm` does
/// not depend on the image format.
pub trait ImageWriter {
    /// Writes `snapshot` to `path`; a one-line reason on failure.
    fn write_image(&self, snapshot: &Snapshot<'_>, path: &str) -> Result<(), String>;
}

/// How much of a snapshot [`Vm::from_snapshot`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Everything: the snapshot comes from a file.
    All,
    /// The snapshot was made by this very build and is part of the executable (the default
    /// image): the checks that guard against damaged data (every reference the loader
    /// follows, the kernel objects) are skipped. Debug builds check everything anyway.
    Trusted,
}

/// Why a snapshot cannot become a VM: a one-line description of the first problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SnapshotError(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, SnapshotError> {
    Err(SnapshotError(msg.into()))
}

/// A hash of what an image depends on in this build besides primitive names: the snapshot
/// layout, the tag and header formats, the kernel class indices and object layouts, the frame
/// header, the inline-cache size and the bytecode set. An image whose stamp differs was saved
/// by an incompatible build. Computed at compile time.
pub const LAYOUT_STAMP: u64 = {
    use crate::bytecode::{Effect, OPS, Operand, SPECIAL_SELECTORS};
    use crate::objects::{association, message};
    let consts: [usize; 32] = [
        sp::COUNT,
        sp::FIRST_SPECIAL_SELECTOR,
        sp::SEL_INITIALIZE_ARGS,
        class::SIZE,
        class::INDEX,
        method::FIRST_LITERAL,
        method::TRAILER,
        method::SITES_BACK,
        debug::SIZE,
        debug::PRIMITIVE,
        closure::FIRST_COPIED,
        context::SIZE,
        context::FRAME,
        context::PC,
        method_dict::SIZE,
        association::SIZE,
        message::SIZE,
        frame::TEMPS,
        frame::CALLER_FP,
        frame::RETURN_PC,
        frame::METHOD,
        frame::FRAME_INFO,
        frame::CLOSURE,
        frame::CONTEXT,
        PIC_SIZE,
        ci::FIRST_DYNAMIC.0 as usize,
        ci::SYSTEM_DICTIONARY.0 as usize,
        ci::NUMBER.0 as usize,
        smalt_gc::MAX_HASH as usize,
        smalt_gc::OVERFLOW_SLOTS,
        smalt_gc::TAG_MASK as usize,
        smalt_gc::READ_ONLY as usize,
    ];
    // 2: send operands name send sites (site table in the method trailer), not literals.
    let mut h = fnv(FNV_OFFSET, b"smalt snapshot 2");
    let mut i = 0;
    while i < consts.len() {
        h = fnv(h, &(consts[i] as u64).to_le_bytes());
        i += 1;
    }
    let mut i = 0;
    while i < OPS.len() {
        let op = &OPS[i];
        h = fnv(h, op.name.as_bytes());
        let mut k = 0;
        while k < op.operands.len() {
            h = fnv(
                h,
                match op.operands[k] {
                    Operand::U8 => b"u",
                    Operand::I8 => b"i",
                    Operand::I16 => b"j",
                },
            );
            k += 1;
        }
        h = match op.effect {
            Effect::Fixed { pop, push } => fnv(h, &[b'f', pop, push]),
            Effect::Send => fnv(h, b"s"),
            Effect::PopOperand { operand } => fnv(h, &[b'p', operand]),
            Effect::Return => fnv(h, b"r"),
        };
        h = fnv(h, &[op.falls_through as u8, b';']);
        i += 1;
    }
    let mut i = 0;
    while i < SPECIAL_SELECTORS.len() {
        let (op, sel, n) = SPECIAL_SELECTORS[i];
        h = fnv(h, &[op as u8, n as u8]);
        h = fnv(h, sel.as_bytes());
        i += 1;
    }
    h
};

/// This build's [`LAYOUT_STAMP`].
pub fn layout_stamp() -> u64 {
    LAYOUT_STAMP
}

/// This build's primitive stamp ([`prims::PRIMITIVE_STAMP`]): a hash of the primitive table's
/// names in order. Images record it; a loader with the same stamp numbers its primitives as
/// the image does and uses the saved numbers, any other looks each primitive up by name and
/// refuses only an image that needs a primitive it lacks.
pub fn primitive_stamp() -> u64 {
    prims::PRIMITIVE_STAMP
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits: a stable hash for the build stamps (not for checksums).
const fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// A pc in the stub area at the start of the code arena (not in any method) is saved as
/// `STUB_PC - offset`, a negative number.
const STUB_PC: i64 = -1;

impl Vm {
    // ---- saving ------------------------------------------------------------------------------

    /// Collects garbage and takes a snapshot of the VM between runs (nothing running): what
    /// the REPL's `:save` and the build of the default image write.
    pub fn snapshot(&mut self) -> Result<Snapshot<'_>, VmError> {
        if self.run_depth != 0 {
            return Err(VmError::Load(
                "an image can be saved between runs only (Smalltalk code: saveImage:)".into(),
            ));
        }
        self.collect_garbage(0)?;
        Ok(self.capture(None))
    }

    /// Saves the image for `saveImage:` sent with `nargs` arguments through `writer`: the
    /// sending activation is suspended just after the send, with `true` as its answer.
    /// Collects garbage.
    pub(crate) fn save_in_primitive(
        &mut self,
        nargs: usize,
        writer: &dyn ImageWriter,
        path: &str,
    ) -> Result<(), String> {
        if self.run_depth != 1 {
            return Err(
                "saveImage: works in code run from the top level only (not inside a \
                        Rust-to-Smalltalk call)"
                    .into(),
            );
        }
        if self.pending_unhandled.is_some() {
            return Err("saveImage: cannot save while an unhandled error unwinds".into());
        }
        let saved_sp = self.regs.sp;
        let resume_sp = saved_sp - nargs;
        // The receiver's slot holds the answer in the image; a failed save gives it back.
        let mark = self.handle_mark();
        let receiver = self.push_handle(self.stack[resume_sp - 1]);
        self.stack[resume_sp - 1] = self.true_obj();
        self.regs.sp = resume_sp;
        let result = match self.collect_garbage(0) {
            Ok(()) => {
                let pc = self.portable_pc(self.stack[self.regs.fp + frame::METHOD], self.regs.pc);
                let active = ActiveRun {
                    fp: self.regs.fp as u64,
                    pc,
                    stack_limit: self.rt.stack_limit as u64,
                    overflow_limits: self.overflow_limits.iter().map(|l| *l as u64).collect(),
                };
                writer.write_image(&self.capture(Some(active)), path)
            }
            Err(_) => Err("not enough memory to collect garbage before saving".into()),
        };
        // The arguments were above sp during the collection: the primitive must not read
        // them again. (The interpreter overwrites the receiver's slot with the answer.)
        self.stack[resume_sp - 1] = self.handle(receiver);
        self.release_handles(mark);
        self.regs.sp = saved_sp;
        result
    }

    /// Copies the state out (after a collection).
    fn capture(&self, active: Option<ActiveRun>) -> Snapshot<'_> {
        let sp = self.regs.sp;
        let mut stack: Vec<u64> = (0..sp).map(|i| self.stack[i].raw()).collect();
        if let Some(a) = &active {
            // Each frame's return pc belongs to its caller's method.
            let mut fp = a.fp as usize;
            loop {
                let caller = frame_caller(&self.stack[fp + frame::CALLER_FP]);
                let Some(caller) = caller else { break };
                let m = self.stack[caller + frame::METHOD];
                let pc = small(self.stack[fp + frame::RETURN_PC]) as usize;
                stack[fp + frame::RETURN_PC] = Word::small_int(self.portable_pc(m, pc)).raw();
                fp = caller;
            }
        }
        Snapshot {
            heap: Cow::Borrowed(self.heap.image_words()),
            top: self.heap.image_words().len(),
            classes: self
                .heap
                .classes()
                .entries()
                .iter()
                .map(|w| w.raw())
                .collect(),
            roots: SnapshotRoots {
                nil: self.nil().raw(),
                true_obj: self.true_obj().raw(),
                false_obj: self.false_obj().raw(),
                specials: self.specials.raw(),
            },
            hash_state: self.heap.hash_state(),
            primitive_stamp: primitive_stamp(),
            rng: self.rng,
            stack,
            active,
            feedback: self.all_feedback(),
            // A live heap always walks; should it not, the snapshot simply has no index.
            index: walk(&self.heap).ok().map(|found| {
                let raw = |v: Vec<Oop>| v.into_iter().map(|o| o.word().raw()).collect();
                HeapIndex {
                    methods: raw(found.methods),
                    symbols: raw(found.symbols),
                    contexts: raw(found.contexts),
                }
            }),
        }
    }

    /// The type feedback of every method that has any.
    fn all_feedback(&self) -> Vec<MethodFeedback> {
        let mut out = Vec::new();
        for (i, info) in self.methods.infos.iter().enumerate().skip(1) {
            if info.method == Word::INVALID {
                continue;
            }
            let cells = self.cell_feedback(MethodId(i as u32));
            if info.invocations == 0 && cells.is_empty() {
                continue;
            }
            out.push(MethodFeedback {
                method: info.method.raw(),
                invocations: info.invocations,
                cells,
            });
        }
        out
    }

    /// The non-empty inline-cache cells of method `mid`, as class indices and method
    /// references.
    pub fn cell_feedback(&self, mid: MethodId) -> Vec<CellFeedback> {
        let info = self.methods.info(mid);
        let cells = &self.methods.cells[info.cell_base..info.cell_base + info.num_sites as usize];
        cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.state != IcState::Empty && c.selector != Word::INVALID)
            .map(|(k, c)| {
                let mut entries = [(0, 0); PIC_SIZE];
                for (e, out) in c.entries.iter().zip(entries.iter_mut()) {
                    if e.class != 0 {
                        let m = self.methods.info(MethodId(e.method)).method;
                        *out = (e.class, m.raw());
                    }
                }
                CellFeedback {
                    site: k as u32,
                    state: match c.state {
                        IcState::Empty => 0,
                        IcState::Monomorphic => 1,
                        IcState::Polymorphic => 2,
                        IcState::Megamorphic => 3,
                    },
                    misses: c.misses,
                    entries,
                }
            })
            .collect()
    }

    /// The portable form of absolute pc `pc` of an activation of `method`: the offset from the
    /// method's first bytecode, or for a pc in the code stubs at the start of the arena (where
    /// the VM parks frames that return or evaluate a block next), `-1 - pc`.
    pub fn portable_pc(&self, method: Word, pc: usize) -> i64 {
        if pc < self.stub_end() {
            return STUB_PC - pc as i64;
        }
        let start = self.methods.info(self.method_id(method)).code_start;
        pc as i64 - start as i64
    }

    /// The absolute pc of portable pc `pc` in an activation of `method`, if it lies in the
    /// method's code or in a stub.
    pub fn absolute_pc(&self, method: Word, pc: i64) -> Option<usize> {
        if pc < 0 {
            let stub = usize::try_from(STUB_PC - pc).ok()?;
            return (stub < self.stub_end()).then_some(stub);
        }
        let info = self.methods.info(self.method_id(method));
        let rel = usize::try_from(pc).ok()?;
        (rel < info.code_len).then(|| info.code_start + rel)
    }

    /// One past the code stubs at the start of the arena.
    fn stub_end(&self) -> usize {
        self.value_return_stub + 2
    }

    // ---- loading -----------------------------------------------------------------------------

    /// A VM rebuilt from a snapshot: checks the data, then rebuilds the side tables. The heap
    /// verifier runs too when `options.verify_heap` is set or in a debug build.
    pub fn from_snapshot(
        options: VmOptions,
        snap: Snapshot<'_>,
        checks: Checks,
    ) -> Result<Vm, SnapshotError> {
        let verify = options.verify_heap || cfg!(debug_assertions);
        let check_all = checks == Checks::All || cfg!(debug_assertions);
        let top = snap.top;
        if top < 4 || top > snap.heap.len() {
            return bad("the heap is empty");
        }
        let roots = snap.roots;
        if (roots.nil, roots.true_obj, roots.false_obj) != (8, 16, 24) {
            return bad("nil, true and false are not the first objects of the heap");
        }
        let is_ref = |w: u64| w != 0 && w & 7 == 0 && ((w >> 3) as usize) < top;
        if !is_ref(roots.specials) {
            return bad("the special-objects reference lies outside the heap");
        }
        if snap.classes.len() > MAX_CLASS_INDEX as usize + 1 || snap.classes.len() < 64 {
            return bad("the class table has an impossible size");
        }
        for (i, w) in snap.classes.iter().enumerate() {
            if *w != 0 && (i == 0 || !is_ref(*w)) {
                return bad(format!("class table entry {i} is not a heap reference"));
            }
        }
        let classes: Vec<Word> = snap.classes.iter().map(|w| Word::from_raw(*w)).collect();
        let heap = Heap::from_image(
            options.heap.clone(),
            snap.heap.into_owned(),
            top,
            classes,
            Word::from_raw(roots.nil),
            snap.hash_state,
        )
        .map_err(|e| SnapshotError(format!("the image does not fit in the heap: {e}")))?;
        let mut vm = Vm::with_heap(options, heap);
        vm.true_false = [
            Word::from_raw(roots.true_obj),
            Word::from_raw(roots.false_obj),
        ];
        vm.specials = Word::from_raw(roots.specials);
        vm.rng = snap.rng;
        let sp = snap.stack.len();
        if sp > MAX_STACK_LIMIT {
            return bad("the saved stack is deeper than the VM stack");
        }
        for (i, w) in snap.stack.iter().enumerate() {
            vm.stack[i] = Word::from_raw(*w);
        }
        vm.regs.sp = sp;
        // The object walk checks every object's extent and records where objects start;
        // every reference the loader follows is checked against that first. A trusted
        // snapshot with nothing suspended takes the objects from its index instead (its
        // checks, which need the walk, are skipped anyway); debug builds walk and compare.
        let objects = match &snap.index {
            Some(index) if !check_all && snap.active.is_none() => Found::from_index(index),
            index => {
                let found = walk(&vm.heap)?;
                if index.as_ref().is_some_and(|index| !found.matches(index)) {
                    return bad("the heap index disagrees with the heap");
                }
                found
            }
        };
        if check_all {
            if snap
                .stack
                .iter()
                .any(|w| !objects.valid(Word::from_raw(*w)))
            {
                return bad("the saved stack holds a bad reference");
            }
            vm.check_kernel(&objects)?;
            for m in &objects.methods {
                let p = vm.heap.method_pointer_slots(*m);
                let slots = &vm.heap.slots(*m)[..p];
                if slots.iter().any(|w| !objects.valid(Word::from_raw(*w))) {
                    return bad(format!(
                        "the method at offset {} holds a bad reference",
                        m.offset()
                    ));
                }
            }
        }
        if verify {
            let mut roots = LoadRoots {
                stack: &mut vm.stack.used_mut(sp).to_vec(),
                specials: vm.specials,
                true_false: vm.true_false,
            };
            vm.heap
                .verify(&mut roots)
                .map_err(|e| SnapshotError(format!("heap verification failed: {e}")))?;
        }
        let mut scratch = crate::methods::RegisterScratch::default();
        let same_primitives = snap.primitive_stamp == primitive_stamp();
        for m in &objects.methods {
            vm.register_loaded_method(m.word(), same_primitives, check_all, &mut scratch)
                .map_err(|e| SnapshotError(format!("method at offset {}: {e}", m.offset())))?;
        }
        vm.symbols.reserve(objects.symbols.len());
        for s in &objects.symbols {
            vm.symbols.insert_bytes(vm.heap.bytes(*s), s.word());
        }
        for f in &snap.feedback {
            vm.restore_feedback(f)?;
        }
        vm.kernel_ready = true;
        vm.heap.set_stress(vm.options.gc_stress);
        let live = match &snap.active {
            Some(a) => vm.restore_frames(a, &objects)?,
            None => Vec::new(),
        };
        if vm.regs.sp + 1024 > vm.rt.stack_limit {
            return bad("the saved stack is deeper than this VM's stack limit (--max-stack)");
        }
        vm.check_contexts(&objects.contexts, &live)?;
        // The tier the options ask for; it compiles the methods the saved counters call hot.
        vm.attach_tier().map_err(|e| SnapshotError(e.to_string()))?;
        vm.tier_image_loaded();
        Ok(vm)
    }

    /// Runs the activation suspended in `saveImage:` (its answer is `true` here) until the run
    /// it belonged to ends; answers that run's result, or `None` if the snapshot had none.
    pub fn resume(&mut self) -> Option<Result<Word, VmError>> {
        let base_bp = self.suspended.take()?;
        let mark = self.handle_mark();
        self.refresh_runtime();
        self.run_depth += 1;
        let result = self.run();
        let result = match self.pending_unhandled.take() {
            Some((depth, error)) if depth == self.run_depth => match result {
                Err(VmError::Exit(code)) => Err(VmError::Exit(code)),
                _ => Err(error),
            },
            other => {
                self.pending_unhandled = other;
                result
            }
        };
        self.run_depth -= 1;
        if result.is_err() {
            self.abandon_frames(base_bp);
        }
        self.release_handles(mark);
        self.regs = Registers {
            sp: base_bp,
            ..Registers::default()
        };
        Some(result)
    }

    /// Whether a computation suspended in `saveImage:` waits for [`Vm::resume`].
    pub fn has_suspended_run(&self) -> bool {
        self.suspended.is_some()
    }

    /// Checks the kernel objects the VM reads without checks: nil, true, false, the specials,
    /// the classes (their method dictionaries) and the globals.
    fn check_kernel(&self, found: &Found) -> Result<(), SnapshotError> {
        let h = &self.heap;
        let class_is =
            |w: Word, c: ClassIndex| found.is_object(w) && h.header(w.oop()).class_index() == c;
        if !class_is(self.nil(), ci::NIL)
            || !class_is(self.true_obj(), ci::TRUE)
            || !class_is(self.false_obj(), ci::FALSE)
        {
            return bad("nil, true or false has the wrong class");
        }
        let specials = self.specials.oop();
        if !class_is(self.specials, ci::ARRAY)
            || h.header(specials).format() != Some(Format::Indexable)
            || h.num_slots(specials) != sp::COUNT
        {
            return bad("the special-objects Array is damaged");
        }
        if (0..sp::COUNT).any(|i| !found.valid(h.slot(specials, i))) {
            return bad("the special-objects Array holds a bad reference");
        }
        let words = [self.nil(), self.true_obj(), self.false_obj()];
        if (0..3).any(|i| h.slot(specials, i) != words[i]) {
            return bad("the special objects do not name nil, true and false");
        }
        for i in [sp::GLOBALS, sp::UNDECLARED] {
            self.check_dict(found, h.slot(specials, i))?;
        }
        for i in [sp::SEL_DNU, sp::SEL_MUST_BE_BOOLEAN, sp::SEL_PRINT_STRING]
            .into_iter()
            .chain(sp::FIRST_SPECIAL_SELECTOR..sp::FIRST_SPECIAL_SELECTOR + 16)
        {
            let s = h.slot(specials, i);
            if !s.is_oop() || !class_is(s, ci::SYMBOL) {
                return bad(format!("special object {i} is not a Symbol"));
            }
        }
        for (index, cls) in h.classes().iter() {
            let is_class = found.is_object(cls) && {
                let o = cls.oop();
                h.header(o).format().is_some_and(|f| f.is_pointers())
                    && h.num_slots(o) >= class::SIZE
                    && (0..class::SIZE).all(|i| found.valid(h.slot(o, i)))
            };
            if !is_class {
                return bad(format!("class {} is not a class", index.0));
            }
            let o = cls.oop();
            let md = h.slot(o, class::METHODS);
            if md != self.nil() {
                self.check_dict(found, md)
                    .map_err(|e| SnapshotError(format!("class {}: {e}", index.0)))?;
            }
            let sup = h.slot(o, class::SUPERCLASS);
            if sup != self.nil() && !found.is_object(sup) {
                return bad(format!("class {} has a bad superclass", index.0));
            }
        }
        for k in [
            ci::OBJECT,
            ci::ARRAY,
            ci::STRING,
            ci::SYMBOL,
            ci::METHOD,
            ci::COMPILED_BLOCK,
            ci::CONTEXT,
            ci::ASSOCIATION,
            ci::METHOD_DICTIONARY,
            ci::SYSTEM_DICTIONARY,
            ci::BLOCK1,
        ] {
            if h.classes().get(k).is_none() {
                return bad(format!("kernel class {} is missing", k.0));
            }
        }
        Ok(())
    }

    /// Checks the shape of an identity dictionary (method dictionaries, the globals).
    fn check_dict(&self, found: &Found, d: Word) -> Result<(), SnapshotError> {
        let h = &self.heap;
        let array =
            |a: Word| found.is_object(a) && h.header(a.oop()).format() == Some(Format::Indexable);
        let ok = found.is_object(d) && {
            let o = d.oop();
            let c = h.header(o).class_index();
            (c == ci::METHOD_DICTIONARY || c == ci::SYSTEM_DICTIONARY)
                && h.num_slots(o) >= method_dict::SIZE
                && h.slot(o, method_dict::TALLY).is_small_int()
                && array(h.slot(o, method_dict::KEYS))
                && array(h.slot(o, method_dict::VALUES))
                && h.num_slots(h.slot(o, method_dict::KEYS).oop())
                    == h.num_slots(h.slot(o, method_dict::VALUES).oop())
        };
        if ok {
            Ok(())
        } else {
            bad("a method dictionary is damaged")
        }
    }

    /// Registers a compiled method or block that is already in the heap (loaded from an image)
    /// in the side table: copies its bytecodes to the code arena, makes its cells (one per
    /// send site, from its site table), resolves its primitive by name, and stores the new id
    /// in the method. Answers the id.
    pub fn register_heap_method(&mut self, m: Word) -> Result<MethodId, String> {
        self.register_loaded_method(m, false, true, &mut Default::default())
    }

    /// [`Vm::register_heap_method`], trusting the method's primitive number if
    /// `same_primitives` (it comes from a build whose primitive table is this one's), checking
    /// its code against its site table if `check_code`, with scratch buffers for the send sites.
    fn register_loaded_method(
        &mut self,
        m: Word,
        same_primitives: bool,
        check_code: bool,
        scratch: &mut crate::methods::RegisterScratch,
    ) -> Result<MethodId, String> {
        let o = m.oop();
        let n = self.heap.num_slots(o);
        let p = self.heap.method_pointer_slots(o);
        if p < method::FIRST_LITERAL + method::TRAILER || p > n {
            return Err("too few pointer slots".into());
        }
        let Some(info_word) = self.heap.slot(o, method::INFO).as_small_int() else {
            return Err("its info slot is not a SmallInteger".into());
        };
        let mut bits = MethodInfoBits::decode(info_word);
        let primitive = if same_primitives && usize::from(bits.primitive) < prims::functions().len()
        {
            bits.primitive
        } else {
            self.primitive_by_name(o, p, &bits)?
        };
        if primitive != bits.primitive {
            bits.primitive = primitive;
            self.heap
                .set_slot(o, method::INFO, Word::small_int(bits.encode()));
        }
        self.register_method_with(m, scratch, check_code)
    }

    /// The primitive of the method `o` (with `p` pointer slots), looked up by the name in its
    /// debug info.
    fn primitive_by_name(&self, o: Oop, p: usize, bits: &MethodInfoBits) -> Result<u16, String> {
        let dbg = self.heap.slot(o, p - 1);
        let prim_name = dbg
            .as_oop()
            .filter(|d| {
                self.heap.header(*d).class_index() == ci::ARRAY
                    && self.heap.num_slots(*d) >= debug::SIZE
            })
            .map(|d| self.heap.slot(d, debug::PRIMITIVE))
            .filter(|w| self.is_symbol(*w));
        let primitive = match prim_name {
            None if bits.primitive == 0 => 0,
            None => return Err("a primitive without a name".into()),
            Some(name) => {
                let name = std::str::from_utf8(self.heap.bytes(name.oop()))
                    .map_err(|_| "a primitive name that is not UTF-8".to_string())?;
                match prims::lookup(name) {
                    Some(i) if prims::accepts(i, bits.num_args) => i,
                    Some(_) => {
                        return Err(format!(
                            "primitive #{name} takes other arguments in this build"
                        ));
                    }
                    // A SOM `= primitive` the VM lacks fails at run time, as when compiled.
                    None if bits.flags & FLAG_SOM_PRIMITIVE != 0 => 0,
                    None => return Err(format!("primitive #{name} is missing in this build")),
                }
            }
        };
        Ok(primitive)
    }

    /// The side-table id of a method reference from a snapshot, if it names a registered
    /// method.
    fn registered_method(&self, r: u64) -> Option<MethodId> {
        let w = Word::from_raw(r);
        let o = w.as_oop()?;
        if o.index() == 0 || o.index() >= self.heap.image_words().len() {
            return None;
        }
        // Only object headers are accepted: the walk recorded every method's header.
        let id = self.heap.image_words().get(o.index() + 3).copied()?;
        let id = Word::from_raw(id).as_small_int()?;
        let info = self.methods.infos.get(usize::try_from(id).ok()?)?;
        (id > 0 && info.method == w).then_some(MethodId(id as u32))
    }

    /// Restores a method's invocation counter and cells.
    fn restore_feedback(&mut self, f: &MethodFeedback) -> Result<(), SnapshotError> {
        let mid = self
            .registered_method(f.method)
            .ok_or_else(|| SnapshotError("type feedback for something not a method".into()))?;
        self.methods.infos[mid.0 as usize].invocations = f.invocations;
        self.restore_cell_feedback(mid, &f.cells)
            .map_err(SnapshotError)
    }

    /// Fills method `mid`'s cells from saved feedback (class indices and method references).
    pub fn restore_cell_feedback(
        &mut self,
        mid: MethodId,
        cells: &[CellFeedback],
    ) -> Result<(), String> {
        let (base, n) = {
            let info = self.methods.info(mid);
            (info.cell_base, info.num_sites as usize)
        };
        for c in cells {
            let k = c.site as usize;
            if k >= n {
                return Err("type feedback for a send site the method lacks".into());
            }
            let mut entries = [IcEntry::default(); PIC_SIZE];
            for (e, out) in c.entries.iter().zip(entries.iter_mut()) {
                if e.0 == 0 {
                    continue;
                }
                if self.heap.classes().get(ClassIndex(e.0)).is_none() {
                    return Err("type feedback names a class index that is free".into());
                }
                let m = self
                    .registered_method(e.1)
                    .ok_or("type feedback names something that is not a method")?;
                *out = IcEntry {
                    class: e.0,
                    method: m.0,
                    entry: 0,
                };
            }
            let state = match c.state {
                1 => IcState::Monomorphic,
                2 => IcState::Polymorphic,
                3 => IcState::Megamorphic,
                _ => return Err("a cache cell in an unknown state".into()),
            };
            let cell = &mut self.methods.cells[base + k];
            cell.entries = entries;
            cell.state = state;
            cell.misses = c.misses;
            self.methods.anything_cached = true;
        }
        Ok(())
    }

    /// Checks the saved frames from the suspended one down to the base frame, makes their
    /// return pcs absolute and the suspended one the current frame. Answers every frame's fp.
    fn restore_frames(
        &mut self,
        a: &ActiveRun,
        found: &Found,
    ) -> Result<Vec<usize>, SnapshotError> {
        let sp = self.regs.sp;
        let nil = self.nil();
        let mut frames = Vec::new();
        let mut fp = usize::try_from(a.fp).unwrap_or(usize::MAX);
        let mut limit = sp;
        loop {
            if fp.checked_add(frame::TEMPS).is_none_or(|e| e > limit) {
                return bad("a saved frame lies outside the stack");
            }
            let m = self.stack[fp + frame::METHOD];
            let mid = m
                .as_oop()
                .and_then(|_| self.registered_method(m.raw()))
                .ok_or_else(|| SnapshotError("a saved frame runs no method".into()))?;
            let info = self.methods.info(mid);
            let (num_args, num_temps) = (info.num_args, info.num_temps);
            if fp < num_args + 1 || fp + frame::TEMPS + num_temps > limit {
                return bad("a saved frame does not fit its method");
            }
            // The frame's method id and first cell are this VM's.
            self.stack[fp + frame::FRAME_INFO] = info.frame_info;
            let clo = self.stack[fp + frame::CLOSURE];
            if clo != nil && !(found.is_object(clo) && self.is_closure_with(clo, info.num_copied)) {
                return bad("a saved frame's closure is damaged");
            }
            let ctx = self.stack[fp + frame::CONTEXT];
            if ctx != nil
                && !(found.is_object(ctx)
                    && self.heap.header(ctx.oop()).class_index() == ci::CONTEXT)
            {
                return bad("a saved frame's context is damaged");
            }
            frames.push(fp);
            let bp = fp - num_args - 1;
            let caller = self.stack[fp + frame::CALLER_FP];
            match caller.as_small_int() {
                Some(BASE_MARKER) => break,
                Some(c) if c >= 0 && (c as usize) < bp => {
                    let c = c as usize;
                    let ret = self.stack[fp + frame::RETURN_PC].as_small_int();
                    if c + frame::METHOD >= bp {
                        return bad("saved frames overlap");
                    }
                    let cm = self.stack[c + frame::METHOD];
                    if self.registered_method(cm.raw()).is_none() {
                        return bad("a saved frame runs no method");
                    }
                    let pc = ret
                        .and_then(|p| self.absolute_pc(cm, p))
                        .ok_or_else(|| SnapshotError("a saved return pc is damaged".into()))?;
                    self.stack[fp + frame::RETURN_PC] = Word::small_int(pc as i64);
                    limit = bp;
                    fp = c;
                }
                _ => return bad("a saved frame's caller is damaged"),
            }
        }
        let base_fp = *frames.last().expect("one frame at least");
        let base_bp = self.frame_bp(base_fp);
        let top_fp = a.fp as usize;
        let m = self.stack[top_fp + frame::METHOD];
        let pc = self
            .absolute_pc(m, a.pc)
            .ok_or_else(|| SnapshotError("the saved pc is damaged".into()))?;
        let mid = self.method_id(m);
        let info = self.methods.info(mid);
        self.regs = Registers {
            bp: top_fp - info.num_args - 1,
            fp: top_fp,
            sp,
            pc,
            cells: info.cell_base,
        };
        let normal = self.options.max_stack_words.min(MAX_STACK_LIMIT);
        let ceiling = normal + STACK_HEADROOM;
        let limits: Vec<usize> = a.overflow_limits.iter().map(|l| *l as usize).collect();
        if a.stack_limit as usize <= ceiling
            && limits.windows(2).all(|w| w[0] < w[1])
            && limits.last().is_none_or(|l| *l < a.stack_limit as usize)
            && !limits.is_empty()
        {
            self.rt.stack_limit = a.stack_limit as usize;
            self.overflow_limits = limits;
        }
        self.suspended = Some(base_bp);
        Ok(frames)
    }

    /// Whether `w` is a closure with at least `copied` copied values.
    fn is_closure_with(&self, w: Word, copied: usize) -> bool {
        w.as_oop().is_some_and(|o| {
            matches!(
                self.heap.header(o).class_index(),
                ci::BLOCK | ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3
            ) && self.heap.num_slots(o) >= closure::FIRST_COPIED + copied
                && self
                    .registered_method(self.heap.slot(o, closure::CODE).raw())
                    .is_some()
        })
    }

    /// Every Context whose FRAME names a stack position must be the context of a live frame
    /// (the VM reads the frame through it without checks).
    fn check_contexts(&self, contexts: &[Oop], live: &[usize]) -> Result<(), SnapshotError> {
        let nil = self.nil();
        for &c in contexts {
            if self.heap.num_slots(c) < context::SIZE {
                return bad("a Context is too small");
            }
            let f = self.heap.slot(c, context::FRAME);
            if f == nil {
                continue;
            }
            let ok = f.as_small_int().is_some_and(|fp| {
                usize::try_from(fp).is_ok_and(|fp| {
                    live.contains(&fp) && self.stack[fp + frame::CONTEXT] == c.word()
                })
            });
            if !ok {
                return bad("a Context names a frame that was not saved");
            }
        }
        Ok(())
    }
}

/// What the loader's walk found in the heap.
struct Found {
    /// One bit per word of the heap: an object's header starts there.
    starts: Vec<u64>,
    methods: Vec<Oop>,
    symbols: Vec<Oop>,
    contexts: Vec<Oop>,
}

impl Found {
    /// The objects of a trusted index, without the starts of objects (nothing that is checked
    /// against them runs on a trusted load).
    fn from_index(index: &HeapIndex) -> Found {
        let oops = |v: &[u64]| {
            v.iter()
                .filter_map(|r| Word::from_raw(*r).as_oop())
                .collect()
        };
        Found {
            starts: Vec::new(),
            methods: oops(&index.methods),
            symbols: oops(&index.symbols),
            contexts: oops(&index.contexts),
        }
    }

    /// Whether an index lists exactly the objects found.
    fn matches(&self, index: &HeapIndex) -> bool {
        let same = |found: &[Oop], listed: &[u64]| {
            found.len() == listed.len()
                && found.iter().zip(listed).all(|(o, r)| o.word().raw() == *r)
        };
        same(&self.methods, &index.methods)
            && same(&self.symbols, &index.symbols)
            && same(&self.contexts, &index.contexts)
    }

    /// Whether `w` refers to the header of an object of the heap.
    fn is_object(&self, w: Word) -> bool {
        w.as_oop().is_some_and(|o| {
            let i = o.index();
            self.starts
                .get(i / 64)
                .is_some_and(|bits| bits & (1 << (i % 64)) != 0)
        })
    }

    /// Whether `w` is an immediate or refers to an object.
    fn valid(&self, w: Word) -> bool {
        !w.is_oop() && w.raw() & 7 != 6 || self.is_object(w)
    }
}

/// Walks the heap's objects, checking that each lies inside the used words, has a known
/// format and a registered class; collects the methods, symbols and contexts.
fn walk(heap: &Heap) -> Result<Found, SnapshotError> {
    let words = heap.image_words();
    let top = words.len();
    // Rough counts (a method takes about 40 words, a symbol 3) save most regrowing.
    let mut found = Found {
        starts: vec![0; top.div_ceil(64)],
        methods: Vec::with_capacity(top / 32),
        symbols: Vec::with_capacity(top / 32),
        contexts: Vec::new(),
    };
    let mut at = 1;
    while at < top {
        let first = words[at];
        let (h, end) = if first >> 56 == 0xFF {
            let n = (first & ((1 << 56) - 1)) as usize;
            (at + 1, (at + 2).checked_add(n))
        } else {
            let n = (first >> 56) as usize;
            (at, Some(at + 1 + n))
        };
        let Some(end) = end.filter(|e| *e <= top && h < top) else {
            return bad(format!(
                "the object at word {at} runs past the end of the heap"
            ));
        };
        let header = smalt_gc::Header::from_raw(words[h]);
        if header.slot_field() == smalt_gc::OVERFLOW_SLOTS && h == at {
            return bad(format!("the object at word {at} lacks its size word"));
        }
        if header.is_forwarded() {
            return bad(format!("the object at word {h} is a forwarding word"));
        }
        let Some(format) = header.format() else {
            return bad(format!("the object at word {h} has a reserved format"));
        };
        let class = header.class_index();
        if heap.classes().get(class).is_none() {
            return bad(format!("the object at word {h} has no class"));
        }
        let o = Oop::from_index(h);
        found.starts[h / 64] |= 1 << (h % 64);
        match format {
            Format::CompiledMethod { .. } => {
                let slot0 = if end > h + 1 { words[h + 1] } else { 0 };
                let p = Word::from_raw(slot0)
                    .as_small_int()
                    .map(|v| 1 + (v as usize & 0xFFFF));
                if p.is_none_or(|p| h + 1 + p > end) {
                    return bad(format!("the method at word {h} is damaged"));
                }
                found.methods.push(o);
            }
            Format::Bytes { unused } => {
                if unused != 0 && end == h + 1 {
                    return bad(format!("the byte object at word {h} is damaged"));
                }
                if class == ci::SYMBOL {
                    found.symbols.push(o);
                }
            }
            _ if class == ci::CONTEXT => found.contexts.push(o),
            _ => {}
        }
        at = end;
    }
    Ok(found)
}

/// The roots for verifying a loaded heap before the side tables exist.
struct LoadRoots<'a> {
    stack: &'a mut [Word],
    specials: Word,
    true_false: [Word; 2],
}

impl Roots for LoadRoots<'_> {
    fn visit_strong(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        self.true_false.iter_mut().for_each(&mut *visit);
        visit(&mut self.specials);
        // Return pcs are SmallIntegers in either form, so the stack verifies as it is.
        self.stack.iter_mut().for_each(visit);
    }
}

/// The caller's fp from a CALLER_FP slot, `None` for a base frame.
fn frame_caller(w: &Word) -> Option<usize> {
    let c = small(*w);
    (c != BASE_MARKER && c >= 0).then_some(c as usize)
}

#[inline]
fn small(w: Word) -> i64 {
    (w.raw() as i64) >> 1
}
