//! The JIT's counters as `smalt bench` and the REPL's `:time` and `:jit` show them: how many
//! methods and blocks were compiled and the time spent compiling, read from the tier
//! (`Vm::tier_counters`).

use smalt_vm::Vm;
use std::time::Duration;

/// Compilations so far (or between two readings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compiled {
    /// Methods and blocks compiled.
    pub units: u64,
    /// Of which failed.
    pub failed: u64,
    /// Time spent compiling (thread CPU time).
    pub time: Duration,
}

impl Compiled {
    /// The counters of `vm`'s tier, if one is attached.
    pub fn of(vm: &Vm) -> Option<Compiled> {
        vm.tier_counters().map(|c| Compiled {
            units: c.compiled,
            failed: c.failed,
            time: c.compile_time,
        })
    }

    /// What was compiled after `before`.
    pub fn since(self, before: Compiled) -> Compiled {
        Compiled {
            units: self.units.saturating_sub(before.units),
            failed: self.failed.saturating_sub(before.failed),
            time: self.time.saturating_sub(before.time),
        }
    }

    /// `3 methods/blocks compiled in 1.204 ms` (`nothing compiled`).
    pub fn describe(self) -> String {
        if self.units == 0 {
            return "nothing compiled".into();
        }
        let failed = if self.failed > 0 {
            format!(" ({} failed)", self.failed)
        } else {
            String::new()
        };
        format!(
            "{} compiled{failed} in {}",
            units(self.units as usize),
            crate::repl::human(self.time)
        )
    }
}

/// `1 method/block`, `3 methods/blocks`.
pub fn units(n: usize) -> String {
    if n == 1 {
        "1 method/block".into()
    } else {
        format!("{n} methods/blocks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_jit_counts_its_compilations() {
        smalt_jit::install();
        let opts = smalt_vm::VmOptions {
            jit: smalt_vm::tier::JitMode::On,
            jit_threshold: 10,
            ..Default::default()
        };
        let mut vm = smalt::new_vm(opts).unwrap();
        let before = Compiled::of(&vm).expect("a JIT is attached");
        vm.evaluate("(1 to: 200) inject: 0 into: [ :a :b | a + b ]", "t", true)
            .unwrap();
        let after = Compiled::of(&vm).unwrap();
        let d = after.since(before);
        assert!(d.units >= 1, "{after:?} after {before:?}");
        assert!(d.time > Duration::ZERO, "{d:?}");
        assert!(d.describe().contains("compiled in "), "{}", d.describe());
        let plain = smalt::new_vm(smalt_vm::VmOptions::default()).unwrap();
        assert_eq!(Compiled::of(&plain), None, "no tier, no counters");
    }
}
