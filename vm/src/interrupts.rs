//! Interrupts: what a poll point does when the VM's attention is needed.
//!
//! The interpreter polls at every frame push (methods and blocks) and every backward jump, and
//! so does `Context>>restart`; native code is to poll at the same places. A poll is one cheap
//! test, [`Vm::attention_needed`]: a user interrupt ([`Vm::interrupt`]: Ctrl-C through the
//! signal handler, or a watchdog) or an OutOfMemory error that an allocation deferred
//! ([`Vm::pending_out_of_memory`], see `memory.rs`). When it is true, the poll site calls
//! [`Vm::attend`] (cold) with the registers of a consistent point, between two instructions.
//!
//! # Delivering an interrupt as an exception
//!
//! `attend` makes the interrupted code send a message, as if it had sent it itself right
//! there: `UserInterrupt signalFromVM` for Ctrl-C, `OutOfMemory signalFromVM` for memory. It
//! pushes the class on the operand stack of the interrupted frame (every frame has slack for
//! the sends the VM inserts) and sends the selector; the new frame returns, if ever, to the
//! interrupted pc. The Smalltalk code signals the exception there, so an interrupt is handled
//! exactly as an error is: `on: UserInterrupt do:` catches it, and unhandled it reports where
//! the program was and unwinds, running the `ensure:` and `ifCurtailed:` blocks, before the
//! run stops (`VmError::Interrupted`: exit status 130, or back to the REPL prompt). Neither
//! exception can be resumed; should the signal return all the same, the run stops (the
//! operand stack of the interrupted frame holds the class the VM pushed, so it must not go
//! on).
//!
//! Nothing is allocated here: the exception is made by the Smalltalk code, in the memory
//! reserve when memory is short.
//!
//! A second interrupt while the first one's activation is still live (its handler or its
//! unwind blocks are still running, perhaps for ever) stops the run at once, without
//! unwinding; so does the third interrupt of a run, whatever the program did with the first
//! two (`[ … ] on: UserInterrupt do: [ :e | e retry ]`): pressing Ctrl-C a few times always
//! ends a run.
//!
//! # Long primitives
//!
//! A primitive that may run for long (big-integer arithmetic on huge numbers) watches the
//! interrupt flag while it works and, when it is set, gives up and calls
//! [`Vm::interrupt_primitive`]: the send that ran the primitive then signals the interrupt
//! instead of answering. So no Ctrl-C is lost to a primitive, however long.

use crate::frame;
use crate::methods::MethodId;
use crate::prims::Prim;
use crate::vm::{Registers, Vm, VmError, sp};
use std::sync::atomic::Ordering;

/// The activation the VM pushed to deliver a user interrupt, identified by where it is and
/// what it returns to (a later frame at the same place is another activation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedFrame {
    fp: usize,
    caller: usize,
    return_pc: usize,
    method: MethodId,
}

/// User interrupts of one run delivered as exceptions; the next one stops the run at once.
const MAX_USER_INTERRUPTS: u32 = 2;

/// Words of stack below the limit that delivering an interrupt needs (the frame of
/// `signalFromVM` and the first frames of `signal`); closer to the limit, the run stops.
const DELIVERY_STACK_WORDS: usize = 512;

impl Vm {
    /// Whether a poll point must call [`Vm::attend`]: a user interrupt is pending, or an
    /// OutOfMemory error is to be signalled.
    #[inline(always)]
    pub fn attention_needed(&self) -> bool {
        self.pending_out_of_memory || self.interrupt.load(Ordering::Relaxed)
    }

