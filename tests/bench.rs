//! `smalt bench` from the command line, on small runs of the debug build: the report under
//! the interpreter and the JIT tiers, the JSON and SVG files, unknown tiers, results that are
//! wrong, and `--compare`.
//! (Speed itself is never asserted here.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn smalt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smalt"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the smalt binary runs")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smalt-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// Whether `line` compares `tier` with interp in one of the three ways the report words it
/// (speed itself is not asserted: on a debug build and a busy machine either can win).
fn compares(tier: &str, line: &str) -> bool {
    line.contains(&format!("{tier} ran "))
        && (line.contains(" times faster than interp")
            || line.contains(" times slower than interp"))
        || line.contains(&format!(
            "~ {tier} and interp ran equally fast within the noise ({tier} ran "
        ))
}

#[test]
fn a_small_run_reports_each_program_and_writes_json_and_svg() {
    // The default tiers, interp and jit: every run of each checks its result.
    let dir = scratch("run");
    let (json, svg) = (dir.join("r.json"), dir.join("r.svg"));
    let o = smalt(&[
        "bench",
        "Sieve",
        "queens",
        "Towers",
        "--runs",
        "3",
        "--warmup",
        "1",
        "--inner",
        "1",
        "--json",
        path(&json),
        "--svg",
        path(&svg),
    ]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(
        text.starts_with(
            "smalt bench: 3 programs under interp, jit; 3 runs after 1 warm-up run each"
        ),
        "{text}"
    );
    for name in ["Sieve", "Queens", "Towers"] {
        let lines: Vec<&str> = text.lines().collect();
        let k = lines
            .iter()
            .position(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("a line for {name}: {text}"));
        let line = lines[k];
        assert!(line.contains(" interp ") && line.contains(" ± "), "{line}");
        assert!(line.contains("(1 iteration per run)"), "{line}");
        let jit = lines[k + 1];
        assert!(jit.trim_start().starts_with("jit "), "{text}");
        assert!(compares("jit", jit), "{jit}");
        assert!(jit.contains(" before measuring"), "{jit}");
    }
    let geomean = text
        .lines()
        .find(|l| l.starts_with("geomean: "))
        .unwrap_or_else(|| panic!("a geomean line: {text}"));
    assert!(compares("jit", geomean), "{text}");
    assert!(
        text.contains("\njit compiled ") && text.contains("(thread CPU time)"),
        "{text}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file"))
            .expect("JSON");
    assert_eq!(results["tiers"], serde_json::json!(["interp", "jit"]));
    assert_eq!(results["runs"], 3);
    assert_eq!(results["clock"], "wall");
    let programs = results["programs"].as_array().expect("programs");
    assert_eq!(programs.len(), 3);
    for p in programs {
        for tier in ["interp", "jit"] {
            let samples = p["seconds"][tier].as_array().expect("samples");
            assert_eq!(samples.len(), 3, "{p}");
            assert!(
                samples.iter().all(|s| s.as_f64().is_some_and(|x| x > 0.0)),
                "{p}"
            );
        }
        assert_eq!(p["inner"], 1);
        let c = &p["compiled"]["jit"];
        assert!(c["warmup_units"].as_u64().is_some(), "{p}");
        assert!(c["measured_seconds"].as_f64().is_some(), "{p}");
        assert!(p["compiled"].get("interp").is_none(), "{p}");
    }
    let chart = std::fs::read_to_string(&svg).expect("the SVG file");
    assert!(
        chart.starts_with("<svg") && chart.contains("Queens"),
        "{chart}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_tier_runs_and_verifies_a_quick_program() {
    let o = smalt(&[
        "bench",
        "Towers",
        "--tiers",
        "interp,jit,jit-eager",
        "--runs",
        "2",
        "--warmup",
        "1",
        "--inner",
        "1",
    ]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(
        text.starts_with("smalt bench: 1 program under interp, jit, jit-eager;"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let k = lines.iter().position(|l| l.starts_with("Towers")).unwrap();
    assert!(lines[k + 1].trim_start().starts_with("jit "), "{text}");
    assert!(
        lines[k + 2].trim_start().starts_with("jit-eager "),
        "{text}"
    );
    // The eager JIT compiled the program before its first run.
    let eager = lines[k + 2];
    assert!(!eager.contains("[0 compiled"), "{eager}");
    for tier in ["jit", "jit-eager"] {
        let geomean = text
            .lines()
            .find(|l| l.starts_with("geomean: ") && l.contains(&format!(" {tier} ")))
            .unwrap_or_else(|| panic!("a geomean line for {tier}: {text}"));
        assert!(compares(tier, geomean), "{text}");
    }
}

#[test]
fn the_iterations_per_run_are_calibrated_when_not_given() {
    let o = smalt(&[
        "bench",
        "Sieve",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--target-ms",
        "5",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("Sieve"), "{}", out(&o));
    assert!(out(&o).contains("per run)"), "{}", out(&o));
}

#[test]
fn unknown_tiers_and_programs_are_refused() {
    let o = smalt(&["bench", "Sieve", "--tiers", "turbo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("unknown tier 'turbo' (the tiers are interp, jit, jit-eager)"),
        "{}",
        err(&o)
    );
    let o = smalt(&["bench", "Sieve", "--tiers", "jit,jit"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("tier 'jit' is named twice"), "{}", err(&o));
    let o = smalt(&["bench", "NoSuchBenchmark"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("no program 'NoSuchBenchmark' (the programs are ")
            && err(&o).contains("Sieve"),
        "{}",
        err(&o)
    );
    let o = smalt(&["bench", "--list"]);
    assert!(o.status.success());
    let list = out(&o);
    assert!(list.contains("  Richards\n"), "{list}");
    for tier in ["interp ", "jit ", "jit-eager "] {
        assert!(list.contains(&format!("\n  {tier}")), "{list}");
    }
    assert!(!list.contains("not available"), "{list}");
}

#[test]
fn a_wrong_result_or_an_error_stops_the_run() {
    let dir = scratch("wrong");
    let wrong = dir.join("WrongAnswer.som");
    std::fs::write(
        &wrong,
        "WrongAnswer = Benchmark ( benchmark = ( ^41 ) verifyResult: r = ( ^r = 42 ) )",
    )
    .unwrap();
    let o = smalt(&[
        "bench",
        path(&wrong),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--inner",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        err(&o).contains("WrongAnswer computed a wrong result under interp"),
        "{}",
        err(&o)
    );
    assert!(
        !out(&o).contains("WrongAnswer "),
        "no time for a wrong result: {}",
        out(&o)
    );
    for tier in ["jit", "jit-eager"] {
        let o = smalt(&[
            "bench",
            path(&wrong),
            "--tiers",
            tier,
            "--runs",
            "1",
            "--warmup",
            "0",
            "--inner",
            "1",
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", out(&o));
        assert!(
            err(&o).contains(&format!(
                "WrongAnswer computed a wrong result under {tier} "
            )),
            "{}",
            err(&o)
        );
    }
    let failing = dir.join("Failing.som");
    std::fs::write(
        &failing,
        "Failing = Benchmark ( benchmark = ( ^1 / 0 ) verifyResult: r = ( ^true ) )",
    )
    .unwrap();
    let o = smalt(&["bench", path(&failing), "--runs", "1", "--inner", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains("Failing failed under interp") && e.contains("ZeroDivide"),
        "{e}"
    );
    assert!(
        e.contains("Failing>>benchmark ("),
        "the Smalltalk stack: {e}"
    );
    let not_a_benchmark = dir.join("Plain.som");
    std::fs::write(&not_a_benchmark, "Plain = ( run = ( ^1 ) )").unwrap();
    let o = smalt(&["bench", path(&not_a_benchmark)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("Plain is not a Benchmark subclass"),
        "{}",
        err(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `--json` file with the given per-run seconds (1 iteration per run).
fn results_file(dir: &Path, name: &str, programs: &[(&str, &[f64])]) -> PathBuf {
    let progs: Vec<serde_json::Value> = programs
        .iter()
        .map(|(n, xs)| serde_json::json!({ "name": n, "inner": 1, "seconds": { "interp": xs } }))
        .collect();
    let v = serde_json::json!({
        "smalt": "test", "tiers": ["interp"], "warmup": 1, "runs": 5, "programs": progs
    });
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

#[test]
fn compare_marks_changes_within_the_noise() {
    let dir = scratch("compare");
    let old = results_file(
        &dir,
        "old.json",
        &[
            ("Sieve", &[0.010, 0.0101, 0.0099, 0.0100, 0.0100]),
            ("Towers", &[0.020, 0.024, 0.018, 0.022, 0.019]),
            ("Gone", &[0.1, 0.1]),
        ],
    );
    let new = results_file(
        &dir,
        "new.json",
        &[
            ("Sieve", &[0.0050, 0.0051, 0.0049, 0.0050, 0.0050]),
            ("Towers", &[0.021, 0.019, 0.023, 0.020, 0.022]),
        ],
    );
    let svg = dir.join("cmp.svg");
    let o = smalt(&[
        "bench",
        "--compare",
        path(&old),
        path(&new),
        "--svg",
        path(&svg),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("Sieve").contains("-50.0% ± "), "{text}");
    assert!(line("Towers").contains("~ (+"), "within the noise: {text}");
    assert!(line("geomean").contains('%'), "{text}");
    assert!(text.contains("only in ") && text.contains("Gone"), "{text}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("Towers"));
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let o = smalt(&["bench", "--compare", path(&old), path(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("not the JSON of smalt bench --json"),
        "{}",
        err(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
