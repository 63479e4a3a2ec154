//! Everything native code needs to know about the object memory, as constants: the one place
//! the JIT reads tag bits, header fields and object addressing from. The values are the
//! object memory's own (`word.rs`, `header.rs`); the tests below pin them, so a change of
//! format breaks here before it breaks compiled code.
//!
//! ```text
//!   a reference   = byte offset of the header from the heap base (`Runtime::heap_base`)
//!   header        = load64 [heap_base + ref]
//!   slot i        = load64 [heap_base + ref + SLOT_0 + 8 i]
//!   overflow word = load64 [heap_base + ref - 8]       (only when the slot field is 255)
//!   class index   = header & CLASS_MASK                (immediates: by their tag, below)
//!   slot count    = header >> SLOTS_SHIFT, or the overflow word & OVERFLOW_COUNT_MASK
//! ```
//!
//! Immediates: a SmallInteger has bit 0 set (its value is `word >> 1`, arithmetic shift);
//! otherwise the low three bits are [`CHAR_TAG`], [`FLOAT_TAG`] or 0 for a reference. Their
//! class indices are fixed ([`SMALL_INTEGER_CLASS`] …). A SmallFloat64 is the double's bits
//! rotated left by one, the exponent rebased by [`FLOAT_EXP_OFFSET`], shifted over the tag;
//! doubles with a biased exponent outside [`FLOAT_EXP_MIN`]`..=`[`FLOAT_EXP_MAX`] (and not ±0)
//! are boxed.
//!
//! Allocation from native code: small objects of a known shape (closures) are bumped inline
//! from the heap's own allocation pointer, a word index read and written at [`HEAP_TOP`] of
//! the `Heap` (itself at a fixed offset in the VM):
//!
//! ```text
//!   top = load64 [heap + HEAP_TOP]
//!   if top + words > load64 [heap + HEAP_NATIVE_LIMIT]: call the VM (may collect)
//!   store64 [heap + HEAP_TOP] = top + words
//!   add64   [heap + HEAP_BYTES_ALLOCATED], 8 words
//!   ref = 8 top; header and every slot written before anything else runs
//! ```
//!
//! The limit is 0 under GC stress, so that every allocation then takes the call (which
//! collects); otherwise it keeps the two words of headroom the VM's `reserve` keeps, so that
//! inline allocation never uses memory the VM's own path would have collected for. Objects
//! with an overflow word (255 slots or more) are never made inline. Anything else (`new`
//! and friends, arrays) goes through the VM.

pub use crate::header::{OVERFLOW_SLOTS, READ_ONLY};
pub use crate::word::{CHAR_TAG, FLOAT_TAG, SMALL_INT_MAX, SMALL_INT_MIN, SMALL_INT_TAG, TAG_MASK};
pub use crate::{CHARACTER_CLASS, SMALL_FLOAT_CLASS, SMALL_INTEGER_CLASS};

/// Bytes per word.
pub const WORD_BYTES: i32 = 8;
/// Byte offset of slot 0 from an object reference (the header is one word).
pub const SLOT_0: i32 = 8;
/// Byte offset of the overflow word (big objects) from an object reference.
pub const OVERFLOW_WORD: i32 = -8;
/// Mask of the class index in a header.
pub const CLASS_MASK: u64 = crate::header::CLASS_MASK << crate::header::CLASS_SHIFT;
/// Mask of the format field in a header (its value shifted by [`FORMAT_SHIFT`]).
pub const FORMAT_MASK: u64 = crate::header::FORMAT_MASK << crate::header::FORMAT_SHIFT;
/// Shift of the format field of a header.
pub const FORMAT_SHIFT: u32 = crate::header::FORMAT_SHIFT;
/// Shift of the slot-count field of a header.
pub const SLOTS_SHIFT: u32 = crate::header::SLOTS_SHIFT;
/// Mask of the slot count in an overflow word.
pub const OVERFLOW_COUNT_MASK: u64 = crate::header::OVERFLOW_COUNT_MASK;
/// SmallFloat64: stored exponent = IEEE biased exponent − this.
pub const FLOAT_EXP_OFFSET: u64 = crate::word::FLOAT_EXP_OFFSET;
/// Smallest IEEE biased exponent of an immediate double.
pub const FLOAT_EXP_MIN: u64 = crate::word::FLOAT_EXP_MIN;
/// Largest IEEE biased exponent of an immediate double.
pub const FLOAT_EXP_MAX: u64 = crate::word::FLOAT_EXP_MAX;
/// Bits of the low tag an immediate float is shifted over.
pub const FLOAT_SHIFT: u32 = 3;

/// Byte offset in a `Heap` of its allocation pointer (a `usize` word index: the next object
/// starts there).
pub const HEAP_TOP: usize = std::mem::offset_of!(crate::Heap, top);
/// Byte offset in a `Heap` of the `usize` word index inline allocation may not pass (0 under
/// GC stress).
pub const HEAP_NATIVE_LIMIT: usize = std::mem::offset_of!(crate::Heap, native_limit);
/// Byte offset in a `Heap` of nil (the word new pointer slots are filled with).
pub const HEAP_NIL: usize = std::mem::offset_of!(crate::Heap, nil);
/// Byte offset in a `Heap` of the `u64` count of bytes allocated (heap statistics).
pub const HEAP_BYTES_ALLOCATED: usize = std::mem::offset_of!(crate::Heap, stats)
    + std::mem::offset_of!(crate::GcStats, bytes_allocated);

