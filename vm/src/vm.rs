//! The virtual machine: object memory, VM stack, side tables and the services every other part
//! uses (allocation at safepoints, symbols, globals, classes, method dictionaries).
//!
//! # Safepoints and object references held by Rust code
//!
//! A collection happens only inside [`Vm::reserve`] (and the allocation helpers built on it)
//! and [`Vm::collect_garbage`]. Any [`Oop`]/[`Word`] that Rust code holds in a local across one of
//! these calls is stale afterwards, unless it lives in a root: the VM stack, the specials, or a
//! handle ([`Vm::push_handle`]). The helpers below follow one rule: they *reserve first* and
//! read their object arguments from roots afterwards, or take handles.

use crate::methods::{MethodId, MethodTable};
use crate::objects::{self, association, class, class_index as ci, method, method_dict};
use crate::stack::{STACK_WORDS, Stack};
use crate::symbols::SymbolTable;
use smalt_gc::{
    AllocError, ClassIndex, Format, Handle, HandleMark, Heap, HeapConfig, Oop, Roots, Word,
};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Indices into [`Vm::specials`]: objects and symbols the VM needs by name.
pub mod sp {
    /// nil.
    pub const NIL: usize = 0;
    /// true.
    pub const TRUE: usize = 1;
    /// false.
    pub const FALSE: usize = 2;
    /// The System instance (`system`).
    pub const SYSTEM: usize = 3;
    /// The globals dictionary (`Smalltalk`).
    pub const GLOBALS: usize = 4;
    /// Bindings of referenced-but-undefined globals.
    pub const UNDECLARED: usize = 5;
    /// #doesNotUnderstand:
    pub const SEL_DNU: usize = 6;
    /// #mustBeBoolean
    pub const SEL_MUST_BE_BOOLEAN: usize = 7;
    /// #escapedBlock:
    pub const SEL_ESCAPED_BLOCK: usize = 8;
    /// #unknownGlobal:
    pub const SEL_UNKNOWN_GLOBAL: usize = 9;
    /// #stackOverflow
    pub const SEL_STACK_OVERFLOW: usize = 10;
    /// #aboutToReturn:through:
    pub const SEL_ABOUT_TO_RETURN: usize = 11;
    /// #run
    pub const SEL_RUN: usize = 12;
    /// #run:
    pub const SEL_RUN_ARGS: usize = 13;
    /// #printString
    pub const SEL_PRINT_STRING: usize = 14;
    /// #primitiveFailed:
    pub const SEL_PRIMITIVE_FAILED: usize = 15;
    /// #signalFromVM (sent to UserInterrupt or OutOfMemory where a poll point delivers one)
    pub const SEL_SIGNAL_FROM_VM: usize = 16;
    /// #initialize:
    pub const SEL_INITIALIZE_ARGS: usize = 18;
    /// First special-selector symbol (one per `bytecode::SPECIAL_SELECTORS` entry).
    pub const FIRST_SPECIAL_SELECTOR: usize = 32;
    /// Number of specials.
    pub const COUNT: usize = 64;
}

/// Why running Smalltalk code stopped abnormally. Smalltalk errors are *not* VmErrors: they
/// are exceptions handled in Smalltalk; only an unhandled one ends up here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// An exception nobody handled; the text is its description and the stack trace.
    #[error("{description}")]
    Unhandled {
        /// The exception's description (e.g. "ZeroDivide: division by zero").
        description: String,
        /// The Smalltalk stack trace, most recent call last.
        trace: String,
    },
    /// `system exit: code` was sent.
    #[error("exit {0}")]
    Exit(i32),
    /// The heap limit was reached and the program could not continue.
    #[error("out of memory")]
    OutOfMemory,
    /// The user interrupted execution (Ctrl-C), and nothing handled the UserInterrupt. The
    /// text is the Smalltalk stack where the program was, most recent call last (empty when
    /// no Smalltalk code was running).
    #[error("interrupted")]
    Interrupted {
        /// The Smalltalk stack trace where the program was interrupted.
        trace: String,
    },
    /// Internal to the VM, never returned by its entry points: an interpreter loop started by
    /// native code had its frames cut below the frame it was started for (a non-local return
    /// or an exception crossing native code); `Vm::regs` says where execution continues.
    #[error("unwound")]
    Unwound,
    /// A compile or load error outside Smalltalk control (e.g. bootstrap).
    #[error("{0}")]
    Load(String),
}

/// Run-time options of a VM.
#[derive(Clone, Debug)]
pub struct VmOptions {
    /// Heap sizes. The default limit is a quarter of the machine's memory
    /// ([`crate::memory::default_heap_limit`]), with a memory reserve for OutOfMemory errors.
    pub heap: HeapConfig,
    /// Maximum VM stack size in words; a deeper stack raises a catchable error.
    pub max_stack_words: usize,
    /// Collect at every n-th safepoint (0 = off).
    pub gc_stress: u32,
    /// Run the heap verifier after every collection.
    pub verify_heap: bool,
    /// Directories searched for `Name.som` when a global is undefined.
    pub class_path: Vec<PathBuf>,
    /// Which tier runs Smalltalk code (`--jit`); a native tier must have been registered
    /// (`tier::register_tier_factory`) for anything but `Off`.
    pub jit: JitMode,
    /// Compile a method or block after this many invocations or loop back-edges
    /// (`--jit-threshold`; `Eager` compiles before the first run).
    pub jit_threshold: u32,
    /// Print the Cranelift IR and machine-code size of these methods when they are compiled
    /// (`Class>>selector`, `Class class>>selector`; `--print-ir`).
    pub print_ir: Vec<String>,
    /// Count inline-cache hits in native code too (`--jit-stats`).
    pub jit_stats: bool,
    /// Report legal but suspicious code (a declaration shadowing an outer variable or an
    /// instance variable) on `err` as classes load.
    pub warnings: bool,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            heap: HeapConfig {
                max_bytes: crate::memory::default_heap_limit(),
                reserve_bytes: crate::memory::RESERVE_BYTES,
                ..HeapConfig::default()
            },
            max_stack_words: MAX_STACK_LIMIT,
            gc_stress: 0,
            verify_heap: false,
            class_path: Vec::new(),
            jit: JitMode::Off,
            jit_threshold: crate::tier::DEFAULT_THRESHOLD,
            print_ir: Vec::new(),
            jit_stats: false,
            warnings: false,
        }
    }
}

