//! Collection primitives: conversions between Strings, Arrays of Characters and ByteArrays.
//!
//! Strings hold UTF-8, so indexing one by characters costs a scan when it is not ASCII. The
//! class library therefore works on an Array of Characters whenever it walks or builds a
//! String (streams, `collect:`, `select:`, `do:` …) and converts at the ends with these two
//! primitives, which are linear in the length of the text.

use super::{Prim, PrimDef, done, prim_try};
use crate::objects::class_index as ci;
use crate::vm::Vm;
use smalt_gc::{Format, Word};

/// `String>>asArray`: an Array holding the receiver's characters (Strings and Symbols).
fn string_as_array(vm: &mut Vm, n: usize) -> Prim {
    let count = {
        let bytes = prim_try!(vm.string_bytes(vm.rcv(n)));
        match std::str::from_utf8(bytes) {
            Ok(s) => s.chars().count(),
            Err(_) => String::from_utf8_lossy(bytes).chars().count(),
        }
    };
    let arr = match vm.new_array(count) {
        Ok(a) => a,
        Err(e) => return Prim::from(e),
    };
    // The allocation may have moved the receiver: read it again from the stack.
    let text = prim_try!(vm.string_value(vm.rcv(n)));
    for (i, c) in text.chars().enumerate().take(count) {
        vm.heap.set_slot(arr, i, Word::character(c as u32));
    }
    Prim::Done(arr.word())
}

/// `String class>>fromCharacters: anArray` and `fromCharacters: anArray count: n`: a new
/// instance of the receiver (String, a byte subclass of String, or Symbol, which interns)
/// holding the first `n` (default: all) Characters of the Array. Fails if an element is not a
/// Character.
fn string_from_characters(vm: &mut Vm, n: usize) -> Prim {
    if n != 1 && n != 2 {
        return Prim::Fail;
    }
    let cls = vm.rcv(n);
    let index = prim_try!(vm.index_of_class(cls));
    if !vm.is_string_like(index) {
        return Prim::Fail;
    }
    let arr = prim_try!(vm.arg(n, 1).as_oop());
    if vm.heap.header(arr).class_index() != ci::ARRAY {
        return Prim::Fail;
    }
    let len = vm.heap.num_slots(arr);
    let count = if n == 2 {
        let c = prim_try!(vm.int_arg(n, 2));
        prim_try!(usize::try_from(c).ok().filter(|c| *c <= len))
    } else {
        len
    };
    let mut text = String::with_capacity(count);
    for i in 0..count {
        let c = prim_try!(vm.heap.slot(arr, i).as_character().and_then(char::from_u32));
        text.push(c);
    }
    if index == ci::SYMBOL {
        return done(vm.intern(&text));
    }
    match vm.alloc_bytes(index, text.as_bytes()) {
        Ok(o) => Prim::Done(o.word()),
        Err(e) => Prim::from(e),
    }
}

/// `ByteArray>>asString`: the bytes decoded as UTF-8 (invalid sequences replaced).
fn byte_array_as_string(vm: &mut Vm, n: usize) -> Prim {
    let o = prim_try!(vm.rcv(n).as_oop());
    if !matches!(vm.heap.format(o), Format::Bytes { .. }) {
        return Prim::Fail;
    }
    let text = String::from_utf8_lossy(vm.heap.bytes(o)).into_owned();
    done(vm.new_string(&text))
}

/// `String>>asByteArray`: the UTF-8 bytes of a String or Symbol.
fn string_as_byte_array(vm: &mut Vm, n: usize) -> Prim {
    let bytes = prim_try!(vm.string_bytes(vm.rcv(n))).to_vec();
    match vm.alloc_bytes(ci::BYTE_ARRAY, &bytes) {
        Ok(o) => Prim::Done(o.word()),
        Err(e) => Prim::from(e),
    }
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (&["String>>asArray", "stringAsArray"], string_as_array),
    (&["stringFromCharacters"], string_from_characters),
    (
        &["ByteArray>>asString", "byteArrayAsString"],
        byte_array_as_string,
    ),
    (
        &["String>>asByteArray", "stringAsByteArray"],
        string_as_byte_array,
    ),
];
