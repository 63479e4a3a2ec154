//! The global allocator: mimalloc for everything but huge blocks, which go to the system
//! allocator.
//!
//! The object memory's spaces are huge blocks (up to the heap limit each). mimalloc keeps the
//! memory of a freed block for a while (its purge delay, a second by default) before it gives
//! it back to the system, so while a heap grows, the spaces it replaced would still count in
//! the process's memory next to the new ones: the process would briefly hold three or four
//! spaces' worth instead of the two the copying collector needs. glibc serves blocks this large
//! with their own `mmap`, unmaps them when they are freed and grows them with `mremap`, so the
//! process holds what the heap holds, when it holds it.

use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large go to the system allocator. glibc maps every block of 32 MiB or
/// more on its own, whatever its dynamic threshold has become.
const HUGE: usize = 32 << 20;

/// mimalloc, with huge blocks from the system allocator.
pub struct SmaltAlloc;

fn is_huge(layout: &Layout) -> bool {
    layout.size() >= HUGE
}

// SAFETY: every method forwards to one of two allocators that implement `GlobalAlloc`
// correctly, choosing by the block's size: a block is always freed or resized by the allocator
// that made it, because the size in its layout (which the caller must pass unchanged) picks
// the same one. A resize that crosses the threshold moves the block between the two.
unsafe impl GlobalAlloc for SmaltAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe {
            if is_huge(&layout) {
                System.alloc(layout)
            } else {
                MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on unchanged.
        unsafe {
            if is_huge(&layout) {
                System.alloc_zeroed(layout)
            } else {
                MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator with `layout`, so by the allocator
        // that `layout` selects.
        unsafe {
            if is_huge(&layout) {
                System.dealloc(ptr, layout)
            } else {
                MiMalloc.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` and `layout` describe a block of this allocator
        // and that `new_size`, rounded to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_huge(&layout), is_huge(&new_layout)) {
            // SAFETY: the block belongs to the allocator both layouts select.
            (true, true) => unsafe { System.realloc(ptr, layout, new_size) },
            // SAFETY: as above.
            (false, false) => unsafe { MiMalloc.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: a new block from the allocator that owns the new size; the old one
                // is copied (as much of it as fits) and freed by the allocator that made it.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}
