//! Fixed-capacity memory for the structures the interpreter indexes on every bytecode and that
//! compiled code reaches by address: the VM stack, the code arena, and the tables of method
//! infos and inline-cache cells ([`FixedVec`]).
//!
//! None of them ever moves while the VM lives (see `layout.rs`): they are allocated once at their
//! largest size (the operating system maps pages only when they are first touched) and never
//! reallocated. The stack and the code arena are indexed with the index masked to the capacity,
//! a power of two: the mask makes every access provably in bounds, so the compiler drops the
//! bounds check that a `Vec` would need, without any unsafe code. The VM never forms an index
//! past the used part (`sp` for the stack, the registered code for the arena), which is checked
//! in debug builds; the mask only guarantees memory safety.
//!
//! Code-arena bytes and cells of methods that died are reused ([`RangeAllocator`]).

use smalt_gc::Word;
use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut, Index, IndexMut, Range};

pub use crate::layout::{CODE_BYTES, STACK_WORDS};

const STACK_MASK: usize = STACK_WORDS - 1;
/// Words before word 0 of the stack, so that the interpreter can address the operand words
/// below the top (a send's receiver is at most 256 below it) as `(sp & mask) + STACK_FRONT - k`
/// without a bounds check (and without masking each).
pub const STACK_FRONT: usize = 264;
/// Words after the capacity, so that the interpreter can address up to 511 words above a
/// masked index (a frame's header and temporaries, a local `bp + k`) without a bounds check.
pub const STACK_BACK: usize = 512;
/// The physical length of the stack array.
pub const STACK_ARRAY: usize = STACK_FRONT + STACK_WORDS + STACK_BACK;

/// The VM stack: frames of tagged words (see `layout.rs`). Word `i` of the stack is element
/// `i + STACK_FRONT` of the array; the padding at either end is never used for frames.
pub struct Stack {
    words: Box<[Word; STACK_ARRAY]>,
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            words: bytemuck::allocation::zeroed_slice_box(STACK_ARRAY)
                .try_into()
                .expect("the box has STACK_ARRAY words"),
        }
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stack({STACK_WORDS} words)")
    }
}

impl Stack {
    /// The capacity in words.
    pub const fn capacity(&self) -> usize {
        STACK_WORDS
    }

    /// The words `0..end`, mutably (the collector's roots).
    pub fn used_mut(&mut self, end: usize) -> &mut [Word] {
        &mut self.words[STACK_FRONT..STACK_FRONT + end]
    }

    /// Address of word 0 (for compiled code; the stack never moves).
    pub fn base_address(&self) -> usize {
        self.words[STACK_FRONT..].as_ptr() as usize
    }

    /// The whole array, padding included, for the interpreter's inner loop: word `i` is element
    /// `Stack::mask(i) + STACK_FRONT`.
    #[inline(always)]
    pub fn words_mut(&mut self) -> &mut [Word; STACK_ARRAY] {
        &mut self.words
    }

    /// An index reduced to the capacity (a no-op for valid indices).
    #[inline(always)]
    pub const fn mask(i: usize) -> usize {
        i & STACK_MASK
    }
}

impl Index<usize> for Stack {
    type Output = Word;
    #[inline(always)]
    fn index(&self, i: usize) -> &Word {
        debug_assert!(i < STACK_WORDS, "stack index {i} out of range");
        &self.words[(i & STACK_MASK) + STACK_FRONT]
    }
}

impl IndexMut<usize> for Stack {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut Word {
        debug_assert!(i < STACK_WORDS, "stack index {i} out of range");
        &mut self.words[(i & STACK_MASK) + STACK_FRONT]
    }
}

impl Index<Range<usize>> for Stack {
    type Output = [Word];
    fn index(&self, r: Range<usize>) -> &[Word] {
        &self.words[r.start + STACK_FRONT..r.end + STACK_FRONT]
    }
}

impl IndexMut<Range<usize>> for Stack {
    fn index_mut(&mut self, r: Range<usize>) -> &mut [Word] {
        &mut self.words[r.start + STACK_FRONT..r.end + STACK_FRONT]
    }
}

const CODE_MASK: usize = CODE_BYTES - 1;
/// Bytes past the capacity, so that the operands of an instruction, or of the sequence a
/// superinstruction heads (at most 15 bytes after its opcode), can be read at
/// `(pc & mask) + 1 ..= + 15` without a bounds check.
pub const CODE_PAD: usize = 16;

/// The bytecodes of every method, back to back; a pc is an offset in here.
///
/// The code of a method is a copy of the bytecodes of its heap object, byte for byte, so a
/// frame's pc maps to a method-relative pc by subtracting the method's `code_start`.
pub struct CodeArena {
    bytes: Box<[u8; CODE_BYTES + CODE_PAD]>,
    len: usize,
    free: RangeAllocator,
}

impl Default for CodeArena {
    fn default() -> Self {
        CodeArena {
            bytes: bytemuck::allocation::zeroed_slice_box(CODE_BYTES + CODE_PAD)
                .try_into()
                .expect("the box has CODE_BYTES + CODE_PAD bytes"),
            len: 0,
            free: RangeAllocator::default(),
        }
    }
}

impl std::fmt::Debug for CodeArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeArena({} bytes used)", self.len)
    }
}

impl CodeArena {
    /// Bytes in use (including freed ranges not yet reused).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `code` into a free range or at the end; answers its offset, or `None` when the
    /// arena is full.
    pub fn append(&mut self, code: &[u8]) -> Option<usize> {
        let start = match self.free.take(code.len()) {
            Some(start) => start,
            None => {
                let start = self.len;
                let end = start.checked_add(code.len()).filter(|e| *e <= CODE_BYTES)?;
                self.len = end;
                start
            }
        };
        self.bytes[start..start + code.len()].copy_from_slice(code);
        Some(start)
    }

