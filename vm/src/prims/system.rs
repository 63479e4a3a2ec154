//! Primitives of the System object (`system`): globals, output, time, GC, loading classes,
//! exiting.

use super::{Prim, PrimDef, done, prim_try, vm_try};
use crate::vm::{Vm, VmError};
use smalt_gc::Word;
use std::io::Write;

fn write_out(vm: &mut Vm, s: &str) -> Result<(), VmError> {
    vm.out
        .write_all(s.as_bytes())
        .map_err(|e| VmError::Load(format!("cannot write output: {e}")))
}

fn write_err(vm: &mut Vm, s: &str) -> Result<(), VmError> {
    let _ = vm.out.flush();
    let r = vm
        .err
        .write_all(s.as_bytes())
        .map_err(|e| VmError::Load(format!("cannot write error output: {e}")));
    let _ = vm.err.flush();
    r
}

/// The text of a String/Symbol argument, or its class name for anything else.
fn printable(vm: &Vm, w: Word) -> Option<String> {
    vm.string_value(w)
}

fn print_string(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(printable(vm, vm.arg(n, 1)));
    vm_try!(write_out(vm, &s));
    Prim::Done(vm.rcv(n))
}

fn print_newline(vm: &mut Vm, n: usize) -> Prim {
    vm_try!(write_out(vm, "\n"));
    Prim::Done(vm.rcv(n))
}

fn error_print(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(printable(vm, vm.arg(n, 1)));
    vm_try!(write_err(vm, &s));
    Prim::Done(vm.rcv(n))
}

fn error_println(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(printable(vm, vm.arg(n, 1)));
    vm_try!(write_err(vm, &(s + "\n")));
    Prim::Done(vm.rcv(n))
}

fn flush(vm: &mut Vm, n: usize) -> Prim {
    let _ = vm.out.flush();
    Prim::Done(vm.rcv(n))
}

fn global(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    if !vm.is_symbol(key) {
        return Prim::Done(vm.nil());
    }
    match vm.global_binding(key) {
        Some(b) => Prim::Done(vm.heap.slot(b.oop(), crate::objects::association::VALUE)),
        None => {
            // SOM: an unknown global may be a class on the class path.
            let name = vm.string_value(key).unwrap_or_default();
            match vm_try!(vm.load_class_from_path(&name)) {
                Some(c) => Prim::Done(c),
                None => Prim::Done(vm.nil()),
            }
        }
    }
}

fn global_put(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    let name = prim_try!(vm.is_symbol(key).then(|| vm.string_value(key)).flatten());
    let v = vm.arg(n, 2);
    vm_try!(vm.set_global(&name, v));
    Prim::Done(vm.arg(n, 2))
}

fn has_global(vm: &mut Vm, n: usize) -> Prim {
    let key = vm.arg(n, 1);
    let found = vm.is_symbol(key) && vm.global_binding(key).is_some();
    Prim::Done(vm.boolean(found))
}

/// `load: #ClassName`: loads a class from the class path (or answers it if loaded).
fn load(vm: &mut Vm, n: usize) -> Prim {
    let name = prim_try!(vm.string_value(vm.arg(n, 1)));
    if let Some(c) = vm.global(&name) {
        return Prim::Done(c);
    }
    match vm.load_class_from_path(&name) {
        Ok(Some(c)) => Prim::Done(c),
        Ok(None) => Prim::Done(vm.nil()),
        Err(VmError::Load(msg)) => {
            let _ = write_err(vm, &format!("{msg}\n"));
            Prim::Done(vm.nil())
        }
        Err(e) => Prim::Error(e),
    }
}

/// `loadFile: 'path'` (SOM): the contents of a text file as a String; nil if it cannot be
/// read or is not UTF-8.
fn load_file(vm: &mut Vm, n: usize) -> Prim {
    let path = prim_try!(vm.string_value(vm.arg(n, 1)));
    match std::fs::read_to_string(&path) {
        Ok(text) => done(vm.new_string(&text)),
        Err(_) => Prim::Done(vm.nil()),
    }
}

/// `classOf: anObject`: the class of any object, also one that does not inherit from Object
/// (which does not understand `class`).
fn class_of(vm: &mut Vm, n: usize) -> Prim {
    Prim::Done(vm.class_of(vm.arg(n, 1)))
}

