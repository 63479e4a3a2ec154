//! The tier interface: how a native-code tier (the Cranelift JIT of `smalt-jit`) runs methods on
//! the interpreter's frames. `vm` knows nothing of Cranelift: it defines what a tier must do
//! ([`Tier`]), the few addresses and fields native code reads ([`NativeRuntime`]), and, as safe
//! Rust, everything native code asks the VM to do (the `native_*` methods below), so that the
//! JIT's own runtime is a set of one-line `extern "C"` shims around them.
//!
//! # The contract
//!
//! Native code for a method or block is a function
//!
//! ```text
//!   extern "C" fn(vm: *mut Vm, fp: u64, mid: u64, resume: u64) -> u64 (a status)
//! ```
//!
//! * **Frames.** `fp` is the index of the frame header on the VM stack. For a fresh activation
//!   (`resume` = [`ENTER_CALL`] or [`ENTER_AFTER_PRIMITIVE`]) the caller has pushed the receiver
//!   and arguments and written `CALLER_FP` and `RETURN_PC` of the new frame; the callee writes
//!   the rest of the header and the temporaries, exactly as the interpreter's `push_frame`
//!   does. `resume` ≥ [`RESUME_BASE`] continues a frame that already exists at one of the
//!   method's resume points (a loop head for on-stack replacement, or its first bytecode); the
//!   tier says which ([`Tier::resume_point`]).
//! * **Returns.** A normal return stores the result in the frame's receiver slot (`bp`) and
//!   answers [`status::NORMAL`]; the caller's operand stack then ends just above that slot.
//! * **Object references** never live in native registers across a call out: every live value
//!   is in a frame slot, and `vm.regs.sp` is set by every call out (the `native_*` methods
//!   take `fp`, `sp` and `pc`), so a collection sees every frame.
//! * **Unwinding** is by status: when a call out leaves the VM in another state than "this
//!   frame continues after the call" (a non-local return, an exception cutting frames, a
//!   restarted context), it answers [`status::UNWOUND`] and `vm.regs` says where execution
//!   continues. A native frame that gets UNWOUND continues itself if `vm.regs` is exactly its
//!   own continuation, and otherwise returns UNWOUND to its caller; the first interpreter loop
//!   whose frames include the target continues from `vm.regs`. Errors ([`status::ERROR`]) are
//!   kept in `vm.tiering.error` and travel the same way.
//! * **Runs.** The interpreter loop ([`Vm::run_until`]) runs the frames above a *stop* frame:
//!   the base (-1) for a run entered from Rust, or the native frame that called into the
//!   interpreter. Returning to the stop leaves the loop; being cut below it leaves the loop with
//!   `VmError::Unwound`, which the native side turns back into the UNWOUND status.
//! * **Depth.** Native code recurses on the native stack, the interpreter never does. Native
//!   code checks its stack pointer against [`NativeRuntime::stack_limit`] at every entry, and
//!   the interpreter does not enter native code below that limit: deep recursions continue in
//!   the interpreter, whose frames are on the VM stack only, so any depth works the same.

use crate::frame::{self, BASE_MARKER};
use crate::interp::Flow;
use crate::methods::MethodId;
use crate::prims::Prim;
use crate::vm::{Registers, Vm, VmError, sp};
use smalt_gc::{ClassIndex, Word};
use std::sync::OnceLock;

mod switch;

/// The statuses native code and the native operations answer.
pub mod status {
    /// Returned normally; continue after the call.
    pub const NORMAL: u64 = 0;
    /// The frames were switched (cut, restarted, …): continue from `vm.regs`.
    pub const UNWOUND: u64 = 1;
    /// An error stops the run; it is in `vm.tiering.error`.
    pub const ERROR: u64 = 2;
    /// A primitive failed: run the method's bytecodes.
    pub const FAIL: u64 = 3;
}

/// `resume` argument: a fresh activation whose primitive (if any) has not run yet.
pub const ENTER_CALL: u32 = 0;
/// `resume` argument: a fresh activation whose primitive already failed.
pub const ENTER_AFTER_PRIMITIVE: u32 = 1;
/// `resume` argument of resume point `i`: `RESUME_BASE + i`.
pub const RESUME_BASE: u32 = 2;

