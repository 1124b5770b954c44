//! `pmem_memmove`/`pmem_memset` with persistence: short operations use ordinary stores and
//! then flush the touched lines; long ones stream whole cache lines with non-temporal stores
//! (AVX-512, AVX2 or SSE2, chosen at run time), which bypass the cache and need no flush.
//! Long ordinary-store writes (`PMEM_F_MEM_TEMPORAL`, `PMEM_NO_MOVNT`) store and write back
//! one line after the other in the same loop, as libpmem does. Partial lines at either end
//! always take the ordinary-store-plus-flush path. Between the two thresholds, `_nodrain`
//! calls stream once the thread has a batch pending for its next drain.
//!
//! Overlap: each block is loaded completely before any of it is stored, and blocks are
//! visited upwards when the destination lies below the source and downwards otherwise, so
//! every source byte is read before the store that could overwrite it.

use super::cpu::{config, Config, Simd};
use super::flush::{drain, flush_line, flush_lines, CACHELINE};
use super::{
    PMEM_F_MEM_NODRAIN, PMEM_F_MEM_NOFLUSH, PMEM_F_MEM_NONTEMPORAL, PMEM_F_MEM_TEMPORAL,
    PMEM_F_MEM_WB, PMEM_F_MEM_WC,
};
use std::arch::x86_64::*;
use std::cell::Cell;

/// Whether this call streams with non-temporal stores.
#[inline(always)]
fn use_movnt(cfg: &Config, flags: u32, len: usize) -> bool {
    if !cfg.movnt {
        return false;
    }
    if flags & (PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_WC) != 0 {
        return true;
    }
    if flags & (PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_WB) != 0 || len < cfg.movnt_threshold_nodrain {
        return false;
    }
    if len >= cfg.movnt_threshold {
        return true;
    }
    // Between the two thresholds: only for a call that leaves the drain to later, and only
    // once this thread has a batch of lines waiting for that drain.
    flags & PMEM_F_MEM_NODRAIN != 0 && joins_batch(len)
}

thread_local! {
    /// Cache lines this thread wrote back with CLWB since its last `pmem_drain`.
    static PENDING_LINES: Cell<usize> = const { Cell::new(0) };
}

/// A drain costs about the same whether one line or eight are pending after streaming
/// stores, while CLWBs add up line by line. So the first lines of a batch of `_nodrain`
/// calls use CLWB (best when the drain follows at once), later ones stream. Measured with
/// 64-byte copies: same speed as CLWB alone for 1 to 4 copies per drain, 1.4-1.6x for 8;
/// a limit of 1 line cost 14% at 2 copies per drain.
const BATCH_LINES: usize = 2;

fn joins_batch(len: usize) -> bool {
    PENDING_LINES.with(|p| {
        let n = p.get();
        if n >= BATCH_LINES {
            true
        } else {
            p.set(n + len.div_ceil(CACHELINE));
            false
        }
    })
}

/// `pmem_drain` was called: the next `_nodrain` call starts a new batch.
#[inline]
pub fn batch_drained() {
    PENDING_LINES.with(|p| p.set(0));
}

#[inline(always)]
unsafe fn flush_if(cfg: &Config, addr: *const u8, len: usize) {
    if !cfg.skip_flush {
        // SAFETY: forwarded caller guarantee that the range is mapped.
        unsafe { flush_lines(cfg.flush, addr, len) };
    }
}

/// What a write puts at the destination: bytes from a (possibly overlapping) source, or
/// one byte repeated.
#[derive(Clone, Copy)]
enum Source {
    Bytes(*const u8),
    Fill(u8),
}

/// The `PMEM_F_MEM_*` rules shared by copies and fills: which store path a write takes
/// and whether it drains. After inlining, the `Source` matches fold away.
///
/// # Safety
/// `dst` must be writable for `len` bytes, and a `Bytes` source readable for `len` bytes
/// (the ranges may overlap).
#[inline(always)]
unsafe fn write(dst: *mut u8, src: Source, len: usize, flags: u32) {
    let cfg = config();
    if len == 0 {
        // C callers pass NULL with a zero length; Rust's copy primitives may not see it.
        if flags & (PMEM_F_MEM_NODRAIN | PMEM_F_MEM_NOFLUSH) == 0 {
            drain();
        }
        return;
    }
    if flags & PMEM_F_MEM_NOFLUSH != 0 {
        // SAFETY: caller guarantees both ranges; ptr::copy allows overlap.
        unsafe {
            match src {
                Source::Bytes(s) => core::ptr::copy(s, dst, len),
                Source::Fill(c) => core::ptr::write_bytes(dst, c, len),
            }
        }
        return;
    }
    if use_movnt(cfg, flags, len) {
        // SAFETY: forwarded caller guarantee.
        unsafe {
            match src {
                Source::Bytes(s) => memmove_nt(cfg, dst, s, len),
                Source::Fill(c) => memset_nt(cfg, dst, c, len),
            }
        }
    } else if len <= SMALL {
        // SAFETY: forwarded caller guarantee.
        unsafe {
            match src {
                Source::Bytes(s) => small_move(dst, s, len),
                Source::Fill(c) => small_set(dst, c, len),
            }
            flush_if(cfg, dst, len);
        }
    } else {
        // SAFETY: forwarded caller guarantee.
        unsafe {
            match src {
                Source::Bytes(s) => temporal_move(cfg, dst, s, len),
                Source::Fill(c) => temporal_set(cfg, dst, c, len),
            }
        }
    }
    if flags & PMEM_F_MEM_NODRAIN == 0 {
        drain();
    }
}

