//! Save, load, compare: everything a program can see survives an image, a computation
//! suspended in saveImage: continues in the loaded one, and saving a loaded image again gives
//! the same world.

mod common;
use common::{capture, eval, library_vm, load, mem_writer, world};
use smalt_vm::VmOptions;

/// A world with one of everything: globals, a class with methods and class-side state, large
/// integers, strings, symbols, floats, identity-hashed objects in a Set, a weak array.
const SETUP: &str = "
    Point3 := Object subclass: #Point3 instanceVariableNames: 'x y z'.
    Point3 compile: 'x: ax y: ay z: az x := ax. y := ay. z := az'.
    Point3 compile: 'sum ^x + y + z'.
    Point3 class compile: 'origin ^self new x: 0 y: 0 z: 0'.
    Gp := Point3 new x: 1 y: 2 z: 39.
    Gbig := 2 raisedTo: 200.
    Gneg := (3 raisedTo: 99) negated.
    Gstr := 'hello', ' world'.
    Gsym := #with:with:with:.
    Gfloat := 1.0e300 * 10.
    Gsmallfloat := 0.1.
    Gobj := Object new.
    Ghash := Gobj identityHash.
    Gset := Set new. Gset add: Gobj; add: Gstr; add: 42.
    Gdict := Dictionary new. Gdict at: #a put: 1; at: Gobj put: 2.
    Gweak := WeakArray new: 2. Gweak at: 1 put: Gobj; at: 2 put: Object new.
    Goc := OrderedCollection new. 1 to: 100 do: [:i | Goc add: i * i].
    Gblock := [:a | a * Gp sum].
    nil";

/// Expressions whose printStrings must be the same before and after.
const CHECKS: &[&str] = &[
    "Gp sum",
    "Gp class name",
    "Point3 origin sum",
    "(Point3 new x: 1 y: 1 z: 1) sum",
    "Gbig",
    "Gbig + 1",
    "Gneg",
    "Gstr",
    "Gstr size",
    "Gsym",
    "Gsym numArgs",
    "Gsym == #with:with:with:",
    "Gfloat",
    "Gsmallfloat",
    "Gobj identityHash = Ghash",
    "Gset includes: Gobj",
    "Gset includes: 'hello world'",
    "Gdict at: Gobj",
    "Gdict at: #a",
    "Gweak at: 1",
    "(Gweak at: 1) == Gobj",
    "Goc inject: 0 into: [:a :b | a + b]",
    "Gblock value: 2",
    "(Smalltalk at: #Point3) == Point3",
    "Integer class class == Metaclass",
    "3 class == Gbig class",
    "#(1 $a 'str' #sym 2.5) printString",
];

fn answers(vm: &mut smalt_vm::Vm) -> Vec<String> {
    CHECKS.iter().map(|c| eval(vm, c)).collect()
}

#[test]
fn globals_classes_numbers_strings_symbols_hashes_and_weak_slots_survive() {
    let (mut vm, _out) = library_vm();
    eval(&mut vm, SETUP);
    let before = answers(&mut vm);
    let bytes = smalt_image::encode(&vm.snapshot().unwrap(), 0);
    let (mut loaded, _out) = capture(load(&bytes).unwrap().vm);
    assert_eq!(answers(&mut loaded), before);
    // The object only the weak array held is gone (the save collected first), the other kept.
    assert_eq!(eval(&mut loaded, "Gweak at: 2"), "nil");
    assert_eq!(eval(&mut loaded, "Gweak at: 1"), eval(&mut loaded, "Gobj"));
    // New objects get new hashes; the symbol table still interns to the saved symbols.
    assert_eq!(
        eval(&mut loaded, "'with:with:with:' asSymbol == Gsym"),
        "true"
    );
    assert_eq!(
        eval(&mut loaded, "Object new identityHash ~= Ghash"),
        "true"
    );
}

