//! The heap: one space of words, bump allocation, object accessors, the class table and handles.
//!
//! # Invariants
//!
//! * `space[0]` is reserved: no object starts there, so no reference is 0.
//! * Objects lie back to back in `space[1 .. top]`, each as an optional overflow word, a header
//!   and its slots (see [`crate::header`]). Words past `top` are free.
//! * Every pointer slot (and every root) holds an immediate, [`Word::INVALID`] (only before the
//!   VM made nil), or a reference to the header of an object in `1 .. top`.
//! * Allocation never collects. When the space is full it returns [`AllocError::Exhausted`];
//!   the VM reaches a safepoint, calls [`Heap::collect`] with its roots, and retries.
//! * Allocation stops [`HeapConfig::reserve_bytes`] short of the end of the space: that
//!   *reserve* is kept for handling running out of memory. The VM releases it
//!   ([`Heap::release_reserve`]) when a collection cannot make room, so that the code that
//!   signals and handles the OutOfMemory error has memory to run in, and re-arms it
//!   ([`Heap::rearm_reserve`]) once collections free enough again.
//!
//! * The space never holds more than [`MAX_SPACE_BYTES`] (2³² words): a forwarding word keeps
//!   the copy's header index in 32 bits.
//!
//! References are byte offsets into `space` (a `Vec<u64>`), so every access is a bounds-checked
//! index: the object memory needs no unsafe code. Growing the space is `Vec::resize`, which
//! keeps every reference valid. Every growth is reserved with `try_reserve_exact` first, so a
//! host that cannot give the memory yields [`AllocError::OutOfMemory`], never an abort.

use crate::class_table::ClassTable;
use crate::header::{
    ClassIndex, Format, Header, MAX_HASH, OVERFLOW_SLOTS, is_overflow_word, overflow_count,
    overflow_word,
};
use crate::word::{Oop, Word};
use std::time::Duration;

/// Largest object space in bytes: 2³² words. A forwarding word holds the index of the copy's
/// header in 32 bits (see [`Header::forwarding`]), so no space can be larger.
pub const MAX_SPACE_BYTES: usize = 8 << 32;
/// Largest number of slots an object can have: what fits in the largest space with its header
/// and overflow word. Larger requests fail with [`AllocError::TooLarge`].
pub const MAX_OBJECT_SLOTS: usize = MAX_SPACE_WORDS - 3;

const WORD: usize = 8;
const MAX_SPACE_WORDS: usize = MAX_SPACE_BYTES / WORD;
/// Smallest object space in words, whatever the configuration says.
const MIN_SPACE_WORDS: usize = 1024;

/// Sizes and policy of the heap.
#[derive(Clone, Debug)]
pub struct HeapConfig {
    /// Initial size of the object space in bytes (at least 8 KiB; at most [`MAX_SPACE_BYTES`]).
    /// If it is larger than `max_bytes`, it is the limit instead.
    pub initial_bytes: usize,
    /// Largest size the object space may grow to, in bytes (capped at [`MAX_SPACE_BYTES`]).
    /// The collector needs a second space of the same size while it runs, so the process may
    /// hold up to twice this much.
    pub max_bytes: usize,
    /// After a collection, the space grows when live data exceeds this percentage of it.
    pub grow_percent: usize,
    /// Bytes at the end of the space that allocation leaves free until the reserve is released
    /// (at most an eighth of the space). 0 in the plain collector; the VM keeps a reserve to
    /// signal and handle OutOfMemory errors.
    pub reserve_bytes: usize,
}

impl Default for HeapConfig {
    fn default() -> Self {
        HeapConfig {
            initial_bytes: 8 << 20,
            max_bytes: 4 << 30,
            grow_percent: 50,
            reserve_bytes: 0,
        }
    }
}

impl HeapConfig {
    /// The size in words of the space for an image of `top` used words: the initial size, or
    /// half as much again as the image when that is more (room to allocate before the first
    /// collection), within the limits.
    pub fn image_space_words(&self, top: usize) -> usize {
        let max_words = (self.max_bytes / WORD).clamp(MIN_SPACE_WORDS, MAX_SPACE_WORDS);
        (self.initial_bytes / WORD)
            .max(top.saturating_add(top / 2))
            .clamp(MIN_SPACE_WORDS, max_words)
            .max(top)
    }
}

