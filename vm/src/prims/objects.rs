//! Primitives of Object, classes, Arrays and other pointer objects, and reflection.

use super::{Prim, PrimDef, done, prim_try, vm_try};
use crate::objects::{class, class_index as ci, method, method_dict};
use crate::vm::{Vm, VmError};
use smalt_gc::{ClassIndex, Format, Oop, Word};

fn object_class(vm: &mut Vm, n: usize) -> Prim {
    Prim::Done(vm.class_of(vm.rcv(n)))
}

fn object_identical(vm: &mut Vm, n: usize) -> Prim {
    if n != 1 {
        return Prim::Fail;
    }
    Prim::Done(vm.boolean(vm.arg(1, 0) == vm.arg(1, 1)))
}

fn object_identity_hash(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    Prim::Done(Word::small_int(identity_hash(vm, w)))
}

/// The object behind `w` if it may be changed: not an immediate, not read-only.
pub(crate) fn writable(vm: &Vm, w: Word) -> Option<Oop> {
    w.as_oop().filter(|o| !vm.heap.is_read_only(*o))
}

/// `isReadOnlyObject`: whether the primitives refuse to change the receiver. Immediates are
/// read-only; so are literals, symbols and numbers.
fn object_is_read_only(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let ro = w.as_oop().is_none_or(|o| vm.heap.is_read_only(o));
    Prim::Done(vm.boolean(ro))
}

/// `beReadOnlyObject` / `beWritableObject`: answers whether the receiver was read-only.
/// Symbols, numbers and immediates stay read-only.
fn object_set_read_only(vm: &mut Vm, n: usize, read_only: bool) -> Prim {
    let w = vm.rcv(n);
    let Some(o) = w.as_oop() else {
        return Prim::Done(vm.true_obj());
    };
    let was = vm.heap.is_read_only(o);
    let value_class = matches!(
        vm.heap.header(o).class_index(),
        ci::SYMBOL | ci::LARGE_POSITIVE | ci::LARGE_NEGATIVE | ci::BOXED_FLOAT
    );
    if !value_class {
        vm.heap.set_read_only(o, read_only);
    }
    Prim::Done(vm.boolean(was))
}

fn object_be_read_only(vm: &mut Vm, n: usize) -> Prim {
    object_set_read_only(vm, n, true)
}

fn object_be_writable(vm: &mut Vm, n: usize) -> Prim {
    object_set_read_only(vm, n, false)
}

/// The identity hash of any value (immediates hash by value).
pub(crate) fn identity_hash(vm: &mut Vm, w: Word) -> i64 {
    match w.as_oop() {
        Some(o) => i64::from(vm.heap.identity_hash(o)),
        None => ((w.raw() >> 1) & 0x3FFF_FFFF_FFFF) as i64,
    }
}

/// The number of named instance variables of objects of the receiver's class.
fn inst_size_of(vm: &Vm, w: Word) -> usize {
    vm.instance_spec(vm.class_of(w))
        .map(|s| s.inst_size)
        .unwrap_or(0)
}

/// The number of pointer slots that Smalltalk may read by `instVarAt:` (named + indexed).
fn pointer_slots(vm: &Vm, o: Oop) -> usize {
    let f = vm.heap.format(o);
    if f.is_pointers() {
        vm.heap.num_slots(o)
    } else {
        0
    }
}

/// How reflection wants to touch an object's slots.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// The number of leading slots of `o` that reflection (`instVarAt:`, `instVarNamed:`,
/// `at:put:`, `replaceFrom:…`) may not touch, because the VM trusts what they hold and reads
/// them without checks: a class's own slots (its superclass, method dictionary, shape, …), the
/// whole of a method dictionary (the globals too), and the slots of closures and contexts,
/// which may be read but not written. Compiled code cannot name these slots either: their
/// instance-variable names are not identifiers (see `bootstrap.rs`).
pub(crate) fn protected_slots(vm: &Vm, o: Oop, access: Access) -> usize {
    match vm.heap.header(o).class_index() {
        ci::METHOD_DICTIONARY | ci::SYSTEM_DICTIONARY => vm.heap.num_slots(o),
        ci::CONTEXT | ci::BLOCK | ci::BLOCK1 | ci::BLOCK2 | ci::BLOCK3 => match access {
            Access::Read => 0,
            Access::Write => vm.heap.num_slots(o),
        },
        _ if vm.is_class_shaped(o.word()) => class::SIZE,
        _ => 0,
    }
}

