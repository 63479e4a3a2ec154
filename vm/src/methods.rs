//! The method side table: Rust-side data derived from compiled methods in the heap.
//!
//! A compiled method (or block) in the heap is the truth: bytecodes, literals, header. For speed
//! the VM keeps, per method, a [`MethodInfo`] indexed by [`MethodId`] (stored in slot 2 of the
//! method object):
//!
//! * a copy of the bytecodes in one **code arena** (`code`), so the interpreter fetches with a
//!   single bounds-checked index and a pc is an absolute arena offset;
//! * one **inline-cache cell** per send site in the **cell arena** (`cells`): `Send s` uses
//!   the method's cell `s`, made from the method's site table (site → selector literal). Cells
//!   hold class indices and method ids, never object references except their selector, which
//!   the collector updates;
//! * the decoded header (argument and temp counts, max stack, primitive, flags).
//!
//! The method reference in each info is a *weak* root: when a method dies its id is freed.
//! After an image load the whole table is rebuilt from the heap.
//!
//! Sends find methods through the per-site cells (monomorphic → polymorphic → megamorphic) and
//! behind them a global direct-mapped **lookup cache** keyed by (class index, selector).

use crate::layout::{Activation, CELL_CAPACITY, METHOD_CAPACITY};
use crate::objects::class_index as ci;
use crate::stack::{FixedVec, RangeAllocator};
use smalt_gc::{ClassIndex, Word};

pub use crate::layout::{IcCell, IcEntry, IcState, MethodInfo, PIC_SIZE};

/// Index of a method in the side table; 0 is never used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct MethodId(pub u32);

impl MethodId {
    /// The "no method" id.
    pub const NONE: MethodId = MethodId(0);
}

impl MethodInfo {
    /// The info of id 0 and of free ids.
    pub const EMPTY: MethodInfo = MethodInfo {
        method: Word::INVALID,
        frame_info: Word::INVALID,
        code_start: 0,
        cell_base: 0,
        num_temps: 0,
        frame_words: 0,
        prim_fn: None,
        invocations: 0,
        activation: Activation::Frame,
        flags: 0,
        quick_arg: 0,
        num_args: 0,
        num_copied: 0,
        max_stack: 0,
        code_len: 0,
        num_literals: 0,
        native_entry: 0,
        quick_value: Word::INVALID,
        primitive: 0,
        num_sites: 0,
    };

    /// Whether this is a block's code.
    pub fn is_block(&self) -> bool {
        self.flags & crate::objects::FLAG_BLOCK != 0
    }
}

/// Extra operand-stack words every frame reserves: a send the VM rewrites (doesNotUnderstand:,
/// escapedBlock:, aboutToReturn:through:, unknownGlobal:) pushes up to three more values than
/// the bytecode did.
pub const FRAME_SLACK: usize = 4;

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
            entry: 0,
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

/// Code-arena offset of a lone `ReturnTop`: a frame resumed there returns its top value.
pub const RETURN_TOP_STUB: usize = 0;
/// Code-arena offset of `Value ReturnTop`: a frame resumed there evaluates the block on top of
/// its stack and returns the block's value.
pub const VALUE_RETURN_STUB: usize = 1;

/// All side-table data.
#[derive(Debug)]
pub struct MethodTable {
    /// Infos by id; index 0 unused. Never reallocated (compiled code holds addresses).
    pub infos: FixedVec<MethodInfo>,
    /// Free ids (their methods died).
    pub free: Vec<MethodId>,
    /// The code arena.
    pub code: crate::stack::CodeArena,
    /// The cell arena. Never reallocated.
    pub cells: FixedVec<IcCell>,
    /// Free ranges of the cell arena (cells of dead methods).
    pub free_cells: RangeAllocator,
    /// The global lookup cache.
    pub lookup: Box<[LookupEntry]>,
    /// Whether any cache entry was filled (invalidation has nothing to do before).
    pub anything_cached: bool,
}