/// `hasPrimitive: aName`: whether the VM has a primitive of that name (`'Integer>>+'`,
/// `#integerAdd`).
fn has_primitive(vm: &mut Vm, n: usize) -> Prim {
    let name = prim_try!(vm.string_value(vm.arg(n, 1)));
    Prim::Done(vm.boolean(super::lookup(&name).is_some()))
}

/// `loadClassFile: 'path/Foo.som'`: loads the class defined in a file; answers it or nil.
fn load_class_file(vm: &mut Vm, n: usize) -> Prim {
    let path = prim_try!(vm.string_value(vm.arg(n, 1)));
    match vm.load_class_file(std::path::Path::new(&path)) {
        Ok(c) => Prim::Done(c),
        Err(VmError::Load(msg)) => {
            let _ = write_err(vm, &format!("{msg}\n"));
            Prim::Done(vm.nil())
        }
        Err(e) => Prim::Error(e),
    }
}

fn exit_with(vm: &mut Vm, n: usize) -> Prim {
    let code = prim_try!(vm.int_arg(n, 1));
    let _ = vm.out.flush();
    Prim::Error(VmError::Exit(
        code.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    ))
}

fn exit(vm: &mut Vm, _: usize) -> Prim {
    let _ = vm.out.flush();
    Prim::Error(VmError::Exit(0))
}

/// `time`: milliseconds since the VM started.
fn time(vm: &mut Vm, _: usize) -> Prim {
    Prim::Done(Word::small_int(vm.started.elapsed().as_millis() as i64))
}

/// `ticks`: microseconds since the VM started.
fn ticks(vm: &mut Vm, _: usize) -> Prim {
    Prim::Done(Word::small_int(vm.started.elapsed().as_micros() as i64))
}

fn full_gc(vm: &mut Vm, _: usize) -> Prim {
    vm_try!(vm.collect_garbage(0));
    Prim::Done(vm.true_obj())
}

/// `gcStats`: an Array: collections, milliseconds collecting, bytes allocated, live bytes after
/// the last collection, current heap size in bytes.
fn gc_stats(vm: &mut Vm, _: usize) -> Prim {
    let s = vm.heap.stats().clone();
    let items = [
        Word::small_int(s.collections as i64),
        Word::small_int(s.total_time.as_millis() as i64),
        Word::small_int(s.bytes_allocated as i64),
        Word::from_usize(s.live_bytes_after_last),
        Word::from_usize(vm.heap.capacity_bytes()),
    ];
    done(vm.new_array_from(&items))
}

/// `totalCompilationTime` (SOM): milliseconds spent compiling Smalltalk source.
fn total_compilation_time(vm: &mut Vm, _: usize) -> Prim {
    Prim::Done(Word::small_int((vm.compile_micros / 1000) as i64))
}

/// `arguments`: the program's arguments as an Array of Strings.
fn arguments(vm: &mut Vm, _: usize) -> Prim {
    let args = vm.arguments.clone();
    done(vm.new_string_array(&args))
}

/// `gcStress: n`: collect at every n-th safepoint (0 turns it off).
fn gc_stress(vm: &mut Vm, n: usize) -> Prim {
    let k = prim_try!(vm.int_arg(n, 1));
    vm.heap.set_stress(k.clamp(0, u32::MAX as i64) as u32);
    Prim::Done(vm.rcv(n))
}

/// `Smalltalk compile error text` after a failed `compile:`.
fn last_compile_error(vm: &mut Vm, _: usize) -> Prim {
    let msg = vm.last_compile_error.clone();
    done(vm.new_string(&msg))
}

/// `evaluate: aString`: compiles and runs a do-it, answering its value.
fn evaluate(vm: &mut Vm, n: usize) -> Prim {
    let src = prim_try!(vm.string_value(vm.arg(n, 1)));
    match vm.compile_doit(&src, "<evaluate:>", false) {
        Ok(method) => {
            // Run the do-it as a send from this frame: [nil] -> invoke.
            let mid = vm.method_id(method);
            let sp = vm.regs.sp;
            vm.stack[sp - 2] = vm.nil();
            vm.regs.sp -= 1;
            let mut r = vm.regs;
            vm_try!(vm.invoke(&mut r, mid.0, 0));
            vm.regs = r;
            Prim::Switched
        }
        Err(VmError::Load(msg)) => {
            vm.last_compile_error = msg;
            Prim::Fail
        }
        Err(e) => Prim::Error(e),
    }
}

