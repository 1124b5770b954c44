//! How stores reach persistence: cache flushes and fences on persistent memory (through
//! the shared `persist` primitives), `msync` on page-cache backed files, or a caller's hook
//! (the power-failure model the tests use, which records flushes and fences).

use std::sync::Arc;

/// A recorder of flushes and fences, standing in for the hardware in tests.
pub trait Hook: Send + Sync {
    fn flush(&self, addr: *const u8, len: usize);
    fn drain(&self);
}

thread_local! {
    /// The range this thread flushed and has not drained yet: (mapping, start, end).
    static PENDING: std::cell::Cell<(usize, usize, usize)> = const { std::cell::Cell::new((0, 0, 0)) };
}

pub enum Media {
    /// Cache-line write-back plus store fence.
    Pmem,
    /// Page write-back with msync, for the mapping starting at this address: flushes
    /// only collect the range, the drain writes it back with one msync call.
    Msync(usize),
    Hook(Arc<dyn Hook>),
}

impl Media {
    /// Starts writing back `[addr, addr+len)`.
    ///
    /// # Safety
    /// The range must lie in the pool mapping.
    #[inline]
    pub unsafe fn flush(&self, addr: *const u8, len: usize) {
        match self {
            // SAFETY: forwarded caller guarantee (mapped range).
            Media::Pmem => unsafe { persist::flush::flush(addr, len) },
            Media::Msync(base) => PENDING.with(|p| {
                let (b, lo, hi) = p.get();
                let (a, e) = (addr as usize, addr as usize + len);
                if b == *base && lo < hi {
                    p.set((b, lo.min(a), hi.max(e)));
                } else {
                    if lo < hi {
                        let _ = crate::os::msync(lo as *const u8, hi - lo);
                    }
                    p.set((*base, a, e));
                }
            }),
            Media::Hook(h) => h.flush(addr, len),
        }
    }

    /// Waits for earlier flushes.
    #[inline]
    pub fn drain(&self) {
        match self {
            Media::Pmem => persist::flush::drain(),
            Media::Msync(_) => PENDING.with(|p| {
                let (b, lo, hi) = p.get();
                if lo < hi {
                    let _ = crate::os::msync(lo as *const u8, hi - lo);
                    p.set((b, 0, 0));
                }
            }),
            Media::Hook(h) => h.drain(),
        }
    }

    /// Flush plus drain.
    ///
    /// # Safety
    /// The range must lie in the pool mapping.
    #[inline]
    pub unsafe fn persist(&self, addr: *const u8, len: usize) {
        // SAFETY: forwarded caller guarantee.
        unsafe { self.flush(addr, len) };
        self.drain();
    }
}
