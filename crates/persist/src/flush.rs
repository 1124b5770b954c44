//! Cache-line write-back and store fences. Every flush goes through [`flush_lines`], which
//! uses the instruction chosen in `cpu.rs`; ordinary flushes are skipped where the platform
//! flushes caches itself.

use super::cpu::{config, Flush};
use std::arch::asm;

pub const CACHELINE: usize = 64;

/// Writes back every cache line touching `[addr, addr + len)`, with `kind`.
///
/// # Safety
/// The range must be mapped (flush instructions fault on unmapped addresses).
#[inline]
pub unsafe fn flush_lines(kind: Flush, addr: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    let mut p = addr as usize & !(CACHELINE - 1);
    let end = addr as usize + len;
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
                // SAFETY: as above.
                unsafe { asm!("clflushopt [{0}]", in(reg) p, options(nostack, preserves_flags)) };
                p += CACHELINE;
            }
        }
        Flush::Clflush => {
            while p < end {
                // SAFETY: as above; CLFLUSH is serialising and needs no fence of its own.
                unsafe { asm!("clflush [{0}]", in(reg) p, options(nostack, preserves_flags)) };
                p += CACHELINE;
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

    #[test]
    fn every_instruction_keeps_data() {
        let mut buf = vec![0u8; 4096 + 3];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = i as u8;
        }
        for kind in [Flush::Clwb, Flush::ClflushOpt, Flush::Clflush] {
            let ok = match kind {
                Flush::Clwb => std::arch::x86_64::__cpuid_count(7, 0).ebx & (1 << 24) != 0,
                Flush::ClflushOpt => std::arch::x86_64::__cpuid_count(7, 0).ebx & (1 << 23) != 0,
                Flush::Clflush => true,
            };
            if !ok {
                continue;
            }
            // SAFETY: the vector is live and mapped.
            unsafe { flush_lines(kind, buf.as_ptr().add(1), buf.len() - 1) };
            drain();
        }
        assert!(buf.iter().enumerate().all(|(i, &b)| b == i as u8));
    }
}
