//! Object headers: one 64-bit word in front of every object's slots.
//!
//! ```text
//!  63        56 55  54 53                  32 31 29 28    24 23 22 21                  0
//! +------------+------+----------------------+-----+--------+--+--+---------------------+
//! | num slots  |  --  |  identity hash (22)  | gc  | format |as|ro|  class index (22)   |
//! +------------+------+----------------------+-----+--------+--+--+---------------------+
//! ```
//!
//! * **class index**: the object's class is `class_table[index]` (see [`crate::ClassTable`]).
//!   Index 0 is never a class.
//! * **ro** ([`READ_ONLY`]): the object is read-only (literals); the VM's primitives refuse to
//!   change it. The collector copies the bit with the header.
//! * **as** ([`ASCII`]): a byte object whose bytes are all known to be ASCII (below 128), so
//!   that character indices are byte indices without a pass over the string. Set when a byte
//!   object is made from ASCII bytes (or zeros) and by [`crate::Heap::bytes_are_ascii`] after
//!   a pass; cleared by every way of writing raw contents ([`crate::Heap::bytes_mut`],
//!   `words_mut`, `copy_slots`). Clear means "not known", never "not ASCII".
//! * **format** ([`Format`]): how the slots are laid out and whether the collector scans them.
//! * **gc bits**: [`GC_FORWARDED`] marks a from-space header that the collector replaced by a
//!   forwarding word (see below); the other two are reserved for the generational collector
//!   (remembered) and pinning.
//! * **identity hash**: 0 until first asked for; then a nonzero 22-bit value that never changes,
//!   so hashes survive moves.
//! * **num slots**: the number of 64-bit slots after the header. The value 255
//!   ([`OVERFLOW_SLOTS`]) means "large object": the true count is in the *overflow word* that
//!   precedes the header, whose top byte is also 0xFF:
//!
//! ```text
//!   small object:  [header][slot 0]...[slot n-1]                 n < 255
//!   large object:  [0xFF | count (56 bits)][header, slots=255][slot 0]...[slot count-1]
//!                                          ^ the reference points here
//! ```
//!
//!   Walking a space from one object to the next, a word with top byte 0xFF at the start of an
//!   object is therefore always an overflow word (a header with 255 slots never starts one).
//!
//! * **forwarding word**: during a collection the header of a copied from-space object is
//!   overwritten with `(new_index << 32) | GC_FORWARDED`, where `new_index` is the word index
//!   of the copy's header in to-space. From-space is never walked linearly, so the slot count
//!   is not needed there any more.
//!
//! Byte-holding formats record how many bytes of the last slot are unused, so the exact byte
//! length is `8 * num_slots - unused`.

use std::fmt;

/// The slot-count value that means "the count is in the overflow word".
pub const OVERFLOW_SLOTS: usize = 255;
/// Largest identity hash (hashes are 1 ..= MAX_HASH).
pub const MAX_HASH: u32 = (1 << 22) - 1;
/// Largest class index.
pub const MAX_CLASS_INDEX: u32 = (1 << 22) - 1;
/// GC bit: this from-space header is a forwarding word.
pub const GC_FORWARDED: u64 = 1 << 29;
/// Header bit: the object is read-only.
pub const READ_ONLY: u64 = 1 << 22;
/// Header bit: the bytes of this byte object are all ASCII (see the module docs).
pub const ASCII: u64 = 1 << 23;

pub(crate) const CLASS_SHIFT: u32 = 0;
pub(crate) const CLASS_MASK: u64 = (1 << 22) - 1;
pub(crate) const FORMAT_SHIFT: u32 = 24;
pub(crate) const FORMAT_MASK: u64 = 0x1F;
const HASH_SHIFT: u32 = 32;
const HASH_MASK: u64 = (1 << 22) - 1;
pub(crate) const SLOTS_SHIFT: u32 = 56;
pub(crate) const OVERFLOW_COUNT_MASK: u64 = (1 << 56) - 1;

/// How an object's slots are laid out; decides what the collector scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Pointer slots, all named instance variables.
    Fixed,
    /// Pointer slots, all indexed (Array).
    Indexable,
    /// Pointer slots: the class's named instance variables, then indexed ones.
    FixedIndexable,
    /// Pointer slots that do not keep their referents alive: a slot whose referent dies is set
    /// to nil by the collector.
    Weak,
    /// Raw 64-bit words, never scanned.
    Words,
    /// Raw bytes, never scanned; `unused` bytes of the last slot are padding (0..=7).
    Bytes { unused: u8 },
    /// A compiled method: pointer slots, then raw bytes. Slot 0 is a SmallInteger whose value's
    /// low 16 bits count the pointer slots that follow it; the rest holds bytecodes, with
    /// `unused` bytes of padding in the last slot.
    CompiledMethod { unused: u8 },
}

