//! Context primitives: the reflective view of activations (context-to-stack mapping), and the
//! stack cutting that exceptions, `ensure:` and non-local returns build on.
//!
//! A live Context names its frame by fp. Walking senders makes contexts for the caller frames
//! on demand. The unwinding protocol is written in Smalltalk (Context>>return:, the exception
//! classes) on top of four primitives: find the next unwind-marked (`ensure:`/`ifCurtailed:`)
//! or handler-marked (`on:do:`) activation, return from a context (cutting every frame above
//! it), and restart a context.

use super::{Prim, PrimDef, done, prim_try, vm_try};
use crate::frame;
use crate::objects::{FLAG_HANDLER, FLAG_UNWIND, class_index as ci, context, debug};
use crate::vm::{Vm, VmError};
use smalt_gc::Word;

/// The fp of a live context's frame, if the context is live and its frame is on the current
/// chain of frames.
fn live_fp(vm: &Vm, ctx: Word) -> Option<usize> {
    let o = ctx.as_oop()?;
    if vm.heap.header(o).class_index() != ci::CONTEXT {
        return None;
    }
    let fp = vm.heap.slot(o, context::FRAME).as_small_int()? as usize;
    (fp < vm.regs.sp && vm.stack[fp + frame::CONTEXT] == ctx).then_some(fp)
}

/// The caller frame of the frame at `fp`, if any.
fn caller(vm: &Vm, fp: usize) -> Option<usize> {
    let c = vm.stack[fp + frame::CALLER_FP].as_small_int()?;
    (c >= 0).then_some(c as usize)
}

/// Whether the frame at `target` is on the chain from the current frame down.
fn on_current_chain(vm: &Vm, target: usize) -> bool {
    let mut fp = Some(vm.regs.fp);
    while let Some(f) = fp {
        if f == target {
            return true;
        }
        fp = caller(vm, f);
    }
    false
}

/// The pc (absolute) of the frame at `fp`: the current pc for the top frame, else the return
/// pc saved by the frame above it.
pub(crate) fn frame_pc(vm: &Vm, fp: usize) -> usize {
    let mut f = vm.regs.fp;
    let mut pc = vm.regs.pc;
    while f != fp {
        pc = vm.stack[f + frame::RETURN_PC].as_small_int().unwrap_or(0) as usize;
        match caller(vm, f) {
            Some(c) => f = c,
            None => return 0,
        }
    }
    pc
}

fn context_sender(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    let o = prim_try!(ctx.as_oop());
    prim_try!((vm.heap.header(o).class_index() == ci::CONTEXT).then_some(()));
    match live_fp(vm, ctx) {
        Some(fp) => match caller(vm, fp) {
            Some(c) => done(vm.context_for_frame(c)),
            None => Prim::Done(vm.nil()),
        },
        None => Prim::Done(vm.heap.slot(o, context::SENDER)),
    }
}

/// `pc`: relative to the code start (1-based positions are not used; 0 is the first byte).
fn context_pc(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    let o = prim_try!(ctx.as_oop());
    prim_try!((vm.heap.header(o).class_index() == ci::CONTEXT).then_some(()));
    match live_fp(vm, ctx) {
        Some(fp) => {
            let start = vm.methods.info(vm.frame_method_id(fp)).code_start;
            Prim::Done(Word::from_usize(frame_pc(vm, fp).saturating_sub(start)))
        }
        None => Prim::Done(vm.heap.slot(o, context::PC)),
    }
}

/// Slot `slot` of a context (its receiver, closure or code; compiled code cannot name them).
fn context_slot(vm: &Vm, n: usize, slot: usize) -> Prim {
    let o = prim_try!(vm.rcv(n).as_oop());
    prim_try!((vm.heap.header(o).class_index() == ci::CONTEXT).then_some(()));
    Prim::Done(vm.heap.slot(o, slot))
}

fn context_receiver(vm: &mut Vm, n: usize) -> Prim {
    context_slot(vm, n, context::RECEIVER)
}

fn context_closure(vm: &mut Vm, n: usize) -> Prim {
    context_slot(vm, n, context::CLOSURE)
}

fn context_method(vm: &mut Vm, n: usize) -> Prim {
    context_slot(vm, n, context::METHOD)
}

fn context_is_dead(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    Prim::Done(vm.boolean(live_fp(vm, ctx).is_none()))
}

