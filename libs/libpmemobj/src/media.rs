//! How stores reach persistence: cache flushes and fences on persistent memory (through
//! the shared `persist` primitives), `msync` on page-cache backed files, or a caller's hook
//! (the power-failure model the tests use, which records flushes and fences).

use std::sync::Arc;

/// A recorder of flushes and fences, standing in for the hardware in tests.
pub trait Hook: Send + Sync {
    fn flush(&self, addr: *const u8, len: usize);
    fn drain(&self);
}

pub enum Media {
    /// Cache-line write-back plus store fence.
    Pmem,
    /// Page write-back with msync; no fence needed.
    Msync,
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
            Media::Msync => {
                let _ = crate::os::msync(addr, len);
            }
            Media::Hook(h) => h.flush(addr, len),
        }
    }

    /// Waits for earlier flushes.
    #[inline]
    pub fn drain(&self) {
        match self {
            Media::Pmem => persist::flush::drain(),
            Media::Msync => {}
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
