//! The interpreter on hand-assembled methods (no compiler involved) and the state its inline
//! caches reach.

use smalt_gc::Word;
use smalt_vm::bytecode::{Encoder, Op};
use smalt_vm::compiler::{CompiledCode, Literal, Primitive, SourcePos};
use smalt_vm::methods::IcState;
use smalt_vm::{Vm, VmOptions};

/// A method with the given code and literals, no arguments and no temporaries. Its send sites
/// send the `Selector` literals, in the order of the literal frame (site s sends the s-th
/// selector), so each `Send s` names a site of its own.
fn method(code: Encoder, literals: Vec<Literal>, max_stack: usize) -> CompiledCode {
    let sites = (0..literals.len())
        .filter(|&k| matches!(literals[k], Literal::Selector(_)))
        .map(|k| k as u16)
        .collect();
    CompiledCode {
        sites,
        selector: "test".into(),
        is_block: false,
        num_args: 0,
        num_temps: 0,
        num_copied: 0,
        max_stack,
        primitive: Primitive::None,
        bytecodes: code.code,
        literals,
        needs_outer_context: false,
        is_clean: false,
        arg_names: Vec::new(),
        temp_names: Vec::new(),
        vectors: Vec::new(),
        source_map: Vec::new(),
        position: SourcePos::default(),
        source: None,
    }
}

fn run(vm: &mut Vm, code: &CompiledCode) -> Word {
    let nil_class = vm.class_of(vm.nil());
    let m = vm
        .install_code(code, nil_class, "hand", "Nil")
        .expect("installs");
    let nil = vm.nil();
    vm.run_method(nil, m, &[]).expect("runs")
}

#[test]
fn special_arithmetic_overflows_into_large_integers() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let mut e = Encoder::default();
    e.emit(Op::PushLiteral, &[0]);
    e.emit(Op::PushSmallInt, &[1]);
    e.emit(Op::Add, &[]);
    e.emit(Op::ReturnTop, &[]);
    let code = method(e, vec![Literal::Int(smalt_gc::SMALL_INT_MAX)], 2);
    let r = run(&mut vm, &code);
    assert!(r.as_small_int().is_none(), "the sum is a large integer");
    let s = vm.send_message(r, "printString", &[]).unwrap();
    assert_eq!(
        vm.string_value(s).unwrap(),
        (smalt_gc::SMALL_INT_MAX as i128 + 1).to_string()
    );
}

#[test]
fn float_fast_paths_and_comparisons() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let mut e = Encoder::default();
    e.emit(Op::PushLiteral, &[0]); // 1.5
    e.emit(Op::PushSmallInt, &[2]);
    e.emit(Op::Mul, &[]); // 3.0
    e.emit(Op::PushLiteral, &[0]);
    e.emit(Op::Gt, &[]); // 3.0 > 1.5
    e.emit(Op::ReturnTop, &[]);
    let code = method(e, vec![Literal::Float(1.5)], 2);
    assert_eq!(run(&mut vm, &code), vm.true_obj());
}

