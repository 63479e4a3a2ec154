//! Everything native code reads or writes by address: the one place that fixes the memory layout
//! shared by the interpreter and compiled code.
//!
//! The interpreter and the JIT run the same activations. Compiled code receives a `*mut Vm` and the
//! address of a frame on the VM stack, and from then on it works with raw addresses and the
//! offsets below, so every structure it touches is `#[repr(C)]`, lives in memory that never moves
//! while the VM lives, and has its offsets computed here with `offset_of!` (never written by
//! hand elsewhere). The tests at the bottom pin sizes and offsets: a change that moves a field
//! breaks them, and with them every translator that hard-codes the old layout.
//!
//! ```text
//!   *mut Vm ──► Vm { …, rt: Runtime @ VM_RUNTIME, regs: Registers @ VM_REGS, … }
//!
//!   Runtime (repr(C), refreshed at every entry from Rust and after every collection)
//!     stack_base ──────► VM stack: Word[STACK_WORDS]             (never moves)
//!     stack_limit        words; a frame may not reach past it
//!     interrupt_flag ──► AtomicBool (u8) set by Ctrl-C           (poll: non-zero = stop)
//!     heap_base ───────► heap space: an Oop is a byte offset from here (moves at collections)
//!     code_base ───────► code arena: u8[CODE_BYTES]              (never moves)
//!     cells_base ──────► IcCell[CELL_CAPACITY]                   (never moves)
//!     infos_base ──────► MethodInfo[METHOD_CAPACITY], by MethodId (never moves)
//! ```
//!
//! # Frames
//!
//! A frame on the VM stack (indices are word indices from `stack_base`; `fp` points at the
//! header, `bp` at the receiver):
//!
//! ```text
//!   bp + 0            receiver (blocks: the closure's receiver)
//!   bp + 1 ..= n      arguments
//!   fp = bp + n + 1   FrameHeader (FRAME_HEADER_WORDS words, see below)
//!   fp + H ..         temporaries (blocks: copied values first), then the operand stack
//!
//!   FrameHeader           word  holds
//!     caller_fp           0     SmallInteger: the caller's fp; -1 in a base frame (entered from Rust)
//!     return_pc           1     SmallInteger: absolute code-arena pc where the caller continues
//!     method              2     the CompiledMethod / CompiledBlock object (keeps it alive)
//!     frame_info          3     SmallInteger: first cell << 28 | method id << 8 | number of arguments
//!     closure             4     the closure of a block activation, else nil
//!     context             5     the activation's Context once one was made, else nil
//! ```
//!
//! Every header word is a valid tagged word (SmallIntegers are stored as `v << 1 | 1`), because
//! the collector scans the stack as plain words. `frame_info` makes a frame self-describing: its
//! `bp` is `fp - nargs - 1`, its first cell is known and its method's [`MethodInfo`] is
//! `infos[id]`, with no trip through the heap. [`MethodInfo::frame_info`] holds the exact word to store, precomputed.
//!
//! # Sends
//!
//! Each send site owns one [`IcCell`] (cell `cell_base + k` for `Send k` in a method), at a fixed
//! address: compare the receiver's class index with `entries[i].class`, and on a hit take
//! `entries[i].method` (a method id) and, for compiled code, `entries[i].entry` (a native entry
//! address, 0 while the target has none: the JIT fills it and clears it on invalidation).
//! [`MethodInfo::native_entry`] is the method's own native entry, for the same purpose.
//!
//! # Constants
//!
//! nil, true and false are the first three objects of the heap and never move
//! ([`NIL`], [`TRUE`], [`FALSE`] are their words). SmallIntegers have tag bit 0 set; see
//! `smalt_gc` (`word.rs`, `header.rs`) for the other tags and the object header.

use crate::methods::MethodId;
use smalt_gc::Word;
use std::mem::{offset_of, size_of};

/// Bytes per word.
pub const WORD_BYTES: usize = 8;

// ---- constants -------------------------------------------------------------------------------

/// The word of nil (the first object of the heap; it never moves).
pub const NIL: u64 = 8;
/// The word of true (the second object; it never moves).
pub const TRUE: u64 = 16;
/// The word of false (the third object; it never moves).
pub const FALSE: u64 = 24;

/// nil as a [`Word`].
pub const NIL_WORD: Word = Word::from_raw(NIL);
/// true as a [`Word`].
pub const TRUE_WORD: Word = Word::from_raw(TRUE);
/// false as a [`Word`].
pub const FALSE_WORD: Word = Word::from_raw(FALSE);