impl Default for MethodTable {
    fn default() -> Self {
        let mut infos = FixedVec::with_capacity(METHOD_CAPACITY);
        let _ = infos.try_push(MethodInfo::EMPTY);
        let mut code = crate::stack::CodeArena::default();
        use crate::bytecode::op;
        let stubs = (
            code.append(&[op::ReturnTop]),
            code.append(&[op::Value, op::ReturnTop]),
        );
        assert_eq!(stubs, (Some(RETURN_TOP_STUB), Some(VALUE_RETURN_STUB)));
        MethodTable {
            infos,
            free: Vec::new(),
            code,
            cells: FixedVec::with_capacity(CELL_CAPACITY),
            free_cells: RangeAllocator::default(),
            lookup: vec![LookupEntry::default(); LOOKUP_CACHE_SIZE].into_boxed_slice(),
            anything_cached: false,
        }
    }
}

impl MethodTable {
    /// Registers a method: copies its bytecodes into the code arena, makes its cells and
    /// decodes its header. `sites[s]` is the selector and argument count of send site `s`;
    /// `num_literals` is the size of its literal frame. `None` when an arena or the table is
    /// full. (`Vm::register_method` is the entry point that reads all this from a method
    /// object.)
    pub fn register(
        &mut self,
        method: Word,
        bits: crate::objects::MethodInfoBits,
        bytecodes: &[u8],
        num_literals: usize,
        sites: &[(Word, u8)],
    ) -> Option<MethodId> {
        let id = match self.free.last() {
            Some(&id) => id,
            None if self.infos.len() < self.infos.capacity() => MethodId(self.infos.len() as u32),
            None => return None,
        };
        let code_start = self.code.append(bytecodes)?;
        let Some(cell_base) = self.alloc_cells(sites) else {
            self.code.release(code_start, bytecodes.len());
            return None;
        };
        let primitive = bits.primitive;
        let (activation, quick_arg, quick_value) = if primitive == 0 {
            quick_kind(bytecodes, bits.flags, bits.num_args)
        } else {
            (Activation::Primitive, 0, Word::INVALID)
        };
        let info = MethodInfo {
            method,
            frame_info: crate::layout::frame_info(id, bits.num_args, cell_base),
            code_start,
            cell_base,
            num_temps: bits.num_temps,
            frame_words: crate::bytecode::FRAME_HEADER_WORDS
                + bits.num_temps
                + bits.max_stack
                + FRAME_SLACK,
            prim_fn: (primitive != 0).then(|| crate::prims::functions()[usize::from(primitive)].1),
            invocations: 0,
            activation,
            flags: bits.flags,
            quick_arg,
            num_args: bits.num_args,
            num_copied: bits.num_copied,
            max_stack: bits.max_stack,
            code_len: bytecodes.len(),
            num_literals,
            native_entry: 0,
            quick_value,
            primitive,
            num_sites: sites.len() as u32,
        };
        if self.free.last() == Some(&id) {
            self.free.pop();
            self.infos[id.0 as usize] = info;
        } else if self.infos.try_push(info).is_err() {
            unreachable!("room was checked above");
        }
        Some(id)
    }

    /// Allocates cells with these selectors and argument counts (a method's send sites, or
    /// those of native code outside any method); answers the first, or `None` if the arena is
    /// full.
    pub fn alloc_cells(&mut self, selectors: &[(Word, u8)]) -> Option<usize> {
        let cell = |&(selector, nargs): &(Word, u8)| IcCell {
            selector,
            nargs,
            ..IcCell::default()
        };
        match self.free_cells.take(selectors.len()) {
            Some(base) => {
                for (c, s) in self.cells[base..base + selectors.len()]
                    .iter_mut()
                    .zip(selectors)
                {
                    *c = cell(s);
                }
                Some(base)
            }
            None => self.cells.try_extend(selectors.iter().map(cell)),
        }
    }