/// The stack index of temp `i` (1-based: arguments first, then temporaries) of a live context.
fn temp_slot(vm: &Vm, n: usize) -> Option<usize> {
    let fp = live_fp(vm, vm.rcv(n))?;
    let i = vm.int_arg(n, 1)?;
    let info = vm.methods.info(vm.frame_method_id(fp));
    let (nargs, ntemps) = (info.num_args, info.num_temps);
    if i < 1 || i as usize > nargs + ntemps {
        return None;
    }
    let i = i as usize;
    Some(if i <= nargs {
        vm.frame_bp(fp) + i
    } else {
        fp + frame::TEMPS + (i - nargs - 1)
    })
}

fn context_temp_at(vm: &mut Vm, n: usize) -> Prim {
    let slot = prim_try!(temp_slot(vm, n));
    Prim::Done(vm.stack[slot])
}

/// Whether temp `i` (1-based, as for `tempAt:`) of the code running in the frame at `fp` is
/// one the compiler made for itself (`<vector>`, `<counter>`, …). The interpreter trusts
/// them (a temp vector is always an Array of the right size), so `tempAt:put:` may not store
/// into them.
fn is_hidden_temp(vm: &Vm, fp: usize, i: usize) -> bool {
    let m = vm.stack[fp + frame::METHOD];
    let name = vm
        .method_trailer(m, 0)
        .as_oop()
        .and_then(|d| vm.heap.slot(d, debug::TEMP_NAMES).as_oop())
        .and_then(|names| vm.heap.try_slot(names, i - 1))
        .and_then(|name| vm.string_value(name));
    // Without a name to go by, the slot is treated as hidden.
    name.is_none_or(|n| n.starts_with('<'))
}

fn context_temp_at_put(vm: &mut Vm, n: usize) -> Prim {
    let slot = prim_try!(temp_slot(vm, n));
    let fp = prim_try!(live_fp(vm, vm.rcv(n)));
    let i = prim_try!(vm.int_arg(n, 1));
    if is_hidden_temp(vm, fp, i as usize) {
        return Prim::Fail;
    }
    let v = vm.arg(n, 2);
    vm.stack[slot] = v;
    Prim::Done(v)
}

/// `numTemps`: the number of arguments and temporaries of a context.
fn context_num_temps(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    let o = prim_try!(ctx.as_oop());
    prim_try!((vm.heap.header(o).class_index() == ci::CONTEXT).then_some(()));
    let m = vm.heap.slot(o, context::METHOD);
    prim_try!(super::objects::is_method(vm, m).then_some(()));
    let info = vm.methods.info(vm.method_id(m));
    Prim::Done(Word::from_usize(info.num_args + info.num_temps))
}

/// Walks from the frame below `fp` (or from `fp` itself when `inclusive`) toward the base and
/// answers the first frame whose method has `flag`, stopping before `stop` (a frame fp).
///
/// Searches to the base (`stop` = None) use and fill [`MarkedFrames`]: an exception signalled
/// again and again from deep inside the handling of earlier ones (an Error whose
/// `defaultAction` signals another) would otherwise walk the whole stack each time, and reach
/// the stack limit in time quadratic in its depth.
fn find_marked(
    vm: &mut Vm,
    fp: usize,
    inclusive: bool,
    stop: Option<usize>,
    flag: u8,
) -> Option<usize> {
    let start = if inclusive { Some(fp) } else { caller(vm, fp) };
    if stop.is_some() {
        let mut f = start;
        while let Some(x) = f {
            if Some(x) == stop {
                return None;
            }
            if vm.frame_flags(x) & flag != 0 {
                return Some(x);
            }
            f = caller(vm, x);
        }
        return None;
    }
    let nil = vm.nil();
    let mut passed = Vec::new();
    let own = vm.stack[fp + frame::CONTEXT];
    if !inclusive && own != nil {
        if let Some(below) = vm.marked_frames.get(flag, fp, own) {
            return below;
        }
        passed.push(fp);
    }
    let mut f = start;
    let found = loop {
        let Some(x) = f else { break None };
        if vm.frame_flags(x) & flag != 0 {
            break Some(x);
        }
        let ctx = vm.stack[x + frame::CONTEXT];
        if ctx != nil {
            if let Some(below) = vm.marked_frames.get(flag, x, ctx) {
                break below;
            }
            passed.push(x);
        }
        f = caller(vm, x);
    };
    for x in passed {
        let ctx = vm.stack[x + frame::CONTEXT];
        vm.marked_frames.put(flag, x, ctx, found);
    }
    found
}

