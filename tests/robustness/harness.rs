//! What the robustness tests share: VMs with captured (bounded) output, a watchdog that stops
//! evaluations that run too long (the way Ctrl-C does), evaluation under `catch_unwind`, and
//! the check that a VM is still usable and its heap sound.

use smalt_gc::Word;
use smalt_vm::{Vm, VmError, VmOptions};
use std::cell::RefCell;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Output captured from a VM, keeping at most the first `LIMIT` bytes.
#[derive(Clone, Default)]
pub struct Capture(pub Rc<RefCell<Vec<u8>>>);

impl Capture {
    const LIMIT: usize = 1 << 16;
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut v = self.0.borrow_mut();
        let room = Self::LIMIT.saturating_sub(v.len());
        v.extend_from_slice(&buf[..buf.len().min(room)]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The options of every robustness VM: heap verification after each collection, and a heap
/// and a stack small enough that "allocate everything" requests and runaway recursions fail
/// quickly.
pub fn options() -> VmOptions {
    let mut o = VmOptions {
        verify_heap: true,
        max_stack_words: 1 << 16,
        ..VmOptions::default()
    };
    o.heap.max_bytes = 256 << 20;
    o
}

/// The tiers the robustness programs run in (see `tests/smalltalk_suites.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter.
    Interpreter,
    /// Every method and block compiled before its first run.
    Eager,
    /// The JIT with a low threshold: interpreted and native frames mixed, loops entered
    /// through on-stack replacement.
    Hot,
}

/// Every tier.
pub const TIERS: [Tier; 3] = [Tier::Interpreter, Tier::Eager, Tier::Hot];

/// The tier of the `k`-th VM of a test that spreads its work over the tiers.
pub fn tier_of(k: usize) -> Tier {
    TIERS[k % TIERS.len()]
}

/// A fresh VM with the class library, output captured; with `stress`, collecting at every
/// safepoint from now on.
pub fn new_vm(stress: bool) -> (Vm, Capture) {
    new_vm_in(Tier::Interpreter, stress)
}

/// [`new_vm`] in a given tier.
pub fn new_vm_in(tier: Tier, stress: bool) -> (Vm, Capture) {
    new_vm_with(tier, stress, |_| {})
}

/// A VM for `tier` as [`new_vm_in`] makes it, with its options adjusted first.
pub fn new_vm_with(tier: Tier, stress: bool, adjust: impl FnOnce(&mut VmOptions)) -> (Vm, Capture) {
    smalt_jit::install();
    let mut options = options();
    (options.jit, options.jit_threshold) = match tier {
        Tier::Interpreter => (smalt_vm::tier::JitMode::Off, 0),
        Tier::Eager => (smalt_vm::tier::JitMode::Eager, 1),
        Tier::Hot => (smalt_vm::tier::JitMode::On, 3),
    };
    adjust(&mut options);
    let mut vm = Vm::new(options).expect("the VM starts");
    let out = Capture::default();
    vm.out = Box::new(out.clone());
    vm.err = Box::new(out.clone());
    if stress {
        vm.heap.set_stress(1);
    }
    (vm, out)
}

struct Armed {
    deadline: Instant,
    flag: Arc<AtomicBool>,
    what: String,
    /// When the interrupt was last given.
    interrupted: Option<Instant>,
}

/// Stops evaluations that run too long by setting the VM's interrupt flag, as Ctrl-C does:
/// once at the deadline (the program's unwind blocks then run), and again every `AGAIN`
/// while it has not stopped (as a user presses Ctrl-C again: a second interrupt while one is
/// handled stops the run at once). An evaluation that does not stop within `HANG` of the
/// deadline is a hang: the watchdog reports it and ends the test process, since nothing else
/// could.
pub struct Watchdog {
    armed: Arc<Mutex<Option<Armed>>>,
    quit: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const HANG: Duration = Duration::from_secs(60);
const AGAIN: Duration = Duration::from_secs(2);

impl Watchdog {
    /// Starts the watchdog thread.
    pub fn new() -> Watchdog {
        let armed: Arc<Mutex<Option<Armed>>> = Arc::new(Mutex::new(None));
        let quit = Arc::new(AtomicBool::new(false));
        let (a, q) = (armed.clone(), quit.clone());
        let thread = std::thread::spawn(move || {
            while !q.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
                let mut guard = a.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(armed) = guard.as_mut() {
                    let now = Instant::now();
                    let due = match armed.interrupted {
                        None => now >= armed.deadline,
                        Some(last) => now >= last + AGAIN,
                    };
                    if due {
                        armed.flag.store(true, Ordering::Relaxed);
                        armed.interrupted = Some(now);
                    }
                    if now >= armed.deadline + HANG {
                        // Straight to stderr: the test harness's capture would swallow it.
                        let _ = writeln!(
                            std::io::stderr(),
                            "HANG: the VM did not stop when interrupted:\n{}",
                            armed.what
                        );
                        std::process::exit(101);
                    }
                }
            }
        });
        Watchdog {
            armed,
            quit,
            thread: Some(thread),
        }
    }

    fn arm(&self, vm: &Vm, timeout: Duration, what: &str) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Armed {
            deadline: Instant::now() + timeout,
            flag: vm.interrupt.clone(),
            what: what.to_string(),
            interrupted: None,
        });
    }

    fn disarm(&self, vm: &Vm) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        // An interrupt that arrived just as the evaluation ended must not hit the next one.
        vm.interrupt.store(false, Ordering::Relaxed);
    }

    /// Runs `f` on the VM under the watchdog and `catch_unwind`: `Err` holds a panic's message.
    pub fn guard<T>(
        &self,
        vm: &mut Vm,
        timeout: Duration,
        what: &str,
        f: impl FnOnce(&mut Vm) -> T,
    ) -> Result<T, String> {
        self.arm(vm, timeout, what);
        let r = catch_unwind(AssertUnwindSafe(|| f(&mut *vm)));
        self.disarm(vm);
        r.map_err(|e| panic_message(e.as_ref()))
    }

    /// Evaluates a do-it (auto-declaring globals) under the watchdog and `catch_unwind`.
    pub fn eval(
        &self,
        vm: &mut Vm,
        src: &str,
        timeout: Duration,
    ) -> Result<Result<Word, VmError>, String> {
        self.guard(vm, timeout, src, |vm| vm.evaluate(src, "fuzz", true))
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog::new()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(e: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".into()
    }
}

/// Checks that the VM still works after whatever ran before: a full collection with the heap
/// verifier on (it panics on a broken heap), then `3 + 4`.
pub fn check_usable(vm: &mut Vm, wd: &Watchdog) -> Result<(), String> {
    let gc = wd.guard(vm, Duration::from_secs(30), "collect", |vm| {
        vm.collect_garbage(0)
    })?;
    if let Err(e) = gc {
        // Out of memory is an honest answer from a full heap; anything else is not.
        if e != VmError::OutOfMemory {
            return Err(format!("collection failed: {e}"));
        }
    }
    match wd.eval(vm, "3 + 4", Duration::from_secs(30))? {
        Ok(w) if w.as_small_int() == Some(7) => {}
        other => return Err(format!("3 + 4 answered {other:?}")),
    }
    Ok(())
}
