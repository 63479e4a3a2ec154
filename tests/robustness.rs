//! Robustness of the running VM against bad input: no Smalltalk program, however wrong, may
//! panic the VM, hang it (other than a genuinely infinite Smalltalk loop, which Ctrl-C stops),
//! or leave it unusable or its heap broken.
//!
//! * `fuzz_*`: property tests that send random messages, taken from the selectors the class
//!   library really defines (found by reflection at the start), to receivers and arguments
//!   drawn from a pool of values of every kind, under every way of handling errors (and
//!   none), in fresh VMs, a share of them collecting at every safepoint.
//! * `every_primitive_*`: every primitive, installed as a method of Object, run on every
//!   receiver of a pool with arguments from a pool (as `perform:`, user subclasses of kernel
//!   classes, or a copied `<primitive:>` method can do).
//! * the other tests: one class of bad input each, with regression cases for the crashes
//!   these tests found.
//!
//! Set `SMALT_FUZZ_CASES` to run more fuzz cases and `SMALT_FUZZ_SEED` for other ones (the
//! default seed is fixed, so CI runs the same cases every time).

#[path = "robustness/harness.rs"]
mod harness;

use harness::{Watchdog, check_usable, new_vm};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use smalt_vm::Vm;
use std::collections::BTreeSet;
use std::time::Duration;

// ---- the value pool ------------------------------------------------------------------------

/// Receivers and arguments: Smalltalk expressions for values of every kind the library has.
/// `R` is a global holding the value of the previous statement of the case.
const POOL: &[&str] = &[
    "R",
    "0",
    "1",
    "-1",
    "42",
    "1073741823",
    "(2 raisedTo: 62)",
    "(2 raisedTo: 64) negated",
    "(2 raisedTo: 200)",
    "3.5",
    "-0.0",
    "1.0e308",
    "1.0e-310",
    "Double nan",
    "Double infinity",
    "Double negativeInfinity",
    "''",
    "'hello'",
    "'héllo wörld ✓ 日本'",
    "'it''s'",
    "#foo",
    "#at:put:",
    "#+",
    "#'hello world'",
    "$a",
    "(Character value: 0)",
    "(Character value: 955)",
    "nil",
    "true",
    "false",
    "#(1 $a 'str' #sym (1 2) nil 3.5)",
    "#()",
    "(Array new: 3)",
    "([:a | a at: 1 put: a. a] value: (Array new: 1))",
    "#[1 2 255]",
    "(ByteArray new: 0)",
    "(1 to: 10)",
    "(10 to: 1 by: -3)",
    "(1 to: 0)",
    "(Dictionary new at: 1 put: 2; at: #a put: 'b'; yourself)",
    "Dictionary new",
    "(Set withAll: #(1 2 3))",
    "IdentitySet new",
    "(Bag withAll: #(1 1 2))",
    "(OrderedCollection new add: 1; add: 'two'; yourself)",
    "OrderedCollection new",
    "(SortedCollection sortBlock: [:a :b | a > b])",
    "(ReadStream on: #(1 2 3))",
    "(WriteStream on: String new)",
    "(ReadWriteStream on: String new)",
    "(1 -> 2)",
    "[]",
    "[:a | a]",
    "[:a :b | a]",
    "[:a :b :c | c]",
    "[:a :b :c :d | d]",
    "[:x | ^x]",
    "[1 / 0]",
    "Array",
    "String",
    "Symbol",
    "Object",
    "Integer",
    "Double",
    "Character",
    "Class",
    "Metaclass",
    "Object class",
    "Context",
    "Block",
    "Method",
    "Exception",
    "Error",
    "ZeroDivide",
    "Boolean",
    "Nil",
    "thisContext",
    "[thisContext] value",
    "thisContext sender",
    "Error new",
    "(ZeroDivide new messageText: 'x')",
    "(Object >> #printString)",
    "(Object >> #==)",
    "(Message selector: #foo arguments: #(1))",
    "Object new",
    "system",
    "Smalltalk",
];

/// Selectors the fuzzer does not send: they only make the run slow (collect at every
/// safepoint) or loop by design.
const SKIPPED: &[&str] = &["gcStress:", "repeat", "fullGC"];

/// The selectors to draw from: for each pool entry, those its class understands (found by
/// reflection), and every selector of every class.
struct Selectors {
    per_entry: Vec<Vec<String>>,
    all: Vec<String>,
}