/// Capacity of the VM stack in words (128 MiB of address space, mapped on first touch).
pub const STACK_WORDS: usize = 1 << 24;
/// Capacity of the code arena in bytes (64 MiB of address space).
pub const CODE_BYTES: usize = 1 << 26;
/// Capacity of the method side table (method ids), never reallocated.
pub const METHOD_CAPACITY: usize = 1 << 19;
/// Capacity of the inline-cache cell arena, never reallocated.
pub const CELL_CAPACITY: usize = 1 << 22;

// ---- frames ----------------------------------------------------------------------------------

/// The header of a frame, between the arguments and the temporaries.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FrameHeader {
    /// SmallInteger: the caller's fp, or [`BASE_MARKER`] in a base frame.
    pub caller_fp: Word,
    /// SmallInteger: absolute code-arena pc at which the caller continues.
    pub return_pc: Word,
    /// The running CompiledMethod or CompiledBlock.
    pub method: Word,
    /// SmallInteger: first cell, method id and number of arguments (see [`frame_info`]).
    pub frame_info: Word,
    /// The closure of a block activation, else nil.
    pub closure: Word,
    /// The Context of this activation once one was asked for, else nil.
    pub context: Word,
}

/// Words in a frame header. Part of the bytecode format: compiled local indices skip them.
pub const FRAME_HEADER_WORDS: usize = size_of::<FrameHeader>() / WORD_BYTES;

/// Header word (fp-relative index): the caller's fp.
pub const CALLER_FP: usize = offset_of!(FrameHeader, caller_fp) / WORD_BYTES;
/// Header word: the caller's pc.
pub const RETURN_PC: usize = offset_of!(FrameHeader, return_pc) / WORD_BYTES;
/// Header word: the running method or block code.
pub const METHOD: usize = offset_of!(FrameHeader, method) / WORD_BYTES;
/// Header word: method id and argument count.
pub const FRAME_INFO: usize = offset_of!(FrameHeader, frame_info) / WORD_BYTES;
/// Header word: the closure of a block activation, else nil.
pub const CLOSURE: usize = offset_of!(FrameHeader, closure) / WORD_BYTES;
/// Header word: the activation's Context, else nil.
pub const CONTEXT: usize = offset_of!(FrameHeader, context) / WORD_BYTES;
/// First temporary, relative to fp.
pub const TEMPS: usize = FRAME_HEADER_WORDS;

/// CALLER_FP value (as an integer) of a base frame.
pub const BASE_MARKER: i64 = -1;

/// The FRAME_INFO word of an activation of method `id` with `nargs` arguments whose first
/// inline-cache cell is `cells`. As a SmallInteger its value is
///
/// ```text
///   bits 0..7    number of arguments
///   bits 8..27   method id          (METHOD_CAPACITY = 2^19 ids)
///   bits 28..49  first cell index   (CELL_CAPACITY = 2^22 cells)
/// ```
///
/// so a return finds everything it restores in the caller's header (`bp`, the cells) without
/// reading the info table, and stack walks find the method id.
#[inline]
pub const fn frame_info(id: MethodId, nargs: usize, cells: usize) -> Word {
    Word::from_raw(
        ((cells as u64 & 0x3F_FFFF) << 29)
            | ((id.0 as u64 & 0xF_FFFF) << 9)
            | ((nargs as u64 & 0xFF) << 1)
            | 1,
    )
}

/// The method id in a FRAME_INFO word.
#[inline(always)]
pub const fn frame_info_method(w: Word) -> MethodId {
    MethodId(((w.raw() >> 9) & 0xF_FFFF) as u32)
}

/// The first cell index in a FRAME_INFO word.
#[inline(always)]
pub const fn frame_info_cells(w: Word) -> usize {
    (w.raw() >> 29) as usize
}

/// The argument count in a FRAME_INFO word.
#[inline(always)]
pub const fn frame_info_nargs(w: Word) -> usize {
    ((w.raw() >> 1) & 0xFF) as usize
}

// ---- inline caches ---------------------------------------------------------------------------

/// One (class, method) pair of an inline cache.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IcEntry {
    /// Receiver class index (0 = empty entry).
    pub class: u32,
    /// The method id found for it.
    pub method: u32,
    /// Native entry address of that method for compiled callers, 0 = none (the interpreter
    /// ignores it; the JIT fills it and clears it when the code goes away).
    pub entry: u64,
}