    /// Delivers what [`Vm::attention_needed`] saw at the consistent point `r` (a frame was
    /// just pushed, or a backward jump taken): the interrupted code sends `signalFromVM` to
    /// `OutOfMemory` or `UserInterrupt`, and `r` becomes that activation. Errors stop the run:
    /// a second interrupt while one is being handled, or no room left to deliver it.
    #[cold]
    #[inline(never)]
    pub fn attend(&mut self, r: &mut Registers) -> Result<(), VmError> {
        self.regs = *r;
        if std::mem::take(&mut self.pending_out_of_memory) {
            // The flag raised only for this (see memory.rs) is cleared; a Ctrl-C between the
            // raise and this poll is indistinguishable from it and waits for the next one.
            if std::mem::take(&mut self.out_of_memory_raised_flag) {
                self.interrupt.store(false, Ordering::Relaxed);
            }
            return self.send_from_vm(r, "OutOfMemory", false);
        }
        if !self.take_interrupt() {
            return Ok(());
        }
        if self.user_interrupt_running() || self.user_interrupts >= MAX_USER_INTERRUPTS {
            return Err(self.interrupted_here());
        }
        self.user_interrupts += 1;
        self.send_from_vm(r, "UserInterrupt", true)
    }

    /// For a primitive that gave up its work because the interrupt flag is set: the send that
    /// ran it signals the user interrupt instead of answering. Answers what the primitive
    /// answers.
    #[cold]
    #[inline(never)]
    pub fn interrupt_primitive(&mut self, nargs: usize) -> Prim {
        self.interrupt.store(false, Ordering::Relaxed);
        if self.regs.fp == frame::BASE_MARKER as usize
            || self.user_interrupt_running()
            || self.user_interrupts >= MAX_USER_INTERRUPTS
        {
            // Run from Rust with no Smalltalk frame to signal in, or interrupted again.
            return Prim::Error(self.interrupted_here());
        }
        self.user_interrupts += 1;
        let mut r = self.regs;
        // The receiver and the arguments make way for the interrupt's send.
        r.sp -= nargs + 1;
        match self.send_from_vm(&mut r, "UserInterrupt", true) {
            Ok(()) => {
                self.regs = r;
                Prim::Switched
            }
            Err(e) => Prim::Error(e),
        }
    }

    /// The error that stops a run at once where it is: the stack trace from here.
    pub fn interrupted_here(&self) -> VmError {
        let trace = crate::prims::format_trace(&crate::prims::stack_trace(self));
        VmError::Interrupted { trace }
    }

    /// Makes the code at `r` send `signalFromVM` to the exception class named `class_name`.
    fn send_from_vm(
        &mut self,
        r: &mut Registers,
        class_name: &str,
        is_user_interrupt: bool,
    ) -> Result<(), VmError> {
        let stop = |vm: &Vm| {
            if is_user_interrupt {
                vm.interrupted_here()
            } else {
                VmError::OutOfMemory
            }
        };
        let class = match self.global(class_name) {
            Some(c) if self.is_class(c) => c,
            _ => return Err(stop(self)),
        };
        if r.sp + DELIVERY_STACK_WORDS > self.rt.stack_limit {
            return Err(stop(self));
        }
        let (caller, return_pc) = (r.fp, r.pc);
        self.stack[r.sp] = class;
        r.sp += 1;
        let selector = self.special(sp::SEL_SIGNAL_FROM_VM);
        self.send_selector(r, selector, 0)?;
        if is_user_interrupt && r.fp != caller {
            self.interrupt_frame = Some(InjectedFrame {
                fp: r.fp,
                caller,
                return_pc,
                method: self.frame_method_id(r.fp),
            });
        }
        Ok(())
    }

    /// Whether the activation pushed for the last user interrupt is still live: its handler or
    /// its unwind blocks are running.
    fn user_interrupt_running(&mut self) -> bool {
        let Some(f) = self.interrupt_frame else {
            return false;
        };
        let mut fp = self.regs.fp;
        let live = loop {
            if fp == f.fp {
                break self.stack[fp + frame::CALLER_FP].as_small_int() == Some(f.caller as i64)
                    && self.stack[fp + frame::RETURN_PC].as_small_int()
                        == Some(f.return_pc as i64)
                    && self.frame_method_id(fp) == f.method;
            }
            if fp < f.fp || fp >= self.stack.capacity() {
                break false;
            }
            match self.stack[fp + frame::CALLER_FP].as_small_int() {
                Some(c) if c >= 0 => fp = c as usize,
                _ => break false,
            }
        };
        if !live {
            self.interrupt_frame = None;
        }
        live
    }
}
