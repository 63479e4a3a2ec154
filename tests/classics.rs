//! Rust-level tests of the classics (issue 14) that the Smalltalk suites cannot make: local
//! time in fixed time zones (the suites must pass in whatever zone the machine is in), and
//! methods compiled or removed through reflection clearing exactly the send caches that the
//! loader's path clears.

use smalt_vm::methods::IcState;
use smalt_vm::{Vm, VmOptions};
use std::process::Command;

/// Runs `smalt -e` with the time zone `tz`; answers the lines it printed.
fn run_in_zone(tz: &str, expr: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_smalt"))
        .env("TZ", tz)
        .args(["-e", &format!("{expr}. nil")])
        .output()
        .expect("smalt runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.pop().as_deref(), Some("nil"));
    lines
}

#[test]
fn local_time_follows_the_system_time_zone() {
    let expr = "(DateAndTime year: 2024 month: 7 day: 1 hour: 12 minute: 0 second: 0) printNl. \
                (DateAndTime year: 2024 month: 1 day: 1) printNl. \
                (DateAndTime fromUnixTime: 0) asLocal printNl. \
                (DateAndTime fromString: '2024-07-01T12:00') asUTC printNl. \
                (DateAndTime now offsetSeconds = (DateAndTime localOffsetAt: DateAndTime now asUnixTime)) printNl";
    let cases = [
        (
            "Europe/Paris",
            [
                "2024-07-01T12:00:00+02:00",
                "2024-01-01T00:00:00+01:00",
                "1970-01-01T01:00:00+01:00",
                "2024-07-01T10:00:00+00:00",
            ],
        ),
        (
            "Asia/Kathmandu",
            [
                "2024-07-01T12:00:00+05:45",
                "2024-01-01T00:00:00+05:45",
                "1970-01-01T05:30:00+05:30",
                "2024-07-01T06:15:00+00:00",
            ],
        ),
        (
            "America/St_Johns",
            [
                "2024-07-01T12:00:00-02:30",
                "2024-01-01T00:00:00-03:30",
                "1969-12-31T20:30:00-03:30",
                "2024-07-01T14:30:00+00:00",
            ],
        ),
        (
            "UTC",
            [
                "2024-07-01T12:00:00+00:00",
                "2024-01-01T00:00:00+00:00",
                "1970-01-01T00:00:00+00:00",
                "2024-07-01T12:00:00+00:00",
            ],
        ),
    ];
    if !std::path::Path::new("/usr/share/zoneinfo/Europe/Paris").exists() {
        eprintln!("no tz database on this machine: local time is UTC, zones not checked");
        return;
    }
    for (tz, expected) in cases {
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.push("true".into());
        assert_eq!(run_in_zone(tz, expr), want, "in {tz}");
    }
}

#[test]
fn the_date_today_is_the_local_date() {
    // Far apart zones, checked against each other through UTC (midnight may pass between
    // the runs, so the day may differ by one from the expected only if UTC's date changed).
    for tz in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let lines = run_in_zone(
            tz,
            "(Date today = DateAndTime now asDate) printNl. \
             ((DateAndTime now asDate subtractDate: DateAndTime utcNow asDate) abs <= 1) printNl",
        );
        assert_eq!(lines, ["true", "true"], "in {tz}");
    }
}

/// The number of send sites for `selector` that hold a cached method.
fn warm_sites(vm: &mut Vm, selector: &str) -> usize {
    let sel = vm.intern(selector).unwrap();
    vm.methods
        .cells
        .iter()
        .filter(|c| c.selector == sel && c.state != IcState::Empty)
        .count()
}

#[test]
fn compiling_and_removing_through_reflection_clears_exactly_the_affected_sites() {
    let mut vm = Vm::new(VmOptions::default()).unwrap();
    vm.load_class_source(
        "RA = ( foo = ( ^1 ) bar = ( ^2 ) callFoo = ( ^self foo ) callBar = ( ^self bar ) )",
        "RA.som",
    )
    .unwrap();
    vm.load_class_source("RB = RA ( )", "RB.som").unwrap();
    vm.load_class_source("RC = ( foo = ( ^3 ) callFoo = ( ^self foo ) )", "RC.som")
        .unwrap();
    let warm = "RA new callFoo; callBar. RB new callFoo; callBar. RC new callFoo";
    vm.evaluate(warm, "test", true).unwrap();
    let (foo, bar) = (warm_sites(&mut vm, "foo"), warm_sites(&mut vm, "bar"));
    assert!(foo >= 2 && bar >= 1, "the sites are warm: {foo} {bar}");

    // RB gets its own foo: the sites that cached RA>>foo for RB receivers are cleared (the
    // one in RA>>callFoo, which saw RA and RB), RC's site and every #bar site stay.
    vm.evaluate("RB compile: 'foo ^4'", "test", true).unwrap();
    assert_eq!(warm_sites(&mut vm, "bar"), bar, "no #bar site was touched");
    assert_eq!(
        warm_sites(&mut vm, "foo"),
        foo - 1,
        "only RA>>callFoo's site"
    );
    let v = vm
        .evaluate(
            "RB new callFoo + RA new callFoo + RC new callFoo",
            "test",
            true,
        )
        .unwrap();
    assert_eq!(v.as_small_int(), Some(8));

    // Removing it again clears the sites that cached RB>>foo, and nothing else.
    let foo = warm_sites(&mut vm, "foo");
    vm.evaluate("RB removeSelector: #foo", "test", true)
        .unwrap();
    assert_eq!(warm_sites(&mut vm, "foo"), foo - 1);
    assert_eq!(warm_sites(&mut vm, "bar"), bar);
    let v = vm.evaluate("RB new callFoo", "test", true).unwrap();
    assert_eq!(v.as_small_int(), Some(1));
}