/// Number of entries of a polymorphic cache before the site goes megamorphic.
pub const PIC_SIZE: usize = 4;

/// State of a send site.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IcState {
    /// Never executed.
    #[default]
    Empty = 0,
    /// One receiver class seen.
    Monomorphic = 1,
    /// Two to [`PIC_SIZE`] classes seen.
    Polymorphic = 2,
    /// More: the site uses the global lookup cache only.
    Megamorphic = 3,
}

/// The inline-cache cell of one send site (also the type feedback the JIT reads).
///
/// A hit is `entries[0].class == class` (monomorphic) or any `entries[i].class == class`
/// (polymorphic). Empty entries have class 0, which no receiver has. Cells of dead methods are
/// reused by later methods.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default)]
pub struct IcCell {
    /// Cached (class, method, entry) triples; entry 0 is the monomorphic one.
    pub entries: [IcEntry; PIC_SIZE],
    /// The site's selector (a root, updated by the collector), or INVALID for a literal that
    /// is not a send site.
    pub selector: Word,
    /// The selector's argument count.
    pub nargs: u8,
    /// Site state.
    pub state: IcState,
    /// Unused (padding).
    pub reserved: u16,
    /// Misses so far.
    pub misses: u32,
}

/// Byte offset of `entries[i].class` in a cell.
pub const fn cell_entry_class(i: usize) -> usize {
    offset_of!(IcCell, entries) + i * size_of::<IcEntry>() + offset_of!(IcEntry, class)
}
/// Byte offset of `entries[i].method` in a cell.
pub const fn cell_entry_method(i: usize) -> usize {
    offset_of!(IcCell, entries) + i * size_of::<IcEntry>() + offset_of!(IcEntry, method)
}
/// Byte offset of `entries[i].entry` in a cell.
pub const fn cell_entry_native(i: usize) -> usize {
    offset_of!(IcCell, entries) + i * size_of::<IcEntry>() + offset_of!(IcEntry, entry)
}
/// Byte offset of a cell's selector.
pub const CELL_SELECTOR: usize = offset_of!(IcCell, selector);
/// Byte offset of a cell's argument count (u8).
pub const CELL_NARGS: usize = offset_of!(IcCell, nargs);
/// Byte offset of a cell's state (u8, an [`IcState`]).
pub const CELL_STATE: usize = offset_of!(IcCell, state);
/// Size of a cell in bytes (the stride of the cell arena).
pub const CELL_SIZE: usize = size_of::<IcCell>();

// ---- method infos ----------------------------------------------------------------------------

/// How a method runs when it is sent: most push a frame; a primitive method runs its primitive
/// first; methods whose whole body answers the receiver, an instance variable or a constant run
/// without a frame (Cog's "quick methods").
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activation {
    /// An ordinary method: push a frame and run the bytecodes.
    #[default]
    Frame = 0,
    /// A setter (`x: v  x := v`, answering the receiver): stores its argument into instance
    /// variable `quick_arg`. It runs as an ordinary method (a frame) everywhere except at
    /// native send sites that saw it, which do the store inline (see `docs/jit.md`).
    Setter = 1,
    /// Run [`MethodInfo::prim_fn`] first; its bytecodes if it fails.
    Primitive = 2,
    /// Answers the receiver.
    ReturnSelf = 3,
    /// Answers instance variable `quick_arg` of the receiver.
    ReturnInstVar = 4,
    /// Answers literal `quick_arg` of the method.
    ReturnLiteral = 5,
    /// Answers [`MethodInfo::quick_value`] (an immediate, nil, true or false).
    ReturnConstant = 6,
}

/// Kinds of [`Activation`] (the size of tables indexed by one).
pub const ACTIVATION_KINDS: usize = 7;

impl Activation {
    /// Whether the method runs without a frame.
    pub fn is_quick(self) -> bool {
        self as u8 >= Activation::ReturnSelf as u8
    }
}

