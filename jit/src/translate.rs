//! The translator: the bytecodes of one method or block to one Cranelift function.
//!
//! The function has the signature every native entry shares (see `smalt_vm::tier`):
//! `(vm, fp, mid, resume) -> status`, SystemV. It runs the activation whose frame header is
//! at VM-stack index `fp`, on the same frame as the interpreter would use.
//!
//! # How values are kept
//!
//! * Receiver, arguments and temporaries always live in their frame slots: every read is a
//!   load, every write a store.
//! * The operand stack is a *virtual stack* at translation time: an entry is either in its
//!   frame slot (`Mem`), an SSA value, a constant, or a condition. Entries become `Mem` before
//!   every call out (`flush`), so a collection finds every reference on the VM stack and no
//!   object reference is kept in a register across a call, and at every block boundary (jump
//!   targets), so that all paths into a block agree.
//! * The frame address (`stack_base + 8 fp`) and the heap base are Cranelift variables that are
//!   reloaded from `vm.rt` after every call out: a collection moves the heap, and a process
//!   switch (later) may move the stack.
//!
//! # Sends
//!
//! A send site tests the receiver's class index against entry 0 of its cell and calls the
//! entry's native code; otherwise `rt_send_miss` looks up, relinks the cell and answers what to
//! call (native code, the bridge into the interpreter, or doesNotUnderstand:). The callee gets
//! the new frame's index; its result comes back in the receiver's slot. Special selectors
//! (`+`, `<`, `at:` …) run their SmallInteger, float and Array fast paths inline and fall back
//! to a send through a cell of their own. After every call the status is tested: UNWOUND is
//! taken as a normal return only if `vm.regs` is exactly this call's continuation.
//!
//! Every opcode of `smalt_vm::bytecode` is handled in [`Translator::instruction`], a `match`
//! without a wildcard arm: a new opcode does not compile until the translator knows it.

use crate::runtime::Helpers;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, I64};
use cranelift_codegen::ir::{
    AbiParam, AliasRegionData, Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData,
    Signature, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, Variable};
use smalt_gc::layout as gcl;
use smalt_vm::bytecode::{Effect, Instr, Op, decode, special_selector};
use smalt_vm::layout::{self as vml, Activation, FALSE, NIL, TRUE};
use smalt_vm::objects::{class_index as ci, closure, method as mslots};
use smalt_vm::tier::{RESUME_BASE, status};
use std::collections::BTreeMap;

/// Everything the translator needs to know about the code it compiles (read from the VM
/// beforehand: the translator itself never touches the VM).
#[derive(Clone, Debug)]
pub struct MethodDesc {
    /// The method id.
    pub mid: u32,
    /// `Class>>selector` (for messages and IR listings).
    pub name: String,
    /// The bytecodes.
    pub code: Vec<u8>,
    /// Offset of the first bytecode in the code arena (absolute pcs are `code_start + pc`).
    pub code_start: usize,
    /// Arguments.
    pub num_args: usize,
    /// Temporaries (blocks: copied values included).
    pub num_temps: usize,
    /// Copied values (blocks).
    pub num_copied: usize,
    /// Words an activation may use above its arguments.
    pub frame_words: usize,
    /// Whether this is a block's code.
    pub is_block: bool,
    /// Whether the method has a primitive (run first on a fresh activation).
    pub has_primitive: bool,
    /// The FRAME_INFO word of its frames.
    pub frame_info: u64,
    /// Index of send site 0's cell (`Send s` and `SuperSend s` use cell `cell_base + s`).
    pub cell_base: usize,
    /// Argument count of each send site.
    pub cell_nargs: Vec<u8>,
    /// The value of each literal that is an immediate (embedded as a constant).
    pub literal_immediates: Vec<Option<u64>>,
    /// For each literal that is a block whose closures need no outer context: the class
    /// index of those closures (`PushClosure` of it allocates inline); 0 for the others.
    pub closure_classes: Vec<u32>,
    /// Index of the first of the cells for this code's special-selector send sites.
    pub special_cells: usize,
    /// Address of cell 0.
    pub cells_base: usize,
    /// Address of this method's info.
    pub info_addr: usize,
    /// Address of info 0.
    pub infos_base: usize,
    /// Count cell hits (`--jit-stats`) at this address + 8 × cell index.
    pub hit_counters: Option<usize>,
    /// For each send site, the kind of quick method (`Activation` as u8) its cell's first
    /// entry held when the method was compiled (0: none): such a site tests for that quick
    /// method's stub and answers inline instead of calling it.
    pub site_quick: Vec<u8>,
    /// For each send site, the primitive its cell's first entry ran when the method was
    /// compiled, if the site can run it inline: (primitive index, one of the `PRIM_*` kinds),
    /// or (0, 0). Such a site tests the primitive of the method found and runs its common
    /// case inline; anything else calls the method.
    pub site_prim: Vec<(u16, u8)>,
    /// The index of String's `=` primitive (0: none), tried inline by `=` sites.
    pub string_eq_prim: u16,
    /// The quick-method stubs, by `Activation` kind (0 where there is none).
    pub quick_entries: [u64; smalt_vm::layout::ACTIVATION_KINDS],
}

/// A primitive with a native fast path at send sites: Double `/` and `//` (an immediate float
/// divided by an immediate float or a SmallInteger, with an immediate result).
pub const PRIM_FLOAT_DIV: u8 = 1;
/// SmallInteger `\\` and `%` (floored modulo) of two SmallIntegers, the divisor not zero.
pub const PRIM_INT_MOD: u8 = 2;

/// String `=` of two Strings or Symbols of up to eight bytes (longer ones call).
pub const PRIM_STRING_EQ: u8 = 3;
/// `new` / `basicNew` (no argument): the site calls the VM's allocation entry directly
/// (`rt_instantiate`, which never collects), without the activation and the generic
/// primitive call.
pub const PRIM_NEW: u8 = 4;
/// `new:` / `basicNew:`, as [`PRIM_NEW`].
pub const PRIM_NEW_SIZE: u8 = 5;

/// The number of arguments of the sends a `PRIM_*` kind serves.
fn prim_nargs(kind: u8) -> usize {
    if kind == PRIM_NEW { 0 } else { 1 }
}

/// The special-selector opcodes whose slow path is a send through a cell of the native code
/// (all of them: `value`/`value:` to something that is not a closure is a send too).
pub fn has_special_cell(op: Op) -> bool {
    special_selector(op).is_some()
}

/// The special-send sites of `code`, in order: (pc, opcode).
pub fn special_sites(code: &[u8]) -> Vec<(usize, Op)> {
    smalt_vm::bytecode::instructions(code)
        .map_while(Result::ok)
        .map(|i| (i.pc, i.op.base()))
        .filter(|&(_, op)| has_special_cell(op))
        .collect()
}

/// What translation found out besides the IR.
#[derive(Clone, Debug, Default)]
pub struct Translated {
    /// Resume points: (method-relative pc, operand-stack depth), by index.
    pub resume_points: Vec<(usize, usize)>,
    /// Bytecodes translated.
    pub bytecodes: usize,
}

/// Why code cannot be translated.
#[derive(Debug)]
pub struct TranslateError(pub String);

/// The signature of every native entry: `(vm, fp, mid, resume) -> status`.
pub fn entry_signature() -> Signature {
    let mut s = Signature::new(CallConv::SystemV);
    for _ in 0..4 {
        s.params.push(AbiParam::new(I64));
    }
    s.returns.push(AbiParam::new(I64));
    s
}

fn helper_signature(params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(CallConv::SystemV);
    for _ in 0..params {
        s.params.push(AbiParam::new(I64));
    }
    for _ in 0..returns {
        s.returns.push(AbiParam::new(I64));
    }
    s
}

/// Static facts about the bytecodes: stack depth before each instruction (None: unreachable),
/// block leaders, loop heads.
struct Analysis {
    instrs: Vec<Instr>,
    depth: BTreeMap<usize, usize>,
    leaders: BTreeMap<usize, usize>,
    loop_heads: Vec<usize>,
}

fn analyse(d: &MethodDesc) -> Result<Analysis, TranslateError> {
    let mut instrs = Vec::new();
    let mut pc = 0;
    while pc < d.code.len() {
        let mut i = decode(&d.code, pc).map_err(|e| TranslateError(e.to_string()))?;
        pc = i.next;
        // A superinstruction has its base's operands and effect and is followed by the rest of
        // its sequence: native code translates the plain instructions.
        i.op = i.op.base();
        instrs.push(i);
    }
    let index: BTreeMap<usize, usize> = instrs.iter().enumerate().map(|(k, i)| (i.pc, k)).collect();
    let mut depth: BTreeMap<usize, usize> = BTreeMap::new();
    let mut leaders: BTreeMap<usize, usize> = BTreeMap::new();
    let mut loop_heads = Vec::new();
    let mut work = vec![(0usize, 0usize)];
    leaders.insert(0, 0);
    while let Some((pc, dep)) = work.pop() {
        if let Some(&known) = depth.get(&pc) {
            if known != dep {
                return Err(TranslateError(format!(
                    "stack depths {known} and {dep} meet at pc {pc}"
                )));
            }
            continue;
        }
        let Some(&k) = index.get(&pc) else {
            return Err(TranslateError(format!("no instruction at pc {pc}")));
        };
        depth.insert(pc, dep);
        let i = instrs[k];
        let (pop, push) = effect(d, &i);
        if dep < pop {
            return Err(TranslateError(format!("stack underflow at pc {pc}")));
        }
        let after = dep - pop + push;
        if let Some(t) = i.jump_target() {
            if t <= i.pc {
                loop_heads.push(t);
            }
            leaders.insert(t, after);
            work.push((t, after));
            if i.op != Op::Jump {
                // The fall-through of a conditional jump starts a block too.
                leaders.insert(i.next, after);
            }
        }
        if i.op.info().falls_through && i.next < d.code.len() {
            work.push((i.next, after));
        }
    }
    loop_heads.sort_unstable();
    loop_heads.dedup();
    Ok(Analysis {
        instrs,
        depth,
        leaders,
        loop_heads,
    })
}

/// (pops, pushes) of an instruction.
fn effect(d: &MethodDesc, i: &Instr) -> (usize, usize) {
    match i.op.info().effect {
        Effect::Fixed { pop, push } => (pop as usize, push as usize),
        Effect::Send => {
            let nargs = match i.op {
                Op::Send | Op::SuperSend => d
                    .cell_nargs
                    .get(i.operands[0] as usize)
                    .copied()
                    .unwrap_or(0) as usize,
                op => special_selector(op).map_or(0, |(_, n)| n),
            };
            (nargs + 1, 1)
        }
        Effect::PopOperand { operand } => (i.operands[operand as usize] as usize, 1),
        Effect::Return => (
            match i.op {
                Op::ReturnSelf => 0,
                _ => 1,
            },
            0,
        ),
    }
}

