//! The interpreter's fast paths (superinstructions, quick methods, inline sends and returns)
//! give exactly the answers of the instructions they stand for, including when the fast case
//! does not apply: SmallInteger overflow, floats, other receivers, redefined methods,
//! non-Booleans, accessors on receivers without the variable. Each case runs in a normal VM
//! and in one that collects at every safepoint.

use smalt_vm::{Vm, VmError, VmOptions};

fn vms() -> Vec<Vm> {
    let normal = Vm::new(VmOptions::default()).expect("the VM starts");
    let mut stressed = Vm::new(VmOptions::default()).expect("the VM starts");
    stressed.heap.set_stress(1);
    vec![normal, stressed]
}

/// The printString of a do-it's value, or the error's description.
fn eval(vm: &mut Vm, src: &str) -> String {
    let r = vm.evaluate(src, "test", true).and_then(|v| {
        let s = vm.send_message(v, "printString", &[])?;
        Ok(vm.string_value(s).unwrap_or_default())
    });
    match r {
        Ok(s) => s,
        Err(VmError::Unhandled { description, .. }) => format!("error: {description}"),
        Err(e) => format!("error: {e}"),
    }
}

fn check(cases: &[(&str, &str)]) {
    for mut vm in vms() {
        for (src, want) in cases {
            assert_eq!(eval(&mut vm, src), *want, "{src}");
        }
    }
}

#[test]
fn local_increments_overflow_into_large_integers() {
    check(&[
        // PushLocal; PushSmallInt; Add; PopStoreLocal (AddLocalConst)
        (
            "| i | i := 4611686018427387900. 1 to: 10 do: [:k | i := i + 1]. i",
            "4611686018427387910",
        ),
        (
            "| i | i := -4611686018427387900. 1 to: 10 do: [:k | i := i + -1]. i",
            "-4611686018427387910",
        ),
        ("| i | i := 2.5. i := i + 1. i", "3.5"),
        // a String answers + (concatenation): the send
        ("| i | i := 'a'. i := i + 1. i", "'a1'"),
        // the loop counter itself near the limit
        (
            "| n | n := 0. 4611686018427387900 to: 4611686018427387905 do: [:k | n := n + 1]. n",
            "6",
        ),
    ]);
}

#[test]
fn sums_stored_into_locals_overflow_and_send() {
    check(&[
        // Add; PopStoreLocal (AddPopStoreLocal)
        (
            "| s t | s := 4611686018427387903. t := s. s := s + t. s",
            "9223372036854775806",
        ),
        ("| s t | s := 1.5. t := 2.25. s := s + t. s", "3.75"),
        ("| s t | s := 1. t := 2.5. s := s + t. s", "3.5"),
        (
            "| s t | s := (2 raisedTo: 70). t := 1. s := s + t. s",
            "1180591620717411303425",
        ),
        ("| s t | s := 'ab'. t := 1. s := s + t. s", "'ab1'"),
        (
            "| s t | s := nil. t := 1. [ s := s + t ] on: MessageNotUnderstood do: [:e | e return: #dnu]",
            "#dnu",
        ),
    ]);
}

#[test]
fn compare_and_branch_agrees_with_compare_then_branch() {
    check(&[
        ("3 < 4 ifTrue: [1] ifFalse: [2]", "1"),
        ("4 < 3 ifTrue: [1] ifFalse: [2]", "2"),
        ("3 <= 3 ifTrue: [1] ifFalse: [2]", "1"),
        ("3 >= 4 ifTrue: [1] ifFalse: [2]", "2"),
        ("3 = 3 ifTrue: [1] ifFalse: [2]", "1"),
        ("3 ~= 3 ifTrue: [1] ifFalse: [2]", "2"),
        ("1.5 < 2.5 ifTrue: [1] ifFalse: [2]", "1"),
        ("1.5 > 2 ifTrue: [1] ifFalse: [2]", "2"),
        ("2 > 1.5 ifTrue: [1] ifFalse: [2]", "1"),
        ("(2 raisedTo: 80) > 3 ifTrue: [1] ifFalse: [2]", "1"),
        ("$a < $b ifTrue: [1] ifFalse: [2]", "1"),
        ("-0.0 = 0.0 ifTrue: [1] ifFalse: [2]", "1"),
        ("1.0e300 * 1.0e300 > 1 ifTrue: [1] ifFalse: [2]", "1"),
        ("| n | n := 0. [ n < 5 ] whileTrue: [ n := n + 1 ]. n", "5"),
        (
            "| n | n := 0. 10 to: 1 by: -1 do: [:k | n := n + k]. n",
            "55",
        ),
        (
            "nil < 3 ifTrue: [1] ifFalse: [2]",
            "error: MessageNotUnderstood: Nil does not understand #<",
        ),
    ]);
}

