//! Cheney's copying collector.
//!
//! # The algorithm
//!
//! 1. Take the current space as *from-space* and a spare vector of at least the same size as
//!    *to-space*.
//! 2. Copy every object a root refers to into to-space (*forwarding* it: its from-space header
//!    is overwritten with the index of the copy, see [`crate::header`]) and update the root.
//! 3. Walk to-space from its start: for each copied object, forward every reference in its
//!    pointer slots, copying referents that were not copied yet to the end of to-space. The walk
//!    ends when it catches up with the end of the copies. Byte and word objects are copied but
//!    not scanned; weak objects are copied, not scanned, and remembered.
//! 4. Weak slots and weak roots: a referent that was copied is updated, one that was not is dead
//!    and the slot becomes nil.
//! 5. To-space becomes the current space; from-space is kept as the next spare. If live data
//!    exceeds the configured fraction of the space, or the allocation that triggered the
//!    collection still does not fit, the space grows (a `Vec::resize`: references are offsets,
//!    so nothing moves). A request that cannot fit even at the maximum size fails with
//!    [`AllocError::OutOfMemory`] and grows nothing.
//!
//! # Invariant
//!
//! Every root slot is visited exactly once per collection: forwarding a to-space reference a
//! second time would misread it as a from-space one.

use crate::header::{Format, Header, OVERFLOW_SLOTS, overflow_count};
use crate::heap::{AllocError, Heap, method_pointer_end, object_extent};
use crate::word::{Oop, Word};
use std::time::Instant;

/// The VM's roots, visited by the collector.
///
/// The heap's own roots (nil, the class table and the handle stack) are visited by the heap.
/// Order is part of the contract: nil is copied first, then the objects reached from the VM's
/// strong roots *in the order they are visited*, then the class table and handles. So objects
/// that were allocated first and are visited first keep their offsets across collections: the VM
/// allocates nil, true and false as the first three objects and visits true and false first,
/// which makes all three immovable.
pub trait Roots {
    /// Calls `visit` once on every strong root slot; the collector rewrites the slot.
    fn visit_strong(&mut self, visit: &mut dyn FnMut(&mut Word));

    /// Calls `visit` once on every weak root slot, after tracing: a slot whose referent died is
    /// set to nil, others are updated. The default has no weak roots.
    fn visit_weak(&mut self, visit: &mut dyn FnMut(&mut Word)) {
        let _ = visit;
    }
}

/// No roots beyond the heap's own (for tests and benches).
impl Roots for () {
    fn visit_strong(&mut self, _visit: &mut dyn FnMut(&mut Word)) {}
}

struct Copier<'a> {
    from: &'a mut [u64],
    to: &'a mut [u64],
    top: usize,
}

impl Copier<'_> {
    /// The to-space word for `w`, copying its referent if this is the first reference to it.
    #[inline]
    fn forward(&mut self, w: Word) -> Word {
        let Some(oop) = w.as_oop() else { return w };
        let i = oop.index();
        let h = Header::from_raw(self.from[i]);
        if h.is_forwarded() {
            return Oop::from_index(h.forward_index()).word();
        }
        let n = h.slot_field();
        let (start, slots) = if n == OVERFLOW_SLOTS {
            (i - 1, overflow_count(self.from[i - 1]))
        } else {
            (i, n)
        };
        let total = (i - start) + 1 + slots;
        let dest = self.top;
        self.to[dest..dest + total].copy_from_slice(&self.from[start..start + total]);
        self.top += total;
        let new_header = dest + (i - start);
        self.from[i] = Header::forwarding(new_header).raw();
        Oop::from_index(new_header).word()
    }

    /// For a weak slot: the updated reference if the referent survived, else `nil`.
    #[inline]
    fn forward_weak(&self, w: Word, nil: Word) -> Word {
        let Some(oop) = w.as_oop() else { return w };
        let h = Header::from_raw(self.from[oop.index()]);
        if h.is_forwarded() {
            Oop::from_index(h.forward_index()).word()
        } else {
            nil
        }
    }
}