/// An operand-stack entry during translation.
#[derive(Clone, Copy, Debug)]
enum V {
    /// In its frame slot.
    Mem,
    /// An SSA value (a tagged word).
    Val(Value),
    /// A constant word.
    Const(i64),
    /// A Boolean as an `i8` condition (not yet a word).
    Cond(Value),
}

struct Sigs {
    entry: cranelift_codegen::ir::SigRef,
    h3: cranelift_codegen::ir::SigRef,
    h3_void: cranelift_codegen::ir::SigRef,
    h4: cranelift_codegen::ir::SigRef,
    h5: cranelift_codegen::ir::SigRef,
    h6: cranelift_codegen::ir::SigRef,
    miss: cranelift_codegen::ir::SigRef,
}

/// Memory flags with an alias region each, so that stores to the heap do not make Cranelift
/// reload values from the VM stack or the VM structure, and the other way round.
struct Flags {
    stack: MemFlagsData,
    heap: MemFlagsData,
    vm: MemFlagsData,
    cell: MemFlagsData,
}

/// Translates one method or block.
pub struct Translator<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    d: &'a MethodDesc,
    h: &'a Helpers,
    a: Analysis,
    vm: Value,
    fp: Value,
    var_fa: Variable,
    var_hb: Variable,
    stack: Vec<V>,
    blocks: BTreeMap<usize, Block>,
    ret: Block,
    sigs: Sigs,
    fl: Flags,
    terminated: bool,
    /// The cell of each special-send site, by pc (see [`special_sites`]).
    special_index: BTreeMap<usize, usize>,
    out: Translated,
}

const TEMPS: i64 = vml::TEMPS as i64;

