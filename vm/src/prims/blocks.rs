//! Control primitives: evaluating blocks, `perform:` and friends, invoking methods. They switch
//! frames instead of answering a value.

use super::{Prim, PrimDef, prim_try, vm_try};
use crate::objects::{class_index as ci, closure};
use crate::vm::Vm;
use smalt_gc::Word;

/// `value`, `value:`, `value:with:`, …: activates the receiver closure with the arguments on
/// the stack.
fn block_value(vm: &mut Vm, n: usize) -> Prim {
    let mut r = vm.regs;
    match vm.activate_block(&mut r, n) {
        Ok(true) => {
            vm.regs = r;
            Prim::Switched
        }
        Ok(false) => Prim::Fail,
        Err(e) => Prim::Error(e),
    }
}

/// Replaces the Array on top of the stack by its elements; answers their number.
fn spread_array(vm: &mut Vm) -> Option<usize> {
    let top = vm.regs.sp - 1;
    let arr = vm.stack[top].as_oop()?;
    if vm.heap.header(arr).class_index() != ci::ARRAY {
        return None;
    }
    let count = vm.heap.num_slots(arr);
    if vm.ensure_stack(vm.regs.sp + count + 64).is_err() {
        return None;
    }
    let arr = vm.stack[top].oop();
    for i in 0..count {
        vm.stack[top + i] = vm.heap.slot(arr, i);
    }
    vm.regs.sp = top + count;
    Some(count)
}

/// `valueWithArguments: anArray`.
fn block_value_with_arguments(vm: &mut Vm, n: usize) -> Prim {
    if n != 1 {
        return Prim::Fail;
    }
    let blk = vm.rcv(1);
    let arr = prim_try!(vm.arg(1, 1).as_oop());
    if vm.heap.header(arr).class_index() != ci::ARRAY
        || block_num_args(vm, blk) != Some(vm.heap.num_slots(arr))
    {
        return Prim::Fail;
    }
    let count = prim_try!(spread_array(vm));
    block_value(vm, count)
}

fn block_num_args(vm: &Vm, blk: Word) -> Option<usize> {
    let o = blk.as_oop()?;
    if !matches!(
        vm.heap.header(o).class_index(),
        ci::BLOCK | ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3
    ) {
        return None;
    }
    let code = vm.heap.slot(o, closure::CODE);
    Some(vm.methods.info(vm.method_id(code)).num_args)
}

/// `Block>>outerContext`: the home method's context (blocks with `^`), or nil.
fn block_outer_context(vm: &mut Vm, n: usize) -> Prim {
    let o = prim_try!(vm.rcv(n).as_oop());
    prim_try!(
        matches!(
            vm.heap.header(o).class_index(),
            ci::BLOCK | ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3
        )
        .then_some(())
    );
    Prim::Done(vm.heap.slot(o, closure::OUTER_CONTEXT))
}

fn block_num_args_prim(vm: &mut Vm, n: usize) -> Prim {
    let k = prim_try!(block_num_args(vm, vm.rcv(n)));
    Prim::Done(Word::from_usize(k))
}

/// `perform: aSymbol` / `perform:with:…`: drops the selector from the stack and sends it.
fn perform(vm: &mut Vm, n: usize) -> Prim {
    if n == 0 {
        return Prim::Fail;
    }
    let sel = vm.arg(n, 1);
    if !vm.is_symbol(sel) || selector_arity(vm, sel) != Some(n - 1) {
        return Prim::Fail;
    }
    let base = vm.regs.sp - n; // the selector's slot
    for i in base..vm.regs.sp - 1 {
        vm.stack[i] = vm.stack[i + 1];
    }
    vm.regs.sp -= 1;
    send(vm, sel, n - 1)
}

/// `perform: aSymbol withArguments: anArray`.
fn perform_with_arguments(vm: &mut Vm, n: usize) -> Prim {
    if n != 2 {
        return Prim::Fail;
    }
    let sel = vm.arg(2, 1);
    let arr = prim_try!(vm.arg(2, 2).as_oop());
    if !vm.is_symbol(sel)
        || vm.heap.header(arr).class_index() != ci::ARRAY
        || selector_arity(vm, sel) != Some(vm.heap.num_slots(arr))
    {
        return Prim::Fail;
    }
    // [rcv sel array] -> [rcv array] -> [rcv a1 .. ak]
    let sp = vm.regs.sp;
    vm.stack[sp - 2] = vm.stack[sp - 1];
    vm.regs.sp -= 1;
    let count = prim_try!(spread_array(vm));
    send(vm, sel, count)
}

