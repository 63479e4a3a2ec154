//! What the JIT asks the operating system: the machine-stack limit for native code on the
//! current thread, and the thread's CPU time (compile times are measured in it, so that a
//! loaded machine does not inflate them).
//!
//! Native code recurses on the machine stack; at every entry it compares its stack pointer
//! with `NativeRuntime::stack_limit`, and below it the activation runs in the interpreter
//! instead (which never recurses on the machine stack). The limit leaves [`RESERVE`] bytes
//! above the lowest address of the thread's stack for what runs below native frames: runtime
//! calls, the interpreter loop, primitives, nested runs from Rust, the collector and the
//! compiler.
//!
//! # Invariants (unsafe code)
//!
//! * `pthread_getattr_np` is called on the current thread with an attribute object that is
//!   initialised by it and destroyed right after; nothing else reads it.
//! * `clock_gettime` writes only the `timespec` it is given.

use std::cell::Cell;

/// Bytes of machine stack kept free below the deepest native frame.
pub const RESERVE: usize = 768 * 1024;

thread_local! {
    static LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// The lowest address of the current thread's stack, if the system says.
fn stack_low() -> Option<usize> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `pthread_getattr_np` initialises `attr` for the calling thread; on success it is
    // read with `pthread_attr_getstack` and destroyed once.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let r = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        if r != 0 || addr.is_null() {
            return None;
        }
        Some(addr as usize)
    }
}

/// The limit for the current thread (computed once per thread). Without stack bounds it is
/// `usize::MAX`: native code then always defers to the interpreter.
pub fn limit() -> usize {
    LIMIT.with(|l| {
        if l.get() == 0 {
            l.set(stack_low().map_or(usize::MAX, |low| low + RESERVE));
        }
        l.get()
    })
}

/// CPU time used by the current thread.
pub fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
