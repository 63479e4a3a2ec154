//! smalt-vm: the object model, bytecode set, compiler, interpreter and primitives.
//!
//! * [`bytecode`]: the instruction set (the single table everything follows).
//! * [`compiler`]: source text to compiled code (no heap, no interpreter).
//! * [`objects`]: the layouts of kernel objects; [`bootstrap`] makes them.
//! * [`vm`]: the VM value: heap, stack, side tables, allocation at safepoints.
//! * [`frame`] and [`interp`]: frames on the VM stack and the interpreter loop.
//! * [`methods`]: the method side table and inline caches.
//! * [`memory`] and [`interrupts`]: running out of memory (the reserve) and what a poll point
//!   does when the VM's attention is needed (Ctrl-C, a deferred OutOfMemory).
//! * [`layout`]: every structure and offset compiled code uses by address.
//! * `prims`: primitives.
//! * [`install`] and [`loader`]: compiled code into the heap; class files and do-its.
//! * [`tier`]: the interface of a native-code tier (the JIT lives in `smalt-jit`).
//! * [`snapshot`]: the VM's state as plain data for images, and a VM rebuilt from it.
#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod bytecode;
pub mod compiler;
pub mod frame;
pub mod install;
pub mod interp;
pub mod interrupts;
pub mod layout;
pub mod loader;
pub mod memory;
pub mod methods;
pub mod objects;
mod prims;
mod returns;
mod send;
pub mod snapshot;
pub mod stack;
pub mod symbols;
pub mod tier;
pub mod vm;

pub use prims::{PRIMITIVE_STAMP, Prim, PrimFn, primitive_signatures};
pub use vm::{Vm, VmError, VmOptions};
