//! The bytecode interpreter.
//!
//! [`Vm::run`] executes frames on the VM stack until the base frame it was entered with
//! returns. The registers live in a local [`Registers`] value `r` for speed and are written
//! back to `vm.regs` ("synced") before anything that can collect, walk the stack or run a
//! primitive, and read back afterwards when the callee may have switched frames.
//!
//! Sends never recurse on the Rust stack: a send pushes a frame and the loop continues in the
//! callee; a return pops it. Each send site's inline-cache cell (see `methods.rs`) is probed
//! with the receiver's class index; a miss falls back to the global lookup cache and then to a
//! dictionary walk, and records the result in the cell.
//!
//! Fast paths (`*_fast`) sit inline; slow paths are separate `#[cold]` functions with matching
//! names.

use crate::bytecode::op;
use crate::frame::{self, BASE_MARKER};
use crate::methods::MethodId;
use crate::objects::{FLAG_NEEDS_OUTER, FLAG_UNWIND, class_index as ci, closure, context, message};
use crate::prims::Prim;
use crate::vm::{Registers, STACK_HEADROOM, Vm, VmError, sp};
use smalt_gc::{ClassIndex, Format, Word};

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

macro_rules! tri {
    ($self:ident, $r:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            // An unwinding (see `tier.rs`) already says in `regs` where execution continues.
            Err(VmError::Unwound) => return Err(VmError::Unwound),
            Err(err) => {
                $self.regs = $r;
                return Err(err);
            }
        }
    };
}

