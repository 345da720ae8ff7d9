//! A global allocator that counts the bytes in use and their peak, for the
//! benchmarks' heap figures. Included by path by every crate's benchmarks.
#![allow(unsafe_code, dead_code)]

use std::alloc::{GlobalAlloc, Layout};

/// The allocator underneath: the one the `vpcform` binary uses.
static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Debug)]
pub(crate) struct Counting;

pub(crate) static CURRENT: AtomicUsize = AtomicUsize::new(0);
pub(crate) static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Off while timing: counting costs shared atomics on every allocation,
/// which threads contend for.
static ENABLED: AtomicBool = AtomicBool::new(true);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !ENABLED.load(Ordering::Relaxed) {
            return unsafe { INNER.alloc(layout) };
        }
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { INNER.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ENABLED.load(Ordering::Relaxed) {
            return unsafe { INNER.dealloc(ptr, layout) };
        }
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { INNER.dealloc(ptr, layout) }
    }
}

/// Starts measuring: the peak is counted from the bytes in use now.
pub(crate) fn reset() -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    base
}

/// The peak since `reset` returned `base`, in MiB.
pub(crate) fn peak_mib(base: usize) -> f64 {
    (PEAK.load(Ordering::Relaxed) - base) as f64 / (1024.0 * 1024.0)
}

/// Runs `f` without counting. Whatever it allocates must be freed before it
/// returns, or the counts go wrong.
pub(crate) fn uncounted<T>(f: impl FnOnce() -> T) -> T {
    ENABLED.store(false, Ordering::SeqCst);
    let out = f();
    ENABLED.store(true, Ordering::SeqCst);
    out
}
