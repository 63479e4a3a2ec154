//! Integer (SmallInteger and large) and Double primitives.
//!
//! Integers are transparent: results that fit are SmallIntegers, others are large integers
//! (word objects of class index LARGE_POSITIVE / LARGE_NEGATIVE holding the magnitude's 64-bit
//! limbs, least significant first), and every large result is normalised back. Arithmetic on
//! large values uses dashu-int. Mixed Integer/Double arithmetic answers a Double.
//!
//! SOM meanings win where SOM and Smalltalk-80 differ (see docs/som-differences.md): on
//! integers `/` is integer division truncating toward zero, `//` divides to a Double, `%` and
//! `\\` are modulo with the divisor's sign, `rem:` has the dividend's sign, `quo:` truncates.

use super::{Prim, PrimDef, done, prim_try};
use crate::objects::class_index as ci;
use crate::vm::{Vm, VmError};
use dashu_int::ops::{Abs, Gcd, SquareRoot, UnsignedAbs};
use dashu_int::{IBig, Sign, UBig};
use smalt_gc::{Format, Word};

/// The value of an Integer (small or large), else `None`.
pub(crate) fn big_from_word(vm: &Vm, w: Word) -> Option<IBig> {
    if let Some(i) = w.as_small_int() {
        return Some(IBig::from(i));
    }
    let o = w.as_oop()?;
    let sign = match vm.heap.header(o).class_index() {
        ci::LARGE_POSITIVE => Sign::Positive,
        ci::LARGE_NEGATIVE => Sign::Negative,
        _ => return None,
    };
    Some(IBig::from_sign_words(sign, vm.heap.words(o)))
}

/// The Integer for `v`: a SmallInteger when it fits, else a new large integer. A safepoint.
pub(crate) fn word_from_big(vm: &mut Vm, v: &IBig) -> Result<Word, VmError> {
    if let Ok(i) = i64::try_from(v)
        && let Some(w) = Word::try_small_int(i)
    {
        return Ok(w);
    }
    let (sign, words) = v.as_sign_words();
    let class = if sign == Sign::Negative {
        ci::LARGE_NEGATIVE
    } else {
        ci::LARGE_POSITIVE
    };
    let words = words.to_vec();
    let o = vm.alloc(class, Format::Words, words.len())?;
    vm.heap.words_mut(o).copy_from_slice(&words);
    vm.heap.set_read_only(o, true);
    Ok(o.word())
}

fn is_integer(vm: &Vm, w: Word) -> bool {
    w.is_small_int()
        || matches!(
            vm.heap.class_index_of(w),
            ci::LARGE_POSITIVE | ci::LARGE_NEGATIVE
        )
}

// ---- long operations ---------------------------------------------------------------------

/// Big-integer work on operands of at least this many bits runs on a helper thread while the
/// VM watches the interrupt flag: multiplying two such numbers takes some 20 ms, and the
/// operations grow faster than linearly (a gcd of two ten-million-bit numbers takes over a
/// minute), so Ctrl-C must not wait for them.
const LONG_OPERATION_BITS: usize = 1 << 20;

/// Why a long operation gave no result.
enum Stopped {
    /// Ctrl-C: the send that ran the primitive signals the interrupt instead.
    Interrupted,
    /// The operation panicked (a bug in the bignum code): the primitive fails.
    Failed,
}

impl Stopped {
    /// What the primitive (of `nargs` arguments) answers.
    fn answer(self, vm: &mut Vm, nargs: usize) -> Prim {
        match self {
            Stopped::Interrupted => vm.interrupt_primitive(nargs),
            Stopped::Failed => Prim::Fail,
        }
    }
}

/// Runs `work`, on a helper thread if its operands have `bits` bits or more, watching the
/// interrupt flag meanwhile. An interrupted operation is abandoned: its thread finishes in
/// the background and its result is dropped; the VM goes on at once.
fn long_op<T: Send + 'static>(
    vm: &Vm,
    bits: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Stopped> {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc::{RecvTimeoutError, sync_channel};
    use std::sync::{Arc, Mutex};
    if bits < LONG_OPERATION_BITS {
        return Ok(work());
    }
    let job = Arc::new(Mutex::new(Some(work)));
    let (tx, rx) = sync_channel(1);
    let on_thread = job.clone();
    let spawned = std::thread::Builder::new()
        .name("smalt-bignum".into())
        .spawn(move || {
            let work = on_thread.lock().map(|mut j| j.take()).ok().flatten();
            if let Some(work) = work {
                let _ = tx.send(work());
            }
        });
    if spawned.is_err() {
        // No thread to be had: do the work here, uninterruptibly.
        let work = job.lock().map(|mut j| j.take()).ok().flatten();
        return work.map(|w| w()).ok_or(Stopped::Failed);
    }
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(5)) {
            Ok(v) => return Ok(v),
            Err(RecvTimeoutError::Timeout) => {
                if vm.interrupt.load(Ordering::Relaxed) {
                    return Err(Stopped::Interrupted);
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Err(Stopped::Failed),
        }
    }
}

/// Unwraps the result of [`long_op`] or answers what its stop means for the primitive.
macro_rules! long_try {
    ($vm:expr, $nargs:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(stopped) => return stopped.answer($vm, $nargs),
        }
    };
}

/// The value of a number as f64 (Integer or Double).
pub(crate) fn as_f64(vm: &Vm, w: Word) -> Option<f64> {
    if let Some(i) = w.as_small_int() {
        return Some(i as f64);
    }
    if let Some(x) = vm.float_value(w) {
        return Some(x);
    }
    big_from_word(vm, w).map(|b| b.to_f64().value())
}

/// Integer receiver and argument: small fast path, big slow path; a Double argument makes a
/// Double operation.
#[inline(always)]
fn int_arith(
    vm: &mut Vm,
    nargs: usize,
    small: impl Fn(i64, i64) -> Option<i64>,
    big: impl Fn(&IBig, &IBig) -> Option<IBig> + Send + 'static,
    float: impl Fn(f64, f64) -> Option<f64>,
) -> Prim {
    if nargs != 1 {
        return Prim::Fail;
    }
    let (a, b) = (vm.arg(1, 0), vm.arg(1, 1));
    if let (Some(x), Some(y)) = (a.as_small_int(), b.as_small_int())
        && let Some(r) = small(x, y)
        && let Some(w) = Word::try_small_int(r)
    {
        return Prim::Done(w);
    }
    if vm.float_value(b).is_some() {
        let x = prim_try!(as_f64(vm, a));
        let y = prim_try!(vm.float_value(b));
        let r = prim_try!(float(x, y));
        return done(vm.new_float(r));
    }
    let x = prim_try!(big_from_word(vm, a));
    let y = prim_try!(big_from_word(vm, b));
    let bits = bit_len(&x).max(bit_len(&y));
    let r = long_try!(vm, nargs, long_op(vm, bits, move || big(&x, &y)));
    done(word_from_big(vm, &prim_try!(r)))
}

