//! Tagged 64-bit words: every Smalltalk value is one [`Word`].
//!
//! ```text
//!  63         56 55                                             4  3   2   1   0
//! +--------------------------------------------------------------------------+---+
//! |                     63-bit two's-complement integer                      | 1 |  SmallInteger
//! +------------------------------------------------------------------+---+---+---+
//! |            code point (any u32; Unicode uses 21 bits)            | 0 | 1 | 0 |  Character
//! +-------------+------------------------------------------------+---+---+---+---+
//! |  exp - 896  |                 mantissa (52)                  | s | 1 | 0 | 0 |  SmallFloat64
//! +-------------+------------------------------------------------+---+---+---+---+
//! |           byte offset of the object's header (nonzero)           | 0 | 0 | 0 |  object reference
//! +------------------------------------------------------------------+---+---+---+
//!                                                                    | 1 | 1 | 0 |  reserved, never made
//! ```
//!
//! * **SmallInteger**: bit 0 set, the value in the upper 63 bits (range −2⁶² … 2⁶²−1). Adding two
//!   tagged SmallIntegers is `a + b − 1`, and the host's overflow flag detects a result outside
//!   the range; the JIT relies on this.
//! * **Character**: a Unicode code point (or any value below 2³²) shifted left by 3.
//! * **SmallFloat64** (the Spur encoding): a double whose biased exponent lies in 897 ..= 1150
//!   (magnitudes from about 1.2e-38 to 3.4e38) or that is ±0.0 is immediate. The double's bits
//!   are rotated left by one (the sign moves to bit 0, drawn `s` above), the exponent is
//!   rebased by 896 so it fits in 8 bits, and the 61-bit result is shifted over the tag. All other doubles (NaN, ±∞,
//!   denormals, very large or small magnitudes) are boxed objects made by the VM.
//! * **Object reference**: the byte offset of the object's header from the start of the current
//!   heap space. Offsets are 8-byte aligned and never 0 (the first word of every space is
//!   reserved), so the all-zero word [`Word::INVALID`] is never a valid value and serves as a
//!   sentinel. References are offsets, not addresses, so growing or replacing the space never
//!   invalidates them and an image stores them unchanged.

use std::fmt;

/// Tag bits of a SmallInteger (bit 0).
pub const SMALL_INT_TAG: u64 = 0b1;
/// Tag of a Character (low three bits).
pub const CHAR_TAG: u64 = 0b010;
/// Tag of a SmallFloat64 (low three bits).
pub const FLOAT_TAG: u64 = 0b100;
/// Mask of the three low tag bits.
pub const TAG_MASK: u64 = 0b111;

/// Smallest SmallInteger value.
pub const SMALL_INT_MIN: i64 = -(1 << 62);
/// Largest SmallInteger value.
pub const SMALL_INT_MAX: i64 = (1 << 62) - 1;

/// Exponent rebias of SmallFloat64: stored exponent = IEEE biased exponent − 896.
pub(crate) const FLOAT_EXP_OFFSET: u64 = 896;
/// Smallest IEEE biased exponent held immediately.
pub(crate) const FLOAT_EXP_MIN: u64 = FLOAT_EXP_OFFSET + 1;
/// Largest IEEE biased exponent held immediately.
pub(crate) const FLOAT_EXP_MAX: u64 = FLOAT_EXP_OFFSET + 254;

/// One tagged value: a SmallInteger, Character, SmallFloat64 or object reference.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Word(u64);

// The only unsafe code of the object memory. Zeroed memory can then be allocated lazily for
// large tables of words (the VM stack): the operating system maps the pages on first touch.
// SAFETY: `Word` is `repr(transparent)` over `u64`, every bit pattern is a valid `Word` (the
// all-zero one is `Word::INVALID`), and it has no drop glue or interior references.
#[allow(unsafe_code)]
unsafe impl bytemuck::Zeroable for Word {}

/// A reference to a heap object: the byte offset of its header in the current space.
///
/// An `Oop` is only meaningful until the next collection, unless it lives in a root (the VM
/// stack, a handle, the class table, …) that the collector updates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Oop(u64);

impl Oop {
    /// The byte offset of the object's header.
    #[inline]
    pub const fn offset(self) -> u64 {
        self.0
    }

    /// The index of the object's header word in the space.
    #[inline]
    pub const fn index(self) -> usize {
        (self.0 >> 3) as usize
    }

    /// The reference to the object whose header is word `index` of the space.
    ///
    /// # Panics
    /// If `index` is 0 (the reserved word).
    #[inline]
    pub fn from_index(index: usize) -> Oop {
        assert!(index != 0, "word 0 of a space is reserved");
        Oop((index as u64) << 3)
    }

    /// This reference as a word.
    #[inline]
    pub const fn word(self) -> Word {
        Word(self.0)
    }
}

impl fmt::Debug for Oop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{:#x}", self.0)
    }
}

impl From<Oop> for Word {
    #[inline]
    fn from(oop: Oop) -> Word {
        oop.word()
    }
}