/// The 0-based slot index of a 1-based `instVarAt:` index argument, if reflection may touch it.
fn inst_var_slot(vm: &Vm, n: usize, o: Oop, access: Access) -> Option<usize> {
    let i = vm.index_arg(n, 1, pointer_slots(vm, o))?;
    (i >= protected_slots(vm, o, access)).then_some(i)
}

fn object_inst_var_at(vm: &mut Vm, n: usize) -> Prim {
    let o = prim_try!(vm.rcv(n).as_oop());
    let i = prim_try!(inst_var_slot(vm, n, o, Access::Read));
    Prim::Done(vm.heap.slot(o, i))
}

fn object_inst_var_at_put(vm: &mut Vm, n: usize) -> Prim {
    let o = prim_try!(writable(vm, vm.rcv(n)));
    let i = prim_try!(inst_var_slot(vm, n, o, Access::Write));
    let v = vm.arg(n, 2);
    vm.heap.set_slot(o, i, v);
    Prim::Done(v)
}

fn inst_var_index(vm: &Vm, w: Word, name: Word) -> Option<usize> {
    let name = vm.string_value(name)?;
    let cls = vm.class_of(w);
    let ivars = vm
        .heap
        .slot(cls.as_oop()?, class::INSTANCE_VARIABLES)
        .as_oop()?;
    (0..vm.heap.num_slots(ivars))
        .find(|&i| vm.string_value(vm.heap.slot(ivars, i)).as_deref() == Some(name.as_str()))
}

fn object_inst_var_named(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let o = prim_try!(w.as_oop());
    let i = prim_try!(inst_var_index(vm, w, vm.arg(n, 1)));
    prim_try!(
        (protected_slots(vm, o, Access::Read)..pointer_slots(vm, o))
            .contains(&i)
            .then_some(())
    );
    Prim::Done(vm.heap.slot(o, i))
}

fn object_inst_var_named_put(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let o = prim_try!(writable(vm, w));
    let i = prim_try!(inst_var_index(vm, w, vm.arg(n, 1)));
    prim_try!(
        (protected_slots(vm, o, Access::Write)..pointer_slots(vm, o))
            .contains(&i)
            .then_some(())
    );
    let v = vm.arg(n, 2);
    vm.heap.set_slot(o, i, v);
    Prim::Done(v)
}

/// SOM `objectSize`: the object's size in bytes including its header (immediates: 0).
fn object_size(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let size = match w.as_oop() {
        Some(o) => 8 * (1 + vm.heap.num_slots(o)),
        None => 0,
    };
    Prim::Done(Word::from_usize(size))
}

/// `shallowCopy` / `copy`: a new object of the same class with the same slots or bytes.
fn object_shallow_copy(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let Some(o) = w.as_oop() else {
        return Prim::Done(w);
    };
    let (class, format, slots) = (
        vm.heap.header(o).class_index(),
        vm.heap.format(o),
        vm.heap.num_slots(o),
    );
    if matches!(format, Format::CompiledMethod { .. }) || class == ci::CONTEXT {
        return Prim::Fail;
    }
    let copy = vm_try!(vm.alloc(class, format, slots));
    let o = vm.rcv(n).oop();
    vm.heap.copy_slots(o, 0, copy, 0, slots);
    Prim::Done(copy.word())
}

/// The indexable part of a pointer object: (first slot, count), per the class's spec.
fn indexable_range(vm: &Vm, o: Oop) -> Option<(usize, usize)> {
    match vm.heap.format(o) {
        Format::Indexable | Format::Weak => Some((0, vm.heap.num_slots(o))),
        Format::FixedIndexable => {
            let fixed = inst_size_of(vm, o.word());
            let n = vm.heap.num_slots(o);
            Some((fixed.min(n), n.saturating_sub(fixed)))
        }
        _ => None,
    }
}