/// Why an allocation or collection failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// The space is full: collect at a safepoint and retry.
    #[error("the object space is full")]
    Exhausted,
    /// Even after a collection and growing to the configured maximum the request does not fit,
    /// or the host refused the memory. `alloc` returns it at once for a request larger than
    /// the maximum heap; `collect` returns it when live data plus the request exceed it.
    #[error("out of memory: {requested} bytes requested, heap limit {limit} bytes")]
    OutOfMemory { requested: usize, limit: usize },
    /// The request is larger than any object can be ([`MAX_OBJECT_SLOTS`]).
    #[error("object too large: {slots} slots")]
    TooLarge { slots: usize },
}

/// Counters kept by the heap, readable at any time.
#[derive(Clone, Debug, Default)]
pub struct GcStats {
    /// Number of collections so far.
    pub collections: u64,
    /// Total time spent collecting.
    pub total_time: Duration,
    /// Bytes copied by all collections.
    pub bytes_copied: u64,
    /// Live bytes after the last collection.
    pub live_bytes_after_last: usize,
    /// Bytes allocated since the heap was made (including the copies' originals).
    pub bytes_allocated: u64,
}

/// A position on the handle stack, returned by [`Heap::handle_mark`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleMark(usize);

/// A handle: a root slot on the handle stack that Rust code uses to keep an object across a
/// safepoint. Read it back with [`Heap::handle`] after the collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(usize);

/// The object memory.
#[derive(Debug)]
pub struct Heap {
    pub(crate) space: Vec<u64>,
    /// Spare space for the next collection's to-space (empty until the first collection).
    pub(crate) spare: Vec<u64>,
    pub(crate) top: usize,
    pub(crate) config: HeapConfig,
    pub(crate) nil: Word,
    pub(crate) classes: ClassTable,
    pub(crate) handles: Vec<Word>,
    pub(crate) stats: GcStats,
    /// Whether the reserve at the end of the space may be allocated from.
    pub(crate) reserve_released: bool,
    /// Collect at every n-th safepoint query (0 = off).
    pub(crate) stress_interval: u32,
    pub(crate) stress_counter: u32,
    hash_state: u32,
    /// The word index allocation from native code and [`Heap::alloc_fast`] may not pass:
    /// [`Heap::alloc_end`] less the two words of headroom the VM's `reserve` keeps, or 0
    /// under GC stress (so that every allocation takes the path that may collect). Kept
    /// current by everything that changes the space, the reserve or stress mode
    /// ([`Heap::update_native_limit`]); native code reads it (`layout::HEAP_NATIVE_LIMIT`).
    pub(crate) native_limit: usize,
}

impl Heap {
    /// An empty heap.
    ///
    /// # Panics
    /// If the host cannot give the initial space; use [`Heap::try_new`] for a size that comes
    /// from the user.
    pub fn new(config: HeapConfig) -> Heap {
        Heap::try_new(config).unwrap_or_else(|e| panic!("cannot make the initial heap: {e}"))
    }

    /// A heap holding the objects of a saved image. `space[..top]` are the used words of a
    /// space (word 0 reserved) as [`Heap::image_words`] gave them, and the rest of `space` is
    /// zero; `classes` is the class table by index ([`Word::INVALID`] for a free index) and
    /// `hash_state` the identity-hash generator's state. If `space` is shorter than
    /// [`HeapConfig::image_space_words`] asks, a larger zeroed space is made and the words are
    /// copied into it; a loader that reads the words straight into a space of that size
    /// (zeroed memory, mapped lazily) saves the copy.
    ///
    /// Nothing is checked: the caller (the image loader) checks the words' structure, or runs
    /// [`Heap::verify`] before trusting them. Returns [`AllocError::OutOfMemory`] if the words
    /// exceed the configured maximum or the host refuses the memory.
    ///
    /// # Panics
    /// If `top` is 0 or exceeds `space.len()`.
    pub fn from_image(
        config: HeapConfig,
        mut space: Vec<u64>,
        top: usize,
        classes: Vec<Word>,
        nil: Word,
        hash_state: u32,
    ) -> Result<Heap, AllocError> {
        assert!(top >= 1 && top <= space.len(), "bad image top {top}");
        let max_words = (config.max_bytes / WORD).clamp(MIN_SPACE_WORDS, MAX_SPACE_WORDS);
        let oom = || AllocError::OutOfMemory {
            requested: top * WORD,
            limit: max_words * WORD,
        };
        if top > max_words {
            return Err(oom());
        }
        let want = config.image_space_words(top);
        if space.len() < want {
            let mut bigger =
                bytemuck::allocation::try_zeroed_vec::<u64>(want).map_err(|_| oom())?;
            bigger[..top].copy_from_slice(&space[..top]);
            space = bigger;
        }
        Ok(Heap {
            space,
            spare: Vec::new(),
            top,
            config,
            nil,
            classes: ClassTable { entries: classes },
            handles: Vec::new(),
            stats: GcStats::default(),
            stress_interval: 0,
            stress_counter: 0,
            hash_state: hash_state.max(1),
            reserve_released: false,
            native_limit: 0,
        }
        .with_native_limit())
    }

