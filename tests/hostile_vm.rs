//! Hostile programs against the VM itself: running out of memory, interrupts (Ctrl-C) in
//! every kind of code, recursion through exception handling.
//!
//! Every evaluation runs under the robustness watchdog: if it does not end within a generous
//! time it is interrupted as Ctrl-C would (and the test sees that it did not finish), and if
//! it does not stop then, the test process ends with a HANG report. Nothing here measures time.

#[allow(dead_code)]
#[path = "robustness/harness.rs"]
mod harness;

use harness::{Capture, Watchdog, check_usable};
use smalt_vm::{Vm, VmError, VmOptions};
use std::time::Duration;

/// Far longer than any of these evaluations takes.
const GENEROUS: Duration = Duration::from_secs(120);

/// A VM with a heap limit of `max_heap` bytes (the default when `None`), output captured.
fn vm_with_heap(max_heap: Option<usize>, stress: bool) -> (Vm, Capture) {
    let mut options = VmOptions::default();
    if let Some(max) = max_heap {
        options.heap.max_bytes = max;
        options.heap.initial_bytes = options.heap.initial_bytes.min(max);
    }
    let mut vm = Vm::new(options).expect("the VM starts");
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    if stress {
        // Collecting at every safepoint while filling a heap takes hours in a debug build:
        // often enough to collect at every kind of safepoint of the signal path.
        vm.heap.set_stress(499);
    }
    (vm, out)
}

fn text(out: &Capture) -> String {
    String::from_utf8_lossy(&out.0.borrow()).into_owned()
}

/// Evaluates `src` under the watchdog, with an interrupt after `timeout`; panics on a panic.
fn eval(vm: &mut Vm, wd: &Watchdog, src: &str, timeout: Duration) -> Result<String, VmError> {
    let r = wd
        .guard(vm, timeout, src, |vm| {
            let v = vm.evaluate(src, "test", true)?;
            let s = vm.send_message(v, "printString", &[])?;
            Ok(vm.string_value(s).unwrap_or_default())
        })
        .unwrap_or_else(|p| panic!("{src}\npanicked: {p}"));
    if let Err(VmError::Interrupted { .. }) = &r
        && timeout == GENEROUS
    {
        panic!("{src}\ndid not finish within {GENEROUS:?}");
    }
    r
}

fn unhandled(r: &Result<String, VmError>) -> String {
    match r {
        Err(VmError::Unhandled { description, .. }) => description.clone(),
        other => panic!("expected an unhandled error, got {other:?}"),
    }
}

// ---- out of memory ---------------------------------------------------------------------------

/// With a small heap, a list that grows for ever: before, every level of the signal of
/// OutOfMemory collected again and allocated again (ten minutes of collections and no
/// message); now the error comes at once, unhandled or handled.
#[test]
fn filling_a_small_heap_signals_out_of_memory() {
    let wd = Watchdog::new();
    for stress in [false, true] {
        let (mut vm, _) = vm_with_heap(Some(3 << 20), stress);
        let grow = "| a | a := nil. [ true ] whileTrue: [ a := Array with: a ]";
        let r = eval(&mut vm, &wd, grow, GENEROUS);
        assert_eq!(
            unhandled(&r),
            "OutOfMemory: out of memory",
            "stress {stress}"
        );
        check_usable(&mut vm, &wd).unwrap();
        // A collection has room again: the reserve is kept free once more.
        assert!(!vm.heap.reserve_released(), "stress {stress}");
    }
}

#[test]
fn out_of_memory_is_catchable_again_and_again() {
    let wd = Watchdog::new();
    for (stress, rounds) in [(false, 3), (true, 1)] {
        let (mut vm, _) = vm_with_heap(Some(3 << 20), stress);
        let src = "| a n | n := 0.
            1 to: ROUNDS do: [ :i |
                [ a := nil. [ true ] whileTrue: [ a := Array with: a ] ]
                    on: OutOfMemory do: [ :e | a := nil. n := n + 1. e return: nil ] ].
            n"
        .replace("ROUNDS", &rounds.to_string());
        assert_eq!(
            eval(&mut vm, &wd, &src, GENEROUS).unwrap(),
            rounds.to_string(),
            "stress {stress}"
        );
        // retry after freeing memory.
        let src = "| a n | n := 0. a := nil.
            [ [ true ] whileTrue: [ a := Array with: a ] ]
                on: OutOfMemory do: [ :e | a := nil. n := n + 1. n < ROUNDS ifTrue: [ e retry ]. n ]"
            .replace("ROUNDS", &rounds.to_string());
        assert_eq!(
            eval(&mut vm, &wd, &src, GENEROUS).unwrap(),
            rounds.to_string(),
            "stress {stress}"
        );
        check_usable(&mut vm, &wd).unwrap();
    }
}