/// Words kept free above the normal stack limit so that the stack-overflow error can run.
pub const STACK_HEADROOM: usize = 64 * 1024;

/// The least headroom left for which an overflow is still raised as a StackOverflow error;
/// below it (an overflow nested in the handlers of several overflows), the evaluation stops.
pub const MIN_OVERFLOW_ROOM: usize = 2 * 1024;

/// The largest stack limit: the stack's capacity less the headroom.
pub const MAX_STACK_LIMIT: usize = STACK_WORDS - STACK_HEADROOM;

/// Where program output goes (stdout by default; tests capture it).
pub type Output = Box<dyn Write>;

/// The virtual machine.
pub struct Vm {
    /// The object memory.
    pub heap: Heap,
    /// The VM stack: frames of tagged words (see `frame.rs`). Scanned up to `sp`.
    pub stack: Stack,
    /// Addresses and limits compiled code reads (`layout::Runtime`), among them the current
    /// stack limit (the normal one, or raised into the headroom while a stack overflow is being
    /// handled).
    pub rt: Runtime,
    /// Saved interpreter registers (valid whenever the interpreter is not running its loop).
    pub regs: Registers,
    /// What native code reads besides `rt` and `regs` (`layout::VM_NATIVE`).
    pub native: NativeRuntime,
    /// The native tier, if any, and the interpreter's side of tiering.
    pub tiering: Tiering,
    /// Interrupt polls left before the interpreter's fast loop next reads the flag.
    pub(crate) poll_countdown: u32,
    /// The method side table and caches.
    pub methods: MethodTable,
    /// Text → Symbol.
    pub symbols: SymbolTable,
    /// The special-objects Array (in the heap, so that an image holds it): the objects and
    /// selectors the VM needs by name, indexed by the constants of [`sp`].
    pub specials: Word,
    /// true and false (nil is the heap's). With nil they are the first three objects of the
    /// heap and are visited first by the collector, so they never move (see `smalt_gc::Roots`).
    pub true_false: [Word; 2],
    /// Options.
    pub options: VmOptions,
    /// The limits in force before each raise of `stack_limit` that is still in effect, oldest
    /// first: an overflow inside the handler of an overflow raises the limit again, into what
    /// is left of the headroom.
    pub(crate) overflow_limits: Vec<usize>,
    /// Program output.
    pub out: Output,
    /// Error output.
    pub err: Output,
    /// Set asynchronously (Ctrl-C); polled at sends and back jumps.
    pub interrupt: Arc<AtomicBool>,
    /// When the VM started (for `system ticks`/`time`).
    pub started: Instant,
    /// Time spent compiling Smalltalk source, in microseconds.
    pub compile_micros: u64,
    /// Number of nested interpreter runs (Rust → Smalltalk calls).
    pub run_depth: usize,
    /// An unhandled error whose run (at this `run_depth`) is running its unwind blocks before
    /// it stops with the error (see `prims::contexts::unhandled_error`).
    pub pending_unhandled: Option<(usize, VmError)>,
    /// Arguments given to the program (for `system arguments`).
    pub arguments: Vec<String>,
    /// Code-arena offset of a lone `ReturnTop`: a frame resumed there returns its top value.
    pub return_top_stub: usize,
    /// Code-arena offset of `Value ReturnTop`: a frame resumed there evaluates the block on top
    /// of its stack and returns the block's value.
    pub value_return_stub: usize,
    /// Why the last primitive failed, when it was not a bad argument (`#outOfMemory`).
    pub prim_failure: Option<&'static str>,
    /// The message of the last compile error of `compile:`/`evaluate:` (for Smalltalk).
    pub last_compile_error: String,
    /// Names of classes being loaded from the class path (breaks cycles).
    pub loading: Vec<String>,
    /// While [`Vm::apply_class_path`] runs: the class-path files not yet loaded that
    /// override library classes.
    pub pending_overrides: Vec<String>,
    /// The names of the defined globals and the number of globals they were taken at (see
    /// `Vm::defined_globals` in the loader).
    pub defined_globals_cache: Option<(i64, std::sync::Arc<std::collections::HashSet<String>>)>,
    /// State of the random number generator (`atRandom`).
    pub rng: u64,
    /// The kernel classes exist (heap verification is meaningful from then on).
    pub kernel_ready: bool,
    /// Remembered searches for handler- and unwind-marked frames (flushed at collections).
    pub(crate) marked_frames: crate::prims::MarkedFrames,
    /// An allocation was served from the memory reserve: OutOfMemory is to be signalled at the
    /// next poll point (see `memory.rs` and `interrupts.rs`).
    pub pending_out_of_memory: bool,
    /// Whether raising [`Vm::pending_out_of_memory`] also set the interrupt flag (it was clear):
    /// the poll that delivers the OutOfMemory clears it again.
    pub(crate) out_of_memory_raised_flag: bool,
    /// The activation the VM pushed for the user interrupt being handled, if any: a second
    /// interrupt while it is live stops the run at once (see `interrupts.rs`).
    pub(crate) interrupt_frame: Option<crate::interrupts::InjectedFrame>,
    /// User interrupts delivered since the outermost run began (see `interrupts.rs`).
    pub(crate) user_interrupts: u32,
    /// Writes images for `Smalltalk saveImage:` (installed by the embedder; see `snapshot`).
    pub image_writer: Option<std::rc::Rc<dyn crate::snapshot::ImageWriter>>,
    /// Why the last `saveImage:` failed (for its Smalltalk error).
    pub image_error: String,
    /// A run suspended in `saveImage:` and loaded from an image, waiting for
    /// [`Vm::resume`]: the bp of its base frame.
    pub(crate) suspended: Option<usize>,
}