    /// The used words of the space, `0 .. top` (word 0 reserved): what an image saves, after a
    /// full collection so that they hold live objects only.
    pub fn image_words(&self) -> &[u64] {
        &self.space[..self.top]
    }

    /// The used words of the space, mutably (the image loader fixes up method headers).
    pub fn image_words_mut(&mut self) -> &mut [u64] {
        &mut self.space[..self.top]
    }

    /// The state of the identity-hash generator (saved in images, so a resumed image goes on
    /// drawing the same sequence).
    pub fn hash_state(&self) -> u32 {
        self.hash_state
    }

    /// An empty heap, or [`AllocError::OutOfMemory`] if the host cannot give the initial space.
    pub fn try_new(config: HeapConfig) -> Result<Heap, AllocError> {
        let words = (config.initial_bytes / WORD).clamp(MIN_SPACE_WORDS, MAX_SPACE_WORDS);
        // Zeroed memory from the allocator: the pages are mapped when first touched.
        let space = bytemuck::allocation::try_zeroed_vec::<u64>(words).map_err(|_| {
            AllocError::OutOfMemory {
                requested: words * WORD,
                limit: config.max_bytes,
            }
        })?;
        Ok(Heap {
            space,
            spare: Vec::new(),
            top: 1,
            config,
            nil: Word::INVALID,
            classes: ClassTable::default(),
            handles: Vec::new(),
            stats: GcStats::default(),
            reserve_released: false,
            stress_interval: 0,
            stress_counter: 0,
            hash_state: 0x2545_F491,
            native_limit: 0,
        }
        .with_native_limit())
    }

    /// Sets the value new pointer slots are filled with (the VM's nil), and makes it a root.
    pub fn set_nil(&mut self, nil: Word) {
        self.nil = nil;
    }

    /// The nil word set with [`Heap::set_nil`].
    #[inline]
    pub fn nil(&self) -> Word {
        self.nil
    }

    /// Address of word 0 of the space: an [`Oop`] is a byte offset from here (for compiled
    /// code). It changes when a collection copies the objects into another space or grows it.
    pub fn base_address(&self) -> usize {
        self.space.as_ptr() as usize
    }

    /// The class table.
    pub fn classes(&self) -> &ClassTable {
        &self.classes
    }

    /// The class table, mutably (registering classes).
    pub fn classes_mut(&mut self) -> &mut ClassTable {
        &mut self.classes
    }

    /// Heap counters.
    pub fn stats(&self) -> &GcStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &HeapConfig {
        &self.config
    }

    /// Bytes in use by objects.
    pub fn used_bytes(&self) -> usize {
        self.top * WORD
    }