/// `findNextUnwindContextUpTo: aContext`: the first `ensure:`/`ifCurtailed:` activation below
/// the receiver (exclusive) and above aContext (exclusive; nil = the base), or nil.
fn context_find_next_unwind(vm: &mut Vm, n: usize) -> Prim {
    let fp = prim_try!(live_fp(vm, vm.rcv(n)));
    let stop_ctx = vm.arg(n, 1);
    let stop = if stop_ctx == vm.nil() {
        None
    } else {
        Some(prim_try!(live_fp(vm, stop_ctx)))
    };
    match find_marked(vm, fp, false, stop, FLAG_UNWIND) {
        Some(f) => done(vm.context_for_frame(f)),
        None => Prim::Done(vm.nil()),
    }
}

/// `findNextHandlerContext`: the first `on:do:` activation at or below the receiver's sender,
/// or nil.
fn context_find_next_handler(vm: &mut Vm, n: usize) -> Prim {
    let fp = prim_try!(live_fp(vm, vm.rcv(n)));
    match find_marked(vm, fp, false, None, FLAG_HANDLER) {
        Some(f) => done(vm.context_for_frame(f)),
        None => Prim::Done(vm.nil()),
    }
}

/// `primReturn: value`: cuts every frame above the receiver's (widowing their contexts, without
/// running unwind blocks: Context>>return: runs them first) and returns `value` from it.
fn context_prim_return(vm: &mut Vm, n: usize) -> Prim {
    let stub = vm.return_top_stub;
    cut_and_continue_at(vm, n, stub)
}

/// `primCutAndEvaluate: aBlock`: cuts every frame above the receiver's, then evaluates aBlock
/// as if the receiver's activation had sent it #value, and returns the block's value from the
/// receiver's activation. (The exception machinery's `retryUsing:` and `resignalAs:`.)
fn context_cut_and_evaluate(vm: &mut Vm, n: usize) -> Prim {
    let stub = vm.value_return_stub;
    cut_and_continue_at(vm, n, stub)
}

/// Cuts every frame above the receiver context's, pushes the argument on its operand stack and
/// continues it at `stub` (a `ReturnTop` or `Value ReturnTop` stub in the code arena).
fn cut_and_continue_at(vm: &mut Vm, n: usize, stub: usize) -> Prim {
    let fp = prim_try!(live_fp(vm, vm.rcv(n)));
    if !on_current_chain(vm, fp) {
        return Prim::Fail;
    }
    let v = vm.arg(n, 1);
    let mut r = vm.regs;
    // Pop this primitive's receiver and argument before cutting.
    r.sp -= n + 1;
    vm.cut_to(&mut r, fp);
    vm.stack[r.sp] = v;
    r.sp += 1;
    r.pc = stub;
    vm.regs = r;
    Prim::Switched
}

/// `restart`: cuts every frame above the receiver's and runs it again from its first
/// bytecode, with its temporaries reset.
fn context_restart(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    let fp = prim_try!(live_fp(vm, ctx));
    if !on_current_chain(vm, fp) {
        return Prim::Fail;
    }
    let mut r = vm.regs;
    r.sp -= n + 1;
    vm.cut_to(&mut r, fp);
    let mid = vm.frame_method_id(fp);
    let info = *vm.methods.info(mid);
    let nil = vm.nil();
    let t = fp + frame::TEMPS;
    let clo = vm.stack[fp + frame::CLOSURE];
    for i in 0..info.num_temps {
        vm.stack[t + i] = if i < info.num_copied && clo != nil {
            vm.heap
                .slot(clo.oop(), crate::objects::closure::FIRST_COPIED + i)
        } else {
            nil
        };
    }
    r.sp = t + info.num_temps;
    r.pc = info.code_start;
    vm.regs = r;
    // Restarting is a backward jump: it polls for interrupts as jumps do.
    if vm.attention_needed() {
        let mut r = vm.regs;
        if let Err(e) = vm.attend(&mut r) {
            return Prim::Error(e);
        }
        vm.regs = r;
    }
    Prim::Switched
}

/// Remembered searches for marked frames (see [`find_marked`]): for a live frame that has a
/// Context, the first frame below it whose method carries a flag.
///
/// An entry is valid while the frame still has the Context it was recorded with: then the frame
/// is the same activation, and the frames below a live frame never change. Objects move at
/// collections, so the cache is emptied at each one (a Context's address names it only
/// between two collections).
#[derive(Debug, Default)]
pub struct MarkedFrames {
    entries: std::collections::HashMap<(u8, usize), (Word, Option<usize>)>,
}