/// Rust-side data of one compiled method or block, indexed by [`MethodId`].
///
/// The first 64 bytes are what an activation reads; the JIT reads the same fields.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug)]
pub struct MethodInfo {
    /// The method object (a weak root: nil once it died; INVALID for a free id).
    pub method: Word,
    /// The FRAME_INFO word of this method's frames (see [`frame_info`]).
    pub frame_info: Word,
    /// Offset of the first bytecode in the code arena.
    pub code_start: usize,
    /// Index of send site 0's cell in the cell arena.
    pub cell_base: usize,
    /// Frame slots after the header (blocks: copied values included).
    pub num_temps: usize,
    /// Words an activation may use above its arguments: header, temporaries, operand stack and
    /// the slack the VM needs for the sends it inserts.
    pub frame_words: usize,
    /// The primitive's function (looked up once at registration), if any.
    pub prim_fn: Option<crate::prims::PrimFn>,
    /// Times the method was entered (type feedback and tiering for the JIT).
    pub invocations: u32,
    /// How the method runs when sent (a frame, a primitive, or a quick answer).
    pub activation: Activation,
    /// `objects::FLAG_*` bits.
    pub flags: u8,
    /// Instance-variable or literal index of a quick method.
    pub quick_arg: u16,
    // ---- second cache line ----
    /// Number of arguments.
    pub num_args: usize,
    /// Copied values (blocks).
    pub num_copied: usize,
    /// Max operand-stack depth.
    pub max_stack: usize,
    /// Number of bytecodes.
    pub code_len: usize,
    /// Number of literals.
    pub num_literals: usize,
    /// Native code entry address, 0 = none (for the JIT).
    pub native_entry: u64,
    /// The answer of a [`Activation::ReturnConstant`] method (never a movable object).
    pub quick_value: Word,
    /// Primitive number, 0 for none.
    pub primitive: u16,
    /// Number of send sites (and cells, from `cell_base` on).
    pub num_sites: u32,
}

/// Byte offsets of the [`MethodInfo`] fields native code reads.
pub mod info {
    use super::MethodInfo;
    use std::mem::{offset_of, size_of};
    /// The method object.
    pub const METHOD: usize = offset_of!(MethodInfo, method);
    /// The FRAME_INFO word.
    pub const FRAME_INFO: usize = offset_of!(MethodInfo, frame_info);
    /// Code start (usize).
    pub const CODE_START: usize = offset_of!(MethodInfo, code_start);
    /// First cell (usize).
    pub const CELL_BASE: usize = offset_of!(MethodInfo, cell_base);
    /// Temporaries (usize).
    pub const NUM_TEMPS: usize = offset_of!(MethodInfo, num_temps);
    /// Frame words (usize).
    pub const FRAME_WORDS: usize = offset_of!(MethodInfo, frame_words);
    /// Invocation counter (u32).
    pub const INVOCATIONS: usize = offset_of!(MethodInfo, invocations);
    /// How the method runs (u8, an [`super::Activation`]).
    pub const ACTIVATION: usize = offset_of!(MethodInfo, activation);
    /// Flags (u8).
    pub const FLAGS: usize = offset_of!(MethodInfo, flags);
    /// Arguments (usize).
    pub const NUM_ARGS: usize = offset_of!(MethodInfo, num_args);
    /// Copied values (usize).
    pub const NUM_COPIED: usize = offset_of!(MethodInfo, num_copied);
    /// Native entry (u64).
    pub const NATIVE_ENTRY: usize = offset_of!(MethodInfo, native_entry);
    /// Primitive number (u16).
    pub const PRIMITIVE: usize = offset_of!(MethodInfo, primitive);
    /// Instance-variable or literal index of a quick method (u16).
    pub const QUICK_ARG: usize = offset_of!(MethodInfo, quick_arg);
    /// The answer of a constant quick method (a word).
    pub const QUICK_VALUE: usize = offset_of!(MethodInfo, quick_value);
    /// Size in bytes (the stride of the info table).
    pub const SIZE: usize = size_of::<MethodInfo>();
}

// ---- the VM state native code reaches --------------------------------------------------------

/// The interpreter registers, saved in `Vm::regs` whenever the interpreter loop is not running
/// (before a primitive, a collection or a stack walk) and for compiled code before a call out.
/// All are word or byte indices, not addresses.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    /// Base of the current frame (the receiver's slot).
    pub bp: usize,
    /// Frame header of the current frame.
    pub fp: usize,
    /// Next free stack slot.
    pub sp: usize,
    /// Absolute pc in the code arena.
    pub pc: usize,
    /// Index of the current method's first inline-cache cell.
    pub cells: usize,
}

