//! Code memory that smalt manages: one reserved mapping, carved into blocks of machine code
//! with a first-fit free list, so that code of a method that was redefined (or that died) is
//! freed and its space reused, and methods share pages (cranelift-jit's module can neither free
//! one function nor avoid a page per finalised batch; see the probes' NOTES §7).
//!
//! # Invariants (unsafe code)
//!
//! * `base..base + size` is one private anonymous mapping owned by the arena, unmapped on drop.
//!   Pages are read+execute except while [`CodeArena::install`] copies code into them, which
//!   happens with no native code running on another thread (a VM is used by one thread at a
//!   time) and restores read+execute before returning, so code running further down the stack
//!   (the caller of a runtime call that compiles) finds its page executable again.
//! * Blocks handed out never overlap: `free` holds disjoint ranges below `top`, and a range is
//!   handed out once until [`CodeArena::free`] gives it back. The caller frees a block only when
//!   no native frame can still execute it (see `Jit::sweep`).
//! * x86-64 keeps instruction caches coherent with stores; another architecture would need an
//!   instruction-cache flush after the copy.

use std::collections::BTreeMap;

/// Alignment of every block (function entries are 16-byte aligned).
pub const ALIGN: usize = 16;

/// The code memory.
pub struct CodeArena {
    base: *mut u8,
    size: usize,
    top: usize,
    /// Free ranges below `top`: start → length.
    free: BTreeMap<usize, usize>,
    used: usize,
}

// SAFETY: the arena owns its mapping; moving it to another thread moves that ownership.
unsafe impl Send for CodeArena {}

fn page() -> usize {
    4096
}

impl CodeArena {
    /// Reserves `size` bytes of address space (pages are backed when first written).
    pub fn new(size: usize) -> Option<CodeArena> {
        let size = size.div_ceil(page()) * page();
        // SAFETY: an anonymous private mapping at an address of the kernel's choice; no
        // existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        Some(CodeArena {
            base: base as *mut u8,
            size,
            top: 0,
            free: BTreeMap::new(),
            used: 0,
        })
    }

    /// The address range of the arena.
    pub fn range(&self) -> (usize, usize) {
        (self.base as usize, self.base as usize + self.size)
    }

    /// Bytes in blocks handed out and not freed.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Bytes between the start and the highest block ever handed out.
    pub fn high_water(&self) -> usize {
        self.top
    }

    fn take(&mut self, len: usize) -> Option<usize> {
        let len = len.div_ceil(ALIGN) * ALIGN;
        let found = self
            .free
            .iter()
            .find(|&(_, &l)| l >= len)
            .map(|(&s, &l)| (s, l));
        if let Some((start, l)) = found {
            self.free.remove(&start);
            if l > len {
                self.free.insert(start + len, l - len);
            }
            self.used += len;
            return Some(start);
        }
        if self.top + len > self.size {
            return None;
        }
        let start = self.top;
        self.top += len;
        self.used += len;
        Some(start)
    }

    /// Copies `code` into a free block; answers its address.
    pub fn install(&mut self, code: &[u8]) -> Option<usize> {
        let start = self.take(code.len().max(1))?;
        let first = start / page() * page();
        let end = (start + code.len()).div_ceil(page()) * page();
        // SAFETY: `first..end` lies inside the mapping (`take` keeps blocks below `size`,
        // which is a whole number of pages). Making it writable for the copy and executable
        // again afterwards affects only this arena's pages.
        unsafe {
            let p = self.base.add(first) as *mut libc::c_void;
            if libc::mprotect(p, end - first, libc::PROT_READ | libc::PROT_WRITE) != 0 {
                self.release(start, code.len());
                return None;
            }
            std::ptr::copy_nonoverlapping(code.as_ptr(), self.base.add(start), code.len());
            let back = libc::mprotect(p, end - first, libc::PROT_READ | libc::PROT_EXEC);
            assert_eq!(back, 0, "code pages could not be made executable again");
        }
        Some(self.base as usize + start)
    }

    fn release(&mut self, start: usize, len: usize) {
        let mut start = start;
        let mut len = len.max(1).div_ceil(ALIGN) * ALIGN;
        self.used -= len;
        // Merge with the neighbours.
        if let Some((&s, &l)) = self.free.range(..start).next_back()
            && s + l == start
        {
            self.free.remove(&s);
            start = s;
            len += l;
        }
        if let Some(&l) = self.free.get(&(start + len)) {
            self.free.remove(&(start + len));
            len += l;
        }
        if start + len == self.top {
            self.top = start;
        } else {
            self.free.insert(start, len);
        }
    }

    /// Gives back the block at `addr` of `len` bytes (from [`CodeArena::install`]).
    pub fn free(&mut self, addr: usize, len: usize) {
        let start = addr - self.base as usize;
        debug_assert!(start + len <= self.top);
        self.release(start, len);
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no code in it runs any more (the
        // arena lives as long as the VM's tier).
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_reused_and_merged() {
        let mut a = CodeArena::new(1 << 16).unwrap();
        let x = a.install(&[0xC3; 100]).unwrap();
        let y = a.install(&[0xC3; 40]).unwrap();
        assert_eq!(y - x, 112);
        a.free(x, 100);
        let z = a.install(&[0xC3; 30]).unwrap();
        assert_eq!(z, x, "first fit reuses the freed block");
        a.free(z, 30);
        a.free(y, 40);
        assert_eq!(a.used(), 0);
        assert_eq!(a.high_water(), 0, "freeing everything gives the space back");
    }
}