#[inline(always)]
fn int_compare(vm: &mut Vm, nargs: usize, test: impl Fn(std::cmp::Ordering) -> bool) -> Prim {
    if nargs != 1 {
        return Prim::Fail;
    }
    let (a, b) = (vm.arg(1, 0), vm.arg(1, 1));
    if let (Some(x), Some(y)) = (a.as_small_int(), b.as_small_int()) {
        return Prim::Done(vm.boolean(test(x.cmp(&y))));
    }
    if let Some(y) = vm.float_value(b) {
        let x = prim_try!(big_from_word(vm, a));
        return match compare_int_float(&x, y) {
            Some(o) => Prim::Done(vm.boolean(test(o))),
            None => Prim::Done(vm.false_obj()),
        };
    }
    let x = prim_try!(big_from_word(vm, a));
    let Some(y) = big_from_word(vm, b) else {
        return Prim::Fail;
    };
    Prim::Done(vm.boolean(test(x.cmp(&y))))
}

/// The exact value of an integral, finite f64.
fn exact_integer(x: f64) -> IBig {
    if x.abs() < 9.0e15 {
        return IBig::from(x as i64);
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7FF) as i64 - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    // |x| >= 2^53 here, so the exponent is positive.
    let v = IBig::from(mantissa) << exp.max(0) as usize;
    if x < 0.0 { -v } else { v }
}

/// Compares an Integer with a Double exactly (converting the Integer to a Double would round
/// large values); `None` if the Double is NaN.
fn compare_int_float(a: &IBig, x: f64) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::*;
    if x.is_nan() {
        return None;
    }
    if x.is_infinite() {
        return Some(if x > 0.0 { Less } else { Greater });
    }
    let floor = x.floor();
    Some(match a.cmp(&exact_integer(floor)) {
        Equal if x > floor => Less,
        o => o,
    })
}

/// The hash of an Integer value: the value itself when it is a SmallInteger, else a fold of
/// its magnitude's words. Doubles with an integral value hash the same way, so that equal
/// numbers have equal hashes.
fn integer_hash(x: &IBig) -> i64 {
    if let Ok(i) = i64::try_from(x)
        && Word::try_small_int(i).is_some()
    {
        return i;
    }
    let h = x
        .as_sign_words()
        .1
        .iter()
        .fold(0u64, |h, w| h.rotate_left(5) ^ w);
    (h >> 2) as i64
}

fn floor_div(a: &IBig, b: &IBig) -> Option<IBig> {
    if b.is_zero() {
        return None;
    }
    let q = a / b;
    let r = a % b;
    if !r.is_zero() && (r.sign() != b.sign()) {
        Some(q - 1)
    } else {
        Some(q)
    }
}

fn floor_mod(a: &IBig, b: &IBig) -> Option<IBig> {
    if b.is_zero() {
        return None;
    }
    let r = a % b;
    if !r.is_zero() && (r.sign() != b.sign()) {
        Some(r + b)
    } else {
        Some(r)
    }
}

fn f_mod(x: f64, y: f64) -> Option<f64> {
    if y == 0.0 {
        return None;
    }
    let r = x % y;
    Some(if r != 0.0 && (r < 0.0) != (y < 0.0) {
        r + y
    } else {
        r
    })
}

fn int_add(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        i64::checked_add,
        |a, b| Some(a + b),
        |x, y| Some(x + y),
    )
}
fn int_sub(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        i64::checked_sub,
        |a, b| Some(a - b),
        |x, y| Some(x - y),
    )
}
fn int_mul(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        i64::checked_mul,
        |a, b| Some(a * b),
        |x, y| Some(x * y),
    )
}
/// SOM `/`: integer division truncating toward zero (a Double argument divides exactly).
fn int_div(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        |a, b| if b == 0 { None } else { a.checked_div(b) },
        |a, b| (!b.is_zero()).then(|| a / b),
        |x, y| (y != 0.0).then_some(x / y),
    )
}
/// `quo:`: the truncated quotient, an Integer also for a Double argument (`7 quo: 2.5` = 2).
fn int_quo(vm: &mut Vm, n: usize) -> Prim {
    quotient_by_double(vm, n, f64::trunc).unwrap_or_else(|| int_div(vm, n))
}

/// For a Double argument, the Integer quotient `round(receiver / argument)` (a failure for a
/// zero divisor); `None` for any other argument.
fn quotient_by_double(vm: &mut Vm, n: usize, round: fn(f64) -> f64) -> Option<Prim> {
    let y = if n == 1 {
        vm.float_value(vm.arg(1, 1))?
    } else {
        return None;
    };
    let Some(x) = as_f64(vm, vm.arg(1, 0)) else {
        return Some(Prim::Fail);
    };
    if y == 0.0 {
        return Some(Prim::Fail);
    }
    Some(integer_from_f64(vm, round(x / y)))
}
/// `\\` and SOM `%`: modulo with the sign of the divisor.
fn int_mod(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        |a, b| {
            let r = a.checked_rem(b)?;
            Some(if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            })
        },
        floor_mod,
        f_mod,
    )
}
/// SOM `%`: on Integers modulo with the sign of the divisor (as `\\`); with a Double
/// argument the IEEE 754 remainder of the truncated division (C's fmod, the dividend's
/// sign: `-7 % 2.5` = -2.0; a zero divisor gives NaN), as SOM's Double `%`.
fn int_percent(vm: &mut Vm, n: usize) -> Prim {
    if n == 1
        && let Some(y) = vm.float_value(vm.arg(1, 1))
    {
        let x = prim_try!(as_f64(vm, vm.arg(1, 0)));
        return done(vm.new_float(x % y));
    }
    int_mod(vm, n)
}
/// `rem:`: remainder with the sign of the dividend.
fn int_rem(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        |a, b| if b == 0 { None } else { a.checked_rem(b) },
        |a, b| (!b.is_zero()).then(|| a % b),
        |x, y| (y != 0.0).then_some(x % y),
    )
}
/// Smalltalk-80 `//` (smalt's `floorDiv:`): the quotient rounded toward negative infinity,
/// an Integer also for a Double argument (`-7 floorDiv: 2.5` = -3).
fn int_floor_div(vm: &mut Vm, n: usize) -> Prim {
    quotient_by_double(vm, n, f64::floor).unwrap_or_else(|| int_floor_div_integers(vm, n))
}
/// Smalltalk-80 `//` on Integers: quotient rounded toward negative infinity. (SOM's `//` on
/// integers divides to a Double; the class library maps SOM `//` to [`int_fdiv`].)
fn int_floor_div_integers(vm: &mut Vm, n: usize) -> Prim {
    int_arith(
        vm,
        n,
        |a, b| {
            if b == 0 {
                return None;
            }
            let q = a.checked_div(b)?;
            Some(if (a % b != 0) && ((a < 0) != (b < 0)) {
                q - 1
            } else {
                q
            })
        },
        floor_div,
        // A Double argument goes to the Integer answer below.
        |_, _| None,
    )
}
/// SOM `//`: division answering a Double, by IEEE 754 rules (`1 // 0` is Infinity, `0 // 0`
/// NaN, as in SOM). Two Integers divide exactly, then round once: `(2 raisedTo: 2000) //
/// (2 raisedTo: 1999)` is 2.0 although neither converts to a finite Double.
fn int_fdiv(vm: &mut Vm, n: usize) -> Prim {
    if n != 1 {
        return Prim::Fail;
    }
    let (a, b) = (vm.arg(1, 0), vm.arg(1, 1));
    if let Some(y) = vm.float_value(b) {
        let x = prim_try!(as_f64(vm, a));
        return done(vm.new_float(x / y));
    }
    let x = prim_try!(big_from_word(vm, a));
    let y = prim_try!(big_from_word(vm, b));
    done(vm.new_float(ratio_to_f64(&x, &y)))
}