/// Addresses and limits native code needs, kept current by the VM (`Vm::rt`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Runtime {
    /// Address of VM stack word 0.
    pub stack_base: usize,
    /// The stack limit in words: an activation whose frame would reach past it raises a
    /// StackOverflow instead (raised into the headroom while one is being handled).
    pub stack_limit: usize,
    /// Address of the interrupt flag (an `AtomicBool`: non-zero when Ctrl-C was pressed).
    pub interrupt_flag: usize,
    /// Address of heap word 0: an object reference is a byte offset from here. Changes at
    /// every collection; reload it after any call that may collect.
    pub heap_base: usize,
    /// Address of code-arena byte 0.
    pub code_base: usize,
    /// Address of cell 0.
    pub cells_base: usize,
    /// Address of the info of method id 0.
    pub infos_base: usize,
}

/// Byte offsets in [`Runtime`].
pub mod runtime {
    use super::Runtime;
    use std::mem::offset_of;
    /// Stack base address.
    pub const STACK_BASE: usize = offset_of!(Runtime, stack_base);
    /// Stack limit (words).
    pub const STACK_LIMIT: usize = offset_of!(Runtime, stack_limit);
    /// Interrupt flag address.
    pub const INTERRUPT_FLAG: usize = offset_of!(Runtime, interrupt_flag);
    /// Heap base address.
    pub const HEAP_BASE: usize = offset_of!(Runtime, heap_base);
    /// Code arena address.
    pub const CODE_BASE: usize = offset_of!(Runtime, code_base);
    /// Cell arena address.
    pub const CELLS_BASE: usize = offset_of!(Runtime, cells_base);
    /// Info table address.
    pub const INFOS_BASE: usize = offset_of!(Runtime, infos_base);
}

/// Byte offsets in [`Registers`].
pub mod regs {
    use super::Registers;
    use std::mem::offset_of;
    /// bp.
    pub const BP: usize = offset_of!(Registers, bp);
    /// fp.
    pub const FP: usize = offset_of!(Registers, fp);
    /// sp.
    pub const SP: usize = offset_of!(Registers, sp);
    /// pc.
    pub const PC: usize = offset_of!(Registers, pc);
    /// cells.
    pub const CELLS: usize = offset_of!(Registers, cells);
}

/// Byte offset of `Vm::rt` (the [`Runtime`]) from a `*const Vm`.
pub const VM_RUNTIME: usize = offset_of!(crate::Vm, rt);
/// Byte offset of `Vm::regs` (the saved [`Registers`]) from a `*const Vm`.
pub const VM_REGS: usize = offset_of!(crate::Vm, regs);
/// Byte offset of `Vm::heap` (the `Heap`; its fields native code reads and writes are at
/// the offsets of `smalt_gc::layout`: `HEAP_TOP` …) from a `*const Vm`.
pub const VM_HEAP: usize = offset_of!(crate::Vm, heap);
/// Byte offset of `Vm::native` (the [`crate::tier::NativeRuntime`]) from a `*const Vm`.
pub const VM_NATIVE: usize = offset_of!(crate::Vm, native);