/// `at:`/`basicAt:` on indexable objects: pointers, bytes (as integers) and words.
fn object_at(vm: &mut Vm, n: usize) -> Prim {
    let o = prim_try!(vm.rcv(n).as_oop());
    match vm.heap.format(o) {
        Format::Bytes { .. } => {
            let len = vm.heap.byte_len(o);
            let i = prim_try!(vm.index_arg(n, 1, len));
            Prim::Done(Word::small_int(i64::from(vm.heap.bytes(o)[i])))
        }
        Format::Words => {
            let len = vm.heap.num_slots(o);
            let i = prim_try!(vm.index_arg(n, 1, len));
            let v = vm.heap.words(o)[i];
            done(super::word_from_big(vm, &dashu_int::IBig::from(v)))
        }
        _ => {
            let (first, len) = prim_try!(indexable_range(vm, o));
            let i = prim_try!(vm.index_arg(n, 1, len));
            prim_try!((first + i >= protected_slots(vm, o, Access::Read)).then_some(()));
            Prim::Done(vm.heap.slot(o, first + i))
        }
    }
}

fn object_at_put(vm: &mut Vm, n: usize) -> Prim {
    let o = prim_try!(writable(vm, vm.rcv(n)));
    let v = vm.arg(n, 2);
    match vm.heap.format(o) {
        // Symbols are unique by their text: they never change.
        Format::Bytes { .. } if vm.heap.header(o).class_index() == ci::SYMBOL => Prim::Fail,
        Format::Bytes { .. } => {
            let len = vm.heap.byte_len(o);
            let i = prim_try!(vm.index_arg(n, 1, len));
            let b = prim_try!(v.as_small_int().and_then(|b| u8::try_from(b).ok()));
            let old = vm.heap.bytes(o)[i];
            vm.heap.write_bytes(o, i, &[b]);
            // A String stays UTF-8: a byte that breaks the encoding is not stored.
            if (old >= 0x80 || b >= 0x80)
                && vm.is_string_like(vm.heap.header(o).class_index())
                && std::str::from_utf8(vm.heap.bytes(o)).is_err()
            {
                vm.heap.bytes_mut(o)[i] = old;
                return Prim::Fail;
            }
            Prim::Done(v)
        }
        Format::Words => {
            let len = vm.heap.num_slots(o);
            let i = prim_try!(vm.index_arg(n, 1, len));
            let x = prim_try!(v.as_small_int().and_then(|x| u64::try_from(x).ok()));
            vm.heap.words_mut(o)[i] = x;
            Prim::Done(v)
        }
        _ => {
            let (first, len) = prim_try!(indexable_range(vm, o));
            let i = prim_try!(vm.index_arg(n, 1, len));
            prim_try!((first + i >= protected_slots(vm, o, Access::Write)).then_some(()));
            vm.heap.set_slot(o, first + i, v);
            Prim::Done(v)
        }
    }
}

/// `size`/`basicSize`/SOM `length`: the number of indexable elements.
fn object_size_indexable(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let Some(o) = w.as_oop() else {
        return Prim::Done(Word::ZERO);
    };
    let size = match vm.heap.format(o) {
        Format::Bytes { .. } => vm.heap.byte_len(o),
        Format::Words => vm.heap.num_slots(o),
        _ => indexable_range(vm, o).map(|(_, n)| n).unwrap_or(0),
    };
    Prim::Done(Word::from_usize(size))
}

/// `Class>>new` / `basicNew`: a new instance with nil named variables and no indexed part.
fn class_new(vm: &mut Vm, n: usize) -> Prim {
    instantiate(vm, n, 0)
}

/// `Class>>new:` / `basicNew:`: a new instance with `size` indexed elements.
fn class_new_size(vm: &mut Vm, n: usize) -> Prim {
    let size = match vm.size_arg(n, 1) {
        Ok(size) => size,
        Err(p) => return p,
    };
    if size > smalt_gc::MAX_OBJECT_SLOTS {
        // A valid size that no heap can hold.
        return Prim::OutOfMemory;
    }
    instantiate(vm, n, size)
}

fn instantiate(vm: &mut Vm, n: usize, size: usize) -> Prim {
    let cls = vm.rcv(n);
    let (index, spec) = prim_try!(vm.class_index_and_spec(cls));
    if uninstantiable(index) {
        return Prim::Fail;
    }
    let r = match spec.format {
        Format::Bytes { .. } => vm.alloc_zero_bytes(index, size),
        _ => {
            let (format, slots) = prim_try!(pointer_shape(spec, size));
            vm.alloc(index, format, slots)
        }
    };
    done(r.map(Oop::word))
}

