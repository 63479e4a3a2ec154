//! Tiers: named VM configurations that `smalt bench` compares (and, once the JIT exists, that
//! the REPL's `:time` runs under). A tier that this build cannot run says why; adding a tier is
//! adding an entry.

use smalt_vm::VmOptions;

/// A named VM configuration.
pub struct Tier {
    /// The name used on the command line and in reports.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// How a VM is set up for it, or why this build cannot run it.
    pub setup: Result<fn(&mut VmOptions), &'static str>,
}

/// Every tier, the default baseline first.
pub static TIERS: &[Tier] = &[
    Tier {
        name: "interp",
        about: "the bytecode interpreter",
        setup: Ok(|_| {}),
    },
    // When the JIT lands (issue 11) this entry sets its mode in the VM options
    // (`--jit=on`), and a `jit-eager` entry follows (`--jit=eager`).
    Tier {
        name: "jit",
        about: "the Cranelift JIT",
        setup: Err("this build of smalt has no JIT yet: the only tier is interp"),
    },
];

/// The tiers named in `list` (comma-separated), in that order; all available tiers when `list`
/// is `None`. An unknown or unavailable tier is an error that says why.
pub fn select(list: Option<&str>) -> Result<Vec<&'static Tier>, String> {
    let Some(list) = list else {
        return Ok(TIERS.iter().filter(|t| t.setup.is_ok()).collect());
    };
    let mut out: Vec<&'static Tier> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(tier) = TIERS.iter().find(|t| t.name == name) else {
            let known: Vec<&str> = TIERS.iter().map(|t| t.name).collect();
            return Err(format!(
                "unknown tier '{name}' (the tiers are {})",
                known.join(", ")
            ));
        };
        if let Err(why) = tier.setup {
            return Err(format!(
                "tier '{name}' ({}) is not available: {why}",
                tier.about
            ));
        }
        if out.iter().any(|t| t.name == name) {
            return Err(format!("tier '{name}' is named twice"));
        }
        out.push(tier);
    }
    if out.is_empty() {
        return Err("--tiers names no tier".into());
    }
    Ok(out)
}

/// VM options for `tier`.
pub fn options(tier: &Tier) -> VmOptions {
    let mut o = VmOptions::default();
    if let Ok(setup) = tier.setup {
        setup(&mut o);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_chosen_by_name_and_unavailable_ones_say_why() {
        let names = |l: Option<&str>| -> Result<Vec<&str>, String> {
            select(l).map(|v| v.iter().map(|t| t.name).collect())
        };
        assert_eq!(names(None).unwrap(), ["interp"]);
        assert_eq!(names(Some("interp")).unwrap(), ["interp"]);
        let e = names(Some("interp,jit")).unwrap_err();
        assert!(e.contains("'jit'") && e.contains("not available"), "{e}");
        assert!(
            names(Some("fast"))
                .unwrap_err()
                .contains("unknown tier 'fast'")
        );
        assert!(names(Some("interp,interp")).unwrap_err().contains("twice"));
    }
}