/// `pmem_memmove` (and `pmem_memcpy`, which libpmem also makes overlap-safe).
///
/// # Safety
/// `src` must be readable and `dst` writable for `len` bytes; they may overlap.
#[inline]
pub unsafe fn memmove(dst: *mut u8, src: *const u8, len: usize, flags: u32) {
    // SAFETY: forwarded caller guarantee.
    unsafe { write(dst, Source::Bytes(src), len, flags) }
}

/// `pmem_memset`.
///
/// # Safety
/// `dst` must be writable for `len` bytes.
#[inline]
pub unsafe fn memset(dst: *mut u8, c: u8, len: usize, flags: u32) {
    // SAFETY: forwarded caller guarantee.
    unsafe { write(dst, Source::Fill(c), len, flags) }
}

/// Up to this length copies and fills are done inline: a call into libc costs as much as
/// the copy itself.
const SMALL: usize = 64;

/// Copies `len <= 64` bytes with at most two pairs of possibly overlapping loads and
/// stores. Every load happens before any store, so overlapping ranges are fine.
///
/// # Safety
/// As `memmove`, with `len <= SMALL`.
#[inline(always)]
unsafe fn small_move(dst: *mut u8, src: *const u8, len: usize) {
    use core::ptr::{read_unaligned as rd, write_unaligned as wr};
    // SAFETY: all accesses lie in `[0, len)` of the caller's ranges.
    unsafe {
        match len {
            0 => {}
            1 => *dst = *src,
            2..=3 => {
                let (a, b) = (rd(src as *const u16), rd(src.add(len - 2) as *const u16));
                wr(dst as *mut u16, a);
                wr(dst.add(len - 2) as *mut u16, b);
            }
            4..=7 => {
                let (a, b) = (rd(src as *const u32), rd(src.add(len - 4) as *const u32));
                wr(dst as *mut u32, a);
                wr(dst.add(len - 4) as *mut u32, b);
            }
            8..=16 => {
                let (a, b) = (rd(src as *const u64), rd(src.add(len - 8) as *const u64));
                wr(dst as *mut u64, a);
                wr(dst.add(len - 8) as *mut u64, b);
            }
            17..=32 => {
                let a = _mm_loadu_si128(src.cast());
                let b = _mm_loadu_si128(src.add(len - 16).cast());
                _mm_storeu_si128(dst.cast(), a);
                _mm_storeu_si128(dst.add(len - 16).cast(), b);
            }
            _ => {
                let a = _mm_loadu_si128(src.cast());
                let b = _mm_loadu_si128(src.add(16).cast());
                let c = _mm_loadu_si128(src.add(len - 32).cast());
                let d = _mm_loadu_si128(src.add(len - 16).cast());
                _mm_storeu_si128(dst.cast(), a);
                _mm_storeu_si128(dst.add(16).cast(), b);
                _mm_storeu_si128(dst.add(len - 32).cast(), c);
                _mm_storeu_si128(dst.add(len - 16).cast(), d);
            }
        }
    }
}

/// Fills `len <= 64` bytes the same way.
///
/// # Safety
/// As `memset`, with `len <= SMALL`.
#[inline(always)]
unsafe fn small_set(dst: *mut u8, c: u8, len: usize) {
    use core::ptr::write_unaligned as wr;
    let w = u64::from(c) * 0x0101_0101_0101_0101;
    // SAFETY: all stores lie in `[0, len)` of the caller's range.
    unsafe {
        match len {
            0 => {}
            1 => *dst = c,
            2..=3 => {
                wr(dst as *mut u16, w as u16);
                wr(dst.add(len - 2) as *mut u16, w as u16);
            }
            4..=7 => {
                wr(dst as *mut u32, w as u32);
                wr(dst.add(len - 4) as *mut u32, w as u32);
            }
            8..=16 => {
                wr(dst as *mut u64, w);
                wr(dst.add(len - 8) as *mut u64, w);
            }
            17..=32 => {
                let v = _mm_set1_epi64x(w as i64);
                _mm_storeu_si128(dst.cast(), v);
                _mm_storeu_si128(dst.add(len - 16).cast(), v);
            }
            _ => {
                let v = _mm_set1_epi64x(w as i64);
                _mm_storeu_si128(dst.cast(), v);
                _mm_storeu_si128(dst.add(16).cast(), v);
                _mm_storeu_si128(dst.add(len - 32).cast(), v);
                _mm_storeu_si128(dst.add(len - 16).cast(), v);
            }
        }
    }
}

/// Ordinary-store `memmove` plus write-back. Whole lines go through a kernel that writes
/// each line back right after storing it, while it is still in L1. Copying everything
/// with libc first and flushing afterwards (as before) cost 15-28% more CPU than this for
/// 64 KiB blocks written across a 64 MiB file (fio's pattern with `PMEM_F_MEM_TEMPORAL`)
/// and up to 4% less when the destination is still in the L3 cache; libpmem fuses too.
/// Without flushing there is nothing to fuse, and libc's copy is the fastest.
///
/// # Safety
/// As `memmove`.
unsafe fn temporal_move(cfg: &Config, dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: forwarded caller guarantee; ptr::copy allows overlap.
    unsafe {
        if cfg.skip_flush {
            core::ptr::copy(src, dst, len);
        } else {
            move_lines(cfg, Lines::StoreFlush, dst, src, len);
        }
    }
}