/// The format and slot count of an instance with `size` indexed elements, for a class whose
/// instances are not byte objects; `None` if `new:` cannot make one of that size.
fn pointer_shape(spec: crate::objects::InstanceSpec, size: usize) -> Option<(Format, usize)> {
    match spec.format {
        Format::Words => Some((Format::Words, size)),
        Format::Fixed if size > 0 => None,
        Format::Bytes { .. } | Format::CompiledMethod { .. } => None,
        f => Some((f, spec.inst_size.checked_add(size)?)),
    }
}

/// What `new` (`size` 0) or `new: size` answers for `cls` when that is a pointer or word
/// object that fits without a collection (`Heap::alloc_fast`), made as [`instantiate`] makes
/// it; `None` for anything else (byte objects, failures, a collection due, GC stress), which
/// the caller leaves to the primitive. Never collects.
pub(crate) fn instantiate_fast(vm: &mut Vm, cls: Word, size: usize) -> Option<Word> {
    let (index, spec) = vm.class_index_and_spec(cls)?;
    if uninstantiable(index) {
        return None;
    }
    let (format, slots) = pointer_shape(spec, size)?;
    vm.heap.alloc_fast(index, format, slots).map(Oop::word)
}

/// Classes whose instances `new` does not make.
fn uninstantiable(index: smalt_gc::ClassIndex) -> bool {
    // Immediates have no instances to make; symbols are unique by their text (`asSymbol`
    // makes them); closures and contexts are made by the VM, which trusts their contents;
    // nil, true and false are unique (a second true would fail every ifTrue:); classes and
    // metaclasses are made by class definitions, which register them with the VM.
    matches!(
        index,
        ci::NIL
            | ci::TRUE
            | ci::FALSE
            | ci::BOOLEAN
            | ci::CLASS
            | ci::METACLASS
            | ci::SMALL_INTEGER
            | ci::CHARACTER
            | ci::SMALL_FLOAT
            | ci::SYMBOL
            | ci::CONTEXT
            | ci::BLOCK
            | ci::BLOCK1
            | ci::BLOCK2
            | ci::BLOCK3
    )
}

fn class_name(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let name = vm.heap.slot(cls.oop(), class::NAME);
    if name != vm.nil() {
        return Prim::Done(name);
    }
    let text = vm.class_name(cls);
    done(vm.intern(&text))
}

/// `Metaclass>>soleInstance`: the class of which the receiver is the metaclass.
fn metaclass_sole_instance(vm: &mut Vm, n: usize) -> Prim {
    let meta = vm.rcv(n);
    prim_try!((vm.is_class(meta) && vm.heap.class_index_of(meta) == ci::METACLASS).then_some(()));
    Prim::Done(vm.heap.slot(meta.oop(), class::THIS_CLASS))
}

fn class_superclass(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    Prim::Done(vm.superclass(cls))
}

/// SOM `fields` / `instanceVariableNames`: an Array of Symbols, inherited first.
fn class_fields(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let ivars = vm.heap.slot(cls.oop(), class::INSTANCE_VARIABLES);
    let items: Vec<Word> = match ivars.as_oop() {
        Some(o) => vm
            .heap
            .slots(o)
            .iter()
            .map(|w| Word::from_raw(*w))
            .collect(),
        None => Vec::new(),
    };
    done(vm.new_array_from(&items))
}

/// SOM `methods`: an Array of the class's own methods.
fn class_methods(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let md = vm.heap.slot(cls.oop(), class::METHODS);
    let mut entries = vm.dict_entries(md);
    entries.sort_by_key(|(k, _)| vm.string_value(*k));
    let items: Vec<Word> = entries.into_iter().map(|(_, m)| m).collect();
    done(vm.new_array_from(&items))
}

fn class_selectors(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let md = vm.heap.slot(cls.oop(), class::METHODS);
    let mut entries = vm.dict_entries(md);
    entries.sort_by_key(|(k, _)| vm.string_value(*k));
    let items: Vec<Word> = entries.into_iter().map(|(k, _)| k).collect();
    done(vm.new_array_from(&items))
}

