//! smalt-vm: the object model, bytecode set, compiler, interpreter and primitives.
#![forbid(unsafe_code)]

pub mod bytecode;
pub mod compiler;