pub use crate::layout::{Registers, Runtime};
use crate::tier::{JitMode, NativeRuntime, Tiering};

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("regs", &self.regs)
            .finish_non_exhaustive()
    }
}

/// The VM's roots, split off so the heap can be borrowed mutably beside them.
struct VmRoots<'a> {
    stack: &'a mut [Word],
    specials: &'a mut Word,
    true_false: &'a mut [Word; 2],
    methods: &'a mut MethodTable,
    symbols: &'a mut SymbolTable,
}

impl Roots for VmRoots<'_> {
    fn visit_strong(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        // Specials first: nil, true and false are the first objects and, visited first, keep
        // their places (see smalt_gc::Roots).
        self.true_false.iter_mut().for_each(&mut *visit);
        visit(self.specials);
        self.stack.iter_mut().for_each(&mut *visit);
        self.methods.visit_strong(visit);
    }

    fn visit_weak(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        self.methods.visit_weak(visit);
        self.symbols.visit_weak(visit);
    }
}

impl Vm {
    /// A VM with an empty heap (no classes yet: see `bootstrap`).
    pub fn empty(options: VmOptions) -> Vm {
        // GC stress and heap verification start once the kernel classes exist (see
        // `bootstrap`): before that, objects have classes that are not registered yet.
        let heap = Heap::new(options.heap.clone());
        Vm::with_heap(options, heap)
    }

    /// A VM around `heap`, with empty side tables and stack.
    pub(crate) fn with_heap(options: VmOptions, heap: Heap) -> Vm {
        let limit = options.max_stack_words.min(MAX_STACK_LIMIT);
        let mut vm = Vm {
            rt: Runtime {
                stack_limit: limit,
                ..Runtime::default()
            },
            heap,
            stack: Stack::default(),
            regs: Registers::default(),
            native: NativeRuntime::default(),
            tiering: Tiering::default(),
            poll_countdown: 1,
            methods: MethodTable::default(),
            symbols: SymbolTable::default(),
            specials: Word::INVALID,
            true_false: [Word::INVALID; 2],
            options,
            overflow_limits: Vec::new(),
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            interrupt: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
            compile_micros: 0,
            run_depth: 0,
            pending_unhandled: None,
            arguments: Vec::new(),
            return_top_stub: crate::methods::RETURN_TOP_STUB,
            value_return_stub: crate::methods::VALUE_RETURN_STUB,
            prim_failure: None,
            last_compile_error: String::new(),
            loading: Vec::new(),
            pending_overrides: Vec::new(),
            defined_globals_cache: None,
            rng: 0x853C_49E6_748F_EA9B,
            kernel_ready: false,
            marked_frames: Default::default(),
            pending_out_of_memory: false,
            out_of_memory_raised_flag: false,
            interrupt_frame: None,
            user_interrupts: 0,
            image_writer: None,
            image_error: String::new(),
            suspended: None,
        };
        vm.refresh_runtime();
        vm
    }

    /// Recomputes the addresses of `rt` that can change: the heap's (at every collection) and
    /// the interrupt flag's (`interrupt` may be replaced). Called at every entry from Rust and
    /// after every collection, so `rt` is always current while Smalltalk code runs.
    pub fn refresh_runtime(&mut self) {
        self.rt.stack_base = self.stack.base_address();
        self.rt.interrupt_flag = Arc::as_ptr(&self.interrupt) as usize;
        self.rt.heap_base = self.heap.base_address();
        self.rt.code_base = self.methods.code.base_address();
        self.rt.cells_base = self.methods.cells.base_address();
        self.rt.infos_base = self.methods.infos.base_address();
    }

    // ---- specials ----------------------------------------------------------------------------

    /// nil.
    #[inline]
    pub fn nil(&self) -> Word {
        self.heap.nil()
    }

    /// true.
    #[inline]
    pub fn true_obj(&self) -> Word {
        self.true_false[0]
    }

    /// false.
    #[inline]
    pub fn false_obj(&self) -> Word {
        self.true_false[1]
    }

    /// The Smalltalk Boolean for `b`.
    #[inline]
    pub fn boolean(&self, b: bool) -> Word {
        if b { self.true_obj() } else { self.false_obj() }
    }

    /// Sets a special object.
    pub fn set_special(&mut self, i: usize, w: Word) {
        self.heap.set_slot(self.specials.oop(), i, w);
    }

    /// A special object.
    #[inline]
    pub fn special(&self, i: usize) -> Word {
        self.heap.slot(self.specials.oop(), i)
    }

    // ---- garbage collection --------------------------------------------------------------------

    /// The heap and, borrowed beside it, the VM's roots (the stack up to `sp` and the tables).
    fn heap_and_roots(&mut self) -> (&mut Heap, VmRoots<'_>) {
        let sp = self.regs.sp;
        let roots = VmRoots {
            stack: self.stack.used_mut(sp),
            specials: &mut self.specials,
            true_false: &mut self.true_false,
            methods: &mut self.methods,
            symbols: &mut self.symbols,
        };
        (&mut self.heap, roots)
    }

    /// Two-way `become:` of each pair: every reference to one object of a pair, in the heap
    /// and in every root, becomes a reference to the other (see `smalt_gc`'s
    /// `exchange_identities`; `prims::reflection` decides which objects may be exchanged).
    pub(crate) fn exchange_identities(&mut self, pairs: &[(smalt_gc::Oop, smalt_gc::Oop)]) {
        let (heap, mut roots) = self.heap_and_roots();
        heap.exchange_identities(pairs, &mut roots);
    }