impl MarkedFrames {
    /// Most entries kept; beyond that the cache starts again.
    const MAX_ENTRIES: usize = 1 << 20;

    fn get(&self, flag: u8, fp: usize, ctx: Word) -> Option<Option<usize>> {
        match self.entries.get(&(flag, fp)) {
            Some(&(c, below)) if c == ctx => Some(below),
            _ => None,
        }
    }

    fn put(&mut self, flag: u8, fp: usize, ctx: Word, below: Option<usize>) {
        if self.entries.len() >= Self::MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert((flag, fp), (ctx, below));
    }

    /// Forgets everything (at each collection).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// One line of a stack trace for the frame at `fp` with pc `pc`:
/// `Receiver(Holder)>>selector (file:line)`, blocks as `[] in …`.
pub(crate) fn trace_line(vm: &Vm, method: Word, receiver: Word, pc: usize) -> String {
    let mid = vm.method_id(method);
    let info = vm.methods.info(mid);
    let home = vm.home_method(method);
    let holder = vm.method_holder(home);
    let holder_name = vm.class_name(holder);
    let rcv_class = vm.class_name(vm.class_of(receiver));
    // A clean block (one that uses neither self nor the method's variables) is made once,
    // with nil for its receiver: name its method's class alone, not `Nil(Holder)`.
    let clean_block = info.is_block() && receiver == vm.nil();
    let who = if rcv_class == holder_name || !vm.is_class(holder) || clean_block {
        holder_name
    } else {
        format!("{rcv_class}({holder_name})")
    };
    let selector = vm
        .string_value(vm.method_selector(home))
        .unwrap_or_else(|| "?".into());
    let block = if info.is_block() { "[] in " } else { "" };
    let rel = pc.saturating_sub(info.code_start);
    match source_position(vm, method, rel) {
        Some((file, line)) => format!("{block}{who}>>{selector} ({file}:{line})"),
        None => format!("{block}{who}>>{selector}"),
    }
}

/// The file and line of the instruction before relative pc `rel` (the send in progress).
pub(crate) fn source_position(vm: &Vm, method: Word, rel: usize) -> Option<(String, i64)> {
    let d = vm.method_trailer(method, 0).as_oop()?;
    let file = vm
        .string_value(vm.heap.slot(d, debug::FILE))
        .unwrap_or_else(|| "?".into());
    let lines = vm.heap.slot(d, debug::LINES).as_oop()?;
    let n = vm.heap.num_slots(lines) / 3;
    let target = rel.saturating_sub(1) as i64;
    let mut line = None;
    for i in 0..n {
        let pc = vm.heap.slot(lines, 3 * i).as_small_int()?;
        if pc > target {
            break;
        }
        line = vm.heap.slot(lines, 3 * i + 1).as_small_int();
    }
    if line.is_none() && n > 0 {
        line = vm.heap.slot(lines, 1).as_small_int();
    }
    Some((file, line?))
}

/// The stack trace from the current frame down, most recent call first (nothing when no
/// Smalltalk code is running).
pub(crate) fn stack_trace(vm: &Vm) -> Vec<String> {
    let mut lines = Vec::new();
    if vm.run_depth == 0 {
        return lines;
    }
    let mut fp = Some(vm.regs.fp);
    let mut pc = vm.regs.pc;
    while let Some(f) = fp {
        if f >= vm.stack.capacity() {
            break;
        }
        let m = vm.stack[f + frame::METHOD];
        let rcv = vm.stack[vm.frame_bp(f)];
        lines.push(trace_line(vm, m, rcv, pc));
        pc = vm.stack[f + frame::RETURN_PC].as_small_int().unwrap_or(0) as usize;
        fp = caller(vm, f);
        if lines.len() > 10_000 {
            lines.push("...".into());
            break;
        }
    }
    lines
}

/// Formats a trace for printing: most recent call last (as the command line shows it).
pub(crate) fn format_trace(lines: &[String]) -> String {
    const KEEP: usize = 40;
    let mut out = String::new();
    let shown: Vec<&String> = if lines.len() > 2 * KEEP {
        lines[..KEEP]
            .iter()
            .chain(lines[lines.len() - KEEP..].iter())
            .collect()
    } else {
        lines.iter().collect()
    };
    for (i, l) in shown.iter().rev().enumerate() {
        if lines.len() > 2 * KEEP && i == KEEP {
            out.push_str(&format!(
                "  ... {} more frames ...\n",
                lines.len() - 2 * KEEP
            ));
        }
        out.push_str("  ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `traceLine`: this context's line of a stack trace.
fn context_trace_line(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    let o = prim_try!(ctx.as_oop());
    prim_try!((vm.heap.header(o).class_index() == ci::CONTEXT).then_some(()));
    let m = vm.heap.slot(o, context::METHOD);
    let rcv = vm.heap.slot(o, context::RECEIVER);
    let pc = match live_fp(vm, ctx) {
        Some(fp) => frame_pc(vm, fp),
        None => {
            let rel = vm.heap.slot(o, context::PC).as_small_int().unwrap_or(0) as usize;
            vm.methods.info(vm.method_id(m)).code_start + rel
        }
    };
    let line = trace_line(vm, m, rcv, pc);
    done(vm.new_string(&line))
}

/// `Context>>stackTrace`: the trace from the receiver down as one String, most recent call
/// last.
fn context_stack_trace(vm: &mut Vm, n: usize) -> Prim {
    let ctx = vm.rcv(n);
    prim_try!(live_fp(vm, ctx));
    let all = stack_trace(vm);
    let skip = frames_above(vm, ctx);
    let text = format_trace(&all[skip.min(all.len())..]);
    done(vm.new_string(&text))
}

/// `system unhandledError: description context: aContext`: called by the exception machinery
/// when nothing handles an error. Records the error with the stack trace from aContext (where
/// the error was signalled) down, or from here without a live context, and answers the
/// receiver: `Exception>>defaultAction` then runs the unwind blocks of the run (as terminating
/// a process does) and sends `stopUnhandled`. The run stops with the error when its base frame
/// is left, even if an unwind block returned from a method below. A second unhandled error while
/// the unwind blocks run stops the run at once, with both reported.
fn unhandled_error(vm: &mut Vm, n: usize) -> Prim {
    let description = vm
        .string_value(vm.arg(n, 1))
        .unwrap_or_else(|| "an error occurred".into());
    let skip = if n >= 2 {
        frames_above(vm, vm.arg(n, 2))
    } else {
        0
    };
    let trace = trace_below(vm, skip);
    record_unhandled(vm, n, VmError::Unhandled { description, trace })
}

/// `system interruptedAt: aContext`: as `unhandledError:context:`, for a UserInterrupt that
/// nothing handled (`UserInterrupt>>defaultAction`): the run is to stop as interrupted, with
/// the stack trace from aContext, where the program was, down.
fn interrupted_at(vm: &mut Vm, n: usize) -> Prim {
    let skip = frames_above(vm, vm.arg(n, 1));
    let trace = trace_below(vm, skip);
    record_unhandled(vm, n, VmError::Interrupted { trace })
}

/// The stack trace from the current frame down, without its `skip` most recent frames.
fn trace_below(vm: &Vm, skip: usize) -> String {
    let all = stack_trace(vm);
    format_trace(&all[skip.min(all.len())..])
}

/// Records `error` as the run's unhandled error while its unwind blocks run, or stops at once
/// with both errors if one is already being recorded for this run.
fn record_unhandled(vm: &mut Vm, n: usize, error: VmError) -> Prim {
    match vm.pending_unhandled.take() {
        Some((depth, first)) if depth == vm.run_depth => Prim::Error(while_unwinding(first, error)),
        other => {
            vm.pending_unhandled = other;
            if vm.pending_unhandled.is_some() {
                // An unhandled error of an outer run is unwinding: this one stops its own run.
                return Prim::Error(error);
            }
            vm.pending_unhandled = Some((vm.run_depth, error));
            Prim::Done(vm.rcv(n))
        }
    }
}

/// The error that reports `second`, raised while the unwind blocks of `first` ran.
fn while_unwinding(first: VmError, second: VmError) -> VmError {
    let then = match &second {
        VmError::Unhandled { description, trace } => {
            format!("while its unwind blocks ran, another error: {description}\n{trace}")
        }
        VmError::Interrupted { trace } => {
            format!("while its unwind blocks ran, the program was interrupted:\n{trace}")
        }
        other => format!("while its unwind blocks ran: {other}\n"),
    };
    match first {
        VmError::Unhandled { description, trace } => match second {
            // Interrupted by the user: that is how the run ends (exit status 130).
            VmError::Interrupted { .. } => VmError::Interrupted {
                trace: format!("{description}\n{trace}{then}"),
            },
            _ => VmError::Unhandled {
                description,
                trace: format!("{trace}{then}"),
            },
        },
        VmError::Interrupted { trace } => VmError::Interrupted {
            trace: format!("{trace}{then}"),
        },
        other => other,
    }
}

/// `system stopSignalFromVM: anExceptionClass`: `Exception class>>signalFromVM` sends it when
/// the signal of an interrupt or out-of-memory error the VM delivered returns (they cannot be
/// resumed; the interrupted frame's operand stack holds what the VM pushed): the run stops.
fn stop_signal_from_vm(vm: &mut Vm, n: usize) -> Prim {
    let class = vm.arg(n, 1);
    let interrupt = vm.global("UserInterrupt");
    if interrupt.is_some_and(|i| vm.is_class(class) && vm.inherits_from(class, i)) {
        return Prim::Error(vm.interrupted_here());
    }
    Prim::Error(VmError::OutOfMemory)
}

/// `system stopUnhandled`: stops the run with the unhandled error recorded by
/// `unhandledError:context:` once its unwind blocks have run; fails without one.
fn stop_unhandled(vm: &mut Vm, _n: usize) -> Prim {
    match vm.pending_unhandled.take() {
        Some((depth, error)) if depth == vm.run_depth => Prim::Error(error),
        other => {
            vm.pending_unhandled = other;
            Prim::Fail
        }
    }
}

/// The number of frames above a live context's frame (0 if it is not live).
fn frames_above(vm: &Vm, ctx: Word) -> usize {
    let Some(fp) = live_fp(vm, ctx) else {
        return 0;
    };
    let mut skip = 0;
    let mut f = Some(vm.regs.fp);
    while let Some(x) = f {
        if x == fp {
            return skip;
        }
        skip += 1;
        f = caller(vm, x);
    }
    0
}

fn print_stack_trace(vm: &mut Vm, n: usize) -> Prim {
    let _ = n;
    let trace = format_trace(&stack_trace(vm));
    let _ = vm.out.flush();
    vm_try!(
        vm.err
            .write_all(trace.as_bytes())
            .map_err(|e| VmError::Load(e.to_string()))
    );
    let _ = vm.err.flush();
    Prim::Done(vm.rcv(n))
}

use std::io::Write;

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (&["Context>>sender", "contextSender"], context_sender),
    (&["Context>>pc", "contextPc"], context_pc),
    (&["Context>>isDead", "contextIsDead"], context_is_dead),
    (&["Context>>receiver", "contextReceiver"], context_receiver),
    (&["Context>>closure", "contextClosure"], context_closure),
    (&["Context>>compiledCode", "contextMethod"], context_method),
    (&["Context>>tempAt:", "contextTempAt"], context_temp_at),
    (
        &["Context>>tempAt:put:", "contextTempAtPut"],
        context_temp_at_put,
    ),
    (&["Context>>numTemps", "contextNumTemps"], context_num_temps),
    (
        &[
            "Context>>findNextUnwindContextUpTo:",
            "contextFindNextUnwind",
        ],
        context_find_next_unwind,
    ),
    (
        &["Context>>findNextHandlerContext", "contextFindNextHandler"],
        context_find_next_handler,
    ),
    (
        &["Context>>primReturn:", "contextPrimReturn"],
        context_prim_return,
    ),
    (&["Context>>restart", "contextRestart"], context_restart),
    (
        &["Context>>primCutAndEvaluate:", "contextCutAndEvaluate"],
        context_cut_and_evaluate,
    ),
    (
        &["Context>>traceLine", "contextTraceLine"],
        context_trace_line,
    ),
    (
        &["Context>>stackTrace", "contextStackTrace"],
        context_stack_trace,
    ),
    (
        &[
            "System>>unhandledError:",
            "System>>unhandledError:context:",
            "systemUnhandledError",
        ],
        unhandled_error,
    ),
    (
        &["System>>stopUnhandled", "systemStopUnhandled"],
        stop_unhandled,
    ),
    (
        &["System>>interruptedAt:", "systemInterruptedAt"],
        interrupted_at,
    ),
    (
        &["System>>stopSignalFromVM:", "systemStopSignalFromVM"],
        stop_signal_from_vm,
    ),
    (
        &["System>>printStackTrace", "systemPrintStackTrace"],
        print_stack_trace,
    ),
];