impl Word {
    /// The all-zero word: not a valid value. Used as "no value" in Rust-side tables.
    pub const INVALID: Word = Word(0);

    /// SmallInteger zero.
    pub const ZERO: Word = Word(SMALL_INT_TAG);

    /// Builds a word from its raw bits (for images and the JIT; the bits are not checked).
    #[inline]
    pub const fn from_raw(bits: u64) -> Word {
        Word(bits)
    }

    /// The raw bits.
    #[inline]
    pub const fn raw(self) -> u64 {
        self.0
    }

    // ---- SmallInteger ---------------------------------------------------------------------

    /// Whether this is a SmallInteger.
    #[inline]
    pub const fn is_small_int(self) -> bool {
        self.0 & SMALL_INT_TAG != 0
    }

    /// The SmallInteger holding `value`, or `None` if it is out of range.
    #[inline]
    pub const fn try_small_int(value: i64) -> Option<Word> {
        if value < SMALL_INT_MIN || value > SMALL_INT_MAX {
            None
        } else {
            Some(Word(((value as u64) << 1) | SMALL_INT_TAG))
        }
    }

    /// The SmallInteger holding `value`.
    ///
    /// # Panics
    /// If `value` is out of range; use [`Word::try_small_int`] for values that may be large.
    #[inline]
    pub const fn small_int(value: i64) -> Word {
        match Word::try_small_int(value) {
            Some(w) => w,
            None => panic!("SmallInteger out of range"),
        }
    }

    /// The SmallInteger for a value known to be in range (e.g. a length or an index).
    #[inline]
    pub fn from_usize(value: usize) -> Word {
        Word::small_int(i64::try_from(value).expect("usize out of SmallInteger range"))
    }

    /// The value of a SmallInteger, or `None`.
    #[inline]
    pub const fn as_small_int(self) -> Option<i64> {
        if self.is_small_int() {
            Some((self.0 as i64) >> 1)
        } else {
            None
        }
    }

    // ---- Character -----------------------------------------------------------------------

    /// The Character with code `code`.
    #[inline]
    pub const fn character(code: u32) -> Word {
        Word(((code as u64) << 3) | CHAR_TAG)
    }

    /// Whether this is a Character.
    #[inline]
    pub const fn is_character(self) -> bool {
        self.0 & TAG_MASK == CHAR_TAG
    }

    /// The code of a Character, or `None`.
    #[inline]
    pub const fn as_character(self) -> Option<u32> {
        if self.is_character() {
            Some((self.0 >> 3) as u32)
        } else {
            None
        }
    }

    // ---- SmallFloat64 --------------------------------------------------------------------

    /// The immediate float for `value`, or `None` if it must be boxed.
    #[inline]
    pub fn try_small_float(value: f64) -> Option<Word> {
        let bits = value.to_bits();
        let rotated = bits.rotate_left(1);
        if rotated <= 1 {
            // ±0.0: the rotated bits are the sign alone.
            return Some(Word((rotated << 3) | FLOAT_TAG));
        }
        let exp = (bits >> 52) & 0x7FF;
        if !(FLOAT_EXP_MIN..=FLOAT_EXP_MAX).contains(&exp) {
            return None;
        }
        let rebased = rotated - (FLOAT_EXP_OFFSET << 53);
        Some(Word((rebased << 3) | FLOAT_TAG))
    }

    /// Whether this is an immediate float.
    #[inline]
    pub const fn is_small_float(self) -> bool {
        self.0 & TAG_MASK == FLOAT_TAG
    }

    /// The value of an immediate float, or `None`.
    #[inline]
    pub fn as_small_float(self) -> Option<f64> {
        if !self.is_small_float() {
            return None;
        }
        let mut rotated = self.0 >> 3;
        if rotated > 1 {
            rotated += FLOAT_EXP_OFFSET << 53;
        }
        Some(f64::from_bits(rotated.rotate_right(1)))
    }

    // ---- object references ---------------------------------------------------------------

    /// Whether this is an object reference (including the invalid word).
    #[inline]
    pub const fn is_oop(self) -> bool {
        self.0 & TAG_MASK == 0
    }

    /// Whether this is an immediate value (SmallInteger, Character or SmallFloat64).
    #[inline]
    pub const fn is_immediate(self) -> bool {
        !self.is_oop()
    }

    /// The object reference, or `None` for immediates and the invalid word.
    #[inline]
    pub const fn as_oop(self) -> Option<Oop> {
        if self.is_oop() && self.0 != 0 {
            Some(Oop(self.0))
        } else {
            None
        }
    }

