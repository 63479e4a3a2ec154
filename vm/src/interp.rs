//! The bytecode interpreter: the dispatch loops.
//!
//! [`Vm::run`] executes frames on the VM stack until the base frame it was entered with
//! returns. It alternates between two loops over the same registers (`bp fp sp pc cells`):
//!
//! * the **fast loop** ([`run_fast`]) runs the common case of the common instructions: pushes,
//!   stores, jumps, SmallInteger and float arithmetic, Array access, sends that hit their inline
//!   cache and reach an ordinary or quick method, block activations, plain returns. It works on
//!   borrowed parts of the VM (stack, code, heap, cells, infos) and calls nothing, so the
//!   registers and the base addresses stay in machine registers. When an instruction needs more
//!   (a primitive, a cache miss, an allocation, a context, an interrupt, a non-Boolean in a
//!   conditional, an overflow…) it stops *before* that instruction, leaving every register and
//!   word as they were;
//! * the **slow step** ([`Vm::step`]) then executes that one instruction with the whole VM at
//!   hand (sends in `send.rs`, returns and contexts in `returns.rs`), syncing the registers to
//!   `vm.regs` before anything that can collect, walk the stack or run a primitive, and the
//!   fast loop takes over again.
//!
//! So every instruction has one complete implementation (the slow step) and possibly a fast
//! path that must agree with it; a fast path either does the whole instruction or nothing.
//! Sends never recurse on the Rust stack: a send pushes a frame and the loop continues in the
//! callee; a return pops it.

use crate::bytecode::{OP_OF_BYTE, Op, op};
use crate::frame;
use crate::layout::{
    Activation, CALLER_FP, CLOSURE, CONTEXT, FALSE_WORD, FRAME_INFO, METHOD, NIL_WORD, RETURN_PC,
    TEMPS, TRUE_WORD,
};
use crate::methods::{IcCell, MethodId, MethodInfo};
use crate::objects::{FLAG_NEEDS_OUTER, class_index as ci, closure, method};
use crate::stack::{CODE_BYTES, CODE_PAD, CodeArena, STACK_ARRAY, STACK_FRONT, Stack};
use crate::vm::{Registers, Vm, VmError, sp};
use smalt_gc::{Format, Heap, Word};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// What a base frame runs.
#[derive(Clone, Copy)]
enum Entry {
    /// Send this selector.
    Send(Word),
    /// Run this method.
    Method(MethodId),
}

/// What a step that may leave the current frame produced.
pub(crate) enum Flow {
    /// Keep running.
    Continue,
    /// The base frame returned this value: leave the loop.
    Exit(Word),
}

/// A raw SmallInteger value (no tag check).
#[inline(always)]
pub(crate) fn small(w: Word) -> i64 {
    (w.raw() as i64) >> 1
}

/// The SmallInteger word of a stack index or pc (`usize::MAX`, a base frame's caller, is -1).
#[inline(always)]
fn tag(x: usize) -> Word {
    Word::from_raw(((x as u64) << 1) | 1)
}

/// The index or pc in a SmallInteger word written by [`tag`].
#[inline(always)]
fn untag(w: Word) -> usize {
    (w.raw() >> 1) as usize
}

impl Vm {
    // ---- entering from Rust ----------------------------------------------------------------

    /// Sends `selector` to `receiver` with `args` and runs until the answer comes back.
    ///
    /// The VM stack above the current `sp` is used; the registers are restored afterwards, so
    /// this may be called from a primitive (at most a few levels deep).
    pub fn send_message(
        &mut self,
        receiver: Word,
        selector: &str,
        args: &[Word],
    ) -> Result<Word, VmError> {
        let saved = self.regs;
        let mut at = self.regs.sp;
        self.ensure_stack(at + 1 + args.len() + 16)?;
        self.stack[at] = receiver;
        for (i, a) in args.iter().enumerate() {
            self.stack[at + 1 + i] = *a;
        }
        at += 1 + args.len();
        self.regs.sp = at;
        let mark = self.handle_mark();
        let result = self
            .intern(selector)
            .and_then(|sel| self.enter(Entry::Send(sel), args.len()));
        if result.is_err() {
            self.abandon_frames(saved.sp);
        }
        // Handles a primitive left behind when it stopped with an error are dropped here.
        self.release_handles(mark);
        self.regs = saved;
        result
    }

    /// Runs `method` (a compiled method, installed or not) with `receiver` and `args`; answers
    /// its value. Used for do-its.
    pub fn run_method(
        &mut self,
        receiver: Word,
        method: Word,
        args: &[Word],
    ) -> Result<Word, VmError> {
        let mid = self.method_id(method);
        if mid == MethodId::NONE || self.methods.info(mid).num_args != args.len() {
            return Err(VmError::Load(
                "run_method: not a method taking these arguments".into(),
            ));
        }
        let saved = self.regs;
        let at = self.regs.sp;
        self.ensure_stack(at + 1 + args.len() + 16)?;
        self.stack[at] = receiver;
        for (i, a) in args.iter().enumerate() {
            self.stack[at + 1 + i] = *a;
        }
        self.regs.sp = at + 1 + args.len();
        let mark = self.handle_mark();
        let result = self.enter(Entry::Method(mid), args.len());
        if result.is_err() {
            self.abandon_frames(saved.sp);
        }
        self.release_handles(mark);
        self.regs = saved;
        result
    }

    /// Sends the selector (a Symbol) or runs the method for the receiver and arguments already
    /// pushed on the stack, as a base frame, and runs to completion.
    fn enter(&mut self, entry: Entry, nargs: usize) -> Result<Word, VmError> {
        if self.run_depth == 0 {
            self.user_interrupts = 0;
        }
        self.run_depth += 1;
        if self.run_depth > 64 {
            self.run_depth -= 1;
            return Err(VmError::Load(
                "Rust-to-Smalltalk calls nested too deeply".into(),
            ));
        }
        self.refresh_runtime();
        if self.run_depth == 1 {
            self.tier_thread_entered();
        }
        let saved_stop = std::mem::replace(&mut self.tiering.stop_fp, frame::BASE_MARKER);
        let base = self.regs.sp - nargs - 1;
        let mut r = self.regs;
        r.fp = usize::MAX; // CALLER_FP = -1: a base frame
        r.pc = 0;
        let result = (|| {
            let rcv = self.stack[base];
            let class = self.heap.class_index_of(rcv);
            match entry {
                Entry::Method(mid) => self.invoke(&mut r, mid.0, nargs)?,
                Entry::Send(selector) => match self.lookup(class, selector) {
                    Some(mid) => self.invoke(&mut r, mid.0, nargs)?,
                    None => {
                        self.regs = r;
                        self.send_dnu(&mut r, selector, nargs)?
                    }
                },
            }
            if r.fp == usize::MAX {
                // A primitive answered without a frame.
                return Ok(self.stack[base]);
            }
            self.regs = r;
            self.run()
        })();
        self.tiering.stop_fp = saved_stop;
        // Native code that unwound to the base frame (a non-local return to it) leaves the
        // state in the registers: the base frame returned, its value on top.
        let result = match result {
            Err(VmError::Unwound) => self.unwound_to_base(),
            other => other,
        };
        // An unhandled error stops its run once the unwind blocks have run, whatever they
        // did (one may have returned from a method below, and the run ended normally).
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
        result
    }