/// Byte offsets in [`crate::tier::NativeRuntime`].
pub mod native {
    use crate::tier::NativeRuntime;
    use std::mem::offset_of;
    /// The machine-stack limit for native code.
    pub const STACK_LIMIT: usize = offset_of!(NativeRuntime, stack_limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_words() {
        assert_eq!(FRAME_HEADER_WORDS, 6);
        assert_eq!(
            [CALLER_FP, RETURN_PC, METHOD, FRAME_INFO, CLOSURE, CONTEXT],
            [0, 1, 2, 3, 4, 5]
        );
        assert_eq!(TEMPS, 6);
        assert_eq!(crate::bytecode::FRAME_HEADER_WORDS, FRAME_HEADER_WORDS);
    }

    #[test]
    fn frame_info_round_trips_and_is_a_small_integer() {
        for (id, n, c) in [
            (1, 0, 0),
            (7, 3, 12345),
            (METHOD_CAPACITY as u32 - 1, 255, CELL_CAPACITY - 1),
        ] {
            let w = frame_info(MethodId(id), n, c);
            assert!(w.is_small_int());
            assert_eq!(frame_info_method(w), MethodId(id));
            assert_eq!(frame_info_nargs(w), n);
            assert_eq!(frame_info_cells(w), c);
            assert_eq!(
                w.as_small_int(),
                Some((c as i64) << 28 | i64::from(id) << 8 | n as i64)
            );
        }
        const { assert!(METHOD_CAPACITY <= 1 << 20 && CELL_CAPACITY <= 1 << 22) };
    }

    #[test]
    fn cell_layout() {
        assert_eq!(size_of::<IcEntry>(), 16);
        assert_eq!(CELL_SIZE, 80);
        assert_eq!(std::mem::align_of::<IcCell>(), 16);
        assert_eq!(
            [
                cell_entry_class(0),
                cell_entry_method(0),
                cell_entry_native(0)
            ],
            [0, 4, 8]
        );
        assert_eq!(
            [
                cell_entry_class(3),
                cell_entry_method(3),
                cell_entry_native(3)
            ],
            [48, 52, 56]
        );
        assert_eq!([CELL_SELECTOR, CELL_NARGS, CELL_STATE], [64, 72, 73]);
        assert_eq!(offset_of!(IcCell, misses), 76);
        assert_eq!(size_of::<IcState>(), 1);
    }

    #[test]
    fn method_info_layout() {
        assert_eq!(info::SIZE, 128);
        assert_eq!(std::mem::align_of::<MethodInfo>(), 64);
        assert_eq!(
            [
                info::METHOD,
                info::FRAME_INFO,
                info::CODE_START,
                info::CELL_BASE,
                info::NUM_TEMPS,
                info::FRAME_WORDS,
                info::INVOCATIONS,
                info::ACTIVATION,
                info::FLAGS,
            ],
            [0, 8, 16, 24, 32, 40, 56, 60, 61]
        );
        assert_eq!(offset_of!(MethodInfo, prim_fn), 48);
        assert_eq!(size_of::<Option<crate::prims::PrimFn>>(), 8);
        assert_eq!(
            [
                info::NUM_ARGS,
                info::NUM_COPIED,
                info::NATIVE_ENTRY,
                info::PRIMITIVE
            ],
            [64, 72, 104, 120]
        );
        assert_eq!([info::QUICK_ARG, info::QUICK_VALUE], [62, 112]);
    }

    #[test]
    fn runtime_and_registers_layout() {
        assert_eq!(size_of::<Runtime>(), 7 * 8);
        assert_eq!(
            [
                runtime::STACK_BASE,
                runtime::STACK_LIMIT,
                runtime::INTERRUPT_FLAG,
                runtime::HEAP_BASE,
                runtime::CODE_BASE,
                runtime::CELLS_BASE,
                runtime::INFOS_BASE
            ],
            [0, 8, 16, 24, 32, 40, 48]
        );
        assert_eq!(
            [regs::BP, regs::FP, regs::SP, regs::PC, regs::CELLS],
            [0, 8, 16, 24, 32]
        );
        assert_eq!(size_of::<std::sync::atomic::AtomicBool>(), 1);
        assert_eq!(native::STACK_LIMIT, 0);
    }

    #[test]
    fn constants_are_the_first_objects() {
        let vm = crate::Vm::new_kernel(crate::VmOptions::default()).unwrap();
        assert_eq!(vm.nil(), NIL_WORD);
        assert_eq!(vm.true_obj(), TRUE_WORD);
        assert_eq!(vm.false_obj(), FALSE_WORD);
    }

    #[test]
    fn runtime_addresses_match_the_vm() {
        let mut vm = crate::Vm::new_kernel(crate::VmOptions::default()).unwrap();
        vm.refresh_runtime();
        let rt = vm.rt;
        assert_eq!(rt.stack_base, vm.stack.base_address());
        assert_eq!(rt.code_base, vm.methods.code.base_address());
        assert_eq!(rt.cells_base, vm.methods.cells.base_address());
        assert_eq!(rt.infos_base, vm.methods.infos.base_address());
        assert_eq!(rt.heap_base, vm.heap.base_address());
        assert_eq!(
            rt.interrupt_flag,
            std::sync::Arc::as_ptr(&vm.interrupt) as usize
        );
        // The arenas never move: registering methods keeps every base.
        vm.compile_and_install(
            vm.class_at(crate::objects::class_index::OBJECT),
            "foo ^1",
            "t",
        )
        .unwrap();
        vm.refresh_runtime();
        assert_eq!(vm.rt.cells_base, rt.cells_base);
        assert_eq!(vm.rt.infos_base, rt.infos_base);
        assert_eq!(vm.rt.code_base, rt.code_base);
    }
}