/// Ordinary-store `memset` plus write-back, the same way.
///
/// # Safety
/// As `memset`.
unsafe fn temporal_set(cfg: &Config, dst: *mut u8, c: u8, len: usize) {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        if cfg.skip_flush {
            core::ptr::write_bytes(dst, c, len);
        } else {
            set_lines(cfg, Lines::StoreFlush, dst, c, len);
        }
    }
}

/// How the whole cache lines in the middle of a write are stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lines {
    /// Non-temporal stores, which need no flush.
    Stream,
    /// Ordinary stores, each block written back at once with the configured instruction.
    StoreFlush,
}

/// Splits `[dst, dst + len)` into a partial first line, whole lines, and a partial last line.
#[inline(always)]
fn split(dst: *mut u8, len: usize) -> (usize, usize, usize) {
    let head = ((CACHELINE - (dst as usize & (CACHELINE - 1))) & (CACHELINE - 1)).min(len);
    let body = (len - head) & !(CACHELINE - 1);
    (head, body, len - head - body)
}

/// Copies `len` bytes whose destination is 64-byte aligned and `len` a multiple of 64,
/// upwards (`fwd`) or downwards, with the kernel for `lines` and the configured SIMD width.
///
/// # Safety
/// As `memmove`, plus the alignment above; for `StoreFlush` the destination must be mapped
/// for the flush instruction, which the write itself proves.
#[inline(always)]
unsafe fn copy_body(cfg: &Config, lines: Lines, fwd: bool, dst: *mut u8, src: *const u8, n: usize) {
    use super::cpu::Flush;
    // SAFETY: forwarded caller guarantee; each kernel is only chosen when the CPU has its
    // instructions (cpu.rs checks the SIMD width and the flush instruction).
    unsafe {
        match (lines, cfg.simd, fwd) {
            (Lines::Stream, Simd::Avx512, true) => avx512::copy_fwd(dst, src, n),
            (Lines::Stream, Simd::Avx512, false) => avx512::copy_bwd(dst, src, n),
            (Lines::Stream, Simd::Avx2, true) => avx2::copy_fwd(dst, src, n),
            (Lines::Stream, Simd::Avx2, false) => avx2::copy_bwd(dst, src, n),
            (Lines::Stream, Simd::Sse2, true) => sse2::copy_fwd(dst, src, n),
            (Lines::Stream, Simd::Sse2, false) => sse2::copy_bwd(dst, src, n),
            (Lines::StoreFlush, Simd::Avx512, fwd) => match (cfg.flush, fwd) {
                (Flush::Clwb, true) => avx512_clwb::copy_fwd(dst, src, n),
                (Flush::Clwb, false) => avx512_clwb::copy_bwd(dst, src, n),
                (Flush::ClflushOpt, true) => avx512_clflushopt::copy_fwd(dst, src, n),
                (Flush::ClflushOpt, false) => avx512_clflushopt::copy_bwd(dst, src, n),
                (Flush::Clflush, true) => avx512_clflush::copy_fwd(dst, src, n),
                (Flush::Clflush, false) => avx512_clflush::copy_bwd(dst, src, n),
            },
            (Lines::StoreFlush, Simd::Avx2, true) => avx2::copy_flush_fwd(dst, src, n, cfg.flush),
            (Lines::StoreFlush, Simd::Avx2, false) => avx2::copy_flush_bwd(dst, src, n, cfg.flush),
            (Lines::StoreFlush, Simd::Sse2, true) => sse2::copy_flush_fwd(dst, src, n, cfg.flush),
            (Lines::StoreFlush, Simd::Sse2, false) => sse2::copy_flush_bwd(dst, src, n, cfg.flush),
        }
    }
}

/// `memmove` as partial head line, whole lines through the `lines` kernel, partial tail
/// line; the partial lines use ordinary stores plus a flush.
///
/// # Safety
/// As `memmove`.
unsafe fn move_lines(cfg: &Config, lines: Lines, dst: *mut u8, src: *const u8, len: usize) {
    let (head, body, tail) = split(dst, len);
    let backward = (dst as usize) > (src as usize) && (dst as usize) < (src as usize) + len;
    // SAFETY: every offset stays inside the caller's `len`-byte ranges; the
    // body starts on a cache-line boundary of `dst` as the kernels require.
    unsafe {
        let (bd, bs) = (dst.add(head), src.add(head));
        let (td, ts) = (bd.add(body), bs.add(body));
        if !backward {
            if head != 0 {
                core::ptr::copy(src, dst, head);
                flush_if(cfg, dst, head);
            }
            copy_body(cfg, lines, true, bd, bs, body);
            if tail != 0 {
                core::ptr::copy(ts, td, tail);
                flush_if(cfg, td, tail);
            }
        } else {
            if tail != 0 {
                core::ptr::copy(ts, td, tail);
                flush_if(cfg, td, tail);
            }
            copy_body(cfg, lines, false, bd, bs, body);
            if head != 0 {
                core::ptr::copy(src, dst, head);
                flush_if(cfg, dst, head);
            }
        }
    }
}