    /// Widows the contexts of every frame above stack position `base` (after an error aborted
    /// them) and resets the stack limit if the overflow headroom was in use.
    pub(crate) fn abandon_frames(&mut self, base: usize) {
        let nil = self.nil();
        let mut fp = self.regs.fp;
        while fp != usize::MAX && fp >= base && fp < self.stack.capacity() {
            let ctx = self.stack[fp + frame::CONTEXT];
            if ctx != nil {
                self.widow(ctx, fp, 0);
            }
            let caller = small(self.stack[fp + frame::CALLER_FP]);
            if caller < 0 {
                break;
            }
            fp = caller as usize;
        }
        self.maybe_reset_stack_limit(base);
    }

    // ---- the loop ----------------------------------------------------------------------------

    /// Runs from the current registers until the base frame returns.
    pub fn run(&mut self) -> Result<Word, VmError> {
        let mut r = self.regs;
        loop {
            let mut poll = Poll {
                flag: &self.interrupt,
                countdown: self.poll_countdown,
            };
            r = run_fast(
                self.stack.words_mut(),
                self.methods.code.bytes(),
                &mut self.heap,
                &mut self.methods.cells,
                &mut self.methods.infos,
                self.rt.stack_limit,
                &mut poll,
                Tiering {
                    threshold: self.tiering.threshold,
                    stop: tag(self.tiering.stop_fp as usize),
                },
                r,
            );
            self.poll_countdown = poll.countdown;
            match self.step(&mut r) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Exit(v)) => return Ok(v),
                // An unwinding (see `tier.rs`) already says in `regs` where execution continues.
                Err(VmError::Unwound) => return Err(VmError::Unwound),
                Err(e) => {
                    self.regs = r;
                    return Err(e);
                }
            }
        }
    }

    /// Polls at a frame push or a backward jump: the cheap test inline, what to do about it in
    /// [`Vm::attend`] (a Ctrl-C or a deferred OutOfMemory, see `interrupts.rs`). A deferred
    /// OutOfMemory also raises the interrupt flag, so this one load sees both, as the fast
    /// loop's countdown and native code do.
    #[inline(always)]
    pub(crate) fn poll_interrupt(&mut self, r: &mut Registers) -> Result<(), VmError> {
        if self.interrupt.load(Relaxed) {
            return self.attend(r);
        }
        Ok(())
    }

    /// Executes the instruction at `r.pc`, whatever it needs: the slow path of the interpreter
    /// (the fast loop handles the common cases of the common instructions and comes here for
    /// everything else). A superinstruction runs as its first instruction alone.
    fn step(&mut self, r: &mut Registers) -> Result<Flow, VmError> {
        let nil = self.nil();
        {
            let byte = crate::bytecode::base_opcode(self.methods.code[r.pc]);
            r.pc += 1;
            match byte {
                op::PushSelf => {
                    let v = self.stack[r.bp];
                    self.push(r, v);
                }
                op::PushNil => self.push(r, nil),
                op::PushTrue => {
                    let v = self.true_obj();
                    self.push(r, v)
                }
                op::PushFalse => {
                    let v = self.false_obj();
                    self.push(r, v)
                }
                op::PushSmallInt => {
                    let v = self.methods.code[r.pc] as i8;
                    r.pc += 1;
                    self.push(r, Word::small_int(i64::from(v)));
                }
                op::PushLiteral => {
                    let k = self.operand(r);
                    self.push_literal(r, k);
                }
                op::PushLocal => {
                    let k = self.operand(r);
                    let v = self.stack[r.bp + k];
                    self.push(r, v);
                }
                op::PushInstVar => {
                    let k = self.operand(r);
                    self.push_inst_var(r, k);
                }
                op::PushGlobal => {
                    let k = self.operand(r);
                    self.push_global(r, k)?;
                }
                op::PushIndirect => {
                    let i = self.operand(r);
                    let k = self.operand(r);
                    let vector = self.stack[r.bp + k].oop();
                    let v = self.heap.slot(vector, i);
                    self.push(r, v);
                }
                op::PushThisContext => {
                    self.regs = *r;
                    let ctx = self.context_for_frame(r.fp)?;
                    self.push(r, ctx);
                }
                op::PushNewArray => {
                    let n = self.operand(r);
                    self.regs = *r;
                    let a = self.new_array(n)?;
                    self.push(r, a.word());
                }
                op::MakeArray => {
                    let n = self.operand(r);
                    self.make_array(r, n)?;
                }
                op::PushClosure => {
                    let k = self.operand(r);
                    let n = self.operand(r);
                    self.push_closure(r, k, n)?;
                }
                op::Dup => {
                    let v = self.stack[r.sp - 1];
                    self.push(r, v);
                }
                op::Pop => r.sp -= 1,
                op::StoreLocal => {
                    let k = self.operand(r);
                    self.stack[r.bp + k] = self.stack[r.sp - 1];
                }
                op::PopStoreLocal => {
                    let k = self.operand(r);
                    r.sp -= 1;
                    self.stack[r.bp + k] = self.stack[r.sp];
                }
                op::StoreInstVar => {
                    let k = self.operand(r);
                    self.store_inst_var(r, k);
                }
                op::PopStoreInstVar => {
                    let k = self.operand(r);
                    self.store_inst_var(r, k);
                    r.sp -= 1;
                }
                op::StoreGlobal => {
                    let k = self.operand(r);
                    self.store_global(r, k);
                }
                op::PopStoreGlobal => {
                    let k = self.operand(r);
                    self.store_global(r, k);
                    r.sp -= 1;
                }
                op::StoreIndirect | op::PopStoreIndirect => {
                    let i = self.operand(r);
                    let k = self.operand(r);
                    let vector = self.stack[r.bp + k].oop();
                    self.heap.set_slot(vector, i, self.stack[r.sp - 1]);
                    if byte == op::PopStoreIndirect {
                        r.sp -= 1;
                    }
                }
                op::Send => {
                    let k = self.operand(r);
                    self.send_site(r, k)?;
                }
                op::SuperSend => {
                    let k = self.operand(r);
                    self.super_send(r, k)?;
                }
                op::Add => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        if let Some(v) = (a.raw() as i64).checked_add(b.raw() as i64 - 1) {
                            r.sp -= 1;
                            self.stack[r.sp - 1] = Word::from_raw(v as u64);
                            return Ok(Flow::Continue);
                        }
                    } else if let Some(v) = float_op(a, b, |x, y| x + y) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::Sub => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        if let Some(v) = (a.raw() as i64).checked_sub(b.raw() as i64 - 1) {
                            r.sp -= 1;
                            self.stack[r.sp - 1] = Word::from_raw(v as u64);
                            return Ok(Flow::Continue);
                        }
                    } else if let Some(v) = float_op(a, b, |x, y| x - y) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::Mul => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        if let Some(v) =
                            small(a).checked_mul(small(b)).and_then(Word::try_small_int)
                        {
                            r.sp -= 1;
                            self.stack[r.sp - 1] = v;
                            return Ok(Flow::Continue);
                        }
                    } else if let Some(v) = float_op(a, b, |x, y| x * y) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::Div => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int()
                        && b.is_small_int()
                        && small(b) != 0
                        && let Some(v) =
                            small(a).checked_div(small(b)).and_then(Word::try_small_int)
                    {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::Lt | op::Gt | op::Le | op::Ge | op::Eq | op::Ne => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    let result = if a.is_small_int() && b.is_small_int() {
                        let (x, y) = (a.raw() as i64, b.raw() as i64);
                        Some(compare(byte, x.cmp(&y)))
                    } else {
                        match (a.as_small_float(), b.as_small_float()) {
                            (Some(x), Some(y)) => Some(compare_f(byte, x, y)),
                            _ => None,
                        }
                    };
                    if let Some(b) = result {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = self.boolean(b);
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::BitAnd | op::BitOr => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        let v = if byte == op::BitAnd {
                            a.raw() & b.raw()
                        } else {
                            a.raw() | b.raw()
                        };
                        r.sp -= 1;
                        self.stack[r.sp - 1] = Word::from_raw(v);
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::At => {
                    let (a, i) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if let Some(v) = self.array_at_fast(a, i) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::AtPut => {
                    let (a, i, v) = (
                        self.stack[r.sp - 3],
                        self.stack[r.sp - 2],
                        self.stack[r.sp - 1],
                    );
                    if self.array_at_put_fast(a, i, v) {
                        r.sp -= 2;
                        self.stack[r.sp - 1] = v;
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::Size => {
                    let a = self.stack[r.sp - 1];
                    if let Some(o) = a.as_oop()
                        && self.heap.header(o).class_index() == ci::ARRAY
                    {
                        self.stack[r.sp - 1] = Word::from_usize(self.heap.num_slots(o));
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::Value | op::Value1 => {
                    let nargs = usize::from(byte == op::Value1);
                    if self.activate_block(r, nargs)? {
                        return Ok(Flow::Continue);
                    }
                    self.send_special(r, byte)?;
                }
                op::IdentityEq | op::IdentityNe => {
                    let same = self.stack[r.sp - 2] == self.stack[r.sp - 1];
                    r.sp -= 1;
                    self.stack[r.sp - 1] = self.boolean(same == (byte == op::IdentityEq));
                }
                op::Jump => {
                    let off = self.jump_offset(r);
                    r.pc = (r.pc as isize + off) as usize;
                    if off < 0 {
                        if self.tiering.active
                            && let Some(v) = self.tier_back_edge(r)?
                        {
                            return Ok(Flow::Exit(v));
                        }
                        self.poll_interrupt(r)?;
                    }
                }
                op::JumpIfTrue | op::JumpIfFalse => {
                    let at = r.pc - 1;
                    let off = self.jump_offset(r);
                    r.sp -= 1;
                    let v = self.stack[r.sp];
                    let jump_on = if byte == op::JumpIfTrue {
                        self.true_obj()
                    } else {
                        self.false_obj()
                    };
                    let other = if byte == op::JumpIfTrue {
                        self.false_obj()
                    } else {
                        self.true_obj()
                    };
                    if v == jump_on {
                        r.pc = (r.pc as isize + off) as usize;
                    } else if v != other {
                        self.must_be_boolean(r, at)?;
                    }
                }
                op::JumpIfNil | op::JumpIfNotNil => {
                    let off = self.jump_offset(r);
                    r.sp -= 1;
                    let is_nil = self.stack[r.sp] == nil;
                    if is_nil == (byte == op::JumpIfNil) {
                        r.pc = (r.pc as isize + off) as usize;
                    }
                }
                op::ReturnTop => {
                    let v = self.stack[r.sp - 1];
                    if let Flow::Exit(v) = self.return_value(r, v) {
                        return Ok(Flow::Exit(v));
                    }
                }
                op::ReturnSelf => {
                    let v = self.stack[r.bp];
                    if let Flow::Exit(v) = self.return_value(r, v) {
                        return Ok(Flow::Exit(v));
                    }
                }
                op::NonLocalReturn => {
                    if let Flow::Exit(v) = self.non_local_return(r)? {
                        return Ok(Flow::Exit(v));
                    }
                    if !self.in_run_region(r.fp) {
                        // The home's caller is below this run's stop (native code waits there).
                        self.regs = *r;
                        return Err(VmError::Unwound);
                    }
                }
                op::ExtA => {
                    if let Flow::Exit(v) = self.extended(r)? {
                        return Ok(Flow::Exit(v));
                    }
                }
                _ => {
                    self.regs = *r;
                    panic!("invalid bytecode {byte} at pc {}", r.pc - 1);
                }
            }
        }
        Ok(Flow::Continue)
    }

    // ---- small helpers -------------------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn push(&mut self, r: &mut Registers, v: Word) {
        self.stack[r.sp] = v;
        r.sp += 1;
    }

    #[inline(always)]
    fn operand(&mut self, r: &mut Registers) -> usize {
        let k = self.methods.code[r.pc] as usize;
        r.pc += 1;
        k
    }

    #[inline(always)]
    fn jump_offset(&mut self, r: &mut Registers) -> isize {
        let lo = self.methods.code[r.pc];
        let hi = self.methods.code[r.pc + 1];
        r.pc += 2;
        i16::from_le_bytes([lo, hi]) as isize
    }

    #[inline(always)]
    pub(crate) fn current_method(&self, r: &Registers) -> Word {
        self.stack[r.fp + METHOD]
    }

    #[inline(always)]
    fn push_literal(&mut self, r: &mut Registers, k: usize) {
        let v = self.literal(self.current_method(r), k);
        self.push(r, v);
    }

    #[inline(always)]
    fn push_inst_var(&mut self, r: &mut Registers, k: usize) {
        let rcv = self.stack[r.bp].oop();
        let v = self.heap.slot(rcv, k);
        self.push(r, v);
    }

    #[inline(always)]
    fn store_inst_var(&mut self, r: &Registers, k: usize) {
        let rcv = self.stack[r.bp].oop();
        self.heap.set_slot(rcv, k, self.stack[r.sp - 1]);
    }

    #[inline(always)]
    pub(crate) fn push_global(&mut self, r: &mut Registers, k: usize) -> Result<(), VmError> {
        let binding = self.literal(self.current_method(r), k).oop();
        if self.heap.header(binding).class_index() == ci::ASSOCIATION {
            let v = self.heap.slot(binding, crate::objects::association::VALUE);
            self.push(r, v);
            return Ok(());
        }
        self.push_global_slow(r, k)
    }

    #[cold]
    fn push_global_slow(&mut self, r: &mut Registers, k: usize) -> Result<(), VmError> {
        self.regs = *r;
        let binding = self.literal(self.current_method(r), k);
        let name = self
            .heap
            .slot(binding.oop(), crate::objects::association::KEY);
        let name_text = self.string_value(name).unwrap_or_default();
        if self.load_class_from_path(&name_text)?.is_some() {
            let binding = self.literal(self.current_method(r), k).oop();
            if self.heap.header(binding).class_index() == ci::ASSOCIATION {
                let v = self.heap.slot(binding, crate::objects::association::VALUE);
                self.push(r, v);
                return Ok(());
            }
        }
        // SOM: the receiver is sent #unknownGlobal: with the name; its answer is the value.
        let rcv = self.stack[r.bp];
        let name = self.heap.slot(
            self.literal(self.current_method(r), k).oop(),
            crate::objects::association::KEY,
        );
        self.push(r, rcv);
        self.push(r, name);
        let sel = self.special(sp::SEL_UNKNOWN_GLOBAL);
        self.send_selector(r, sel, 1)
    }

    pub(crate) fn store_global(&mut self, r: &Registers, k: usize) {
        let binding = self.literal(self.current_method(r), k).oop();
        if self.heap.header(binding).class_index() != ci::ASSOCIATION {
            // Assigning defines the global (do-its with auto-declared variables).
            self.heap.set_class_index(binding, ci::ASSOCIATION);
            let name = self.heap.slot(binding, crate::objects::association::KEY);
            let undeclared = self.special(sp::UNDECLARED);
            self.dict_remove(undeclared, name);
            self.regs = *r;
            let mark = self.handle_mark();
            let hb = self.push_handle(binding.word());
            let hn = self.push_handle(name);
            let hd = self.push_handle(self.special(sp::GLOBALS));
            // Growing the globals dictionary may collect; the binding is protected.
            let _ = self.dict_put(hd, hn, hb);
            let binding = self.handle(hb).oop();
            self.release_handles(mark);
            self.heap.set_slot(
                binding,
                crate::objects::association::VALUE,
                self.stack[r.sp - 1],
            );
            return;
        }
        self.heap.set_slot(
            binding,
            crate::objects::association::VALUE,
            self.stack[r.sp - 1],
        );
    }

    pub(crate) fn make_array(&mut self, r: &mut Registers, n: usize) -> Result<(), VmError> {
        self.regs = *r;
        let a = self.new_array(n)?;
        for i in 0..n {
            self.heap.set_slot(a, i, self.stack[r.sp - n + i]);
        }
        r.sp -= n;
        self.push(r, a.word());
        Ok(())
    }

    pub(crate) fn push_closure(
        &mut self,
        r: &mut Registers,
        k: usize,
        n: usize,
    ) -> Result<(), VmError> {
        self.regs = *r;
        let code = self.literal(self.current_method(r), k);
        let info = self.methods.info(self.method_id(code));
        let (nargs, needs_outer) = (info.num_args, info.flags & FLAG_NEEDS_OUTER != 0);
        let outer = if needs_outer {
            self.home_context(r.fp)?
        } else {
            self.nil()
        };
        // The home context (if any) is referenced from the frame, so it survives the allocation.
        let class = match nargs {
            0 => ci::BLOCK1,
            1 => ci::BLOCK2,
            2 => ci::BLOCK3,
            _ => ci::BLOCK,
        };
        let c = self.alloc(class, Format::FixedIndexable, closure::FIRST_COPIED + n)?;
        let outer = if needs_outer {
            self.home_context(r.fp)?
        } else {
            outer
        };
        let code = self.literal(self.current_method(r), k);
        self.heap.set_slot(c, closure::OUTER_CONTEXT, outer);
        self.heap.set_slot(c, closure::CODE, code);
        self.heap.set_slot(c, closure::RECEIVER, self.stack[r.bp]);
        for i in 0..n {
            self.heap
                .set_slot(c, closure::FIRST_COPIED + i, self.stack[r.sp - n + i]);
        }
        r.sp -= n;
        self.push(r, c.word());
        Ok(())
    }

    /// The context of the home method activation of the frame at `fp`: the frame's own for a
    /// method, the closure's outer context for a block.
    fn home_context(&mut self, fp: usize) -> Result<Word, VmError> {
        let clo = self.stack[fp + CLOSURE];
        if clo != self.nil() {
            return Ok(self.heap.slot(clo.oop(), closure::OUTER_CONTEXT));
        }
        self.context_for_frame(fp)
    }

    #[inline(always)]
    fn array_at_fast(&self, a: Word, i: Word) -> Option<Word> {
        let o = a.as_oop()?;
        if !i.is_small_int() || self.heap.header(o).class_index() != ci::ARRAY {
            return None;
        }
        let idx = small(i);
        if idx < 1 || idx as usize > self.heap.num_slots(o) {
            return None;
        }
        Some(self.heap.slot(o, idx as usize - 1))
    }

    #[inline(always)]
    fn array_at_put_fast(&mut self, a: Word, i: Word, v: Word) -> bool {
        let Some(o) = a.as_oop() else { return false };
        let h = self.heap.header(o);
        if !i.is_small_int() || h.class_index() != ci::ARRAY || h.is_read_only() {
            return false;
        }
        let idx = small(i);
        if idx < 1 || idx as usize > self.heap.num_slots(o) {
            return false;
        }
        self.heap.set_slot(o, idx as usize - 1, v);
        true
    }

    #[cold]
    fn must_be_boolean(&mut self, r: &mut Registers, jump_pc: usize) -> Result<(), VmError> {
        // Re-push the value and send #mustBeBoolean; its answer replaces the value and the
        // jump runs again.
        r.sp += 1;
        r.pc = jump_pc;
        let sel = self.special(sp::SEL_MUST_BE_BOOLEAN);
        self.send_selector(r, sel, 0)
    }

    /// An `ExtA`-prefixed instruction: its first operand gets a high byte (a second prefix,
    /// as a send site beyond 65535 has, another).
    #[cold]
    fn extended(&mut self, r: &mut Registers) -> Result<Flow, VmError> {
        let mut hi = self.operand(r);
        let mut byte = self.methods.code[r.pc];
        r.pc += 1;
        if byte == op::ExtA {
            hi = (hi << 8) | self.operand(r);
            byte = self.methods.code[r.pc];
            r.pc += 1;
        }
        let k = (hi << 8) | self.operand(r);
        match byte {
            op::PushLiteral => self.push_literal(r, k),
            op::PushInstVar => self.push_inst_var(r, k),
            op::PushLocal => {
                let v = self.stack[r.bp + k];
                self.push(r, v);
            }
            op::PushGlobal => self.push_global(r, k)?,
            op::PushNewArray => {
                self.regs = *r;
                let a = self.new_array(k)?;
                self.push(r, a.word());
            }
            op::MakeArray => self.make_array(r, k)?,
            op::PushClosure => {
                let n = self.operand(r);
                self.push_closure(r, k, n)?;
            }
            op::StoreInstVar => self.store_inst_var(r, k),
            op::PopStoreInstVar => {
                self.store_inst_var(r, k);
                r.sp -= 1;
            }
            op::StoreGlobal => self.store_global(r, k),
            op::PopStoreGlobal => {
                self.store_global(r, k);
                r.sp -= 1;
            }
            op::Send => self.send_site(r, k)?,
            op::SuperSend => self.super_send(r, k)?,
            _ => panic!("ExtA before opcode {byte}"),
        }
        Ok(Flow::Continue)
    }
}

/// A float operation on two immediate floats (or a float and a SmallInteger), when the result
/// is immediate too.
#[inline(always)]
fn float_op(a: Word, b: Word, f: impl Fn(f64, f64) -> f64) -> Option<Word> {
    let x = a
        .as_small_float()
        .or_else(|| a.as_small_int().map(|i| i as f64))?;
    let y = b
        .as_small_float()
        .or_else(|| b.as_small_int().map(|i| i as f64))?;
    if !a.is_small_float() && !b.is_small_float() {
        return None;
    }
    Word::try_small_float(f(x, y))
}

#[inline(always)]
fn compare(byte: u8, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match byte {
        op::Lt => o == Less,
        op::Gt => o == Greater,
        op::Le => o != Greater,
        op::Ge => o != Less,
        op::Eq => o == Equal,
        _ => o != Equal,
    }
}

#[inline(always)]
fn compare_f(byte: u8, x: f64, y: f64) -> bool {
    match byte {
        op::Lt => x < y,
        op::Gt => x > y,
        op::Le => x <= y,
        op::Ge => x >= y,
        op::Eq => x == y,
        _ => x != y,
    }
}

// ---- the fast loop -------------------------------------------------------------------------------

/// The stack array the fast loop works on (see `stack.rs` for its padding).
type StackArray = [Word; STACK_ARRAY];
/// The code arena's bytes, padded.
type CodeBytes = [u8; CODE_BYTES + CODE_PAD];

/// Stack word `$i` (any index).
macro_rules! at {
    ($st:ident, $i:expr) => {
        $st[Stack::mask($i) + STACK_FRONT]
    };
}

/// Word `$k` of the frame header at `$fp` (`$k` < 512: no bounds check, one mask).
macro_rules! hdr {
    ($st:ident, $fp:expr, $k:expr) => {
        $st[Stack::mask($fp) + STACK_FRONT + $k]
    };
}

/// The fast loop: runs instructions while their common case applies and answers the registers
/// at the first instruction it cannot complete (which it leaves untouched, with everything
/// else). It calls nothing out of line, so that the registers and the base addresses of the
/// stack, the code, the heap and the tables stay in machine registers (see the module docs).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn run_fast(
    st: &mut StackArray,
    code: &CodeBytes,
    heap: &mut Heap,
    cells: &mut [IcCell],
    infos: &mut [MethodInfo],
    limit: usize,
    poll_state: &mut Poll,
    tiering: Tiering,
    regs: Registers,
) -> Registers {
    // Local copies (the arguments live in memory): kept in machine registers.
    let mut r = Registers { ..regs };
    let mut poll = Poll { ..*poll_state };
    // Leaves the loop for the slow path, before the current instruction.
    macro_rules! bail {
        () => {{
            std::hint::cold_path();
            poll_state.countdown = poll.countdown;
            return r;
        }};
    }
    // Operand-stack word `$k` below the top (`top!(1)` is the top, `top!(0)` the free slot):
    // one mask per instruction for all of them.
    macro_rules! top {
        ($k:expr) => {
            st[Stack::mask(r.sp) + STACK_FRONT - $k]
        };
    }
    // Local `$k` of the current frame (`bp + k`).
    macro_rules! local {
        ($k:expr) => {
            st[Stack::mask(r.bp) + STACK_FRONT + $k]
        };
    }
    // Pushes `$v`; then the instruction is `$len` bytes long.
    macro_rules! push {
        ($v:expr, $len:expr) => {{
            let v = $v;
            top!(0) = v;
            r.sp += 1;
            r.pc += $len;
        }};
    }
    // The binary operation `$f` on the two values on top; `None` takes the slow path.
    macro_rules! binary {
        ($f:expr) => {{
            let (a, b) = (top!(2), top!(1));
            let Some(v) = $f(a, b) else { bail!() };
            top!(2) = v;
            r.sp -= 1;
            r.pc += 1;
        }};
    }
    // A conditional jump (offset at `$p + 1`) on the popped top: `$jump` jumps, `$go_on`
    // continues, anything else takes the slow path (mustBeBoolean).
    macro_rules! branch {
        ($p:ident, $jump:expr, $go_on:expr) => {{
            let v = top!(1);
            if v == $jump {
                r.pc = (r.pc as isize + 3 + jump_offset(code, $p)) as usize;
            } else if v == $go_on {
                r.pc += 3;
            } else {
                bail!()
            }
            r.sp -= 1;
        }};
    }
    // A comparison heading a JumpIfFalse (at `$p + 1`): branches on SmallIntegers or floats
    // without making a Boolean; anything else takes the slow path.
    macro_rules! compare_branch {
        ($p:ident, $int:expr, $float:expr) => {{
            let Some(holds) = compare_bool(top!(2), top!(1), $int, $float) else {
                bail!()
            };
            r.sp -= 2;
            r.pc += 4;
            if !holds {
                r.pc = (r.pc as isize + jump_offset(code, $p + 1)) as usize;
            }
        }};
    }
    // PushLocal a; PushSmallInt c; <comparison>; JumpIfFalse (at `$p + 5`): for a SmallInteger
    // local, branches on `$cmp(local, c)`; else runs as PushLocal.
    macro_rules! local_const_branch {
        ($p:ident, $cmp:expr) => {{
            let v = local!(operand!(1));
            if v.is_small_int() {
                let c = code[$p + 3] as i8 as i64;
                r.pc += 8;
                if !$cmp(small(v), c) {
                    r.pc = (r.pc as isize + jump_offset(code, $p + 5)) as usize;
                }
            } else {
                push!(v, 2)
            }
        }};
    }
    // PushLocal a; PushSmallInt c; Add (or Sub, `$op` on the tagged words): pushes a SmallInteger
    // local plus (minus) the constant when it is one; else runs as PushLocal.
    macro_rules! local_plus_const {
        ($p:ident, $op:expr) => {{
            let v = local!(operand!(1));
            match $op(v.raw() as i64, (code[$p + 3] as i8 as i64) << 1) {
                Some(sum) if v.is_small_int() => push!(Word::from_raw(sum as u64), 5),
                _ => push!(v, 2),
            }
        }};
    }
    // PushSelf; PushLocal a; PushSmallInt c; Add (or Sub): as `local_plus_const`, after the
    // receiver; else runs as PushSelf.
    macro_rules! self_local_plus_const {
        ($p:ident, $op:expr) => {{
            let v = local!(operand!(2));
            let sum = $op(v.raw() as i64, (code[$p + 4] as i8 as i64) << 1);
            push!(local!(0), 0);
            match sum {
                Some(sum) if v.is_small_int() => push!(Word::from_raw(sum as u64), 6),
                _ => r.pc += 1,
            }
        }};
    }
    // Returns `$v` to the caller, unless the frame has a Context or is the base frame (the
    // slow path).
    macro_rules! ret {
        ($v:expr) => {{
            let v = $v;
            let caller = hdr!(st, r.fp, CALLER_FP);
            if hdr!(st, r.fp, CONTEXT) != NIL_WORD || caller == tiering.stop {
                bail!()
            }
            let pc = untag(hdr!(st, r.fp, RETURN_PC));
            local!(0) = v;
            r.sp = r.bp + 1;
            let fp = untag(caller);
            let info = hdr!(st, fp, FRAME_INFO);
            r.fp = fp;
            r.bp = fp - crate::layout::frame_info_nargs(info) - 1;
            r.pc = pc;
            r.cells = crate::layout::frame_info_cells(info);
        }};
    }
    loop {
        // `p`: the pc reduced to the arena's capacity; operands are at `p + 1 ..= p + 15`
        // (the arena is padded for them, so they need no bounds check either).
        let p = CodeArena::mask(r.pc);
        // The operand byte `$k` after the opcode.
        macro_rules! operand {
            ($k:expr) => {
                code[p + $k] as usize
            };
        }
        // An exhaustive match on the opcode enum dispatches through a table without a range
        // check.
        match OP_OF_BYTE[code[p] as usize] {
            Op::PushSelf => push!(local!(0), 1),
            Op::PushNil => push!(NIL_WORD, 1),
            Op::PushTrue => push!(TRUE_WORD, 1),
            Op::PushFalse => push!(FALSE_WORD, 1),
            Op::PushSmallInt => push!(tag(operand!(1) as i8 as usize), 2),
            Op::PushLiteral => {
                let m = hdr!(st, r.fp, METHOD);
                push!(heap.slot_of(m, method::FIRST_LITERAL + operand!(1)), 2)
            }
            Op::PushLocal => push!(local!(operand!(1)), 2),
            Op::PushInstVar => push!(heap.slot_of(local!(0), operand!(1)), 2),
            Op::PushGlobal => {
                let m = hdr!(st, r.fp, METHOD);
                let binding = heap.slot_of(m, method::FIRST_LITERAL + operand!(1));
                if heap.header_of(binding).class_index() != ci::ASSOCIATION {
                    bail!()
                }
                push!(heap.slot_of(binding, crate::objects::association::VALUE), 2)
            }
            Op::PushIndirect => {
                let vector = local!(operand!(2));
                push!(heap.slot_of(vector, operand!(1)), 3)
            }
            Op::Dup => push!(top!(1), 1),
            Op::Pop => {
                r.sp -= 1;
                r.pc += 1;
            }
            Op::StoreLocal => {
                local!(operand!(1)) = top!(1);
                r.pc += 2;
            }
            Op::PopStoreLocal => {
                local!(operand!(1)) = top!(1);
                r.sp -= 1;
                r.pc += 2;
            }
            Op::StoreInstVar => {
                heap.set_slot_of(local!(0), operand!(1), top!(1));
                r.pc += 2;
            }
            Op::PopStoreInstVar => {
                heap.set_slot_of(local!(0), operand!(1), top!(1));
                r.sp -= 1;
                r.pc += 2;
            }
            Op::StoreGlobal | Op::PopStoreGlobal => {
                let m = hdr!(st, r.fp, METHOD);
                let binding = heap.slot_of(m, method::FIRST_LITERAL + operand!(1));
                if heap.header_of(binding).class_index() != ci::ASSOCIATION {
                    bail!()
                }
                heap.set_slot_of(binding, crate::objects::association::VALUE, top!(1));
                if code[p] == op::PopStoreGlobal {
                    r.sp -= 1;
                }
                r.pc += 2;
            }
            Op::StoreIndirect | Op::PopStoreIndirect => {
                let vector = local!(operand!(2));
                heap.set_slot_of(vector, operand!(1), top!(1));
                if code[p] == op::PopStoreIndirect {
                    r.sp -= 1;
                }
                r.pc += 3;
            }
            Op::Send => {
                let cell = &cells[r.cells + operand!(1)];
                let nargs = cell.nargs as usize;
                // The receiver, below the arguments (at most 255: the stack's front padding).
                let rcv = top!(1 + nargs);
                let class = class_of(heap, rcv).0;
                let mid = if cell.entries[0].class == class {
                    cell.entries[0].method
                } else {
                    match cell.entries[1..].iter().find(|e| e.class == class) {
                        Some(e) if cell.state == crate::methods::IcState::Polymorphic => e.method,
                        _ => bail!(),
                    }
                };
                if !activate(
                    st, heap, infos, limit, &mut poll, tiering, &mut r, mid, nargs, 2,
                ) {
                    bail!()
                }
            }
            Op::SuperSend => {
                let cell = &cells[r.cells + operand!(1)];
                if cell.state == crate::methods::IcState::Empty {
                    bail!()
                }
                let (mid, nargs) = (cell.entries[0].method, cell.nargs as usize);
                if !activate(
                    st, heap, infos, limit, &mut poll, tiering, &mut r, mid, nargs, 2,
                ) {
                    bail!()
                }
            }
            Op::Add => binary!(add),
            Op::Sub => binary!(|a: Word, b: Word| if a.is_small_int() && b.is_small_int() {
                (a.raw() as i64)
                    .checked_sub(b.raw() as i64 - 1)
                    .map(|v| Word::from_raw(v as u64))
            } else {
                float_op(a, b, |x, y| x - y)
            }),
            Op::Mul => binary!(|a: Word, b: Word| if a.is_small_int() && b.is_small_int() {
                small(a).checked_mul(small(b)).and_then(Word::try_small_int)
            } else {
                float_op(a, b, |x, y| x * y)
            }),
            Op::Div => binary!(|a: Word, b: Word| (a.is_small_int()
                && b.is_small_int()
                && small(b) != 0)
                .then(|| small(a).checked_div(small(b)).and_then(Word::try_small_int))
                .flatten()),
            Op::Lt => binary!(|a, b| compare_fast(a, b, |o| o.is_lt(), |x, y| x < y)),
            Op::Gt => binary!(|a, b| compare_fast(a, b, |o| o.is_gt(), |x, y| x > y)),
            Op::Le => binary!(|a, b| compare_fast(a, b, |o| o.is_le(), |x, y| x <= y)),
            Op::Ge => binary!(|a, b| compare_fast(a, b, |o| o.is_ge(), |x, y| x >= y)),
            Op::Eq => binary!(|a, b| compare_fast(a, b, |o| o.is_eq(), |x, y| x == y)),
            Op::Ne => binary!(|a, b| compare_fast(a, b, |o| o.is_ne(), |x, y| x != y)),
            Op::BitAnd => binary!(|a: Word, b: Word| (a.is_small_int() && b.is_small_int())
                .then(|| Word::from_raw(a.raw() & b.raw()))),
            Op::BitOr => binary!(|a: Word, b: Word| (a.is_small_int() && b.is_small_int())
                .then(|| Word::from_raw(a.raw() | b.raw()))),
            Op::At => binary!(|a, i| array_at(heap, a, i)),
            Op::AtPut => {
                let (a, i, v) = (top!(3), top!(2), top!(1));
                if !array_at_put(heap, a, i, v) {
                    bail!()
                }
                top!(3) = v;
                r.sp -= 2;
                r.pc += 1;
            }
            Op::Size => {
                match top!(1).as_oop() {
                    Some(o) if heap.header(o).class_index() == ci::ARRAY => {
                        top!(1) = tag(heap.num_slots(o));
                    }
                    _ => bail!(),
                }
                r.pc += 1;
            }
            Op::Value => {
                if !activate_block(st, heap, infos, limit, &mut poll, tiering, &mut r, 0) {
                    bail!()
                }
            }
            Op::Value1 => {
                if !activate_block(st, heap, infos, limit, &mut poll, tiering, &mut r, 1) {
                    bail!()
                }
            }
            Op::IdentityEq => binary!(|a, b| Some(boolean(a == b))),
            Op::IdentityNe => binary!(|a, b| Some(boolean(a != b))),
            Op::Jump => {
                let off = jump_offset(code, p);
                if off < 0 && (poll.due() || tiering.back_edge_due(st, infos, r.fp)) {
                    bail!()
                }
                r.pc = (r.pc as isize + 3 + off) as usize;
            }
            Op::JumpIfTrue => branch!(p, TRUE_WORD, FALSE_WORD),
            Op::JumpIfFalse => branch!(p, FALSE_WORD, TRUE_WORD),
            Op::JumpIfNil | Op::JumpIfNotNil => {
                let is_nil = top!(1) == NIL_WORD;
                r.sp -= 1;
                if is_nil == (code[p] == op::JumpIfNil) {
                    r.pc = (r.pc as isize + 3 + jump_offset(code, p)) as usize;
                } else {
                    r.pc += 3;
                }
            }
            Op::ReturnTop => ret!(top!(1)),
            Op::ReturnSelf => ret!(local!(0)),
            // ---- superinstructions: the whole sequence when it can, else the first
            // ---- instruction alone (as the slow path would) ----
            Op::PushLocal2 => {
                // PushLocal a; PushLocal b
                top!(0) = local!(operand!(1));
                let b = local!(operand!(3));
                r.sp += 1;
                top!(0) = b;
                r.sp += 1;
                r.pc += 4;
            }
            Op::AddLocalConst => {
                // PushLocal a; PushSmallInt c; Add; PopStoreLocal b
                let v = local!(operand!(1));
                let c = (code[p + 3] as i8 as i64) << 1;
                match (v.raw() as i64).checked_add(c) {
                    Some(sum) if v.is_small_int() => {
                        local!(operand!(6)) = Word::from_raw(sum as u64);
                        r.pc += 7;
                    }
                    _ => push!(v, 2),
                }
            }
            Op::LtJumpIfFalse => compare_branch!(p, |o| o.is_lt(), |x, y| x < y),
            Op::GtJumpIfFalse => compare_branch!(p, |o| o.is_gt(), |x, y| x > y),
            Op::LeJumpIfFalse => compare_branch!(p, |o| o.is_le(), |x, y| x <= y),
            Op::GeJumpIfFalse => compare_branch!(p, |o| o.is_ge(), |x, y| x >= y),
            Op::EqJumpIfFalse => compare_branch!(p, |o| o.is_eq(), |x, y| x == y),
            Op::NeJumpIfFalse => compare_branch!(p, |o| o.is_ne(), |x, y| x != y),
            Op::AddPopStoreLocal => {
                // Add; PopStoreLocal b
                let Some(v) = add(top!(2), top!(1)) else {
                    bail!()
                };
                local!(operand!(2)) = v;
                r.sp -= 2;
                r.pc += 3;
            }
            Op::PopStoreLocalPushLocal => {
                // PopStoreLocal a; PushLocal b
                local!(operand!(1)) = top!(1);
                top!(1) = local!(operand!(3));
                r.pc += 4;
            }
            Op::PushLocalSmallInt => {
                // PushLocal a; PushSmallInt c
                top!(0) = local!(operand!(1));
                r.sp += 1;
                push!(tag(operand!(3) as i8 as usize), 4)
            }
            Op::PushLocalLiteral => {
                // PushLocal a; PushLiteral k
                top!(0) = local!(operand!(1));
                r.sp += 1;
                let m = hdr!(st, r.fp, METHOD);
                push!(heap.slot_of(m, method::FIRST_LITERAL + operand!(3)), 4)
            }
            Op::PushLocalAddConst => local_plus_const!(p, i64::checked_add),
            Op::PushLocalSubConst => local_plus_const!(p, i64::checked_sub),
            Op::PushSelfPushLocal => {
                // PushSelf; PushLocal b
                top!(0) = local!(0);
                r.sp += 1;
                push!(local!(operand!(2)), 3)
            }
            Op::ReturnLocal => ret!(local!(operand!(1))),
            Op::AddLocalConstJump => {
                // PushLocal a; PushSmallInt c; Add; PopStoreLocal b; Jump (back: polls)
                let v = local!(operand!(1));
                let c = (code[p + 3] as i8 as i64) << 1;
                let off = jump_offset(code, p + 7);
                match (v.raw() as i64).checked_add(c) {
                    Some(sum)
                        if v.is_small_int()
                            && !(off < 0
                                && (poll.due() || tiering.back_edge_due(st, infos, r.fp))) =>
                    {
                        local!(operand!(6)) = Word::from_raw(sum as u64);
                        r.pc = (r.pc as isize + 10 + off) as usize;
                    }
                    _ => push!(v, 2),
                }
            }
            Op::LocalLtConstJump => local_const_branch!(p, |a, b| a < b),
            Op::LocalGtConstJump => local_const_branch!(p, |a, b| a > b),
            Op::LocalLeConstJump => local_const_branch!(p, |a, b| a <= b),
            Op::LocalGeConstJump => local_const_branch!(p, |a, b| a >= b),
            Op::LocalEqConstJump => local_const_branch!(p, |a, b| a == b),
            Op::LocalNeConstJump => local_const_branch!(p, |a, b| a != b),
            Op::AddReturnTop => {
                // Add; ReturnTop
                let Some(v) = add(top!(2), top!(1)) else {
                    bail!()
                };
                ret!(v)
            }
            Op::PushSelfLocalAddConst => self_local_plus_const!(p, i64::checked_add),
            Op::PushSelfLocalSubConst => self_local_plus_const!(p, i64::checked_sub),
            // Everything else takes the slow path.
            Op::PushThisContext
            | Op::PushNewArray
            | Op::MakeArray
            | Op::PushClosure
            | Op::NonLocalReturn
            | Op::ExtA => bail!(),
        }
    }
}

/// What the fast loop needs to know of tiering (see `tier.rs`): activations of methods with
/// native code or whose counters pass the threshold, loop back-edges that may compile or enter
/// native code, and returns to the run's stop frame go to the slow path.
#[derive(Clone, Copy)]
struct Tiering {
    /// The compile threshold (`u32::MAX` without a native tier).
    threshold: u32,
    /// The CALLER_FP word of a frame that returns to the run's stop.
    stop: Word,
}

impl Tiering {
    /// Whether an activation of `info` is the tier's business.
    #[inline(always)]
    fn wants(self, info: &MethodInfo) -> bool {
        info.native_entry != 0
            || (info.invocations >= self.threshold && !info.activation.is_quick())
    }

    /// At a loop back-edge of the frame at `fp`: counts it and answers whether the slow path
    /// must see it (the method has native code to continue in, or it is time to compile).
    #[inline(always)]
    fn back_edge_due(self, st: &StackArray, infos: &mut [MethodInfo], fp: usize) -> bool {
        if self.threshold == u32::MAX {
            return false;
        }
        let mid = crate::layout::frame_info_method(hdr!(st, fp, FRAME_INFO));
        let info = &mut infos[mid.0 as usize];
        if info.native_entry != 0 || info.invocations.saturating_add(1) >= self.threshold {
            return true;
        }
        info.invocations += 1;
        false
    }
}

/// Frame pushes and backward jumps between two looks at the interrupt flag in the fast loop.
const POLL_INTERVAL: u32 = 1024;

/// The fast loop's interrupt poll: a countdown, so that most polls cost a decrement; the flag
/// itself (set by Ctrl-C) is read every [`POLL_INTERVAL`] polls. The count survives the fast
/// loop's exits (`Vm::poll_countdown`), so polls made between slow steps add up.
struct Poll<'a> {
    flag: &'a AtomicBool,
    countdown: u32,
}

