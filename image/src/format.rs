//! The image file layout: one source of truth for the header and the sections.
//!
//! ```text
//!  offset size  field
//!     0    8    magic "SMALTIMG"
//!     8    4    format version (FORMAT_VERSION)
//!    12    1    word size in bytes (8)
//!    13    1    byte order: 1 little-endian, 2 big-endian (the saving machine's)
//!    14    2    flags: bit 0 = a run is suspended in saveImage: (the ACTIVE section is not empty)
//!    16    8    layout stamp: smalt_vm::snapshot::layout_stamp() of the saving build
//!    24    8    primitive stamp: smalt_vm::snapshot::primitive_stamp() of the saving build
//!    32    8    nil                     \
//!    40    8    true                     | references: byte offsets from the heap base
//!    48    8    false                    |
//!    56    8    special-objects Array   /
//!    64    8    used heap words (top)
//!    72    8    random generator state
//!    80    4    identity-hash generator state
//!    84    4    embedder tag (what the saving program was doing; 0 = nothing)
//!    88    4    number of sections (SECTIONS.len())
//!    92    4    CRC-32 of bytes 0 .. HEADER_BYTES, this field counted as zero
//!    96  6×24   section table, one entry per section in SECTIONS order:
//!                 kind u32 · CRC-32 of the section's bytes u32 · offset u64 · length u64
//!   240    8    zero
//!   248         the sections, each starting at a multiple of 8, back to back; the last one
//!               ends at the end of the file
//! ```
//!
//! Every integer is in the byte order of byte 13, which is the saving machine's: heap words
//! hold byte objects in host order within each word, so an image cannot be moved to a machine
//! of the other order without knowing every object's format; such a file is refused.
//!
//! | kind | section | contents |
//! |---|---|---|
//! | 1 | HEAP | `top` words: the heap after a full collection (word 0 reserved) |
//! | 2 | CLASSES | the class table, one word per index (0 = free) |
//! | 3 | STACK | the VM stack up to `sp`, return pcs in portable form |
//! | 4 | ACTIVE | empty, or the suspended run: fp u64, pc i64, stack limit u64, n u64, n raised limits u64 |
//! | 5 | FEEDBACK | per method with any: method u64, invocations u32, n u32, then n cells of send site u32, state u32, misses u32, 4 × class u32, 4 × method u64 |
//! | 6 | INDEX | empty, or the heap's methods, symbols and contexts in address order, each list a count u64 then its references u64 (what walking the heap finds: the default image loads from it without a walk; a file's index must agree with the walk) |

/// The first eight bytes of every image.
pub const MAGIC: [u8; 8] = *b"SMALTIMG";
/// The format this code writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// Bytes before the first section.
pub const HEADER_BYTES: usize = 248;
/// Offset of the section table.
pub const TABLE_OFFSET: usize = 96;
/// Bytes per section-table entry.
pub const ENTRY_BYTES: usize = 24;
/// Offset of the header's CRC-32.
pub const HEADER_CRC_OFFSET: usize = 92;

/// Flag: a run is suspended.
pub const FLAG_ACTIVE: u16 = 1;

/// Byte-order codes (byte 13).
pub const LITTLE_ENDIAN: u8 = 1;
/// See [`LITTLE_ENDIAN`].
pub const BIG_ENDIAN: u8 = 2;

/// This machine's byte-order code.
pub const HOST_ORDER: u8 = if cfg!(target_endian = "little") {
    LITTLE_ENDIAN
} else {
    BIG_ENDIAN
};

/// Section kinds, in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Section {
    /// The heap words.
    Heap = 1,
    /// The class table.
    Classes = 2,
    /// The VM stack.
    Stack = 3,
    /// The suspended run.
    Active = 4,
    /// Type feedback.
    Feedback = 5,
    /// Where the methods, symbols and contexts are.
    Index = 6,
}

/// Every section, in file order.
pub const SECTIONS: [Section; 6] = [
    Section::Heap,
    Section::Classes,
    Section::Stack,
    Section::Active,
    Section::Feedback,
    Section::Index,
];

impl Section {
    /// The section's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Section::Heap => "heap",
            Section::Classes => "class table",
            Section::Stack => "stack",
            Section::Active => "suspended run",
            Section::Feedback => "type feedback",
            Section::Index => "heap index",
        }
    }
}

/// One section-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The section kind (a [`Section`] discriminant in a valid file).
    pub kind: u32,
    /// CRC-32 of the section's bytes.
    pub crc: u32,
    /// Offset from the start of the file.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// The decoded header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Flags ([`FLAG_ACTIVE`]).
    pub flags: u16,
    /// Layout stamp of the saving build.
    pub layout_stamp: u64,
    /// Primitive stamp of the saving build.
    pub primitive_stamp: u64,
    /// nil, true, false, specials.
    pub roots: [u64; 4],
    /// Used heap words.
    pub top: u64,
    /// Random generator state.
    pub rng: u64,
    /// Identity-hash generator state.
    pub hash_state: u32,
    /// The embedder's tag.
    pub tag: u32,
    /// The section table.
    pub sections: Vec<Entry>,
}

/// Little helpers to put and get integers in host order.
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_ne_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(b[at..at + 2].try_into().expect("two bytes"))
}
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("four bytes"))
}
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

impl Header {
    /// The header's bytes, CRC included.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut b = [0u8; HEADER_BYTES];
        b[0..8].copy_from_slice(&MAGIC);
        put_u32(&mut b, 8, self.version);
        b[12] = 8;
        b[13] = HOST_ORDER;
        put_u16(&mut b, 14, self.flags);
        put_u64(&mut b, 16, self.layout_stamp);
        put_u64(&mut b, 24, self.primitive_stamp);
        for (i, r) in self.roots.iter().enumerate() {
            put_u64(&mut b, 32 + 8 * i, *r);
        }
        put_u64(&mut b, 64, self.top);
        put_u64(&mut b, 72, self.rng);
        put_u32(&mut b, 80, self.hash_state);
        put_u32(&mut b, 84, self.tag);
        put_u32(&mut b, 88, self.sections.len() as u32);
        for (i, e) in self.sections.iter().enumerate() {
            let at = TABLE_OFFSET + i * ENTRY_BYTES;
            put_u32(&mut b, at, e.kind);
            put_u32(&mut b, at + 4, e.crc);
            put_u64(&mut b, at + 8, e.offset);
            put_u64(&mut b, at + 16, e.length);
        }
        let crc = header_crc(&b);
        put_u32(&mut b, HEADER_CRC_OFFSET, crc);
        b
    }
}

/// The CRC-32 of a header, its own field counted as zero.
pub fn header_crc(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..HEADER_CRC_OFFSET]);
    h.update(&[0; 4]);
    h.update(&b[HEADER_CRC_OFFSET + 4..HEADER_BYTES]);
    h.finalize()
}