/// `memset` the same way.
///
/// # Safety
/// As `memset`.
unsafe fn set_lines(cfg: &Config, lines: Lines, dst: *mut u8, c: u8, len: usize) {
    use super::cpu::Flush;
    let (head, body, tail) = split(dst, len);
    // SAFETY: offsets stay inside the caller's range; the body is cache-line aligned, and
    // each kernel is only chosen when the CPU has its instructions.
    unsafe {
        if head != 0 {
            core::ptr::write_bytes(dst, c, head);
            flush_if(cfg, dst, head);
        }
        let bd = dst.add(head);
        match (lines, cfg.simd) {
            (Lines::Stream, Simd::Avx512) => avx512::fill(bd, c, body),
            (Lines::Stream, Simd::Avx2) => avx2::fill(bd, c, body),
            (Lines::Stream, Simd::Sse2) => sse2::fill(bd, c, body),
            (Lines::StoreFlush, Simd::Avx512) => match cfg.flush {
                Flush::Clwb => avx512_clwb::fill(bd, c, body),
                Flush::ClflushOpt => avx512_clflushopt::fill(bd, c, body),
                Flush::Clflush => avx512_clflush::fill(bd, c, body),
            },
            (Lines::StoreFlush, Simd::Avx2) => avx2::fill_flush(bd, c, body, cfg.flush),
            (Lines::StoreFlush, Simd::Sse2) => sse2::fill_flush(bd, c, body, cfg.flush),
        }
        if tail != 0 {
            let td = bd.add(body);
            core::ptr::write_bytes(td, c, tail);
            flush_if(cfg, td, tail);
        }
    }
}

/// Streaming `memmove`.
///
/// # Safety
/// As `memmove`.
unsafe fn memmove_nt(cfg: &Config, dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: forwarded caller guarantee.
    unsafe { move_lines(cfg, Lines::Stream, dst, src, len) }
}

/// Streaming `memset`.
///
/// # Safety
/// As `memset`.
unsafe fn memset_nt(cfg: &Config, dst: *mut u8, c: u8, len: usize) {
    // SAFETY: forwarded caller guarantee.
    unsafe { set_lines(cfg, Lines::Stream, dst, c, len) }
}

