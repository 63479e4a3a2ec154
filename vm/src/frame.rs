//! Frames on the VM stack, shared by interpreted and compiled activations.
//!
//! The VM stack is a vector of tagged words that the collector scans from 0 to `sp`; nothing
//! else is parsed. The layout of a frame, and of its header, is fixed in `layout.rs` (compiled
//! code uses the same offsets); the constants are re-exported here:
//!
//! ```text
//!   bp + 0               receiver (self). For a block activation: the closure's receiver; the
//!                        caller pushed the closure there and activation replaced it.
//!   bp + 1 ..= bp + n    arguments
//!   fp = bp + n + 1      CALLER_FP   SmallInteger: the caller's fp, or -1 for a base frame
//!                                    (entered from Rust; returning from it leaves the
//!                                    interpreter loop)
//!   fp + 1               RETURN_PC   SmallInteger: absolute pc in the code arena at which the
//!                                    caller continues
//!   fp + 2               METHOD      the CompiledMethod or CompiledBlock running
//!   fp + 3               FRAME_INFO  SmallInteger: first cell << 28 | method id << 8 | n
//!                                    (so bp = fp - n - 1; see layout::frame_info)
//!   fp + 4               CLOSURE     the closure of a block activation, else nil
//!   fp + 5               CONTEXT     the Context object of this activation once someone asked
//!                                    for one (thisContext, a stack walk), else nil
//!   fp + 6 ..            temporaries (blocks: the copied values first)
//!   ...                  operand stack, up to sp
//! ```
//!
//! Local index `k` of the bytecode (`PushLocal k`) is `bp + k`; the compiler skips the header.
//!
//! **Context-to-stack mapping.** A Context made for a live frame records the frame's `fp` in
//! its FRAME slot and is remembered in the frame's CONTEXT slot. When the frame goes away
//! (return, unwinding) the context is *widowed*: FRAME becomes nil and PC keeps the last pc, so
//! it still answers its method and receiver and has a nil sender. Every frame pop checks
//! CONTEXT, so a context's FRAME is valid exactly while its frame lives.

pub use crate::layout::{
    BASE_MARKER, CALLER_FP, CLOSURE, CONTEXT, FRAME_INFO, METHOD, RETURN_PC, TEMPS, frame_info,
    frame_info_cells, frame_info_method, frame_info_nargs,
};
