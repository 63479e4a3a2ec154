//! The JIT's counters as `smalt bench` and the REPL's `:time` and `:jit` show them: how many
//! methods and blocks were compiled and the time spent compiling. The tier offers its
//! statistics as the text `--jit-stats` prints (`Vm::tier_report`); this reads the two lines
//! that hold these counters. A test below runs the real JIT, so a change of that text that
//! this no longer reads fails it.

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
    /// The counters of `vm`'s tier, if one is attached and its report reads as expected.
    pub fn of(vm: &Vm) -> Option<Compiled> {
        parse(&vm.tier_report()?)
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

/// Reads `jit: M methods and B blocks compiled (F failed), …` and `jit: compile time T total, …`.
fn parse(report: &str) -> Option<Compiled> {
    let mut out = Compiled::default();
    let (mut counted, mut timed) = (false, false);
    for line in report.lines() {
        let Some(rest) = line.strip_prefix("jit: ") else {
            continue;
        };
        if let Some(t) = rest.strip_prefix("compile time ") {
            out.time = parse_duration(t.split_whitespace().next()?)?;
            timed = true;
        } else if rest.contains(" methods and ") && rest.contains(" blocks compiled") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            // M methods and B blocks compiled (F failed), …
            let methods: u64 = w.first()?.parse().ok()?;
            let blocks: u64 = w.get(3)?.parse().ok()?;
            let failed: u64 = w.get(6)?.trim_start_matches('(').parse().ok()?;
            out.units = methods + blocks;
            out.failed = failed;
            counted = true;
        }
    }
    (counted && timed).then_some(out)
}

/// A `Duration` as its `Debug` format writes it: `7.0ms`, `350µs`, `1.5s`, `0ns`.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim_end_matches(',');
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let scale = match unit {
        "ns" => 1e-9,
        "µs" | "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(v * scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_debug_format_are_read() {
        assert_eq!(parse_duration("7.0ms"), Some(Duration::from_millis(7)));
        assert_eq!(parse_duration("350µs"), Some(Duration::from_micros(350)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0ns"), Some(Duration::ZERO));
        assert_eq!(parse_duration("fast"), None);
    }

    #[test]
    fn the_real_jit_report_is_read() {
        smalt_jit::install();
        let opts = smalt_vm::VmOptions {
            jit: smalt_vm::tier::JitMode::On,
            jit_threshold: 10,
            ..Default::default()
        };
        let mut vm = smalt::new_vm(opts).unwrap();
        let before = Compiled::of(&vm).expect("a JIT is attached and its report reads");
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