/// Streaming kernels for one vector width. `dst` is 64-byte aligned and `len` a multiple of
/// 64; four cache lines are loaded before any is stored, then the remainder line by line.
macro_rules! nt_kernels {
    ($name:ident, $feature:literal, $vec:ty, $per_line:expr, $load:ident, $store:ident, $splat:ident, $mova:literal, $reg:ident) => {
        mod $name {
            use super::super::cpu::Flush;
            use super::*;
            use std::arch::asm;

            const W: usize = 64 / $per_line;

            /// Ordinary aligned store, as assembly: written with plain stores, LLVM turns
            /// the load/store loops below into calls to `memcpy`, which was what the fused
            /// kernels are there to avoid.
            ///
            /// # Safety
            /// `p` writable for one vector and aligned to its size.
            #[target_feature(enable = $feature)]
            #[inline]
            unsafe fn store_aligned(p: *mut u8, v: $vec) {
                // SAFETY: caller guarantees `p`; the store reads no memory and keeps the stack.
                unsafe {
                    asm!(concat!($mova, " [{p}], {v}"), p = in(reg) p, v = in($reg) v,
                        options(nostack, preserves_flags))
                };
            }

            /// Copies the line at `src` to the aligned line at `dst` with ordinary stores
            /// and writes it back with `kind` at once, while it is still in L1.
            ///
            /// # Safety
            /// One line readable at `src` and writable at `dst`, `dst` 64-byte aligned.
            #[target_feature(enable = $feature)]
            #[inline]
            unsafe fn line_flush(dst: *mut u8, src: *const u8, kind: Flush) {
                // SAFETY: caller guarantees the line at both pointers and the alignment; the
                // line is loaded completely before it is stored.
                unsafe {
                    let mut v = [core::mem::zeroed::<$vec>(); $per_line];
                    for (k, r) in v.iter_mut().enumerate() {
                        *r = $load(src.add(k * W).cast());
                    }
                    for (k, r) in v.iter().enumerate() {
                        store_aligned(dst.add(k * W), *r);
                    }
                    flush_line(kind, dst);
                }
            }

            /// Ordinary-store copy of `len` bytes (whole lines, `dst` aligned), each line
            /// written back with `kind` right after it is stored; four lines per turn.
            #[target_feature(enable = $feature)]
            pub unsafe fn copy_flush_fwd(dst: *mut u8, src: *const u8, len: usize, kind: Flush) {
                let mut i = 0;
                while i + 4 * CACHELINE <= len {
                    for l in 0..4 {
                        let o = i + l * CACHELINE;
                        // SAFETY: o + 1 line <= len keeps the line inside the caller's ranges; dst + o is 64-byte aligned; lines go upwards, so with dst below an overlapping src no unread byte is overwritten.
                        unsafe { line_flush(dst.add(o), src.add(o), kind) };
                    }
                    i += 4 * CACHELINE;
                }
                while i < len {
                    // SAFETY: i < len, a whole number of lines, keeps the line inside the caller's ranges; dst + i is aligned.
                    unsafe { line_flush(dst.add(i), src.add(i), kind) };
                    i += CACHELINE;
                }
            }

            /// The same, walking downwards (for a destination above an overlapping source).
            #[target_feature(enable = $feature)]
            pub unsafe fn copy_flush_bwd(dst: *mut u8, src: *const u8, len: usize, kind: Flush) {
                let mut i = len;
                while i >= 4 * CACHELINE {
                    i -= 4 * CACHELINE;
                    for l in (0..4).rev() {
                        let o = i + l * CACHELINE;
                        // SAFETY: o + 1 line <= the previous i <= len keeps the line inside the caller's ranges; dst + o is aligned; lines go downwards, so with dst above an overlapping src no unread byte is overwritten.
                        unsafe { line_flush(dst.add(o), src.add(o), kind) };
                    }
                }
                while i > 0 {
                    i -= CACHELINE;
                    // SAFETY: i + 1 line was <= len, so the line is inside the caller's ranges; dst + i is aligned.
                    unsafe { line_flush(dst.add(i), src.add(i), kind) };
                }
            }

            /// Ordinary-store fill of whole lines, each written back right after it is stored.
            #[target_feature(enable = $feature)]
            pub unsafe fn fill_flush(dst: *mut u8, c: u8, len: usize, kind: Flush) {
                let v: $vec = $splat(c as i8);
                let mut i = 0;
                while i < len {
                    for k in 0..$per_line {
                        // SAFETY: i < len, a whole number of lines, keeps the store inside the caller's range; dst + i + k * W is aligned to the vector width.
                        unsafe { store_aligned(dst.add(i + k * W), v) };
                    }
                    // SAFETY: the line was just written, so it is mapped.
                    unsafe { flush_line(kind, dst.add(i)) };
                    i += CACHELINE;
                }
            }

            #[target_feature(enable = $feature)]
            pub unsafe fn copy_fwd(dst: *mut u8, src: *const u8, len: usize) {
                let mut i = 0;
                while i + 4 * CACHELINE <= len {
                    // SAFETY: i + 4 lines <= len, so every load and store is inside the caller's ranges; dst + i is 64-byte aligned for the streaming stores.
                    unsafe {
                        let mut v = [core::mem::zeroed::<$vec>(); 4 * $per_line];
                        for (k, r) in v.iter_mut().enumerate() {
                            *r = $load(src.add(i + k * W).cast());
                        }
                        for (k, r) in v.iter().enumerate() {
                            $store(dst.add(i + k * W).cast(), *r);
                        }
                    }
                    i += 4 * CACHELINE;
                }
                while i < len {
                    // SAFETY: i < len and len is a whole number of lines here, so the line is inside the caller's ranges; dst + i is 64-byte aligned.
                    unsafe {
                        let mut v = [core::mem::zeroed::<$vec>(); $per_line];
                        for (k, r) in v.iter_mut().enumerate() {
                            *r = $load(src.add(i + k * W).cast());
                        }
                        for (k, r) in v.iter().enumerate() {
                            $store(dst.add(i + k * W).cast(), *r);
                        }
                    }
                    i += CACHELINE;
                }
            }

            #[target_feature(enable = $feature)]
            pub unsafe fn copy_bwd(dst: *mut u8, src: *const u8, len: usize) {
                let mut i = len;
                // SAFETY (loops): as in `copy_fwd`, walking downwards.
                while i >= 4 * CACHELINE {
                    i -= 4 * CACHELINE;
                    // SAFETY: i >= 0 after the step and i + 4 lines was <= len, so the lines are inside the caller's ranges; dst + i is 64-byte aligned.
                    unsafe {
                        let mut v = [core::mem::zeroed::<$vec>(); 4 * $per_line];
                        for (k, r) in v.iter_mut().enumerate() {
                            *r = $load(src.add(i + k * W).cast());
                        }
                        for (k, r) in v.iter().enumerate().rev() {
                            $store(dst.add(i + k * W).cast(), *r);
                        }
                    }
                }
                while i > 0 {
                    i -= CACHELINE;
                    // SAFETY: i >= 0 after the step and i + 1 line was <= len, so the line is inside the caller's range; dst + i is 64-byte aligned.
                    unsafe {
                        let mut v = [core::mem::zeroed::<$vec>(); $per_line];
                        for (k, r) in v.iter_mut().enumerate() {
                            *r = $load(src.add(i + k * W).cast());
                        }
                        for (k, r) in v.iter().enumerate().rev() {
                            $store(dst.add(i + k * W).cast(), *r);
                        }
                    }
                }
            }

            #[target_feature(enable = $feature)]
            pub unsafe fn fill(dst: *mut u8, c: u8, len: usize) {
                let v: $vec = $splat(c as i8);
                let mut i = 0;
                while i + 4 * CACHELINE <= len {
                    for k in 0..4 * $per_line {
                        // SAFETY: i + 4 lines <= len keeps the store inside the caller's range; dst + i + k * W is 64-byte aligned.
                        unsafe { $store(dst.add(i + k * W).cast(), v) };
                    }
                    i += 4 * CACHELINE;
                }
                while i < len {
                    for k in 0..$per_line {
                        // SAFETY: i < len, a whole number of lines, keeps the store inside the caller's range; dst + i + k * W is aligned.
                        unsafe { $store(dst.add(i + k * W).cast(), v) };
                    }
                    i += CACHELINE;
                }
            }
        }
    };
}

/// AVX-512 kernels, in assembly so the crate does not depend on the AVX-512 intrinsics and
/// target feature (newer than its minimum Rust). They use only zmm16-zmm19: code compiled
/// without AVX-512 never allocates those, they are caller-saved in the SysV ABI (hence
/// `inline(never)`), and unlike zmm0-15 they leave no dirty upper state that would call for
/// VZEROUPPER. Same contract as the other kernels; callers check `avx512f` first.
mod avx512 {
    use std::arch::asm;

