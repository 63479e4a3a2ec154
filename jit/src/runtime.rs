//! The runtime entry points native code calls, and the one way Rust calls native code.
//!
//! # Invariants (unsafe code)
//!
//! * Every `rt_*` function is called only by native code made by this crate, with `vm` the
//!   `*mut Vm` that native code was entered with ([`enter`]), which points to a live VM that
//!   nothing else accesses while native code runs: the Rust caller of [`enter`] gave up its
//!   `&mut Vm` for the duration of the call. So turning `vm` into `&mut Vm` for the length of
//!   one runtime call is sound, as long as no other such reference is alive, which holds
//!   because runtime calls do not nest except through `Vm` methods (a nested [`enter`] reborrows
//!   from the runtime call's own reference).
//! * The other arguments are indices and pcs the translator computed for the frame that calls;
//!   the `Vm` methods they are passed to do their own (safe, bounds-checked) indexing.
//! * [`enter`] calls an address only if it lies inside the code memory the tier made
//!   (`NativeRuntime::code_lo..code_hi`) at a function boundary.
//!   Native code lives there as long as a frame may run it (`Jit` frees it only after checking
//!   the VM stack), and every such address is the start of a function with the entry
//!   signature `extern "C" fn(*mut Vm, u64, u64, u64) -> u64`.

use smalt_vm::Vm;
use smalt_vm::tier::status;

/// Addresses of the runtime entry points, for the translator.
#[derive(Clone, Copy, Debug)]
pub struct Helpers {
    pub send_miss: u64,
    pub primitive: u64,
    pub entry_slow: u64,
    pub interrupt: u64,
    pub widow: u64,
    pub non_local_return: u64,
    pub this_context: u64,
    pub new_array: u64,
    pub make_array: u64,
    pub push_closure: u64,
    pub push_global: u64,
    pub store_global: u64,
    pub must_be_boolean: u64,
    pub special_send: u64,
    pub super_send: u64,
    pub bridge: u64,
    pub dnu: u64,
    pub landed: u64,
    pub instantiate: u64,
    /// Eight words indexed by an immediate's tag: the "header" native code reads for an
    /// immediate, holding its class index where an object header does.
    pub immediate_headers: u64,
}

/// Read by native code as the header of an immediate, by tag (see `translate::class_of`).
static IMMEDIATE_HEADERS: [u64; 8] = {
    use smalt_gc::layout::{CLASS_MASK, IMMEDIATE_CLASSES};
    let lowest = CLASS_MASK & CLASS_MASK.wrapping_neg();
    let mut t = [0u64; 8];
    let mut tag = 0;
    while tag < 8 {
        t[tag] = ((IMMEDIATE_CLASSES >> (4 * tag)) & 15) * lowest;
        tag += 1;
    }
    t
};

impl Helpers {
    /// The addresses of this module's functions.
    pub fn new() -> Helpers {
        Helpers {
            send_miss: rt_send_miss as *const () as u64,
            primitive: rt_primitive as *const () as u64,
            entry_slow: rt_entry_slow as *const () as u64,
            interrupt: rt_interrupt as *const () as u64,
            widow: rt_widow as *const () as u64,
            non_local_return: rt_non_local_return as *const () as u64,
            this_context: rt_this_context as *const () as u64,
            new_array: rt_new_array as *const () as u64,
            make_array: rt_make_array as *const () as u64,
            push_closure: rt_push_closure as *const () as u64,
            push_global: rt_push_global as *const () as u64,
            store_global: rt_store_global as *const () as u64,
            must_be_boolean: rt_must_be_boolean as *const () as u64,
            special_send: rt_special_send as *const () as u64,
            super_send: rt_super_send as *const () as u64,
            bridge: rt_bridge as *const () as u64,
            dnu: rt_dnu as *const () as u64,
            landed: rt_landed as *const () as u64,
            instantiate: rt_instantiate as *const () as u64,
            immediate_headers: IMMEDIATE_HEADERS.as_ptr() as u64,
        }
    }
}

impl Default for Helpers {
    fn default() -> Helpers {
        Helpers::new()
    }
}

/// A native entry: `(vm, fp, mid, resume) -> status`.
type NativeFn = unsafe extern "C" fn(*mut Vm, u64, u64, u64) -> u64;