/// `a / b` rounded once to the nearest Double (IEEE 754: a zero `b` gives an infinity or NaN).
pub(crate) fn ratio_to_f64(a: &IBig, b: &IBig) -> f64 {
    const EXACT: usize = 53;
    if b.is_zero() {
        return a.to_f64().value() / 0.0;
    }
    let negative = (a.sign() == Sign::Negative) != (b.sign() == Sign::Negative);
    if a.is_zero() {
        return if negative { -0.0 } else { 0.0 };
    }
    if bit_len(a) <= EXACT && bit_len(b) <= EXACT {
        return a.to_f64().value() / b.to_f64().value();
    }
    // q = |a| * 2^s / |b| with 66 or 67 bits, its lowest bit set if the division is inexact
    // (a sticky bit), so that converting q rounds as the exact quotient would.
    let (num, den) = (a.unsigned_abs(), b.unsigned_abs());
    let s = 66 + bit_len(b) as i64 - bit_len(a) as i64;
    let (num, den) = if s >= 0 {
        (num << s as usize, den)
    } else {
        (num, den << (-s) as usize)
    };
    let (mut q, r) = (&num / &den, &num % &den);
    if !r.is_zero() {
        q |= UBig::ONE;
    }
    let x = scale_by_power_of_two(q.to_f64().value(), -s);
    if negative { -x } else { x }
}