/// A raw SmallInteger value (no tag check).
#[inline(always)]
fn small(w: Word) -> i64 {
    (w.raw() as i64) >> 1
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
        let saved_stop = std::mem::replace(&mut self.tiering.stop_fp, BASE_MARKER);
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
        let nil = self.nil();
        loop {
            let byte = self.methods.code[r.pc];
            r.pc += 1;
            match byte {
                op::PushSelf => {
                    let v = self.stack[r.bp];
                    self.push(&mut r, v);
                }
                op::PushNil => self.push(&mut r, nil),
                op::PushTrue => {
                    let v = self.true_obj();
                    self.push(&mut r, v)
                }
                op::PushFalse => {
                    let v = self.false_obj();
                    self.push(&mut r, v)
                }
                op::PushSmallInt => {
                    let v = self.methods.code[r.pc] as i8;
                    r.pc += 1;
                    self.push(&mut r, Word::small_int(i64::from(v)));
                }
                op::PushLiteral => {
                    let k = self.operand(&mut r);
                    self.push_literal(&mut r, k);
                }
                op::PushLocal => {
                    let k = self.operand(&mut r);
                    let v = self.stack[r.bp + k];
                    self.push(&mut r, v);
                }
                op::PushInstVar => {
                    let k = self.operand(&mut r);
                    self.push_inst_var(&mut r, k);
                }
                op::PushGlobal => {
                    let k = self.operand(&mut r);
                    tri!(self, r, self.push_global(&mut r, k));
                }
                op::PushIndirect => {
                    let i = self.operand(&mut r);
                    let k = self.operand(&mut r);
                    let vector = self.stack[r.bp + k].oop();
                    let v = self.heap.slot(vector, i);
                    self.push(&mut r, v);
                }
                op::PushThisContext => {
                    self.regs = r;
                    let ctx = tri!(self, r, self.context_for_frame(r.fp));
                    self.push(&mut r, ctx);
                }
                op::PushNewArray => {
                    let n = self.operand(&mut r);
                    self.regs = r;
                    let a = tri!(self, r, self.new_array(n));
                    self.push(&mut r, a.word());
                }
                op::MakeArray => {
                    let n = self.operand(&mut r);
                    tri!(self, r, self.make_array(&mut r, n));
                }
                op::PushClosure => {
                    let k = self.operand(&mut r);
                    let n = self.operand(&mut r);
                    tri!(self, r, self.push_closure(&mut r, k, n));
                }
                op::Dup => {
                    let v = self.stack[r.sp - 1];
                    self.push(&mut r, v);
                }
                op::Pop => r.sp -= 1,
                op::StoreLocal => {
                    let k = self.operand(&mut r);
                    self.stack[r.bp + k] = self.stack[r.sp - 1];
                }
                op::PopStoreLocal => {
                    let k = self.operand(&mut r);
                    r.sp -= 1;
                    self.stack[r.bp + k] = self.stack[r.sp];
                }
                op::StoreInstVar => {
                    let k = self.operand(&mut r);
                    self.store_inst_var(&r, k);
                }
                op::PopStoreInstVar => {
                    let k = self.operand(&mut r);
                    self.store_inst_var(&r, k);
                    r.sp -= 1;
                }
                op::StoreGlobal => {
                    let k = self.operand(&mut r);
                    self.store_global(&r, k);
                }
                op::PopStoreGlobal => {
                    let k = self.operand(&mut r);
                    self.store_global(&r, k);
                    r.sp -= 1;
                }
                op::StoreIndirect | op::PopStoreIndirect => {
                    let i = self.operand(&mut r);
                    let k = self.operand(&mut r);
                    let vector = self.stack[r.bp + k].oop();
                    self.heap.set_slot(vector, i, self.stack[r.sp - 1]);
                    if byte == op::PopStoreIndirect {
                        r.sp -= 1;
                    }
                }
                op::Send => {
                    let k = self.operand(&mut r);
                    tri!(self, r, self.send_site(&mut r, k));
                }
                op::SuperSend => {
                    let k = self.operand(&mut r);
                    tri!(self, r, self.super_send(&mut r, k));
                }
                op::Add => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        if let Some(v) = (a.raw() as i64).checked_add(b.raw() as i64 - 1) {
                            r.sp -= 1;
                            self.stack[r.sp - 1] = Word::from_raw(v as u64);
                            continue;
                        }
                    } else if let Some(v) = float_op(a, b, |x, y| x + y) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
                }
                op::Sub => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        if let Some(v) = (a.raw() as i64).checked_sub(b.raw() as i64 - 1) {
                            r.sp -= 1;
                            self.stack[r.sp - 1] = Word::from_raw(v as u64);
                            continue;
                        }
                    } else if let Some(v) = float_op(a, b, |x, y| x - y) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
                }
                op::Mul => {
                    let (a, b) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if a.is_small_int() && b.is_small_int() {
                        if let Some(v) =
                            small(a).checked_mul(small(b)).and_then(Word::try_small_int)
                        {
                            r.sp -= 1;
                            self.stack[r.sp - 1] = v;
                            continue;
                        }
                    } else if let Some(v) = float_op(a, b, |x, y| x * y) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
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
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
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
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
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
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
                }
                op::At => {
                    let (a, i) = (self.stack[r.sp - 2], self.stack[r.sp - 1]);
                    if let Some(v) = self.array_at_fast(a, i) {
                        r.sp -= 1;
                        self.stack[r.sp - 1] = v;
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
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
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
                }
                op::Size => {
                    let a = self.stack[r.sp - 1];
                    if let Some(o) = a.as_oop()
                        && self.heap.header(o).class_index() == ci::ARRAY
                    {
                        self.stack[r.sp - 1] = Word::from_usize(self.heap.num_slots(o));
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
                }
                op::Value | op::Value1 => {
                    let nargs = usize::from(byte == op::Value1);
                    if tri!(self, r, self.activate_block(&mut r, nargs)) {
                        continue;
                    }
                    tri!(self, r, self.send_special(&mut r, byte));
                }
                op::IdentityEq | op::IdentityNe => {
                    let same = self.stack[r.sp - 2] == self.stack[r.sp - 1];
                    r.sp -= 1;
                    self.stack[r.sp - 1] = self.boolean(same == (byte == op::IdentityEq));
                }
                op::Jump => {
                    let off = self.jump_offset(&mut r);
                    r.pc = (r.pc as isize + off) as usize;
                    if off < 0 {
                        if self.tiering.active
                            && let Some(v) = tri!(self, r, self.tier_back_edge(&mut r))
                        {
                            return Ok(v);
                        }
                        if self.interrupt_pending() {
                            self.regs = r;
                            return Err(VmError::Interrupted);
                        }
                    }
                }
                op::JumpIfTrue | op::JumpIfFalse => {
                    let at = r.pc - 1;
                    let off = self.jump_offset(&mut r);
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
                        tri!(self, r, self.must_be_boolean(&mut r, at));
                    }
                }
                op::JumpIfNil | op::JumpIfNotNil => {
                    let off = self.jump_offset(&mut r);
                    r.sp -= 1;
                    let is_nil = self.stack[r.sp] == nil;
                    if is_nil == (byte == op::JumpIfNil) {
                        r.pc = (r.pc as isize + off) as usize;
                    }
                }
                op::ReturnTop => {
                    let v = self.stack[r.sp - 1];
                    if let Flow::Exit(v) = self.return_value(&mut r, v) {
                        return Ok(v);
                    }
                }
                op::ReturnSelf => {
                    let v = self.stack[r.bp];
                    if let Flow::Exit(v) = self.return_value(&mut r, v) {
                        return Ok(v);
                    }
                }
                op::NonLocalReturn => {
                    if let Flow::Exit(v) = tri!(self, r, self.non_local_return(&mut r)) {
                        return Ok(v);
                    }
                    if !self.in_run_region(r.fp) {
                        // The home's caller is below this run's stop (native code waits there).
                        self.regs = r;
                        return Err(VmError::Unwound);
                    }
                }
                op::ExtA => {
                    if let Flow::Exit(v) = tri!(self, r, self.extended(&mut r)) {
                        return Ok(v);
                    }
                }
                _ => {
                    self.regs = r;
                    panic!("invalid bytecode {byte} at pc {}", r.pc - 1);
                }
            }
        }
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
    pub(crate) fn interrupt_pending(&self) -> bool {
        self.interrupt.load(std::sync::atomic::Ordering::Relaxed) && self.take_interrupt()
    }

    #[inline(always)]
    fn current_method(&self, r: &Registers) -> Word {
        self.stack[r.fp + frame::METHOD]
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
        let clo = self.stack[fp + frame::CLOSURE];
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

    // ---- sends -------------------------------------------------------------------------------

    /// A send through the inline-cache cell `k` of the current method.
    #[inline(always)]
    fn send_site(&mut self, r: &mut Registers, k: usize) -> Result<(), VmError> {
        let cell_index = r.cells + k;
        let cell = &self.methods.cells[cell_index];
        let nargs = cell.nargs as usize;
        let rcv = self.stack[r.sp - 1 - nargs];
        let class = self.heap.class_index_of(rcv);
        let mid = cell.probe(class);
        if mid != 0 {
            return self.invoke(r, mid, nargs);
        }
        self.send_site_miss(r, cell_index, class, nargs)
    }

    #[cold]
    fn send_site_miss(
        &mut self,
        r: &mut Registers,
        cell_index: usize,
        class: ClassIndex,
        nargs: usize,
    ) -> Result<(), VmError> {
        let selector = self.methods.cells[cell_index].selector;
        match self.lookup(class, selector) {
            Some(mid) => {
                self.methods.cells[cell_index].record(class, mid);
                self.invoke(r, mid.0, nargs)
            }
            None => {
                self.regs = *r;
                self.send_dnu(r, selector, nargs)
            }
        }
    }

    /// A send of `selector` through the global lookup cache only.
    pub(crate) fn send_selector(
        &mut self,
        r: &mut Registers,
        selector: Word,
        nargs: usize,
    ) -> Result<(), VmError> {
        let rcv = self.stack[r.sp - 1 - nargs];
        let class = self.heap.class_index_of(rcv);
        match self.lookup(class, selector) {
            Some(mid) => self.invoke(r, mid.0, nargs),
            None => {
                self.regs = *r;
                self.send_dnu(r, selector, nargs)
            }
        }
    }

    #[cold]
    pub(crate) fn send_special(&mut self, r: &mut Registers, byte: u8) -> Result<(), VmError> {
        let index = crate::bytecode::SPECIAL_SELECTORS
            .iter()
            .position(|(o, _, _)| *o as u8 == byte)
            .expect("special opcode without selector");
        let nargs = crate::bytecode::SPECIAL_SELECTORS[index].2;
        let selector = self.special(sp::FIRST_SPECIAL_SELECTOR + index);
        self.send_selector(r, selector, nargs)
    }

    /// A super send. Its target depends only on the method's class, so the site's cell caches
    /// it keyed by the superclass's index (which also lets invalidation find it).
    pub(crate) fn super_send(&mut self, r: &mut Registers, k: usize) -> Result<(), VmError> {
        let cell = &self.methods.cells[r.cells + k];
        let nargs = cell.nargs as usize;
        if cell.state != crate::methods::IcState::Empty {
            let mid = cell.entries[0].method;
            return self.invoke(r, mid, nargs);
        }
        let m = self.current_method(r);
        let selector = self.literal(m, k);
        let holder = self.method_holder(self.home_method(m));
        let start = self.superclass(holder);
        let found = if start == self.nil() {
            None
        } else {
            self.lookup_in(start, selector)
        };
        match found {
            Some(method) => {
                let mid = self.method_id(method);
                if let Some(index) = self.index_of_class(start) {
                    self.methods.cells[r.cells + k].record(index, mid);
                    self.methods.anything_cached = true;
                }
                self.invoke(r, mid.0, nargs)
            }
            None => {
                self.regs = *r;
                self.send_dnu(r, selector, nargs)
            }
        }
    }

    /// Replaces the arguments of a failed send with a Message and sends #doesNotUnderstand:.
    #[cold]
    pub(crate) fn send_dnu(
        &mut self,
        r: &mut Registers,
        selector: Word,
        nargs: usize,
    ) -> Result<(), VmError> {
        self.regs = *r;
        let mark = self.handle_mark();
        let hsel = self.push_handle(selector);
        self.reserve(Vm::object_words(nargs) + Vm::object_words(message::SIZE))?;
        let args = self.alloc_reserved(ci::ARRAY, Format::Indexable, nargs);
        for i in 0..nargs {
            self.heap.set_slot(args, i, self.stack[r.sp - nargs + i]);
        }
        let msg = self.alloc_reserved(ci::MESSAGE, Format::Fixed, message::SIZE);
        self.heap
            .set_slot(msg, message::SELECTOR, self.handle(hsel));
        self.heap.set_slot(msg, message::ARGUMENTS, args.word());
        self.release_handles(mark);
        r.sp -= nargs;
        self.push(r, msg.word());
        let rcv = self.stack[r.sp - 2];
        let class = self.heap.class_index_of(rcv);
        let dnu = self.special(sp::SEL_DNU);
        match self.lookup(class, dnu) {
            Some(mid) => self.invoke(r, mid.0, 1),
            None => Err(VmError::Load(format!(
                "{} does not understand #doesNotUnderstand:",
                self.class_name(self.class_of(rcv))
            ))),
        }
    }

    /// Runs method `mid` for the receiver and `nargs` arguments on top of the stack: its
    /// primitive first, if any, then its bytecodes in a new frame.
    #[inline(always)]
    pub(crate) fn invoke(
        &mut self,
        r: &mut Registers,
        mid: u32,
        nargs: usize,
    ) -> Result<(), VmError> {
        if let Some(prim) = self.methods.infos[mid as usize].prim_fn {
            self.regs = *r;
            match prim(self, nargs) {
                Prim::Done(v) => {
                    r.sp -= nargs;
                    self.stack[r.sp - 1] = v;
                    return Ok(());
                }
                // The reason always describes the latest failure.
                Prim::Fail => self.prim_failure = None,
                Prim::OutOfMemory => self.prim_failure = Some("outOfMemory"),
                Prim::Switched => {
                    *r = self.regs;
                    if !self.in_run_region(r.fp) {
                        // The primitive cut the frames down to or below this run's stop.
                        return Err(VmError::Unwound);
                    }
                    return Ok(());
                }
                Prim::Error(e) => return Err(e),
            }
        }
        self.push_frame(r, mid, nargs)
    }

    /// Pushes a frame for method `mid` whose receiver and arguments are on top of the stack.
    #[inline(always)]
    pub(crate) fn push_frame(
        &mut self,
        r: &mut Registers,
        mid: u32,
        nargs: usize,
    ) -> Result<(), VmError> {
        let info = &mut self.methods.infos[mid as usize];
        info.invocations = info.invocations.wrapping_add(1);
        if info.native_entry != 0 || info.invocations >= self.tiering.threshold {
            return self.push_frame_tiered(r, mid, nargs);
        }
        self.push_frame_interpreted(r, mid, nargs)
    }

    /// Pushes an interpreted frame for method `mid` (its invocation already counted).
    #[inline(always)]
    pub(crate) fn push_frame_interpreted(
        &mut self,
        r: &mut Registers,
        mid: u32,
        nargs: usize,
    ) -> Result<(), VmError> {
        let info = &self.methods.infos[mid as usize];
        let (method, frame_info, temps, code_start, cells) = (
            info.method,
            info.frame_info,
            info.num_temps,
            info.code_start,
            info.cell_base,
        );
        let new_fp = r.sp;
        let need = new_fp + info.frame_words;
        if need > self.rt.stack_limit {
            return self.raise_stack_overflow(r, nargs);
        }
        let nil = self.nil();
        self.stack[new_fp + frame::CALLER_FP] = Word::small_int(r.fp as i64);
        self.stack[new_fp + frame::RETURN_PC] = Word::small_int(r.pc as i64);
        self.stack[new_fp + frame::METHOD] = method;
        self.stack[new_fp + frame::FRAME_INFO] = frame_info;
        self.stack[new_fp + frame::CLOSURE] = nil;
        self.stack[new_fp + frame::CONTEXT] = nil;
        let t = new_fp + frame::TEMPS;
        self.stack[t..t + temps].fill(nil);
        r.bp = new_fp - nargs - 1;
        r.fp = new_fp;
        r.sp = t + temps;
        r.pc = code_start;
        r.cells = cells;
        if self.interrupt_pending() {
            return Err(VmError::Interrupted);
        }
        Ok(())
    }

    /// Activates the closure below the `nargs` arguments on top of the stack, if it is a
    /// closure taking exactly `nargs` arguments; otherwise answers false and changes nothing.
    #[inline(always)]
    pub(crate) fn activate_block(
        &mut self,
        r: &mut Registers,
        nargs: usize,
    ) -> Result<bool, VmError> {
        let clo_word = self.stack[r.sp - 1 - nargs];
        let Some(clo) = clo_word.as_oop() else {
            return Ok(false);
        };
        let class = self.heap.header(clo).class_index();
        if !matches!(class, ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3 | ci::BLOCK) {
            return Ok(false);
        }
        let code = self.heap.slot(clo, closure::CODE);
        let mid = self.method_id(code);
        let info = &mut self.methods.infos[mid.0 as usize];
        if info.num_args != nargs {
            return Ok(false);
        }
        info.invocations = info.invocations.wrapping_add(1);
        if (info.native_entry != 0 || info.invocations >= self.tiering.threshold)
            && self.tier_activate(r, mid.0, nargs)?
        {
            return Ok(true);
        }
        self.activate_block_frame(r, mid, nargs)?;
        Ok(true)
    }

    /// Pushes an interpreted frame for the block code `mid` of the closure below the `nargs`
    /// arguments on top of the stack (checked by the caller).
    #[inline(always)]
    pub(crate) fn activate_block_frame(
        &mut self,
        r: &mut Registers,
        mid: MethodId,
        nargs: usize,
    ) -> Result<(), VmError> {
        let clo_word = self.stack[r.sp - 1 - nargs];
        let clo = clo_word.oop();
        let code = self.heap.slot(clo, closure::CODE);
        let info = &self.methods.infos[mid.0 as usize];
        let (frame_info, temps, copied, code_start, cells) = (
            info.frame_info,
            info.num_temps,
            info.num_copied,
            info.code_start,
            info.cell_base,
        );
        let new_fp = r.sp;
        let need = new_fp + info.frame_words;
        if need > self.rt.stack_limit {
            return self.raise_stack_overflow(r, nargs);
        }
        let nil = self.nil();
        self.stack[new_fp + frame::CALLER_FP] = Word::small_int(r.fp as i64);
        self.stack[new_fp + frame::RETURN_PC] = Word::small_int(r.pc as i64);
        self.stack[new_fp + frame::METHOD] = code;
        self.stack[new_fp + frame::FRAME_INFO] = frame_info;
        self.stack[new_fp + frame::CLOSURE] = clo_word;
        self.stack[new_fp + frame::CONTEXT] = nil;
        let bp = new_fp - nargs - 1;
        self.stack[bp] = self.heap.slot(clo, closure::RECEIVER);
        let t = new_fp + frame::TEMPS;
        for i in 0..copied {
            self.stack[t + i] = self.heap.slot(clo, closure::FIRST_COPIED + i);
        }
        self.stack[t + copied..t + temps].fill(nil);
        r.bp = bp;
        r.fp = new_fp;
        r.sp = t + temps;
        r.pc = code_start;
        r.cells = cells;
        // A loop can run through block activations alone (`primCutAndEvaluate:` and the
        // like), so they poll for interrupts as method activations do.
        if self.interrupt_pending() {
            return Err(VmError::Interrupted);
        }
        Ok(())
    }

    /// The stack limit was reached: instead of the message, send #stackOverflow to the
    /// receiver, with part of the headroom above the limit available to handle it. An overflow
    /// while handling one raises the limit again, into three quarters of what is left of the
    /// headroom, so that it is catchable too, a few levels deep.
    #[cold]
    pub(crate) fn raise_stack_overflow(
        &mut self,
        r: &mut Registers,
        nargs: usize,
    ) -> Result<(), VmError> {
        let normal = self.options.max_stack_words.min(crate::vm::MAX_STACK_LIMIT);
        let top = normal + STACK_HEADROOM;
        let room = top.saturating_sub(self.rt.stack_limit);
        if room < crate::vm::MIN_OVERFLOW_ROOM {
            // Overflows nested in the handlers of overflows: give up on this computation.
            return Err(VmError::Load(
                "stack overflow while handling a stack overflow".into(),
            ));
        }
        self.overflow_limits.push(self.rt.stack_limit);
        self.rt.stack_limit += room / 4 * 3;
        r.sp -= nargs;
        let sel = self.special(sp::SEL_STACK_OVERFLOW);
        self.send_selector(r, sel, 0)
    }

    /// Checks that the stack can hold `need` words (below the current limit).
    pub(crate) fn ensure_stack(&mut self, need: usize) -> Result<(), VmError> {
        if need > self.rt.stack_limit {
            return Err(VmError::Load("stack overflow".into()));
        }
        Ok(())
    }

    /// Lowers the stack limit back once the stack is well below the limit it was raised from:
    /// by the room it was raised by, or, for the normal limit, by the headroom or half the
    /// limit for a stack limit smaller than twice the headroom (which would otherwise never
    /// come back, making every later overflow fatal).
    pub(crate) fn maybe_reset_stack_limit(&mut self, sp: usize) {
        while let Some(&previous) = self.overflow_limits.last() {
            let margin = if self.overflow_limits.len() == 1 {
                STACK_HEADROOM.min(previous / 2)
            } else {
                self.rt.stack_limit - previous
            };
            if sp + margin >= previous {
                break;
            }
            self.rt.stack_limit = previous;
            self.overflow_limits.pop();
        }
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

    // ---- returns -------------------------------------------------------------------------------

    /// Returns `v` from the current frame to its caller.
    #[inline(always)]
    fn return_value(&mut self, r: &mut Registers, v: Word) -> Flow {
        let nil = self.nil();
        let ctx = self.stack[r.fp + frame::CONTEXT];
        if ctx != nil {
            self.widow(ctx, r.fp, r.pc);
        }
        let caller_fp = small(self.stack[r.fp + frame::CALLER_FP]);
        let return_pc = small(self.stack[r.fp + frame::RETURN_PC]) as usize;
        self.stack[r.bp] = v;
        r.sp = r.bp + 1;
        self.return_to_caller(r, caller_fp, return_pc, v)
    }

    /// Continues in the caller `caller_fp` at `return_pc` after the current frame returned
    /// `v` (already stored, `r.sp` set). Returning to this run's stop frame (the base frame's
    /// -1, or the native frame that started the run) leaves the loop, with the registers
    /// saved: the stop frame's (fp `usize::MAX` for the base).
    #[inline(always)]
    pub(crate) fn return_to_caller(
        &mut self,
        r: &mut Registers,
        caller_fp: i64,
        return_pc: usize,
        v: Word,
    ) -> Flow {
        if caller_fp == self.tiering.stop_fp {
            if caller_fp == BASE_MARKER {
                r.fp = usize::MAX;
            } else {
                self.restore_caller(r, caller_fp as usize, return_pc);
            }
            self.regs = *r;
            self.maybe_reset_stack_limit(r.sp);
            return Flow::Exit(v);
        }
        self.restore_caller(r, caller_fp as usize, return_pc);
        Flow::Continue
    }

    /// Sets the registers to continue the frame at `fp` at `pc`, its operand stack ending at
    /// `r.sp` (already set).
    #[inline(always)]
    pub(crate) fn restore_caller(&mut self, r: &mut Registers, fp: usize, pc: usize) {
        let fi = self.stack[fp + frame::FRAME_INFO];
        r.fp = fp;
        r.bp = fp - frame::frame_info_nargs(fi) - 1;
        r.pc = pc;
        r.cells = self.methods.infos[frame::frame_info_method(fi).0 as usize].cell_base;
    }

    /// `^v` inside a block: return from the home method's activation.
    pub(crate) fn non_local_return(&mut self, r: &mut Registers) -> Result<Flow, VmError> {
        let v = self.stack[r.sp - 1];
        let nil = self.nil();
        let clo = self.stack[r.fp + frame::CLOSURE];
        let home = self.heap.slot(clo.oop(), closure::OUTER_CONTEXT);
        let home_fp = if home == nil {
            None
        } else {
            self.heap
                .slot(home.oop(), context::FRAME)
                .as_small_int()
                .map(|f| f as usize)
        };
        // Walk down to the home frame, noting unwind-protected frames on the way.
        let mut unwind = None;
        let mut found = false;
        if let Some(home_fp) = home_fp {
            let mut fp = r.fp;
            loop {
                if fp == home_fp {
                    found = true;
                    break;
                }
                if unwind.is_none() && self.frame_flags(fp) & FLAG_UNWIND != 0 {
                    unwind = Some(fp);
                }
                let caller = small(self.stack[fp + frame::CALLER_FP]);
                if caller < 0 {
                    break;
                }
                fp = caller as usize;
            }
        }
        if !found {
            // The home activation is gone: SOM sends #escapedBlock: to the receiver; whatever
            // that answers, the block returns locally (the send returns into a ReturnTop stub).
            self.regs = *r;
            let rcv = self.stack[r.bp];
            r.sp -= 1;
            self.push(r, rcv);
            self.push(r, clo);
            r.pc = self.return_top_stub;
            let sel = self.special(sp::SEL_ESCAPED_BLOCK);
            self.send_selector(r, sel, 1)?;
            return Ok(Flow::Continue);
        }
        if let Some(unwind_fp) = unwind {
            // Let Smalltalk run the unwind blocks: thisContext aboutToReturn: v through: ctx.
            self.regs = *r;
            self.context_for_frame(r.fp)?;
            self.context_for_frame(unwind_fp)?;
            let here = self.stack[r.fp + frame::CONTEXT];
            let first = self.stack[unwind_fp + frame::CONTEXT];
            let v = self.stack[r.sp - 1];
            r.sp -= 1;
            self.push(r, here);
            self.push(r, v);
            self.push(r, first);
            r.pc = self.return_top_stub;
            let sel = self.special(sp::SEL_ABOUT_TO_RETURN);
            self.send_selector(r, sel, 2)?;
            return Ok(Flow::Continue);
        }
        let home_fp = home_fp.expect("found implies a home frame");
        self.cut_to(r, home_fp);
        Ok(self.return_value(r, v))
    }

    /// Drops every frame above the frame at `fp` (widowing their contexts) and makes it the
    /// current frame, with its operand stack as it was when it made its last send.
    pub(crate) fn cut_to(&mut self, r: &mut Registers, fp: usize) {
        if r.fp == fp {
            return;
        }
        let nil = self.nil();
        let mut f = r.fp;
        let mut resume_pc = r.pc;
        let mut callee_base = r.sp;
        while f != fp {
            let ctx = self.stack[f + frame::CONTEXT];
            if ctx != nil {
                self.widow(ctx, f, resume_pc);
            }
            resume_pc = small(self.stack[f + frame::RETURN_PC]) as usize;
            callee_base = self.frame_bp(f);
            f = small(self.stack[f + frame::CALLER_FP]) as usize;
        }
        r.sp = callee_base + 1;
        self.restore_caller(r, fp, resume_pc);
        self.maybe_reset_stack_limit(r.sp);
    }

    /// The bp of the frame at `fp`.
    pub(crate) fn frame_bp(&self, fp: usize) -> usize {
        fp - frame::frame_info_nargs(self.stack[fp + frame::FRAME_INFO]) - 1
    }

    /// The method flags of the frame at `fp`.
    pub(crate) fn frame_flags(&self, fp: usize) -> u8 {
        self.methods.info(self.frame_method_id(fp)).flags
    }

    /// An `ExtA`-prefixed instruction: its first operand gets a high byte.
    #[cold]
    fn extended(&mut self, r: &mut Registers) -> Result<Flow, VmError> {
        let hi = self.operand(r);
        let byte = self.methods.code[r.pc];
        r.pc += 1;
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

    // ---- contexts ------------------------------------------------------------------------------

    /// The Context object of the live frame at `fp`, made on first request. A safepoint.
    pub fn context_for_frame(&mut self, fp: usize) -> Result<Word, VmError> {
        let existing = self.stack[fp + frame::CONTEXT];
        if existing != self.nil() {
            return Ok(existing);
        }
        let ctx = self.alloc(ci::CONTEXT, Format::Fixed, context::SIZE)?;
        let bp = self.frame_bp(fp);
        self.heap
            .set_slot(ctx, context::FRAME, Word::small_int(fp as i64));
        self.heap
            .set_slot(ctx, context::METHOD, self.stack[fp + frame::METHOD]);
        self.heap.set_slot(ctx, context::RECEIVER, self.stack[bp]);
        self.heap
            .set_slot(ctx, context::CLOSURE, self.stack[fp + frame::CLOSURE]);
        self.stack[fp + frame::CONTEXT] = ctx.word();
        Ok(ctx.word())
    }

    /// Detaches a context from its frame, which is going away; `pc` is the frame's pc.
    pub(crate) fn widow(&mut self, ctx: Word, fp: usize, pc: usize) {
        let o = ctx.oop();
        let start = self.methods.info(self.frame_method_id(fp)).code_start;
        self.heap.set_slot(o, context::FRAME, self.nil());
        self.heap.set_slot(
            o,
            context::PC,
            Word::small_int(pc.saturating_sub(start) as i64),
        );
    }

    /// The method id of the running code of a frame.
    pub fn frame_method_id(&self, fp: usize) -> MethodId {
        frame::frame_info_method(self.stack[fp + frame::FRAME_INFO])
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