impl Poll<'_> {
    /// Whether the poll finds the interrupt flag set: the instruction then goes to the slow
    /// path, which deals with it. Once the flag was seen, every poll answers true until the slow
    /// path clears it (a superinstruction that meets a poll may run as its base instruction
    /// instead, and the next poll must still find the interrupt).
    #[inline(always)]
    fn due(&mut self) -> bool {
        // The count is never 0 here: it restarts at 1 (not 0) while the flag is set.
        self.countdown -= 1;
        if self.countdown != 0 {
            return false;
        }
        std::hint::cold_path();
        if self.flag.load(Relaxed) {
            self.countdown = 1;
            return true;
        }
        self.countdown = POLL_INTERVAL;
        false
    }
}

/// The class index of any word, as an inline cache compares it.
#[inline(always)]
fn class_of(heap: &Heap, w: Word) -> smalt_gc::ClassIndex {
    // Tags: SmallInteger xx1, Character 010, SmallFloat64 100 (and 110); 000 is a reference.
    const IMMEDIATE: [smalt_gc::ClassIndex; 8] = [
        smalt_gc::ClassIndex(0),
        smalt_gc::SMALL_INTEGER_CLASS,
        smalt_gc::CHARACTER_CLASS,
        smalt_gc::SMALL_INTEGER_CLASS,
        smalt_gc::SMALL_FLOAT_CLASS,
        smalt_gc::SMALL_INTEGER_CLASS,
        smalt_gc::SMALL_FLOAT_CLASS,
        smalt_gc::SMALL_INTEGER_CLASS,
    ];
    let tag = (w.raw() & 7) as usize;
    if tag == 0 {
        // (Never the invalid word 0, whose "class" 0 would match an empty cache entry.)
        heap.header_of(w).class_index()
    } else {
        IMMEDIATE[tag]
    }
}