/// Calls native code (the tier's `EnterFn`): `entry` with frame `fp`, method `mid` and
/// `resume`. An address that is not code of this tier is refused with an error status.
pub fn enter(vm: &mut Vm, entry: u64, fp: usize, mid: u32, resume: u32) -> u64 {
    let addr = entry as usize;
    let inside = addr >= vm.native.code_lo && addr < vm.native.code_hi;
    if !inside || !addr.is_multiple_of(crate::code::ALIGN) {
        vm.tiering.error = Some(smalt_vm::VmError::Load(format!(
            "internal error: {entry:#x} is not native code"
        )));
        return status::ERROR;
    }
    // SAFETY: `entry` is the start of a function this tier compiled (it lies in the code
    // memory, which holds nothing else, and native entries are the only addresses of it the
    // VM stores), with the `NativeFn` signature; the code is alive while a frame may run it
    // (module invariants).
    let f: NativeFn = unsafe { std::mem::transmute::<usize, NativeFn>(addr) };
    let vm: *mut Vm = vm;
    // SAFETY: `vm` comes from a `&mut Vm` that is not used until the call returns.
    unsafe { f(vm, fp as u64, u64::from(mid), u64::from(resume)) }
}

/// Two words returned in rax:rdx.
#[repr(C)]
pub struct Pair {
    pub a: u64,
    pub b: u64,
}

macro_rules! vm {
    ($vm:ident) => {
        // SAFETY: see the module invariants: `$vm` is the VM native code was entered with,
        // and no other reference to it is in use during this runtime call.
        unsafe { &mut *$vm }
    };
}

/// A send missed its cell: `(entry, mid)` to call.
pub(crate) extern "C" fn rt_send_miss(vm: *mut Vm, cell: u64, class: u64) -> Pair {
    let vm = vm!(vm);
    let (a, b) = vm.native_send_miss(cell as usize, class as u32);
    Pair { a, b }
}

/// The primitive of a method being entered.
pub(crate) extern "C" fn rt_primitive(vm: *mut Vm, fp: u64, mid: u64) -> u64 {
    vm!(vm).native_primitive(fp as usize, mid as u32)
}

/// Stack overflow (`overflow` = 1) or a deep machine stack (0) at a frame entry.
pub(crate) extern "C" fn rt_entry_slow(vm: *mut Vm, fp: u64, mid: u64, overflow: u64) -> u64 {
    vm!(vm).native_entry_slow(fp as usize, mid as u32, overflow != 0)
}

/// The interrupt flag is set.
pub(crate) extern "C" fn rt_interrupt(vm: *mut Vm, fp: u64, sp: u64, pc: u64) -> u64 {
    vm!(vm).native_interrupt(fp as usize, sp as usize, pc as usize)
}

/// A returning frame has a Context.
pub(crate) extern "C" fn rt_widow(vm: *mut Vm, fp: u64, pc: u64) {
    vm!(vm).native_widow(fp as usize, pc as usize)
}

/// `^v` in a block.
pub(crate) extern "C" fn rt_non_local_return(vm: *mut Vm, fp: u64, sp: u64, pc: u64) -> u64 {
    vm!(vm).native_non_local_return(fp as usize, sp as usize, pc as usize)
}

/// `thisContext`.
pub(crate) extern "C" fn rt_this_context(vm: *mut Vm, fp: u64, sp: u64, pc: u64) -> u64 {
    vm!(vm).native_this_context(fp as usize, sp as usize, pc as usize)
}

/// `PushNewArray n`.
pub(crate) extern "C" fn rt_new_array(vm: *mut Vm, fp: u64, sp: u64, pc: u64, n: u64) -> u64 {
    vm!(vm).native_new_array(fp as usize, sp as usize, pc as usize, n as usize)
}

/// `MakeArray n`.
pub(crate) extern "C" fn rt_make_array(vm: *mut Vm, fp: u64, sp: u64, pc: u64, n: u64) -> u64 {
    vm!(vm).native_make_array(fp as usize, sp as usize, pc as usize, n as usize)
}

/// `PushClosure k n`.
pub(crate) extern "C" fn rt_push_closure(
    vm: *mut Vm,
    fp: u64,
    sp: u64,
    pc: u64,
    k: u64,
    n: u64,
) -> u64 {
    vm!(vm).native_push_closure(
        fp as usize,
        sp as usize,
        pc as usize,
        k as usize,
        n as usize,
    )
}