/// The class indices of immediates by their low three bits (0 = a reference: read the header),
/// packed four bits each, for `(IMMEDIATE_CLASSES >> (4 * (word & 7))) & 15`.
pub const IMMEDIATE_CLASSES: u64 = {
    let mut table = 0u64;
    let mut tag = 0u64;
    while tag < 8 {
        let class = if tag & SMALL_INT_TAG != 0 {
            SMALL_INTEGER_CLASS.0 as u64
        } else if tag == CHAR_TAG {
            CHARACTER_CLASS.0 as u64
        } else if tag == FLOAT_TAG {
            SMALL_FLOAT_CLASS.0 as u64
        } else {
            0
        };
        table |= class << (4 * tag);
        tag += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClassIndex, Format, Header, Heap, HeapConfig, Word};

    #[test]
    fn header_fields_are_where_native_code_reads_them() {
        let h = Header::new(ClassIndex(0x2A_BCDE), Format::Indexable, 17);
        assert_eq!((h.raw() & CLASS_MASK) as u32, 0x2A_BCDE);
        assert_eq!((h.raw() >> SLOTS_SHIFT) as usize, 17);
        let big = Header::new(ClassIndex(9), Format::Indexable, 1000);
        assert_eq!((big.raw() >> SLOTS_SHIFT) as usize, OVERFLOW_SLOTS);
        assert_eq!(h.with_read_only(true).raw() & READ_ONLY, READ_ONLY);
        assert_eq!(h.raw() & READ_ONLY, 0);
    }

    #[test]
    fn byte_objects_keep_their_bytes_little_endian_after_the_header() {
        let mut heap = Heap::new(HeapConfig::default());
        let o = heap.alloc_bytes_from(ClassIndex(9), b"abc").unwrap();
        let h = heap.space[(o.offset() / 8) as usize];
        assert_eq!((h & FORMAT_MASK) >> FORMAT_SHIFT, 8 | 5);
        assert_eq!(h >> SLOTS_SHIFT, 1);
        let w = heap.space[((o.offset() + SLOT_0 as u64) / 8) as usize];
        assert_eq!(w & 0xFF_FFFF, u64::from_le_bytes(*b"abc\0\0\0\0\0"));
    }

    #[test]
    fn slots_and_overflow_words_are_at_their_offsets() {
        let mut heap = Heap::new(HeapConfig::default());
        let o = heap.alloc(ClassIndex(9), Format::Indexable, 300).unwrap();
        heap.set_slot(o, 5, Word::small_int(77));
        let words = &heap.space;
        let at = |byte: i64| words[((o.offset() as i64 + byte) / 8) as usize];
        assert_eq!(at(i64::from(SLOT_0) + 5 * 8), Word::small_int(77).raw());
        assert_eq!(at(i64::from(OVERFLOW_WORD)) & OVERFLOW_COUNT_MASK, 300);
    }

    #[test]
    fn allocation_fields_are_words_inside_the_heap() {
        // (What native code reads there is checked from the JIT's side, which may read raw
        // memory: `smalt_jit::runtime` tests.)
        let offsets = [HEAP_TOP, HEAP_NATIVE_LIMIT, HEAP_NIL, HEAP_BYTES_ALLOCATED];
        for (i, &a) in offsets.iter().enumerate() {
            assert_eq!(a % 8, 0);
            assert!(a + 8 <= std::mem::size_of::<Heap>());
            for &b in &offsets[i + 1..] {
                assert!(a.abs_diff(b) >= 8);
            }
        }
        let mut heap = Heap::new(HeapConfig::default());
        assert_eq!(
            heap.native_limit(),
            heap.used_bytes() / 8 + heap.free_words() - 2
        );
        heap.set_stress(1);
        assert_eq!(heap.native_limit(), 0);
        heap.set_stress(0);
        assert!(heap.native_limit() > 0);
    }

    #[test]
    fn immediate_classes_by_tag() {
        let class_of = |w: Word| ((IMMEDIATE_CLASSES >> (4 * (w.raw() & TAG_MASK))) & 15) as u32;
        assert_eq!(class_of(Word::small_int(-3)), SMALL_INTEGER_CLASS.0);
        assert_eq!(class_of(Word::small_int(4)), SMALL_INTEGER_CLASS.0);
        assert_eq!(class_of(Word::character(97)), CHARACTER_CLASS.0);
        assert_eq!(
            class_of(Word::try_small_float(2.5).unwrap()),
            SMALL_FLOAT_CLASS.0
        );
        assert_eq!(class_of(Word::from_raw(64)), 0);
    }

    #[test]
    fn float_encoding_constants() {
        // Native code encodes an f64 the way Word::try_small_float does.
        for x in [1.0f64, -2.5, 1e-30, 3e37, 0.0, -0.0] {
            let bits = x.to_bits();
            let rotated = bits.rotate_left(1);
            let w = if rotated <= 1 {
                (rotated << FLOAT_SHIFT) | FLOAT_TAG
            } else {
                ((rotated - (FLOAT_EXP_OFFSET << 53)) << FLOAT_SHIFT) | FLOAT_TAG
            };
            assert_eq!(Some(Word::from_raw(w)), Word::try_small_float(x), "{x}");
        }
        assert_eq!((FLOAT_EXP_MIN, FLOAT_EXP_MAX), (897, 1150));
    }
}