impl<'a, 'b> Translator<'a, 'b> {
    /// Builds the whole function into `b` (its signature already set).
    pub fn translate(
        b: &'a mut FunctionBuilder<'b>,
        d: &'a MethodDesc,
        h: &'a Helpers,
    ) -> Result<Translated, TranslateError> {
        let a = analyse(d)?;
        let mut region = |id: u32, name: &'static str| {
            b.func.dfg.alias_regions.insert(AliasRegionData {
                user_id: id,
                description: name.into(),
            })
        };
        let fl = Flags {
            stack: MemFlagsData::trusted().with_alias_region(Some(region(1, "vm stack"))),
            heap: MemFlagsData::trusted().with_alias_region(Some(region(2, "heap"))),
            vm: MemFlagsData::trusted().with_alias_region(Some(region(3, "vm"))),
            cell: MemFlagsData::trusted().with_alias_region(Some(region(4, "cells and infos"))),
        };
        let sigs = Sigs {
            entry: b.import_signature(entry_signature()),
            h3: b.import_signature(helper_signature(3, 1)),
            h3_void: b.import_signature(helper_signature(3, 0)),
            h4: b.import_signature(helper_signature(4, 1)),
            h5: b.import_signature(helper_signature(5, 1)),
            h6: b.import_signature(helper_signature(6, 1)),
            miss: b.import_signature(helper_signature(3, 2)),
        };
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        let ret = b.create_block();
        b.append_block_param(ret, I64);
        let var_fa = b.declare_var(I64);
        let var_hb = b.declare_var(I64);
        let mut blocks = BTreeMap::new();
        for &pc in a.leaders.keys() {
            blocks.insert(pc, b.create_block());
        }
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let mut t = Translator {
            b,
            d,
            h,
            a,
            vm: params[0],
            fp: params[1],
            var_fa,
            var_hb,
            stack: Vec::new(),
            blocks,
            ret,
            sigs,
            fl,
            terminated: false,
            special_index: special_sites(&d.code)
                .into_iter()
                .enumerate()
                .map(|(n, (pc, _))| (pc, d.special_cells + n))
                .collect(),
            out: Translated::default(),
        };
        t.prologue(params[2], params[3]);
        t.body()?;
        t.b.switch_to_block(t.ret);
        let st = t.b.block_params(t.ret)[0];
        t.b.ins().return_(&[st]);
        t.b.seal_all_blocks();
        Ok(t.out)
    }

    // ---- small helpers ---------------------------------------------------------------------

    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(I64, v)
    }

    fn fa(&mut self) -> Value {
        self.b.use_var(self.var_fa)
    }

    fn hb(&mut self) -> Value {
        self.b.use_var(self.var_hb)
    }

    /// Reloads the frame address and the heap base (after every call out).
    fn reload(&mut self) {
        let sb = self.b.ins().load(
            I64,
            self.fl.vm,
            self.vm,
            (vml::VM_RUNTIME + vml::runtime::STACK_BASE) as i32,
        );
        let off = self.b.ins().ishl_imm_s(self.fp, 3);
        let fa = self.b.ins().iadd(sb, off);
        self.b.def_var(self.var_fa, fa);
        let hb = self.b.ins().load(
            I64,
            self.fl.vm,
            self.vm,
            (vml::VM_RUNTIME + vml::runtime::HEAP_BASE) as i32,
        );
        self.b.def_var(self.var_hb, hb);
    }

    /// Byte offset from the frame address of operand-stack slot `d`.
    fn slot_off(&self, d: usize) -> i32 {
        ((TEMPS + self.d.num_temps as i64 + d as i64) * 8) as i32
    }

    /// Byte offset from the frame address of local `k` (`bp + k`).
    fn local_off(&self, k: usize) -> i32 {
        ((k as i64 - self.d.num_args as i64 - 1) * 8) as i32
    }

    /// Byte offset of header word `w`.
    fn header_off(w: usize) -> i32 {
        (w * 8) as i32
    }

    /// The VM-stack index of operand slot `d` (an `sp` for the runtime).
    fn sp_index(&mut self, d: usize) -> Value {
        let off = TEMPS + self.d.num_temps as i64 + d as i64;
        self.b.ins().iadd_imm_s(self.fp, off)
    }

    fn abs_pc(&self, rel: usize) -> i64 {
        (self.d.code_start + rel) as i64
    }

    fn load_frame(&mut self, off: i32) -> Value {
        let fa = self.fa();
        self.b.ins().load(I64, self.fl.stack, fa, off)
    }

    fn store_frame(&mut self, v: Value, off: i32) {
        let fa = self.fa();
        self.b.ins().store(self.fl.stack, v, fa, off);
    }

    /// Slot `i` of the object `o`.
    fn load_slot(&mut self, o: Value, i: usize) -> Value {
        let hb = self.hb();
        let addr = self.b.ins().iadd(hb, o);
        self.b
            .ins()
            .load(I64, self.fl.heap, addr, gcl::SLOT_0 + (i as i32) * 8)
    }

    fn store_slot(&mut self, o: Value, i: usize, v: Value) {
        let hb = self.hb();
        let addr = self.b.ins().iadd(hb, o);
        self.b
            .ins()
            .store(self.fl.heap, v, addr, gcl::SLOT_0 + (i as i32) * 8);
    }

    fn header(&mut self, o: Value) -> Value {
        let hb = self.hb();
        let addr = self.b.ins().iadd(hb, o);
        self.b.ins().load(I64, self.fl.heap, addr, 0)
    }

    fn call_helper(&mut self, sig: cranelift_codegen::ir::SigRef, f: u64, args: &[Value]) -> Value {
        let callee = self.iconst(f as i64);
        let call = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(call).first().copied().unwrap_or(callee)
    }

    fn new_block(&mut self) -> Block {
        self.b.create_block()
    }

    fn cold_block(&mut self) -> Block {
        let blk = self.b.create_block();
        self.b.set_cold_block(blk);
        blk
    }

    fn jump(&mut self, to: Block, args: &[Value]) {
        let args: Vec<BlockArg> = args.iter().map(|v| BlockArg::Value(*v)).collect();
        self.b.ins().jump(to, &args);
    }

    /// Returns `st` from the function.
    fn exit_with(&mut self, st: Value) {
        let ret = self.ret;
        self.jump(ret, &[st]);
    }

    // ---- the virtual operand stack ---------------------------------------------------------

    fn push(&mut self, v: V) {
        self.stack.push(v);
    }

    /// The word of entry `d` (loading it if it is in memory; it stays where it is).
    fn value_at(&mut self, d: usize) -> Value {
        match self.stack[d] {
            V::Mem => {
                let off = self.slot_off(d);
                let v = self.load_frame(off);
                self.stack[d] = V::Val(v);
                v
            }
            V::Val(v) => v,
            V::Const(c) => self.iconst(c),
            V::Cond(c) => {
                let v = self.bool_word(c);
                self.stack[d] = V::Val(v);
                v
            }
        }
    }

    fn top(&mut self) -> Value {
        let d = self.stack.len() - 1;
        self.value_at(d)
    }

    fn pop_value(&mut self) -> Value {
        let v = self.top();
        self.stack.pop();
        v
    }

    fn bool_word(&mut self, c: Value) -> Value {
        let t = self.iconst(TRUE as i64);
        let f = self.iconst(FALSE as i64);
        self.b.ins().select(c, t, f)
    }

    /// Stores every entry below `keep` entries from the top into its slot.
    fn flush_below(&mut self, keep: usize) {
        let n = self.stack.len().saturating_sub(keep);
        for d in 0..n {
            let v = match self.stack[d] {
                V::Mem => continue,
                V::Val(v) => v,
                V::Const(c) => self.iconst(c),
                V::Cond(c) => self.bool_word(c),
            };
            let off = self.slot_off(d);
            self.store_frame(v, off);
            self.stack[d] = V::Mem;
        }
    }

    fn flush(&mut self) {
        self.flush_below(0);
    }

    fn all_mem(&mut self, depth: usize) {
        self.stack.clear();
        self.stack.resize(depth, V::Mem);
    }

    // ---- structure -------------------------------------------------------------------------

    fn prologue(&mut self, mid: Value, resume: Value) {
        let d = self.d;
        self.reload();
        let fresh = self.new_block();
        let dispatch = self.new_block();
        let is_resume = self.b.ins().icmp_imm_u(
            IntCC::UnsignedGreaterThanOrEqual,
            resume,
            i64::from(RESUME_BASE),
        );
        self.b.ins().brif(is_resume, dispatch, &[], fresh, &[]);

        // Resume points: the first bytecode, then the loop heads.
        self.b.switch_to_block(dispatch);
        let mut points = vec![0usize];
        points.extend(self.a.loop_heads.iter().copied().filter(|&p| p != 0));
        let mut table = Vec::new();
        for &pc in &points {
            let depth = self.a.depth[&pc];
            self.out.resume_points.push((pc, depth));
            let blk = self.blocks[&pc];
            table.push(self.b.func.dfg.block_call(blk, &[]));
        }
        let bad = self.cold_block();
        let default = self.b.func.dfg.block_call(bad, &[]);
        let jt = self
            .b
            .create_jump_table(JumpTableData::new(default, &table));
        let index = self.b.ins().iadd_imm_s(resume, -i64::from(RESUME_BASE));
        let index = self
            .b
            .ins()
            .ireduce(cranelift_codegen::ir::types::I32, index);
        self.b.ins().br_table(index, jt);
        self.b.switch_to_block(bad);
        let st = self.iconst(status::ERROR as i64);
        self.exit_with(st);

        // A fresh activation: primitive, checks, frame.
        self.b.switch_to_block(fresh);
        if d.has_primitive {
            let prim = self.new_block();
            let setup = self.new_block();
            self.b.ins().brif(resume, setup, &[], prim, &[]);
            self.b.switch_to_block(prim);
            let st = self.call_helper(self.sigs.h3, self.h.primitive, &[self.vm, self.fp, mid]);
            let failed = self
                .b
                .ins()
                .icmp_imm_u(IntCC::Equal, st, status::FAIL as i64);
            let done = self.new_block();
            self.b.ins().brif(failed, setup, &[], done, &[]);
            self.b.switch_to_block(done);
            self.exit_with(st);
            self.b.switch_to_block(setup);
            self.reload();
        }
        // The VM stack limit.
        let limit = self.b.ins().load(
            I64,
            self.fl.vm,
            self.vm,
            (vml::VM_RUNTIME + vml::runtime::STACK_LIMIT) as i32,
        );
        let need = self.b.ins().iadd_imm_s(self.fp, d.frame_words as i64);
        let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, need, limit);
        let overflow = self.cold_block();
        let stack_ok = self.new_block();
        self.b.ins().brif(over, overflow, &[], stack_ok, &[]);
        self.b.switch_to_block(overflow);
        let one = self.iconst(1);
        let st = self.call_helper(
            self.sigs.h4,
            self.h.entry_slow,
            &[self.vm, self.fp, mid, one],
        );
        self.exit_with(st);
        // The machine stack: deep recursions continue in the interpreter.
        self.b.switch_to_block(stack_ok);
        let msp = self.b.ins().get_stack_pointer(I64);
        let nlimit = self.b.ins().load(
            I64,
            self.fl.vm,
            self.vm,
            (vml::VM_NATIVE + vml::native::STACK_LIMIT) as i32,
        );
        let deep = self.b.ins().icmp(IntCC::UnsignedLessThan, msp, nlimit);
        let deep_blk = self.cold_block();
        let frame = self.new_block();
        self.b.ins().brif(deep, deep_blk, &[], frame, &[]);
        self.b.switch_to_block(deep_blk);
        let zero = self.iconst(0);
        let st = self.call_helper(
            self.sigs.h4,
            self.h.entry_slow,
            &[self.vm, self.fp, mid, zero],
        );
        self.exit_with(st);

        // The frame header and temporaries.
        self.b.switch_to_block(frame);
        let nil = self.iconst(NIL as i64);
        let fi = self.iconst(d.frame_info as i64);
        self.store_frame(fi, Self::header_off(vml::FRAME_INFO));
        self.store_frame(nil, Self::header_off(vml::CONTEXT));
        let mut first_nil = 0;
        if d.is_block {
            let clo = self.load_frame(self.local_off(0));
            let code = self.load_slot(clo, closure::CODE);
            self.store_frame(code, Self::header_off(vml::METHOD));
            self.store_frame(clo, Self::header_off(vml::CLOSURE));
            let rcv = self.load_slot(clo, closure::RECEIVER);
            self.store_frame(rcv, self.local_off(0));
            for i in 0..d.num_copied {
                let v = self.load_slot(clo, closure::FIRST_COPIED + i);
                self.store_frame(v, ((TEMPS + i as i64) * 8) as i32);
            }
            first_nil = d.num_copied;
        } else {
            let info = self.iconst(d.info_addr as i64);
            let m = self
                .b
                .ins()
                .load(I64, self.fl.cell, info, vml::info::METHOD as i32);
            self.store_frame(m, Self::header_off(vml::METHOD));
            self.store_frame(nil, Self::header_off(vml::CLOSURE));
        }
        for i in first_nil..d.num_temps {
            self.store_frame(nil, ((TEMPS + i as i64) * 8) as i32);
        }
        // Ctrl-C, as the interpreter polls at every activation.
        let start = self.blocks[&0];
        self.poll_interrupt(0, 0, start);
        self.terminated = true;
    }

    /// Jumps to `to` (the block of relative pc `pc`, operand depth `depth`), polling the
    /// interrupt flag first.
    fn poll_interrupt(&mut self, pc: usize, depth: usize, to: Block) {
        let flag_addr = self.b.ins().load(
            I64,
            self.fl.vm,
            self.vm,
            (vml::VM_RUNTIME + vml::runtime::INTERRUPT_FLAG) as i32,
        );
        let flag = self
            .b
            .ins()
            .uload8(I64, MemFlagsData::trusted(), flag_addr, 0);
        let slow = self.cold_block();
        self.b.ins().brif(flag, slow, &[], to, &[]);
        self.b.switch_to_block(slow);
        let sp = self.sp_index(depth);
        let pcv = self.iconst(self.abs_pc(pc));
        let st = self.call_helper(self.sigs.h4, self.h.interrupt, &[self.vm, self.fp, sp, pcv]);
        self.after_call(st, pc, depth);
        self.jump(to, &[]);
    }

    fn body(&mut self) -> Result<(), TranslateError> {
        let instrs = std::mem::take(&mut self.a.instrs);
        let mut k = 0;
        while k < instrs.len() {
            let i = instrs[k];
            k += 1;
            if let Some(&depth) = self.a.leaders.get(&i.pc) {
                let blk = self.blocks[&i.pc];
                if !self.terminated {
                    self.flush();
                    self.jump(blk, &[]);
                }
                self.b.switch_to_block(blk);
                self.all_mem(depth);
                self.terminated = false;
            }
            if self.terminated || !self.a.depth.contains_key(&i.pc) {
                continue; // unreachable
            }
            debug_assert_eq!(self.stack.len(), self.a.depth[&i.pc], "depth at {}", i.pc);
            self.out.bytecodes += 1;
            // A comparison followed by a conditional jump is one branch.
            let fused = match instrs.get(k) {
                Some(j)
                    if matches!(j.op, Op::JumpIfTrue | Op::JumpIfFalse)
                        && !self.a.leaders.contains_key(&j.pc)
                        && matches!(i.op, Op::Lt | Op::Gt | Op::Le | Op::Ge | Op::Eq | Op::Ne) =>
                {
                    Some(*j)
                }
                _ => None,
            };
            if let Some(j) = fused {
                k += 1;
                self.out.bytecodes += 1;
                self.compare(i, Some(j));
            } else {
                self.instruction(i)?;
            }
        }
        if !self.terminated {
            // Falling off the end cannot happen in verified code; leave safely.
            let st = self.iconst(status::ERROR as i64);
            self.exit_with(st);
        }
        Ok(())
    }

    // ---- one instruction -------------------------------------------------------------------

    fn instruction(&mut self, i: Instr) -> Result<(), TranslateError> {
        let d = self.d;
        let k = i.operands[0] as usize;
        match i.op {
            Op::PushSelf => {
                let v = self.load_frame(self.local_off(0));
                self.push(V::Val(v));
            }
            Op::PushNil => self.push(V::Const(NIL as i64)),
            Op::PushTrue => self.push(V::Const(TRUE as i64)),
            Op::PushFalse => self.push(V::Const(FALSE as i64)),
            Op::PushSmallInt => self.push(V::Const(((i.operands[0] as i64) << 1) | 1)),
            Op::PushLiteral => {
                let v = self.literal(k);
                self.push(v);
            }
            Op::PushLocal => {
                let v = self.load_frame(self.local_off(k));
                self.push(V::Val(v));
            }
            Op::PushInstVar => {
                let rcv = self.load_frame(self.local_off(0));
                let v = self.load_slot(rcv, k);
                self.push(V::Val(v));
            }
            Op::PushGlobal => self.push_global(i),
            Op::PushIndirect => {
                let vector = self.load_frame(self.local_off(i.operands[1] as usize));
                let v = self.load_slot(vector, k);
                self.push(V::Val(v));
            }
            Op::PushThisContext => self.runtime_op(i, 0, 1, |t, sp, pc| {
                let (vm, fp) = (t.vm, t.fp);
                t.call_helper(t.sigs.h4, t.h.this_context, &[vm, fp, sp, pc])
            }),
            Op::PushNewArray => self.runtime_op(i, 0, 1, |t, sp, pc| {
                let (vm, fp) = (t.vm, t.fp);
                let n = t.iconst(k as i64);
                t.call_helper(t.sigs.h5, t.h.new_array, &[vm, fp, sp, pc, n])
            }),
            Op::MakeArray => self.runtime_op(i, k, 1, |t, sp, pc| {
                let (vm, fp) = (t.vm, t.fp);
                let n = t.iconst(k as i64);
                t.call_helper(t.sigs.h5, t.h.make_array, &[vm, fp, sp, pc, n])
            }),
            Op::PushClosure
                if d.closure_classes.get(k).copied().unwrap_or(0) != 0
                    && closure::FIRST_COPIED + (i.operands[1] as usize) + 2
                        < gcl::OVERFLOW_SLOTS =>
            {
                self.inline_closure(i, k, d.closure_classes[k]);
            }
            Op::PushClosure => {
                let n = i.operands[1] as usize;
                self.runtime_op(i, n, 1, |t, sp, pc| {
                    let (vm, fp) = (t.vm, t.fp);
                    let kv = t.iconst(k as i64);
                    let nv = t.iconst(n as i64);
                    t.call_helper(t.sigs.h6, t.h.push_closure, &[vm, fp, sp, pc, kv, nv])
                })
            }
            Op::Dup => {
                let v = self.top();
                self.push(V::Val(v));
            }
            Op::Pop => {
                self.stack.pop();
            }
            Op::StoreLocal | Op::PopStoreLocal => {
                let v = self.top();
                self.store_frame(v, self.local_off(k));
                if i.op == Op::PopStoreLocal {
                    self.stack.pop();
                }
            }
            Op::StoreInstVar | Op::PopStoreInstVar => {
                let v = self.top();
                let rcv = self.load_frame(self.local_off(0));
                self.store_slot(rcv, k, v);
                if i.op == Op::PopStoreInstVar {
                    self.stack.pop();
                }
            }
            Op::StoreGlobal | Op::PopStoreGlobal => self.store_global(i),
            Op::StoreIndirect | Op::PopStoreIndirect => {
                let v = self.top();
                let vector = self.load_frame(self.local_off(i.operands[1] as usize));
                self.store_slot(vector, k, v);
                if i.op == Op::PopStoreIndirect {
                    self.stack.pop();
                }
            }
            Op::Send => {
                let nargs = d.cell_nargs.get(k).copied().unwrap_or(0) as usize;
                self.flush();
                let quick = d.site_quick.get(k).copied().unwrap_or(0);
                let prim = d.site_prim.get(k).copied().unwrap_or((0, 0));
                self.ic_send(d.cell_base + k, nargs, i.next, quick, prim);
            }
            Op::SuperSend => self.super_send(i),
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::BitAnd | Op::BitOr => self.arith(i),
            Op::Lt | Op::Gt | Op::Le | Op::Ge | Op::Eq | Op::Ne => self.compare(i, None),
            Op::At | Op::AtPut | Op::Size => self.indexing(i),
            Op::Value | Op::Value1 => self.block_value(i),
            Op::IdentityEq | Op::IdentityNe => {
                let b = self.pop_value();
                let a = self.pop_value();
                let cc = if i.op == Op::IdentityEq {
                    IntCC::Equal
                } else {
                    IntCC::NotEqual
                };
                let c = self.b.ins().icmp(cc, a, b);
                self.push(V::Cond(c));
            }
            Op::Jump => {
                let target = i.jump_target().unwrap_or(i.next);
                self.flush();
                let blk = self.blocks[&target];
                if target <= i.pc {
                    let depth = self.stack.len();
                    self.poll_interrupt(target, depth, blk);
                } else {
                    self.jump(blk, &[]);
                }
                self.terminated = true;
            }
            Op::JumpIfTrue | Op::JumpIfFalse => {
                let target = i.jump_target().unwrap_or(i.next);
                self.cond_jump(i.op == Op::JumpIfTrue, i.pc, target, i.next);
            }
            Op::JumpIfNil | Op::JumpIfNotNil => {
                let target = i.jump_target().unwrap_or(i.next);
                self.flush_below(1);
                let v = self.pop_value();
                let cc = if i.op == Op::JumpIfNil {
                    IntCC::Equal
                } else {
                    IntCC::NotEqual
                };
                let c = self.b.ins().icmp_imm_s(cc, v, NIL as i64);
                let (t, f) = (self.blocks[&target], self.blocks[&i.next]);
                self.b.ins().brif(c, t, &[], f, &[]);
                self.terminated = true;
            }
            Op::ReturnTop => {
                let v = self.pop_value();
                self.return_value(v, i.next);
            }
            Op::ReturnSelf => {
                let v = self.load_frame(self.local_off(0));
                self.return_value(v, i.next);
            }
            Op::NonLocalReturn => {
                self.flush();
                let sp = self.sp_index(self.stack.len());
                let pc = self.iconst(self.abs_pc(i.next));
                let st = self.call_helper(
                    self.sigs.h4,
                    self.h.non_local_return,
                    &[self.vm, self.fp, sp, pc],
                );
                self.exit_with(st);
                self.terminated = true;
            }
            Op::ExtA => {
                return Err(TranslateError(format!("stray ExtA at pc {}", i.pc)));
            }
            // Superinstructions are the interpreter's dispatch device: `analyse` replaced each
            // by its base instruction (the ones that follow it are still there), so they never
            // reach this match. A new superinstruction only needs its name added here.
            Op::PushLocal2
            | Op::AddLocalConst
            | Op::LtJumpIfFalse
            | Op::GtJumpIfFalse
            | Op::LeJumpIfFalse
            | Op::GeJumpIfFalse
            | Op::EqJumpIfFalse
            | Op::NeJumpIfFalse
            | Op::AddPopStoreLocal
            | Op::PopStoreLocalPushLocal
            | Op::PushLocalSmallInt
            | Op::PushLocalLiteral
            | Op::PushLocalAddConst
            | Op::PushLocalSubConst
            | Op::PushSelfPushLocal
            | Op::ReturnLocal
            | Op::AddLocalConstJump
            | Op::LocalLtConstJump
            | Op::LocalGtConstJump
            | Op::LocalLeConstJump
            | Op::LocalGeConstJump
            | Op::LocalEqConstJump
            | Op::LocalNeConstJump
            | Op::AddReturnTop
            | Op::PushSelfLocalAddConst
            | Op::PushSelfLocalSubConst => {
                return Err(TranslateError(format!(
                    "superinstruction {:?} not normalised",
                    i.op
                )));
            }
        }
        Ok(())
    }

    /// Literal `k` of the running method: immediates are constants, others are loaded from
    /// the method object (they move).
    fn literal(&mut self, k: usize) -> V {
        if let Some(Some(w)) = self.d.literal_immediates.get(k) {
            return V::Const(*w as i64);
        }
        let m = self.load_frame(Self::header_off(vml::METHOD));
        V::Val(self.load_slot(m, mslots::FIRST_LITERAL + k))
    }

    /// A call out that may push frames or collect: flush, call, check, and continue with
    /// `pops` entries replaced by `pushes` entries in memory.
    fn runtime_op(
        &mut self,
        i: Instr,
        pops: usize,
        pushes: usize,
        call: impl FnOnce(&mut Self, Value, Value) -> Value,
    ) {
        self.flush();
        let depth = self.stack.len();
        let sp = self.sp_index(depth);
        let pc = self.iconst(self.abs_pc(i.next));
        let st = call(self, sp, pc);
        let after = depth - pops + pushes;
        self.after_call(st, i.next, after);
        self.all_mem(after);
    }

    /// `PushClosure k n` of a block that needs no outer context (closures of class `class`):
    /// the closure is bumped from the heap inline (see `smalt_gc::layout`), its header and
    /// every slot written before anything else runs; when the heap's native limit is reached
    /// (always under GC stress) the runtime makes it, and may collect.
    fn inline_closure(&mut self, i: Instr, k: usize, class: u32) {
        let n = i.operands[1] as usize;
        self.flush();
        let depth = self.stack.len();
        let slots = closure::FIRST_COPIED + n;
        let words = (slots + 1) as i64;
        let heap = vml::VM_HEAP as i32;
        let top = self
            .b
            .ins()
            .load(I64, self.fl.vm, self.vm, heap + gcl::HEAP_TOP as i32);
        let limit = self.b.ins().load(
            I64,
            self.fl.vm,
            self.vm,
            heap + gcl::HEAP_NATIVE_LIMIT as i32,
        );
        let new_top = self.b.ins().iadd_imm_s(top, words);
        let fits = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, new_top, limit);
        let fast = self.new_block();
        let slow = self.cold_block();
        let join = self.new_block();
        self.b.append_block_param(join, I64);
        self.b.ins().brif(fits, fast, &[], slow, &[]);

        self.b.switch_to_block(fast);
        self.b
            .ins()
            .store(self.fl.vm, new_top, self.vm, heap + gcl::HEAP_TOP as i32);
        let bytes_off = heap + gcl::HEAP_BYTES_ALLOCATED as i32;
        let bytes = self.b.ins().load(I64, self.fl.vm, self.vm, bytes_off);
        let bytes = self.b.ins().iadd_imm_s(bytes, words * 8);
        self.b.ins().store(self.fl.vm, bytes, self.vm, bytes_off);
        let obj = self.b.ins().ishl_imm_s(top, 3);
        let header = smalt_gc::Header::new(
            smalt_gc::ClassIndex(class),
            smalt_gc::Format::FixedIndexable,
            slots,
        )
        .raw();
        let hv = self.iconst(header as i64);
        let hb = self.hb();
        let addr = self.b.ins().iadd(hb, obj);
        self.b.ins().store(self.fl.heap, hv, addr, 0);
        let nil = self
            .b
            .ins()
            .load(I64, self.fl.vm, self.vm, heap + gcl::HEAP_NIL as i32);
        self.store_slot(obj, closure::OUTER_CONTEXT, nil);
        let code = match self.literal(k) {
            V::Val(v) => v,
            V::Const(c) => self.iconst(c),
            _ => unreachable!("literals are values or constants"),
        };
        self.store_slot(obj, closure::CODE, code);
        let rcv = self.load_frame(self.local_off(0));
        self.store_slot(obj, closure::RECEIVER, rcv);
        for j in 0..n {
            let v = self.load_frame(self.slot_off(depth - n + j));
            self.store_slot(obj, closure::FIRST_COPIED + j, v);
        }
        self.jump(join, &[obj]);

        self.b.switch_to_block(slow);
        let sp = self.sp_index(depth);
        let pc = self.iconst(self.abs_pc(i.next));
        let kv = self.iconst(k as i64);
        let nv = self.iconst(n as i64);
        let st = self.call_helper(
            self.sigs.h6,
            self.h.push_closure,
            &[self.vm, self.fp, sp, pc, kv, nv],
        );
        self.after_call(st, i.next, depth - n + 1);
        let v = self.load_frame(self.slot_off(depth - n));
        self.jump(join, &[v]);

        self.b.switch_to_block(join);
        self.all_mem(depth - n);
        let v = self.b.block_params(join)[0];
        self.push(V::Val(v));
    }

    /// After a call with status `st`: continue if NORMAL, or if UNWOUND left the VM exactly at
    /// this frame's continuation (relative pc `pc`, operand depth `depth`); else return `st`.
    /// Reloads the frame address and the heap base.
    fn after_call(&mut self, st: Value, pc: usize, depth: usize) {
        let cont = self.new_block();
        let check = self.cold_block();
        self.b.ins().brif(st, check, &[], cont, &[]);
        self.b.switch_to_block(check);
        let pcv = self.iconst(self.abs_pc(pc));
        let sp = self.sp_index(depth);
        let st = self.call_helper(
            self.sigs.h5,
            self.h.landed,
            &[self.vm, st, self.fp, pcv, sp],
        );
        let leave = self.cold_block();
        self.b.ins().brif(st, leave, &[], cont, &[]);
        self.b.switch_to_block(leave);
        self.exit_with(st);
        self.b.switch_to_block(cont);
        self.reload();
    }

    /// Calls native entry `entry` with method id `mid` for a send whose receiver and `nargs`
    /// arguments are the top of the (flushed) operand stack; continues at `next`.
    fn call_entry(&mut self, entry: Value, mid: Value, nargs: usize, next: usize) {
        let depth = self.stack.len();
        let new_off = TEMPS + self.d.num_temps as i64 + depth as i64;
        let tagged_fp = self.b.ins().ishl_imm_s(self.fp, 1);
        let tagged_fp = self.b.ins().bor_imm_s(tagged_fp, 1);
        self.store_frame(tagged_fp, ((new_off + vml::CALLER_FP as i64) * 8) as i32);
        let ret_pc = self.iconst((self.abs_pc(next) << 1) | 1);
        self.store_frame(ret_pc, ((new_off + vml::RETURN_PC as i64) * 8) as i32);
        let new_fp = self.b.ins().iadd_imm_s(self.fp, new_off);
        let zero = self.iconst(0);
        let call =
            self.b
                .ins()
                .call_indirect(self.sigs.entry, entry, &[self.vm, new_fp, mid, zero]);
        let st = self.b.inst_results(call)[0];
        self.after_call(st, next, depth - nargs);
    }

    /// The class index of `w` as an i64: from the header for a reference, and for an
    /// immediate from a stand-in header picked by its tag, without a branch.
    fn class_of(&mut self, w: Value) -> Value {
        let tag = self.b.ins().band_imm_s(w, gcl::TAG_MASK as i64);
        let is_ref = self.b.ins().icmp_imm_s(IntCC::Equal, tag, 0);
        let hb = self.hb();
        let obj = self.b.ins().iadd(hb, w);
        let table = self.iconst(self.h.immediate_headers as i64);
        let off = self.b.ins().ishl_imm_s(tag, 3);
        let fake = self.b.ins().iadd(table, off);
        let addr = self.b.ins().select(is_ref, obj, fake);
        let h = self.b.ins().load(I64, self.fl.heap, addr, 0);
        self.b.ins().band_imm_s(h, gcl::CLASS_MASK as i64)
    }

    /// A send through cell `cell` (absolute index) of the receiver and `nargs` arguments on
    /// top of the flushed stack. `quick` (an `Activation` kind, or 0) is the quick method the
    /// cell was seen to call: the site answers it inline when the entry found is its stub.
    /// Calls the VM's cache-miss handler for cell `cell` and receiver class `class`: it looks
    /// up, relinks the cell and answers the (entry, method id) to call.
    fn send_miss(&mut self, cell: usize, class: Value) -> Vec<Value> {
        let cell_index = self.iconst(cell as i64);
        let callee = self.iconst(self.h.send_miss as i64);
        let inst =
            self.b
                .ins()
                .call_indirect(self.sigs.miss, callee, &[self.vm, cell_index, class]);
        self.b.inst_results(inst).to_vec()
    }

    fn ic_send(&mut self, cell: usize, nargs: usize, next: usize, quick: u8, prim: (u16, u8)) {
        let depth = self.stack.len();
        let rcv = self.load_frame(self.slot_off(depth - nargs - 1));
        let class = self.class_of(rcv);
        let cell_addr = self.iconst((self.d.cells_base + cell * vml::CELL_SIZE) as i64);
        let c0 = self
            .b
            .ins()
            .uload32(self.fl.cell, cell_addr, vml::cell_entry_class(0) as i32);
        let hit = self.b.ins().icmp(IntCC::Equal, c0, class);
        let check_entry = self.new_block();
        let poly = self.new_block();
        let miss = self.cold_block();
        let call = self.new_block();
        self.b.append_block_param(call, I64);
        self.b.append_block_param(call, I64);
        self.b.ins().brif(hit, check_entry, &[], poly, &[]);
        // The other entries of a polymorphic cell, without branches (empty entries have class
        // 0, which no receiver has).
        self.b.switch_to_block(poly);
        let mut entry = self.iconst(0);
        let mut mid = self.iconst(0);
        for k in (1..vml::PIC_SIZE).rev() {
            let ck = self
                .b
                .ins()
                .uload32(self.fl.cell, cell_addr, vml::cell_entry_class(k) as i32);
            let ek = self.b.ins().load(
                I64,
                self.fl.cell,
                cell_addr,
                vml::cell_entry_native(k) as i32,
            );
            let mk =
                self.b
                    .ins()
                    .uload32(self.fl.cell, cell_addr, vml::cell_entry_method(k) as i32);
            let hit = self.b.ins().icmp(IntCC::Equal, ck, class);
            entry = self.b.ins().select(hit, ek, entry);
            mid = self.b.ins().select(hit, mk, mid);
        }
        if let Some(counters) = self.d.hit_counters {
            let at = self.iconst((counters + cell * 8) as i64);
            let n = self.b.ins().load(I64, self.fl.cell, at, 0);
            let linked = self.b.ins().icmp_imm_u(IntCC::NotEqual, entry, 0);
            let one = self.b.ins().uextend(I64, linked);
            let n = self.b.ins().iadd(n, one);
            self.b.ins().store(self.fl.cell, n, at, 0);
        }
        let call_args = [BlockArg::Value(entry), BlockArg::Value(mid)];
        self.b.ins().brif(entry, call, &call_args, miss, &[]);
        self.b.switch_to_block(check_entry);
        let e0 = self.b.ins().load(
            I64,
            self.fl.cell,
            cell_addr,
            vml::cell_entry_native(0) as i32,
        );
        let m0 = self
            .b
            .ins()
            .uload32(self.fl.cell, cell_addr, vml::cell_entry_method(0) as i32);
        if let Some(counters) = self.d.hit_counters {
            let at = self.iconst((counters + cell * 8) as i64);
            let n = self.b.ins().load(I64, self.fl.cell, at, 0);
            let n = self.b.ins().iadd_imm_s(n, 1);
            self.b.ins().store(self.fl.cell, n, at, 0);
        }
        let call_args = [BlockArg::Value(e0), BlockArg::Value(m0)];
        let setter = quick == Activation::Setter as u8 && nargs == 1;
        let prim = if prim.1 != 0 && prim_nargs(prim.1) == nargs {
            prim
        } else {
            (0, 0)
        };
        if setter || prim.1 != 0 {
            // The inline test looks at the method, not the entry, so entry 0 may have no
            // native code yet (a setter or primitive method that native code never calls):
            // `full` deals with that.
            self.b.ins().jump(call, &call_args);
        } else {
            let linked = self.b.ins().icmp_imm_u(IntCC::NotEqual, e0, 0);
            self.b.ins().brif(linked, call, &call_args, miss, &[]);
        }
        self.b.switch_to_block(miss);
        let r = self.send_miss(cell, class);
        self.jump(call, &r);
        self.b.switch_to_block(call);
        let p = self.b.block_params(call).to_vec();
        let stub = self
            .d
            .quick_entries
            .get(quick as usize)
            .copied()
            .unwrap_or(0);
        if stub == 0 && !setter && prim.1 == 0 {
            self.call_entry(p[0], p[1], nargs, next);
            self.all_mem(depth - nargs);
            return;
        }
        // A quick method answers without a call: no frame, nothing that can collect, so the
        // frame address and heap base stay valid and the answer can stay in a register.
        let join = self.new_block();
        self.b.append_block_param(join, I64);
        let quick_blk = self.new_block();
        let full = self.new_block();
        if setter {
            // A setter has no stub (it runs as an ordinary method elsewhere): the site asks
            // the info of the method found, which is always the current one.
            let info = self.info_of(p[1]);
            let kind = self
                .b
                .ins()
                .uload8(I64, self.fl.cell, info, vml::info::ACTIVATION as i32);
            let is_setter =
                self.b
                    .ins()
                    .icmp_imm_s(IntCC::Equal, kind, i64::from(Activation::Setter as u8));
            let check = self.new_block();
            self.b.ins().brif(is_setter, check, &[], full, &[]);
            self.b.switch_to_block(check);
            // The receiver is an object with that variable (as the interpreter's store
            // assumes; checked here so that a mismatch takes the ordinary call).
            let rcv = self.load_frame(self.slot_off(depth - 2));
            let k = self
                .b
                .ins()
                .uload16(I64, self.fl.cell, info, vml::info::QUICK_ARG as i32);
            let tag = self.b.ins().band_imm_s(rcv, gcl::TAG_MASK as i64);
            let is_ref = self.b.ins().icmp_imm_s(IntCC::Equal, tag, 0);
            let has_slot = self.new_block();
            self.b.ins().brif(is_ref, has_slot, &[], full, &[]);
            self.b.switch_to_block(has_slot);
            let h = self.header(rcv);
            let n = self.num_slots(rcv, h);
            let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, k, n);
            self.b.ins().brif(inside, quick_blk, &[], full, &[]);
            self.b.switch_to_block(quick_blk);
            let v = self.load_frame(self.slot_off(depth - 1));
            let off = self.b.ins().ishl_imm_s(k, 3);
            let hb = self.hb();
            let addr = self.b.ins().iadd(hb, rcv);
            let addr = self.b.ins().iadd(addr, off);
            self.b.ins().store(self.fl.heap, v, addr, gcl::SLOT_0);
            self.jump(join, &[rcv]);
        } else if prim.1 != 0 {
            // The method found has that primitive (asked of its info, so redefinition needs
            // nothing): its common case inline, anything else the call (the primitive, then
            // the method's code if it fails).
            let info = self.info_of(p[1]);
            let pn = self
                .b
                .ins()
                .uload16(I64, self.fl.cell, info, vml::info::PRIMITIVE as i32);
            let is_prim = self.b.ins().icmp_imm_s(IntCC::Equal, pn, i64::from(prim.0));
            let check = self.new_block();
            self.b.ins().brif(is_prim, check, &[], full, &[]);
            self.b.switch_to_block(check);
            if prim.1 == PRIM_NEW || prim.1 == PRIM_NEW_SIZE {
                // The VM makes the object if it fits without a collection (the call never
                // collects); anything else is the full call. The receiver and size stay in
                // the frame.
                let sp = self.sp_index(depth);
                let n = self.iconst(nargs as i64);
                let v = self.call_helper(self.sigs.h3, self.h.instantiate, &[self.vm, sp, n]);
                let made = self.new_block();
                self.b.ins().brif(v, made, &[], full, &[]);
                self.b.switch_to_block(made);
                self.jump(join, &[v]);
            } else {
                let rcv = self.load_frame(self.slot_off(depth - 2));
                let arg = self.load_frame(self.slot_off(depth - 1));
                let v = self.inline_primitive(prim.1, rcv, arg, full);
                self.jump(join, &[v]);
            }
        } else {
            let is_quick = self.b.ins().icmp_imm_s(IntCC::Equal, p[0], stub as i64);
            self.b.ins().brif(is_quick, quick_blk, &[], full, &[]);
            self.b.switch_to_block(quick_blk);
            // (Read again: a miss called `rt_send_miss` since, which does not collect, but no
            // reference is kept in a register across a call.)
            let rcv = self.load_frame(self.slot_off(depth - nargs - 1));
            let v = self.quick_answer(quick, rcv, p[1]);
            self.jump(join, &[v]);
        }
        self.b.switch_to_block(full);
        let (entry, mid) = if setter || prim.1 != 0 {
            let linked = self.new_block();
            self.b.append_block_param(linked, I64);
            self.b.append_block_param(linked, I64);
            let relink = self.cold_block();
            self.b.ins().brif(
                p[0],
                linked,
                &[BlockArg::Value(p[0]), BlockArg::Value(p[1])],
                relink,
                &[],
            );
            self.b.switch_to_block(relink);
            let r = self.send_miss(cell, class);
            self.jump(linked, &r);
            self.b.switch_to_block(linked);
            let q = self.b.block_params(linked).to_vec();
            (q[0], q[1])
        } else {
            (p[0], p[1])
        };
        self.call_entry(entry, mid, nargs, next);
        let v = self.load_frame(self.slot_off(depth - nargs - 1));
        self.jump(join, &[v]);
        self.b.switch_to_block(join);
        self.all_mem(depth - nargs - 1);
        let v = self.b.block_params(join)[0];
        self.push(V::Val(v));
    }

    /// The common case of primitive `kind` (a `PRIM_*`) for `rcv` and `arg`: its answer, or a
    /// branch to `other` (the call) for anything else.
    fn inline_primitive(&mut self, kind: u8, rcv: Value, arg: Value, other: Block) -> Value {
        let ok = self.new_block();
        self.b.append_block_param(ok, I64);
        if kind == PRIM_FLOAT_DIV {
            let tag = self.b.ins().band_imm_s(rcv, gcl::TAG_MASK as i64);
            let float = self
                .b
                .ins()
                .icmp_imm_s(IntCC::Equal, tag, gcl::FLOAT_TAG as i64);
            let float = self.b.ins().uextend(I64, float);
            let nums = self.both_numbers(rcv, arg);
            let both = self.b.ins().band(float, nums);
            let compute = self.new_block();
            self.b.ins().brif(both, compute, &[], other, &[]);
            self.b.switch_to_block(compute);
            let x = self.decode_float(rcv);
            let y = self.number_as_double(arg);
            let r = self.b.ins().fdiv(x, y);
            let (w, fits) = self.encode_float(r);
            self.b
                .ins()
                .brif(fits, ok, &[BlockArg::Value(w)], other, &[]);
        } else if kind == PRIM_STRING_EQ {
            let either = self.b.ins().bor(rcv, arg);
            let tags = self.b.ins().band_imm_s(either, gcl::TAG_MASK as i64);
            let refs = self.new_block();
            self.b.ins().brif(tags, other, &[], refs, &[]);
            self.b.switch_to_block(refs);
            let hr = self.header(rcv);
            let ha = self.header(arg);
            let mut strings = Vec::new();
            for h in [hr, ha] {
                let c = self.b.ins().band_imm_s(h, gcl::CLASS_MASK as i64);
                let s = self
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::Equal, c, i64::from(ci::STRING.0));
                let y = self
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::Equal, c, i64::from(ci::SYMBOL.0));
                strings.push(self.b.ins().bor(s, y));
            }
            let both = self.b.ins().band(strings[0], strings[1]);
            let sized = self.new_block();
            self.b.ins().brif(both, sized, &[], other, &[]);
            self.b.switch_to_block(sized);
            // The format holds the padding of the last slot: equal slot counts and formats
            // are equal byte lengths.
            let key = (gcl::FORMAT_MASK | (0xFF << gcl::SLOTS_SHIFT)) as i64;
            let kr = self.b.ins().band_imm_s(hr, key);
            let ka = self.b.ins().band_imm_s(ha, key);
            let same = self.b.ins().icmp(IntCC::Equal, kr, ka);
            let f = self.iconst(FALSE as i64);
            let t = self.iconst(TRUE as i64);
            let same_len = self.new_block();
            self.b
                .ins()
                .brif(same, same_len, &[], ok, &[BlockArg::Value(f)]);
            self.b.switch_to_block(same_len);
            let slots = self.b.ins().ushr_imm_s(hr, i64::from(gcl::SLOTS_SHIFT));
            let some = self.new_block();
            self.b
                .ins()
                .brif(slots, some, &[], ok, &[BlockArg::Value(t)]);
            self.b.switch_to_block(some);
            let one = self.b.ins().icmp_imm_s(IntCC::Equal, slots, 1);
            let word = self.new_block();
            self.b.ins().brif(one, word, &[], other, &[]);
            self.b.switch_to_block(word);
            let wr = self.load_slot(rcv, 0);
            let wa = self.load_slot(arg, 0);
            let diff = self.b.ins().bxor(wr, wa);
            // Only the bytes in use count (little-endian: the low ones).
            let unused = self.b.ins().ushr_imm_s(hr, i64::from(gcl::FORMAT_SHIFT));
            let unused = self.b.ins().band_imm_s(unused, 7);
            let bits = self.b.ins().ishl_imm_s(unused, 3);
            let all = self.iconst(-1);
            let mask = self.b.ins().ushr(all, bits);
            let diff = self.b.ins().band(diff, mask);
            let eq = self.b.ins().icmp_imm_s(IntCC::Equal, diff, 0);
            let v = self.b.ins().select(eq, t, f);
            self.jump(ok, &[v]);
        } else {
            let ints = self.b.ins().band(rcv, arg);
            let ints = self.is_small_int(ints);
            let nonzero = self.new_block();
            let compute = self.new_block();
            self.b.ins().brif(ints, nonzero, &[], other, &[]);
            self.b.switch_to_block(nonzero);
            let y = self.b.ins().sshr_imm_s(arg, 1);
            self.b.ins().brif(y, compute, &[], other, &[]);
            self.b.switch_to_block(compute);
            let x = self.b.ins().sshr_imm_s(rcv, 1);
            // (x is at least SmallInteger minimum, so srem cannot overflow.)
            let r = self.b.ins().srem(x, y);
            let nz = self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
            let signs = self.b.ins().bxor(r, y);
            let differ = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, signs, 0);
            let fix = self.b.ins().band(nz, differ);
            let r2 = self.b.ins().iadd(r, y);
            let r = self.b.ins().select(fix, r2, r);
            let w = self.b.ins().ishl_imm_s(r, 1);
            let w = self.b.ins().bor_imm_s(w, 1);
            self.jump(ok, &[w]);
        }
        self.b.switch_to_block(ok);
        self.b.block_params(ok)[0]
    }

    /// The address of the info of method `mid`.
    fn info_of(&mut self, mid: Value) -> Value {
        let off = self.b.ins().imul_imm_s(mid, vml::info::SIZE as i64);
        let base = self.iconst(self.d.infos_base as i64);
        self.b.ins().iadd(base, off)
    }

    /// The answer of quick method `mid` of kind `kind` (an `Activation`) to `rcv`, as its
    /// stub computes it.
    fn quick_answer(&mut self, kind: u8, rcv: Value, mid: Value) -> Value {
        let info = self.info_of(mid);
        match kind {
            k if k == Activation::ReturnSelf as u8 => rcv,
            k if k == Activation::ReturnConstant as u8 => {
                self.b
                    .ins()
                    .load(I64, self.fl.cell, info, vml::info::QUICK_VALUE as i32)
            }
            k => {
                let slot =
                    self.b
                        .ins()
                        .uload16(I64, self.fl.cell, info, vml::info::QUICK_ARG as i32);
                let slot = self.b.ins().ishl_imm_s(slot, 3);
                let (obj, first) = if k == Activation::ReturnInstVar as u8 {
                    (rcv, 0)
                } else {
                    let m = self
                        .b
                        .ins()
                        .load(I64, self.fl.cell, info, vml::info::METHOD as i32);
                    (m, mslots::FIRST_LITERAL)
                };
                let hb = self.hb();
                let addr = self.b.ins().iadd(hb, obj);
                let addr = self.b.ins().iadd(addr, slot);
                self.b
                    .ins()
                    .load(I64, self.fl.heap, addr, gcl::SLOT_0 + (first * 8) as i32)
            }
        }
    }

    fn super_send(&mut self, i: Instr) {
        let k = i.operands[0] as usize;
        let nargs = self.d.cell_nargs.get(k).copied().unwrap_or(0) as usize;
        self.flush();
        let depth = self.stack.len();
        let cell_addr =
            self.iconst((self.d.cells_base + (self.d.cell_base + k) * vml::CELL_SIZE) as i64);
        let e0 = self.b.ins().load(
            I64,
            self.fl.cell,
            cell_addr,
            vml::cell_entry_native(0) as i32,
        );
        let m0 = self
            .b
            .ins()
            .uload32(self.fl.cell, cell_addr, vml::cell_entry_method(0) as i32);
        let fast = self.new_block();
        let slow = self.cold_block();
        let join = self.new_block();
        self.b.ins().brif(e0, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        self.call_entry(e0, m0, nargs, i.next);
        self.jump(join, &[]);
        self.b.switch_to_block(slow);
        let sp = self.sp_index(depth);
        let pc = self.iconst(self.abs_pc(i.next));
        let kv = self.iconst(k as i64);
        let st = self.call_helper(
            self.sigs.h5,
            self.h.super_send,
            &[self.vm, self.fp, sp, pc, kv],
        );
        self.after_call(st, i.next, depth - nargs);
        self.jump(join, &[]);
        self.b.switch_to_block(join);
        self.all_mem(depth - nargs);
    }

    /// The slow path of a special-selector opcode: a send through its own cell. The operands
    /// are the top entries; the result comes back as an SSA value (the caller joins it).
    fn special_send(&mut self, i: Instr) -> Value {
        let nargs = special_selector(i.op).map_or(0, |(_, n)| n);
        let cell = self.special_index[&i.pc];
        self.flush();
        // `=` (ints and floats are inline already) is mostly String `=`: no feedback is needed,
        // the site tests the primitive of the method it finds.
        let prim = if i.op == Op::Eq && self.d.string_eq_prim != 0 {
            (self.d.string_eq_prim, PRIM_STRING_EQ)
        } else {
            (0, 0)
        };
        self.ic_send(cell, nargs, i.next, 0, prim);
        self.pop_value()
    }

    // ---- arithmetic and comparisons ----------------------------------------------------------

    fn is_small_int(&mut self, w: Value) -> Value {
        self.b.ins().band_imm_s(w, gcl::SMALL_INT_TAG as i64)
    }

    /// The double of an immediate float.
    fn decode_float(&mut self, w: Value) -> Value {
        let r = self.b.ins().ushr_imm_s(w, i64::from(gcl::FLOAT_SHIFT));
        let big = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, r, 1);
        let rebased = self
            .b
            .ins()
            .iadd_imm_s(r, (gcl::FLOAT_EXP_OFFSET << 53) as i64);
        let r = self.b.ins().select(big, rebased, r);
        let one = self.iconst(1);
        let bits = self.b.ins().rotr(r, one);
        self.b.ins().bitcast(F64, MemFlagsData::new(), bits)
    }

    /// The immediate float of a double, and whether it has one.
    fn encode_float(&mut self, f: Value) -> (Value, Value) {
        let bits = self.b.ins().bitcast(I64, MemFlagsData::new(), f);
        let one = self.iconst(1);
        let rot = self.b.ins().rotl(bits, one);
        let zero = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, rot, 1);
        let exp = self.b.ins().ushr_imm_s(bits, 52);
        let exp = self.b.ins().band_imm_s(exp, 0x7FF);
        let exp = self.b.ins().iadd_imm_s(exp, -(gcl::FLOAT_EXP_MIN as i64));
        let in_range = self.b.ins().icmp_imm_u(
            IntCC::UnsignedLessThanOrEqual,
            exp,
            (gcl::FLOAT_EXP_MAX - gcl::FLOAT_EXP_MIN) as i64,
        );
        let ok = self.b.ins().bor(zero, in_range);
        let rebased = self
            .b
            .ins()
            .iadd_imm_s(rot, -((gcl::FLOAT_EXP_OFFSET << 53) as i64));
        let v = self.b.ins().select(zero, rot, rebased);
        let v = self.b.ins().ishl_imm_s(v, i64::from(gcl::FLOAT_SHIFT));
        let v = self.b.ins().bor_imm_s(v, gcl::FLOAT_TAG as i64);
        (v, ok)
    }

    /// Whether both words are immediate floats.
    fn both_small_floats(&mut self, a: Value, b: Value) -> Value {
        let x = self.b.ins().bxor_imm_s(a, gcl::FLOAT_TAG as i64);
        let y = self.b.ins().bxor_imm_s(b, gcl::FLOAT_TAG as i64);
        let z = self.b.ins().bor(x, y);
        let t = self.b.ins().band_imm_s(z, gcl::TAG_MASK as i64);
        self.b.ins().icmp_imm_s(IntCC::Equal, t, 0)
    }

    /// Whether each word is a SmallInteger or an immediate float.
    fn both_numbers(&mut self, a: Value, b: Value) -> Value {
        let mut ok = Vec::new();
        for w in [a, b] {
            let int = self.is_small_int(w);
            let tag = self.b.ins().band_imm_s(w, gcl::TAG_MASK as i64);
            let float = self
                .b
                .ins()
                .icmp_imm_s(IntCC::Equal, tag, gcl::FLOAT_TAG as i64);
            let float = self.b.ins().uextend(I64, float);
            ok.push(self.b.ins().bor(int, float));
        }
        self.b.ins().band(ok[0], ok[1])
    }

    /// The double of a SmallInteger or an immediate float (`both_numbers` holds).
    fn number_as_double(&mut self, w: Value) -> Value {
        let int = self.is_small_int(w);
        let n = self.b.ins().sshr_imm_s(w, 1);
        let from_int = self.b.ins().fcvt_from_sint(F64, n);
        let from_float = self.decode_float(w);
        self.b.ins().select(int, from_int, from_float)
    }

    /// `+ - * / bitAnd: bitOr:`.
    fn arith(&mut self, i: Instr) {
        self.flush_below(2);
        let depth = self.stack.len();
        let a = self.value_at(depth - 2);
        let b = self.value_at(depth - 1);
        let saved = self.stack.clone();
        let done = self.new_block();
        self.b.append_block_param(done, I64);
        let slow = self.cold_block();
        let ints = self.b.ins().band(a, b);
        let ints = self.is_small_int(ints);
        let int_blk = self.new_block();
        let float_blk = self.new_block();
        self.b.ins().brif(ints, int_blk, &[], float_blk, &[]);

        self.b.switch_to_block(int_blk);
        match i.op {
            Op::Add | Op::Sub => {
                let b1 = self.b.ins().iadd_imm_s(b, -1);
                let (r, of) = if i.op == Op::Add {
                    self.b.ins().sadd_overflow(a, b1)
                } else {
                    self.b.ins().ssub_overflow(a, b1)
                };
                self.b
                    .ins()
                    .brif(of, slow, &[], done, &[BlockArg::Value(r)]);
            }
            Op::Mul => {
                let x = self.b.ins().sshr_imm_s(a, 1);
                let y = self.b.ins().iadd_imm_s(b, -1);
                let (p, of) = self.b.ins().smul_overflow(x, y);
                let r = self.b.ins().bor_imm_s(p, 1);
                self.b
                    .ins()
                    .brif(of, slow, &[], done, &[BlockArg::Value(r)]);
            }
            Op::Div => {
                let x = self.b.ins().sshr_imm_s(a, 1);
                let y = self.b.ins().sshr_imm_s(b, 1);
                let nonzero = self.new_block();
                self.b.ins().brif(y, nonzero, &[], slow, &[]);
                self.b.switch_to_block(nonzero);
                let q = self.b.ins().sdiv(x, y);
                let tagged = self.b.ins().ishl_imm_s(q, 1);
                let back = self.b.ins().sshr_imm_s(tagged, 1);
                let fits = self.b.ins().icmp(IntCC::Equal, back, q);
                let r = self.b.ins().bor_imm_s(tagged, 1);
                self.b
                    .ins()
                    .brif(fits, done, &[BlockArg::Value(r)], slow, &[]);
            }
            Op::BitAnd => {
                let r = self.b.ins().band(a, b);
                self.jump(done, &[r]);
            }
            _ => {
                let r = self.b.ins().bor(a, b);
                self.jump(done, &[r]);
            }
        }

        self.b.switch_to_block(float_blk);
        if matches!(i.op, Op::Add | Op::Sub | Op::Mul) {
            // Immediate floats, or an immediate float and a SmallInteger (converted as the
            // interpreter's fast path and the primitives do), with an immediate result;
            // anything else takes the send.
            // Two floats first, so that float code pays nothing for the mixed case.
            let both = self.both_small_floats(a, b);
            let floats = self.new_block();
            let mixed = self.new_block();
            let compute = self.new_block();
            self.b.append_block_param(compute, F64);
            self.b.append_block_param(compute, F64);
            self.b.ins().brif(both, floats, &[], mixed, &[]);
            self.b.switch_to_block(floats);
            let x = self.decode_float(a);
            let y = self.decode_float(b);
            self.jump(compute, &[x, y]);
            self.b.switch_to_block(mixed);
            let nums = self.both_numbers(a, b);
            let convert = self.new_block();
            self.b.ins().brif(nums, convert, &[], slow, &[]);
            self.b.switch_to_block(convert);
            let x = self.number_as_double(a);
            let y = self.number_as_double(b);
            self.jump(compute, &[x, y]);
            self.b.switch_to_block(compute);
            let p = self.b.block_params(compute).to_vec();
            let (x, y) = (p[0], p[1]);
            let r = match i.op {
                Op::Add => self.b.ins().fadd(x, y),
                Op::Sub => self.b.ins().fsub(x, y),
                _ => self.b.ins().fmul(x, y),
            };
            let (w, fits) = self.encode_float(r);
            self.b
                .ins()
                .brif(fits, done, &[BlockArg::Value(w)], slow, &[]);
        } else {
            self.jump(slow, &[]);
        }

        self.b.switch_to_block(slow);
        let r = self.special_send(i);
        self.jump(done, &[r]);

        self.b.switch_to_block(done);
        self.stack = saved;
        self.stack.truncate(depth - 2);
        let r = self.b.block_params(done)[0];
        self.push(V::Val(r));
    }

    /// `< > <= >= = ~=`, fused with the conditional jump `jump` that follows, if any.
    fn compare(&mut self, i: Instr, jump: Option<Instr>) {
        self.flush_below(2);
        let depth = self.stack.len();
        let a = self.value_at(depth - 2);
        let b = self.value_at(depth - 1);
        let saved = self.stack.clone();
        let (icc, fcc) = match i.op {
            Op::Lt => (IntCC::SignedLessThan, FloatCC::LessThan),
            Op::Gt => (IntCC::SignedGreaterThan, FloatCC::GreaterThan),
            Op::Le => (IntCC::SignedLessThanOrEqual, FloatCC::LessThanOrEqual),
            Op::Ge => (IntCC::SignedGreaterThanOrEqual, FloatCC::GreaterThanOrEqual),
            Op::Eq => (IntCC::Equal, FloatCC::Equal),
            _ => (IntCC::NotEqual, FloatCC::NotEqual),
        };
        // Where a true and a false answer go: the jump's targets, or a join making the word.
        let (on_true, on_false, join) = match jump {
            Some(j) => {
                let target = self.blocks[&j.jump_target().unwrap_or(j.next)];
                let next = self.blocks[&j.next];
                if j.op == Op::JumpIfTrue {
                    (target, next, None)
                } else {
                    (next, target, None)
                }
            }
            None => {
                let join = self.new_block();
                self.b.append_block_param(join, I64);
                let t = self.new_block();
                let f = self.new_block();
                (t, f, Some(join))
            }
        };
        let slow = self.cold_block();
        let ints = self.b.ins().band(a, b);
        let ints = self.is_small_int(ints);
        let int_blk = self.new_block();
        let float_check = self.new_block();
        self.b.ins().brif(ints, int_blk, &[], float_check, &[]);
        self.b.switch_to_block(int_blk);
        let c = self.b.ins().icmp(icc, a, b);
        self.b.ins().brif(c, on_true, &[], on_false, &[]);
        self.b.switch_to_block(float_check);
        let both = self.both_small_floats(a, b);
        let float_blk = self.new_block();
        self.b.ins().brif(both, float_blk, &[], slow, &[]);
        self.b.switch_to_block(float_blk);
        let x = self.decode_float(a);
        let y = self.decode_float(b);
        let c = self.b.ins().fcmp(fcc, x, y);
        self.b.ins().brif(c, on_true, &[], on_false, &[]);

        self.b.switch_to_block(slow);
        let r = self.special_send(i);
        match (jump, join) {
            (Some(j), _) => {
                // The answer of the real send takes the jump's ordinary (checked) path.
                self.stack = saved.clone();
                self.stack.truncate(depth - 2);
                self.push(V::Val(r));
                let target = j.jump_target().unwrap_or(j.next);
                self.cond_jump(j.op == Op::JumpIfTrue, j.pc, target, j.next);
            }
            (None, Some(join)) => {
                self.jump(join, &[r]);
                self.b.switch_to_block(on_true);
                let t = self.iconst(TRUE as i64);
                self.jump(join, &[t]);
                self.b.switch_to_block(on_false);
                let f = self.iconst(FALSE as i64);
                self.jump(join, &[f]);
                self.b.switch_to_block(join);
                self.stack = saved;
                self.stack.truncate(depth - 2);
                let r = self.b.block_params(join)[0];
                self.push(V::Val(r));
            }
            (None, None) => unreachable!("a join exists without a jump"),
        }
    }

    /// `JumpIfTrue`/`JumpIfFalse` at `pc` with the condition on top: non-Booleans are sent
    /// #mustBeBoolean and the test runs again with the answer.
    fn cond_jump(&mut self, on_true: bool, pc: usize, target: usize, next: usize) {
        let (target, next_blk) = (self.blocks[&target], self.blocks[&next]);
        let (yes, no) = if on_true {
            (target, next_blk)
        } else {
            (next_blk, target)
        };
        if let V::Cond(c) = self.stack[self.stack.len() - 1] {
            self.stack.pop();
            self.flush();
            self.b.ins().brif(c, yes, &[], no, &[]);
            self.terminated = true;
            return;
        }
        self.flush_below(1);
        let depth = self.stack.len();
        let v = self.pop_value();
        let test = self.new_block();
        self.b.append_block_param(test, I64);
        self.jump(test, &[v]);
        self.b.switch_to_block(test);
        let v = self.b.block_params(test)[0];
        let is_true = self.b.ins().icmp_imm_s(IntCC::Equal, v, TRUE as i64);
        let not_true = self.new_block();
        self.b.ins().brif(is_true, yes, &[], not_true, &[]);
        self.b.switch_to_block(not_true);
        let is_false = self.b.ins().icmp_imm_s(IntCC::Equal, v, FALSE as i64);
        let other = self.cold_block();
        self.b.ins().brif(is_false, no, &[], other, &[]);
        self.b.switch_to_block(other);
        let off = self.slot_off(depth - 1);
        self.store_frame(v, off);
        let sp = self.sp_index(depth);
        let jpc = self.iconst(self.abs_pc(pc));
        let st = self.call_helper(
            self.sigs.h4,
            self.h.must_be_boolean,
            &[self.vm, self.fp, sp, jpc],
        );
        self.after_call(st, pc, depth);
        let v2 = self.load_frame(off);
        self.jump(test, &[v2]);
        self.terminated = true;
    }

    // ---- Arrays and blocks -------------------------------------------------------------------

    /// The slot count of the object `o` whose header is `h`.
    fn num_slots(&mut self, o: Value, h: Value) -> Value {
        let n = self.b.ins().ushr_imm_s(h, i64::from(gcl::SLOTS_SHIFT));
        let big = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, n, gcl::OVERFLOW_SLOTS as i64);
        let hb = self.hb();
        let addr = self.b.ins().iadd(hb, o);
        let ovf = self
            .b
            .ins()
            .load(I64, self.fl.heap, addr, gcl::OVERFLOW_WORD);
        let ovf = self
            .b
            .ins()
            .band_imm_s(ovf, gcl::OVERFLOW_COUNT_MASK as i64);
        self.b.ins().select(big, ovf, n)
    }

    /// Branches to `yes` with the header if `o` is an Array, else to `no`.
    fn if_array(&mut self, o: Value, no: Block) -> (Block, Value) {
        let tag = self.b.ins().band_imm_s(o, gcl::TAG_MASK as i64);
        let is_ref = self.b.ins().icmp_imm_s(IntCC::Equal, tag, 0);
        let check = self.new_block();
        self.b.ins().brif(is_ref, check, &[], no, &[]);
        self.b.switch_to_block(check);
        let h = self.header(o);
        let class = self.b.ins().band_imm_s(h, gcl::CLASS_MASK as i64);
        let is_array = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, class, i64::from(ci::ARRAY.0));
        let yes = self.new_block();
        self.b.ins().brif(is_array, yes, &[], no, &[]);
        self.b.switch_to_block(yes);
        (yes, h)
    }

    /// `at:`, `at:put:` and `size` with the interpreter's Array fast paths.
    fn indexing(&mut self, i: Instr) {
        let nargs = special_selector(i.op).map_or(0, |(_, n)| n);
        self.flush_below(nargs + 1);
        let depth = self.stack.len();
        let mut vals = Vec::new();
        for d in depth - nargs - 1..depth {
            vals.push(self.value_at(d));
        }
        let saved = self.stack.clone();
        let done = self.new_block();
        self.b.append_block_param(done, I64);
        let slow = self.cold_block();
        let a = vals[0];
        let (_, h) = self.if_array(a, slow);
        match i.op {
            Op::Size => {
                let n = self.num_slots(a, h);
                let w = self.b.ins().ishl_imm_s(n, 1);
                let w = self.b.ins().bor_imm_s(w, 1);
                self.jump(done, &[w]);
            }
            _ => {
                let idx = vals[1];
                let is_int = self.is_small_int(idx);
                let int_blk = self.new_block();
                self.b.ins().brif(is_int, int_blk, &[], slow, &[]);
                self.b.switch_to_block(int_blk);
                if i.op == Op::AtPut {
                    let ro = self.b.ins().band_imm_s(h, gcl::READ_ONLY as i64);
                    let writable = self.new_block();
                    self.b.ins().brif(ro, slow, &[], writable, &[]);
                    self.b.switch_to_block(writable);
                }
                let n = self.num_slots(a, h);
                let k = self.b.ins().sshr_imm_s(idx, 1);
                let k1 = self.b.ins().iadd_imm_s(k, -1);
                let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, k1, n);
                let access = self.new_block();
                self.b.ins().brif(inside, access, &[], slow, &[]);
                self.b.switch_to_block(access);
                let off = self.b.ins().ishl_imm_s(k, 3);
                let hb = self.hb();
                let addr = self.b.ins().iadd(hb, a);
                let addr = self.b.ins().iadd(addr, off);
                if i.op == Op::At {
                    let v = self.b.ins().load(I64, self.fl.heap, addr, 0);
                    self.jump(done, &[v]);
                } else {
                    let v = vals[2];
                    self.b.ins().store(self.fl.heap, v, addr, 0);
                    self.jump(done, &[v]);
                }
            }
        }
        self.b.switch_to_block(slow);
        let r = self.special_send(i);
        self.jump(done, &[r]);
        self.b.switch_to_block(done);
        self.stack = saved;
        self.stack.truncate(depth - nargs - 1);
        let r = self.b.block_params(done)[0];
        self.push(V::Val(r));
    }

    /// `value` / `value:`: a closure of the right arity with native code is called directly,
    /// one without native code is activated by the runtime, and any other receiver (a
    /// DeltaBlue variable's `value`, say) gets a send through the site's cell.
    fn block_value(&mut self, i: Instr) {
        let nargs = usize::from(i.op == Op::Value1);
        self.flush();
        let depth = self.stack.len();
        let clo = self.load_frame(self.slot_off(depth - nargs - 1));
        let send = self.new_block();
        let slow = self.cold_block();
        let join = self.new_block();
        let tag = self.b.ins().band_imm_s(clo, gcl::TAG_MASK as i64);
        let is_ref = self.b.ins().icmp_imm_s(IntCC::Equal, tag, 0);
        let check = self.new_block();
        self.b.ins().brif(is_ref, check, &[], send, &[]);
        self.b.switch_to_block(check);
        let h = self.header(clo);
        let class = self.b.ins().band_imm_s(h, gcl::CLASS_MASK as i64);
        let want = if nargs == 0 { ci::BLOCK1 } else { ci::BLOCK2 };
        let is_block = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, class, i64::from(want.0));
        let code_blk = self.new_block();
        self.b.ins().brif(is_block, code_blk, &[], send, &[]);
        self.b.switch_to_block(code_blk);
        let code = self.load_slot(clo, closure::CODE);
        let id = self.load_slot(code, mslots::ID);
        let mid = self.b.ins().sshr_imm_s(id, 1);
        let off = self.b.ins().imul_imm_s(mid, vml::info::SIZE as i64);
        let base = self.iconst(self.d.infos_base as i64);
        let info = self.b.ins().iadd(base, off);
        let entry = self
            .b
            .ins()
            .load(I64, self.fl.cell, info, vml::info::NATIVE_ENTRY as i32);
        let fast = self.new_block();
        self.b.ins().brif(entry, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        self.call_entry(entry, mid, nargs, i.next);
        self.jump(join, &[]);
        // A closure of the right arity without native code: the runtime activates it.
        self.b.switch_to_block(slow);
        let sp = self.sp_index(depth);
        let pc = self.iconst(self.abs_pc(i.next));
        let byte = self.iconst(i.op as i64);
        let st = self.call_helper(
            self.sigs.h5,
            self.h.special_send,
            &[self.vm, self.fp, sp, pc, byte],
        );
        self.after_call(st, i.next, depth - nargs);
        self.jump(join, &[]);
        // Anything else: the message, through the site's own cell. A `value` that is not a
        // closure's is most often an accessor: the site answers one inline.
        self.b.switch_to_block(send);
        let cell = self.special_index[&i.pc];
        let quick = if nargs == 0 {
            Activation::ReturnInstVar as u8
        } else {
            0
        };
        self.ic_send(cell, nargs, i.next, quick, (0, 0));
        self.flush();
        self.jump(join, &[]);
        self.b.switch_to_block(join);
        self.all_mem(depth - nargs);
    }

    // ---- globals -----------------------------------------------------------------------------

    /// The binding of literal `k` and whether it is a defined global's (an Association).
    fn binding(&mut self, k: usize) -> (Value, Value) {
        let m = self.load_frame(Self::header_off(vml::METHOD));
        let binding = self.load_slot(m, mslots::FIRST_LITERAL + k);
        let h = self.header(binding);
        let class = self.b.ins().band_imm_s(h, gcl::CLASS_MASK as i64);
        let defined = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, class, i64::from(ci::ASSOCIATION.0));
        (binding, defined)
    }

    fn push_global(&mut self, i: Instr) {
        let k = i.operands[0] as usize;
        self.flush();
        let depth = self.stack.len();
        let (binding, defined) = self.binding(k);
        let fast = self.new_block();
        let slow = self.cold_block();
        let join = self.new_block();
        self.b.append_block_param(join, I64);
        self.b.ins().brif(defined, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        let v = self.load_slot(binding, smalt_vm::objects::association::VALUE);
        self.jump(join, &[v]);
        self.b.switch_to_block(slow);
        let sp = self.sp_index(depth);
        let pc = self.iconst(self.abs_pc(i.next));
        let kv = self.iconst(k as i64);
        let st = self.call_helper(
            self.sigs.h5,
            self.h.push_global,
            &[self.vm, self.fp, sp, pc, kv],
        );
        self.after_call(st, i.next, depth + 1);
        let v = self.load_frame(self.slot_off(depth));
        self.jump(join, &[v]);
        self.b.switch_to_block(join);
        self.all_mem(depth);
        let v = self.b.block_params(join)[0];
        self.push(V::Val(v));
    }

    fn store_global(&mut self, i: Instr) {
        let k = i.operands[0] as usize;
        self.flush();
        let depth = self.stack.len();
        let (binding, defined) = self.binding(k);
        let fast = self.new_block();
        let slow = self.cold_block();
        let join = self.new_block();
        self.b.ins().brif(defined, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        let v = self.load_frame(self.slot_off(depth - 1));
        self.store_slot(binding, smalt_vm::objects::association::VALUE, v);
        self.jump(join, &[]);
        self.b.switch_to_block(slow);
        let sp = self.sp_index(depth);
        let pc = self.iconst(self.abs_pc(i.next));
        let kv = self.iconst(k as i64);
        let st = self.call_helper(
            self.sigs.h5,
            self.h.store_global,
            &[self.vm, self.fp, sp, pc, kv],
        );
        self.after_call(st, i.next, depth);
        self.jump(join, &[]);
        self.b.switch_to_block(join);
        self.all_mem(depth);
        if i.op == Op::PopStoreGlobal {
            self.stack.pop();
        }
    }

    // ---- returns -----------------------------------------------------------------------------

    /// Returns `v` from the activation: widows its Context if it has one (which cannot
    /// collect), stores `v` in the receiver's slot, answers NORMAL.
    fn return_value(&mut self, v: Value, next: usize) {
        let ctx = self.load_frame(Self::header_off(vml::CONTEXT));
        let has_ctx = self.b.ins().icmp_imm_s(IntCC::NotEqual, ctx, NIL as i64);
        let widow = self.cold_block();
        let store = self.new_block();
        self.b.ins().brif(has_ctx, widow, &[], store, &[]);
        self.b.switch_to_block(widow);
        let pc = self.iconst(self.abs_pc(next));
        self.call_helper(self.sigs.h3_void, self.h.widow, &[self.vm, self.fp, pc]);
        self.reload();
        self.jump(store, &[]);
        self.b.switch_to_block(store);
        self.store_frame(v, self.local_off(0));
        let st = self.iconst(status::NORMAL as i64);
        self.exit_with(st);
        self.stack.clear();
        self.terminated = true;
    }
}
