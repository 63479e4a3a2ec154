//! Returns, non-local returns, cutting the stack, and context-to-stack mapping: how activations
//! end and how Smalltalk sees them (see `frame.rs` and `docs/execution.md`).
//!
//! A return pops the current frame and continues the caller at the pc saved in the header; the
//! caller's `bp` and first cell come from its FRAME_INFO word. A frame with a Context widows it
//! first. The interpreter's fast loop does plain returns inline and comes here for the rest.

use crate::frame::{self, BASE_MARKER};
use crate::interp::{Flow, small};
use crate::methods::MethodId;
use crate::objects::{FLAG_UNWIND, class_index as ci, closure, context};
use crate::vm::{Registers, Vm, VmError, sp};
use smalt_gc::{Format, Word};

impl Vm {
    /// Returns `v` from the current frame to its caller.
    #[inline(always)]
    pub(crate) fn return_value(&mut self, r: &mut Registers, v: Word) -> Flow {
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
    /// -1, or the native frame that started the run; see `tier.rs`) leaves the loop, with the
    /// registers saved: the stop frame's (fp `usize::MAX` for the base).
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
        if caller_fp == BASE_MARKER {
            // A cut (non-local return) returned to the base frame below this run's stop, which
            // native code waits on: the run sees it is out of its region and unwinds, and the
            // base's value is on top of the stack (`Vm::unwound_to_base`).
            r.fp = usize::MAX;
            self.regs = *r;
            return Flow::Continue;
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
        r.cells = frame::frame_info_cells(fi);
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
