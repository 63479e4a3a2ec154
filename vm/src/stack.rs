//! Fixed-capacity arrays for the two structures the interpreter indexes on every bytecode: the
//! VM stack and the code arena.
//!
//! Both are allocated once at their largest size (zeroed memory, so the operating system maps
//! pages only when they are first touched) and indexed with the index masked to the capacity, a
//! power of two. The mask makes every access provably in bounds, so the compiler drops the
//! bounds check that a `Vec` would need, without any unsafe code. The VM never forms an index
//! past the used part (`sp` for the stack, `len` for the arena), which is checked in debug
//! builds; the mask only guarantees memory safety.

use smalt_gc::Word;
use std::ops::{Index, IndexMut, Range};

/// Capacity of the VM stack in words (128 MiB of address space).
pub const STACK_WORDS: usize = 1 << 24;
const STACK_MASK: usize = STACK_WORDS - 1;

/// The VM stack: frames of tagged words (see `frame.rs`).
pub struct Stack {
    words: Box<[Word; STACK_WORDS]>,
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            words: bytemuck::allocation::zeroed_slice_box(STACK_WORDS)
                .try_into()
                .expect("the box has STACK_WORDS words"),
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
        &mut self.words[..end]
    }
}

impl Index<usize> for Stack {
    type Output = Word;
    #[inline(always)]
    fn index(&self, i: usize) -> &Word {
        debug_assert!(i < STACK_WORDS, "stack index {i} out of range");
        &self.words[i & STACK_MASK]
    }
}

impl IndexMut<usize> for Stack {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut Word {
        debug_assert!(i < STACK_WORDS, "stack index {i} out of range");
        &mut self.words[i & STACK_MASK]
    }
}

impl Index<Range<usize>> for Stack {
    type Output = [Word];
    fn index(&self, r: Range<usize>) -> &[Word] {
        &self.words[r]
    }
}

impl IndexMut<Range<usize>> for Stack {
    fn index_mut(&mut self, r: Range<usize>) -> &mut [Word] {
        &mut self.words[r]
    }
}

/// Capacity of the code arena in bytes (64 MiB of address space).
pub const CODE_BYTES: usize = 1 << 26;
const CODE_MASK: usize = CODE_BYTES - 1;

/// The bytecodes of every method, back to back; a pc is an offset in here.
pub struct CodeArena {
    bytes: Box<[u8; CODE_BYTES]>,
    len: usize,
}

impl Default for CodeArena {
    fn default() -> Self {
        CodeArena {
            bytes: bytemuck::allocation::zeroed_slice_box(CODE_BYTES)
                .try_into()
                .expect("the box has CODE_BYTES bytes"),
            len: 0,
        }
    }
}

impl std::fmt::Debug for CodeArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeArena({} bytes used)", self.len)
    }
}

impl CodeArena {
    /// Bytes in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `code`; answers its offset, or `None` when the arena is full.
    pub fn append(&mut self, code: &[u8]) -> Option<usize> {
        let start = self.len;
        let end = start.checked_add(code.len()).filter(|e| *e <= CODE_BYTES)?;
        self.bytes[start..end].copy_from_slice(code);
        self.len = end;
        Some(start)
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