fn class_includes_selector(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let sel = vm.arg(n, 1);
    let md = vm.heap.slot(cls.oop(), class::METHODS);
    let found = sel.as_oop().is_some() && vm.dict_at(md, sel).is_some();
    Prim::Done(vm.boolean(found))
}

/// `Class>>lookupSelector:`: the method found for the selector along the superclass chain,
/// or nil.
fn class_lookup_selector(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let sel = vm.arg(n, 1);
    if !vm.is_symbol(sel) {
        return Prim::Done(vm.nil());
    }
    Prim::Done(vm.lookup_in(cls, sel).unwrap_or(vm.nil()))
}

fn class_remove_selector(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let sel = vm.arg(n, 1);
    prim_try!(vm.is_symbol(sel).then_some(()));
    let removed = vm.remove_method(cls, sel);
    Prim::Done(vm.boolean(removed))
}

/// `Class>>installMethod: aMethod`: installs a method object under its selector (SOM
/// reflection).
fn class_install_method(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    let m = vm.arg(n, 1);
    prim_try!(vm.is_class(cls).then_some(()));
    let mo = prim_try!(m.as_oop());
    prim_try!(matches!(vm.heap.format(mo), Format::CompiledMethod { .. }).then_some(()));
    let sel = vm.method_selector(m);
    prim_try!(vm.is_symbol(sel).then_some(()));
    // The method's code addresses the instance variables of the class it was compiled for:
    // it may only go where instances have that shape, i.e. into that class or a subclass.
    let holder = vm.method_holder(m);
    prim_try!((vm.is_class(holder) && vm.inherits_from(cls, holder)).then_some(()));
    prim_try!(
        (vm.methods.info(vm.method_id(m)).flags & crate::objects::FLAG_BLOCK == 0).then_some(())
    );
    let mark = vm.handle_mark();
    let hc = vm.push_handle(cls);
    let hs = vm.push_handle(sel);
    let hm = vm.push_handle(m);
    let r = vm.install_method(hc, hs, hm);
    vm.release_handles(mark);
    vm_try!(r);
    Prim::Done(vm.rcv(n))
}

/// `Class>>compile: aString`: compiles a method in the class and installs it; answers the
/// method's selector, or fails (the Smalltalk side then signals the compile error).
fn class_compile(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let src = prim_try!(vm.string_value(vm.arg(n, 1)));
    match vm.compile_and_install(cls, &src, "<compile:>") {
        Ok(sel) => Prim::Done(sel),
        Err(VmError::Load(msg)) => {
            vm.last_compile_error = msg;
            Prim::Fail
        }
        Err(e) => Prim::Error(e),
    }
}

/// `Object>>respondsTo: aSymbol`.
fn object_responds_to(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let sel = vm.arg(n, 1);
    if !vm.is_symbol(sel) {
        return Prim::Done(vm.false_obj());
    }
    let cls = vm.class_of(w);
    let found = vm.lookup_in(cls, sel).is_some();
    Prim::Done(vm.boolean(found))
}

/// `Object>>isKindOf: aClass`.
fn object_is_kind_of(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.class_of(vm.rcv(n));
    let other = vm.arg(n, 1);
    Prim::Done(vm.boolean(vm.inherits_from(cls, other)))
}