#[test]
fn locals_compared_with_constants() {
    check(&[
        // PushLocal; PushSmallInt; <comparison>; JumpIfFalse
        ("| x | x := 1. x < 2 ifTrue: [1] ifFalse: [2]", "1"),
        ("| x | x := 2. x < 2 ifTrue: [1] ifFalse: [2]", "2"),
        ("| x | x := -3. x >= -3 ifTrue: [1] ifFalse: [2]", "1"),
        ("| x | x := 0. x = 0 ifTrue: [1] ifFalse: [2]", "1"),
        ("| x | x := 0. x ~= 0 ifTrue: [1] ifFalse: [2]", "2"),
        ("| x | x := 5. x > 4 ifTrue: [1] ifFalse: [2]", "1"),
        ("| x | x := 5. x <= 4 ifTrue: [1] ifFalse: [2]", "2"),
        ("| x | x := 1.5. x < 2 ifTrue: [1] ifFalse: [2]", "1"),
        (
            "| x | x := 2 raisedTo: 70. x > 5 ifTrue: [1] ifFalse: [2]",
            "1",
        ),
        ("| x | x := $a. x < 2 ifTrue: [1] ifFalse: [2]", "2"),
        (
            "| x | x := nil. [ x < 2 ifTrue: [1] ] on: MessageNotUnderstood do: [:e | e return: 9]",
            "9",
        ),
        (
            "| n | n := 0. [ n < 100 ] whileTrue: [ n := n + 7 ]. n",
            "105",
        ),
    ]);
}