#[test]
fn the_loaded_vm_goes_on_defining_and_redefining() {
    let (mut vm, _out) = library_vm();
    eval(&mut vm, SETUP);
    let bytes = smalt_image::encode(&vm.snapshot().unwrap(), 0);
    let (mut loaded, _out) = capture(load(&bytes).unwrap().vm);
    // Warm caches must be invalidated exactly as in the original.
    assert_eq!(eval(&mut loaded, "Gp sum"), "42");
    eval(&mut loaded, "Point3 compile: 'sum ^x * y * z'");
    assert_eq!(eval(&mut loaded, "Gp sum"), "78");
    eval(
        &mut loaded,
        "Point3 subclass: #Point4 instanceVariableNames: 'w'",
    );
    eval(&mut loaded, "Point4 compile: 'sum ^super sum + 1000'");
    assert_eq!(eval(&mut loaded, "(Point4 new x: 1 y: 2 z: 3) sum"), "1006");
    // Collections grow, the collector runs over the loaded heap.
    assert_eq!(
        eval(
            &mut loaded,
            "| a | a := OrderedCollection new. 1 to: 200000 do: [:i | a add: i printString]. system fullGC. a size"
        ),
        "200000"
    );
}

#[test]
fn type_feedback_and_invocation_counts_survive() {
    let (mut vm, _out) = library_vm();
    eval(&mut vm, SETUP);
    eval(
        &mut vm,
        "1 to: 50 do: [:i | Gp sum. i printString. #(3 4.5 'x') do: [:e | e printString]]",
    );
    let find = |vm: &mut smalt_vm::Vm, sel: &str| {
        let sel = vm.intern(sel).unwrap();
        let cls = vm.global("Point3").unwrap();
        let md = vm.heap.slot(cls.oop(), smalt_vm::objects::class::METHODS);
        let m = vm.dict_at(md, sel).unwrap();
        vm.method_id(m)
    };
    let id = find(&mut vm, "sum");
    let count = vm.methods.info(id).invocations;
    assert!(count >= 50, "{count}");
    let bytes = smalt_image::encode(&vm.snapshot().unwrap(), 0);
    let before = world(&vm);
    let mut loaded = load(&bytes).unwrap().vm;
    let id2 = find(&mut loaded, "sum");
    assert_eq!(loaded.methods.info(id2).invocations, count);
    // The cells of every method, as classes and methods, are the same: compare whole worlds.
    assert_eq!(world(&loaded), before);
    let warm = loaded
        .methods
        .cells
        .iter()
        .filter(|c| c.state != smalt_vm::methods::IcState::Empty)
        .count();
    assert!(warm > 20, "only {warm} warm cells after loading");
}

#[test]
fn save_load_save_gives_equal_worlds() {
    let (mut vm, _out) = library_vm();
    eval(&mut vm, SETUP);
    eval(&mut vm, "1 to: 10 do: [:i | Gp sum]");
    let first = smalt_image::encode(&vm.snapshot().unwrap(), 0);
    let w0 = world(&vm);
    let mut a = load(&first).unwrap().vm;
    let second = smalt_image::encode(&a.snapshot().unwrap(), 0);
    let b = load(&second).unwrap().vm;
    assert_eq!(world(&a), w0);
    assert_eq!(world(&b), w0);
    assert_eq!(first.len(), second.len());
}