    #[inline(never)]
    pub unsafe fn copy_fwd(dst: *mut u8, src: *const u8, len: usize) {
        // SAFETY: caller guarantees `len` bytes at both pointers, `dst` 64-byte aligned and
        // `len` a multiple of 64; the CPU has AVX-512F.
        unsafe {
            asm!(
                "test {len}, {len}",
                "jz 4f",
                "cmp {len}, 256",
                "jb 3f",
                "2:",
                "vmovdqu64 zmm16, [{src}]",
                "vmovdqu64 zmm17, [{src} + 64]",
                "vmovdqu64 zmm18, [{src} + 128]",
                "vmovdqu64 zmm19, [{src} + 192]",
                "vmovntdq [{dst}], zmm16",
                "vmovntdq [{dst} + 64], zmm17",
                "vmovntdq [{dst} + 128], zmm18",
                "vmovntdq [{dst} + 192], zmm19",
                "add {src}, 256",
                "add {dst}, 256",
                "sub {len}, 256",
                "cmp {len}, 256",
                "jae 2b",
                "test {len}, {len}",
                "jz 4f",
                "3:",
                "vmovdqu64 zmm16, [{src}]",
                "vmovntdq [{dst}], zmm16",
                "add {src}, 64",
                "add {dst}, 64",
                "sub {len}, 64",
                "jnz 3b",
                "4:",
                src = inout(reg) src => _,
                dst = inout(reg) dst => _,
                len = inout(reg) len => _,
                options(nostack),
            );
        }
    }

    #[inline(never)]
    pub unsafe fn copy_bwd(dst: *mut u8, src: *const u8, len: usize) {
        // SAFETY: as `copy_fwd`; the pointers start one past the end and walk down.
        unsafe {
            asm!(
                "test {len}, {len}",
                "jz 4f",
                "cmp {len}, 256",
                "jb 3f",
                "2:",
                "sub {src}, 256",
                "sub {dst}, 256",
                "vmovdqu64 zmm16, [{src}]",
                "vmovdqu64 zmm17, [{src} + 64]",
                "vmovdqu64 zmm18, [{src} + 128]",
                "vmovdqu64 zmm19, [{src} + 192]",
                "vmovntdq [{dst} + 192], zmm19",
                "vmovntdq [{dst} + 128], zmm18",
                "vmovntdq [{dst} + 64], zmm17",
                "vmovntdq [{dst}], zmm16",
                "sub {len}, 256",
                "cmp {len}, 256",
                "jae 2b",
                "test {len}, {len}",
                "jz 4f",
                "3:",
                "sub {src}, 64",
                "sub {dst}, 64",
                "vmovdqu64 zmm16, [{src}]",
                "vmovntdq [{dst}], zmm16",
                "sub {len}, 64",
                "jnz 3b",
                "4:",
                src = inout(reg) src.add(len) => _,
                dst = inout(reg) dst.add(len) => _,
                len = inout(reg) len => _,
                options(nostack),
            );
        }
    }

    #[inline(never)]
    pub unsafe fn fill(dst: *mut u8, c: u8, len: usize) {
        let pattern = u64::from(c) * 0x0101_0101_0101_0101;
        // SAFETY: caller guarantees `len` writable bytes, `dst` 64-byte aligned and `len` a
        // multiple of 64; the CPU has AVX-512F.
        unsafe {
            asm!(
                "test {len}, {len}",
                "jz 4f",
                "vpbroadcastq zmm16, {pat}",
                "cmp {len}, 256",
                "jb 3f",
                "2:",
                "vmovntdq [{dst}], zmm16",
                "vmovntdq [{dst} + 64], zmm16",
                "vmovntdq [{dst} + 128], zmm16",
                "vmovntdq [{dst} + 192], zmm16",
                "add {dst}, 256",
                "sub {len}, 256",
                "cmp {len}, 256",
                "jae 2b",
                "test {len}, {len}",
                "jz 4f",
                "3:",
                "vmovntdq [{dst}], zmm16",
                "add {dst}, 64",
                "sub {len}, 64",
                "jnz 3b",
                "4:",
                pat = in(reg) pattern,
                dst = inout(reg) dst => _,
                len = inout(reg) len => _,
                options(nostack),
            );
        }
    }
}

