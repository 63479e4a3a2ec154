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

    /// Every entry by index, [`Word::INVALID`] where no class is registered (what an image
    /// saves, aliases included).
    pub fn entries(&self) -> &[Word] {
        &self.entries
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CHARACTER_CLASS, FIRST_FREE_CLASS, SMALL_FLOAT_CLASS, SMALL_INTEGER_CLASS};

    fn obj(n: u64) -> Word {
        Word::from_raw(n * 8)
    }

    #[test]
    fn immediates_have_fixed_indices_below_the_first_free_one() {
        assert_eq!(SMALL_INTEGER_CLASS, ClassIndex(1));
        assert_eq!(CHARACTER_CLASS, ClassIndex(2));
        assert_eq!(SMALL_FLOAT_CLASS, ClassIndex(3));
        assert_eq!(FIRST_FREE_CLASS, ClassIndex(4));
    }

    #[test]
    fn empty_table() {
        let t = ClassTable::default();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert_eq!(t.get(ClassIndex(0)), None);
        assert_eq!(t.get(ClassIndex(5)), None);
        assert_eq!(t.iter().count(), 0);
    }

    #[test]
    fn set_and_get() {
        let mut t = ClassTable::default();
        t.set(SMALL_INTEGER_CLASS, obj(1));
        t.set(ClassIndex(9), obj(9));
        assert!(!t.is_empty());
        assert_eq!(t.len(), 10);
        assert_eq!(t.get(SMALL_INTEGER_CLASS), Some(obj(1)));
        assert_eq!(t.get(ClassIndex(9)), Some(obj(9)));
        assert_eq!(t.get(ClassIndex(5)), None, "a gap is not a class");
        assert_eq!(t.get(ClassIndex(10)), None, "past the end is not a class");
        assert_eq!(t.get(ClassIndex(0)), None, "index 0 is never a class");
        t.set(ClassIndex(9), obj(99));
        assert_eq!(t.get(ClassIndex(9)), Some(obj(99)));
    }

    #[test]
    #[should_panic(expected = "bad class index")]
    fn index_zero_is_refused() {
        ClassTable::default().set(ClassIndex(0), obj(1));
    }

    #[test]
    #[should_panic(expected = "bad class index")]
    fn index_past_the_maximum_is_refused() {
        ClassTable::default().set(ClassIndex(MAX_CLASS_INDEX + 1), obj(1));
    }

    #[test]
    fn register_takes_the_first_free_index_at_or_after_first() {
        let mut t = ClassTable::default();
        for (i, c) in [(1, 1), (2, 2), (3, 3)] {
            t.set(ClassIndex(i), obj(c));
        }
        assert_eq!(t.register(obj(4), FIRST_FREE_CLASS), Some(ClassIndex(4)));
        assert_eq!(t.register(obj(5), FIRST_FREE_CLASS), Some(ClassIndex(5)));
        // A gap left by a fixed registration further up is filled first.
        t.set(ClassIndex(8), obj(8));
        assert_eq!(t.register(obj(6), FIRST_FREE_CLASS), Some(ClassIndex(6)));
        assert_eq!(t.register(obj(7), FIRST_FREE_CLASS), Some(ClassIndex(7)));
        assert_eq!(t.register(obj(9), FIRST_FREE_CLASS), Some(ClassIndex(9)));
        // `first` past the end leaves a gap.
        assert_eq!(t.register(obj(20), ClassIndex(20)), Some(ClassIndex(20)));
        assert_eq!(t.get(ClassIndex(15)), None);
        // `first` 0 is treated as 1, never as index 0.
        let mut u = ClassTable::default();
        assert_eq!(u.register(obj(1), ClassIndex(0)), Some(ClassIndex(1)));
        let all: Vec<_> = t.iter().collect();
        let expected: Vec<_> = [1, 2, 3, 4, 5, 6, 7, 8, 9, 20]
            .into_iter()
            .map(|i| (ClassIndex(i), obj(u64::from(i))))
            .collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn several_indices_may_name_one_class() {
        let mut t = ClassTable::default();
        t.set(ClassIndex(4), obj(4));
        t.set(ClassIndex(5), obj(4));
        assert_eq!(t.get(ClassIndex(4)), t.get(ClassIndex(5)));
    }

    #[test]
    fn register_reports_a_full_table() {
        let mut t = ClassTable::default();
        t.set(ClassIndex(MAX_CLASS_INDEX), obj(1));
        assert_eq!(t.register(obj(2), ClassIndex(MAX_CLASS_INDEX)), None);
        assert_eq!(
            t.register(obj(2), ClassIndex(MAX_CLASS_INDEX - 1)),
            Some(ClassIndex(MAX_CLASS_INDEX - 1))
        );
    }
}
