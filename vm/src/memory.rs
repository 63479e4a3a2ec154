//! Running out of memory: the reserve, the collection-storm rule, and how an OutOfMemory error
//! reaches Smalltalk.
//!
//! # The problem
//!
//! Signalling an error allocates (the exception, contexts, strings), so a VM that signals
//! OutOfMemory from the allocation that failed fails again inside the signal, collects again,
//! and so on: one full collection per level of a recursion that never ends. And a heap that is
//! nearly full of live data is collected again and again, each time for a few bytes: the
//! program does nothing but collect.
//!
//! # What smalt does
//!
//! * **A reserve.** The heap keeps the last [`RESERVE_BYTES`] (at most an eighth of the heap)
//!   of its space free (`smalt_gc::Heap::release_reserve`). Normal allocation never uses it.
//! * **Short of memory** means: a collection could not make room for a request, or it left
//!   less than [`STARVED_FRACTION`] of the heap free once the space cannot grow any more
//!   (then the next collection would come almost at once, for nothing: a collection storm).
//! * The first time memory runs short, the reserve is released. A small request (one that a
//!   quarter of the reserve holds: the VM's own objects, contexts, closures, small arrays) is
//!   served from it, and [`Vm::pending_out_of_memory`] asks the next poll point to signal
//!   `OutOfMemory` there (`interrupts.rs`): the program is at a consistent point, and signalling
//!   and handling the error run in the reserve, never in the exhausted space. A larger request
//!   is refused with `VmError::OutOfMemory`: the primitive that asked fails and its Smalltalk
//!   code signals the error, with the reserve to run in.
//! * A request that is too large while the heap has room (`Array new: 1e12`) is refused at
//!   once, without releasing anything.
//! * `on: OutOfMemory do:` catches the error; unhandled, it reports and unwinds (ensure:
//!   blocks run) as every error does.
//! * Once a collection leaves enough room again (the handler dropped what filled the heap), the
//!   reserve is kept free again ("re-armed").
//! * If memory runs short again while the reserve is released (the handler itself fills
//!   memory, or nothing was freed), there is nothing left to signal with: the run stops with a
//!   message (`VmError::Load`), at once, without collecting again and again.

use crate::vm::{Vm, VmError};
use smalt_gc::MAX_SPACE_BYTES;

/// The default heap limit: a quarter of the machine's memory (or of the control group's
/// limit, in a container), between 64 MiB and the largest space. The copying collector may
/// need as much again while it runs, so the process stays under half the memory. Where the
/// memory size cannot be read, 4 GiB.
pub fn default_heap_limit() -> usize {
    let Some(memory) = machine_memory_bytes() else {
        return 4 << 30;
    };
    (memory / 4).clamp(64 << 20, MAX_SPACE_BYTES)
}

/// The memory this process may use: the machine's (`/proc/meminfo`), or less if a control
/// group (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`) limits it.
fn machine_memory_bytes() -> Option<usize> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total_kb: usize = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let total = total_kb.checked_mul(1024)?;
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .filter_map(|s| s.trim().parse::<usize>().ok())
    .min();
    Some(cgroup.map_or(total, |c| c.min(total)))
}

/// The memory reserve kept for signalling and handling OutOfMemory (capped at an eighth of the
/// heap's limit by the heap).
pub const RESERVE_BYTES: usize = 1 << 20;

/// A collection that leaves less than this fraction of the heap free, with the heap at its
/// largest, counts as running out of memory: the program would do little but collect.
/// Collecting a heap so full copies about 15 words per word the program may then allocate.
pub const STARVED_FRACTION: usize = 16;

impl Vm {
    /// The slow path of [`Vm::reserve`]: collects, then decides what a shortage means.
    #[cold]
    #[inline(never)]
    pub(crate) fn reserve_slow(&mut self, slots: usize) -> Result<(), VmError> {
        let handling = self.heap.reserve_released();
        let collected = self.collect_garbage(slots).is_ok();
        let starved = self.starved();
        if collected && !starved {
            return Ok(());
        }
        if !starved {
            // The heap has room; this request is just too large for it.
            return Err(VmError::OutOfMemory);
        }
        if handling {
            return Err(self.heap_stays_full());
        }
        // Short of memory for the first time: release the reserve, serve a small request
        // from it and signal OutOfMemory at the next poll point; refuse a large one (its
        // primitive signals the error).
        self.heap.release_reserve();
        let small = slots <= self.heap.reserve_bytes() / 8 / 4;
        if collected || (small && self.heap.can_allocate(slots)) {
            self.pending_out_of_memory = true;
            // Every poll point of every tier reads the interrupt flag: raise it so the next
            // one attends to the OutOfMemory.
            self.out_of_memory_raised_flag = !self
                .interrupt
                .swap(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(());
        }
        Err(VmError::OutOfMemory)
    }

    /// Whether the heap is as large as it may become and less than [`STARVED_FRACTION`] of it
    /// is free.
    fn starved(&self) -> bool {
        self.heap.at_max_size()
            && self.heap.free_words() < self.heap.usable_bytes() / 8 / STARVED_FRACTION
    }

    /// After a collection: keeps the reserve free again if it was released and the heap now
    /// has room to spare besides the reserve and a request of `need_slots`.
    pub(crate) fn rearm_memory_reserve(&mut self, need_slots: usize) {
        if !self.heap.reserve_released() {
            return;
        }
        let room = self.heap.usable_bytes() / 8 / STARVED_FRACTION;
        let spare = self.heap.reserve_bytes() / 8 + room + need_slots + 2;
        if self.heap.free_words() >= spare {
            self.heap.rearm_reserve();
        }
    }

    /// The error that stops a run when memory runs short while the reserve is in use.
    #[cold]
    fn heap_stays_full(&self) -> VmError {
        let mb = |bytes: usize| bytes.div_ceil(1 << 20);
        VmError::Load(format!(
            "out of memory: the heap stays full after an OutOfMemory error \
             ({} MB in use, limit {} MB); raise the limit with --max-heap",
            mb(self.heap.used_bytes()),
            mb(self.heap_limit_bytes())
        ))
    }
}