/// `x * 2^e` without intermediate overflow or underflow (in steps the exponent range allows).
fn scale_by_power_of_two(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

/// The natural logarithm of a positive Integer of any size: `ln m + k ln 2` for `m` the top
/// 64 bits and `k` the bits shifted out (converting the Integer to a Double would overflow).
fn big_ln(x: &IBig) -> f64 {
    if x.sign() == Sign::Negative {
        return f64::NAN;
    }
    if x.is_zero() {
        return f64::NEG_INFINITY;
    }
    let k = bit_len(x).saturating_sub(64);
    let top = (x >> k).to_f64().value();
    top.ln() + k as f64 * std::f64::consts::LN_2
}

/// `ln` of an Integer, computed from the Integer (exact for values beyond the Double range).
fn int_ln(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    done(vm.new_float(big_ln(&x)))
}

/// `log` (base 10) of an Integer, computed from the Integer; exact for powers of ten.
fn int_log10(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    if bit_len(&x) <= 1000 {
        return done(vm.new_float(x.to_f64().value().log10()));
    }
    let log = big_ln(&x) / std::f64::consts::LN_10;
    let e = log.round();
    // A power of ten answers its exponent exactly.
    if (log - e).abs() < 1e-6 && IBig::from(10u8).pow(e as usize) == x {
        return done(vm.new_float(e));
    }
    done(vm.new_float(log))
}
fn int_and(vm: &mut Vm, n: usize) -> Prim {
    int_arith(vm, n, |a, b| Some(a & b), |a, b| Some(a & b), |_, _| None)
}
fn int_or(vm: &mut Vm, n: usize) -> Prim {
    int_arith(vm, n, |a, b| Some(a | b), |a, b| Some(a | b), |_, _| None)
}
fn int_xor(vm: &mut Vm, n: usize) -> Prim {
    int_arith(vm, n, |a, b| Some(a ^ b), |a, b| Some(a ^ b), |_, _| None)
}

/// The number of bits of the magnitude of `x`.
fn bit_len(x: &IBig) -> usize {
    let words = x.as_sign_words().1;
    match words.last() {
        Some(top) => words.len() * 64 - top.leading_zeros() as usize,
        None => 0,
    }
}

/// Whether an integer of `bits` bits could not fit in the heap: such a result is refused
/// before it is computed (the primitive fails as out of memory).
fn too_big(vm: &Vm, bits: usize) -> bool {
    bits / 8 > vm.heap_limit_bytes()
}

fn shift(vm: &mut Vm, value: Word, by: i64) -> Prim {
    if let Some(x) = value.as_small_int() {
        if by <= 0 {
            return Prim::Done(Word::small_int(x >> (-by).min(63)));
        }
        if by < 62 {
            let r = x.checked_shl(by as u32).filter(|r| (r >> by) == x);
            if let Some(w) = r.and_then(Word::try_small_int) {
                return Prim::Done(w);
            }
        }
    }
    let x = prim_try!(big_from_word(vm, value));
    let bits = bit_len(&x);
    let r = if x.is_zero() {
        x
    } else if by >= 0 {
        if too_big(vm, bits.saturating_add(by as usize)) {
            return Prim::OutOfMemory;
        }
        x << by as usize
    } else if (-by) as usize >= bits {
        // Every bit is shifted out: what remains is the sign.
        IBig::from(if x.sign() == Sign::Negative { -1 } else { 0 })
    } else {
        // Arithmetic shift right: floor division by a power of two.
        let d = IBig::from(1) << (-by) as usize;
        prim_try!(floor_div(&x, &d))
    };
    done(word_from_big(vm, &r))
}
/// The shift amount of `<<`, `>>` and `bitShift:`, of any size: beyond ±2^40 bits every
/// bit of any storable receiver is shifted out (right) or the result could not be stored
/// (left), so such amounts are clamped there and [`shift`] answers 0, -1 or out of memory.
fn shift_amount(vm: &Vm, nargs: usize) -> Option<i64> {
    const LIMIT: i64 = 1 << 40;
    let by = big_from_word(vm, vm.arg(nargs, 1))?;
    Some(
        i64::try_from(&by)
            .unwrap_or(if by.sign() == Sign::Negative {
                -LIMIT
            } else {
                LIMIT
            })
            .clamp(-LIMIT, LIMIT),
    )
}
fn int_shift_left(vm: &mut Vm, n: usize) -> Prim {
    let by = prim_try!(shift_amount(vm, n));
    shift(vm, vm.arg(n, 0), by)
}
fn int_shift_right(vm: &mut Vm, n: usize) -> Prim {
    let by = prim_try!(shift_amount(vm, n));
    shift(vm, vm.arg(n, 0), -by)
}
fn int_bit_shift(vm: &mut Vm, n: usize) -> Prim {
    int_shift_left(vm, n)
}
/// SOM `>>>`: logical shift right of the 64-bit two's-complement value. The receiver must
/// have a 64-bit pattern (-2^63 to 2^64 - 1); shifting by 64 or more answers 0.
fn int_unsigned_shift_right(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let by = prim_try!(vm.int_arg(n, 1));
    let bits = prim_try!(
        u64::try_from(&x)
            .ok()
            .or_else(|| i64::try_from(&x).ok().map(|i| i as u64))
    );
    if by < 0 {
        return Prim::Fail;
    }
    let r = if by >= 64 { 0 } else { bits >> by };
    done(word_from_big(vm, &IBig::from(r)))
}

fn int_eq(vm: &mut Vm, n: usize) -> Prim {
    if n != 1 {
        return Prim::Fail;
    }
    let (_a, b) = (vm.arg(1, 0), vm.arg(1, 1));
    if !is_integer(vm, b) && vm.float_value(b).is_none() {
        return Prim::Done(vm.false_obj());
    }
    int_compare(vm, n, |o| o.is_eq())
}
fn int_ne(vm: &mut Vm, n: usize) -> Prim {
    match int_eq(vm, n) {
        Prim::Done(w) => Prim::Done(vm.boolean(w != vm.true_obj())),
        p => p,
    }
}
fn int_lt(vm: &mut Vm, n: usize) -> Prim {
    int_compare(vm, n, |o| o.is_lt())
}
fn int_gt(vm: &mut Vm, n: usize) -> Prim {
    int_compare(vm, n, |o| o.is_gt())
}
fn int_le(vm: &mut Vm, n: usize) -> Prim {
    int_compare(vm, n, |o| o.is_le())
}
fn int_ge(vm: &mut Vm, n: usize) -> Prim {
    int_compare(vm, n, |o| o.is_ge())
}

fn int_as_string(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let bits = bit_len(&x);
    let text = long_try!(vm, n, long_op(vm, bits, move || x.to_string()));
    done(vm.new_string(&text))
}

/// `printString: base` / `radix:`: digits in base 2..36, upper case, no prefix.
fn int_print_base(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let base = prim_try!(vm.int_arg(n, 1));
    if !(2..=36).contains(&base) {
        return Prim::Fail;
    }
    let bits = bit_len(&x);
    let s = long_try!(
        vm,
        n,
        long_op(vm, bits, move || format!("{}", x.in_radix(base as u8))
            .to_uppercase())
    );
    done(vm.new_string(&s))
}

fn int_as_double(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(as_f64(vm, vm.arg(n, 0)));
    done(vm.new_float(x))
}

fn int_sqrt(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    if x.sign() == Sign::Negative {
        return done(vm.new_float(f64::NAN));
    }
    let bits = bit_len(&x);
    let (r, x) = long_try!(
        vm,
        n,
        long_op(vm, bits, move || {
            let r = x.nth_root(2);
            let exact = &r * &r == x;
            ((r, exact), x)
        })
    );
    let (r, exact) = r;
    if exact {
        return done(word_from_big(vm, &r));
    }
    // Beyond 2^106 the integer square root has more bits than a Double keeps, so converting
    // it loses nothing, and it stays finite where the receiver itself exceeds the Double range.
    let root = if bit_len(&x) > 106 {
        r.to_f64().value()
    } else {
        x.to_f64().value().sqrt()
    };
    done(vm.new_float(root))
}

/// `highBit`: the number of bits of a non-negative Integer (0 for 0): the index of its highest
/// set bit. The bignum knows its length: a loop of shifts in Smalltalk took minutes for a
/// number of ten million bits. Negative receivers fail (the method reports the error).
fn int_high_bit(vm: &mut Vm, n: usize) -> Prim {
    let rcv = vm.arg(n, 0);
    if let Some(x) = rcv.as_small_int() {
        return prim_try!(
            (x >= 0).then(|| Prim::Done(Word::small_int(i64::from(64 - x.leading_zeros()))))
        );
    }
    let x = prim_try!(big_from_word(vm, rcv));
    if x.sign() == Sign::Negative {
        return Prim::Fail;
    }
    Prim::Done(Word::from_usize(bit_len(&x)))
}

/// `sqrtFloor`: the largest Integer whose square is at most a non-negative receiver, by the
/// bignum's square root (Newton's iteration in Smalltalk was quadratic in the length through
/// `highBit`). Negative receivers fail.
fn int_sqrt_floor(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    if x.sign() == Sign::Negative {
        return Prim::Fail;
    }
    let bits = bit_len(&x);
    let root = long_try!(vm, n, long_op(vm, bits, move || IBig::from(x.sqrt())));
    done(word_from_big(vm, &root))
}

fn int_as_character(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.int_arg(n, 0));
    let c = prim_try!(
        u32::try_from(x)
            .ok()
            .filter(|c| char::from_u32(*c).is_some())
    );
    Prim::Done(Word::character(c))
}

fn int_as_32_signed(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let low = (&x & IBig::from(0xFFFF_FFFFu64)).try_into().unwrap_or(0u64);
    Prim::Done(Word::small_int(i64::from(low as u32 as i32)))
}

fn int_as_32_unsigned(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let low = (&x & IBig::from(0xFFFF_FFFFu64)).try_into().unwrap_or(0u64);
    Prim::Done(Word::small_int(i64::from(low as u32)))
}

fn int_hash(vm: &mut Vm, n: usize) -> Prim {
    let w = vm.arg(n, 0);
    if w.is_small_int() {
        return Prim::Done(w);
    }
    let x = prim_try!(big_from_word(vm, w));
    Prim::Done(Word::small_int(integer_hash(&x)))
}

/// `atRandom`: an Integer from 1 to the receiver, each equally likely (random bits of the
/// receiver's width, drawn again while they are not below it: no modulo bias), for
/// receivers of any size. smalt's own `Integer>>atRandom` is Smalltalk over `Random`; this
/// primitive is what SOM's library names (`atRandom = primitive`) when a class path loads it.
fn int_at_random(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    if x < IBig::ONE {
        return Prim::Fail;
    }
    let bits = bit_len(&x);
    let words = bits.div_ceil(64);
    let top_mask = if bits.is_multiple_of(64) {
        u64::MAX
    } else {
        (1u64 << (bits % 64)) - 1
    };
    let r = loop {
        let mut limbs: Vec<u64> = (0..words).map(|_| vm.next_random()).collect();
        if let Some(top) = limbs.last_mut() {
            *top &= top_mask;
        }
        let r = IBig::from(UBig::from_words(&limbs));
        if r < x {
            break r;
        }
    };
    done(word_from_big(vm, &(r + IBig::ONE)))
}