#[test]
fn a_send_site_goes_monomorphic_polymorphic_megamorphic() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    // For each element of the literal array: send #yourself; answer the last one.
    //   0 PushLiteral 0 (the array)      each iteration: Dup, PushSmallInt i, At, Send #yourself, Pop
    let receivers = vec![
        Literal::Int(1),
        Literal::Int(2),
        Literal::String("a".into()),
        Literal::Float(0.5),
        Literal::Symbol("s".into()),
        Literal::Char('c'),
        Literal::Nil,
    ];
    let stages = [
        (1, IcState::Monomorphic),
        (2, IcState::Monomorphic),
        (3, IcState::Polymorphic),
        (6, IcState::Megamorphic),
    ];
    for (count, expected) in stages {
        // One send site in a loop over the receivers: `1 to: count do: [:i | (a at: i) yourself]`.
        let mut e = Encoder::default();
        e.emit(Op::PushSmallInt, &[1]);
        e.emit(Op::PopStoreLocal, &[7]);
        let head = e.pc();
        e.emit(Op::PushLocal, &[7]);
        e.emit(Op::PushSmallInt, &[count]);
        e.emit(Op::Le, &[]);
        let exit = e.emit_jump(Op::JumpIfFalse);
        e.emit(Op::PushLiteral, &[0]);
        e.emit(Op::PushLocal, &[7]);
        e.emit(Op::At, &[]);
        e.emit(Op::Send, &[0]);
        e.emit(Op::Pop, &[]);
        e.emit(Op::PushLocal, &[7]);
        e.emit(Op::PushSmallInt, &[1]);
        e.emit(Op::Add, &[]);
        e.emit(Op::PopStoreLocal, &[7]);
        let back = i32::try_from(head).unwrap() - i32::try_from(e.pc() + 3).unwrap();
        e.emit(Op::Jump, &[back]);
        let end = e.pc();
        assert!(e.patch_jump(exit, end));
        e.emit(Op::ReturnSelf, &[]);
        let mut code = method(
            e,
            vec![
                Literal::Array(receivers.clone()),
                Literal::Selector("yourself".into()),
            ],
            2,
        );
        code.num_temps = 1;
        code.temp_names = vec!["i".into()];
        smalt_vm::compiler::verify(&code).unwrap();
        let nil_class = vm.class_of(vm.nil());
        let m = vm.install_code(&code, nil_class, "hand", "Nil").unwrap();
        let id = vm.method_id(m);
        let cell = vm.methods.info(id).cell_base;
        assert_eq!(vm.methods.cells[cell].state, IcState::Empty);
        let nil = vm.nil();
        vm.run_method(nil, m, &[]).unwrap();
        assert_eq!(
            vm.methods.cells[cell].state, expected,
            "{count} receiver classes"
        );
    }
}

#[test]
fn returns_leave_the_stack_balanced() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let sp = vm.regs.sp;
    let mut e = Encoder::default();
    e.emit(Op::PushSmallInt, &[5]);
    e.emit(Op::PushSmallInt, &[6]);
    e.emit(Op::Send, &[0]); // max:
    e.emit(Op::ReturnTop, &[]);
    let code = method(e, vec![Literal::Selector("max:".into())], 2);
    assert_eq!(run(&mut vm, &code), Word::small_int(6));
    assert_eq!(vm.regs.sp, sp);
}

#[test]
fn sends_of_one_selector_keep_their_own_cells() {
    // `3 max: 4. 3.5 max: 4`: two sites of one literal, fed different receiver classes.
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let mut e = Encoder::default();
    e.emit(Op::PushSmallInt, &[3]);
    e.emit(Op::PushSmallInt, &[4]);
    e.emit(Op::Send, &[0]);
    e.emit(Op::Pop, &[]);
    e.emit(Op::PushLiteral, &[1]);
    e.emit(Op::PushSmallInt, &[4]);
    e.emit(Op::Send, &[1]);
    e.emit(Op::ReturnTop, &[]);
    let mut code = method(
        e,
        vec![Literal::Selector("max:".into()), Literal::Float(3.5)],
        2,
    );
    code.sites = vec![0, 0];
    smalt_vm::compiler::verify(&code).unwrap();
    let nil_class = vm.class_of(vm.nil());
    let m = vm.install_code(&code, nil_class, "hand", "Nil").unwrap();
    let nil = vm.nil();
    assert_eq!(vm.run_method(nil, m, &[]).unwrap(), Word::small_int(4));
    let info = *vm.methods.info(vm.method_id(m));
    assert_eq!((info.num_literals, info.num_sites), (2, 2));
    let max = vm.intern("max:").unwrap();
    let classes: Vec<u32> = (0..2)
        .map(|s| {
            let cell = &vm.methods.cells[info.cell_base + s];
            assert_eq!(cell.selector, max);
            assert_eq!(cell.nargs, 1);
            assert_eq!(cell.state, IcState::Monomorphic, "site {s}");
            cell.entries[0].class
        })
        .collect();
    use smalt_vm::objects::class_index as ci;
    assert_eq!(classes[0], ci::SMALL_INTEGER.0);
    assert_eq!(
        classes[1],
        ci::SMALL_FLOAT.0,
        "site 1 saw a Float, not site 0's SmallInteger"
    );
}