    /// The object reference of a word known to be one.
    ///
    /// # Panics
    /// If the word is an immediate or invalid: a VM bug.
    #[inline]
    #[track_caller]
    pub fn oop(self) -> Oop {
        match self.as_oop() {
            Some(o) => o,
            None => panic!("expected an object reference, got {self:?}"),
        }
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.as_small_int() {
            write!(f, "{i}")
        } else if let Some(c) = self.as_character() {
            match char::from_u32(c) {
                Some(ch) => write!(f, "${ch}"),
                None => write!(f, "$<{c:#x}>"),
            }
        } else if let Some(x) = self.as_small_float() {
            write!(f, "{x:?}f")
        } else if *self == Word::INVALID {
            write!(f, "<invalid>")
        } else if let Some(o) = self.as_oop() {
            write!(f, "{o:?}")
        } else {
            write!(f, "<bad word {:#x}>", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_int_edges_round_trip() {
        for v in [
            0,
            1,
            -1,
            42,
            -42,
            SMALL_INT_MIN,
            SMALL_INT_MAX,
            1 << 40,
            -(1 << 40),
        ] {
            let w = Word::try_small_int(v).unwrap();
            assert!(w.is_small_int() && !w.is_oop() && !w.is_character());
            assert_eq!(w.as_small_int(), Some(v));
        }
        assert_eq!(Word::try_small_int(SMALL_INT_MAX + 1), None);
        assert_eq!(Word::try_small_int(SMALL_INT_MIN - 1), None);
        assert_eq!(Word::try_small_int(i64::MAX), None);
        assert_eq!(Word::try_small_int(i64::MIN), None);
    }

    #[test]
    fn tagged_add_overflow_matches_range() {
        // The JIT adds tagged values as a + b - 1 and relies on the overflow flag.
        let add = |a: i64, b: i64| {
            let (wa, wb) = (
                Word::small_int(a).raw() as i64,
                Word::small_int(b).raw() as i64,
            );
            wa.checked_add(wb - 1).map(|r| Word::from_raw(r as u64))
        };
        assert_eq!(add(3, 4).unwrap().as_small_int(), Some(7));
        assert_eq!(add(-3, 1).unwrap().as_small_int(), Some(-2));
        assert!(add(SMALL_INT_MAX, 1).is_none());
        assert!(add(SMALL_INT_MIN, -1).is_none());
        assert_eq!(
            add(SMALL_INT_MAX, 0).unwrap().as_small_int(),
            Some(SMALL_INT_MAX)
        );
    }

    #[test]
    fn characters_round_trip() {
        for c in [0u32, 'a' as u32, 0x10FFFF, u32::MAX] {
            let w = Word::character(c);
            assert!(w.is_character() && !w.is_small_int() && !w.is_oop());
            assert_eq!(w.as_character(), Some(c));
        }
    }

    fn float_round_trip(x: f64) -> Option<f64> {
        Word::try_small_float(x).map(|w| {
            assert!(w.is_small_float() && !w.is_small_int() && !w.is_oop());
            w.as_small_float().unwrap()
        })
    }

    #[test]
    fn immediate_floats_round_trip_bit_exactly() {
        for x in [
            1.0,
            -1.0,
            0.1,
            3.5e10,
            -2.5e-3,
            1e38,
            -1.5e-38,
            std::f64::consts::PI,
            1.7e-38,
        ] {
            let back = float_round_trip(x).unwrap_or_else(|| panic!("{x} should be immediate"));
            assert_eq!(back.to_bits(), x.to_bits());
        }
    }

    #[test]
    fn signed_zeros_are_immediate() {
        let pz = float_round_trip(0.0).unwrap();
        let nz = float_round_trip(-0.0).unwrap();
        assert_eq!(pz.to_bits(), 0.0f64.to_bits());
        assert_eq!(nz.to_bits(), (-0.0f64).to_bits());
        assert_ne!(Word::try_small_float(0.0), Word::try_small_float(-0.0));
    }

    #[test]
    fn non_immediate_floats_are_boxed() {
        for x in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE / 2.0, // denormal
            5e-324,                  // smallest denormal
            f64::MAX,
            1e39,
            1e-39,
        ] {
            assert_eq!(Word::try_small_float(x), None, "{x} should be boxed");
        }
    }

    #[test]
    fn immediate_float_boundary() {
        // Biased exponent 897 is the smallest immediate one, 1150 the largest.
        let smallest = f64::from_bits(897u64 << 52);
        let below = f64::from_bits((897u64 << 52) - 1);
        let largest = f64::from_bits((1150u64 << 52) | ((1u64 << 52) - 1));
        let above = f64::from_bits(1151u64 << 52);
        assert_eq!(float_round_trip(smallest), Some(smallest));
        assert_eq!(float_round_trip(-smallest), Some(-smallest));
        assert_eq!(float_round_trip(below), None);
        assert_eq!(float_round_trip(largest), Some(largest));
        assert_eq!(float_round_trip(-largest), Some(-largest));
        assert_eq!(float_round_trip(above), None);
    }

    #[test]
    fn oops() {
        let o = Oop::from_index(5);
        assert_eq!(o.offset(), 40);
        assert_eq!(o.index(), 5);
        let w = o.word();
        assert!(w.is_oop() && !w.is_immediate());
        assert_eq!(w.as_oop(), Some(o));
        assert_eq!(Word::INVALID.as_oop(), None);
        assert_eq!(Word::small_int(3).as_oop(), None);
    }
}