#[test]
fn a_computation_suspended_in_save_image_continues_in_the_loaded_image() {
    let (mut vm, out) = library_vm();
    let writer = mem_writer(&mut vm);
    eval(&mut vm, "Log := OrderedCollection new");
    let src = "| local |
        local := 'captured'.
        Log add: #before.
        [:k | Log add: k.
            (Smalltalk saveImage: 'mem')
                ifTrue: [ Log add: #resumed. 'in the image' println ]
                ifFalse: [ Log add: #saved ].
            Log add: local ] value: #inBlock.
        [ Log add: #ensureBody ] ensure: [ Log add: #ensureBlock ].
        Log size";
    assert_eq!(eval(&mut vm, src), "6");
    assert_eq!(
        eval(&mut vm, "Log asArray"),
        "#(#before #inBlock #saved 'captured' #ensureBody #ensureBlock)"
    );
    assert_eq!(out.take(), "");
    let images = writer.images.borrow();
    let (path, bytes) = &images[0];
    assert_eq!(path, "mem");
    let loaded = load(bytes).unwrap();
    assert_eq!(loaded.tag, 9);
    let (mut vm2, out2) = capture(loaded.vm);
    assert!(vm2.has_suspended_run());
    let v = vm2.resume().expect("a suspended run").expect("it finishes");
    assert_eq!(v.as_small_int(), Some(6));
    assert_eq!(out2.take(), "in the image\n");
    assert_eq!(
        eval(&mut vm2, "Log asArray"),
        "#(#before #inBlock #resumed 'captured' #ensureBody #ensureBlock)"
    );
    assert!(vm2.resume().is_none(), "a run resumes once");
    // The resumed VM goes on working and can save again (from the top level).
    assert_eq!(
        eval(&mut vm2, "(1 to: 10) inject: 0 into: [:a :b | a + b]"),
        "55"
    );
    let again = smalt_image::encode(&vm2.snapshot().unwrap(), 0);
    let (mut vm3, _o) = capture(load(&again).unwrap().vm);
    assert!(!vm3.has_suspended_run());
    assert_eq!(eval(&mut vm3, "Log size"), "6");
}

#[test]
fn a_suspended_run_keeps_its_contexts_and_handlers() {
    let (mut vm, _out) = library_vm();
    let writer = mem_writer(&mut vm);
    let src = "| ctx r |
        ctx := thisContext.
        r := [ [ (Smalltalk saveImage: 'mem') ifTrue: [ 1 / 0 ] ifFalse: [ #saved ] ]
                on: ZeroDivide do: [:e | e return: #caught ] ]
            ensure: [ Ensured := true ].
        { r. ctx == thisContext. ctx method == thisContext method }";
    assert_eq!(eval(&mut vm, src), "#(#saved true true)");
    let bytes = writer.images.borrow()[0].1.clone();
    let (mut vm2, _o) = capture(load(&bytes).unwrap().vm);
    let v = vm2.resume().unwrap().unwrap();
    let s = vm2.send_message(v, "printString", &[]).unwrap();
    assert_eq!(vm2.string_value(s).unwrap(), "#(#caught true true)");
    assert_eq!(eval(&mut vm2, "Ensured"), "true");
}

#[test]
fn errors_and_exit_in_a_resumed_run_end_it_as_they_would_have() {
    let (mut vm, _out) = library_vm();
    let writer = mem_writer(&mut vm);
    eval(&mut vm, "(Smalltalk saveImage: 'a') ifTrue: [ nil foo ]");
    eval(
        &mut vm,
        "(Smalltalk saveImage: 'b') ifTrue: [ system exit: 3 ]",
    );
    let images = writer.images.borrow();
    let (mut a, _o) = capture(load(&images[0].1).unwrap().vm);
    match a.resume() {
        Some(Err(smalt_vm::VmError::Unhandled { description, .. })) => {
            assert!(description.contains("foo"), "{description}")
        }
        other => panic!("expected an unhandled error, got {other:?}"),
    }
    assert_eq!(
        eval(&mut a, "3 + 4"),
        "7",
        "the VM is usable after the error"
    );
    let (mut b, _o) = capture(load(&images[1].1).unwrap().vm);
    assert!(matches!(b.resume(), Some(Err(smalt_vm::VmError::Exit(3)))));
}

#[test]
fn save_image_failures_are_smalltalk_errors() {
    let (mut vm, _out) = library_vm();
    // No writer installed.
    assert_eq!(
        eval(
            &mut vm,
            "[ Smalltalk saveImage: 'x' ] on: Error do: [:e | e messageText ]"
        ),
        "'cannot save the image: this VM has no image writer'"
    );
    let _w = mem_writer(&mut vm);
    assert_eq!(
        eval(
            &mut vm,
            "[ Smalltalk saveImage: 42 ] on: Error do: [:e | e messageText ]"
        ),
        "'cannot save the image: the file name must be a String'"
    );
    assert_eq!(
        eval(
            &mut vm,
            "[ Smalltalk saveImage: '' ] on: Error do: [:e | e messageText ]"
        ),
        "'cannot save the image: no file name'"
    );
    // A real writer reports the file system's reason.
    vm.image_writer = Some(std::rc::Rc::new(smalt_image::FileWriter::default()));
    let r = eval(
        &mut vm,
        "[ Smalltalk saveImage: '/nonexistent-dir/x.image' ] on: Error do: [:e | e messageText ]",
    );
    assert!(
        r.starts_with("'cannot save the image: cannot write /nonexistent-dir/x.image"),
        "{r}"
    );
}

#[test]
fn saving_and_loading_files() {
    let dir = std::env::temp_dir().join(format!("smalt-image-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.image");
    let (mut vm, _out) = library_vm();
    eval(&mut vm, SETUP);
    let before = answers(&mut vm);
    let snapshot = vm.snapshot().unwrap();
    smalt_image::save(&path, &snapshot, 5).unwrap();
    let loaded = smalt_image::load_file(&path, VmOptions::default()).unwrap();
    assert_eq!(loaded.tag, 5);
    let (mut vm2, _o) = capture(loaded.vm);
    assert_eq!(answers(&mut vm2), before);
    // The same bytes as an in-memory encoding; no temporary file is left behind.
    assert!(std::fs::read(&path).unwrap() == smalt_image::encode(&snapshot, 5));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("w.image")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_image_needs_a_heap_limit_that_holds_it() {
    let bytes = common::library_image();
    let options = VmOptions {
        heap: smalt_gc::HeapConfig {
            initial_bytes: 64 << 10,
            max_bytes: 256 << 10,
            grow_percent: 50,
            reserve_bytes: smalt_vm::memory::RESERVE_BYTES,
        },
        ..VmOptions::default()
    };
    let e = smalt_image::load_bytes(bytes, options, smalt_image::Trust::File).unwrap_err();
    assert!(e.to_string().contains("larger than the heap limit"), "{e}");
}

/// Suspended runs in unusual places: a block evaluated by the exception machinery's stub
/// (retryUsing:), a deep recursion, an ensure: block around a non-local return, a perform:.
#[test]
fn runs_suspended_in_stubs_recursion_and_unwinding_resume() {
    let cases = [
        (
            "[ 1/0 ] on: ZeroDivide do: [:e | e retryUsing: [ (Smalltalk saveImage: 'm') ifTrue: [#resumed] ifFalse: [#saved] ] ]",
            "#saved",
            "#resumed",
        ),
        (
            "| f | f := nil. f := [:n | n = 0 ifTrue: [ Smalltalk saveImage: 'm' ] ifFalse: [ (f value: n - 1) ] ]. f value: 3000",
            "false",
            "true",
        ),
        (
            "| r | r := [:x | [ ^(Smalltalk saveImage: 'm') ] ensure: [ Ens := 1 ] ] value: 1. r",
            "false",
            "true",
        ),
        (
            "(Smalltalk perform: #saveImage: with: 'm') printString, '!'",
            "'false!'",
            "'true!'",
        ),
    ];
    for (src, saved, resumed) in cases {
        let (mut vm, _out) = library_vm();
        let writer = mem_writer(&mut vm);
        assert_eq!(eval(&mut vm, src), saved, "{src}");
        let bytes = writer.images.borrow()[0].1.clone();
        let (mut vm2, _o) = capture(load(&bytes).unwrap().vm);
        let v = vm2
            .resume()
            .unwrap()
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let s = vm2.send_message(v, "printString", &[]).unwrap();
        assert_eq!(vm2.string_value(s).unwrap(), resumed, "{src}");
    }
}

#[test]
fn send_sites_keep_their_own_cells_across_an_image() {
    // Two sites of one selector (one literal), each fed its own receiver class.
    let (mut vm, _out) = library_vm();
    eval(
        &mut vm,
        "Twice := Object subclass: #Twice.
         Twice compile: 'of: a and: b ^{a printString. b printString}'.
         1 to: 5 do: [:i | Twice new of: 3 and: 'x']",
    );
    let cells = |vm: &mut smalt_vm::Vm| {
        let sel = vm.intern("of:and:").unwrap();
        let cls = vm.global("Twice").unwrap();
        let md = vm.heap.slot(cls.oop(), smalt_vm::objects::class::METHODS);
        let m = vm.dict_at(md, sel).unwrap();
        let info = *vm.methods.info(vm.method_id(m));
        let sites: Vec<_> = (0..info.num_sites as usize)
            .map(|s| {
                let c = vm.methods.cells[info.cell_base + s];
                let name = vm.string_value(c.selector).unwrap_or_default();
                (name, c.state, c.entries[0].class)
            })
            .collect();
        (info.num_literals, sites)
    };
    let before = cells(&mut vm);
    let print = |n: &str| (n.to_string(), smalt_vm::methods::IcState::Monomorphic);
    let shape: Vec<_> = before.1.iter().map(|(n, s, _)| (n.clone(), *s)).collect();
    assert_eq!(shape, [print("printString"), print("printString")]);
    assert_eq!(before.0, 1, "one literal for both sites");
    assert_ne!(before.1[0].2, before.1[1].2, "each site saw its own class");
    let bytes = smalt_image::encode(&vm.snapshot().unwrap(), 0);
    let mut loaded = load(&bytes).unwrap().vm;
    assert_eq!(cells(&mut loaded), before);
    assert_eq!(eval(&mut loaded, "Twice new of: 4 and: #y"), "#('4' '#y')");
}