    /// Collects now, making room for an object of `need_slots` slots.
    pub fn collect_garbage(&mut self, need_slots: usize) -> Result<(), VmError> {
        let (heap, mut roots) = self.heap_and_roots();
        let result = heap.collect(&mut roots, need_slots);
        self.rt.heap_base = self.heap.base_address();
        let nil = self.heap.nil();
        self.symbols.purge(nil);
        self.methods.purge_dead(nil);
        self.methods.flush_lookup();
        self.marked_frames.clear();
        self.tier_after_gc();
        if self.options.verify_heap && self.kernel_ready {
            self.heap.poison_spare();
            let (heap, mut roots) = self.heap_and_roots();
            if let Err(e) = heap.verify(&mut roots) {
                panic!("heap verification failed after a collection: {e}");
            }
        }
        if result.is_ok() {
            self.rearm_memory_reserve(need_slots);
        }
        result.map_err(|_| VmError::OutOfMemory)
    }

    /// A safepoint: makes sure `slots` slots (in total, over any number of objects, counting
    /// each object's header and possible overflow word) can be allocated without a collection.
    /// May collect; see the module docs about references held across it.
    ///
    /// When memory runs short this answers `Ok` for a small request it serves from the memory
    /// reserve, and the OutOfMemory error is signalled at the next poll point; it answers
    /// `Err(VmError::OutOfMemory)` for a request it refuses (primitives then fail, and their
    /// Smalltalk code signals OutOfMemory). See `memory.rs`.
    #[inline]
    pub fn reserve(&mut self, slots: usize) -> Result<(), VmError> {
        if self.heap.stress_due() || !self.heap.can_allocate(slots) {
            self.reserve_slow(slots)?;
        }
        Ok(())
    }

    /// Words to reserve for one object of `slots` slots.
    #[inline]
    pub const fn object_words(slots: usize) -> usize {
        slots + 2
    }

    /// Allocates after a successful [`Vm::reserve`]; cannot collect.
    ///
    /// # Panics
    /// If the caller did not reserve enough: a VM bug.
    #[track_caller]
    pub fn alloc_reserved(&mut self, class: ClassIndex, format: Format, slots: usize) -> Oop {
        match self.heap.alloc(class, format, slots) {
            Ok(o) => o,
            Err(e) => panic!("allocation after reserve failed: {e}"),
        }
    }

    /// Allocates an object, collecting first if needed. A safepoint.
    pub fn alloc(
        &mut self,
        class: ClassIndex,
        format: Format,
        slots: usize,
    ) -> Result<Oop, VmError> {
        if let Some(o) = self.heap.alloc_fast(class, format, slots) {
            return Ok(o);
        }
        self.reserve(Self::object_words(slots))?;
        Ok(self.alloc_reserved(class, format, slots))
    }

    /// Allocates a byte object holding `bytes`. A safepoint.
    pub fn alloc_bytes(&mut self, class: ClassIndex, bytes: &[u8]) -> Result<Oop, VmError> {
        self.reserve(Self::object_words(bytes.len().div_ceil(8)))?;
        match self.heap.alloc_bytes_from(class, bytes) {
            Ok(o) => Ok(o),
            Err(AllocError::TooLarge { .. }) => Err(VmError::OutOfMemory),
            Err(e) => panic!("allocation after reserve failed: {e}"),
        }
    }

    /// Allocates a byte object of `len` zero bytes. A safepoint.
    pub fn alloc_zero_bytes(&mut self, class: ClassIndex, len: usize) -> Result<Oop, VmError> {
        self.reserve(Self::object_words(len.div_ceil(8)))?;
        self.heap
            .alloc_bytes(class, len)
            .map_err(|_| VmError::OutOfMemory)
    }

    /// The most bytes the heap may ever hold: results computed outside it (large integers,
    /// strings) that would not fit are refused before they are computed.
    pub fn heap_limit_bytes(&self) -> usize {
        self.heap.config().max_bytes.min(smalt_gc::MAX_SPACE_BYTES)
    }

    // ---- handles -------------------------------------------------------------------------------

    /// Protects `w` across safepoints; read it back with [`Vm::handle`].
    pub fn push_handle(&mut self, w: Word) -> Handle {
        self.heap.push_handle(w)
    }

    /// The current value of a handle.
    pub fn handle(&self, h: Handle) -> Word {
        self.heap.handle(h)
    }

    /// The handle-stack position, to release handles later.
    pub fn handle_mark(&self) -> HandleMark {
        self.heap.handle_mark()
    }

    /// Releases the handles pushed since `mark`.
    pub fn release_handles(&mut self, mark: HandleMark) {
        self.heap.release_handles(mark)
    }

    // ---- common objects -------------------------------------------------------------------------

    /// A new String (UTF-8). A safepoint.
    pub fn new_string(&mut self, s: &str) -> Result<Word, VmError> {
        Ok(self.alloc_bytes(ci::STRING, s.as_bytes())?.word())
    }

    /// A new Array of nils. A safepoint.
    pub fn new_array(&mut self, len: usize) -> Result<Oop, VmError> {
        self.alloc(ci::ARRAY, Format::Indexable, len)
    }