impl Format {
    /// The 5-bit encoding.
    pub const fn bits(self) -> u8 {
        match self {
            Format::Fixed => 0,
            Format::Indexable => 1,
            Format::FixedIndexable => 2,
            Format::Weak => 3,
            Format::Words => 4,
            Format::Bytes { unused } => 8 | (unused & 7),
            Format::CompiledMethod { unused } => 16 | (unused & 7),
        }
    }

    /// Decodes the 5-bit encoding; `None` for reserved values.
    pub const fn from_bits(bits: u8) -> Option<Format> {
        Some(match bits {
            0 => Format::Fixed,
            1 => Format::Indexable,
            2 => Format::FixedIndexable,
            3 => Format::Weak,
            4 => Format::Words,
            8..=15 => Format::Bytes { unused: bits & 7 },
            16..=23 => Format::CompiledMethod { unused: bits & 7 },
            _ => return None,
        })
    }

    /// Whether every slot holds a tagged word (the collector may need to scan it).
    pub const fn is_pointers(self) -> bool {
        matches!(
            self,
            Format::Fixed | Format::Indexable | Format::FixedIndexable | Format::Weak
        )
    }

    /// Whether this is the byte-object format ([`Format::Bytes`]). A compiled method also holds
    /// bytes after its pointer slots but is not a byte object: this is false for it.
    pub const fn is_bytes(self) -> bool {
        matches!(self, Format::Bytes { .. })
    }

    /// Bytes of padding in the last slot, for byte-holding formats.
    pub const fn unused_bytes(self) -> usize {
        match self {
            Format::Bytes { unused } | Format::CompiledMethod { unused } => unused as usize,
            _ => 0,
        }
    }
}

/// An object header (see the module docs for the layout).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Header(u64);

/// A class's position in the class table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[repr(transparent)]
pub struct ClassIndex(pub u32);

impl Header {
    /// A header for a new object. `slots` may be any count; counts of 255 and more are stored
    /// as [`OVERFLOW_SLOTS`] (the caller writes the overflow word).
    ///
    /// # Panics
    /// If the class index is out of range (a VM bug).
    pub fn new(class: ClassIndex, format: Format, slots: usize) -> Header {
        assert!(class.0 <= MAX_CLASS_INDEX, "class index out of range");
        let slot_field = slots.min(OVERFLOW_SLOTS) as u64;
        Header(
            ((class.0 as u64) << CLASS_SHIFT)
                | ((format.bits() as u64) << FORMAT_SHIFT)
                | (slot_field << SLOTS_SHIFT),
        )
    }

    /// From raw bits (for images, the collector and the JIT).
    #[inline]
    pub const fn from_raw(bits: u64) -> Header {
        Header(bits)
    }

    /// Raw bits.
    #[inline]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The class index.
    #[inline]
    pub const fn class_index(self) -> ClassIndex {
        ClassIndex(((self.0 >> CLASS_SHIFT) & CLASS_MASK) as u32)
    }

    /// Same header with another class index (for `become`-like class changes).
    pub fn with_class_index(self, class: ClassIndex) -> Header {
        assert!(class.0 <= MAX_CLASS_INDEX, "class index out of range");
        Header((self.0 & !(CLASS_MASK << CLASS_SHIFT)) | ((class.0 as u64) << CLASS_SHIFT))
    }

    /// The format, or `None` if the bits are a reserved value (a corrupt header).
    #[inline]
    pub const fn format(self) -> Option<Format> {
        Format::from_bits(((self.0 >> FORMAT_SHIFT) & FORMAT_MASK) as u8)
    }

    /// The identity hash, 0 if none was assigned yet.
    #[inline]
    pub const fn hash(self) -> u32 {
        ((self.0 >> HASH_SHIFT) & HASH_MASK) as u32
    }

    /// Same header with the given identity hash.
    pub const fn with_hash(self, hash: u32) -> Header {
        Header((self.0 & !(HASH_MASK << HASH_SHIFT)) | (((hash as u64) & HASH_MASK) << HASH_SHIFT))
    }

    /// The slot-count field (255 means the count is in the overflow word).
    #[inline]
    pub const fn slot_field(self) -> usize {
        (self.0 >> SLOTS_SHIFT) as usize
    }

    /// Whether the object is read-only.
    #[inline]
    pub const fn is_read_only(self) -> bool {
        self.0 & READ_ONLY != 0
    }

    /// Same header, read-only or writable.
    pub const fn with_read_only(self, read_only: bool) -> Header {
        self.with_bit(READ_ONLY, read_only)
    }

    /// Same header with the flag `bit` set or cleared.
    const fn with_bit(self, bit: u64, on: bool) -> Header {
        if on {
            Header(self.0 | bit)
        } else {
            Header(self.0 & !bit)
        }
    }

    /// Whether the object's bytes are known to be ASCII.
    #[inline]
    pub const fn is_ascii(self) -> bool {
        self.0 & ASCII != 0
    }