#[test]
fn locals_plus_constants_and_sums_returned() {
    check(&[
        // PushLocal; PushSmallInt; Add/Sub (then ReturnTop in a do-it: the base frame)
        (
            "| x | x := 4611686018427387903. x + 1",
            "4611686018427387904",
        ),
        (
            "| x | x := -4611686018427387904. x - 1",
            "-4611686018427387905",
        ),
        ("| x | x := 1.5. x - 1", "0.5"),
        ("| x | x := 'a'. x + 1", "'a1'"),
        ("| x | x := 3. x - -128", "131"),
    ]);
    for mut vm in vms() {
        vm.load_class_source(
            "Sums = ( add: a to: b = ( ^a + b ) \
               seen: a = ( thisContext. ^a + 1 ) \
               down: n = ( ^n < 1 ifTrue: [0] ifFalse: [(self down: n - 1) + 1] ) )",
            "Sums.som",
        )
        .unwrap();
        let cases = [
            ("Sums new add: 3 to: 4", "7"),
            (
                "Sums new add: 4611686018427387903 to: 1",
                "4611686018427387904",
            ),
            ("Sums new add: 1.25 to: 1", "2.25"),
            ("Sums new add: 'x' to: 'y'", "'xy'"),
            ("Sums new seen: 41", "42"),
            ("Sums new down: 1000", "1000"),
            // PushSelf; PushLocal; PushSmallInt; Sub (the argument of a send to self)
            ("Sums new down: 2.5", "2"),
            (
                "Sums new down: (2 raisedTo: 64) - (2 raisedTo: 64) + 3",
                "3",
            ),
            (
                "[ Sums new down: 'x' ] on: Error do: [:e | e return: #error]",
                "#error",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(eval(&mut vm, src), want, "{src}");
        }
    }
}

#[test]
fn redefined_and_non_boolean_comparisons() {
    for mut vm in vms() {
        vm.load_class_source(
            "Odd = ( < other = ( ^42 ) + other = ( ^#plus ) isOdd = ( ^true ) )",
            "Odd.som",
        )
        .unwrap();
        assert_eq!(
            eval(&mut vm, "| o | o := Odd new. o + 1"),
            "#plus",
            "a non-number takes the send"
        );
        assert_eq!(
            eval(&mut vm, "| o s | o := Odd new. s := o. s := s + 1. s"),
            "#plus",
            "Add; PopStoreLocal on a non-number"
        );
        let r = eval(&mut vm, "Odd new < 3 ifTrue: [1] ifFalse: [2]");
        assert!(r.contains("NonBooleanReceiver"), "{r}");
        assert_eq!(
            eval(
                &mut vm,
                "[ Odd new < 3 ifTrue: [1] ifFalse: [2] ] on: NonBooleanReceiver do: [:e | e resume: false]"
            ),
            "2",
            "a resumed mustBeBoolean takes the branch"
        );
        // SmallInteger arithmetic and comparisons stay primitive when Integer's methods are
        // redefined (as before the fast paths existed); sends see the new methods.
        let integer = vm.global("Integer").unwrap();
        vm.compile_and_install(integer, "+ other = ( ^42 )", "test")
            .unwrap();
        vm.compile_and_install(integer, "< other = ( ^#less )", "test")
            .unwrap();
        assert_eq!(eval(&mut vm, "| i | i := 3. i := i + 1. i"), "4");
        assert_eq!(eval(&mut vm, "3 < 4 ifTrue: [1] ifFalse: [2]"), "1");
        assert_eq!(eval(&mut vm, "3 perform: #+ with: 4"), "42");
        assert_eq!(eval(&mut vm, "(2 raisedTo: 100) + 1"), "42");
        let r = eval(&mut vm, "(2 raisedTo: 100) < 1 ifTrue: [1] ifFalse: [2]");
        assert!(r.contains("NonBooleanReceiver"), "{r}");
    }
}

#[test]
fn quick_methods_answer_what_their_code_would() {
    for mut vm in vms() {
        vm.load_class_source(
            "Quick = ( | a b | \
               a = ( ^a ) b = ( ^b ) a: x = ( a := x ) me = ( ^self ) me: x = ( ^self ) \
               seven = ( ^7 ) none = ( ^nil ) yes = ( ^true ) no = ( ^false ) \
               text = ( ^'text' ) big = ( ^4611686018427387904 ) sym = ( ^#sym ) \
               empty = ( ) \
               ---- \
               new = ( ^super new a: 1 ) )",
            "Quick.som",
        )
        .unwrap();
        let cases = [
            ("Quick new a", "1"),
            ("Quick new b", "nil"),
            ("(Quick new a: 5; yourself) a", "5"),
            ("| q | q := Quick new. q me == q", "true"),
            ("| q | q := Quick new. (q me: 3) == q", "true"),
            ("| q | q := Quick new. q empty == q", "true"),
            ("Quick new seven", "7"),
            ("Quick new none", "nil"),
            ("Quick new yes", "true"),
            ("Quick new no", "false"),
            ("Quick new text", "'text'"),
            ("Quick new big", "4611686018427387904"),
            ("Quick new sym", "#sym"),
            ("Quick new text == Quick new text", "true"),
            (
                "(1 to: 3) inject: 0 into: [:s :k | s + Quick new seven]",
                "21",
            ),
            ("Quick new perform: #seven", "7"),
        ];
        for (src, want) in cases {
            assert_eq!(eval(&mut vm, src), want, "{src}");
        }
    }
}

#[test]
fn sends_and_returns_keep_the_stack_intact_through_deep_and_mixed_calls() {
    check(&[
        // fib through blocks, methods and non-local returns
        (
            "| fib | fib := nil. fib := [:n | n < 2 ifTrue: [n] ifFalse: [(fib value: n - 1) + (fib value: n - 2)]]. fib value: 20",
            "6765",
        ),
        ("(1 to: 10) inject: 0 into: [:a :b | a + b]", "55"),
        ("#(3 1 2) asSortedCollection asArray", "#(1 2 3)"),
        (
            "[:x | x > 2 ifTrue: [#big] ifFalse: [#small]] value: 3",
            "#big",
        ),
        (
            "| r | r := 0. #(1 2 3) do: [:e | e = 2 ifTrue: [r := e]]. r",
            "2",
        ),
        ("[ thisContext sender isNil ] value", "false"),
        ("[ :k | thisContext ] value: 1", "[] in Nil>>DoIt (test:1)"),
    ]);
}

/// Loops and recursions that the fast loop runs entirely (superinstructions included) stop when
/// the interrupt flag is set, as Ctrl-C does, and the VM goes on working.
#[test]
fn fast_loops_stop_when_interrupted() {
    let mut vm = Vm::new(VmOptions::default()).expect("the VM starts");
    vm.load_class_source(
        "Spin = ( down: n = ( ^n < 1 ifTrue: [0] ifFalse: [(self down: n - 1) + (self down: n - 2)] ) )",
        "Spin.som",
    )
    .unwrap();
    for src in [
        // a counting loop: its step and back jump are one superinstruction
        "| s | s := 0. 1 to: 4000000000000 do: [:i | s := s + i]. s",
        "| s | s := 0. 1 to: 4000000000000 do: [:i | s := s + 1]. s",
        // a local compared with a constant, a backward jump
        "| n | n := 0. [ n < 100 ] whileTrue: [ n := n + 1. n = 99 ifTrue: [ n := 0 ] ]",
        // recursion without loops: frame pushes only
        "Spin new down: 200",
        // block activations
        "| f | f := nil. f := [:k | k < 1 ifTrue: [0] ifFalse: [(f value: k - 1) + (f value: k - 2)]]. f value: 200",
    ] {
        // Sets the flag after 200 ms; a VM that has not stopped 30 s later hangs, and since
        // nothing else could stop it, the watcher ends the test process.
        let flag = vm.interrupt.clone();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let what = src.to_string();
        let watcher = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            if finished
                .recv_timeout(std::time::Duration::from_secs(30))
                .is_err()
            {
                eprintln!("HANG: the VM did not stop when interrupted: {what}");
                std::process::exit(101);
            }
        });
        let started = std::time::Instant::now();
        let r = vm.evaluate(src, "test", true);
        done.send(()).unwrap();
        watcher.join().unwrap();
        assert!(
            matches!(r, Err(VmError::Interrupted { .. })),
            "{src}: {r:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{src}: stopped only after {:?}",
            started.elapsed()
        );
        assert_eq!(
            eval(&mut vm, "3 + 4"),
            "7",
            "{src}: the VM works afterwards"
        );
    }
}
