//! Targeted tests of the JIT (smalt-jit): each exercises one mechanism in native code and checks
//! that the answer is the interpreter's.
//!
//! * arithmetic overflow at every arithmetic and comparison bytecode;
//! * inline caches going monomorphic → polymorphic → megamorphic at a native send site;
//! * methods redefined while their native code is on the stack, and code memory staying bounded
//!   when methods are redefined over and over;
//! * non-local returns and exceptions crossing native and interpreted frames;
//! * Ctrl-C in native loops; collections inside native frames with references in every kind of
//!   slot; deep recursion through native code; stack traces of native frames.

use smalt_vm::layout::IcState;
use smalt_vm::tier::JitMode;
use smalt_vm::{Vm, VmError, VmOptions};
use std::time::Duration;

mod common;
use common::Capture;

fn vm_with(jit: JitMode, threshold: u32, stress: u32) -> (Vm, Capture) {
    smalt_jit::install();
    let options = VmOptions {
        jit,
        jit_threshold: threshold,
        verify_heap: stress > 0,
        ..VmOptions::default()
    };
    let mut vm = Vm::new(options).expect("the VM starts");
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    vm.heap.set_stress(stress);
    (vm, out)
}

fn eager() -> Vm {
    vm_with(JitMode::Eager, 1, 0).0
}

fn interpreter() -> Vm {
    vm_with(JitMode::Off, 0, 0).0
}

/// The printString of an expression's value, or the error.
fn eval(vm: &mut Vm, src: &str) -> String {
    match vm
        .evaluate(src, "test", true)
        .and_then(|v| vm.send_message(v, "printString", &[]))
    {
        Ok(s) => vm.string_value(s).unwrap_or_default(),
        Err(VmError::Unhandled { description, .. }) => format!("error: {description}"),
        Err(e) => format!("error: {e}"),
    }
}

fn define(vm: &mut Vm, source: &str) {
    vm.load_class_source(source, "test.som")
        .unwrap_or_else(|e| panic!("cannot load: {e}"));
}

/// Whether `Class>>selector` has native code now.
fn compiled(vm: &mut Vm, class: &str, selector: &str) -> bool {
    let mid = method_id(vm, class, selector);
    vm.methods.infos[mid as usize].native_entry != 0
}

fn method_id(vm: &mut Vm, class: &str, selector: &str) -> u32 {
    let cls = vm.global(class).expect("class");
    let sel = vm.intern(selector).unwrap();
    let m = vm.lookup_in(cls, sel).expect("method");
    vm.method_id(m).0
}

/// The same expressions give the same answers in the interpreter and in native code.
fn same_answers(defs: &[&str], exprs: &[&str]) {
    let mut interp = interpreter();
    let mut native = eager();
    for d in defs {
        define(&mut interp, d);
        define(&mut native, d);
    }
    for e in exprs {
        let a = eval(&mut interp, e);
        let b = eval(&mut native, e);
        assert_eq!(a, b, "{e}");
    }
}

const MAX: &str = "4611686018427387903";
const MIN: &str = "-4611686018427387904";

#[test]
fn overflow_at_every_arithmetic_bytecode() {
    // Operands come from arguments, so that native code cannot fold them.
    let arith = "Arith = (
        add: a to: b = ( ^a + b )
        sub: a from: b = ( ^b - a )
        mul: a by: b = ( ^a * b )
        div: a by: b = ( ^a / b )
        and: a with: b = ( ^a bitAnd: b )
        or: a with: b = ( ^a bitOr: b )
        lt: a and: b = ( ^a < b )
        le: a and: b = ( ^a <= b )
        gt: a and: b = ( ^a > b )
        ge: a and: b = ( ^a >= b )
        eq: a and: b = ( ^a = b )
        ne: a and: b = ( ^a ~= b )
        sum: n = ( | s | s := 0. 1 to: n do: [:i | s := s + (i * i)]. ^s )
    )";
    let mut exprs = Vec::new();
    let values = [
        MAX,
        MIN,
        "0",
        "1",
        "-1",
        "2",
        "3037000499",
        "3037000500",
        "-3037000500",
        "1.5",
        "-0.0",
        "1.0e38",
        "3.0e-38",
        "(2 raisedTo: 70)",
        "$a",
        "nil",
    ];
    for op in [
        "add: A to: B",
        "sub: A from: B",
        "mul: A by: B",
        "div: A by: B",
        "and: A with: B",
        "or: A with: B",
        "lt: A and: B",
        "le: A and: B",
        "gt: A and: B",
        "ge: A and: B",
        "eq: A and: B",
        "ne: A and: B",
    ] {
        for a in values {
            for b in values {
                let call = op.replace('A', a).replace('B', b);
                exprs.push(format!(
                    "[Arith new {call}] on: Error do: [:e | e class name]"
                ));
            }
        }
    }
    exprs.push("Arith new sum: 100000".into());
    exprs.push(format!("{MAX} + 1"));
    exprs.push(format!("{MIN} - 1"));
    exprs.push(format!("{MIN} / -1"));
    exprs.push(format!("{MAX} * {MAX}"));
    let refs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    same_answers(&[arith], &refs);
}