fn int_gcd(vm: &mut Vm, n: usize) -> Prim {
    let a = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let b = prim_try!(big_from_word(vm, vm.arg(n, 1)));
    // dashu panics on gcd(0, 0); by convention it is 0.
    if a.is_zero() && b.is_zero() {
        return Prim::Done(Word::ZERO);
    }
    let bits = bit_len(&a).max(bit_len(&b));
    let g: IBig = long_try!(vm, n, long_op(vm, bits, move || a.gcd(&b).into()));
    done(word_from_big(vm, &g))
}

fn int_abs(vm: &mut Vm, n: usize) -> Prim {
    let a = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    done(word_from_big(vm, &a.abs()))
}

fn int_negated(vm: &mut Vm, n: usize) -> Prim {
    let a = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    done(word_from_big(vm, &-a))
}

fn int_raised_to(vm: &mut Vm, n: usize) -> Prim {
    let a = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    let big_e = prim_try!(big_from_word(vm, vm.arg(n, 1)));
    if big_e.sign() == Sign::Negative {
        return Prim::Fail;
    }
    // 0, 1 and -1 have powers of any size.
    if a.is_zero() {
        return Prim::Done(Word::small_int(i64::from(big_e.is_zero())));
    }
    if a.is_one() {
        return Prim::Done(Word::small_int(1));
    }
    if a == IBig::NEG_ONE {
        let odd = (&big_e & IBig::ONE).is_one();
        return Prim::Done(Word::small_int(if odd { -1 } else { 1 }));
    }
    let Ok(e) = i64::try_from(&big_e) else {
        return Prim::OutOfMemory;
    };
    // |a| < 2^bits, so |a^e| < 2^(bits * e).
    if bit_len(&a) > 1 && too_big(vm, bit_len(&a).saturating_mul(e as usize)) {
        return Prim::OutOfMemory;
    }
    let bits = bit_len(&a).saturating_mul(e as usize);
    let r = long_try!(vm, n, long_op(vm, bits, move || a.pow(e as usize)));
    done(word_from_big(vm, &r))
}

/// `isPrime`: false below 2. Receivers below 3.3 * 10^24 get an exact answer (the
/// Miller-Rabin test with the first 13 prime bases is deterministic there); larger ones are
/// strong probable primes to the first 20 prime bases. Receivers over [`PRIME_TEST_BITS`]
/// bits make the primitive fail: the test would run for minutes.
fn int_is_prime(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(big_from_word(vm, vm.arg(n, 0)));
    if x.sign() == Sign::Negative {
        return Prim::Done(vm.false_obj());
    }
    if bit_len(&x) > PRIME_TEST_BITS {
        return Prim::Fail;
    }
    let r = is_probable_prime(&UBig::try_from(x).unwrap_or_default());
    Prim::Done(vm.boolean(r))
}

/// The largest receiver of `isPrime`, in bits.
const PRIME_TEST_BITS: usize = 8_192;

/// The first 20 primes: trial divisors and Miller-Rabin bases.
const SMALL_PRIMES: [u8; 20] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
];

/// Miller-Rabin with the bases of [`SMALL_PRIMES`] (exact below 3.3 * 10^24).
fn is_probable_prime(n: &UBig) -> bool {
    use dashu_int::fast_div::ConstDivisor;
    if *n < UBig::from(2u8) {
        return false;
    }
    for p in SMALL_PRIMES {
        let p = UBig::from(p);
        if *n == p {
            return true;
        }
        if (n % &p).is_zero() {
            return false;
        }
    }
    if *n < UBig::from(71u32 * 71) {
        return true;
    }
    let n_minus_1 = n - UBig::ONE;
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    let ring = ConstDivisor::new(n.clone());
    let one = ring.reduce(UBig::ONE);
    let minus_one = ring.reduce(n_minus_1.clone());
    'bases: for a in SMALL_PRIMES {
        let mut x = ring.reduce(UBig::from(a)).pow(&d);
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = x.sqr();
            if x == minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// `Integer fromString: aString` (class side): parses optional sign and digits, or
/// radix notation `16rFF`; fails on anything else.
fn int_from_string(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(vm.string_value(vm.arg(n, 1)));
    // Decimal digits carry about 3.3 bits each.
    let bits = s.len().saturating_mul(4);
    match long_try!(vm, n, long_op(vm, bits, move || parse_integer(s.trim()))) {
        Some(v) => done(word_from_big(vm, &v)),
        None => Prim::Fail,
    }
}

/// Parses `[-]digits` or `[-]RADIXrDIGITS`.
pub(crate) fn parse_integer(s: &str) -> Option<IBig> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.is_empty() {
        return None;
    }
    let v = if let Some((radix, digits)) = body.split_once('r') {
        let radix: u32 = radix.parse().ok().filter(|r| (2..=36).contains(r))?;
        if digits.is_empty() || digits.starts_with(['+', '-']) {
            return None;
        }
        IBig::from_str_radix(digits, radix).ok()?
    } else {
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        IBig::from_str_radix(body, 10).ok()?
    };
    Some(if neg { -v } else { v })
}

// ---- Double ------------------------------------------------------------------------------

#[inline(always)]
fn float_arith(vm: &mut Vm, nargs: usize, f: impl Fn(f64, f64) -> Option<f64>) -> Prim {
    if nargs != 1 {
        return Prim::Fail;
    }
    let x = prim_try!(vm.float_value(vm.arg(1, 0)));
    let y = prim_try!(as_f64(vm, vm.arg(1, 1)));
    let r = prim_try!(f(x, y));
    done(vm.new_float(r))
}

#[inline(always)]
fn float_compare(vm: &mut Vm, nargs: usize, f: impl Fn(f64, f64) -> bool) -> Prim {
    if nargs != 1 {
        return Prim::Fail;
    }
    let x = prim_try!(vm.float_value(vm.arg(1, 0)));
    let b = vm.arg(1, 1);
    if let Some(y) = vm.float_value(b) {
        return Prim::Done(vm.boolean(f(x, y)));
    }
    // An Integer argument compares exactly: the test sees stand-ins with the same order.
    let y = prim_try!(big_from_word(vm, b));
    let r = match compare_int_float(&y, x) {
        Some(o) => f(0.0, f64::from(o as i8)),
        None => f(f64::NAN, 0.0),
    };
    Prim::Done(vm.boolean(r))
}