/// `Array>>replaceFrom: start to: stop with: replacement startingAt: repStart` for pointer
/// and byte objects of the same kind.
fn object_replace_from(vm: &mut Vm, n: usize) -> Prim {
    if n != 4 {
        return Prim::Fail;
    }
    let dst = prim_try!(writable(vm, vm.arg(4, 0)));
    let src = prim_try!(vm.arg(4, 3).as_oop());
    let start = prim_try!(vm.int_arg(4, 1));
    let stop = prim_try!(vm.int_arg(4, 2));
    let rep = prim_try!(vm.int_arg(4, 4));
    if start < 1 || rep < 1 || stop < start - 1 {
        return Prim::Fail;
    }
    let count = (stop - start + 1) as usize;
    let (df, sf) = (vm.heap.format(dst), vm.heap.format(src));
    if df.is_bytes() && sf.is_bytes() {
        if vm.heap.header(dst).class_index() == ci::SYMBOL {
            return Prim::Fail; // symbols never change
        }
        let (dl, sl) = (vm.heap.byte_len(dst), vm.heap.byte_len(src));
        if stop as usize > dl || rep as usize - 1 + count > sl {
            return Prim::Fail;
        }
        let bytes = vm.heap.bytes(src)[rep as usize - 1..rep as usize - 1 + count].to_vec();
        vm.heap.write_bytes(dst, start as usize - 1, &bytes);
        return Prim::Done(dst.word());
    }
    let (d0, dn) = prim_try!(indexable_range(vm, dst));
    let (s0, sn) = prim_try!(indexable_range(vm, src));
    if stop as usize > dn
        || rep as usize - 1 + count > sn
        || (count > 0 && d0 + start as usize - 1 < protected_slots(vm, dst, Access::Write))
        || (count > 0 && s0 + rep as usize - 1 < protected_slots(vm, src, Access::Read))
    {
        return Prim::Fail;
    }
    let items: Vec<Word> = (0..count)
        .map(|i| vm.heap.slot(src, s0 + rep as usize - 1 + i))
        .collect();
    for (i, w) in items.into_iter().enumerate() {
        vm.heap.set_slot(dst, d0 + start as usize - 1 + i, w);
    }
    Prim::Done(dst.word())
}

/// `Method>>signature` / `selector`.
fn method_selector(vm: &mut Vm, n: usize) -> Prim {
    let m = vm.rcv(n);
    prim_try!(is_method(vm, m).then_some(()));
    Prim::Done(vm.method_selector(m))
}

/// `Method>>holder`.
fn method_holder(vm: &mut Vm, n: usize) -> Prim {
    let m = vm.rcv(n);
    prim_try!(is_method(vm, m).then_some(()));
    Prim::Done(vm.method_holder(m))
}

fn method_num_args(vm: &mut Vm, n: usize) -> Prim {
    let m = vm.rcv(n);
    prim_try!(is_method(vm, m).then_some(()));
    let id = vm.method_id(m);
    Prim::Done(Word::from_usize(vm.methods.info(id).num_args))
}

/// `Method>>primitiveName`: the name of the method's primitive (a Symbol), or nil.
fn method_primitive_name(vm: &mut Vm, n: usize) -> Prim {
    method_debug_slot(vm, n, crate::objects::debug::PRIMITIVE)
}

/// `Method>>sourceCode`: the method's source text, or nil.
fn method_source(vm: &mut Vm, n: usize) -> Prim {
    method_debug_slot(vm, n, crate::objects::debug::SOURCE)
}

/// Slot `slot` of the receiver method's debug info, or nil without debug info.
fn method_debug_slot(vm: &mut Vm, n: usize, slot: usize) -> Prim {
    let m = vm.rcv(n);
    prim_try!(is_method(vm, m).then_some(()));
    match vm.method_trailer(m, 0).as_oop() {
        Some(d) => Prim::Done(vm.heap.slot(d, slot)),
        None => Prim::Done(vm.nil()),
    }
}

/// `Method>>literalAt: i`: literal i (1-based) of the method's literal frame.
fn method_literal_at(vm: &mut Vm, n: usize) -> Prim {
    let m = vm.rcv(n);
    prim_try!(is_method(vm, m).then_some(()));
    let count = vm.methods.info(vm.method_id(m)).num_literals;
    let i = prim_try!(vm.index_arg(n, 1, count));
    Prim::Done(vm.heap.slot(m.oop(), method::FIRST_LITERAL + i))
}

pub(crate) fn is_method(vm: &Vm, m: Word) -> bool {
    m.as_oop().is_some_and(|o| {
        matches!(vm.heap.format(o), Format::CompiledMethod { .. }) && vm.method_id(m).0 != 0
    })
}

/// `SystemDictionary>>at:` (the globals): the value or nil... fails if absent so the Smalltalk
/// side can decide.
fn globals_at(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    if !vm.is_symbol(key) {
        return Prim::Fail;
    }
    match vm.global_binding(key) {
        Some(b) => Prim::Done(vm.heap.slot(b.oop(), crate::objects::association::VALUE)),
        None => Prim::Fail,
    }
}

