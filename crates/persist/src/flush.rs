//! Cache-line write-back and store fences. Every flush goes through [`flush_lines`], which
//! uses the instruction chosen in `cpu.rs`; ordinary flushes are skipped where the platform
//! flushes caches itself.

use super::cpu::{config, Flush};
use std::arch::asm;

pub const CACHELINE: usize = 64;

/// The cache lines holding `[addr, addr + len)`: the address of the first and the end of
/// the last (both multiples of [`CACHELINE`]); an empty pair for `len == 0`.
#[inline(always)]
fn line_span(addr: usize, len: usize) -> (usize, usize) {
    if len == 0 {
        return (addr, addr);
    }
    let first = addr & !(CACHELINE - 1);
    let end = (addr + len + CACHELINE - 1) & !(CACHELINE - 1);
    (first, end)
}

/// Writes back every cache line touching `[addr, addr + len)`, with `kind`.
///
/// # Safety
/// The range must be mapped (flush instructions fault on unmapped addresses).
#[inline]
pub unsafe fn flush_lines(kind: Flush, addr: *const u8, len: usize) {
    let (mut p, end) = line_span(addr as usize, len);
    // The asm blocks below omit `nomem`, so the compiler keeps every earlier store before them.
    match kind {
        Flush::Clwb => {
            while p < end {
                // SAFETY: `p` lies in a line the caller guarantees is mapped.
                unsafe { asm!("clwb [{0}]", in(reg) p, options(nostack, preserves_flags)) };
                p += CACHELINE;
            }
        }
        Flush::ClflushOpt => {
            while p < end {
                // SAFETY: `p` lies in a line the caller guarantees is mapped; CLFLUSHOPT
                // only writes the line back.
                unsafe { asm!("clflushopt [{0}]", in(reg) p, options(nostack, preserves_flags)) };
                p += CACHELINE;
            }
        }
        Flush::Clflush => {
            while p < end {
                // SAFETY: `p` lies in a line the caller guarantees is mapped; CLFLUSH is
                // serialising and needs no fence of its own.
                unsafe { asm!("clflush [{0}]", in(reg) p, options(nostack, preserves_flags)) };
                p += CACHELINE;
            }
        }
    }
}

/// Writes back the one cache line holding `addr` with `kind`.
///
/// # Safety
/// `addr` must be mapped.
#[inline(always)]
pub unsafe fn flush_line(kind: Flush, addr: *const u8) {
    // SAFETY: the caller guarantees `addr` is mapped; no `nomem`, so earlier stores stay
    // before the flush.
    unsafe {
        match kind {
            Flush::Clwb => asm!("clwb [{0}]", in(reg) addr, options(nostack, preserves_flags)),
            Flush::ClflushOpt => {
                asm!("clflushopt [{0}]", in(reg) addr, options(nostack, preserves_flags))
            }
            Flush::Clflush => {
                asm!("clflush [{0}]", in(reg) addr, options(nostack, preserves_flags))
            }
        }
    }
}

/// `pmem_flush`: writes back the range unless flushing is switched off.
///
/// # Safety
/// The range must be mapped.
#[inline]
pub unsafe fn flush(addr: *const u8, len: usize) {
    let cfg = config();
    if !cfg.skip_flush {
        // SAFETY: forwarded caller guarantee.
        unsafe { flush_lines(cfg.flush, addr, len) };
    }
}

/// `pmem_deep_flush`: always writes back, even on auto-flush platforms.
///
/// # Safety
/// The range must be mapped.
pub unsafe fn deep_flush(addr: *const u8, len: usize) {
    // SAFETY: forwarded caller guarantee.
    unsafe { flush_lines(config().flush, addr, len) };
}

/// `pmem_drain`: orders earlier flushes and non-temporal stores before later stores.
#[inline(always)]
pub fn drain() {
    // SAFETY: SFENCE has no operands and cannot fault; as asm it is also a compiler barrier.
    unsafe { asm!("sfence", options(nostack, preserves_flags)) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The lines a byte-by-byte walk of the range touches.
    fn lines_of(addr: usize, len: usize) -> BTreeSet<usize> {
        (addr..addr + len).map(|a| a & !(CACHELINE - 1)).collect()
    }

    #[test]
    fn span_is_exactly_the_touched_lines() {
        for addr in [0usize, 1, 63, 64, 65, 127, 4096 - 1, 4096, 1 << 40] {
            for len in [0usize, 1, 2, 62, 63, 64, 65, 127, 128, 129, 1000, 4096] {
                let (first, end) = line_span(addr, len);
                let walk: BTreeSet<usize> = (first..end).step_by(CACHELINE).collect();
                assert_eq!(walk, lines_of(addr, len), "addr={addr} len={len}");
                if len > 0 {
                    assert_eq!((first % CACHELINE, end % CACHELINE), (0, 0));
                }
            }
        }
    }

    fn supported() -> Vec<Flush> {
        let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
        let mut v = vec![Flush::Clflush];
        if leaf7.ebx & (1 << 23) != 0 {
            v.push(Flush::ClflushOpt);
        }
        if leaf7.ebx & (1 << 24) != 0 {
            v.push(Flush::Clwb);
        }
        v
    }

    /// Flush instructions fault like loads on inaccessible memory, so flushing ranges that
    /// end at, or start just after, a PROT_NONE page proves no line outside the range is
    /// touched (one too many would kill the test with SIGSEGV).
    #[test]
    fn flushes_stay_inside_the_range() {
        let page = 4096;
        // SAFETY: a fresh private anonymous mapping of three pages.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                3 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base as *mut u8;
        // SAFETY: the first and last pages of our own mapping become guards.
        unsafe {
            assert_eq!(libc::mprotect(base.cast(), page, libc::PROT_NONE), 0);
            assert_eq!(
                libc::mprotect(base.add(2 * page).cast(), page, libc::PROT_NONE),
                0
            );
        }
        // SAFETY: the middle page is readable and writable.
        let mid = unsafe { base.add(page) };
        for kind in supported() {
            for off in [0usize, 1, 63, 64, 100, page - 64, page - 1] {
                for len in [0usize, 1, 63, 64, 65, page] {
                    if off + len > page {
                        continue;
                    }
                    // SAFETY: the range lies in the middle page; writing it first makes
                    // the flush have dirty lines to write back.
                    unsafe {
                        std::ptr::write_bytes(mid.add(off), 0x5a, len);
                        flush_lines(kind, mid.add(off), len);
                        // Ending exactly at the upper guard.
                        flush_lines(kind, mid.add(page - len), len);
                    }
                    drain();
                }
            }
            // An empty range at the guard's first byte touches nothing.
            // SAFETY: zero length; the address is never dereferenced.
            unsafe { flush_lines(kind, base.add(2 * page), 0) };
        }
        // Write-back leaves the data as written.
        // SAFETY: the middle page is mapped and readable; the mapping is ours to unmap.
        unsafe {
            let v = std::slice::from_raw_parts(mid, page);
            assert!(v.iter().all(|&b| b == 0x5a));
            assert_eq!(libc::munmap(base.cast(), 3 * page), 0);
        }
    }
}