fn float_add(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| Some(x + y))
}
fn float_sub(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| Some(x - y))
}
fn float_mul(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| Some(x * y))
}
/// Smalltalk-80 `/`: a zero divisor fails (ZeroDivide).
fn float_div(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| (y != 0.0).then_some(x / y))
}
/// SOM `//`: IEEE 754 division (`1.0 // 0.0` is Infinity, `0.0 // 0.0` NaN).
fn float_som_div(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| Some(x / y))
}
/// Smalltalk-80 `\\`: floored modulo, the divisor's sign; a zero divisor fails.
fn float_mod(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, f_mod)
}
/// SOM `%`: the IEEE 754 remainder of the truncated division (C's fmod: the dividend's sign,
/// `-5.5 % 2` = -1.5; a zero divisor gives NaN).
fn float_percent(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| Some(x % y))
}
fn float_rem(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| (y != 0.0).then_some(x % y))
}
fn float_raised_to(vm: &mut Vm, n: usize) -> Prim {
    float_arith(vm, n, |x, y| Some(x.powf(y)))
}
fn float_eq(vm: &mut Vm, n: usize) -> Prim {
    if n == 1 && as_f64(vm, vm.arg(1, 1)).is_none() {
        return Prim::Done(vm.false_obj());
    }
    float_compare(vm, n, |x, y| x == y)
}
fn float_ne(vm: &mut Vm, n: usize) -> Prim {
    if n == 1 && as_f64(vm, vm.arg(1, 1)).is_none() {
        return Prim::Done(vm.true_obj());
    }
    float_compare(vm, n, |x, y| x != y)
}
fn float_lt(vm: &mut Vm, n: usize) -> Prim {
    float_compare(vm, n, |x, y| x < y)
}
fn float_gt(vm: &mut Vm, n: usize) -> Prim {
    float_compare(vm, n, |x, y| x > y)
}
fn float_le(vm: &mut Vm, n: usize) -> Prim {
    float_compare(vm, n, |x, y| x <= y)
}
fn float_ge(vm: &mut Vm, n: usize) -> Prim {
    float_compare(vm, n, |x, y| x >= y)
}

fn float_unary(vm: &mut Vm, nargs: usize, f: fn(f64) -> f64) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(nargs, 0)));
    done(vm.new_float(f(x)))
}

fn float_sqrt(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::sqrt)
}
fn float_sin(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::sin)
}
fn float_cos(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::cos)
}
fn float_tan(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::tan)
}
fn float_arctan(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::atan)
}
fn float_arcsin(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::asin)
}
fn float_arccos(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::acos)
}
fn float_ln(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::ln)
}
fn float_exp(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::exp)
}
/// `log`: the logarithm to base 10 (exact for powers of ten, unlike `ln / 10 ln`).
fn float_log10(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::log10)
}
fn float_negated(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, |x| -x)
}
fn float_abs(vm: &mut Vm, n: usize) -> Prim {
    float_unary(vm, n, f64::abs)
}

/// An integral f64 as an Integer (fails on NaN and infinities).
fn integer_from_f64(vm: &mut Vm, x: f64) -> Prim {
    if !x.is_finite() {
        return Prim::Fail;
    }
    done(word_from_big(vm, &exact_integer(x)))
}

fn float_truncated(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    integer_from_f64(vm, x.trunc())
}
fn float_floor(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    integer_from_f64(vm, x.floor())
}
fn float_ceiling(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    integer_from_f64(vm, x.ceil())
}
/// Smalltalk-80 `rounded`: to the nearest integer, halves away from zero (`-2.5` → `-3`).
fn float_rounded(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    integer_from_f64(vm, x.round())
}
/// SOM `round` (Java's `Math.round`): to the nearest integer, halves up (`-2.5` → `-2`).
fn float_round_half_up(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    let r = if x - x.floor() == 0.5 {
        x.ceil()
    } else {
        x.round()
    };
    integer_from_f64(vm, r)
}

/// The shortest text that reads back as the same double; integral values keep `.0`.
pub(crate) fn format_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let s = format!("{x:?}");
    if s.contains('e') && !s.contains('.') {
        let (m, e) = s.split_once('e').expect("contains e");
        return format!("{m}.0e{e}");
    }
    s
}

fn float_as_string(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    done(vm.new_string(&format_double(x)))
}

/// `printString: decimals`: fixed number of digits after the point.
fn float_print_decimals(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    let d = prim_try!(vm.int_arg(n, 1));
    if !(0..=100).contains(&d) {
        return Prim::Fail;
    }
    done(vm.new_string(&format!("{x:.*}", d as usize)))
}

fn float_hash(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    if x.is_finite() && x.fract() == 0.0 {
        return Prim::Done(Word::small_int(integer_hash(&exact_integer(x))));
    }
    Prim::Done(Word::small_int(fraction_hash(x)))
}

/// The hash of a Double that is not an integral value: every bit of it counts (the fraction's
/// low bits as much as the exponent), so Doubles such as `i + 0.5` spread over a hash table.
fn fraction_hash(x: f64) -> i64 {
    let mut z = x.to_bits();
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 3) as i64
}

fn float_is_nan(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    Prim::Done(vm.boolean(x.is_nan()))
}

fn float_is_infinite(vm: &mut Vm, n: usize) -> Prim {
    let x = prim_try!(vm.float_value(vm.arg(n, 0)));
    Prim::Done(vm.boolean(x.is_infinite()))
}

/// `Double fromString: aString` (class side).
fn float_from_string(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(vm.string_value(vm.arg(n, 1)));
    let t = s.trim();
    let x = match t {
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        // Decimal notation only: Rust's parser also takes "inf", "nan" and "infinity" in
        // any case, which are not numbers in Smalltalk.
        _ if !t
            .trim_start_matches(['+', '-'])
            .starts_with(|c: char| c.is_ascii_digit() || c == '.') =>
        {
            return Prim::Fail;
        }
        _ => prim_try!(t.parse::<f64>().ok()),
    };
    done(vm.new_float(x))
}

fn float_infinity(vm: &mut Vm, _: usize) -> Prim {
    done(vm.new_float(f64::INFINITY))
}
fn float_negative_infinity(vm: &mut Vm, _: usize) -> Prim {
    done(vm.new_float(f64::NEG_INFINITY))
}
fn float_nan(vm: &mut Vm, _: usize) -> Prim {
    done(vm.new_float(f64::NAN))
}
fn float_pi(vm: &mut Vm, _: usize) -> Prim {
    done(vm.new_float(std::f64::consts::PI))
}
fn float_e(vm: &mut Vm, _: usize) -> Prim {
    done(vm.new_float(std::f64::consts::E))
}

/// Parses a Smalltalk number literal at run time (`'3.5' asNumber`, `'16r1F' asNumber`);
/// nil for other text.
fn string_as_number(vm: &mut Vm, n: usize) -> Prim {
    let s = prim_try!(vm.string_value(vm.arg(n, 0)));
    let bits = s.len().saturating_mul(4);
    match long_try!(
        vm,
        n,
        long_op(vm, bits, move || parse_number_literal(s.trim()))
    ) {
        Some(NumberLiteral::Integer(v)) => done(word_from_big(vm, &v)),
        Some(NumberLiteral::Double(x)) => done(vm.new_float(x)),
        None => Prim::Done(vm.nil()),
    }
}

/// The value of a number literal.
#[derive(Debug, PartialEq)]
enum NumberLiteral {
    Integer(IBig),
    Double(f64),
}

/// The largest exponent of an integer literal (`1e10000`), as the compiler allows.
const MAX_LITERAL_EXPONENT: usize = 10_000;

