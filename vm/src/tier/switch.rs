//! Switching the tier of a running VM between runs (the REPL's `:jit on|off|eager`).
//!
//! Switching off retires every method's native code through the tier (as if each compiled
//! method had been replaced, [`Tier::method_replaced`]), so nothing reaches native code any
//! more, and stops counting towards compilation (threshold `u32::MAX`, `active` false, and
//! `tier_compile` does nothing while inactive). The tier stays attached: its code memory, its
//! quick-method stubs (still named by inline-cache cells) and its statistics live on, and
//! switching on again only re-activates it; methods then compile again once they are hot.
//! Switching on a VM that never had a tier attaches one through the registered factory.

use super::JitMode;
use crate::methods::MethodId;
use crate::vm::{Vm, VmError};

impl Vm {
    /// The tier that runs code now, and the threshold `On` compiles at.
    pub fn jit_mode(&self) -> (JitMode, u32) {
        let mode = if self.tiering.tier.is_some() && self.tiering.active {
            self.options.jit
        } else {
            JitMode::Off
        };
        (mode, self.options.jit_threshold.max(1))
    }

    /// Whether this VM can run a native tier (one is attached, or a factory is registered).
    pub fn jit_available(&self) -> bool {
        self.tiering.tier.is_some() || super::FACTORY.get().is_some()
    }

    /// How many methods and blocks have native code now.
    pub fn native_method_count(&self) -> usize {
        (1..self.methods.infos.len())
            .filter(|&i| self.methods.infos[i].native_entry != 0)
            .count()
    }