/// Which tier runs Smalltalk code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JitMode {
    /// The interpreter only.
    #[default]
    Off,
    /// Interpret first; compile methods and blocks once their invocation or loop back-edge
    /// count passes the threshold.
    On,
    /// Compile every method and block before its first run.
    Eager,
}

impl std::str::FromStr for JitMode {
    type Err = String;
    fn from_str(s: &str) -> Result<JitMode, String> {
        match s {
            "off" => Ok(JitMode::Off),
            "on" => Ok(JitMode::On),
            "eager" => Ok(JitMode::Eager),
            _ => Err(format!("'{s}': expected off, on or eager")),
        }
    }
}

/// The default compile threshold (invocations or loop back-edges).
pub const DEFAULT_THRESHOLD: u32 = 1000;

/// A place where native code can continue a frame that already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Its index (the `resume` argument is `RESUME_BASE + index`).
    pub index: u32,
    /// The depth of the operand stack there.
    pub depth: usize,
}

/// A native-code tier. The VM calls it at a few points; everything else goes through the
/// method infos' `native_entry` fields and the cells, which the tier fills.
pub trait Tier {
    /// Compiles method or block `mid` (its counter passed the threshold): on success its
    /// `native_entry` is set. On failure the tier resets the counter.
    fn compile(&mut self, vm: &mut Vm, mid: MethodId);
    /// Where native code of `mid` can continue a frame at method-relative pc `rel_pc`.
    fn resume_point(&self, mid: MethodId, rel_pc: usize) -> Option<ResumePoint>;
    /// Method `mid` was replaced or removed from its class: its code must no longer be reached
    /// (frames running it finish with it).
    fn method_replaced(&mut self, vm: &mut Vm, mid: MethodId);
    /// A collection just happened (dead methods' ids were freed): release the code no frame
    /// runs any more.
    fn after_gc(&mut self, vm: &mut Vm);
    /// The method table was rebuilt from a loaded image: methods whose saved counters passed
    /// the threshold may be compiled right away.
    fn image_loaded(&mut self, vm: &mut Vm);
    /// Statistics (`--jit-stats`).
    fn report(&self, vm: &Vm) -> String;
    /// The compilation counters so far (what `smalt bench` and the REPL's `:time` show).
    fn counters(&self) -> TierCounters;
}

/// What a tier has compiled so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierCounters {
    /// Methods and blocks compiled.
    pub compiled: u64,
    /// Compilations that failed.
    pub failed: u64,
    /// Time spent compiling (thread CPU time).
    pub compile_time: std::time::Duration,
}

/// Calls native code: `(vm, entry, fp, mid, resume) -> status`. Provided by the tier, which
/// checks that `entry` is code it made.
pub type EnterFn = fn(&mut Vm, u64, usize, u32, u32) -> u64;

/// What native code reads from the VM besides `rt` and `regs` (at `layout::VM_NATIVE`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeRuntime {
    /// Native code is not entered with the machine stack pointer below this address.
    pub stack_limit: usize,
    /// The tier's code memory, `[code_lo, code_hi)`: every native entry lies inside.
    pub code_lo: usize,
    /// End of the code memory.
    pub code_hi: usize,
    /// Native entry that runs a method in the interpreter (cell targets without code).
    pub bridge_entry: u64,
    /// Native entry that sends doesNotUnderstand: (its `mid` argument is the cell index).
    pub dnu_entry: u64,
    /// Native entries of quick methods, by [`Activation`] kind (0 = none).
    pub quick_entries: [u64; crate::layout::ACTIVATION_KINDS],
}

/// The VM's side of tiering (not read by native code).
pub struct Tiering {
    /// The tier, if one is attached.
    pub tier: Option<Box<dyn Tier>>,
    /// How native code is called.
    pub enter: Option<EnterFn>,
    /// Computes `NativeRuntime::stack_limit` for the current thread.
    pub stack_limit_fn: Option<fn() -> usize>,
    /// Whether a tier is attached (the interpreter's back-edge hook).
    pub active: bool,
    /// Compile after this many invocations or back-edges (`u32::MAX`: never).
    pub threshold: u32,
    /// The frame below the frames the innermost interpreter loop runs (see the module docs).
    pub stop_fp: i64,
    /// The error a native run stopped with.
    pub error: Option<VmError>,
    /// Methods whose native code runs without a frame of its own yet (during its primitive or
    /// its entry checks): their code is not freed.
    pub pinned: Vec<u32>,
}