/// A number in the syntax of Smalltalk literals, with an optional leading `-`: `42`, `-7`,
/// `16r1F`, `16r-1F`, `2r1e4`, `1.5`, `2.5e-3`, `1e3`. As in the compiler, an integer mantissa
/// with a non-negative exponent is an Integer (`1e3` = 1000); a fraction or a negative
/// exponent makes a Double.
fn parse_number_literal(t: &str) -> Option<NumberLiteral> {
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let digits_end = |s: &str, radix: u32| s.find(|c: char| !c.is_digit(radix)).unwrap_or(s.len());
    let int_end = digits_end(body, 10);
    if int_end == 0 {
        return None;
    }
    let (int_part, rest) = body.split_at(int_end);
    // An exponent: e, an optional sign, digits; the whole remaining text.
    let exponent = |s: &str| -> Option<i64> {
        let e = s.strip_prefix('e')?;
        let (sign, digits) = match e.strip_prefix(['+', '-']) {
            Some(d) => (if e.starts_with('-') { -1 } else { 1 }, d),
            None => (1, e),
        };
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<i64>().ok().map(|v| sign * v))?
    };
    let scaled = |mantissa: IBig, base: u32, e: i64| -> Option<IBig> {
        let e = usize::try_from(e)
            .ok()
            .filter(|e| *e <= MAX_LITERAL_EXPONENT)?;
        Some(mantissa * IBig::from(base).pow(e))
    };
    let sign = |v: IBig| if negative { -v } else { v };
    if let Some(radix_rest) = rest.strip_prefix('r') {
        let radix: u32 = int_part.parse().ok().filter(|r| (2..=36).contains(r))?;
        let (digit_negative, digits_rest) = match radix_rest.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, radix_rest),
        };
        let end = digits_end(digits_rest, radix);
        if end == 0 || (negative && digit_negative) {
            return None;
        }
        let (digits, tail) = digits_rest.split_at(end);
        let mut v = IBig::from_str_radix(digits, radix).ok()?;
        if !tail.is_empty() {
            v = scaled(v, radix, exponent(tail)?)?;
        }
        let v = if digit_negative { -v } else { v };
        return Some(NumberLiteral::Integer(sign(v)));
    }
    let (frac, tail) = match rest.strip_prefix('.') {
        Some(f) if f.starts_with(|c: char| c.is_ascii_digit()) => f.split_at(digits_end(f, 10)),
        Some(_) => return None,
        None => ("", rest),
    };
    let e = if tail.is_empty() { 0 } else { exponent(tail)? };
    if frac.is_empty() && e >= 0 {
        let v = scaled(IBig::from_str_radix(int_part, 10).ok()?, 10, e)?;
        return Some(NumberLiteral::Integer(sign(v)));
    }
    let x: f64 = format!(
        "{int_part}.{}e{e}",
        if frac.is_empty() { "0" } else { frac }
    )
    .parse()
    .ok()?;
    Some(NumberLiteral::Double(if negative { -x } else { x }))
}