    /// Same header, with the bytes known to be ASCII or not known.
    pub const fn with_ascii(self, ascii: bool) -> Header {
        self.with_bit(ASCII, ascii)
    }

    /// Whether this from-space header was replaced by a forwarding word.
    #[inline]
    pub const fn is_forwarded(self) -> bool {
        self.0 & GC_FORWARDED != 0
    }

    /// A forwarding word pointing at the header word `new_index` of to-space.
    pub const fn forwarding(new_index: usize) -> Header {
        Header(((new_index as u64) << 32) | GC_FORWARDED)
    }

    /// The to-space header index of a forwarding word.
    pub const fn forward_index(self) -> usize {
        (self.0 >> 32) as usize
    }
}

/// The overflow word of a large object holding `count` slots.
pub const fn overflow_word(count: usize) -> u64 {
    (0xFF << SLOTS_SHIFT) | (count as u64 & OVERFLOW_COUNT_MASK)
}

/// Whether `word`, found at the start of an object in a linear walk, is an overflow word.
pub const fn is_overflow_word(word: u64) -> bool {
    (word >> SLOTS_SHIFT) == 0xFF
}

/// The slot count stored in an overflow word.
pub const fn overflow_count(word: u64) -> usize {
    (word & OVERFLOW_COUNT_MASK) as usize
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_forwarded() {
            return write!(f, "Header(forwarded to word {})", self.forward_index());
        }
        f.debug_struct("Header")
            .field("class", &self.class_index().0)
            .field("format", &self.format())
            .field("hash", &self.hash())
            .field("slots", &self.slot_field())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FORMATS: [Format; 7] = [
        Format::Fixed,
        Format::Indexable,
        Format::FixedIndexable,
        Format::Weak,
        Format::Words,
        Format::Bytes { unused: 5 },
        Format::CompiledMethod { unused: 3 },
    ];

    #[test]
    fn fields_round_trip() {
        for format in ALL_FORMATS {
            for class in [1, 77, MAX_CLASS_INDEX] {
                for slots in [0, 1, 254, 255, 10_000] {
                    let h = Header::new(ClassIndex(class), format, slots).with_hash(MAX_HASH);
                    assert_eq!(h.class_index(), ClassIndex(class));
                    assert_eq!(h.format(), Some(format));
                    assert_eq!(h.hash(), MAX_HASH);
                    assert_eq!(h.slot_field(), slots.min(OVERFLOW_SLOTS));
                    assert!(!h.is_forwarded());
                    let h2 = h.with_hash(17).with_class_index(ClassIndex(3));
                    assert_eq!((h2.hash(), h2.class_index().0), (17, 3));
                    assert_eq!(h2.format(), Some(format));
                }
            }
        }
    }

    #[test]
    fn format_bits_round_trip_and_reserved_values() {
        for bits in 0u8..32 {
            match Format::from_bits(bits) {
                Some(f) => assert_eq!(f.bits(), bits),
                None => assert!(matches!(bits, 5..=7 | 24..=31)),
            }
        }
    }

    #[test]
    fn read_only_bit_is_independent() {
        let h = Header::new(
            ClassIndex(MAX_CLASS_INDEX),
            Format::Bytes { unused: 7 },
            254,
        )
        .with_hash(MAX_HASH);
        assert!(!h.is_read_only());
        let r = h.with_read_only(true);
        assert!(r.is_read_only());
        assert_eq!(r.class_index(), h.class_index());
        assert_eq!(r.format(), h.format());
        assert_eq!((r.hash(), r.slot_field()), (h.hash(), h.slot_field()));
        assert!(!r.is_forwarded());
        assert_eq!(r.with_read_only(false), h);
        assert!(
            Header::new(ClassIndex(0x3F_FFFF), Format::Fixed, 0)
                .with_class_index(ClassIndex(5))
                .with_read_only(true)
                .is_read_only()
        );
    }

    #[test]
    fn overflow_words() {
        let w = overflow_word(1 << 40);
        assert!(is_overflow_word(w));
        assert_eq!(overflow_count(w), 1 << 40);
        // An ordinary header with fewer than 255 slots is never mistaken for an overflow word.
        let h = Header::new(ClassIndex(MAX_CLASS_INDEX), Format::Weak, 254).with_hash(MAX_HASH);
        assert!(!is_overflow_word(h.raw()));
    }

    #[test]
    fn forwarding_words() {
        let f = Header::forwarding(123_456_789);
        assert!(f.is_forwarded());
        assert_eq!(f.forward_index(), 123_456_789);
        let h = Header::new(ClassIndex(MAX_CLASS_INDEX), Format::Fixed, 254).with_hash(MAX_HASH);
        assert!(!h.is_forwarded());
    }

    #[test]
    fn header_is_one_word() {
        assert_eq!(std::mem::size_of::<Header>(), 8);
        assert_eq!(std::mem::size_of::<crate::Word>(), 8);
    }
}
