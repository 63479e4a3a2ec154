//! Tiers: named VM configurations that `smalt bench` compares. A tier that this build cannot
//! run says why; adding a tier is adding an entry.

use smalt_vm::VmOptions;
use smalt_vm::tier::{DEFAULT_THRESHOLD, JitMode};

/// A named VM configuration.
pub struct Tier {
    /// The name used on the command line and in reports.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// How a VM is set up for it, or why this build cannot run it.
    pub setup: Result<fn(&mut VmOptions), &'static str>,
    /// Whether it runs when `--tiers` is not given.
    pub default: bool,
}

/// Every tier, the default baseline first. The JIT tiers set the VM options as the command
/// line's `--jit=on` (with the default `--jit-threshold`) and `--jit=eager` do; the binary
/// registers the JIT (`smalt_jit::install`) before any VM is made.
pub static TIERS: &[Tier] = &[
    Tier {
        name: "interp",
        about: "the bytecode interpreter (--jit=off)",
        setup: Ok(|o| o.jit = JitMode::Off),
        default: true,
    },
    Tier {
        name: "jit",
        about: "the Cranelift JIT, compiling hot code (--jit=on)",
        setup: Ok(|o| {
            o.jit = JitMode::On;
            o.jit_threshold = DEFAULT_THRESHOLD;
        }),
        default: true,
    },
    Tier {
        name: "jit-eager",
        about: "the Cranelift JIT, compiling everything before it runs (--jit=eager)",
        setup: Ok(|o| o.jit = JitMode::Eager),
        default: false,
    },
];

/// The tiers named in `list` (comma-separated), in that order; the default tiers this build
/// has when `list` is `None`. An unknown or unavailable tier is an error that says why.
pub fn select(list: Option<&str>) -> Result<Vec<&'static Tier>, String> {
    select_from(TIERS, list)
}

/// `select` from the tiers of `table`.
fn select_from(table: &'static [Tier], list: Option<&str>) -> Result<Vec<&'static Tier>, String> {
    let Some(list) = list else {
        return Ok(table
            .iter()
            .filter(|t| t.default && t.setup.is_ok())
            .collect());
    };
    let mut out: Vec<&'static Tier> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(tier) = table.iter().find(|t| t.name == name) else {
            let known: Vec<&str> = table.iter().map(|t| t.name).collect();
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
        assert_eq!(names(None).unwrap(), ["interp", "jit"]);
        assert_eq!(names(Some("interp")).unwrap(), ["interp"]);
        assert_eq!(names(Some("jit, interp")).unwrap(), ["jit", "interp"]);
        assert_eq!(
            names(Some("interp,jit,jit-eager")).unwrap(),
            ["interp", "jit", "jit-eager"]
        );
        let e = names(Some("fast")).unwrap_err();
        assert!(
            e.contains("unknown tier 'fast'") && e.contains("interp, jit, jit-eager"),
            "{e}"
        );
        assert!(names(Some("interp,interp")).unwrap_err().contains("twice"));
        assert!(names(Some(",")).unwrap_err().contains("names no tier"));
        // Every tier is available in this build, and each sets the mode its name says.
        assert!(TIERS.iter().all(|t| t.setup.is_ok()));
        let mode = |name: &str| {
            let t = TIERS.iter().find(|t| t.name == name).unwrap();
            let o = options(t);
            (o.jit, o.jit_threshold)
        };
        assert_eq!(mode("interp").0, JitMode::Off);
        assert_eq!(mode("jit"), (JitMode::On, DEFAULT_THRESHOLD));
        assert_eq!(mode("jit-eager").0, JitMode::Eager);

        // A tier a build cannot run (none in this one) is left out of the default and refused
        // by name with its reason.
        static PARTIAL: &[Tier] = &[
            Tier {
                name: "interp",
                about: "the interpreter",
                setup: Ok(|_| {}),
                default: true,
            },
            Tier {
                name: "native",
                about: "a native tier",
                setup: Err("this build has no native tier"),
                default: true,
            },
        ];
        let names = |l: Option<&str>| -> Result<Vec<&str>, String> {
            select_from(PARTIAL, l).map(|v| v.iter().map(|t| t.name).collect())
        };
        assert_eq!(names(None).unwrap(), ["interp"]);
        let e = names(Some("interp,native")).unwrap_err();
        assert_eq!(
            e,
            "tier 'native' (a native tier) is not available: this build has no native tier"
        );
    }
}