/// true or false.
#[inline(always)]
fn boolean(b: bool) -> Word {
    if b { TRUE_WORD } else { FALSE_WORD }
}

/// The jump offset of the jump instruction at masked pc `p`.
#[inline(always)]
fn jump_offset(code: &CodeBytes, p: usize) -> isize {
    i16::from_le_bytes([code[p + 1], code[p + 2]]) as isize
}

/// A comparison of two SmallIntegers or two immediate floats, else `None`.
#[inline(always)]
fn compare_bool(
    a: Word,
    b: Word,
    int: impl Fn(std::cmp::Ordering) -> bool,
    float: impl Fn(f64, f64) -> bool,
) -> Option<bool> {
    if a.is_small_int() && b.is_small_int() {
        return Some(int((a.raw() as i64).cmp(&(b.raw() as i64))));
    }
    match (a.as_small_float(), b.as_small_float()) {
        (Some(x), Some(y)) => Some(float(x, y)),
        _ => None,
    }
}

/// [`compare_bool`] answering a Boolean.
#[inline(always)]
fn compare_fast(
    a: Word,
    b: Word,
    int: impl Fn(std::cmp::Ordering) -> bool,
    float: impl Fn(f64, f64) -> bool,
) -> Option<Word> {
    compare_bool(a, b, int, float).map(boolean)
}