impl Default for Tiering {
    fn default() -> Tiering {
        Tiering {
            tier: None,
            enter: None,
            stack_limit_fn: None,
            active: false,
            threshold: u32::MAX,
            stop_fp: BASE_MARKER,
            error: None,
            pinned: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Tiering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiering")
            .field("active", &self.active)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// Attaches a tier to a new VM according to its options.
pub type TierFactory = fn(&mut Vm) -> Result<(), VmError>;

static FACTORY: OnceLock<TierFactory> = OnceLock::new();

/// Registers the function that attaches a native tier to VMs whose options ask for one
/// (`VmOptions::jit`). The binary registers smalt-jit's at start-up.
pub fn register_tier_factory(f: TierFactory) {
    let _ = FACTORY.set(f);
}

/// The address of a local: the machine stack pointer, near enough.
#[inline(always)]
fn approx_stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

#[inline(always)]
fn small(w: Word) -> i64 {
    (w.raw() as i64) >> 1
}

impl Vm {
    // ---- set-up ------------------------------------------------------------------------------

    /// Attaches the registered tier if the options ask for one (called by `Vm::new`).
    pub(crate) fn attach_tier(&mut self) -> Result<(), VmError> {
        if self.options.jit == JitMode::Off {
            return Ok(());
        }
        match FACTORY.get() {
            Some(f) => f(self),
            None => Err(VmError::Load(
                "this program was built without the JIT (--jit=off only)".into(),
            )),
        }
    }

    /// Installs a tier: the JIT calls this from its factory.
    pub fn install_tier(&mut self, tier: Box<dyn Tier>, enter: EnterFn, threshold: u32) {
        self.tiering.tier = Some(tier);
        self.tiering.enter = Some(enter);
        self.tiering.active = true;
        self.tiering.threshold = threshold.max(1);
    }

    /// The tier's statistics, if a tier is attached.
    pub fn tier_report(&self) -> Option<String> {
        self.tiering.tier.as_ref().map(|t| t.report(self))
    }

    /// The tier's compilation counters, if a tier is attached.
    pub fn tier_counters(&self) -> Option<TierCounters> {
        self.tiering.tier.as_ref().map(|t| t.counters())
    }

    /// Tells the tier that the method table was rebuilt from an image.
    pub fn tier_image_loaded(&mut self) {
        self.with_tier(|t, vm| t.image_loaded(vm));
    }

    fn with_tier(&mut self, f: impl FnOnce(&mut dyn Tier, &mut Vm)) {
        if let Some(mut t) = self.tiering.tier.take() {
            f(&mut *t, self);
            self.tiering.tier = Some(t);
        }
    }

    /// A run from Rust starts on this thread: native code's stack limit is this thread's.
    pub(crate) fn tier_thread_entered(&mut self) {
        if let Some(f) = self.tiering.stack_limit_fn {
            self.native.stack_limit = f();
        }
    }

    pub(crate) fn tier_compile(&mut self, mid: MethodId) {
        // Switched off (`set_jit`): the tier stays attached but compiles nothing.
        if !self.tiering.active {
            return;
        }
        self.with_tier(|t, vm| t.compile(vm, mid));
    }

    pub(crate) fn tier_after_gc(&mut self) {
        self.with_tier(|t, vm| t.after_gc(vm));
    }

    pub(crate) fn tier_method_replaced(&mut self, old: Word) {
        let Some(o) = old.as_oop() else { return };
        if !self.tiering.active
            || !matches!(self.heap.format(o), smalt_gc::Format::CompiledMethod { .. })
        {
            return;
        }
        let mid = self.method_id(old);
        if mid != MethodId::NONE {
            self.with_tier(|t, vm| t.method_replaced(vm, mid));
        }
    }

    // ---- the interpreter's side ----------------------------------------------------------

    /// Whether the frame at `fp` is one the innermost interpreter loop runs (above its stop).
    #[inline(always)]
    pub(crate) fn in_run_region(&self, fp: usize) -> bool {
        (fp as i64) > self.tiering.stop_fp
    }

    /// Whether the machine stack has room for native code.
    #[inline(always)]
    fn native_stack_ok(&self) -> bool {
        approx_stack_pointer() > self.native.stack_limit
    }

    fn enter_native(&mut self, entry: u64, fp: usize, mid: u32, resume: u32) -> u64 {
        match self.tiering.enter {
            Some(enter) => enter(self, entry, fp, mid, resume),
            None => {
                self.tiering.error = Some(VmError::Load("native code without a tier".into()));
                status::ERROR
            }
        }
    }

    /// The error a native run stopped with.
    fn take_native_error(&mut self) -> VmError {
        self.tiering
            .error
            .take()
            .unwrap_or_else(|| VmError::Load("native code failed without an error".into()))
    }

    /// Native code answered UNWOUND to the interpreter: continue from `vm.regs` if that frame
    /// is this run's, else leave the run.
    fn native_unwound(&mut self, r: &mut Registers) -> Result<(), VmError> {
        *r = self.regs;
        if self.in_run_region(r.fp) {
            Ok(())
        } else {
            Err(VmError::Unwound)
        }
    }

    /// The base frame of a run from Rust was returned from by native code (or the interpreter
    /// unwound to it): its value is on top of the stack.
    pub(crate) fn unwound_to_base(&mut self) -> Result<Word, VmError> {
        if self.regs.fp == usize::MAX && self.regs.sp > 0 {
            Ok(self.stack[self.regs.sp - 1])
        } else {
            Err(VmError::Load(
                "internal error: an unwinding left its run".into(),
            ))
        }
    }

    /// `push_frame` for a method with native code or whose counter passed the threshold.
    #[cold]
    pub(crate) fn push_frame_tiered(
        &mut self,
        r: &mut Registers,
        mid: u32,
        nargs: usize,
    ) -> Result<(), VmError> {
        if self.tier_activate(r, mid, nargs)? {
            return Ok(());
        }
        self.push_frame_interpreted(r, mid, nargs)
    }

    /// Runs an activation of method or block `mid` natively (compiling it first if its
    /// counter passed the threshold), its receiver (or closure) and arguments on top of the
    /// stack and its primitive, if any, already failed. Answers false if it has no native code
    /// or the machine stack is too deep: the caller then pushes an interpreted frame.
    pub(crate) fn tier_activate(
        &mut self,
        r: &mut Registers,
        mid: u32,
        nargs: usize,
    ) -> Result<bool, VmError> {
        let mut entry = self.methods.infos[mid as usize].native_entry;
        if entry == 0 {
            self.regs = *r;
            self.tier_compile(MethodId(mid));
            entry = self.methods.infos[mid as usize].native_entry;
            if entry == 0 {
                return Ok(false);
            }
        }
        if !self.native_stack_ok() {
            return Ok(false);
        }
        let new_fp = r.sp;
        self.stack[new_fp + frame::CALLER_FP] = Word::small_int(r.fp as i64);
        self.stack[new_fp + frame::RETURN_PC] = Word::small_int(r.pc as i64);
        match self.enter_native(entry, new_fp, mid, ENTER_AFTER_PRIMITIVE) {
            status::NORMAL => {
                r.sp = new_fp - nargs;
                Ok(true)
            }
            status::UNWOUND => {
                self.native_unwound(r)?;
                Ok(true)
            }
            _ => {
                // Where the error happened (for the trace and for abandoning the frames).
                *r = self.regs;
                Err(self.take_native_error())
            }
        }
    }

    /// A loop back-edge of the interpreted frame `r` (the jump done): counts it, compiles the
    /// method when it is hot, and continues the frame natively at the loop head when it has
    /// native code (on-stack replacement). Answers the value if the frame then returned to the
    /// run's stop.
    #[cold]
    pub(crate) fn tier_back_edge(&mut self, r: &mut Registers) -> Result<Option<Word>, VmError> {
        let mid = self.frame_method_id(r.fp);
        let info = &mut self.methods.infos[mid.0 as usize];
        info.invocations = info.invocations.wrapping_add(1);
        if info.native_entry == 0 {
            if info.invocations < self.tiering.threshold {
                return Ok(None);
            }
            self.regs = *r;
            self.tier_compile(mid);
        }
        let info = self.methods.infos[mid.0 as usize];
        if info.native_entry == 0 || !self.native_stack_ok() {
            return Ok(None);
        }
        let Some(point) = self
            .tiering
            .tier
            .as_ref()
            .and_then(|t| t.resume_point(mid, r.pc - info.code_start))
        else {
            return Ok(None);
        };
        if r.sp != r.fp + frame::TEMPS + info.num_temps + point.depth {
            return Ok(None);
        }
        let caller_fp = small(self.stack[r.fp + frame::CALLER_FP]);
        let return_pc = small(self.stack[r.fp + frame::RETURN_PC]) as usize;
        let bp = r.bp;
        match self.enter_native(info.native_entry, r.fp, mid.0, RESUME_BASE + point.index) {
            status::NORMAL => {
                r.sp = bp + 1;
                let v = self.stack[bp];
                match self.return_to_caller(r, caller_fp, return_pc, v) {
                    Flow::Exit(v) => Ok(Some(v)),
                    Flow::Continue => Ok(None),
                }
            }
            status::UNWOUND => {
                self.native_unwound(r)?;
                Ok(None)
            }
            _ => {
                *r = self.regs;
                Err(self.take_native_error())
            }
        }
    }

    /// Runs the interpreter from `vm.regs` until the frames above `stop` return to it (or are
    /// cut below it: `Err(VmError::Unwound)`). Afterwards `vm.regs` is the stop frame's state.
    pub fn run_until(&mut self, stop: i64) -> Result<(), VmError> {
        let saved = std::mem::replace(&mut self.tiering.stop_fp, stop);
        let result = self.run();
        self.tiering.stop_fp = saved;
        result.map(|_| ())
    }

    // ---- what native code asks for -------------------------------------------------------

    /// The registers of the native frame at `fp` with operand stack top `sp`, at `pc`.
    fn frame_regs(&self, fp: usize, sp: usize, pc: usize) -> Registers {
        let mid = self.frame_method_id(fp);
        Registers {
            bp: self.frame_bp(fp),
            fp,
            sp,
            pc,
            cells: self.methods.info(mid).cell_base,
        }
    }

    /// The registers of the caller of an activation being entered at `fp` (its receiver and
    /// arguments below `fp`, its CALLER_FP and RETURN_PC written): as the interpreter's are
    /// when it invokes a method.
    fn caller_regs(&self, fp: usize) -> Registers {
        let caller = small(self.stack[fp + frame::CALLER_FP]);
        let pc = small(self.stack[fp + frame::RETURN_PC]) as usize;
        if caller < 0 {
            Registers {
                bp: 0,
                fp: usize::MAX,
                sp: fp,
                pc,
                cells: 0,
            }
        } else {
            self.frame_regs(caller as usize, fp, pc)
        }
    }

    /// After a native operation `res` for the frame at `fp` left the registers `r`: runs the
    /// frames it pushed (sends) until they return to `fp`, then answers NORMAL if `fp`
    /// continues at `expect` (pc, sp), else UNWOUND (with `vm.regs` saying where to go on).
    fn native_finish(
        &mut self,
        res: Result<(), VmError>,
        mut r: Registers,
        fp: usize,
        expect: (usize, usize),
    ) -> u64 {
        match res {
            Ok(()) => {}
            Err(VmError::Unwound) => return status::UNWOUND,
            Err(e) => {
                self.regs = r;
                self.tiering.error = Some(e);
                return status::ERROR;
            }
        }
        if (r.fp as i64) > (fp as i64) {
            self.regs = r;
            match self.run_until(fp as i64) {
                Ok(()) => r = self.regs,
                Err(VmError::Unwound) => return status::UNWOUND,
                Err(e) => {
                    self.tiering.error = Some(e);
                    return status::ERROR;
                }
            }
        }
        self.regs = r;
        if r.fp == fp && (fp == usize::MAX || r.pc == expect.0) && r.sp == expect.1 {
            status::NORMAL
        } else {
            status::UNWOUND
        }
    }

    /// Runs `op` as the interpreter would at `pc` of the native frame `fp` (operand stack top
    /// `sp`), then whatever it pushed; NORMAL if the frame then continues at `expect`.
    fn native_op(
        &mut self,
        fp: usize,
        sp: usize,
        pc: usize,
        expect: (usize, usize),
        op: impl FnOnce(&mut Vm, &mut Registers) -> Result<(), VmError>,
    ) -> u64 {
        let mut r = self.frame_regs(fp, sp, pc);
        self.regs = r;
        let res = op(self, &mut r);
        self.native_finish(res, r, fp, expect)
    }

    /// `new` / `basicNew` (`nargs` 0) or `new:` / `basicNew:` (`nargs` 1) at a native send site
    /// whose receiver (and size) are the top of the VM stack below `sp`, where the method found
    /// has that primitive: the new instance when it is a pointer or word object that fits
    /// without a collection, else 0 (the site then makes the full call: the primitive, which may
    /// collect or fail, then the method's code). Never collects, so an out-of-memory condition
    /// is met by the primitive alone, as in the interpreter.
    pub fn native_instantiate(&mut self, sp: usize, nargs: usize) -> u64 {
        let cls = self.stack[sp - 1 - nargs];
        let size = if nargs == 0 {
            0
        } else {
            match self.stack[sp - 1].as_small_int() {
                Some(v) if v >= 0 => v as usize,
                _ => return 0,
            }
        };
        crate::prims::objects::instantiate_fast(self, cls, size).map_or(0, Word::raw)
    }

    /// The primitive of method `mid`, for an activation being entered at `fp`: NORMAL (its
    /// value is in the receiver's slot), FAIL (run the bytecodes), UNWOUND or ERROR.
    pub fn native_primitive(&mut self, fp: usize, mid: u32) -> u64 {
        let info = &self.methods.infos[mid as usize];
        let Some(prim) = info.prim_fn else {
            return status::FAIL;
        };
        let nargs = info.num_args;
        let caller = self.caller_regs(fp);
        self.regs = caller;
        self.tiering.pinned.push(mid);
        let st = match prim(self, nargs) {
            Prim::Done(v) => {
                self.stack[fp - nargs - 1] = v;
                status::NORMAL
            }
            Prim::Fail => {
                self.prim_failure = None;
                status::FAIL
            }
            Prim::OutOfMemory => {
                self.prim_failure = Some("outOfMemory");
                status::FAIL
            }
            Prim::Switched => {
                let r = self.regs;
                self.native_finish(Ok(()), r, caller.fp, (caller.pc, fp - nargs))
            }
            Prim::Error(VmError::Unwound) => status::UNWOUND,
            Prim::Error(e) => {
                self.tiering.error = Some(e);
                status::ERROR
            }
        };
        self.tiering.pinned.pop();
        st
    }

    /// Runs method `mid` in the interpreter (primitive first) for an activation being entered
    /// at `fp` by native code: the bridge to code that has no native version.
    pub fn native_bridge(&mut self, fp: usize, mid: u32) -> u64 {
        let nargs = self.methods.infos[mid as usize].num_args;
        let caller = self.caller_regs(fp);
        self.regs = caller;
        // Count the call: a method whose primitive always succeeds never reaches `push_frame`,
        // and native callers should call its native code directly once it is hot.
        let info = &mut self.methods.infos[mid as usize];
        info.invocations = info.invocations.wrapping_add(1);
        if info.native_entry == 0 && info.invocations >= self.tiering.threshold {
            self.tier_compile(MethodId(mid));
        }
        let mut r = caller;
        let res = self.invoke(&mut r, mid, nargs);
        self.native_finish(res, r, caller.fp, (caller.pc, fp - nargs))
    }

    /// Sends doesNotUnderstand: for the send through cell `cell` being entered at `fp`.
    pub fn native_dnu(&mut self, fp: usize, cell: usize) -> u64 {
        let c = &self.methods.cells[cell];
        let (selector, nargs) = (c.selector, c.nargs as usize);
        let caller = self.caller_regs(fp);
        self.regs = caller;
        let mut r = caller;
        let res = self.send_dnu(&mut r, selector, nargs);
        self.native_finish(res, r, caller.fp, (caller.pc, fp - nargs))
    }

    /// The slow entry of an activation being entered at `fp`: the VM stack limit is reached
    /// (`overflow`: raise the StackOverflow error as the interpreter does), or the machine
    /// stack is deep (run the activation in the interpreter instead).
    pub fn native_entry_slow(&mut self, fp: usize, mid: u32, overflow: bool) -> u64 {
        let info = self.methods.infos[mid as usize];
        let nargs = info.num_args;
        let caller = self.caller_regs(fp);
        self.regs = caller;
        let mut r = caller;
        self.tiering.pinned.push(mid);
        let res = if overflow {
            self.raise_stack_overflow(&mut r, nargs)
        } else if info.is_block() {
            self.activate_block_frame(&mut r, MethodId(mid), nargs)
        } else {
            self.push_frame_interpreted(&mut r, mid, nargs)
        };
        let st = self.native_finish(res, r, caller.fp, (caller.pc, fp - nargs));
        self.tiering.pinned.pop();
        st
    }

    /// Polls for Ctrl-C (or a deferred OutOfMemory) in the native frame `fp` (at a frame entry or a loop back-edge).
    pub fn native_interrupt(&mut self, fp: usize, sp: usize, pc: usize) -> u64 {
        // A Ctrl-C or a deferred OutOfMemory is delivered as a send from here (see
        // `interrupts.rs`); the interpreter runs it, and whatever unwinds it leaves the frames.
        self.native_op(fp, sp, pc, (pc, sp), |vm, r| {
            if vm.attention_needed() {
                vm.attend(r)
            } else {
                Ok(())
            }
        })
    }

    /// The native frame `fp` is returning and has a Context: widow it (`pc` is the pc after the
    /// return instruction).
    pub fn native_widow(&mut self, fp: usize, pc: usize) {
        let ctx = self.stack[fp + frame::CONTEXT];
        if ctx != self.nil() {
            self.widow(ctx, fp, pc);
        }
    }

    /// `^v` in the native block frame `fp` (v on top, `sp` past it).
    pub fn native_non_local_return(&mut self, fp: usize, sp: usize, pc: usize) -> u64 {
        let mut r = self.frame_regs(fp, sp, pc);
        self.regs = r;
        match self.non_local_return(&mut r) {
            // The run's stop continues: the registers say how.
            Ok(Flow::Exit(_)) => status::UNWOUND,
            Ok(Flow::Continue) => self.native_finish(Ok(()), r, fp, (usize::MAX, usize::MAX)),
            Err(e) => self.native_finish(Err(e), r, fp, (0, 0)),
        }
    }

    /// `thisContext` in the native frame `fp`.
    pub fn native_this_context(&mut self, fp: usize, sp: usize, pc: usize) -> u64 {
        self.native_op(fp, sp, pc, (pc, sp + 1), |vm, r| {
            let c = vm.context_for_frame(r.fp)?;
            vm.push(r, c);
            Ok(())
        })
    }

    /// `PushNewArray n` in the native frame `fp`.
    pub fn native_new_array(&mut self, fp: usize, sp: usize, pc: usize, n: usize) -> u64 {
        self.native_op(fp, sp, pc, (pc, sp + 1), |vm, r| {
            let a = vm.new_array(n)?;
            vm.push(r, a.word());
            Ok(())
        })
    }

    /// `MakeArray n` in the native frame `fp`.
    pub fn native_make_array(&mut self, fp: usize, sp: usize, pc: usize, n: usize) -> u64 {
        self.native_op(fp, sp, pc, (pc, sp + 1 - n), |vm, r| vm.make_array(r, n))
    }

    /// `PushClosure k n` in the native frame `fp`.
    pub fn native_push_closure(
        &mut self,
        fp: usize,
        sp: usize,
        pc: usize,
        k: usize,
        n: usize,
    ) -> u64 {
        self.native_op(fp, sp, pc, (pc, sp + 1 - n), |vm, r| {
            vm.push_closure(r, k, n)
        })
    }

    /// `PushGlobal k` in the native frame `fp` when the binding is not a defined global's.
    pub fn native_push_global(&mut self, fp: usize, sp: usize, pc: usize, k: usize) -> u64 {
        self.native_op(fp, sp, pc, (pc, sp + 1), |vm, r| vm.push_global(r, k))
    }

    /// `StoreGlobal k` in the native frame `fp` (the value on top stays).
    pub fn native_store_global(&mut self, fp: usize, sp: usize, pc: usize, k: usize) -> u64 {
        self.native_op(fp, sp, pc, (pc, sp), |vm, r| {
            vm.store_global(r, k);
            Ok(())
        })
    }

    /// A conditional jump at `jump_pc` of the native frame `fp` found a non-Boolean on top:
    /// send it #mustBeBoolean; its answer replaces it and the jump runs again.
    pub fn native_must_be_boolean(&mut self, fp: usize, sp: usize, jump_pc: usize) -> u64 {
        self.native_op(fp, sp, jump_pc, (jump_pc, sp), |vm, r| {
            let sel = vm.special(sp::SEL_MUST_BE_BOOLEAN);
            vm.send_selector(r, sel, 0)
        })
    }

    /// The slow path of special-send opcode `byte` in the native frame `fp`: a block
    /// activation for `value`/`value:`, else a send of its selector.
    pub fn native_special_send(&mut self, fp: usize, sp: usize, pc: usize, byte: u8) -> u64 {
        use crate::bytecode::{Op, special_selector};
        let Some(op) = Op::from_byte(byte) else {
            return status::ERROR;
        };
        let nargs = special_selector(op).map_or(0, |(_, n)| n);
        self.native_op(fp, sp, pc, (pc, sp - nargs), |vm, r| {
            if matches!(op, Op::Value | Op::Value1) && vm.activate_block(r, nargs)? {
                return Ok(());
            }
            vm.send_special(r, byte)
        })
    }

    /// `SuperSend k` in the native frame `fp`.
    pub fn native_super_send(&mut self, fp: usize, sp: usize, pc: usize, k: usize) -> u64 {
        let cell = self.methods.info(self.frame_method_id(fp)).cell_base + k;
        let nargs = self.methods.cells[cell].nargs as usize;
        self.native_op(fp, sp, pc, (pc, sp - nargs), |vm, r| vm.super_send(r, k))
    }

    /// A native call answered `st` (not NORMAL): NORMAL if the call unwound to exactly this
    /// frame's continuation (`fp` at `pc`, stack top `sp`), as when a non-local return's home
    /// was the callee, else `st`.
    pub fn native_landed(&mut self, st: u64, fp: usize, pc: usize, sp: usize) -> u64 {
        let r = self.regs;
        if st == status::UNWOUND && r.fp == fp && r.pc == pc && r.sp == sp {
            status::NORMAL
        } else {
            st
        }
    }

    /// The entry to call for a method: its native code, a quick method's stub, or 0.
    pub fn native_entry_of(&self, mid: u32) -> u64 {
        let info = &self.methods.infos[mid as usize];
        if info.native_entry != 0 {
            return info.native_entry;
        }
        if info.activation.is_quick() {
            self.native.quick_entries[info.activation as usize]
        } else {
            0
        }
    }

    /// A send through cell `cell` missed (the receiver's class is `class`, or the entry has
    /// no native code yet): looks the method up, relinks the cell (monomorphic → polymorphic
    /// → megamorphic, as the interpreter does) and answers `(entry, mid)` to call: native
    /// code, the bridge into the interpreter, or the doesNotUnderstand: entry (whose `mid` is
    /// the cell). Never collects.
    pub fn native_send_miss(&mut self, cell: usize, class: u32) -> (u64, u64) {
        let class = ClassIndex(class);
        let (selector, mut mid) = {
            let c = &self.methods.cells[cell];
            (c.selector, c.probe(class))
        };
        if mid != 0 {
            // A polymorphic hit found in Rust, or a target that got native code since.
            let c = &mut self.methods.cells[cell];
            c.misses = c.misses.saturating_add(1);
        } else {
            match self.lookup(class, selector) {
                Some(m) => {
                    self.methods.cells[cell].record(class, m);
                    mid = m.0;
                }
                None => return (self.native.dnu_entry, cell as u64),
            }
        }
        let entry = self.native_entry_of(mid);
        if entry == 0 {
            return (self.native.bridge_entry, u64::from(mid));
        }
        for e in self.methods.cells[cell].entries.iter_mut() {
            if e.class == class.0 && e.method == mid {
                e.entry = entry;
            }
        }
        (entry, u64::from(mid))
    }

    /// Allocates `n` cells for send sites of native code (special selectors), outside any
    /// method's: answers the first, or `None` if the arena is full.
    pub fn alloc_native_cells(&mut self, cells: &[(Word, u8)]) -> Option<usize> {
        self.methods.alloc_cells(cells)
    }

    /// Releases cells from [`Vm::alloc_native_cells`].
    pub fn release_native_cells(&mut self, base: usize, n: usize) {
        self.methods.release_cells(base, n);
    }
}

/// The index of the primitive named `name` (as `MethodInfo::primitive` holds it), if any.
pub fn primitive_index(name: &str) -> Option<u16> {
    crate::prims::lookup(name)
}