    /// Current size of the object space in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.space.len() * WORD
    }

    /// The largest size the space may grow to, in words: the configured maximum, capped at
    /// [`MAX_SPACE_BYTES`], and never below the current size.
    pub(crate) fn max_words(&self) -> usize {
        (self.config.max_bytes / WORD)
            .min(MAX_SPACE_WORDS)
            .max(self.space.len())
    }

    /// The reserve in words: as configured, but at most an eighth of the largest space.
    pub(crate) fn reserve_words(&self) -> usize {
        (self.config.reserve_bytes / WORD).min(self.max_words() / 8)
    }

    /// Where allocation stops: the end of the space, less the reserve unless it is released.
    #[inline]
    pub(crate) fn alloc_end(&self) -> usize {
        if self.reserve_released {
            self.space.len()
        } else {
            self.space.len() - self.reserve_words().min(self.space.len() / 2)
        }
    }

    /// The largest the allocated part of the space can become: the maximum size, less the
    /// reserve unless it is released.
    pub(crate) fn max_alloc_words(&self) -> usize {
        if self.reserve_released {
            self.max_words()
        } else {
            self.max_words() - self.reserve_words()
        }
    }

    /// The size of the reserve in bytes (see [`HeapConfig::reserve_bytes`]).
    pub fn reserve_bytes(&self) -> usize {
        self.reserve_words() * WORD
    }

    /// Whether the space is as large as it may become.
    pub fn at_max_size(&self) -> bool {
        self.space.len() >= self.max_words()
    }

    /// Words that can be allocated now without a collection.
    pub fn free_words(&self) -> usize {
        self.alloc_end().saturating_sub(self.top)
    }

    /// The most bytes live data may take before the heap is full: the limit less the reserve.
    pub fn usable_bytes(&self) -> usize {
        (self.max_words() - self.reserve_words()) * WORD
    }

    // ---- the reserve ---------------------------------------------------------------------

    /// Lets allocation use the reserve at the end of the space (the VM does this when a
    /// collection could not make room, to signal OutOfMemory).
    pub fn release_reserve(&mut self) {
        self.reserve_released = true;
        self.update_native_limit();
    }

    /// Recomputes [`Heap::native_limit`] after the space, the reserve or stress mode changed.
    pub(crate) fn update_native_limit(&mut self) {
        self.native_limit = if self.stress_interval != 0 {
            0
        } else {
            self.alloc_end().saturating_sub(2)
        };
    }

    fn with_native_limit(mut self) -> Heap {
        self.update_native_limit();
        self
    }

    /// The limit native allocation checks against (see the field); for tests.
    pub fn native_limit(&self) -> usize {
        self.native_limit
    }

    /// Whether the reserve is released (an out-of-memory condition is being handled).
    pub fn reserve_released(&self) -> bool {
        self.reserve_released
    }

    /// Keeps the reserve free again, if the allocated part of the space ends before it.
    /// Answers whether the reserve is now kept.
    pub fn rearm_reserve(&mut self) -> bool {
        if self.reserve_released {
            let end = self.space.len() - self.reserve_words().min(self.space.len() / 2);
            if self.top <= end {
                self.reserve_released = false;
                self.update_native_limit();
            }
        }
        !self.reserve_released
    }

    // ---- allocation ------------------------------------------------------------------------

    /// Allocates an object of `slots` slots, filling pointer slots with nil and others with 0.
    ///
    /// For byte formats use [`Heap::alloc_bytes`], which computes the slot count and padding,
    /// and for compiled methods [`Heap::alloc_method`], which writes slot 0.
    ///
    /// # Panics
    /// If a byte format asks for padding in an object without slots (a VM bug).
    pub fn alloc(
        &mut self,
        class: ClassIndex,
        format: Format,
        slots: usize,
    ) -> Result<Oop, AllocError> {
        assert!(
            slots > 0 || format.unused_bytes() == 0,
            "{format:?} with padding needs at least one slot"
        );
        let fill = self.fill_for(format);
        self.alloc_raw(class, format, slots, fill)
    }

    /// The common case of [`Heap::alloc`], inline for the VM's allocation path: an object of
    /// fewer than [`OVERFLOW_SLOTS`] − 2 slots without padding, with GC stress off and at least
    /// two words to spare after it (as much as the VM's `reserve` asks before it allocates
    /// without a collection), made exactly as [`Heap::alloc`] makes it. `None` otherwise: the
    /// caller then takes the ordinary path (which may collect).
    #[inline]
    pub fn alloc_fast(&mut self, class: ClassIndex, format: Format, slots: usize) -> Option<Oop> {
        if slots >= OVERFLOW_SLOTS - 2 || format.unused_bytes() != 0 {
            return None;
        }
        let start = self.top;
        let end = start + slots + 1;
        // (0 under stress.)
        if end > self.native_limit {
            return None;
        }
        let fill = self.fill_for(format);
        Some(self.place(start, end, class, format, slots, fill))
    }

    /// What the slots of a new object of `format` hold: nil for pointers, 0 otherwise.
    #[inline]
    fn fill_for(&self, format: Format) -> u64 {
        if format.is_pointers() {
            self.nil.raw()
        } else {
            0
        }
    }

    /// Makes an object in the free words from `top` to `end`: its header at word `h` (after
    /// its overflow word, if it has one), its slots filled with `fill`; moves `top` to `end`.
    /// The part every allocation path shares once it knows the object fits.
    #[inline]
    fn place(
        &mut self,
        h: usize,
        end: usize,
        class: ClassIndex,
        format: Format,
        slots: usize,
        fill: u64,
    ) -> Oop {
        self.space[h] = Header::new(class, format, slots).raw();
        self.space[h + 1..end].fill(fill);
        self.stats.bytes_allocated += ((end - self.top) * WORD) as u64;
        self.top = end;
        Oop::from_index(h)
    }

    /// Allocates a byte object holding `len` zero bytes.
    pub fn alloc_bytes(&mut self, class: ClassIndex, len: usize) -> Result<Oop, AllocError> {
        let slots = len.div_ceil(WORD);
        if slots > MAX_OBJECT_SLOTS {
            return Err(AllocError::TooLarge { slots });
        }
        let unused = (slots * WORD - len) as u8;
        let oop = self.alloc_raw(class, Format::Bytes { unused }, slots, 0)?;
        // Zeros are ASCII.
        self.set_ascii(oop, true);
        Ok(oop)
    }

    /// Allocates a byte object holding a copy of `bytes`.
    pub fn alloc_bytes_from(&mut self, class: ClassIndex, bytes: &[u8]) -> Result<Oop, AllocError> {
        let oop = self.alloc_bytes(class, bytes.len())?;
        self.write_bytes(oop, 0, bytes);
        Ok(oop)
    }

    /// Allocates a compiled method with `pointers` pointer slots (slot 0 included, filled with
    /// nil) followed by `code_len` zero bytes. The caller must store the SmallInteger header in
    /// slot 0 whose low 16 bits say `pointers - 1` before the next collection.
    pub fn alloc_method(
        &mut self,
        class: ClassIndex,
        pointers: usize,
        code_len: usize,
    ) -> Result<Oop, AllocError> {
        assert!(
            (1..=0x1_0000).contains(&pointers),
            "bad pointer count {pointers}"
        );
        let code_slots = code_len.div_ceil(WORD);
        if pointers + code_slots > MAX_OBJECT_SLOTS {
            return Err(AllocError::TooLarge {
                slots: pointers + code_slots,
            });
        }
        let unused = (code_slots * WORD - code_len) as u8;
        let oop = self.alloc_raw(
            class,
            Format::CompiledMethod { unused },
            pointers + code_slots,
            0,
        )?;
        let nil = self.nil.raw();
        let i = oop.index();
        self.space[i + 1..i + 1 + pointers].fill(nil);
        self.space[i + 1] = Word::small_int((pointers - 1) as i64).raw();
        Ok(oop)
    }

    fn alloc_raw(
        &mut self,
        class: ClassIndex,
        format: Format,
        slots: usize,
        fill: u64,
    ) -> Result<Oop, AllocError> {
        if slots > MAX_OBJECT_SLOTS {
            return Err(AllocError::TooLarge { slots });
        }
        let total = object_words(slots);
        if self.alloc_end().saturating_sub(self.top) < total {
            return Err(self.alloc_failed(total));
        }
        let start = self.top;
        let h = if slots >= OVERFLOW_SLOTS {
            self.space[start] = overflow_word(slots);
            start + 1
        } else {
            start
        };
        Ok(self.place(h, start + total, class, format, slots, fill))
    }

    /// Why an allocation of `total` words does not fit: [`AllocError::Exhausted`] if a
    /// collection might make room, [`AllocError::OutOfMemory`] if even an empty space at its
    /// maximum size (less the reserve) could not hold it (so collecting would be wasted work).
    #[cold]
    fn alloc_failed(&self, total: usize) -> AllocError {
        // Word 0 of every space is reserved.
        if total > self.max_alloc_words() - 1 {
            AllocError::OutOfMemory {
                requested: total * WORD,
                limit: self.max_words() * WORD,
            }
        } else {
            AllocError::Exhausted
        }
    }

    /// Whether an allocation of `slots` slots would succeed now without a collection.
    pub fn can_allocate(&self, slots: usize) -> bool {
        slots <= MAX_OBJECT_SLOTS && self.free_words() >= object_words(slots)
    }

    // ---- safepoints and GC stress ------------------------------------------------------------

    /// Asks the collector to collect at every `interval`-th call of [`Heap::stress_due`]
    /// (1 = every time); 0 turns stress mode off.
    pub fn set_stress(&mut self, interval: u32) {
        self.stress_interval = interval;
        self.stress_counter = 0;
        self.update_native_limit();
    }

    /// Whether GC stress mode is on.
    pub fn stress(&self) -> bool {
        self.stress_interval != 0
    }

    /// Called by the VM at each safepoint: true when stress mode wants a collection now.
    #[inline]
    pub fn stress_due(&mut self) -> bool {
        if self.stress_interval == 0 {
            return false;
        }
        self.stress_counter += 1;
        if self.stress_counter >= self.stress_interval {
            self.stress_counter = 0;
            true
        } else {
            false
        }
    }

    // ---- headers and classes -----------------------------------------------------------------

    /// The header of an object.
    #[inline]
    #[track_caller]
    pub fn header(&self, oop: Oop) -> Header {
        Header::from_raw(self.space[oop.index()])
    }

    #[inline]
    pub(crate) fn set_header(&mut self, oop: Oop, h: Header) {
        self.space[oop.index()] = h.raw();
    }

    /// The class index of any word: fixed indices for immediates, the header's for objects.
    #[inline]
    pub fn class_index_of(&self, w: Word) -> ClassIndex {
        if w.is_small_int() {
            crate::SMALL_INTEGER_CLASS
        } else if w.is_oop() {
            self.header(w.oop()).class_index()
        } else if w.is_character() {
            crate::CHARACTER_CLASS
        } else {
            crate::SMALL_FLOAT_CLASS
        }
    }

    /// Changes the class of an object (same format), e.g. for `changeClassTo:`.
    pub fn set_class_index(&mut self, oop: Oop, class: ClassIndex) {
        let h = self.header(oop).with_class_index(class);
        self.set_header(oop, h);
    }

    /// Whether an object is read-only (the VM's primitives refuse to change it).
    #[inline]
    pub fn is_read_only(&self, oop: Oop) -> bool {
        self.header(oop).is_read_only()
    }

    /// Makes an object read-only or writable.
    pub fn set_read_only(&mut self, oop: Oop, read_only: bool) {
        let h = self.header(oop).with_read_only(read_only);
        self.set_header(oop, h);
    }

    /// The format of an object.
    #[inline]
    #[track_caller]
    pub fn format(&self, oop: Oop) -> Format {
        self.header(oop)
            .format()
            .expect("corrupt header: reserved format")
    }

    /// The number of 64-bit slots of an object.
    #[inline]
    pub fn num_slots(&self, oop: Oop) -> usize {
        let i = oop.index();
        let n = Header::from_raw(self.space[i]).slot_field();
        if n == OVERFLOW_SLOTS {
            overflow_count(self.space[i - 1])
        } else {
            n
        }
    }

    /// The identity hash of an object: assigned on first request, then fixed for its life.
    pub fn identity_hash(&mut self, oop: Oop) -> u32 {
        let h = self.header(oop);
        if h.hash() != 0 {
            return h.hash();
        }
        // xorshift32, folded into 1 ..= MAX_HASH.
        let mut x = self.hash_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.hash_state = x;
        let hash = (x % MAX_HASH) + 1;
        self.set_header(oop, h.with_hash(hash));
        hash
    }

    /// The identity hash if one was already assigned (0 otherwise); never writes.
    pub fn peek_identity_hash(&self, oop: Oop) -> u32 {
        self.header(oop).hash()
    }

    // ---- pointer slots -----------------------------------------------------------------------

    /// Slot `i` of a pointer object (or of a compiled method's pointer part).
    ///
    /// # Panics
    /// In debug builds, if `i` is out of range: the caller validates user-supplied indices
    /// first. Release builds only check that the word lies inside the space (no undefined
    /// behaviour, but a wrong index reads a neighbouring object).
    #[inline]
    #[track_caller]
    pub fn slot(&self, oop: Oop, i: usize) -> Word {
        debug_assert!(i < self.num_slots(oop), "slot {i} out of range");
        Word::from_raw(self.space[oop.index() + 1 + i])
    }

    /// Stores into slot `i` of a pointer object.
    ///
    /// # Panics
    /// In debug builds, if `i` is out of range. Release builds only check that the word lies
    /// inside the space (no undefined behaviour, but a wrong index corrupts a neighbour).
    #[inline]
    #[track_caller]
    pub fn set_slot(&mut self, oop: Oop, i: usize, w: Word) {
        debug_assert!(i < self.num_slots(oop), "slot {i} out of range");
        self.space[oop.index() + 1 + i] = w.raw();
    }

    /// Slot `i` of the object `w` refers to, for a word the caller knows is a reference (the
    /// interpreter's receiver or method): [`Heap::slot`] without the tag test of
    /// [`Word::oop`]. Checked in debug builds; in release builds a word that is not a reference
    /// reads some word of the space (bounds-checked: never undefined behaviour).
    #[inline]
    #[track_caller]
    pub fn slot_of(&self, w: Word, i: usize) -> Word {
        debug_assert!(w.as_oop().is_some(), "slot_of {w:?}");
        Word::from_raw(self.space[(w.raw() >> 3) as usize + 1 + i])
    }

    /// Stores into slot `i` of the object `w` refers to: [`Heap::set_slot`] for a word the
    /// caller knows is a reference (see [`Heap::slot_of`]).
    #[inline]
    #[track_caller]
    pub fn set_slot_of(&mut self, w: Word, i: usize, v: Word) {
        debug_assert!(w.as_oop().is_some(), "set_slot_of {w:?}");
        self.space[(w.raw() >> 3) as usize + 1 + i] = v.raw();
    }

    /// The header of the object `w` refers to, for a word the caller knows is a reference (see
    /// [`Heap::slot_of`]).
    #[inline]
    #[track_caller]
    pub fn header_of(&self, w: Word) -> Header {
        debug_assert!(w.as_oop().is_some(), "header_of {w:?}");
        Header::from_raw(self.space[(w.raw() >> 3) as usize])
    }

    /// Slot `i` if it exists.
    pub fn try_slot(&self, oop: Oop, i: usize) -> Option<Word> {
        (i < self.num_slots(oop)).then(|| self.slot(oop, i))
    }

    /// All slots of an object as words (pointer objects).
    pub fn slots(&self, oop: Oop) -> &[u64] {
        let i = oop.index() + 1;
        &self.space[i..i + self.num_slots(oop)]
    }

    /// Copies `n` slots from one object to another (`n` within both).
    pub fn copy_slots(&mut self, from: Oop, from_start: usize, to: Oop, to_start: usize, n: usize) {
        assert!(from_start + n <= self.num_slots(from) && to_start + n <= self.num_slots(to));
        let (f, t) = (from.index() + 1 + from_start, to.index() + 1 + to_start);
        self.space.copy_within(f..f + n, t);
        self.set_ascii(to, false);
    }

    // ---- byte and word objects ---------------------------------------------------------------

    /// The bytes of a byte object.
    pub fn bytes(&self, oop: Oop) -> &[u8] {
        let fmt = self.format(oop);
        let i = oop.index() + 1;
        let words = &self.space[i..i + self.num_slots(oop)];
        let bytes: &[u8] = bytemuck::cast_slice(words);
        &bytes[..bytes.len() - fmt.unused_bytes()]
    }

    /// The bytes of a byte object, mutably. They are no longer known to be ASCII (see
    /// [`Heap::bytes_are_ascii`]).
    pub fn bytes_mut(&mut self, oop: Oop) -> &mut [u8] {
        self.set_ascii(oop, false);
        let fmt = self.format(oop);
        let n = self.num_slots(oop);
        let i = oop.index() + 1;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.space[i..i + n]);
        let len = bytes.len() - fmt.unused_bytes();
        &mut bytes[..len]
    }

    /// Whether every byte of a byte object is ASCII: answered from the header bit when it is
    /// known, otherwise by one pass over the bytes, whose answer the bit then keeps until the
    /// bytes are next written.
    pub fn bytes_are_ascii(&mut self, oop: Oop) -> bool {
        if self.header(oop).is_ascii() {
            return true;
        }
        let ascii = self.bytes(oop).is_ascii();
        if ascii {
            self.set_ascii(oop, true);
        }
        ascii
    }

    /// Overwrites the bytes `at .. at + src.len()` of a byte object with `src`; what was known
    /// of its bytes being ASCII stays known if `src` is ASCII.
    pub fn write_bytes(&mut self, oop: Oop, at: usize, src: &[u8]) {
        let keep = self.header(oop).is_ascii() && src.is_ascii();
        self.bytes_mut(oop)[at..at + src.len()].copy_from_slice(src);
        if keep {
            self.set_ascii(oop, true);
        }
    }

    /// Records whether an object's bytes are known to be ASCII.
    #[inline]
    fn set_ascii(&mut self, oop: Oop, ascii: bool) {
        let h = self.header(oop);
        if h.is_ascii() != ascii {
            self.set_header(oop, h.with_ascii(ascii));
        }
    }

    /// The number of bytes of a byte object.
    pub fn byte_len(&self, oop: Oop) -> usize {
        self.num_slots(oop) * WORD - self.format(oop).unused_bytes()
    }

    /// The raw words of a word object.
    pub fn words(&self, oop: Oop) -> &[u64] {
        let i = oop.index() + 1;
        &self.space[i..i + self.num_slots(oop)]
    }

    /// The raw words of a word object, mutably.
    pub fn words_mut(&mut self, oop: Oop) -> &mut [u64] {
        self.set_ascii(oop, false);
        let n = self.num_slots(oop);
        let i = oop.index() + 1;
        &mut self.space[i..i + n]
    }

    /// The number of pointer slots of a compiled method (slot 0 included).
    pub fn method_pointer_slots(&self, oop: Oop) -> usize {
        method_pointer_slots(self.space[oop.index() + 1])
    }

    /// The bytecodes of a compiled method.
    pub fn method_bytes(&self, oop: Oop) -> &[u8] {
        let fmt = self.format(oop);
        let p = self.method_pointer_slots(oop);
        let i = oop.index() + 1 + p;
        let n = self.num_slots(oop) - p;
        let bytes: &[u8] = bytemuck::cast_slice(&self.space[i..i + n]);
        &bytes[..bytes.len() - fmt.unused_bytes()]
    }

    /// The bytecodes of a compiled method, mutably.
    pub fn method_bytes_mut(&mut self, oop: Oop) -> &mut [u8] {
        let fmt = self.format(oop);
        let p = self.method_pointer_slots(oop);
        let i = oop.index() + 1 + p;
        let n = self.num_slots(oop) - p;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.space[i..i + n]);
        let len = bytes.len() - fmt.unused_bytes();
        &mut bytes[..len]
    }

    // ---- handles ---------------------------------------------------------------------------

    /// The current top of the handle stack; pass it to [`Heap::release_handles`].
    pub fn handle_mark(&self) -> HandleMark {
        HandleMark(self.handles.len())
    }

    /// Pushes `w` on the handle stack, so it survives (and is updated by) collections.
    pub fn push_handle(&mut self, w: Word) -> Handle {
        self.handles.push(w);
        Handle(self.handles.len() - 1)
    }

    /// The current value of a handle.
    #[inline]
    pub fn handle(&self, h: Handle) -> Word {
        self.handles[h.0]
    }

    /// Replaces the value of a handle.
    pub fn set_handle(&mut self, h: Handle, w: Word) {
        self.handles[h.0] = w;
    }

    /// Pops every handle pushed since `mark`.
    pub fn release_handles(&mut self, mark: HandleMark) {
        self.handles.truncate(mark.0);
    }

    // ---- walking -----------------------------------------------------------------------------

    /// Every object in allocation order.
    pub fn objects(&self) -> ObjectIter<'_> {
        ObjectIter {
            space: &self.space,
            at: 1,
            top: self.top,
        }
    }
}