/// Reads an Array of Symbols answered by a do-it.
fn symbols(vm: &mut Vm, src: &str) -> Vec<String> {
    let arr = match vm.evaluate(src, "selectors", false) {
        Ok(a) => a,
        Err(_) => return Vec::new(),
    };
    let Some(o) = arr.as_oop() else {
        return Vec::new();
    };
    (0..vm.heap.num_slots(o))
        .filter_map(|i| vm.string_value(vm.heap.slot(o, i)))
        .filter(|s| !SKIPPED.contains(&s.as_str()))
        .collect()
}

fn selectors() -> Selectors {
    let (mut vm, _out) = new_vm(false);
    let all: BTreeSet<String> = symbols(
        &mut vm,
        "| all | all := Set new.
         Smalltalk keys do: [:k | | c | c := Smalltalk at: k.
            c isClass ifTrue: [ all addAll: c selectors; addAll: c class selectors ] ].
         all asArray",
    )
    .into_iter()
    .collect();
    assert!(all.len() > 500, "reflection found {} selectors", all.len());
    let per_entry = POOL
        .iter()
        .map(|e| {
            let src = format!("{e} class allSelectors asArray");
            let mut v = symbols(&mut vm, &src);
            v.sort();
            if v.is_empty() {
                v = all.iter().cloned().collect();
            }
            v
        })
        .collect();
    Selectors {
        per_entry,
        all: all.into_iter().collect(),
    }
}

/// The number of arguments a selector takes.
fn arity(sel: &str) -> usize {
    if sel.ends_with(':') {
        sel.matches(':').count()
    } else if sel
        .chars()
        .next()
        .is_some_and(|c| !c.is_alphanumeric() && c != '_')
    {
        1
    } else {
        0
    }
}

// ---- generated programs --------------------------------------------------------------------

/// A receiver or argument: a pool value, or the value of a (leaf) send.
#[derive(Clone, Debug)]
enum Operand {
    Pool(usize),
    Send(Box<Send>),
}

/// A message send, as choices that `render` resolves against the selector lists.
#[derive(Clone, Debug)]
struct Send {
    receiver: Operand,
    selector: Index,
    /// Take the selector from every class's selectors instead of the receiver's class's.
    anywhere: bool,
    args: Vec<Operand>,
}

/// One statement of a case: a send, how its errors are handled, and whether its value is
/// printed afterwards.
#[derive(Clone, Debug)]
struct Statement {
    send: Send,
    wrap: usize,
    print: bool,
}

/// A case: statements run one after the other in a fresh VM.
#[derive(Clone, Debug)]
struct Case {
    statements: Vec<Statement>,
    stress: bool,
}

/// Ways to run a statement `@E@`: handled, unhandled, and with every handler action.
const WRAPS: &[&str] = &[
    "[ @E@ ] on: Error do: [:e | e return: nil]",
    "[ @E@ ] on: Error do: [:e | e return: nil]",
    "[ @E@ ] on: Error do: [:e | e return: nil]",
    "@E@",
    "@E@",
    "[ @E@ ] on: Exception do: [:e | e retryUsing: [ #retried ]]",
    "[ @E@ ] on: Error do: [:e | e resume: 7]",
    "[ @E@ ] on: Error do: [:e | e pass]",
    "[ [ @E@ ] on: ZeroDivide, MessageNotUnderstood do: [:e | e signal] ] on: Error do: [:e | e return: 1]",
    "[ @E@ ] ensure: [ R := 3 ]",
    "[ @E@ ] ifCurtailed: [ R := 4 ]",
    "[ [ @E@ ] on: Error do: [:e | e outer. 5 ] ] on: Error do: [:e | e resume: 6]",
    "[ ^@E@ ] value",
    "[ @E@ ] on: Error do: [:e | e messageText size + e description size]",
    "[ @E@ ] on: Error do: [:e | e signalerContext printString]",
    "[ @E@ ] on: Error do: [:e | R == #again ifTrue: [ e return: 0 ]. R := #again. e retry]",
];

fn operand(leaf: BoxedStrategy<Send>) -> impl Strategy<Value = Operand> {
    prop_oneof![
        4 => (0..POOL.len()).prop_map(Operand::Pool),
        1 => leaf.prop_map(|s| Operand::Send(Box::new(s))),
    ]
}