#[test]
fn float_fast_paths_agree_with_the_primitives() {
    same_answers(
        &[
            "F = ( f: a g: b = ( ^{a + b. a - b. a * b. a < b. a <= b. a > b. a >= b. a = b. a ~= b} ) )",
        ],
        &[
            "F new f: 1.5 g: 2.25",
            "F new f: 1.5 g: 2",
            "F new f: 2 g: 1.5",
            "F new f: 1.0e38 g: 1.0e38",
            "F new f: 1.0e-38 g: 1.0e-38",
            "F new f: 0.0 g: -0.0",
            "F new f: 1.0e300 g: 2.0",
            "F new f: (0.0 - 0.0) g: 0.0",
        ],
    );
}

#[test]
fn arrays_at_the_edges() {
    same_answers(
        &[
            "Ar = ( at: a i: i = ( ^a at: i ) put: a i: i v: v = ( ^a at: i put: v ) size: a = ( ^a size ) )",
        ],
        &[
            "Ar new at: #(1 2 3) i: 1",
            "Ar new at: #(1 2 3) i: 3",
            "[Ar new at: #(1 2 3) i: 0] on: Error do: [:e | e class name]",
            "[Ar new at: #(1 2 3) i: 4] on: Error do: [:e | e class name]",
            "[Ar new at: #(1 2 3) i: nil] on: Error do: [:e | e class name]",
            "Ar new at: (Array new: 300) i: 300",
            "[Ar new at: (Array new: 300) i: 301] on: Error do: [:e | e class name]",
            "Ar new at: 'abc' i: 2",
            "| a | a := Array new: 3. Ar new put: a i: 2 v: 7. a",
            "[Ar new put: #(1 2) i: 1 v: 5] on: Error do: [:e | e class name]",
            "Ar new size: (Array new: 1000)",
            "Ar new size: 'hello'",
            "Ar new size: (OrderedCollection new add: 1; yourself)",
        ],
    );
}

const POLY: &str = "Poly = (
    send: x = ( ^x foo )
    run: xs times: n = ( | s | s := 0. n timesRepeat: [ xs do: [:x | s := s + (self send: x)] ]. ^s )
)";

#[test]
fn cache_transitions_at_a_native_send_site() {
    let mut vm = eager();
    define(&mut vm, POLY);
    let classes = ["PA", "PB", "PC", "PD", "PE", "PF"];
    for (i, c) in classes.iter().enumerate() {
        define(&mut vm, &format!("{c} = ( foo = ( ^{} ) )", i + 1));
    }
    let cell = |vm: &mut Vm| {
        let mid = method_id(vm, "Poly", "send:");
        let info = vm.methods.infos[mid as usize];
        let foo = vm.intern("foo").unwrap();
        (info.cell_base..info.cell_base + info.num_sites as usize)
            .find(|&c| vm.methods.cells[c].selector == foo)
            .expect("the send site of #foo")
    };
    assert_eq!(eval(&mut vm, "Poly new run: {PA new} times: 10"), "10");
    assert!(compiled(&mut vm, "Poly", "send:"));
    let c = cell(&mut vm);
    assert_eq!(vm.methods.cells[c].state, IcState::Monomorphic);
    assert_ne!(
        vm.methods.cells[c].entries[0].entry, 0,
        "linked to native code"
    );
    assert_eq!(
        eval(&mut vm, "Poly new run: {PA new. PB new. PC new} times: 10"),
        "60"
    );
    assert_eq!(vm.methods.cells[c].state, IcState::Polymorphic);
    assert_eq!(
        eval(
            &mut vm,
            "Poly new run: {PA new. PB new. PC new. PD new. PE new. PF new} times: 10"
        ),
        "210"
    );
    assert_eq!(vm.methods.cells[c].state, IcState::Megamorphic);
    // Redefining one of the targets reaches the megamorphic site too.
    define(&mut vm, "PC = ( foo = ( ^100 ) )");
    assert_eq!(
        eval(
            &mut vm,
            "Poly new run: {PA new. PB new. PC new. PD new. PE new. PF new} times: 1"
        ),
        "118"
    );
}

#[test]
fn methods_redefined_while_their_native_code_runs() {
    let mut vm = eager();
    define(
        &mut vm,
        "Redef = (
            step: i = ( ^i )
            loop = ( | s | s := 0.
                1 to: 10 do: [:i |
                    i = 5 ifTrue: [ Redef compile: 'step: i ^i * 100'. Redef compile: 'loop ^#new' ].
                    s := s + (self step: i) ].
                ^s )
        )",
    );
    // The running activation of loop finishes its own (old) code; step: is the new one from
    // the fifth iteration on; loop itself is new on the next call.
    assert_eq!(
        eval(&mut vm, "Redef new loop"),
        (1 + 2 + 3 + 4 + 500 + 600 + 700 + 800 + 900 + 1000).to_string()
    );
    assert_eq!(eval(&mut vm, "Redef new loop"), "#new");
    assert_eq!(eval(&mut vm, "Redef new step: 3"), "300");
    // Removing the method: the native send site must not reach its code.
    assert_eq!(eval(&mut vm, "Redef removeSelector: #step:"), "true");
    assert_eq!(
        eval(
            &mut vm,
            "[Redef new step: 3] on: MessageNotUnderstood do: [:e | #gone]"
        ),
        "#gone"
    );
}

