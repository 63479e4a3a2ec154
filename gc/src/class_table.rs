//! The class table: class index → class object.
//!
//! Headers, inline caches and JIT code name classes by index, so moving a class object never
//! invalidates them. The table is a root of the collector. Indices 1–3 belong to the immediate
//! classes ([`crate::SMALL_INTEGER_CLASS`], [`crate::CHARACTER_CLASS`],
//! [`crate::SMALL_FLOAT_CLASS`]); index 0 is never a class. Several indices may name the same
//! class object (the VM uses this for boxed floats and large integers).

use crate::header::{ClassIndex, MAX_CLASS_INDEX};
use crate::word::Word;

/// Class index → class object.
#[derive(Debug, Default)]
pub struct ClassTable {
    pub(crate) entries: Vec<Word>,
}

impl ClassTable {
    /// The class object at `index`, or `None` if no class is registered there.
    #[inline]
    pub fn get(&self, index: ClassIndex) -> Option<Word> {
        self.entries
            .get(index.0 as usize)
            .copied()
            .filter(|w| *w != Word::INVALID)
    }

    /// Registers `class` at a fixed `index` (kernel classes and immediates).
    ///
    /// # Panics
    /// If the index is 0 or out of range.
    pub fn set(&mut self, index: ClassIndex, class: Word) {
        assert!(
            index.0 != 0 && index.0 <= MAX_CLASS_INDEX,
            "bad class index"
        );
        let i = index.0 as usize;
        if self.entries.len() <= i {
            self.entries.resize(i + 1, Word::INVALID);
        }
        self.entries[i] = class;
    }

    /// Registers `class` at the next free index at or after `first` and returns the index, or
    /// `None` when the table is full.
    pub fn register(&mut self, class: Word, first: ClassIndex) -> Option<ClassIndex> {
        let start = first.0.max(1) as usize;
        let free = (start..self.entries.len()).find(|&i| self.entries[i] == Word::INVALID);
        let i = free.unwrap_or(self.entries.len().max(start));
        if i > MAX_CLASS_INDEX as usize {
            return None;
        }
        let index = ClassIndex(i as u32);
        self.set(index, class);
        Some(index)
    }

    /// One past the largest index in use.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no class is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|w| *w == Word::INVALID)
    }

    /// Every registered (index, class).
    pub fn iter(&self) -> impl Iterator<Item = (ClassIndex, Word)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != Word::INVALID)
            .map(|(i, w)| (ClassIndex(i as u32), *w))
    }
}
