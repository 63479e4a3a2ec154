//! The method side table: Rust-side data derived from compiled methods in the heap.
//!
//! A compiled method (or block) in the heap is the truth: bytecodes, literals, header. For speed
//! the VM keeps, per method, a [`MethodInfo`] indexed by [`MethodId`] (stored in slot 2 of the
//! method object):
//!
//! * a copy of the bytecodes in one **code arena** (`code`), so the interpreter fetches with a
//!   single bounds-checked index and a pc is an absolute arena offset;
//! * one **inline-cache cell** per literal in the **cell arena** (`cells`): the send bytecode's
//!   literal index is also its cell index. Cells hold class indices and method ids, never
//!   object references except their selector, which the collector updates;
//! * the decoded header (argument and temp counts, max stack, primitive, flags).
//!
//! The method reference in each info is a *weak* root: when a method dies its id is freed.
//! After an image load the whole table is rebuilt from the heap.
//!
//! Sends find methods through the per-site cells (monomorphic → polymorphic → megamorphic) and
//! behind them a global direct-mapped **lookup cache** keyed by (class index, selector).

use smalt_gc::{ClassIndex, Word};

/// Index of a method in the side table; 0 is never used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct MethodId(pub u32);

impl MethodId {
    /// The "no method" id.
    pub const NONE: MethodId = MethodId(0);
}

/// Rust-side data of one compiled method or block.
#[derive(Clone, Debug)]
pub struct MethodInfo {
    /// The method object (weak root); nil once it died.
    pub method: Word,
    /// Offset of the first bytecode in the code arena.
    pub code_start: usize,
    /// Number of bytecodes.
    pub code_len: usize,
    /// Index of literal 0's cell in the cell arena.
    pub cell_base: usize,
    /// Number of literals (and cells).
    pub num_literals: usize,
    /// Number of arguments.
    pub num_args: usize,
    /// Frame slots after the header.
    pub num_temps: usize,
    /// Copied values (blocks).
    pub num_copied: usize,
    /// Max operand-stack depth.
    pub max_stack: usize,
    /// Primitive number, 0 for none.
    pub primitive: u16,
    /// The primitive's function (looked up once at registration), if any.
    pub prim_fn: Option<crate::prims::PrimFn>,
    /// `objects::FLAG_*` bits.
    pub flags: u8,
    /// Times the method was entered (type feedback and tiering for the JIT).
    pub invocations: u32,
}

impl MethodInfo {
    /// Frame words needed by an activation beyond the receiver and arguments.
    #[inline]
    pub fn frame_words(&self) -> usize {
        crate::bytecode::FRAME_HEADER_WORDS + self.num_temps + self.max_stack + FRAME_SLACK
    }

    /// Whether this is a block's code.
    pub fn is_block(&self) -> bool {
        self.flags & crate::objects::FLAG_BLOCK != 0
    }
}

/// Extra operand-stack words every frame reserves: a send the VM rewrites (doesNotUnderstand:,
/// escapedBlock:, aboutToReturn:through:, unknownGlobal:) pushes up to three more values than
/// the bytecode did.
pub const FRAME_SLACK: usize = 4;

/// One (class, method) pair of an inline cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IcEntry {
    /// Receiver class index (0 = empty).
    pub class: u32,
    /// The method found for it.
    pub method: u32,
}

/// Number of entries of a polymorphic cache before the site goes megamorphic.
pub const PIC_SIZE: usize = 4;

/// State of a send site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IcState {
    /// Never executed.
    #[default]
    Empty,
    /// One receiver class seen.
    Monomorphic,
    /// Two to [`PIC_SIZE`] classes seen.
    Polymorphic,
    /// More: the site uses the global lookup cache only.
    Megamorphic,
}

/// The inline-cache cell of one send site (also the type feedback the JIT will read).
#[derive(Clone, Copy, Debug, Default)]
pub struct IcCell {
    /// Cached (class, method) pairs; entry 0 is the monomorphic one.
    pub entries: [IcEntry; PIC_SIZE],
    /// The site's selector (updated by the collector), or INVALID for non-selector literals.
    pub selector: Word,
    /// The selector's argument count.
    pub nargs: u8,
    /// Site state.
    pub state: IcState,
    /// Misses so far.
    pub misses: u32,
}

