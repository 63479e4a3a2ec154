//! The clock and the local time zone, for Date, Time, DateAndTime and Duration.
//!
//! Two primitives are all the calendar classes need from the VM: the time now (microseconds
//! since the Unix epoch, UTC) and the local offset from UTC at a given instant. Calendar
//! arithmetic, printing and parsing are Smalltalk (`stdlib/DateAndTime.som`). The offset comes
//! from the system's time zone (the `TZ` variable, else `/etc/localtime`, read through the
//! tz database in `/usr/share/zoneinfo` by the jiff crate); where there is none, local time is
//! UTC.

use super::numbers::big_from_word;
use super::{Prim, PrimDef, prim_try};
use crate::vm::Vm;
use smalt_gc::Word;
use std::time::{SystemTime, UNIX_EPOCH};

/// `DateAndTime class>>primUtcMicroseconds`: microseconds since 1970-01-01T00:00:00Z (negative
/// before it).
fn clock_utc_microseconds(vm: &mut Vm, n: usize) -> Prim {
    let _ = (vm, n);
    let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    };
    prim_try!(Word::try_small_int(micros).map(Prim::Done))
}

/// `DateAndTime class>>primLocalOffsetAt: unixSeconds`: the local time zone's offset from UTC,
/// in seconds, at that instant (it changes with daylight saving time). Fails for an instant
/// outside the years -9999..9999.
fn clock_local_offset(vm: &mut Vm, n: usize) -> Prim {
    let seconds = prim_try!(big_from_word(vm, vm.arg(n, 1)));
    let seconds = prim_try!(i64::try_from(&seconds).ok());
    let instant = prim_try!(jiff::Timestamp::from_second(seconds).ok());
    let offset = jiff::tz::TimeZone::system().to_offset(instant);
    Prim::Done(Word::small_int(i64::from(offset.seconds())))
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (
        &[
            "DateAndTime class>>primUtcMicroseconds",
            "clockUtcMicroseconds",
        ],
        clock_utc_microseconds,
    ),
    (
        &["DateAndTime class>>primLocalOffsetAt:", "clockLocalOffset"],
        clock_local_offset,
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_offset_of_utc_is_zero() {
        let tz = jiff::tz::TimeZone::UTC;
        let t = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        assert_eq!(tz.to_offset(t).seconds(), 0);
    }
}