impl Heap {
    /// Collects garbage, then makes sure an object of `need_slots` slots can be allocated,
    /// growing the space if needed and allowed.
    ///
    /// Returns [`AllocError::OutOfMemory`] if the live data plus the request exceed the
    /// configured maximum; the heap is consistent either way.
    ///
    /// If the host cannot give the to-space, nothing is collected and the result is
    /// [`AllocError::OutOfMemory`].
    pub fn collect(&mut self, roots: &mut dyn Roots, need_slots: usize) -> Result<(), AllocError> {
        let started = Instant::now();
        self.reserve_to_space()?;
        let mut from = std::mem::take(&mut self.space);
        let mut to = std::mem::take(&mut self.spare);
        let mut c = Copier {
            from: &mut from,
            to: &mut to,
            top: 1,
        };

        // Roots: nil first, then the VM's (in the order it visits them), then the class table
        // and the handles. Copying nil first keeps it at word 1 for ever; the VM relies on
        // this to keep nil, true and false at fixed places (see `Roots`).
        self.nil = c.forward(self.nil);
        roots.visit_strong(&mut |w: &mut Word| *w = c.forward(*w));
        for w in self
            .classes
            .entries
            .iter_mut()
            .chain(self.handles.iter_mut())
        {
            *w = c.forward(*w);
        }

        // Cheney scan.
        let mut weak = Vec::new();
        let mut scan = 1;
        while scan < c.top {
            let (h, end) = object_extent(c.to, scan);
            let header = Header::from_raw(c.to[h]);
            let pointer_end = match header.format() {
                Some(Format::Weak) => {
                    weak.push(h);
                    h + 1
                }
                Some(f) if f.is_pointers() => end,
                Some(Format::CompiledMethod { .. }) => method_pointer_end(c.to, h, end),
                Some(_) => h + 1,
                None => panic!("corrupt heap: bad format in header {header:?} at word {h}"),
            };
            for s in h + 1..pointer_end {
                let v = c.forward(Word::from_raw(c.to[s]));
                c.to[s] = v.raw();
            }
            scan = end;
        }

        // Weak slots and weak roots.
        let nil = self.nil;
        for h in weak {
            let n = Header::from_raw(c.to[h]).slot_field();
            let n = if n == OVERFLOW_SLOTS {
                overflow_count(c.to[h - 1])
            } else {
                n
            };
            for s in h + 1..h + 1 + n {
                c.to[s] = c.forward_weak(Word::from_raw(c.to[s]), nil).raw();
            }
        }
        roots.visit_weak(&mut |w: &mut Word| *w = c.forward_weak(*w, nil));

        let live = c.top;
        self.space = to;
        self.spare = from;
        self.top = live;

        self.stats.collections += 1;
        self.stats.bytes_copied += (live * 8) as u64;
        self.stats.live_bytes_after_last = live * 8;
        let result = self.grow_after_collection(need_slots);
        self.update_native_limit();
        self.stats.total_time += started.elapsed();
        result
    }

    /// Makes the spare at least as large as the space, so it can take every live object.
    ///
    /// A spare too small is dropped before its replacement is made: growing it in place would
    /// copy its (dead) contents and hold both for a moment, so the process would need three
    /// spaces' worth of memory instead of two.
    fn reserve_to_space(&mut self) -> Result<(), AllocError> {
        let len = self.space.len();
        if self.spare.len() < len {
            self.spare = Vec::new();
            // Zeroed memory from the allocator: the pages are mapped when first touched.
            self.spare = bytemuck::allocation::try_zeroed_vec::<u64>(len).map_err(|_| {
                AllocError::OutOfMemory {
                    requested: len * 8,
                    limit: self.max_words() * 8,
                }
            })?;
        }
        Ok(())
    }

    /// The growth policy: after a collection the space grows (at least doubling, up to the
    /// maximum) when live data plus the request exceed `grow_percent` of it; a request that
    /// cannot fit even in a maximum-size space (less the reserve, unless it is released) fails
    /// without growing anything.
    fn grow_after_collection(&mut self, need_slots: usize) -> Result<(), AllocError> {
        // Room for the header and an overflow word, whatever the size.
        let need = need_slots.saturating_add(2);
        let cap = self.space.len();
        let max = self.max_words();
        let out_of_memory = AllocError::OutOfMemory {
            requested: need_slots.saturating_mul(8),
            limit: max * 8,
        };
        // The part of the space allocation may use, and the words the reserve keeps after it.
        let usable = self.max_alloc_words();
        let kept = max - usable;
        let required = match self.top.checked_add(need) {
            Some(r) if r <= usable => r + kept,
            _ => return Err(out_of_memory),
        };
        // `required <= max <= 2^32`, so this cannot overflow.
        let wanted = required * 100 / self.config.grow_percent.clamp(10, 100);
        if wanted > cap {
            let new_cap = wanted.max(cap.saturating_mul(2)).min(max);
            // If the host refuses the policy's size, settle for what the request needs.
            if !self.try_grow(new_cap) && !self.try_grow(required) {
                return Err(out_of_memory);
            }
        }
        if self.free_words() < need {
            // The host gave less than the policy asked for: the reserve would be used.
            return Err(out_of_memory);
        }
        Ok(())
    }

    /// Grows the space to `words` words (no-op if it is that large); false if the host refused.
    fn try_grow(&mut self, words: usize) -> bool {
        let len = self.space.len();
        if words <= len {
            return true;
        }
        if self.space.try_reserve_exact(words - len).is_err() {
            return false;
        }
        self.space.resize(words, 0);
        true
    }

    /// Overwrites the spare (former from-space) with a poison pattern, so that a stale
    /// reference read after a collection shows up at once. For tests and the verifier mode.
    pub fn poison_spare(&mut self) {
        self.spare.fill(0xDEAD_BEEF_DEAD_BEE0);
    }
}