#[test]
fn a_site_table_that_does_not_fit_the_code_is_refused() {
    let send = |sites: &[i32]| {
        let mut e = Encoder::default();
        for &s in sites {
            e.emit(Op::PushSelf, &[]);
            e.emit(Op::Send, &[s]);
            e.emit(Op::Pop, &[]);
        }
        e.emit(Op::ReturnSelf, &[]);
        e
    };
    let yourself = || vec![Literal::Selector("yourself".into())];
    // (what is wrong, code, literals, site table)
    let cases: Vec<(&str, Encoder, Vec<Literal>, Vec<u16>)> = vec![
        ("two sends, one site", send(&[0, 0]), yourself(), vec![0]),
        (
            "a send through a missing site",
            send(&[1]),
            yourself(),
            vec![0],
        ),
        ("a site no send uses", send(&[0]), yourself(), vec![0, 0]),
        ("a site past the literals", send(&[0]), yourself(), vec![1]),
        (
            "a site whose literal is no selector",
            send(&[0]),
            vec![Literal::Int(1)],
            vec![0],
        ),
    ];
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    for (what, e, literals, sites) in cases {
        let mut code = method(e, literals, 1);
        code.sites = sites;
        let v = smalt_vm::compiler::verify(&code).expect_err(what);
        assert!(v.to_string().contains("send site"), "{what}: {v}");
        let nil_class = vm.class_of(vm.nil());
        let r = vm.install_code(&code, nil_class, "hand", "Nil");
        assert!(r.is_err(), "install: {what}");
    }
}

#[test]
fn a_damaged_site_table_in_the_heap_is_refused() {
    // What an image could hold: a method whose site table no longer fits its code. Registering
    // it (as loading an image does) answers an error, never a panic.
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    let mut e = Encoder::default();
    for s in [0, 1] {
        e.emit(Op::PushSelf, &[]);
        e.emit(Op::Send, &[s]);
        e.emit(Op::Pop, &[]);
    }
    e.emit(Op::ReturnSelf, &[]);
    let mut code = method(
        e,
        vec![Literal::Selector("yourself".into()), Literal::Int(7)],
        1,
    );
    code.sites = vec![0, 0];
    let nil_class = vm.class_of(vm.nil());
    let m = vm.install_code(&code, nil_class, "hand", "Nil").unwrap();
    let o = m.oop();
    let slot = vm.heap.method_pointer_slots(o) - 1 - smalt_vm::objects::method::SITES_BACK;
    let cases = [
        ("no site table", "nil", "lacks"),
        ("a String", "'ab'", "not a ByteArray"),
        ("an odd length", "#[0 0 0]", "not a ByteArray"),
        ("one site for two sends", "#[0 0]", "lacks"),
        ("a site no send uses", "#[0 0 0 0 0 0]", "no send uses"),
        (
            "a site naming a SmallInteger",
            "#[0 0 1 0]",
            "not a selector",
        ),
        ("a site past the literals", "#[0 0 9 0]", "not a selector"),
    ];
    for (what, table, expected) in cases {
        let w = vm.evaluate(table, "test", true).unwrap();
        vm.heap.set_slot(o, slot, w);
        let err = vm.register_heap_method(m).expect_err(what);
        assert!(err.contains(expected), "{what}: {err}");
    }
    // Both sends naming site 0 (`PushSelf Send 0 Pop PushSelf Send 1 …`: byte 6 is the 1).
    let w = vm.evaluate("#[0 0 0 0]", "test", true).unwrap();
    vm.heap.set_slot(o, slot, w);
    assert_eq!(vm.heap.method_bytes(o)[6], 1);
    vm.heap.method_bytes_mut(o)[6] = 0;
    let err = vm.register_heap_method(m).expect_err("two sends, one site");
    assert!(err.contains("share"), "{err}");
}