fn globals_at_put(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    let name = prim_try!(vm.is_symbol(key).then(|| vm.string_value(key)).flatten());
    let v = vm.arg(n, 2);
    vm_try!(vm.set_global(&name, v));
    Prim::Done(vm.arg(n, 2))
}

fn globals_includes_key(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    let found = vm.is_symbol(key) && vm.global_binding(key).is_some();
    Prim::Done(vm.boolean(found))
}

fn globals_keys(vm: &mut Vm, n: usize) -> Prim {
    let _ = n;
    let d = vm.special(crate::vm::sp::GLOBALS);
    let mut keys: Vec<Word> = vm.dict_entries(d).into_iter().map(|(k, _)| k).collect();
    keys.sort_by_key(|k| vm.string_value(*k));
    done(vm.new_array_from(&keys))
}

fn globals_remove_key(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    prim_try!(vm.is_symbol(key).then_some(()));
    let d = vm.special(crate::vm::sp::GLOBALS);
    match vm.dict_remove(d, key) {
        Some(b) => Prim::Done(vm.heap.slot(b.oop(), crate::objects::association::VALUE)),
        None => Prim::Fail,
    }
}

/// `Class>>subclass: #Name instanceVariableNames: 'a b' classInstanceVariableNames: 'c'`
/// (the last two arguments optional): defines a class at run time, or answers the existing
/// one if the definition is unchanged.
fn class_define_subclass(vm: &mut Vm, n: usize) -> Prim {
    let superclass = vm.rcv(n);
    prim_try!(vm.is_class(superclass).then_some(()));
    let name = prim_try!(vm.string_value(vm.arg(n, 1)));
    let ivars = if n >= 2 {
        prim_try!(vm.string_value(vm.arg(n, 2)))
    } else {
        String::new()
    };
    let class_ivars = if n >= 3 {
        prim_try!(vm.string_value(vm.arg(n, 3)))
    } else {
        String::new()
    };
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let valid = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !valid(&name)
        || !split(&ivars).iter().all(|v| valid(v))
        || !split(&class_ivars).iter().all(|v| valid(v))
    {
        return Prim::Fail;
    }
    match vm.define_class(
        &name,
        Some(superclass),
        &split(&ivars),
        &split(&class_ivars),
        None,
    ) {
        Ok(c) => Prim::Done(c),
        Err(VmError::Load(msg)) => {
            vm.last_compile_error = msg;
            Prim::Fail
        }
        Err(e) => Prim::Error(e),
    }
}

/// `Class>>instSize`: the number of named instance variables of the instances.
fn class_inst_size(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    let spec = prim_try!(vm.instance_spec(cls));
    Prim::Done(Word::from_usize(spec.inst_size))
}

fn class_is_indexable(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    let spec = prim_try!(vm.instance_spec(cls));
    let indexable = !matches!(spec.format, Format::Fixed);
    Prim::Done(vm.boolean(indexable))
}

/// `Object>>isClass`-style test used by printing.
fn object_is_class(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    Prim::Done(vm.boolean(vm.is_class(w)))
}

/// The number of methods of a class.
fn class_method_count(vm: &mut Vm, n: usize) -> Prim {
    let cls = vm.rcv(n);
    prim_try!(vm.is_class(cls).then_some(()));
    let md = vm.heap.slot(cls.oop(), class::METHODS).oop();
    Prim::Done(vm.heap.slot(md, method_dict::TALLY))
}