/// `PushGlobal k` of a binding that is not a defined global's.
pub(crate) extern "C" fn rt_push_global(vm: *mut Vm, fp: u64, sp: u64, pc: u64, k: u64) -> u64 {
    vm!(vm).native_push_global(fp as usize, sp as usize, pc as usize, k as usize)
}

/// `StoreGlobal k` of a binding that is not a defined global's.
pub(crate) extern "C" fn rt_store_global(vm: *mut Vm, fp: u64, sp: u64, pc: u64, k: u64) -> u64 {
    vm!(vm).native_store_global(fp as usize, sp as usize, pc as usize, k as usize)
}

/// A conditional jump found a non-Boolean.
pub(crate) extern "C" fn rt_must_be_boolean(vm: *mut Vm, fp: u64, sp: u64, jump_pc: u64) -> u64 {
    vm!(vm).native_must_be_boolean(fp as usize, sp as usize, jump_pc as usize)
}

/// The slow path of `value`/`value:`.
pub(crate) extern "C" fn rt_special_send(vm: *mut Vm, fp: u64, sp: u64, pc: u64, byte: u64) -> u64 {
    vm!(vm).native_special_send(fp as usize, sp as usize, pc as usize, byte as u8)
}

/// A super send whose cell has no native entry.
pub(crate) extern "C" fn rt_super_send(vm: *mut Vm, fp: u64, sp: u64, pc: u64, k: u64) -> u64 {
    vm!(vm).native_super_send(fp as usize, sp as usize, pc as usize, k as usize)
}

/// The native entry of methods without native code: runs them in the interpreter.
pub(crate) extern "C" fn rt_bridge(vm: *mut Vm, fp: u64, mid: u64, _resume: u64) -> u64 {
    vm!(vm).native_bridge(fp as usize, mid as u32)
}

/// The native entry of a send that found no method (`mid` is the send's cell).
pub(crate) extern "C" fn rt_dnu(vm: *mut Vm, fp: u64, cell: u64, _resume: u64) -> u64 {
    vm!(vm).native_dnu(fp as usize, cell as usize)
}

/// A call answered `st` (not NORMAL): NORMAL if it was UNWOUND and left the VM exactly at the
/// caller's continuation (frame `fp` at `pc` with operand stack top `sp`), else `st`.
pub(crate) extern "C" fn rt_landed(vm: *mut Vm, st: u64, fp: u64, pc: u64, sp: u64) -> u64 {
    vm!(vm).native_landed(st, fp as usize, pc as usize, sp as usize)
}

/// `new`/`new:` at a send site whose method found has that primitive: the instance, or 0.
/// Never collects.
pub(crate) extern "C" fn rt_instantiate(vm: *mut Vm, sp: u64, nargs: u64) -> u64 {
    vm!(vm).native_instantiate(sp as usize, nargs as usize)
}

#[cfg(test)]
mod tests {
    use smalt_gc::layout as gcl;
    use smalt_vm::layout as vml;
    use smalt_vm::{Vm, VmOptions};

    /// The heap fields inline allocation reads and writes, read the way native code does: at
    /// their offsets from the `*mut Vm`.
    #[test]
    fn heap_allocation_fields_at_their_offsets_from_the_vm() {
        let mut vm = Vm::new(VmOptions::default()).expect("the VM starts");
        let read = |vm: &Vm, off: usize| {
            let p: *const Vm = vm;
            // SAFETY: `off` is the offset of a word-sized field of `vm.heap` (offset_of! in
            // the layout modules), inside the live `vm`, read with a u64's size and alignment.
            unsafe { p.cast::<u8>().add(vml::VM_HEAP + off).cast::<u64>().read() }
        };
        assert_eq!(read(&vm, gcl::HEAP_TOP) as usize * 8, vm.heap.used_bytes());
        assert_eq!(read(&vm, gcl::HEAP_NIL), vm.nil().raw());
        assert_eq!(
            read(&vm, gcl::HEAP_BYTES_ALLOCATED),
            vm.heap.stats().bytes_allocated
        );
        let limit = read(&vm, gcl::HEAP_NATIVE_LIMIT) as usize;
        assert_eq!(limit, vm.heap.used_bytes() / 8 + vm.heap.free_words() - 2);
        vm.heap.set_stress(1);
        assert_eq!(read(&vm, gcl::HEAP_NATIVE_LIMIT), 0);
    }
}