    /// A new Array holding `items`. A safepoint; `items` are protected by handles meanwhile.
    pub fn new_array_from(&mut self, items: &[Word]) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let hs: Vec<Handle> = items.iter().map(|w| self.push_handle(*w)).collect();
        let arr = self.new_array(items.len());
        let arr = match arr {
            Ok(a) => a,
            Err(e) => {
                self.release_handles(mark);
                return Err(e);
            }
        };
        for (i, h) in hs.iter().enumerate() {
            let w = self.handle(*h);
            self.heap.set_slot(arr, i, w);
        }
        self.release_handles(mark);
        Ok(arr.word())
    }

    /// A new Array of new Strings. A safepoint.
    pub fn new_string_array<S: AsRef<str>>(&mut self, items: &[S]) -> Result<Word, VmError> {
        self.new_array_of(items, Vm::new_string)
    }

    /// A new Array of Symbols. A safepoint.
    pub fn new_symbol_array<S: AsRef<str>>(&mut self, items: &[S]) -> Result<Word, VmError> {
        self.new_array_of(items, Vm::intern)
    }

    /// A new Array of the objects `make` makes from `items`, each kept in a handle until the
    /// Array exists. A safepoint.
    fn new_array_of<S: AsRef<str>>(
        &mut self,
        items: &[S],
        make: fn(&mut Vm, &str) -> Result<Word, VmError>,
    ) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let r = (|| {
            let mut handles = Vec::with_capacity(items.len());
            for item in items {
                let w = make(self, item.as_ref())?;
                handles.push(self.push_handle(w));
            }
            let words: Vec<Word> = handles.iter().map(|h| self.handle(*h)).collect();
            self.new_array_from(&words)
        })();
        self.release_handles(mark);
        r
    }

    /// The Symbol for `name`, made if needed. A safepoint.
    pub fn intern(&mut self, name: &str) -> Result<Word, VmError> {
        if let Some(s) = self.symbols.get(name) {
            return Ok(s);
        }
        let o = self.alloc_bytes(ci::SYMBOL, name.as_bytes())?;
        self.heap.set_read_only(o, true);
        let s = o.word();
        self.symbols.insert(name, s);
        Ok(s)
    }

    /// A float value: immediate when possible, else boxed. A safepoint for boxed ones.
    pub fn new_float(&mut self, x: f64) -> Result<Word, VmError> {
        if let Some(w) = Word::try_small_float(x) {
            return Ok(w);
        }
        let o = self.alloc(ci::BOXED_FLOAT, Format::Words, 1)?;
        self.heap.words_mut(o)[0] = x.to_bits();
        self.heap.set_read_only(o, true);
        Ok(o.word())
    }

    /// The float value of a Double (immediate or boxed), else `None`.
    #[inline]
    pub fn float_value(&self, w: Word) -> Option<f64> {
        if let Some(x) = w.as_small_float() {
            return Some(x);
        }
        let o = w.as_oop()?;
        (self.heap.header(o).class_index() == ci::BOXED_FLOAT)
            .then(|| f64::from_bits(self.heap.words(o)[0]))
    }

    /// The text of a String or Symbol, else `None`. Invalid UTF-8 is replaced.
    pub fn string_value(&self, w: Word) -> Option<String> {
        let o = w.as_oop()?;
        let c = self.heap.header(o).class_index();
        (c == ci::STRING || c == ci::SYMBOL || self.is_string_like(c))
            .then(|| String::from_utf8_lossy(self.heap.bytes(o)).into_owned())
    }

    /// The bytes of a String/Symbol object.
    pub fn string_bytes(&self, w: Word) -> Option<&[u8]> {
        let o = w.as_oop()?;
        let c = self.heap.header(o).class_index();
        (c == ci::STRING || c == ci::SYMBOL || self.is_string_like(c)).then(|| self.heap.bytes(o))
    }

    /// Whether instances of class index `c` are strings (String, Symbol or a byte subclass of
    /// String).
    pub fn is_string_like(&self, c: ClassIndex) -> bool {
        if c == ci::STRING || c == ci::SYMBOL {
            return true;
        }
        let string_class = self.class_at(ci::STRING);
        let Some(mut cls) = self.heap.classes().get(c) else {
            return false;
        };
        let nil = self.nil();
        for _ in 0..64 {
            if cls == string_class {
                return true;
            }
            cls = self.heap.slot(cls.oop(), class::SUPERCLASS);
            if cls == nil {
                return false;
            }
        }
        false
    }

    /// Whether `w` is a Symbol.
    #[inline]
    pub fn is_symbol(&self, w: Word) -> bool {
        w.is_oop() && self.heap.class_index_of(w) == ci::SYMBOL
    }

    // ---- classes -------------------------------------------------------------------------------

    /// The class object at a class index.
    ///
    /// # Panics
    /// If no class is registered there (a VM bug).
    #[inline]
    #[track_caller]
    pub fn class_at(&self, index: ClassIndex) -> Word {
        self.heap
            .classes()
            .get(index)
            .unwrap_or_else(|| panic!("no class at index {}", index.0))
    }

    /// The class of any value.
    #[inline]
    pub fn class_of(&self, w: Word) -> Word {
        self.class_at(self.heap.class_index_of(w))
    }

    /// The class index stored in a class object.
    pub fn index_of_class(&self, cls: Word) -> Option<ClassIndex> {
        let o = cls.as_oop()?;
        if self.heap.num_slots(o) < class::SIZE {
            return None;
        }
        let v = self.heap.slot(o, class::INDEX).as_small_int()?;
        let idx = ClassIndex(u32::try_from(v).ok()?);
        (self.heap.classes().get(idx) == Some(cls)).then_some(idx)
    }

    /// Whether `w` is a class or metaclass object: one registered in the class table. (Other
    /// objects shaped like classes, such as a copy of one or a `Metaclass new`, are not: the VM
    /// trusts the slots of registered classes only, and reflection cannot change those.)
    pub fn is_class(&self, w: Word) -> bool {
        self.is_class_shaped(w) && self.index_of_class(w).is_some()
    }

    /// Whether `w` is an instance of a metaclass or of Metaclass, so that its first
    /// `class::SIZE` slots are a class's own slots.
    pub fn is_class_shaped(&self, w: Word) -> bool {
        let Some(o) = w.as_oop() else { return false };
        let meta_of = self.heap.class_index_of(w);
        // A class's class is a metaclass; a metaclass's class is Metaclass.
        (meta_of == ci::METACLASS
            || self
                .heap
                .classes()
                .get(meta_of)
                .is_some_and(|m| self.heap.class_index_of(m) == ci::METACLASS))
            && self.heap.num_slots(o) >= class::SIZE
    }

    /// The instance spec of a class (`None` for anything else).
    pub fn instance_spec(&self, cls: Word) -> Option<objects::InstanceSpec> {
        self.class_index_and_spec(cls).map(|(_, spec)| spec)
    }

    /// The class index and instance spec of a class (`None` for anything else): what
    /// [`Vm::index_of_class`] and [`Vm::instance_spec`] answer, checking the class once.
    pub fn class_index_and_spec(&self, cls: Word) -> Option<(ClassIndex, objects::InstanceSpec)> {
        let index = self.index_of_class(cls)?;
        if !self.is_class_shaped(cls) {
            return None;
        }
        let v = self.heap.slot(cls.oop(), class::SPEC).as_small_int()?;
        Some((index, objects::InstanceSpec::decode(v)?))
    }

    /// A class's name ("Foo", or "Foo class" for a metaclass).
    pub fn class_name(&self, cls: Word) -> String {
        let Some(o) = cls.as_oop() else {
            return "?".into();
        };
        if self.heap.num_slots(o) < class::SIZE {
            return "?".into();
        }
        let name = self.heap.slot(o, class::NAME);
        if let Some(s) = self.string_value(name) {
            return s;
        }
        let this = self.heap.slot(o, class::THIS_CLASS);
        if this != self.nil() && this != cls {
            return format!("{} class", self.class_name(this));
        }
        "?".into()
    }

    /// The superclass of a class (nil at the root).
    #[inline]
    pub fn superclass(&self, cls: Word) -> Word {
        self.heap.slot(cls.oop(), class::SUPERCLASS)
    }

    /// Whether class `cls` is `ancestor` or inherits from it.
    pub fn inherits_from(&self, mut cls: Word, ancestor: Word) -> bool {
        let nil = self.nil();
        while cls != nil {
            if cls == ancestor {
                return true;
            }
            cls = self.superclass(cls);
        }
        false
    }

    // ---- identity dictionaries (method dictionaries and the globals) --------------------------

    /// Looks `key` up in an identity dictionary (keys compared by identity, probed by the keys'
    /// identity hashes). Returns the value.
    pub fn dict_at(&self, dict: Word, key: Word) -> Option<Word> {
        let d = dict.oop();
        let keys = self.heap.slot(d, method_dict::KEYS).oop();
        let hash = self.heap.peek_identity_hash(key.as_oop()?);
        if hash == 0 {
            return None; // never hashed, so never stored
        }
        let i = self.dict_probe(keys, key, hash as usize).ok()?;
        let values = self.heap.slot(d, method_dict::VALUES).oop();
        Some(self.heap.slot(values, i))
    }

    /// Linear probing in the keys Array of an identity dictionary, from `hash`: `Ok(i)` where
    /// `key` is, or `Err(i)` of the empty slot that ends its cluster (`Err(usize::MAX)` for an
    /// empty or full Array; the dictionaries grow at 3/4, so they are never full).
    fn dict_probe(&self, keys: Oop, key: Word, hash: usize) -> Result<usize, usize> {
        let cap = self.heap.num_slots(keys);
        if cap == 0 {
            return Err(usize::MAX);
        }
        let nil = self.nil();
        let mut i = hash % cap;
        for _ in 0..cap {
            let k = self.heap.slot(keys, i);
            if k == key {
                return Ok(i);
            }
            if k == nil {
                return Err(i);
            }
            i = (i + 1) % cap;
        }
        Err(usize::MAX)
    }

    /// Stores `key → value` in an identity dictionary, growing it when 3/4 full. A safepoint:
    /// the arguments are handles.
    pub fn dict_put(&mut self, dict: Handle, key: Handle, value: Handle) -> Result<(), VmError> {
        let d = self.handle(dict).oop();
        let keys = self.heap.slot(d, method_dict::KEYS).oop();
        let cap = self.heap.num_slots(keys);
        let tally = self
            .heap
            .slot(d, method_dict::TALLY)
            .as_small_int()
            .unwrap_or(0) as usize;
        if (tally + 1) * 4 > cap * 3 {
            self.dict_grow(dict, (cap * 2).max(8))?;
        }
        let key_oop = self.handle(key).oop();
        let hash = self.heap.identity_hash(key_oop) as usize;
        let d = self.handle(dict).oop();
        let keys = self.heap.slot(d, method_dict::KEYS).oop();
        let values = self.heap.slot(d, method_dict::VALUES).oop();
        let i = match self.dict_probe(keys, key_oop.word(), hash) {
            Ok(i) => i,
            Err(i) => {
                self.heap.set_slot(keys, i, key_oop.word());
                let t = self
                    .heap
                    .slot(d, method_dict::TALLY)
                    .as_small_int()
                    .unwrap_or(0);
                self.heap
                    .set_slot(d, method_dict::TALLY, Word::small_int(t + 1));
                i
            }
        };
        let v = self.handle(value);
        self.heap.set_slot(values, i, v);
        Ok(())
    }

    /// Removes `key` from an identity dictionary; returns the old value.
    pub fn dict_remove(&mut self, dict: Word, key: Word) -> Option<Word> {
        let d = dict.oop();
        let keys = self.heap.slot(d, method_dict::KEYS).oop();
        let values = self.heap.slot(d, method_dict::VALUES).oop();
        let cap = self.heap.num_slots(keys);
        let nil = self.nil();
        let hash = self.heap.peek_identity_hash(key.as_oop()?) as usize;
        if hash == 0 {
            return None;
        }
        let i = self.dict_probe(keys, key, hash).ok()?;
        let old = self.heap.slot(values, i);
        self.heap.set_slot(keys, i, nil);
        self.heap.set_slot(values, i, nil);
        let t = self
            .heap
            .slot(d, method_dict::TALLY)
            .as_small_int()
            .unwrap_or(1);
        self.heap
            .set_slot(d, method_dict::TALLY, Word::small_int(t - 1));
        // Re-insert the rest of the cluster so probing still finds them.
        let mut j = (i + 1) % cap;
        loop {
            let k = self.heap.slot(keys, j);
            if k == nil {
                break;
            }
            let v = self.heap.slot(values, j);
            self.heap.set_slot(keys, j, nil);
            self.heap.set_slot(values, j, nil);
            let h = self.heap.peek_identity_hash(k.oop()) as usize;
            let p = self
                .dict_probe(keys, k, h)
                .expect_err("the key was just taken out");
            self.heap.set_slot(keys, p, k);
            self.heap.set_slot(values, p, v);
            j = (j + 1) % cap;
        }
        Some(old)
    }

    fn dict_grow(&mut self, dict: Handle, new_cap: usize) -> Result<(), VmError> {
        self.reserve(2 * Self::object_words(new_cap))?;
        let new_keys = self.alloc_reserved(ci::ARRAY, Format::Indexable, new_cap);
        let new_values = self.alloc_reserved(ci::ARRAY, Format::Indexable, new_cap);
        let d = self.handle(dict).oop();
        let keys = self.heap.slot(d, method_dict::KEYS).oop();
        let values = self.heap.slot(d, method_dict::VALUES).oop();
        let nil = self.nil();
        for i in 0..self.heap.num_slots(keys) {
            let k = self.heap.slot(keys, i);
            if k == nil {
                continue;
            }
            let h = self.heap.identity_hash(k.oop()) as usize;
            let p = self
                .dict_probe(new_keys, k, h)
                .expect_err("keys are distinct");
            self.heap.set_slot(new_keys, p, k);
            let v = self.heap.slot(values, i);
            self.heap.set_slot(new_values, p, v);
        }
        self.heap.set_slot(d, method_dict::KEYS, new_keys.word());
        self.heap
            .set_slot(d, method_dict::VALUES, new_values.word());
        Ok(())
    }

    /// Every (key, value) of an identity dictionary.
    pub fn dict_entries(&self, dict: Word) -> Vec<(Word, Word)> {
        let d = dict.oop();
        let keys = self.heap.slot(d, method_dict::KEYS).oop();
        let values = self.heap.slot(d, method_dict::VALUES).oop();
        let nil = self.nil();
        (0..self.heap.num_slots(keys))
            .filter_map(|i| {
                let k = self.heap.slot(keys, i);
                (k != nil).then(|| (k, self.heap.slot(values, i)))
            })
            .collect()
    }

    /// A new empty identity dictionary of class `class`. A safepoint.
    pub fn new_dict(&mut self, class: ClassIndex, cap: usize) -> Result<Word, VmError> {
        self.reserve(Self::object_words(method_dict::SIZE) + 2 * Self::object_words(cap))?;
        let keys = self.alloc_reserved(ci::ARRAY, Format::Indexable, cap);
        let values = self.alloc_reserved(ci::ARRAY, Format::Indexable, cap);
        let d = self.alloc_reserved(class, Format::Fixed, method_dict::SIZE);
        self.heap.set_slot(d, method_dict::TALLY, Word::ZERO);
        self.heap.set_slot(d, method_dict::KEYS, keys.word());
        self.heap.set_slot(d, method_dict::VALUES, values.word());
        Ok(d.word())
    }

    // ---- globals -------------------------------------------------------------------------------

    /// The binding (Association) of a defined global.
    pub fn global_binding(&self, name: Word) -> Option<Word> {
        self.dict_at(self.special(sp::GLOBALS), name)
    }

    /// The value of a defined global.
    pub fn global(&self, name: &str) -> Option<Word> {
        let sym = self.symbols.get(name)?;
        let b = self.global_binding(sym)?;
        Some(self.heap.slot(b.oop(), association::VALUE))
    }

    /// Defines or redefines a global. An undeclared binding for the name becomes the global's
    /// binding, so code compiled before the definition sees it. A safepoint.
    pub fn set_global(&mut self, name: &str, value: Word) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let hv = self.push_handle(value);
        let r = self.set_global_h(name, hv);
        self.release_handles(mark);
        r
    }

    fn set_global_h(&mut self, name: &str, hv: Handle) -> Result<Word, VmError> {
        let sym = self.intern(name)?;
        if let Some(b) = self.global_binding(sym) {
            let v = self.handle(hv);
            self.heap.set_slot(b.oop(), association::VALUE, v);
            return Ok(b);
        }
        let hs = self.push_handle(sym);
        let undeclared = self.special(sp::UNDECLARED);
        let binding = match self.dict_at(undeclared, sym) {
            Some(b) => {
                self.dict_remove(undeclared, sym);
                self.heap.set_class_index(b.oop(), ci::ASSOCIATION);
                b
            }
            None => {
                let b = self.alloc(ci::ASSOCIATION, Format::Fixed, association::SIZE)?;
                let s = self.handle(hs);
                self.heap.set_slot(b, association::KEY, s);
                b.word()
            }
        };
        let v = self.handle(hv);
        self.heap.set_slot(binding.oop(), association::VALUE, v);
        let hb = self.push_handle(binding);
        let hd = self.push_handle(self.special(sp::GLOBALS));
        self.dict_put(hd, hs, hb)?;
        Ok(self.handle(hb))
    }

    /// The binding to compile into code that names global `name`: the global's own binding if
    /// it is defined, else an undeclared binding that becomes the real one on definition.
    /// A safepoint.
    pub fn binding_for(&mut self, name: &str) -> Result<Word, VmError> {
        let sym = self.intern(name)?;
        if let Some(b) = self.global_binding(sym) {
            return Ok(b);
        }
        let undeclared = self.special(sp::UNDECLARED);
        if let Some(b) = self.dict_at(undeclared, sym) {
            return Ok(b);
        }
        let mark = self.handle_mark();
        let hs = self.push_handle(sym);
        let b = self.alloc(ci::UNDECLARED_BINDING, Format::Fixed, association::SIZE)?;
        let s = self.handle(hs);
        self.heap.set_slot(b, association::KEY, s);
        let hb = self.push_handle(b.word());
        let hd = self.push_handle(self.special(sp::UNDECLARED));
        self.dict_put(hd, hs, hb)?;
        let b = self.handle(hb);
        self.release_handles(mark);
        Ok(b)
    }

    // ---- methods -------------------------------------------------------------------------------

    /// The method id stored in a compiled method object.
    #[inline]
    pub fn method_id(&self, m: Word) -> MethodId {
        MethodId(
            self.heap
                .slot(m.oop(), method::ID)
                .as_small_int()
                .unwrap_or(0) as u32,
        )
    }

    /// Literal `k` of a compiled method.
    #[inline]
    pub fn literal(&self, m: Word, k: usize) -> Word {
        self.heap.slot(m.oop(), method::FIRST_LITERAL + k)
    }

    /// The trailer slot `back` places from the end of a method's pointer part (0 = debug info,
    /// 1 = holder, 2 = selector, 3 = site table).
    pub fn method_trailer(&self, m: Word, back: usize) -> Word {
        let o = m.oop();
        let n = self.heap.method_pointer_slots(o);
        self.heap.slot(o, n - 1 - back)
    }

    /// A method's selector (blocks: the enclosing method's).
    pub fn method_selector(&self, m: Word) -> Word {
        self.method_trailer(m, 2)
    }

    /// A method's holder: the class it is installed in (blocks: the enclosing code).
    pub fn method_holder(&self, m: Word) -> Word {
        self.method_trailer(m, 1)
    }

    /// The home method of a block's code (the method itself for methods).
    pub fn home_method(&self, mut m: Word) -> Word {
        for _ in 0..256 {
            let info = self.methods.info(self.method_id(m));
            if !info.is_block() {
                return m;
            }
            m = self.method_holder(m);
        }
        m
    }

    /// Looks a selector up along the superclass chain starting at `cls`.
    pub fn lookup_in(&self, mut cls: Word, selector: Word) -> Option<Word> {
        let nil = self.nil();
        while cls != nil {
            let md = self.heap.slot(cls.oop(), class::METHODS);
            if md != nil
                && let Some(m) = self.dict_at(md, selector)
            {
                return Some(m);
            }
            cls = self.superclass(cls);
        }
        None
    }

    /// Looks a selector up for receivers of class index `class`, through the global lookup cache.
    #[inline]
    pub fn lookup(&mut self, class: ClassIndex, selector: Word) -> Option<MethodId> {
        if let Some(m) = self.methods.probe_lookup(class, selector) {
            return Some(m);
        }
        self.lookup_slow(class, selector)
    }

    #[cold]
    fn lookup_slow(&mut self, class: ClassIndex, selector: Word) -> Option<MethodId> {
        let cls = self.heap.classes().get(class)?;
        let m = self.lookup_in(cls, selector)?;
        let id = self.method_id(m);
        if id == MethodId::NONE {
            return None;
        }
        self.methods.fill_lookup(class, selector, id);
        Some(id)
    }

    /// Installs `m` under `selector` in class `cls`'s method dictionary and invalidates exactly
    /// the caches that may now find another method. A safepoint (handles for all three).
    pub fn install_method(
        &mut self,
        cls: Handle,
        selector: Handle,
        m: Handle,
    ) -> Result<(), VmError> {
        let c = self.handle(cls);
        let md = self.heap.slot(c.oop(), class::METHODS);
        let old = self
            .dict_at(md, self.handle(selector))
            .unwrap_or(self.nil());
        let hold = self.push_handle(old);
        let hmd = self.push_handle(md);
        self.dict_put(hmd, selector, m)?;
        self.invalidate_selector(self.handle(cls), self.handle(selector));
        let old = self.handle(hold);
        if old != self.handle(m) {
            // Native code of the replaced method must no longer be reached.
            self.tier_method_replaced(old);
        }
        Ok(())
    }

    /// Removes a method; returns whether it was there.
    pub fn remove_method(&mut self, cls: Word, selector: Word) -> bool {
        let md = self.heap.slot(cls.oop(), class::METHODS);
        let removed = self.dict_remove(md, selector);
        if let Some(old) = removed {
            self.invalidate_selector(cls, selector);
            self.tier_method_replaced(old);
        }
        removed.is_some()
    }

    /// Clears cache entries for `selector` on `cls` and every class inheriting from it.
    pub fn invalidate_selector(&mut self, cls: Word, selector: Word) -> usize {
        if !self.methods.anything_cached {
            // Nothing ran since the caches were last empty (loading the class library).
            return 0;
        }
        let classes = self.heap.classes();
        let heap = &self.heap;
        let nil = self.nil();
        let inherits = |index: u32| {
            let Some(mut c) = classes.get(ClassIndex(index)) else {
                return false;
            };
            while c != nil {
                if c == cls {
                    return true;
                }
                c = heap.slot(c.oop(), class::SUPERCLASS);
            }
            false
        };
        self.methods.invalidate(selector, &inherits)
    }

    // ---- misc ------------------------------------------------------------------------------------

    /// The next pseudo-random number (xorshift64*).
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Whether an interrupt (Ctrl-C) is pending; clears it. (Poll points use
    /// [`Vm::attention_needed`] and [`Vm::attend`], which also deliver a deferred
    /// OutOfMemory.)
    #[inline]
    pub fn take_interrupt(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed) && self.interrupt.swap(false, Ordering::Relaxed)
    }
}