    /// Gives the range back for reuse (its method died).
    pub fn release(&mut self, start: usize, len: usize) {
        self.free.give(start, len);
    }

    /// Address of byte 0 (for compiled code; the arena never moves).
    pub fn base_address(&self) -> usize {
        self.bytes.as_ptr() as usize
    }

    /// All bytes, for the interpreter's inner loop: index with [`CodeArena::mask`], and read
    /// operands at up to [`CODE_PAD`] bytes past a masked index.
    #[inline(always)]
    pub fn bytes(&self) -> &[u8; CODE_BYTES + CODE_PAD] {
        &self.bytes
    }

    /// A pc reduced to the capacity (a no-op for valid pcs).
    #[inline(always)]
    pub const fn mask(pc: usize) -> usize {
        pc & CODE_MASK
    }

    /// The bytes `start .. start + len`.
    pub fn slice(&self, start: usize, len: usize) -> &[u8] {
        &self.bytes[start..start + len]
    }
}

impl Index<usize> for CodeArena {
    type Output = u8;
    #[inline(always)]
    fn index(&self, i: usize) -> &u8 {
        debug_assert!(i < self.len, "pc {i} past the code");
        &self.bytes[i & CODE_MASK]
    }
}

/// A vector with a fixed capacity, allocated once: it never reallocates, so its elements keep
/// their addresses for as long as it lives (compiled code holds them).
pub struct FixedVec<T> {
    items: Vec<T>,
}

impl<T> FixedVec<T> {
    /// An empty vector that can hold `capacity` elements. Only address space is taken: pages
    /// are mapped when first written.
    pub fn with_capacity(capacity: usize) -> Self {
        FixedVec {
            items: Vec::with_capacity(capacity),
        }
    }

    /// Appends `x` and answers its index, or gives it back when the vector is full.
    pub fn try_push(&mut self, x: T) -> Result<usize, T> {
        if self.items.len() == self.items.capacity() {
            return Err(x);
        }
        self.items.push(x);
        Ok(self.items.len() - 1)
    }

    /// Appends the elements of `it` if all of them fit; answers the index of the first.
    pub fn try_extend(&mut self, it: impl ExactSizeIterator<Item = T>) -> Option<usize> {
        let start = self.items.len();
        if self.items.capacity() - start < it.len() {
            return None;
        }
        self.items.extend(it);
        Some(start)
    }

    /// Address of element 0 (stable: the vector never reallocates).
    pub fn base_address(&self) -> usize {
        self.items.as_ptr() as usize
    }

    /// The fixed capacity.
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }
}

impl<T> Deref for FixedVec<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> DerefMut for FixedVec<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items
    }
}

impl<T> std::fmt::Debug for FixedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FixedVec({} of {})",
            self.items.len(),
            self.items.capacity()
        )
    }
}

/// Free ranges of an arena (start → length), merged when adjacent; first fit.
#[derive(Debug, Default)]
pub struct RangeAllocator {
    free: BTreeMap<usize, usize>,
}

impl RangeAllocator {
    /// Takes `len` units from the first free range that holds them.
    pub fn take(&mut self, len: usize) -> Option<usize> {
        if len == 0 {
            return None;
        }
        let (&start, &have) = self.free.iter().find(|(_, have)| **have >= len)?;
        self.free.remove(&start);
        if have > len {
            self.free.insert(start + len, have - len);
        }
        Some(start)
    }

    /// Returns a range, merging it with free neighbours.
    pub fn give(&mut self, mut start: usize, mut len: usize) {
        if len == 0 {
            return;
        }
        if let Some((&before, &blen)) = self.free.range(..start).next_back()
            && before + blen == start
        {
            self.free.remove(&before);
            start = before;
            len += blen;
        }
        if let Some(&after_len) = self.free.get(&(start + len)) {
            self.free.remove(&(start + len));
            len += after_len;
        }
        self.free.insert(start, len);
    }

    /// Total free units.
    pub fn total(&self) -> usize {
        self.free.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_reused_and_merged() {
        let mut r = RangeAllocator::default();
        assert_eq!(r.take(4), None);
        r.give(10, 4);
        r.give(20, 4);
        r.give(14, 6); // joins both neighbours: 10..24
        assert_eq!(r.total(), 14);
        assert_eq!(r.take(14), Some(10));
        assert_eq!(r.take(1), None);
        r.give(0, 8);
        assert_eq!(r.take(3), Some(0));
        assert_eq!(r.take(5), Some(3));
    }

    #[test]
    fn fixed_vec_never_moves() {
        let mut v = FixedVec::with_capacity(3);
        let base = v.base_address();
        assert_eq!(v.try_push(1u64), Ok(0));
        assert_eq!(v.try_extend([2u64, 3].into_iter()), Some(1));
        assert_eq!(v.try_push(4), Err(4));
        assert_eq!(v.try_extend([5u64].into_iter()), None);
        assert_eq!(v.base_address(), base);
        assert_eq!(&v[..], &[1, 2, 3]);
    }

    #[test]
    fn code_is_reused() {
        let mut a = CodeArena::default();
        let x = a.append(&[1, 2, 3]).unwrap();
        let y = a.append(&[4, 5]).unwrap();
        a.release(x, 3);
        assert_eq!(a.append(&[6, 7]), Some(x));
        assert_eq!(a.append(&[8, 9]), Some(y + 2));
        assert_eq!(a.slice(x, 3), &[6, 7, 3]);
    }
}