    /// Releases cells from [`MethodTable::alloc_cells`].
    pub fn release_cells(&mut self, base: usize, n: usize) {
        for c in &mut self.cells[base..base + n] {
            c.selector = Word::INVALID;
            c.clear();
        }
        self.free_cells.give(base, n);
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
                let (cells, n) = (info.cell_base, info.num_sites as usize);
                for c in &mut self.cells[cells..cells + n] {
                    c.selector = Word::INVALID;
                    c.clear();
                }
                self.free_cells.give(cells, n);
                self.code.release(info.code_start, info.code_len);
                *info = MethodInfo::EMPTY;
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

/// How a method whose bytecodes are `code` runs (see [`Activation`]): quickly if its whole body
/// answers the receiver, an instance variable, a literal or a constant; as a setter if it only
/// stores its one argument into an instance variable and answers the receiver. Blocks and marked
/// methods (`ensure:`, `on:do:`) never are.
fn quick_kind(code: &[u8], flags: u8, num_args: usize) -> (Activation, u16, Word) {
    use crate::bytecode::op;
    use crate::objects::{FLAG_BLOCK, FLAG_HANDLER, FLAG_UNWIND};
    let none = (Activation::Frame, 0, Word::INVALID);
    if flags & (FLAG_BLOCK | FLAG_HANDLER | FLAG_UNWIND) != 0 {
        return none;
    }
    match *code {
        [op::ReturnSelf] | [op::PushSelf, op::ReturnTop] => {
            (Activation::ReturnSelf, 0, Word::INVALID)
        }
        // `x: v  x := v` (local 1 is the argument only when there is exactly one).
        [op::PushLocal, 1, op::PopStoreInstVar, k, op::ReturnSelf] if num_args == 1 => {
            (Activation::Setter, u16::from(k), Word::INVALID)
        }
        [op::PushInstVar, k, op::ReturnTop] => {
            (Activation::ReturnInstVar, u16::from(k), Word::INVALID)
        }
        [op::PushLiteral, k, op::ReturnTop] => {
            (Activation::ReturnLiteral, u16::from(k), Word::INVALID)
        }
        [op::PushSmallInt, v, op::ReturnTop] => (
            Activation::ReturnConstant,
            0,
            Word::small_int(i64::from(v as i8)),
        ),
        [op::PushNil, op::ReturnTop] => (Activation::ReturnConstant, 0, crate::layout::NIL_WORD),
        [op::PushTrue, op::ReturnTop] => (Activation::ReturnConstant, 0, crate::layout::TRUE_WORD),
        [op::PushFalse, op::ReturnTop] => {
            (Activation::ReturnConstant, 0, crate::layout::FALSE_WORD)
        }
        _ => none,
    }
}

/// Scratch buffers for registering methods (reused when many are registered at once).
#[derive(Default)]
pub(crate) struct RegisterScratch {
    /// Selector and argument count of each send site.
    sites: Vec<(Word, u8)>,
    /// Whether a send names each site yet.
    used: Vec<bool>,
}

impl crate::Vm {
    /// Registers the compiled method or block `m` (a heap object) in the side table: copies its
    /// bytecodes into the code arena, makes a cache cell per send site (from the site table,
    /// which names each site's selector literal), decodes its header (primitive number
    /// included) and writes the new id into the object. Everything is read from the object:
    /// this is the one way into the side table, for installed code and for the methods of a
    /// loaded image (`snapshot.rs` resolves their primitives by name first). Does not allocate
    /// in the heap. A site table that does not fit the code (a site without a Symbol literal,
    /// a send through a missing site, a site two sends share, one no send uses) is refused.
    pub fn register_method(&mut self, m: Word) -> Result<MethodId, crate::VmError> {
        let mut scratch = RegisterScratch::default();
        self.register_method_with(m, &mut scratch, true)
            .map_err(crate::VmError::Load)
    }

    /// [`Vm::register_method`] with scratch buffers. `check_code` decodes every instruction to
    /// check that the sends and the site table agree; only the embedded default image (built
    /// and checked by this build) is registered without it, in release builds: the decoding
    /// pass is two fifths of a start.
    pub(crate) fn register_method_with(
        &mut self,
        m: Word,
        scratch: &mut RegisterScratch,
        check_code: bool,
    ) -> Result<MethodId, String> {
        use crate::bytecode::{Op, instructions};
        use crate::objects::{MethodInfoBits, method};
        let o = m.oop();
        let bits =
            MethodInfoBits::decode(self.heap.slot(o, method::INFO).as_small_int().unwrap_or(0));
        let pointers = self.heap.method_pointer_slots(o);
        let nlit = pointers.saturating_sub(method::FIRST_LITERAL + method::TRAILER);
        let sites = &mut scratch.sites;
        sites.clear();
        let table = self.method_trailer(m, method::SITES_BACK);
        if table != self.nil() {
            let bytes = table
                .as_oop()
                .filter(|t| self.heap.header(*t).class_index() == ci::BYTE_ARRAY)
                .map(|t| self.heap.bytes(t))
                .filter(|b| b.len() % 2 == 0)
                .ok_or("its site table is not a ByteArray of 16-bit literal indices")?;
            for pair in bytes.chunks_exact(2) {
                let k = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                let sel = (k < nlit)
                    .then(|| self.heap.slot(o, method::FIRST_LITERAL + k))
                    .filter(|w| self.is_symbol(*w))
                    .ok_or("a send site whose literal is not a selector")?;
                let nargs = self.string_bytes(sel).map_or(0, selector_arity);
                sites.push((sel, nargs));
            }
        }
        let used = &mut scratch.used;
        used.clear();
        used.resize(sites.len(), !check_code);
        let code: &[u8] = if check_code {
            self.heap.method_bytes(o)
        } else {
            &[]
        };
        for ins in instructions(code) {
            let ins = ins.map_err(|e| format!("its bytecodes do not decode ({e})"))?;
            if matches!(ins.op, Op::Send | Op::SuperSend) {
                let s = ins.operands[0] as usize;
                match used.get_mut(s) {
                    Some(u) if !*u => *u = true,
                    Some(_) => return Err(format!("two sends share send site {s}")),
                    None => return Err(format!("a send through send site {s}, which it lacks")),
                }
            }
        }
        if used.contains(&false) {
            return Err("a send site that no send uses".into());
        }
        let id = self
            .methods
            .register(m, bits, self.heap.method_bytes(o), nlit, sites)
            .ok_or_else(|| "the code space is full".to_string())?;
        self.heap
            .set_slot(o, method::ID, Word::small_int(i64::from(id.0)));
        Ok(id)
    }
}

impl crate::Vm {
    /// The literal index of send site `s` of the method or block `m`, from its site table.
    pub fn site_literal(&self, m: Word, s: usize) -> Option<usize> {
        let table = self
            .method_trailer(m, crate::objects::method::SITES_BACK)
            .as_oop()
            .filter(|t| self.heap.header(*t).class_index() == ci::BYTE_ARRAY)?;
        let pair = self.heap.bytes(table).get(2 * s..2 * s + 2)?;
        Some(usize::from(u16::from_le_bytes([pair[0], pair[1]])))
    }
}

/// The number of arguments a selector takes, from its bytes: keywords count their colons,
/// anything not starting like an identifier is binary.
pub(crate) fn selector_arity(name: &[u8]) -> u8 {
    match name.first() {
        None => 0,
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            name.iter().filter(|b| **b == b':').count().min(255) as u8
        }
        Some(c) if c.is_ascii() => 1,
        // A non-ASCII start: let the compiler's rule decide (letters start identifiers).
        Some(_) => std::str::from_utf8(name)
            .map_or(1, |s| crate::compiler::selector_arity(s).min(255) as u8),
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