/// `a + b` for two SmallIntegers whose sum is one, or for immediate floats.
#[inline(always)]
fn add(a: Word, b: Word) -> Option<Word> {
    if a.is_small_int() && b.is_small_int() {
        (a.raw() as i64)
            .checked_add(b.raw() as i64 - 1)
            .map(|v| Word::from_raw(v as u64))
    } else {
        float_op(a, b, |x, y| x + y)
    }
}

/// `a at: i` for an Array and an index in range.
#[inline(always)]
fn array_at(heap: &Heap, a: Word, i: Word) -> Option<Word> {
    let o = a.as_oop()?;
    if !i.is_small_int() || heap.header(o).class_index() != ci::ARRAY {
        return None;
    }
    let idx = small(i);
    if idx < 1 || idx as usize > heap.num_slots(o) {
        return None;
    }
    Some(heap.slot(o, idx as usize - 1))
}

/// `a at: i put: v` for a writable Array and an index in range; answers whether it did.
#[inline(always)]
fn array_at_put(heap: &mut Heap, a: Word, i: Word, v: Word) -> bool {
    let Some(o) = a.as_oop() else { return false };
    let h = heap.header(o);
    if !i.is_small_int() || h.class_index() != ci::ARRAY || h.is_read_only() {
        return false;
    }
    let idx = small(i);
    if idx < 1 || idx as usize > heap.num_slots(o) {
        return false;
    }
    heap.set_slot(o, idx as usize - 1, v);
    true
}

