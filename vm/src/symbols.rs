//! The symbol table: one Symbol object per distinct name.
//!
//! Symbols live in the heap (class Symbol, bytes in UTF-8) so that images hold them; this table is
//! the Rust-side index from text to object. Its entries are *weak* roots: a symbol nobody refers
//! to any more is collected and its entry dropped. After an image load the table is rebuilt by
//! walking the heap.

use rustc_hash::FxHashMap;
use smalt_gc::Word;

/// Text → Symbol object. Keyed by the symbol's bytes (its UTF-8), hashed with FxHash: the
/// table is rebuilt from the heap at every start from an image, so inserting must be cheap.
#[derive(Debug, Default)]
pub struct SymbolTable {
    map: FxHashMap<Box<[u8]>, Word>,
}

impl SymbolTable {
    /// The symbol for `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Word> {
        self.map.get(name.as_bytes()).copied()
    }

    /// Records a newly made symbol.
    pub fn insert(&mut self, name: &str, symbol: Word) {
        self.insert_bytes(name.as_bytes(), symbol);
    }

    /// Records a symbol by its bytes (rebuilding the table from a loaded heap).
    pub fn insert_bytes(&mut self, name: &[u8], symbol: Word) {
        self.map.insert(name.into(), symbol);
    }

    /// Makes room for `n` more symbols.
    pub fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
    }

    /// Visits every entry as a weak root.
    pub fn visit_weak(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        self.map.values_mut().for_each(visit);
    }

    /// Drops entries whose symbol died (the collector set them to `nil`).
    pub fn purge(&mut self, nil: Word) {
        self.map.retain(|_, w| *w != nil);
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no symbols.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forgets every symbol (before rebuilding from an image).
    pub fn clear(&mut self) {
        self.map.clear();
    }
}