/// Primitive names, SOM style (`Class>>selector`) and canonical.
pub(super) const PRIMITIVES: &[PrimDef] = &[
    (&["Integer>>+", "integerAdd"], int_add),
    (&["Integer>>-", "integerSubtract"], int_sub),
    (&["Integer>>*", "integerMultiply"], int_mul),
    (&["Integer>>/", "integerDivide"], int_div),
    (&["Integer>>quo:", "integerQuo"], int_quo),
    // Canonical names never hold a backslash (tools quote them in SOM strings).
    (&["integerModulo", "Integer>>\\\\"], int_mod),
    (&["Integer>>%", "integerPercent"], int_percent),
    (&["Integer>>ln", "integerLn"], int_ln),
    (&["Integer>>log", "integerLog10"], int_log10),
    (&["Integer>>rem:", "integerRem"], int_rem),
    (&["integerFloorDivide"], int_floor_div),
    (&["Integer>>//", "integerDivideToDouble"], int_fdiv),
    (
        &["Integer>>&", "Integer>>bitAnd:", "integerBitAnd"],
        int_and,
    ),
    (&["Integer>>|", "Integer>>bitOr:", "integerBitOr"], int_or),
    (&["Integer>>bitXor:", "integerBitXor"], int_xor),
    (&["Integer>><<", "integerShiftLeft"], int_shift_left),
    (&["Integer>>>>", "integerShiftRight"], int_shift_right),
    (&["Integer>>bitShift:", "integerBitShift"], int_bit_shift),
    (
        &["Integer>>>>>", "integerUnsignedShiftRight"],
        int_unsigned_shift_right,
    ),
    (&["Integer>>=", "integerEqual"], int_eq),
    (&["Integer>>~=", "Integer>><>", "integerNotEqual"], int_ne),
    (&["Integer>><", "integerLess"], int_lt),
    (&["Integer>>>", "integerGreater"], int_gt),
    (&["Integer>><=", "integerLessOrEqual"], int_le),
    (&["Integer>>>=", "integerGreaterOrEqual"], int_ge),
    (&["Integer>>asString", "integerAsString"], int_as_string),
    (
        &["Integer>>printString:", "integerPrintBase"],
        int_print_base,
    ),
    (
        &["Integer>>asDouble", "Integer>>asFloat", "integerAsDouble"],
        int_as_double,
    ),
    (&["Integer>>sqrt", "integerSqrt"], int_sqrt),
    (&["Integer>>sqrtFloor", "integerSqrtFloor"], int_sqrt_floor),
    (&["Integer>>highBit", "integerHighBit"], int_high_bit),
    (
        &["Integer>>asCharacter", "integerAsCharacter"],
        int_as_character,
    ),
    (
        &["Integer>>as32BitSignedValue", "integerAs32BitSigned"],
        int_as_32_signed,
    ),
    (
        &["Integer>>as32BitUnsignedValue", "integerAs32BitUnsigned"],
        int_as_32_unsigned,
    ),
    (&["Integer>>hashcode", "integerHash"], int_hash),
    (&["Integer>>atRandom", "integerAtRandom"], int_at_random),
    (&["Integer>>gcd:", "integerGcd"], int_gcd),
    (&["Integer>>abs", "integerAbs"], int_abs),
    (&["Integer>>negated", "integerNegated"], int_negated),
    (&["integerRaisedTo"], int_raised_to),
    (&["Integer>>isPrime", "integerIsPrime"], int_is_prime),
    (
        &["Integer class>>fromString:", "integerFromString"],
        int_from_string,
    ),
    (&["Double>>+", "doubleAdd"], float_add),
    (&["Double>>-", "doubleSubtract"], float_sub),
    (&["Double>>*", "doubleMultiply"], float_mul),
    (&["Double>>/", "doubleDivide"], float_div),
    (&["Double>>//", "doubleSomDivide"], float_som_div),
    (&["doubleModulo", "Double>>\\\\"], float_mod),
    (&["Double>>%", "doublePercent"], float_percent),
    (&["Double>>rem:", "doubleRem"], float_rem),
    (&["Double>>raisedTo:", "doubleRaisedTo"], float_raised_to),
    (&["Double>>=", "doubleEqual"], float_eq),
    (&["Double>>~=", "Double>><>", "doubleNotEqual"], float_ne),
    (&["Double>><", "doubleLess"], float_lt),
    (&["Double>>>", "doubleGreater"], float_gt),
    (&["Double>><=", "doubleLessOrEqual"], float_le),
    (&["Double>>>=", "doubleGreaterOrEqual"], float_ge),
    (&["Double>>sqrt", "doubleSqrt"], float_sqrt),
    (&["Double>>sin", "doubleSin"], float_sin),
    (&["Double>>cos", "doubleCos"], float_cos),
    (&["Double>>tan", "doubleTan"], float_tan),
    (&["Double>>arcTan", "doubleArcTan"], float_arctan),
    (&["Double>>arcSin", "doubleArcSin"], float_arcsin),
    (&["Double>>arcCos", "doubleArcCos"], float_arccos),
    (&["Double>>ln", "doubleLn"], float_ln),
    (&["Double>>exp", "doubleExp"], float_exp),
    (&["Double>>log", "doubleLog10"], float_log10),
    (&["Double>>negated", "doubleNegated"], float_negated),
    (&["Double>>abs", "doubleAbs"], float_abs),
    (
        &["Double>>asInteger", "Double>>truncated", "doubleTruncated"],
        float_truncated,
    ),
    (&["Double>>floor", "doubleFloor"], float_floor),
    (&["Double>>ceiling", "doubleCeiling"], float_ceiling),
    (&["Double>>rounded", "doubleRounded"], float_rounded),
    (&["Double>>round", "doubleRoundHalfUp"], float_round_half_up),
    (&["Double>>asString", "doubleAsString"], float_as_string),
    (
        &["Double>>printString:", "doublePrintDecimals"],
        float_print_decimals,
    ),
    (&["Double>>hashcode", "doubleHash"], float_hash),
    (&["Double>>isNaN", "doubleIsNaN"], float_is_nan),
    (
        &["Double>>isInfinite", "doubleIsInfinite"],
        float_is_infinite,
    ),
    (
        &["Double class>>fromString:", "doubleFromString"],
        float_from_string,
    ),
    (
        &[
            "Double class>>PositiveInfinity",
            "Double class>>infinity",
            "doubleInfinity",
        ],
        float_infinity,
    ),
    (
        &["Double class>>negativeInfinity", "doubleNegativeInfinity"],
        float_negative_infinity,
    ),
    (&["Double class>>nan", "doubleNaN"], float_nan),
    (&["Double class>>pi", "doublePi"], float_pi),
    (&["Double class>>e", "doubleE"], float_e),
    (&["String>>asNumber", "stringAsNumber"], string_as_number),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_shortest_round_trip() {
        assert_eq!(format_double(1.0), "1.0");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(1e100), "1.0e100");
        assert_eq!(format_double(f64::INFINITY), "Infinity");
        for x in [1.0 / 3.0, 2.0f64.sqrt(), 1e-300, 123456789.125] {
            assert_eq!(format_double(x).parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn integers_compare_exactly_with_doubles() {
        use std::cmp::Ordering::*;
        let big = IBig::from(1) << 100;
        let x = 2f64.powi(100);
        assert_eq!(compare_int_float(&big, x), Some(Equal));
        assert_eq!(compare_int_float(&(&big + IBig::from(1)), x), Some(Greater));
        assert_eq!(compare_int_float(&(&big - IBig::from(1)), x), Some(Less));
        assert_eq!(compare_int_float(&IBig::from(3), 3.5), Some(Less));
        assert_eq!(compare_int_float(&IBig::from(-4), -3.5), Some(Less));
        assert_eq!(compare_int_float(&big, f64::INFINITY), Some(Less));
        assert_eq!(compare_int_float(&big, f64::NEG_INFINITY), Some(Greater));
        assert_eq!(compare_int_float(&big, f64::NAN), None);
        assert_eq!(
            exact_integer(-1.0e20),
            IBig::from(-100_000_000_000_000_000_000i128)
        );
        assert_eq!(
            integer_hash(&exact_integer(1.0e19)),
            integer_hash(&(IBig::from(10u64).pow(19)))
        );
    }

    #[test]
    fn miller_rabin_agrees_with_trial_division() {
        let trial = |n: u64| {
            n >= 2
                && (2..)
                    .take_while(|d| d * d <= n)
                    .all(|d| !n.is_multiple_of(d))
        };
        for n in 0..20_000u64 {
            assert_eq!(is_probable_prime(&UBig::from(n)), trial(n), "{n}");
        }
        // Carmichael numbers and strong pseudoprimes to several small bases.
        for n in [
            561u64,
            41041,
            825265,
            3215031751,
            2152302898747,
            3474749660383,
        ] {
            assert!(!is_probable_prime(&UBig::from(n)), "{n}");
        }
        assert!(is_probable_prime(&((UBig::ONE << 89) - UBig::ONE)));
    }

    #[test]
    fn number_literals_parse_as_the_compiler_reads_them() {
        use NumberLiteral::{Double, Integer};
        let int = |v: i64| Some(Integer(IBig::from(v)));
        assert_eq!(parse_number_literal("42"), int(42));
        assert_eq!(parse_number_literal("-7"), int(-7));
        assert_eq!(parse_number_literal("1e3"), int(1000));
        assert_eq!(parse_number_literal("1e+3"), int(1000));
        assert_eq!(parse_number_literal("16r1F"), int(31));
        assert_eq!(parse_number_literal("16r-1F"), int(-31));
        assert_eq!(parse_number_literal("-16r1F"), int(-31));
        assert_eq!(parse_number_literal("16r1e3"), int(0x1e3));
        assert_eq!(parse_number_literal("2r1e3"), int(8));
        assert_eq!(parse_number_literal("1.5"), Some(Double(1.5)));
        assert_eq!(parse_number_literal("-2.5e-3"), Some(Double(-0.0025)));
        assert_eq!(parse_number_literal("1e-3"), Some(Double(0.001)));
        assert_eq!(parse_number_literal("3.e2"), None);
        for bad in [
            "", "-", "e3", ".5", "1.", "1e", "1e-", "12abc", "1/2", "37r1", "2r2", "1E3", "inf",
            "--1", "-16r-1", "1e99999", " 1",
        ] {
            assert_eq!(parse_number_literal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn integers_parse() {
        assert_eq!(parse_integer("123"), Some(IBig::from(123)));
        assert_eq!(parse_integer("-16rFF"), Some(IBig::from(-255)));
        assert_eq!(parse_integer("2r101"), Some(IBig::from(5)));
        assert_eq!(parse_integer("12a"), None);
        assert_eq!(parse_integer(""), None);
        assert_eq!(parse_integer("-"), None);
    }
}