/// `perform: aSymbol inSuperclass: aClass` and `perform:withArguments:inSuperclass:`.
fn perform_in_superclass(vm: &mut Vm, n: usize) -> Prim {
    if n != 2 && n != 3 {
        return Prim::Fail;
    }
    let rcv = vm.rcv(n);
    let sel = vm.arg(n, 1);
    let cls = vm.arg(n, n);
    if !vm.is_symbol(sel) || !vm.is_class(cls) || !vm.inherits_from(vm.class_of(rcv), cls) {
        return Prim::Fail;
    }
    let method = prim_try!(vm.lookup_in(cls, sel));
    let mid = vm.method_id(method);
    let count = if n == 3 {
        let arr = prim_try!(vm.arg(3, 2).as_oop());
        if vm.heap.header(arr).class_index() != ci::ARRAY {
            return Prim::Fail;
        }
        vm.heap.num_slots(arr)
    } else {
        0
    };
    if vm.methods.info(mid).num_args != count {
        return Prim::Fail;
    }
    // Leave [rcv args…] on the stack.
    let base = vm.regs.sp - n;
    if n == 3 {
        vm.stack[base] = vm.stack[base + 1];
        vm.regs.sp = base + 1;
        prim_try!(spread_array(vm));
    } else {
        vm.regs.sp = base;
    }
    invoke(vm, mid.0, count)
}

/// `Method>>invokeOn: receiver with: arguments` (SOM).
fn method_invoke_on(vm: &mut Vm, n: usize) -> Prim {
    if n != 2 {
        return Prim::Fail;
    }
    let m = vm.rcv(2);
    prim_try!(super::objects::is_method(vm, m).then_some(()));
    let rcv = vm.arg(2, 1);
    let holder = vm.method_holder(m);
    if !vm.is_class(holder) || !vm.inherits_from(vm.class_of(rcv), holder) {
        return Prim::Fail;
    }
    let arr = prim_try!(vm.arg(2, 2).as_oop());
    let mid = vm.method_id(m);
    if vm.heap.header(arr).class_index() != ci::ARRAY
        || vm.methods.info(mid).num_args != vm.heap.num_slots(arr)
    {
        return Prim::Fail;
    }
    // [method rcv array] -> [rcv array] -> [rcv a1 .. ak]
    let sp = vm.regs.sp;
    vm.stack[sp - 3] = vm.stack[sp - 2];
    vm.stack[sp - 2] = vm.stack[sp - 1];
    vm.regs.sp -= 1;
    let count = prim_try!(spread_array(vm));
    invoke(vm, mid.0, count)
}

fn selector_arity(vm: &Vm, sel: Word) -> Option<usize> {
    Some(crate::compiler::selector_arity(&vm.string_value(sel)?))
}

fn send(vm: &mut Vm, sel: Word, nargs: usize) -> Prim {
    let mut r = vm.regs;
    vm_try!(vm.send_selector(&mut r, sel, nargs));
    vm.regs = r;
    Prim::Switched
}

fn invoke(vm: &mut Vm, mid: u32, nargs: usize) -> Prim {
    let mut r = vm.regs;
    vm_try!(vm.invoke(&mut r, mid, nargs));
    vm.regs = r;
    Prim::Switched
}

/// `Block>>restart` (SOM): starts the activation that sent it over from its first bytecode,
/// with an empty operand stack; its arguments and temporaries keep their values. SOM's
/// `Block>>whileTrue:` loops this way (`self value ifFalse: [ ^nil ]. block value. self
/// restart`) in constant stack space.
fn block_restart(vm: &mut Vm, n: usize) -> Prim {
    if n != 0 {
        return Prim::Fail;
    }
    let fi = vm.stack[vm.regs.fp + crate::frame::FRAME_INFO];
    let info = vm.methods.info(crate::layout::frame_info_method(fi));
    let (code_start, temps) = (info.code_start, info.num_temps);
    vm.regs.pc = code_start;
    vm.regs.sp = vm.regs.fp + crate::frame::TEMPS + temps;
    // A loop through `restart` alone (SOM's whileTrue:) polls as back jumps do.
    if vm.attention_needed() {
        let mut r = vm.regs;
        if let Err(e) = vm.attend(&mut r) {
            return Prim::Error(e);
        }
        vm.regs = r;
    }
    Prim::Switched
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (&["Block>>restart", "blockRestart"], block_restart),
    (
        &[
            "Block1>>value",
            "Block2>>value:",
            "Block3>>value:with:",
            "Block>>value",
            "Block>>value:",
            "Block>>value:with:",
            "Block>>value:with:with:",
            "Block>>value:with:with:with:",
            "blockValue",
        ],
        block_value,
    ),
    (
        &["Block>>valueWithArguments:", "blockValueWithArguments"],
        block_value_with_arguments,
    ),
    (&["Block>>numArgs", "blockNumArgs"], block_num_args_prim),
    (
        &["Block>>outerContext", "blockOuterContext"],
        block_outer_context,
    ),
    (
        &[
            "Object>>perform:",
            "Object>>perform:with:",
            "Object>>perform:with:with:",
            "Object>>perform:with:with:with:",
            "Object>>perform:with:with:with:with:",
            "objectPerform",
        ],
        perform,
    ),
    (
        &[
            "Object>>perform:withArguments:",
            "objectPerformWithArguments",
        ],
        perform_with_arguments,
    ),
    (
        &[
            "Object>>perform:inSuperclass:",
            "Object>>perform:withArguments:inSuperclass:",
            "objectPerformInSuperclass",
        ],
        perform_in_superclass,
    ),
    (
        &[
            "Method>>invokeOn:with:",
            "Primitive>>invokeOn:with:",
            "methodInvokeOn",
        ],
        method_invoke_on,
    ),
];