/// `Object>>allInstVarsDo`-free helper: the class index of an object (debugging).
fn object_class_index(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.rcv(n);
    let ClassIndex(i) = vm.heap.class_index_of(w);
    Prim::Done(Word::small_int(i64::from(i)))
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (&["Object>>class", "objectClass"], object_class),
    (&["Object>>==", "objectIdentical"], object_identical),
    (
        &[
            "Object>>hashcode",
            "Object>>identityHash",
            "objectIdentityHash",
        ],
        object_identity_hash,
    ),
    (
        &["Object>>instVarAt:", "objectInstVarAt"],
        object_inst_var_at,
    ),
    (
        &["Object>>instVarAt:put:", "objectInstVarAtPut"],
        object_inst_var_at_put,
    ),
    (
        &["Object>>instVarNamed:", "objectInstVarNamed"],
        object_inst_var_named,
    ),
    (
        &["Object>>instVarNamed:put:", "objectInstVarNamedPut"],
        object_inst_var_named_put,
    ),
    (&["Object>>objectSize", "objectSize"], object_size),
    (
        &["Object>>shallowCopy", "Object>>copy", "objectShallowCopy"],
        object_shallow_copy,
    ),
    (&["Object>>basicAt:", "Array>>at:", "objectAt"], object_at),
    (
        &["Object>>basicAt:put:", "Array>>at:put:", "objectAtPut"],
        object_at_put,
    ),
    (
        &[
            "Object>>basicSize",
            "Array>>length",
            "Array>>size",
            "objectBasicSize",
        ],
        object_size_indexable,
    ),
    (
        &["Object>>respondsTo:", "objectRespondsTo"],
        object_responds_to,
    ),
    (&["Object>>isKindOf:", "objectIsKindOf"], object_is_kind_of),
    (&["Object>>isClass", "objectIsClass"], object_is_class),
    (
        &["Object>>isReadOnlyObject", "objectIsReadOnly"],
        object_is_read_only,
    ),
    (
        &["Object>>beReadOnlyObject", "objectBeReadOnly"],
        object_be_read_only,
    ),
    (
        &["Object>>beWritableObject", "objectBeWritable"],
        object_be_writable,
    ),
    (&["objectClassIndex"], object_class_index),
    (
        &[
            "Array>>replaceFrom:to:with:startingAt:",
            "objectReplaceFrom",
        ],
        object_replace_from,
    ),
    (&["Class>>new", "Class>>basicNew", "classNew"], class_new),
    (
        &[
            "Class>>new:",
            "Class>>basicNew:",
            "Array class>>new:",
            "classNewSize",
        ],
        class_new_size,
    ),
    (&["Class>>name", "className"], class_name),
    (&["Class>>superclass", "classSuperclass"], class_superclass),
    (
        &["Metaclass>>soleInstance", "metaclassSoleInstance"],
        metaclass_sole_instance,
    ),
    (
        &[
            "Class>>fields",
            "Class>>instanceVariableNames",
            "classFields",
        ],
        class_fields,
    ),
    (&["Class>>methods", "classMethods"], class_methods),
    (&["Class>>selectors", "classSelectors"], class_selectors),
    (
        &["Class>>includesSelector:", "classIncludesSelector"],
        class_includes_selector,
    ),
    (
        &["Class>>lookupSelector:", "classLookupSelector"],
        class_lookup_selector,
    ),
    (
        &["Class>>removeSelector:", "classRemoveSelector"],
        class_remove_selector,
    ),
    (
        &["Class>>installMethod:", "classInstallMethod"],
        class_install_method,
    ),
    (&["Class>>compile:", "classCompile"], class_compile),
    (&["classDefineSubclass"], class_define_subclass),
    (&["Class>>instSize", "classInstSize"], class_inst_size),
    (
        &["Class>>isIndexable", "classIsIndexable"],
        class_is_indexable,
    ),
    (&["classMethodCount"], class_method_count),
    (
        &[
            "Method>>signature",
            "Method>>selector",
            "Primitive>>signature",
            "methodSelector",
        ],
        method_selector,
    ),
    (
        &["Method>>holder", "Primitive>>holder", "methodHolder"],
        method_holder,
    ),
    (&["Method>>numArgs", "methodNumArgs"], method_num_args),
    (&["Method>>sourceCode", "methodSource"], method_source),
    (
        &["Method>>primitiveName", "methodPrimitiveName"],
        method_primitive_name,
    ),
    (
        &["Method>>literalAt:", "methodLiteralAt"],
        method_literal_at,
    ),
    (&["SystemDictionary>>at:", "globalsAt"], globals_at),
    (
        &["SystemDictionary>>at:put:", "globalsAtPut"],
        globals_at_put,
    ),
    (
        &["SystemDictionary>>includesKey:", "globalsIncludesKey"],
        globals_includes_key,
    ),
    (&["SystemDictionary>>keys", "globalsKeys"], globals_keys),
    (
        &["SystemDictionary>>removeKey:", "globalsRemoveKey"],
        globals_remove_key,
    ),
];