/// Words taken by an object of `slots` slots: its overflow word (if any), header and slots.
#[inline]
pub(crate) const fn object_words(slots: usize) -> usize {
    (slots >= OVERFLOW_SLOTS) as usize + 1 + slots
}

/// The number of pointer slots of a compiled method given its slot 0.
pub(crate) fn method_pointer_slots(slot0: u64) -> usize {
    let v = Word::from_raw(slot0).as_small_int().unwrap_or(0);
    1 + (v as usize & 0xFFFF)
}

/// One past the last pointer slot of the compiled method whose header is `space[h]` and whose
/// last slot is `space[end - 1]`. Clamped to the object, so a corrupt slot 0 never makes the
/// collector scan a neighbour (the verifier reports it).
pub(crate) fn method_pointer_end(space: &[u64], h: usize, end: usize) -> usize {
    if end <= h + 1 {
        return end;
    }
    (h + 1 + method_pointer_slots(space[h + 1])).min(end)
}

/// Walks the objects of a space in allocation order.
#[derive(Debug)]
pub struct ObjectIter<'h> {
    space: &'h [u64],
    at: usize,
    top: usize,
}

impl Iterator for ObjectIter<'_> {
    type Item = Oop;
    fn next(&mut self) -> Option<Oop> {
        if self.at >= self.top {
            return None;
        }
        let (header, end) = object_extent(self.space, self.at);
        self.at = end;
        Some(Oop::from_index(header))
    }
}

/// For the object starting at word `start` (its overflow word if it has one), the index of its
/// header and the index just past its last slot.
pub(crate) fn object_extent(space: &[u64], start: usize) -> (usize, usize) {
    let first = space[start];
    if is_overflow_word(first) {
        let n = overflow_count(first);
        (start + 1, start + 2 + n)
    } else {
        let n = Header::from_raw(first).slot_field();
        (start, start + 1 + n)
    }
}
