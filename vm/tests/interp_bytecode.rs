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