    /// Switches the tier between runs: `Off` makes everything run in the interpreter from now
    /// on (native code is retired, see the module docs), `On` compiles methods and blocks once
    /// they have run `threshold` times, `Eager` compiles each before its next run. Answers how
    /// many methods' native code was retired. Fails (changing nothing) while Smalltalk code
    /// runs, or when no native tier is registered.
    pub fn set_jit(&mut self, mode: JitMode, threshold: u32) -> Result<usize, VmError> {
        if self.run_depth != 0 {
            return Err(VmError::Load(
                "the tier can be switched between runs only".into(),
            ));
        }
        let threshold = threshold.max(1);
        let mut retired = 0;
        match mode {
            JitMode::Off => {
                let compiled: Vec<MethodId> = (1..self.methods.infos.len())
                    .filter(|&i| self.methods.infos[i].native_entry != 0)
                    .map(|i| MethodId(i as u32))
                    .collect();
                retired = compiled.len();
                if let Some(mut t) = self.tiering.tier.take() {
                    for mid in compiled {
                        t.method_replaced(self, mid);
                    }
                    self.tiering.tier = Some(t);
                }
                self.tiering.active = false;
                self.tiering.threshold = u32::MAX;
            }
            JitMode::On | JitMode::Eager => {
                if self.tiering.tier.is_none() {
                    let saved = (self.options.jit, self.options.jit_threshold);
                    self.options.jit = mode;
                    self.options.jit_threshold = threshold;
                    if let Err(e) = self.attach_tier() {
                        (self.options.jit, self.options.jit_threshold) = saved;
                        return Err(e);
                    }
                }
                self.tiering.active = true;
                self.tiering.threshold = if mode == JitMode::Eager { 1 } else { threshold };
            }
        }
        self.options.jit = mode;
        self.options.jit_threshold = threshold;
        Ok(retired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VmOptions;
    use crate::tier::{EnterFn, ResumePoint, Tier, status};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A tier that never makes code: it records what the VM asks of it.
    #[derive(Default)]
    struct Probe {
        compiled: Rc<RefCell<Vec<u32>>>,
        replaced: Rc<RefCell<Vec<u32>>>,
    }

    impl Tier for Probe {
        fn compile(&mut self, vm: &mut Vm, mid: MethodId) {
            self.compiled.borrow_mut().push(mid.0);
            vm.methods.infos[mid.0 as usize].invocations = 0;
        }
        fn resume_point(&self, _: MethodId, _: usize) -> Option<ResumePoint> {
            None
        }
        fn method_replaced(&mut self, vm: &mut Vm, mid: MethodId) {
            self.replaced.borrow_mut().push(mid.0);
            vm.methods.infos[mid.0 as usize].native_entry = 0;
        }
        fn after_gc(&mut self, _: &mut Vm) {}
        fn image_loaded(&mut self, _: &mut Vm) {}
        fn report(&self, _: &Vm) -> String {
            String::new()
        }
        fn counters(&self) -> crate::tier::TierCounters {
            crate::tier::TierCounters {
                compiled: self.compiled.borrow().len() as u64,
                ..Default::default()
            }
        }
    }

    const NEVER_ENTERED: EnterFn = |_, _, _, _, _| status::ERROR;

    #[test]
    fn off_retires_native_code_and_stops_compiling_and_on_resumes() {
        let mut vm = Vm::new(VmOptions::default()).unwrap();
        assert_eq!(vm.jit_mode().0, JitMode::Off);
        let probe = Probe::default();
        let (compiled, replaced) = (probe.compiled.clone(), probe.replaced.clone());
        vm.install_tier(Box::new(probe), NEVER_ENTERED, 5);
        assert!(vm.jit_available());
        vm.options.jit = JitMode::On;
        assert_eq!(vm.jit_mode().0, JitMode::On);
        vm.evaluate("1 to: 20 do: [ :i | i printString ]", "t", true)
            .unwrap();
        assert!(
            !compiled.borrow().is_empty(),
            "hot code is offered to the tier"
        );
        // Pretend two methods have native code (the probe never enters it: no run follows
        // before they are retired).
        let hot = compiled.borrow()[0] as usize;
        vm.methods.infos[hot].native_entry = 0x1000;
        vm.methods.infos[1].native_entry = 0x2000;
        assert_eq!(vm.native_method_count(), 2);

        assert_eq!(vm.set_jit(JitMode::Off, 5).unwrap(), 2);
        assert_eq!(vm.jit_mode().0, JitMode::Off);
        assert_eq!(vm.native_method_count(), 0);
        let mut r = replaced.borrow().clone();
        r.sort();
        let mut want = vec![1, hot as u32];
        want.sort();
        assert_eq!(
            r, want,
            "each method with native code is retired through the tier"
        );
        compiled.borrow_mut().clear();
        let v = vm
            .evaluate("(1 to: 50) inject: 0 into: [ :a :b | a + b ]", "t", true)
            .unwrap();
        assert_eq!(v.as_small_int(), Some(1275));
        assert!(compiled.borrow().is_empty(), "nothing compiles while off");

        assert_eq!(vm.set_jit(JitMode::On, 5).unwrap(), 0);
        assert_eq!(vm.jit_mode(), (JitMode::On, 5));
        vm.evaluate("1 to: 20 do: [ :i | i printString ]", "t", true)
            .unwrap();
        assert!(!compiled.borrow().is_empty(), "on again: hot code compiles");

        vm.set_jit(JitMode::Eager, 5).unwrap();
        assert_eq!(vm.tiering.threshold, 1);
        assert_eq!(vm.jit_mode(), (JitMode::Eager, 5));
    }

    #[test]
    fn switching_on_without_a_registered_tier_fails_and_changes_nothing() {
        // No factory is registered in this crate's tests.
        let mut vm = Vm::new(VmOptions::default()).unwrap();
        assert!(!vm.jit_available());
        let e = vm.set_jit(JitMode::On, 100).unwrap_err();
        assert!(e.to_string().contains("without the JIT"), "{e}");
        assert_eq!(
            vm.jit_mode(),
            (JitMode::Off, crate::tier::DEFAULT_THRESHOLD)
        );
        assert_eq!(vm.set_jit(JitMode::Off, 100).unwrap(), 0);
        let v = vm.evaluate("3 + 4", "t", true).unwrap();
        assert_eq!(v.as_small_int(), Some(7));
    }
}