impl IcCell {
    /// The cached method for receivers of class `class`, or 0.
    #[inline]
    pub fn probe(&self, class: ClassIndex) -> u32 {
        let c = class.0;
        if self.entries[0].class == c {
            return self.entries[0].method;
        }
        if self.state == IcState::Polymorphic {
            for e in &self.entries[1..] {
                if e.class == c {
                    return e.method;
                }
            }
        }
        0
    }

    /// Records a lookup result after a miss, moving the site along
    /// empty → monomorphic → polymorphic → megamorphic.
    pub fn record(&mut self, class: ClassIndex, method: MethodId) {
        self.misses = self.misses.saturating_add(1);
        let entry = IcEntry {
            class: class.0,
            method: method.0,
        };
        match self.state {
            IcState::Empty => {
                self.entries[0] = entry;
                self.state = IcState::Monomorphic;
            }
            IcState::Monomorphic | IcState::Polymorphic => {
                if let Some(free) = self.entries.iter_mut().find(|e| e.class == 0) {
                    *free = entry;
                    self.state = IcState::Polymorphic;
                } else {
                    self.entries = [IcEntry::default(); PIC_SIZE];
                    self.state = IcState::Megamorphic;
                }
            }
            IcState::Megamorphic => {}
        }
    }

    /// Empties the cache (keeps selector and argument count).
    pub fn clear(&mut self) {
        self.entries = [IcEntry::default(); PIC_SIZE];
        self.state = IcState::Empty;
    }
}

/// Size of the global lookup cache (a power of two).
pub const LOOKUP_CACHE_SIZE: usize = 4096;

/// One entry of the global lookup cache.
#[derive(Clone, Copy, Debug, Default)]
pub struct LookupEntry {
    /// Class index (0 = empty).
    pub class: u32,
    /// Selector (raw word bits; flushed at every collection because symbols move).
    pub selector: u64,
    /// Method found.
    pub method: u32,
}

/// All side-table data.
#[derive(Debug)]
pub struct MethodTable {
    /// Infos by id; index 0 unused.
    pub infos: Vec<MethodInfo>,
    /// Free ids (their methods died).
    pub free: Vec<MethodId>,
    /// The code arena.
    pub code: crate::stack::CodeArena,
    /// The cell arena.
    pub cells: Vec<IcCell>,
    /// The global lookup cache.
    pub lookup: Box<[LookupEntry]>,
    /// Whether any cache entry was filled (invalidation has nothing to do before).
    pub anything_cached: bool,
}

impl Default for MethodTable {
    fn default() -> Self {
        let placeholder = MethodInfo {
            method: Word::INVALID,
            code_start: 0,
            code_len: 0,
            cell_base: 0,
            num_literals: 0,
            num_args: 0,
            num_temps: 0,
            num_copied: 0,
            max_stack: 0,
            primitive: 0,
            prim_fn: None,
            flags: 0,
            invocations: 0,
        };
        MethodTable {
            infos: vec![placeholder],
            free: Vec::new(),
            code: crate::stack::CodeArena::default(),
            cells: Vec::new(),
            lookup: vec![LookupEntry::default(); LOOKUP_CACHE_SIZE].into_boxed_slice(),
            anything_cached: false,
        }
    }
}

impl MethodTable {
    /// Registers a method: copies its bytecodes into the code arena and makes its cells.
    /// `selectors[k]` is `Some((symbol, nargs))` when literal k is a send selector. `None` when
    /// the code arena is full.
    pub fn register(
        &mut self,
        mut info: MethodInfo,
        bytecodes: &[u8],
        selectors: &[Option<(Word, u8)>],
    ) -> Option<MethodId> {
        info.prim_fn =
            (info.primitive != 0).then(|| crate::prims::functions()[usize::from(info.primitive)].1);
        info.code_start = self.code.append(bytecodes)?;
        info.code_len = bytecodes.len();
        info.cell_base = self.cells.len();
        info.num_literals = selectors.len();
        self.cells.extend(selectors.iter().map(|s| match s {
            Some((sel, nargs)) => IcCell {
                selector: *sel,
                nargs: *nargs,
                ..IcCell::default()
            },
            None => IcCell {
                selector: Word::INVALID,
                ..IcCell::default()
            },
        }));
        Some(match self.free.pop() {
            Some(id) => {
                self.infos[id.0 as usize] = info;
                id
            }
            None => {
                self.infos.push(info);
                MethodId((self.infos.len() - 1) as u32)
            }
        })
    }