/// AVX-512 ordinary-store kernels that write each block back right after storing it, one
/// module per flush instruction (the mnemonic is part of the assembly). Same register rules
/// and contract as `avx512`; blocks of four lines, then single lines.
macro_rules! avx512_flush_kernels {
    ($name:ident, $flush:literal) => {
        mod $name {
            use std::arch::asm;

            #[inline(never)]
            pub unsafe fn copy_fwd(dst: *mut u8, src: *const u8, len: usize) {
                // SAFETY: caller guarantees `len` bytes at both pointers, `dst` 64-byte
                // aligned and `len` a multiple of 64; the CPU has AVX-512F and the flush
                // instruction. Each block is loaded before it is stored.
                unsafe {
                    asm!(
                        "test {len}, {len}",
                        "jz 4f",
                        "cmp {len}, 256",
                        "jb 3f",
                        "2:",
                        "vmovdqu64 zmm16, [{src}]",
                        "vmovdqa64 [{dst}], zmm16",
                        concat!($flush, " [{dst}]"),
                        "vmovdqu64 zmm17, [{src} + 64]",
                        "vmovdqa64 [{dst} + 64], zmm17",
                        concat!($flush, " [{dst} + 64]"),
                        "vmovdqu64 zmm18, [{src} + 128]",
                        "vmovdqa64 [{dst} + 128], zmm18",
                        concat!($flush, " [{dst} + 128]"),
                        "vmovdqu64 zmm19, [{src} + 192]",
                        "vmovdqa64 [{dst} + 192], zmm19",
                        concat!($flush, " [{dst} + 192]"),
                        "add {src}, 256",
                        "add {dst}, 256",
                        "sub {len}, 256",
                        "cmp {len}, 256",
                        "jae 2b",
                        "test {len}, {len}",
                        "jz 4f",
                        "3:",
                        "vmovdqu64 zmm16, [{src}]",
                        "vmovdqa64 [{dst}], zmm16",
                        concat!($flush, " [{dst}]"),
                        "add {src}, 64",
                        "add {dst}, 64",
                        "sub {len}, 64",
                        "jnz 3b",
                        "4:",
                        src = inout(reg) src => _,
                        dst = inout(reg) dst => _,
                        len = inout(reg) len => _,
                        options(nostack),
                    );
                }
            }

            #[inline(never)]
            pub unsafe fn copy_bwd(dst: *mut u8, src: *const u8, len: usize) {
                // SAFETY: as `copy_fwd`; the pointers start one past the end and walk down.
                unsafe {
                    asm!(
                        "test {len}, {len}",
                        "jz 4f",
                        "cmp {len}, 256",
                        "jb 3f",
                        "2:",
                        "sub {src}, 256",
                        "sub {dst}, 256",
                        "vmovdqu64 zmm19, [{src} + 192]",
                        "vmovdqa64 [{dst} + 192], zmm19",
                        concat!($flush, " [{dst} + 192]"),
                        "vmovdqu64 zmm18, [{src} + 128]",
                        "vmovdqa64 [{dst} + 128], zmm18",
                        concat!($flush, " [{dst} + 128]"),
                        "vmovdqu64 zmm17, [{src} + 64]",
                        "vmovdqa64 [{dst} + 64], zmm17",
                        concat!($flush, " [{dst} + 64]"),
                        "vmovdqu64 zmm16, [{src}]",
                        "vmovdqa64 [{dst}], zmm16",
                        concat!($flush, " [{dst}]"),
                        "sub {len}, 256",
                        "cmp {len}, 256",
                        "jae 2b",
                        "test {len}, {len}",
                        "jz 4f",
                        "3:",
                        "sub {src}, 64",
                        "sub {dst}, 64",
                        "vmovdqu64 zmm16, [{src}]",
                        "vmovdqa64 [{dst}], zmm16",
                        concat!($flush, " [{dst}]"),
                        "sub {len}, 64",
                        "jnz 3b",
                        "4:",
                        src = inout(reg) src.add(len) => _,
                        dst = inout(reg) dst.add(len) => _,
                        len = inout(reg) len => _,
                        options(nostack),
                    );
                }
            }

            #[inline(never)]
            pub unsafe fn fill(dst: *mut u8, c: u8, len: usize) {
                let pattern = u64::from(c) * 0x0101_0101_0101_0101;
                // SAFETY: caller guarantees `len` writable bytes, `dst` 64-byte aligned and
                // `len` a multiple of 64; the CPU has AVX-512F and the flush instruction.
                unsafe {
                    asm!(
                        "test {len}, {len}",
                        "jz 4f",
                        "vpbroadcastq zmm16, {pat}",
                        "cmp {len}, 256",
                        "jb 3f",
                        "2:",
                        "vmovdqa64 [{dst}], zmm16",
                        concat!($flush, " [{dst}]"),
                        "vmovdqa64 [{dst} + 64], zmm16",
                        concat!($flush, " [{dst} + 64]"),
                        "vmovdqa64 [{dst} + 128], zmm16",
                        concat!($flush, " [{dst} + 128]"),
                        "vmovdqa64 [{dst} + 192], zmm16",
                        concat!($flush, " [{dst} + 192]"),
                        "add {dst}, 256",
                        "sub {len}, 256",
                        "cmp {len}, 256",
                        "jae 2b",
                        "test {len}, {len}",
                        "jz 4f",
                        "3:",
                        "vmovdqa64 [{dst}], zmm16",
                        concat!($flush, " [{dst}]"),
                        "add {dst}, 64",
                        "sub {len}, 64",
                        "jnz 3b",
                        "4:",
                        pat = in(reg) pattern,
                        dst = inout(reg) dst => _,
                        len = inout(reg) len => _,
                        options(nostack),
                    );
                }
            }
        }
    };
}

avx512_flush_kernels!(avx512_clwb, "clwb");
avx512_flush_kernels!(avx512_clflushopt, "clflushopt");
avx512_flush_kernels!(avx512_clflush, "clflush");

