//! Sends: inline-cache cells, lookup, `doesNotUnderstand:`, primitives, quick methods, and the
//! activation of methods and blocks (pushing their frames), with the stack-limit check.
//!
//! A send site's cell (see `methods.rs`, `layout.rs`) is probed with the receiver's class index;
//! a miss falls back to the global lookup cache and then to a dictionary walk, and records the
//! result in the cell. The interpreter's fast loop (`interp.rs`) does the common case of all
//! this inline and comes here for everything else; compiled code will call the same functions.

use crate::frame;
use crate::layout::Activation;
use crate::methods::MethodId;
use crate::objects::{class_index as ci, closure, message};
use crate::prims::Prim;
use crate::vm::{Registers, STACK_HEADROOM, Vm, VmError, sp};
use smalt_gc::{ClassIndex, Format, Word};

impl Vm {
    /// A send through send site `k` of the current method (its inline-cache cell `k`, which
    /// knows the selector and argument count).
    #[inline(always)]
    pub(crate) fn send_site(&mut self, r: &mut Registers, k: usize) -> Result<(), VmError> {
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

    /// A super send through send site `k`. Its target depends only on the method's class, so
    /// the site's cell caches it keyed by the superclass's index (which also lets invalidation
    /// find it).
    pub(crate) fn super_send(&mut self, r: &mut Registers, k: usize) -> Result<(), VmError> {
        let cell = &self.methods.cells[r.cells + k];
        let (nargs, selector) = (cell.nargs as usize, cell.selector);
        if cell.state != crate::methods::IcState::Empty {
            let mid = cell.entries[0].method;
            return self.invoke(r, mid, nargs);
        }
        let m = self.current_method(r);
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
            // A class that does not inherit from Object (`Foo = nil ( … )`): Object's
            // doesNotUnderstand: reports it (it sends nothing to such a receiver).
            None => match self.lookup(ci::OBJECT, dnu) {
                Some(mid) => self.invoke(r, mid.0, 1),
                None => Err(VmError::Load(format!(
                    "{} does not understand #{}",
                    self.class_name(self.class_of(rcv)),
                    self.string_value(self.heap.slot(msg, message::SELECTOR))
                        .unwrap_or_default()
                ))),
            },
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
        let info = &self.methods.infos[mid as usize];
        let (activation, prim_fn) = (info.activation, info.prim_fn);
        if activation.is_quick() && self.run_quick(r, mid, nargs) {
            return Ok(());
        }
        if let Some(prim) = prim_fn {
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
                Prim::Error(VmError::Unwound) => {
                    *r = self.regs;
                    return Err(VmError::Unwound);
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
        if new_fp + info.frame_words > self.rt.stack_limit {
            return self.raise_stack_overflow(r, nargs);
        }
        let nil = self.nil();
        self.write_frame_header(r, new_fp, method, frame_info, nil);
        let t = new_fp + frame::TEMPS;
        self.stack[t..t + temps].fill(nil);
        r.bp = new_fp - nargs - 1;
        r.fp = new_fp;
        r.sp = t + temps;
        r.pc = code_start;
        r.cells = cells;
        self.poll_interrupt(r)
    }

    /// Writes the header of a frame at `new_fp` called from `r`'s frame: `method` (a method or
    /// a block's code), its `frame_info`, the running `closure` (nil for a method) and no
    /// Context yet.
    #[inline(always)]
    fn write_frame_header(
        &mut self,
        r: &Registers,
        new_fp: usize,
        method: Word,
        frame_info: Word,
        closure: Word,
    ) {
        let nil = self.nil();
        let header = &mut self.stack[new_fp..new_fp + frame::TEMPS];
        header[frame::CALLER_FP] = Word::small_int(r.fp as i64);
        header[frame::RETURN_PC] = Word::small_int(r.pc as i64);
        header[frame::METHOD] = method;
        header[frame::FRAME_INFO] = frame_info;
        header[frame::CLOSURE] = closure;
        header[frame::CONTEXT] = nil;
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
        if new_fp + info.frame_words > self.rt.stack_limit {
            return self.raise_stack_overflow(r, nargs);
        }
        let nil = self.nil();
        self.write_frame_header(r, new_fp, code, frame_info, clo_word);
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
        self.poll_interrupt(r)
    }

    /// Runs quick method `mid` (one whose body answers self, an instance variable or a
    /// constant) without a frame: replaces the receiver and arguments by its answer. Answers
    /// false (and changes nothing) when the method must run after all (an instance-variable
    /// method on a receiver without that variable).
    #[inline(always)]
    pub(crate) fn run_quick(&mut self, r: &mut Registers, mid: u32, nargs: usize) -> bool {
        let info = &self.methods.infos[mid as usize];
        let rcv = self.stack[r.sp - 1 - nargs];
        let v = match info.activation {
            Activation::Frame | Activation::Setter | Activation::Primitive => return false,
            Activation::ReturnSelf => rcv,
            Activation::ReturnConstant => info.quick_value,
            Activation::ReturnLiteral => self.heap.slot(
                info.method.oop(),
                crate::objects::method::FIRST_LITERAL + usize::from(info.quick_arg),
            ),
            Activation::ReturnInstVar => match rcv.as_oop() {
                Some(o) if usize::from(info.quick_arg) < self.heap.num_slots(o) => {
                    self.heap.slot(o, usize::from(info.quick_arg))
                }
                _ => return false,
            },
        };
        r.sp -= nargs;
        self.stack[r.sp - 1] = v;
        let info = &mut self.methods.infos[mid as usize];
        info.invocations = info.invocations.wrapping_add(1);
        true
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
}