/// `primitiveFailureReason`: `#outOfMemory` if the last failing primitive ran out of memory,
/// else nil (a bad argument). Reading it clears it.
fn primitive_failure_reason(vm: &mut Vm, _: usize) -> Prim {
    match vm.prim_failure.take() {
        Some(reason) => done(vm.intern(reason)),
        None => Prim::Done(vm.nil()),
    }
}

/// `saveImage: path`: writes the running system to an image file through the embedder's
/// [`crate::snapshot::ImageWriter`]. Answers false here; the resumed image answers true from
/// the same send (see `snapshot.rs`). Fails, with the reason in `imageSaveError`, if there is
/// no writer, the path is not a String, or saving fails.
fn save_image(vm: &mut Vm, n: usize) -> Prim {
    let Some(path) = vm.string_value(vm.arg(n, 1)) else {
        vm.image_error = "the file name must be a String".into();
        return Prim::Fail;
    };
    let Some(writer) = vm.image_writer.clone() else {
        vm.image_error = "this VM has no image writer".into();
        return Prim::Fail;
    };
    let _ = vm.out.flush();
    let result = vm.save_in_primitive(n, writer.as_ref(), &path);
    match result {
        Ok(()) => Prim::Done(vm.false_obj()),
        Err(e) => {
            vm.image_error = e;
            Prim::Fail
        }
    }
}

/// `imageSaveError`: why the last `saveImage:` failed.
fn image_save_error(vm: &mut Vm, _: usize) -> Prim {
    let msg = vm.image_error.clone();
    done(vm.new_string(&msg))
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (
        &[
            "SystemDictionary>>saveImage:",
            "System>>saveImage:",
            "saveImage",
        ],
        save_image,
    ),
    (
        &[
            "SystemDictionary>>imageSaveError",
            "System>>imageSaveError",
            "imageSaveError",
        ],
        image_save_error,
    ),
    (
        &[
            "System>>primitiveFailureReason",
            "systemPrimitiveFailureReason",
        ],
        primitive_failure_reason,
    ),
    (&["System>>printString:", "systemPrintString"], print_string),
    (
        &["System>>printNewline", "systemPrintNewline"],
        print_newline,
    ),
    (&["System>>errorPrint:", "systemErrorPrint"], error_print),
    (
        &["System>>errorPrintln:", "systemErrorPrintln"],
        error_println,
    ),
    (&["System>>flush", "systemFlush"], flush),
    (&["System>>global:", "systemGlobal"], global),
    (&["System>>global:put:", "systemGlobalPut"], global_put),
    (&["System>>hasGlobal:", "systemHasGlobal"], has_global),
    (&["System>>load:", "systemLoad"], load),
    (&["System>>loadFile:", "systemLoadFile"], load_file),
    (
        &["System>>loadClassFile:", "systemLoadClassFile"],
        load_class_file,
    ),
    (&["System>>classOf:", "systemClassOf"], class_of),
    (
        &["System>>hasPrimitive:", "systemHasPrimitive"],
        has_primitive,
    ),
    (&["System>>exit:", "systemExitWith"], exit_with),
    (&["System>>exit", "systemExit"], exit),
    (&["System>>time", "systemTime"], time),
    (&["System>>ticks", "systemTicks"], ticks),
    (&["System>>fullGC", "systemFullGC"], full_gc),
    (&["System>>gcStats", "systemGcStats"], gc_stats),
    (
        &["System>>totalCompilationTime", "systemTotalCompilationTime"],
        total_compilation_time,
    ),
    (&["System>>arguments", "systemArguments"], arguments),
    (&["System>>gcStress:", "systemGcStress"], gc_stress),
    (
        &["System>>lastCompileError", "systemLastCompileError"],
        last_compile_error,
    ),
    (&["System>>evaluate:", "systemEvaluate"], evaluate),
];