    /// Makes room for `methods` more methods with `cells` cells in all (rebuilding the table
    /// after an image load).
    pub fn reserve(&mut self, methods: usize, cells: usize) {
        self.infos.reserve(methods);
        self.cells.reserve(cells);
    }

    /// The info of a method id.
    #[inline]
    pub fn info(&self, id: MethodId) -> &MethodInfo {
        &self.infos[id.0 as usize]
    }

    /// Global lookup cache slot for (class, selector).
    #[inline]
    pub fn lookup_slot(class: ClassIndex, selector: Word) -> usize {
        let h = (selector.raw() >> 3) ^ (u64::from(class.0).wrapping_mul(0x9E37_79B9));
        (h as usize) & (LOOKUP_CACHE_SIZE - 1)
    }

    /// Probes the global lookup cache.
    #[inline]
    pub fn probe_lookup(&self, class: ClassIndex, selector: Word) -> Option<MethodId> {
        let e = &self.lookup[Self::lookup_slot(class, selector)];
        (e.class == class.0 && e.selector == selector.raw()).then_some(MethodId(e.method))
    }

    /// Fills the global lookup cache.
    pub fn fill_lookup(&mut self, class: ClassIndex, selector: Word, method: MethodId) {
        self.anything_cached = true;
        self.lookup[Self::lookup_slot(class, selector)] = LookupEntry {
            class: class.0,
            selector: selector.raw(),
            method: method.0,
        };
    }

    /// Empties the global lookup cache (after a collection: selectors moved).
    pub fn flush_lookup(&mut self) {
        self.lookup.fill(LookupEntry::default());
    }

    /// Clears every cache entry for `selector` whose class satisfies `affected` (the classes
    /// that inherit from the class whose method dictionary changed). Returns the number of
    /// send sites cleared.
    pub fn invalidate(&mut self, selector: Word, affected: &dyn Fn(u32) -> bool) -> usize {
        let mut n = 0;
        for cell in self.cells.iter_mut() {
            if cell.selector == selector
                && cell.state != IcState::Empty
                && (cell.state == IcState::Megamorphic
                    || cell
                        .entries
                        .iter()
                        .any(|e| e.class != 0 && affected(e.class)))
            {
                cell.clear();
                n += 1;
            }
        }
        for e in self.lookup.iter_mut() {
            if e.selector == selector.raw() && affected(e.class) {
                *e = LookupEntry::default();
            }
        }
        n
    }

    /// Visits the strong roots of the table (the cells' selectors).
    pub fn visit_strong(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        for c in self.cells.iter_mut() {
            if c.selector != Word::INVALID {
                visit(&mut c.selector);
            }
        }
    }

    /// Visits the weak roots (each info's method).
    pub fn visit_weak(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        for info in self.infos.iter_mut().skip(1) {
            if info.method != Word::INVALID {
                visit(&mut info.method);
            }
        }
    }

    /// After a collection: frees the ids of methods that died (their weak slot became `nil`)
    /// and drops every cache entry that named them.
    pub fn purge_dead(&mut self, nil: Word) {
        let mut dead = Vec::new();
        for (i, info) in self.infos.iter_mut().enumerate().skip(1) {
            if info.method == nil {
                info.method = Word::INVALID;
                for c in &mut self.cells[info.cell_base..info.cell_base + info.num_literals] {
                    c.selector = Word::INVALID;
                    c.clear();
                }
                dead.push(i as u32);
            }
        }
        if dead.is_empty() {
            return;
        }
        for c in self.cells.iter_mut() {
            if c.entries
                .iter()
                .any(|e| e.class != 0 && dead.contains(&e.method))
            {
                c.clear();
            }
        }
        self.free.extend(dead.into_iter().map(MethodId));
        self.flush_lookup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_goes_mono_poly_mega() {
        let mut c = IcCell::default();
        assert_eq!(c.probe(ClassIndex(7)), 0);
        c.record(ClassIndex(7), MethodId(70));
        assert_eq!(c.state, IcState::Monomorphic);
        assert_eq!(c.probe(ClassIndex(7)), 70);
        for k in 8..11 {
            c.record(ClassIndex(k), MethodId(k * 10));
        }
        assert_eq!(c.state, IcState::Polymorphic);
        assert_eq!(c.probe(ClassIndex(10)), 100);
        c.record(ClassIndex(11), MethodId(110));
        assert_eq!(c.state, IcState::Megamorphic);
        assert_eq!(c.probe(ClassIndex(7)), 0);
    }
}