#[test]
fn out_of_memory_runs_the_unwind_blocks() {
    let wd = Watchdog::new();
    let (mut vm, out) = vm_with_heap(Some(3 << 20), false);
    let src = "| a | a := nil.
        [ [ [ true ] whileTrue: [ a := Array with: a ] ]
            ifCurtailed: [ a := nil. 'curtailed' println ] ]
            ensure: [ 'ensure' println ]";
    let r = eval(&mut vm, &wd, src, GENEROUS);
    assert_eq!(unhandled(&r), "OutOfMemory: out of memory");
    assert_eq!(text(&out), "curtailed\nensure\n");
    check_usable(&mut vm, &wd).unwrap();
}

/// A handler that keeps the heap full and goes on allocating: memory runs short again while
/// the reserve is in use, and the run stops with a message instead of collecting for ever.
#[test]
fn running_short_again_while_handling_stops_the_run() {
    let wd = Watchdog::new();
    let (mut vm, _) = vm_with_heap(Some(3 << 20), false);
    let src = "| a | a := nil.
        [ [ true ] whileTrue: [ a := Array with: a ] ] on: OutOfMemory do: [ :e | e retry ]";
    match eval(&mut vm, &wd, src, GENEROUS) {
        Err(VmError::Load(m)) => assert!(m.contains("heap stays full"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The program's data is garbage now: the VM goes on.
    check_usable(&mut vm, &wd).unwrap();
    assert!(!vm.heap.reserve_released());
}

/// A heap nearly full of live data: each collection would free a little garbage, and the
/// program would do little but collect (a collection storm). Less than a sixteenth of the heap
/// free after a collection at its largest is out of memory; a fifth is not.
#[test]
fn a_heap_nearly_full_of_live_data_is_out_of_memory_without_a_collection_storm() {
    let wd = Watchdog::new();
    for (free_share, starved) in [(0.04, true), (0.2, false)] {
        let (mut vm, _) = vm_with_heap(Some(8 << 20), false);
        vm.collect_garbage(0).unwrap();
        let usable = vm.heap.usable_bytes() as f64;
        let live = vm.heap.used_bytes() as f64;
        // One Array takes the rest, less `free_share` of the heap.
        let slots = ((usable * (1.0 - free_share) - live) / 8.0) as usize;
        let src = format!(
            "| big | big := Array new: {slots}.
             [ [ true ] whileTrue: [ Array new: 10 ] ]
                on: OutOfMemory do: [ :e | big := nil. e return: #starved ]"
        );
        let r = eval(
            &mut vm,
            &wd,
            &src,
            Duration::from_secs(if starved { 120 } else { 3 }),
        );
        if starved {
            assert_eq!(r.unwrap(), "#starved");
        } else {
            assert!(matches!(r, Err(VmError::Interrupted { .. })), "{r:?}");
        }
        check_usable(&mut vm, &wd).unwrap();
    }
}

#[test]
fn an_allocation_larger_than_the_heap_fails_at_once_and_keeps_the_reserve() {
    let wd = Watchdog::new();
    let (mut vm, _) = vm_with_heap(Some(16 << 20), false);
    for src in [
        "Array new: 1000000000000",
        "Array new: 4000000",
        "String new: 17000000",
    ] {
        let r = eval(&mut vm, &wd, src, GENEROUS);
        assert_eq!(unhandled(&r), "OutOfMemory: out of memory", "{src}");
        assert!(!vm.heap.reserve_released(), "{src}");
    }
    assert_eq!(
        eval(
            &mut vm,
            &wd,
            "[ Array new: 4000000 ] on: OutOfMemory do: [ :e | e return: 5 ]",
            GENEROUS
        )
        .unwrap(),
        "5"
    );
}

#[test]
fn the_default_heap_limit_is_a_share_of_the_machine() {
    let limit = VmOptions::default().heap.max_bytes;
    let memory: usize = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb = m.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024);
    if memory > 0 {
        assert!(limit <= memory / 4, "{limit} of {memory}");
    }
    assert!(limit >= 64 << 20);
}

// ---- interrupts ----------------------------------------------------------------------------

/// Ctrl-C (here the watchdog's interrupt, after a moment) unwinds like an error: the unwind
/// blocks run, and the run stops as interrupted with the stack where it was.
#[test]
fn an_interrupt_runs_the_unwind_blocks_and_reports_where_the_program_was() {
    let wd = Watchdog::new();
    for stress in [false, true] {
        let (mut vm, out) = vm_with_heap(None, stress);
        vm.load_class_source(
            "Spinner = ( spin = ( | n | n := 0. [ true ] whileTrue: [ n := n + 1 ] ) )",
            "Spinner.som",
        )
        .unwrap();
        let src = "[ [ Spinner new spin ] ifCurtailed: [ 'curtailed' println ] ]
            ensure: [ 'ensure' println ]";
        match eval(&mut vm, &wd, src, Duration::from_millis(300)) {
            Err(VmError::Interrupted { trace }) => {
                assert!(trace.contains("Spinner>>spin (Spinner.som:1)"), "{trace}");
                assert!(trace.contains("Block1(Block)>>ensure:"), "{trace}");
            }
            other => panic!("stress {stress}: {other:?}"),
        }
        assert_eq!(text(&out), "curtailed\nensure\n", "stress {stress}");
        check_usable(&mut vm, &wd).unwrap();
    }
}

#[test]
fn only_handlers_that_name_user_interrupt_catch_it() {
    let wd = Watchdog::new();
    let (mut vm, _) = vm_with_heap(None, false);
    let caught = "[ [ true ] whileTrue ] on: UserInterrupt do: [ :e | e return: e class name ]";
    assert_eq!(
        eval(&mut vm, &wd, caught, Duration::from_millis(200)).unwrap(),
        "#UserInterrupt"
    );
    let set = "[ [ true ] whileTrue ] on: ZeroDivide, UserInterrupt do: [ :e | e return: 7 ]";
    assert_eq!(
        eval(&mut vm, &wd, set, Duration::from_millis(200)).unwrap(),
        "7"
    );
    // A handler for every Exception (or Error) does not: the interrupt still stops the run.
    for general in [
        "[ [ true ] whileTrue ] on: Exception do: [ :e | e retry ]",
        "[ [ true ] whileTrue ] on: Error do: [ :e | e return: 1 ]",
    ] {
        let r = eval(&mut vm, &wd, general, Duration::from_millis(200));
        assert!(
            matches!(r, Err(VmError::Interrupted { .. })),
            "{general}: {r:?}"
        );
    }
    // Not resumable.
    let resumed = "[ [ true ] whileTrue ] on: UserInterrupt do: [ :e | e resume: 3 ]";
    let r = eval(&mut vm, &wd, resumed, Duration::from_millis(200));
    assert!(unhandled(&r).starts_with("IllegalResumeAttempt"), "{r:?}");
    check_usable(&mut vm, &wd).unwrap();
}

/// Unwind blocks or a handler that never end: the interrupt that keeps coming (Ctrl-C pressed
/// again) stops the run at once.
#[test]
fn a_second_interrupt_while_the_first_is_handled_stops_at_once() {
    let wd = Watchdog::new();
    let (mut vm, _) = vm_with_heap(None, false);
    for src in [
        "[ [ true ] whileTrue ] ensure: [ [ true ] whileTrue ]",
        "[ [ true ] whileTrue ] ifCurtailed: [ [ true ] whileTrue ]",
        "[ [ true ] whileTrue ] on: UserInterrupt do: [ :e | [ true ] whileTrue ]",
        "[ [ true ] whileTrue ] on: UserInterrupt do: [ :e | e retry ]",
    ] {
        let r = eval(&mut vm, &wd, src, Duration::from_millis(200));
        assert!(
            matches!(r, Err(VmError::Interrupted { .. })),
            "{src}: {r:?}"
        );
        check_usable(&mut vm, &wd).unwrap();
    }
}

/// A big-integer operation that would take minutes notices the interrupt: the evaluation stops
/// long before the watchdog's hang limit.
#[test]
fn long_big_integer_operations_notice_an_interrupt() {
    let wd = Watchdog::new();
    let (mut vm, out) = vm_with_heap(None, false);
    for op in [
        "(3 raisedTo: 20000000) gcd: (2 raisedTo: 31000000) + 1",
        "((3 raisedTo: 20000000) * (7 raisedTo: 20000000)) printString size",
    ] {
        let src = format!("[ {op} ] ensure: [ 'ensure' println ]");
        let r = eval(&mut vm, &wd, &src, Duration::from_millis(500));
        match r {
            Err(VmError::Interrupted { trace }) => assert!(trace.contains("DoIt"), "{trace}"),
            other => panic!("{op}: {other:?}"),
        }
        check_usable(&mut vm, &wd).unwrap();
    }
    assert_eq!(text(&out), "ensure\nensure\n");
}

// ---- recursion through exception handling ----------------------------------------------------

/// An Error whose defaultAction signals another: each signal used to walk the whole stack,
/// so reaching the stack limit took time quadratic in the depth (minutes). The handler
/// search remembers what it found below each activation, and the overflow comes at once.
#[test]
fn recursion_through_default_actions_reaches_stack_overflow() {
    let wd = Watchdog::new();
    let options = VmOptions {
        max_stack_words: 2 << 20,
        ..VmOptions::default()
    };
    let mut vm = Vm::new(options).expect("the VM starts");
    vm.load_class_source(
        "Again = Error ( defaultAction = ( ^Again new signal ) )",
        "Again.som",
    )
    .unwrap();
    let src = "[ Again new signal ] on: StackOverflow do: [ :e | e return: #overflowed ]";
    assert_eq!(eval(&mut vm, &wd, src, GENEROUS).unwrap(), "#overflowed");
    check_usable(&mut vm, &wd).unwrap();
}