/// Activates method `mid` for a send whose `nargs` arguments and receiver are on top of the
/// stack and whose instruction is `len` bytes long, if the fast loop can: a quick method
/// answers at once, an ordinary one gets its frame. Answers false, changing nothing, for a
/// primitive method, a frame that would pass the stack limit, or a pending interrupt.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn activate(
    st: &mut StackArray,
    heap: &Heap,
    infos: &mut [MethodInfo],
    limit: usize,
    poll: &mut Poll,
    tiering: Tiering,
    r: &mut Registers,
    mid: u32,
    nargs: usize,
    len: usize,
) -> bool {
    let info = &mut infos[mid as usize];
    if tiering.wants(info) {
        // Native code, or time to compile: the slow path enters the tier.
        return false;
    }
    // (A setter runs as an ordinary method here.)
    if info.activation as u8 >= Activation::Primitive as u8 {
        // Not rare, but cheaper than a frame either way: keep the frame path straight.
        std::hint::cold_path();
        if info.activation == Activation::Primitive {
            return false;
        }
        let rcv = st[Stack::mask(r.sp) + STACK_FRONT - 1 - nargs];
        let v = match info.activation {
            Activation::ReturnInstVar => match rcv.as_oop() {
                Some(o) if usize::from(info.quick_arg) < heap.num_slots(o) => {
                    heap.slot(o, usize::from(info.quick_arg))
                }
                _ => return false,
            },
            Activation::ReturnSelf => rcv,
            Activation::ReturnConstant => info.quick_value,
            _ => heap.slot_of(
                info.method,
                method::FIRST_LITERAL + usize::from(info.quick_arg),
            ),
        };
        info.invocations = info.invocations.wrapping_add(1);
        r.sp -= nargs;
        at!(st, r.sp - 1) = v;
        r.pc += len;
        return true;
    }
    let new_fp = r.sp;
    if new_fp + info.frame_words > limit || poll.due() {
        return false;
    }
    info.invocations = info.invocations.wrapping_add(1);
    hdr!(st, new_fp, CALLER_FP) = tag(r.fp);
    hdr!(st, new_fp, RETURN_PC) = tag(r.pc + len);
    hdr!(st, new_fp, METHOD) = info.method;
    hdr!(st, new_fp, FRAME_INFO) = info.frame_info;
    hdr!(st, new_fp, CLOSURE) = NIL_WORD;
    hdr!(st, new_fp, CONTEXT) = NIL_WORD;
    for i in 0..info.num_temps {
        hdr!(st, new_fp, TEMPS + i) = NIL_WORD;
    }
    r.bp = new_fp - nargs - 1;
    r.fp = new_fp;
    r.sp = new_fp + TEMPS + info.num_temps;
    r.pc = info.code_start;
    r.cells = info.cell_base;
    true
}