#[test]
fn code_memory_stays_bounded_when_methods_are_redefined() {
    let mut vm = eager();
    define(&mut vm, "Churn = ( value = ( ^0 ) )");
    let run = "| s | s := 0. 1 to: 400 do: [:i |
        Churn compile: 'value | t | t := 0. 1 to: 10 do: [:k | t := t + k + ', i printString, ']. ^t'.
        s := s + Churn new value ]. s";
    let expected: i64 = (1..=400).map(|i| 55 + 10 * i).sum();
    assert_eq!(eval(&mut vm, run), expected.to_string());
    let first = code_in_use(&vm);
    for _ in 0..4 {
        assert_eq!(eval(&mut vm, run), expected.to_string());
    }
    let last = code_in_use(&vm);
    assert!(
        last <= first + 64 * 1024,
        "code memory grew from {first} to {last} bytes over 1600 more redefinitions"
    );
    let report = vm.tier_report().unwrap();
    assert!(report.contains("freed"), "{report}");
}

fn code_in_use(vm: &Vm) -> usize {
    let report = vm.tier_report().expect("a JIT");
    // "jit: N bytes of machine code made (...), M in use, ..."
    let line = report.lines().find(|l| l.contains(" in use")).unwrap();
    let before = line.split(" in use").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

const MIX: &str = "Mix = (
    | log |
    log = ( ^log ifNil: [ log := OrderedCollection new ] )
    hot: n = ( ^self through: [ ^n * 2 ] )
    through: aBlock = ( aBlock value. ^#notReached )
    cold: n = ( ^self coldThrough: [ ^n * 3 ] )
    coldThrough: aBlock = ( ^self through: aBlock )
    viaCold: n = ( ^self coldThrough: [ ^n * 5 ] )
    ensureHot: n = ( ^[ self coldSignal: n ] ensure: [ self log add: #ensured ] )
    coldSignal: n = ( self log add: #signalling. ^Error new signal: 'boom', n printString )
    catch: n = ( ^[ self ensureHot: n ] on: Error do: [:e | self log add: #caught. e return: e messageText ] )
    resume: n = ( ^[ (Warning signal: 'w') + n ] on: Warning do: [:e | e resume: 10 ] )
    retry: n = ( | k | k := 0. ^[ k := k + 1. k < n ifTrue: [ Error signal ]. k ] on: Error do: [:e | e retry ] )
    pass: n = ( ^[ [ Error signal: 'p' ] on: Error do: [:e | e pass ] ] on: Error do: [:e | e return: n ] )
    outer: n = ( ^[ [ Warning signal: 'o' ] on: Warning do: [:e | e outer + 1 ] ] on: Warning do: [:e | e resume: n ] )
)";

/// Non-local returns and exceptions whose frames mix native code (methods called often enough
/// to be compiled) and the interpreter (methods called for the first time).
#[test]
fn non_local_returns_and_exceptions_across_native_and_interpreted_frames() {
    let (mut vm, _) = vm_with(JitMode::On, 20, 0);
    define(&mut vm, MIX);
    // Warm up: hot:, through: and ensureHot: get native code.
    assert_eq!(
        eval(
            &mut vm,
            "| m | m := Mix new. 1 to: 50 do: [:i | m hot: i]. m hot: 7"
        ),
        "14"
    );
    assert_eq!(
        eval(
            &mut vm,
            "| m | m := Mix new. 1 to: 50 do: [:i | [m ensureHot: i] on: Error do: [:e | 0]]. 0"
        ),
        "0"
    );
    assert!(compiled(&mut vm, "Mix", "hot:"));
    assert!(compiled(&mut vm, "Mix", "through:"));
    assert!(!compiled(&mut vm, "Mix", "coldThrough:"));
    // Interpreted home, native middle, interpreted block frame.
    assert_eq!(eval(&mut vm, "Mix new cold: 4"), "12");
    // Native home of the non-local return through an interpreted frame.
    assert_eq!(eval(&mut vm, "Mix new viaCold: 4"), "20");
    // An exception from an interpreted frame through a native ensure: to an interpreted handler.
    assert!(!compiled(&mut vm, "Mix", "catch:"));
    assert_eq!(
        eval(
            &mut vm,
            "| m r | m := Mix new. r := m catch: 3. {r. m log asArray}"
        ),
        "#('boom3' #(#signalling #caught #ensured))"
    );
    for (e, want) in [
        ("Mix new resume: 5", "15"),
        ("Mix new retry: 4", "4"),
        ("Mix new pass: 9", "9"),
        ("Mix new outer: 2", "3"),
    ] {
        assert_eq!(eval(&mut vm, e), want, "{e}");
        // And again with the code native.
        assert_eq!(
            eval(&mut vm, &format!("| r | 1 to: 30 do: [:i | r := {e}]. r")),
            want,
            "{e}"
        );
    }
    let mut interp = interpreter();
    define(&mut interp, MIX);
    assert_eq!(eval(&mut interp, "Mix new cold: 4"), "12");
}

#[test]
fn ctrl_c_stops_native_loops() {
    let mut vm = eager();
    for src in [
        "[ true ] whileTrue",
        "1 to: (2 raisedTo: 80) do: [:i | ]",
        "| n | n := 0. [ n := n + 1 ] repeat",
        "[ [ ] repeat ] ensure: [ Smalltalk at: #Unwound put: true ]",
    ] {
        let flag = vm.interrupt.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let r = vm.evaluate(src, "test", true);
        t.join().unwrap();
        assert!(
            matches!(r, Err(VmError::Interrupted { .. })),
            "{src}: {r:?}"
        );
        assert_eq!(eval(&mut vm, "3 + 4"), "7", "usable after {src}");
    }
}

/// References in the receiver, arguments, temporaries, a temp vector, copied values, instance
/// variables and the operand stack survive collections at every allocation in native code.
#[test]
fn collections_inside_native_frames() {
    let src = "Slots = (
        | a b |
        setUp = ( a := 'ivar a' copy. b := Array with: 'ivar b' copy )
        mix: x with: y = ( | t u blk |
            t := 'temp' copy.
            u := OrderedCollection new.
            blk := [:k | u add: k printString , x , t. t := t , '.' ].
            1 to: 20 do: [:i | blk value: i. (Array new: 10) at: 1 put: y ].
            ^{ x. y. t. u size. u last. a. b first. self class name. (Array with: x with: y with: t) , (Array with: a) } )
    )";
    let expr = "| s | s := Slots new. s setUp. (1 to: 3) collect: [:i | s mix: 'arg x' copy with: i printString]";
    let mut interp = interpreter();
    define(&mut interp, src);
    let want = eval(&mut interp, expr);
    for mode in [JitMode::Eager, JitMode::On] {
        let (mut vm, _) = vm_with(mode, 2, 1);
        define(&mut vm, src);
        assert_eq!(eval(&mut vm, expr), want, "{mode:?}");
        assert!(vm.heap.stats().collections > 100);
    }
}

/// A method of `sends` sends of one selector, alternating between receivers of two classes, run
/// in each (tier, GC stress) mode: the same answer everywhere, one literal for the selector, and
/// a site (and cache cell) per send, each monomorphic for its own receiver's class (a cell shared
/// by two sites would go polymorphic). Answers whether the method got native code in the modes
/// that compile.
fn sends_of_one_selector(sends: usize, modes: &[(JitMode, u32)]) -> Vec<bool> {
    let body = "a bump. b bump. ".repeat(sends / 2);
    let many = format!("Many = ( run: a with: b = ( {body}^a n - b n ) )");
    let defs = [
        "BumpA = ( | n | n = ( ^n ) bump = ( n := (n ifNil: [0]) + 1 ) )",
        "BumpB = ( | n | n = ( ^n ) bump = ( n := (n ifNil: [0]) - 1 ) )",
        many.as_str(),
    ];
    let expr = "| a b | a := BumpA new. b := BumpB new. {Many new run: a with: b. a n. b n}";
    let half = sends / 2;
    let want = format!("#({} {half} -{half})", 2 * half);
    let mut compiled_in = Vec::new();
    for &(mode, stress) in modes {
        let (mut vm, _) = vm_with(mode, 1, stress);
        for d in defs {
            define(&mut vm, d);
        }
        assert_eq!(eval(&mut vm, expr), want, "{mode:?}, stress {stress}");
        let mid = method_id(&mut vm, "Many", "run:with:");
        let info = vm.methods.infos[mid as usize];
        let bump = vm.intern("bump").unwrap();
        let bump_literals = (0..info.num_literals)
            .filter(|&k| vm.literal(info.method, k) == bump)
            .count();
        assert_eq!(bump_literals, 1, "one literal for #bump");
        assert_eq!(info.num_literals, 2, "#bump and #n");
        assert_eq!(info.num_sites as usize, sends + 2, "a site per send");
        let class = |vm: &Vm, name: &str| {
            let c = vm.global(name).unwrap();
            vm.index_of_class(c).unwrap().0
        };
        let (a, b) = (class(&vm, "BumpA"), class(&vm, "BumpB"));
        for s in 0..sends {
            let cell = &vm.methods.cells[info.cell_base + s];
            assert_eq!(cell.selector, bump, "site {s}");
            assert_eq!(cell.state, IcState::Monomorphic, "site {s}, {mode:?}");
            let want = if s % 2 == 0 { a } else { b };
            assert_eq!(cell.entries[0].class, want, "site {s}, {mode:?}");
        }
        if mode != JitMode::Off {
            compiled_in.push(compiled(&mut vm, "Many", "run:with:"));
        }
    }
    compiled_in
}

/// 70 000 sends of one selector: more sites than one `ExtA` prefix can name. The method is too
/// large for the JIT (`smalt_jit::MAX_BYTECODES`), so under the eager JIT it runs in the
/// interpreter and sends to native code.
#[test]
fn seventy_thousand_sends_of_one_selector() {
    let modes = [
        (JitMode::Off, 0),
        (JitMode::Eager, 0),
        (JitMode::Off, 5000),
        (JitMode::Eager, 5000),
    ];
    assert_eq!(sends_of_one_selector(70_000, &modes), [false, false]);
}

/// 1000 sends of one selector in native code: sites past 255 (one `ExtA` prefix) read their own
/// cells there too.
#[test]
fn a_thousand_sends_of_one_selector_in_native_code() {
    let modes = [
        (JitMode::Off, 0),
        (JitMode::Eager, 0),
        (JitMode::Eager, 500),
    ];
    assert_eq!(sends_of_one_selector(1000, &modes), [true, true]);
}

/// A million-deep recursion through native code on a 2 MB thread: native frames until the
/// machine stack is deep, then the interpreter; the answer is the same. An endless recursion
/// raises a catchable StackOverflow.
#[test]
fn deep_recursion_through_native_code() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let (mut vm, _) = vm_with(JitMode::Eager, 1, 0);
            define(
                &mut vm,
                "Deep = (
                    down: n = ( n = 0 ifTrue: [ ^0 ]. ^(self down: n - 1) + 1 )
                    blockDown: n = ( ^n = 0 ifTrue: [ 0 ] ifFalse: [ [:k | (self blockDown: k) + 1] value: n - 1 ] )
                    forever: n = ( ^(self forever: n + 1) + 1 )
                )",
            );
            assert_eq!(eval(&mut vm, "Deep new down: 1000000"), "1000000");
            assert_eq!(eval(&mut vm, "Deep new blockDown: 300000"), "300000");
            assert_eq!(
                eval(&mut vm, "[Deep new forever: 0] on: StackOverflow do: [:e | #caught]"),
                "#caught"
            );
            assert_eq!(eval(&mut vm, "Deep new down: 100"), "100");
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Stack traces through native frames are the interpreter's.
#[test]
fn stack_traces_of_native_frames() {
    let src = "Tr = (
        a: n = ( ^self b: n + 1 )
        b: n = ( ^#(1 2 3) collect: [:x | self c: x + n] )
        c: n = ( ^n > 5 ifTrue: [ nil foo ] ifFalse: [ n ] )
    )";
    let trace = |vm: &mut Vm| match vm.evaluate("Tr new a: 2", "trace", true) {
        Err(VmError::Unhandled { description, trace }) => format!("{description}\n{trace}"),
        other => panic!("expected an error, got {other:?}"),
    };
    let mut interp = interpreter();
    define(&mut interp, src);
    let want = trace(&mut interp);
    assert!(want.contains("Tr>>c:"), "{want}");
    let mut native = eager();
    define(&mut native, src);
    assert_eq!(trace(&mut native), want);
    assert!(compiled(&mut native, "Tr", "c:"));
}

/// thisContext and the Context primitives on native frames.
#[test]
fn contexts_of_native_frames() {
    same_answers(
        &["Ctx = (
            | count |
            here = ( ^thisContext )
            sender = ( ^thisContext sender method selector )
            temps: x = ( | t | t := x * 2. ^{ thisContext tempAt: 1. thisContext tempAt: 2. thisContext numTemps } )
            poke: x = ( | t | t := 1. thisContext tempAt: 2 put: 42. ^t )
            restart = ( count := (count ifNil: [0]) + 1. count < 10 ifTrue: [ thisContext restart ]. ^count )
            dead = ( ^self here isDead )
        )"],
        &[
            "Ctx new sender",
            "Ctx new temps: 21",
            "Ctx new poke: 1",
            "Ctx new restart",
            "Ctx new dead",
            "Ctx new here method selector",
        ],
    );
}

#[test]
fn print_ir_names_the_method() {
    let exe = env!("CARGO_BIN_EXE_smalt");
    let out = std::process::Command::new(exe)
        .args(["--jit=eager", "--print-ir", "Integer>>fib", "--jit-stats", "-e"])
        .arg("Integer compile: 'fib ^self < 2 ifTrue: [self] ifFalse: [(self - 1) fib + (self - 2) fib]'. 20 fib")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.trim(), "6765");
    assert!(stderr.contains("Integer>>fib (method id"), "{stderr}");
    assert!(stderr.contains("bytes of machine code"), "{stderr}");
    assert!(stderr.contains("function u0:"), "{stderr}");
    assert!(stderr.contains("methods and"), "{stderr}");
    assert!(stderr.contains("monomorphic send sites"), "{stderr}");
}

#[test]
fn values_from_native_code_are_sound() {
    // Every answer checked against the interpreter, across the kinds of bytecode.
    same_answers(
        &["K = (
            | v |
            v: x = ( v := x )
            v = ( ^v )
            lits = ( ^{ 1. -1. 3.5. $a. 'str'. #sym. #(1 2). nil. true. false. 1000000000000. 2 raisedTo: 70 } )
            globals = ( ^{ Smalltalk isNil. K name } )
            blocks: n = ( | acc | acc := 0. #(1 2 3) do: [:e | acc := acc + (e * n)]. ^acc )
            nested: n = ( ^[:a | [:b | a + b + n]] )
            cascade = ( ^OrderedCollection new add: 1; add: 2; yourself )
            brace: n = ( ^{ n. n + 1. n * n } )
            nils: x = ( ^{ x ifNil: [#isNil]. x ifNotNil: [:y | y]. x isNil } )
            conds: x = ( ^x > 0 ifTrue: [#pos] ifFalse: [ x < 0 ifTrue: [#neg] ifFalse: [#zero] ] )
            whiles: n = ( | i s | i := 0. s := 0. [i < n] whileTrue: [ s := s + i. i := i + 1 ]. ^s )
            notBool = ( ^[ 3 ifTrue: [1] ] on: Error do: [:e | e class name] )
            super = ( ^super printString )
            printOn: s = ( s nextPutAll: 'a K' )
            dnu = ( ^[ self frob: 1 ] on: MessageNotUnderstood do: [:e | e message selector ] )
        )"],
        &[
            "K new lits", "K new globals", "K new blocks: 10", "((K new nested: 1) value: 2) value: 3",
            "K new cascade", "K new brace: 7", "K new nils: nil", "K new nils: 3", "K new conds: 5",
            "K new conds: -5", "K new conds: 0", "K new whiles: 1000", "K new notBool", "K new super",
            "K new dnu", "| k | k := K new. k v: 42. k v",
            "Undefined1234", "Undefined1234 := 5. Undefined1234 + 1",
        ],
    );
}

const INLINE_SITES: &str = "InlP = (
    | a b |
    a: v = ( a := v )
    a = ( ^a )
    b = ( ^b )
)";
const INLINE_DRIVER: &str = "InlD = (
    set: p times: n = ( 1 to: n do: [:i | p a: i ]. ^p a )
    set: p to: v = ( ^p a: v )
    mod: x by: y = ( ^x \\\\ y )
    pct: x by: y = ( ^x % y )
    div: x by: y = ( ^x // y )
    fdiv: x by: y = ( ^x / y )
    eq: x with: y = ( ^x = y )
    warm = ( | r | 1 to: 60 do: [:i | r := {
        self mod: 7 by: 3. self pct: -7 by: 3. self div: 7.5 by: 2.5. self fdiv: 1.0 by: 4.
        self eq: 'ab' with: 'ab'. self set: InlP new times: 3. self set: InlP new to: 1 }]. ^r )
)";

/// The expressions whose answers native send sites now compute inline (setters, `\\\\`, `%`,
/// Double `/` and `//`, String `=`), at their edges.
const INLINE_EXPRS: &[&str] = &[
    "InlD new warm",
    "InlD new set: InlP new times: 10",
    "(InlD new set: InlP new to: 5) a",
    "InlD new set: 3 to: 4",
    "InlD new mod: 7 by: -3",
    "InlD new mod: -7 by: -3",
    "InlD new mod: 0 by: 5",
    "InlD new mod: 4611686018427387903 by: -2",
    "InlD new mod: -4611686018427387904 by: -1",
    "InlD new mod: 7 by: 0",
    "InlD new pct: 7 by: 0",
    "InlD new mod: 7 by: 2.5",
    "InlD new mod: (2 raisedTo: 70) by: 7",
    "InlD new mod: 7 by: (2 raisedTo: 70)",
    "InlD new pct: 7.5 by: 2",
    "InlD new mod: 7 by: nil",
    "InlD new div: 1.0 by: 0.0",
    "InlD new div: 0.0 by: 0.0",
    "InlD new div: -1.0 by: 0",
    "InlD new div: 1.0e300 by: 1.0e-300",
    "InlD new div: 1.0e-300 by: 1.0e300",
    "InlD new div: 7.5 by: 2",
    "InlD new div: 7.5 by: (2 raisedTo: 70)",
    "InlD new div: 7.5 by: 'x'",
    "InlD new fdiv: 1.0 by: 0",
    "InlD new fdiv: 1.0 by: 0.0",
    "InlD new fdiv: 1.0 by: 3",
    "InlD new fdiv: (1.0e300 * 1.0e10) by: 2.0",
    "InlD new eq: 'abc' with: 'abc'",
    "InlD new eq: 'abc' with: 'abd'",
    "InlD new eq: 'abc' with: 'ab'",
    "InlD new eq: '' with: ''",
    "InlD new eq: 'abcdefgh' with: 'abcdefgh'",
    "InlD new eq: 'abcdefgh' with: 'abcdefgX'",
    "InlD new eq: 'abcdefghi' with: 'abcdefghi'",
    "InlD new eq: 'abcdefghi' with: 'abcdefghX'",
    "InlD new eq: #abc with: 'abc'",
    "InlD new eq: 'abc' with: #abc",
    "InlD new eq: 'abc' with: 3",
    "InlD new eq: 3 with: 'abc'",
    "InlD new eq: 'h\u{e9}' with: 'h\u{e9}'",
    "InlD new eq: 'h\u{e9}' with: 'he'",
    "InlD new eq: ('abc' copyWith: $d) with: 'abcd'",
];

#[test]
fn inline_setters_and_primitives_agree_with_the_interpreter() {
    let answers = |jit: JitMode, threshold: u32, stress: u32| {
        let (mut vm, _) = vm_with(jit, threshold, stress);
        define(&mut vm, INLINE_SITES);
        define(&mut vm, INLINE_DRIVER);
        let out: Vec<String> = INLINE_EXPRS.iter().map(|e| eval(&mut vm, e)).collect();
        if jit == JitMode::On {
            for sel in ["set:times:", "mod:by:", "pct:by:", "div:by:", "eq:with:"] {
                assert!(compiled(&mut vm, "InlD", sel), "{sel} is compiled");
            }
        }
        out
    };
    let expected = answers(JitMode::Off, 0, 0);
    assert_eq!(expected[2], "5");
    for (jit, threshold, stress) in [
        (JitMode::On, 20, 0),
        (JitMode::Eager, 1, 0),
        (JitMode::On, 20, 1),
    ] {
        let got = answers(jit, threshold, stress);
        for ((e, a), b) in INLINE_EXPRS.iter().zip(&expected).zip(&got) {
            assert_eq!(
                a, b,
                "{e} ({jit:?}, threshold {threshold}, stress {stress})"
            );
        }
    }
}

#[test]
fn inline_setters_and_primitives_follow_redefinition() {
    // Warm sites inline a setter and primitives; redefining them (the setter into an ordinary
    // method or a setter of another variable, the primitives into Smalltalk code) must reach
    // those sites at once.
    let (mut vm, _) = vm_with(JitMode::On, 20, 0);
    define(&mut vm, INLINE_SITES);
    define(&mut vm, INLINE_DRIVER);
    eval(&mut vm, "InlD new warm");
    assert!(compiled(&mut vm, "InlD", "set:times:"));
    let setter = method_id(&mut vm, "InlP", "a:");
    assert_eq!(
        vm.methods.infos[setter as usize].activation,
        smalt_vm::layout::Activation::Setter
    );
    assert_eq!(eval(&mut vm, "InlD new set: InlP new times: 10"), "10");
    eval(&mut vm, "InlP compile: 'a: v a := v * 2'");
    assert_eq!(eval(&mut vm, "InlD new set: InlP new times: 10"), "20");
    eval(&mut vm, "InlP compile: 'a: v b := v'");
    assert_eq!(
        eval(
            &mut vm,
            "| p | p := InlP new. InlD new set: p times: 10. p b"
        ),
        "10"
    );
    assert_eq!(eval(&mut vm, "InlD new set: InlP new times: 10"), "nil");
    eval(&mut vm, "InlP compile: 'a: v ^#notSelf'");
    assert_eq!(eval(&mut vm, "InlD new set: InlP new to: 1"), "#notSelf");

    assert_eq!(eval(&mut vm, "InlD new pct: 7 by: 3"), "1");
    eval(&mut vm, "Integer compile: '% n ^#mine'");
    assert_eq!(eval(&mut vm, "InlD new pct: 7 by: 3"), "#mine");
    assert_eq!(eval(&mut vm, "InlD new div: 7.5 by: 2.5"), "3.0");
    eval(&mut vm, "Double compile: '// n ^#mine'");
    assert_eq!(eval(&mut vm, "InlD new div: 7.5 by: 2.5"), "#mine");
    assert_eq!(eval(&mut vm, "InlD new eq: 'ab' with: 'ab'"), "true");
    eval(&mut vm, "String compile: '= other ^#mine'");
    assert_eq!(eval(&mut vm, "InlD new eq: 'ab' with: 'ab'"), "#mine");
}

/// Allocation at native send sites (`new`, `basicNew`, `new:`, `basicNew:` answered by the
/// VM's allocation entry) and closures made in native code, under GC stress, with the new
/// objects referenced from every kind of slot: named and indexed variables of other new
/// objects, temps, copied values of closures, the operand stack of a pending send.
#[test]
fn allocation_at_native_sites_under_gc_stress() {
    let src = "Alloc = (
        | a b |
        a = ( ^a ) b = ( ^b )
        fill: n = ( | arr t blk |
            arr := Array new: n.
            t := Alloc basicNew.
            blk := [:i | (Alloc new) setA: i b: (String new: i) ].
            1 to: n do: [:i | arr at: i put: (blk value: i) ].
            a := Array basicNew: 3.
            a at: 1 put: arr; at: 2 put: t; at: 3 put: (Array with: (Object new) with: (Array new: 2)).
            b := [:k | (arr at: k) a + (Array new: k) size ].
            ^(Array with: (Alloc new setA: (Array new: 1) b: nil) with: a with: (b value: n)) )
        setA: x b: y = ( a := x. b := y )
        check: n = ( | r s |
            r := self fill: n.
            s := 0.
            (r at: 2) first do: [:e | s := s + e a + e b size ].
            ^Array with: s with: (r at: 3) with: ((r at: 2) at: 3) size with: (r at: 1) a size )
    )";
    let expr =
        "(1 to: 12) collect: [:n | (Alloc new check: n) , (Array with: (Array new: 0) size)]";
    let mut interp = interpreter();
    define(&mut interp, src);
    let want = eval(&mut interp, expr);
    assert!(!want.starts_with("error"), "{want}");
    for mode in [JitMode::Eager, JitMode::On] {
        let (mut vm, _) = vm_with(mode, 2, 1);
        define(&mut vm, src);
        assert_eq!(eval(&mut vm, expr), want, "{mode:?}");
        assert!(compiled(&mut vm, "Alloc", "fill:"), "{mode:?}");
        assert!(vm.heap.stats().collections > 100, "{mode:?}");
    }
}

/// A native `new:` site that runs out of memory raises OutOfMemory, which is catchable, and
/// the site goes on working after it; so does a size no heap can hold.
#[test]
fn out_of_memory_at_a_native_allocation_site() {
    smalt_jit::install();
    let mut options = VmOptions {
        jit: JitMode::Eager,
        jit_threshold: 1,
        ..VmOptions::default()
    };
    options.heap.max_bytes = 3 << 20;
    options.heap.initial_bytes = options.heap.initial_bytes.min(3 << 20);
    let mut vm = Vm::new(options).expect("the VM starts");
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    define(
        &mut vm,
        "Hog = (
            grow = ( | a | a := nil.
                [ true ] whileTrue: [ a := (Array new: 64) at: 1 put: a; yourself ] )
            make: n = ( ^Array new: n )
            run = ( ^[ self grow ] on: OutOfMemory do: [:e | e return: #caught ] )
        )",
    );
    assert_eq!(eval(&mut vm, "Hog new run"), "#caught");
    assert!(compiled(&mut vm, "Hog", "grow"));
    assert_eq!(eval(&mut vm, "Hog new run"), "#caught");
    assert_eq!(eval(&mut vm, "(Hog new make: 5) size"), "5");
    assert_eq!(
        eval(
            &mut vm,
            "[ Hog new make: 1000000000000 ] on: OutOfMemory do: [:e | e return: #huge ]"
        ),
        "#huge"
    );
    assert_eq!(eval(&mut vm, "(Hog new make: 7) size"), "7");
}

/// `new` / `basicNew` / `new:` redefined on the class side while sites that saw the primitive
/// are warm in native code: the next send runs the new method at once.
#[test]
fn allocation_sites_see_redefined_new_at_once() {
    let mut vm = eager();
    define(
        &mut vm,
        "Made = (
            | v |
            v = ( ^v )
            make = ( ^Made new )
            makeBasic = ( ^Made basicNew )
            makeArray: n = ( ^Array new: n )
        )",
    );
    for _ in 0..3 {
        assert_eq!(eval(&mut vm, "Made new make class name"), "#Made");
        assert_eq!(eval(&mut vm, "Made new makeBasic v"), "nil");
        assert_eq!(eval(&mut vm, "(Made new makeArray: 3) size"), "3");
    }
    assert!(compiled(&mut vm, "Made", "make"));
    assert_eq!(
        eval(&mut vm, "Made class compile: 'new ^42'. Made basicNew make"),
        "42"
    );
    assert_eq!(
        eval(
            &mut vm,
            "| m | m := Made basicNew. Made class compile: 'basicNew ^#basic'. m makeBasic"
        ),
        "#basic"
    );
    assert_eq!(
        eval(
            &mut vm,
            "| r | Made class removeSelector: #new. Made class removeSelector: #basicNew.
             Array class compile: 'new: n ^n * 2'. r := Made new makeArray: 4.
             Array class removeSelector: #new:. r"
        ),
        "8"
    );
    assert_eq!(
        eval(
            &mut vm,
            "(Made new make class name) -> (Made new makeBasic class name)"
        ),
        "#Made->#Made"
    );
    assert_eq!(eval(&mut vm, "(Made new makeArray: 4) size"), "4");
}

/// Closures made in native code capture copied values (by value, as the interpreter does)
/// and return non-locally from their home method, under GC stress.
#[test]
fn closures_made_natively_copy_values_and_return_non_locally() {
    let src = "Clo = (
        adders: k = ( ^(1 to: 4) collect: [:i | [:y | y + i + k]] )
        find: x in: arr = ( arr do: [:e | e = x ifTrue: [ ^e * 10 ] ]. ^nil )
        nested: n = ( | t | t := 0.
            1 to: n do: [:i | #(1 2) do: [:j | i * j > 6 ifTrue: [ ^Array with: i with: j with: t ]. t := t + j ] ].
            ^t )
    )";
    let exprs = [
        "((Clo new adders: 100) collect: [:b | b value: 1000]) asArray",
        "Clo new find: 3 in: #(1 2 3 4)",
        "Clo new find: 9 in: #(1 2 3 4)",
        "Clo new nested: 10",
        "Clo new nested: 2",
    ];
    let mut interp = interpreter();
    define(&mut interp, src);
    let want: Vec<String> = exprs.iter().map(|e| eval(&mut interp, e)).collect();
    for mode in [JitMode::Eager, JitMode::On] {
        let (mut vm, _) = vm_with(mode, 2, 1);
        define(&mut vm, src);
        for _ in 0..3 {
            let got: Vec<String> = exprs.iter().map(|e| eval(&mut vm, e)).collect();
            assert_eq!(got, want, "{mode:?}");
        }
        assert!(compiled(&mut vm, "Clo", "nested:"), "{mode:?}");
    }
}