fn leaf_send() -> BoxedStrategy<Send> {
    (
        0..POOL.len(),
        any::<Index>(),
        prop::bool::weighted(0.1),
        prop::collection::vec(0..POOL.len(), 6),
    )
        .prop_map(|(r, selector, anywhere, args)| Send {
            receiver: Operand::Pool(r),
            selector,
            anywhere,
            args: args.into_iter().map(Operand::Pool).collect(),
        })
        .boxed()
}

fn send() -> impl Strategy<Value = Send> {
    (
        operand(leaf_send()),
        any::<Index>(),
        prop::bool::weighted(0.1),
        prop::collection::vec(operand(leaf_send()), 6),
    )
        .prop_map(|(receiver, selector, anywhere, args)| Send {
            receiver,
            selector,
            anywhere,
            args,
        })
}

fn case(stress: bool) -> impl Strategy<Value = Case> {
    let statement = (send(), 0..WRAPS.len(), prop::bool::weighted(0.3))
        .prop_map(|(send, wrap, print)| Statement { send, wrap, print });
    prop::collection::vec(statement, 1..=4).prop_map(move |statements| Case { statements, stress })
}

fn render_operand(op: &Operand, sels: &Selectors) -> String {
    match op {
        Operand::Pool(i) => POOL[*i].to_string(),
        Operand::Send(s) => format!("({})", render_send(s, sels)),
    }
}

fn render_send(s: &Send, sels: &Selectors) -> String {
    let list = match (&s.receiver, s.anywhere) {
        (Operand::Pool(i), false) => &sels.per_entry[*i],
        _ => &sels.all,
    };
    let selector = s.selector.get(list);
    let rcv = render_operand(&s.receiver, sels);
    let n = arity(selector);
    let args: Vec<String> = (0..n)
        .map(|i| render_operand(&s.args[i % s.args.len()], sels))
        .collect();
    match n {
        0 => format!("{rcv} {selector}"),
        1 if !selector.ends_with(':') => format!("{rcv} {selector} {}", args[0]),
        _ => {
            let parts = selector.split_inclusive(':');
            let kw: Vec<String> = parts.zip(&args).map(|(k, a)| format!("{k} {a}")).collect();
            format!("{rcv} {}", kw.join(" "))
        }
    }
}

fn render_statement(st: &Statement, sels: &Selectors) -> Vec<String> {
    let e = render_send(&st.send, sels);
    let mut out = vec![format!("R := {}", WRAPS[st.wrap].replace("@E@", &e))];
    if st.print {
        out.push("[ R printString size ] on: Error do: [:e | e return: 0]".into());
    }
    out
}

/// Runs a case in a fresh VM: every evaluation must end without a panic, and the VM must be
/// usable afterwards with a sound heap.
fn run_case(case: &Case, sels: &Selectors, wd: &Watchdog) -> Result<(), TestCaseError> {
    let (mut vm, _out) = new_vm(case.stress);
    let timeout = Duration::from_millis(if case.stress { 3000 } else { 1000 });
    let mut ran = Vec::new();
    for st in &case.statements {
        for src in render_statement(st, sels) {
            ran.push(src.clone());
            let r = wd.eval(&mut vm, &src, timeout);
            if std::env::var_os("SMALT_FUZZ_SHOW").is_some() {
                eprintln!(
                    "{src}\n  -> {:?}",
                    r.as_ref().map(|r| r.as_ref().map(|w| vm.describe(*w)))
                );
            }
            if let Err(panic) = r {
                return Err(TestCaseError::fail(format!(
                    "panic: {panic}\nwhile running:\n{}",
                    ran.join("\n")
                )));
            }
        }
    }
    check_usable(&mut vm, wd)
        .map_err(|e| TestCaseError::fail(format!("{e}\nafter running:\n{}", ran.join("\n"))))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fuzz(stress: bool, cases: u32, seed_offset: u8) {
    let sels = selectors();
    let wd = Watchdog::new();
    let config = Config {
        cases: env_number("SMALT_FUZZ_CASES", u64::from(cases)) as u32,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut seed = [seed_offset; 32];
    seed[..8].copy_from_slice(&env_number("SMALT_FUZZ_SEED", 0x5eed).to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&case(stress), |c| run_case(&c, &sels, &wd));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn fuzz_random_messages() {
    fuzz(false, 100, 1);
}

#[test]
fn fuzz_random_messages_collecting_at_every_safepoint() {
    fuzz(true, 20, 2);
}