/// `Value`/`Value1`: activates the closure below the `nargs` arguments on top of the stack if
/// it is a closure taking `nargs` arguments and the fast loop can (see [`activate`]).
// The fast loop's parts are passed one by one so that each stays a separate borrow the
// compiler can keep in registers (a struct of them would be spilled and reloaded).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn activate_block(
    st: &mut StackArray,
    heap: &Heap,
    infos: &mut [MethodInfo],
    limit: usize,
    poll: &mut Poll,
    tiering: Tiering,
    r: &mut Registers,
    nargs: usize,
) -> bool {
    let clo_word = at!(st, r.sp - 1 - nargs);
    let Some(clo) = clo_word.as_oop() else {
        return false;
    };
    if !matches!(
        heap.header(clo).class_index(),
        ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3 | ci::BLOCK
    ) {
        return false;
    }
    let code = heap.slot_of(clo_word, closure::CODE);
    let mid = untag(heap.slot_of(code, method::ID));
    let info = &mut infos[mid];
    let new_fp = r.sp;
    if info.num_args != nargs
        || tiering.wants(info)
        || new_fp + info.frame_words > limit
        || poll.due()
    {
        return false;
    }
    info.invocations = info.invocations.wrapping_add(1);
    hdr!(st, new_fp, CALLER_FP) = tag(r.fp);
    hdr!(st, new_fp, RETURN_PC) = tag(r.pc + 1);
    hdr!(st, new_fp, METHOD) = code;
    hdr!(st, new_fp, FRAME_INFO) = info.frame_info;
    hdr!(st, new_fp, CLOSURE) = clo_word;
    hdr!(st, new_fp, CONTEXT) = NIL_WORD;
    let bp = new_fp - nargs - 1;
    at!(st, bp) = heap.slot_of(clo_word, closure::RECEIVER);
    let copied = info.num_copied;
    for i in 0..copied {
        hdr!(st, new_fp, TEMPS + i) = heap.slot_of(clo_word, closure::FIRST_COPIED + i);
    }
    for i in copied..info.num_temps {
        hdr!(st, new_fp, TEMPS + i) = NIL_WORD;
    }
    r.bp = bp;
    r.fp = new_fp;
    r.sp = new_fp + TEMPS + info.num_temps;
    r.pc = info.code_start;
    r.cells = info.cell_base;
    true
}