nt_kernels!(
    avx2,
    "avx2",
    __m256i,
    2,
    _mm256_loadu_si256,
    _mm256_stream_si256,
    _mm256_set1_epi8,
    "vmovdqa",
    ymm_reg
);
nt_kernels!(
    sse2,
    "sse2",
    __m128i,
    4,
    _mm_loadu_si128,
    _mm_stream_si128,
    _mm_set1_epi8,
    "movdqa",
    xmm_reg
);

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn kernels() -> Vec<Simd> {
        let mut v = vec![Simd::Sse2];
        if std::is_x86_feature_detected!("avx2") {
            v.push(Simd::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            v.push(Simd::Avx512);
        }
        v
    }

    fn cfg(simd: Simd) -> Config {
        Config {
            flush: super::super::cpu::Flush::Clflush,
            skip_flush: false,
            movnt: true,
            movnt_threshold: 0,
            movnt_threshold_nodrain: 0,
            simd,
            auto_flush: 0,
        }
    }

    #[test]
    fn nt_overlap_both_ways() {
        for simd in kernels() {
            let c = cfg(simd);
            for &len in &[0usize, 1, 63, 64, 65, 255, 256, 257, 1000, 4096 + 17] {
                for &shift in &[1usize, 8, 63, 64, 200] {
                    for &off in &[0usize, 5, 33] {
                        let base = pattern(len + shift + 128);
                        // Destination above source.
                        let mut a = base.clone();
                        let mut r = base.clone();
                        r.copy_within(off..off + len, off + shift);
                        // SAFETY: both ranges lie inside `a`.
                        unsafe {
                            memmove_nt(
                                &c,
                                a.as_mut_ptr().add(off + shift),
                                a.as_ptr().add(off),
                                len,
                            )
                        };
                        assert_eq!(a, r, "{simd:?} up len={len} shift={shift} off={off}");
                        // Destination below source.
                        let mut a = base.clone();
                        let mut r = base.clone();
                        r.copy_within(off + shift..off + shift + len, off);
                        // SAFETY: both ranges lie inside `a`.
                        unsafe {
                            memmove_nt(
                                &c,
                                a.as_mut_ptr().add(off),
                                a.as_ptr().add(off + shift),
                                len,
                            )
                        };
                        assert_eq!(a, r, "{simd:?} down len={len} shift={shift} off={off}");
                    }
                }
            }
        }
    }

    #[test]
    fn small_paths_match_reference() {
        for len in 0..=SMALL {
            for shift in [0usize, 1, 3, 8, 17, 40, 64, 70] {
                let base = pattern(2 * SMALL + 80);
                let mut up = base.clone();
                let mut r = base.clone();
                r.copy_within(5..5 + len, 5 + shift);
                // SAFETY: both ranges lie inside `up`.
                unsafe { small_move(up.as_mut_ptr().add(5 + shift), up.as_ptr().add(5), len) };
                assert_eq!(up, r, "up len={len} shift={shift}");
                let mut down = base.clone();
                let mut r = base.clone();
                r.copy_within(5 + shift..5 + shift + len, 5);
                // SAFETY: both ranges lie inside `down` (5 + shift + len <= its length).
                unsafe { small_move(down.as_mut_ptr().add(5), down.as_ptr().add(5 + shift), len) };
                assert_eq!(down, r, "down len={len} shift={shift}");
            }
            let mut a = pattern(SMALL + 10);
            let mut r = a.clone();
            r[3..3 + len].fill(0x3c);
            // SAFETY: the range lies inside `a`.
            unsafe { small_set(a.as_mut_ptr().add(3), 0x3c, len) };
            assert_eq!(a, r, "set len={len}");
        }
    }

    fn flushes() -> Vec<super::super::cpu::Flush> {
        use super::super::cpu::Flush;
        let leaf7 = __cpuid_count(7, 0);
        let mut v = vec![Flush::Clflush];
        if leaf7.ebx & (1 << 23) != 0 {
            v.push(Flush::ClflushOpt);
        }
        if leaf7.ebx & (1 << 24) != 0 {
            v.push(Flush::Clwb);
        }
        v
    }

    /// Every ordinary-store kernel (SIMD width x flush instruction), both directions,
    /// lengths around the four-line block and partial lines at both ends.
    #[test]
    fn temporal_overlap_both_ways() {
        for simd in kernels() {
            for flush in flushes() {
                let mut c = cfg(simd);
                c.flush = flush;
                c.movnt = false;
                for &len in &[
                    1usize,
                    63,
                    64,
                    65,
                    127,
                    255,
                    256,
                    257,
                    319,
                    320,
                    1000,
                    4096 + 17,
                ] {
                    for &shift in &[1usize, 63, 64, 200, 256, 1000] {
                        for &off in &[0usize, 7, 64] {
                            let base = pattern(len + shift + 200);
                            let what =
                                format!("{simd:?} {flush:?} len={len} shift={shift} off={off}");
                            let mut a = base.clone();
                            let mut r = base.clone();
                            r.copy_within(off..off + len, off + shift);
                            // SAFETY: both ranges lie inside `a`.
                            unsafe {
                                temporal_move(
                                    &c,
                                    a.as_mut_ptr().add(off + shift),
                                    a.as_ptr().add(off),
                                    len,
                                )
                            };
                            assert_eq!(a, r, "up {what}");
                            let mut a = base.clone();
                            let mut r = base.clone();
                            r.copy_within(off + shift..off + shift + len, off);
                            // SAFETY: both ranges lie inside `a`.
                            unsafe {
                                temporal_move(
                                    &c,
                                    a.as_mut_ptr().add(off),
                                    a.as_ptr().add(off + shift),
                                    len,
                                )
                            };
                            assert_eq!(a, r, "down {what}");
                            let mut a = base.clone();
                            let mut r = base.clone();
                            r[off..off + len].fill(9);
                            // SAFETY: the range lies inside `a`.
                            unsafe { temporal_set(&c, a.as_mut_ptr().add(off), 9, len) };
                            assert_eq!(a, r, "set {what}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn batches_stream_after_two_lines() {
        batch_drained();
        assert!(!joins_batch(64), "first line of a batch");
        assert!(!joins_batch(64), "second line");
        assert!(joins_batch(64), "third line streams");
        assert!(joins_batch(100));
        batch_drained();
        assert!(!joins_batch(200), "a drain starts a new batch");
        assert!(joins_batch(64), "200 bytes already filled the allowance");
        batch_drained();
    }

    #[test]
    fn nt_fill() {
        for simd in kernels() {
            let c = cfg(simd);
            for &len in &[0usize, 1, 64, 100, 511, 4099] {
                for off in 0..64 {
                    let mut a = pattern(len + 200);
                    let mut r = a.clone();
                    r[off..off + len].fill(0xa5);
                    // SAFETY: the range lies inside `a`.
                    unsafe { memset_nt(&c, a.as_mut_ptr().add(off), 0xa5, len) };
                    assert_eq!(a, r, "{simd:?} len={len} off={off}");
                }
            }
        }
    }
}
