//! `pmem_memmove`/`pmem_memset` with persistence: short operations use ordinary stores and
//! then flush the touched lines; long ones stream whole cache lines with non-temporal stores
//! (AVX-512, AVX2 or SSE2, chosen at run time), which bypass the cache and need no flush.
//! Partial lines at either end always take the ordinary-store-plus-flush path. Between the
//! two, `_nodrain` calls stream once the thread has a batch pending for its next drain.
//!
//! Overlap: each block is loaded completely before any of it is stored, and blocks are
//! visited upwards when the destination lies below the source and downwards otherwise, so
//! every source byte is read before the store that could overwrite it.

use super::cpu::{config, Config, Simd};
use super::flush::{drain, flush_lines, CACHELINE};
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

/// Ordinary-store copies flush as they go, one chunk at a time, so write-backs overlap with
/// the copying of the next chunk instead of all waiting for the end.
const CHUNK: usize = 512;

/// Beyond this, copying everything first and then flushing was faster (measured at 64 KiB
/// and 2 MiB): one long flush loop keeps more write-backs in flight.
const CHUNKED_MAX: usize = 16 * 1024;

/// Length of the next chunk from `p` (aligned to `CHUNK` in the destination), at most `left`.
#[inline(always)]
fn chunk_up(p: usize, left: usize) -> usize {
    (CHUNK - (p & (CHUNK - 1))).min(left)
}

/// Length of the chunk that ends at `p`, at most `left`.
#[inline(always)]
fn chunk_down(p: usize, left: usize) -> usize {
    match p & (CHUNK - 1) {
        0 => CHUNK.min(left),
        r => r.min(left),
    }
}

/// Ordinary-store `memmove` plus flush, chunk by chunk in the overlap-safe direction.
///
/// # Safety
/// As `memmove`.
unsafe fn temporal_move(cfg: &Config, dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: offsets stay inside the caller's ranges; each chunk is copied
    // with ptr::copy (overlap-safe) and chunks advance away from not-yet-read source bytes.
    unsafe {
        if cfg.skip_flush || len <= CHUNK || len > CHUNKED_MAX {
            core::ptr::copy(src, dst, len);
            flush_if(cfg, dst, len);
            return;
        }
        let backward = (dst as usize) > (src as usize) && (dst as usize) < (src as usize) + len;
        if !backward {
            let mut off = 0;
            while off < len {
                let n = chunk_up(dst as usize + off, len - off);
                core::ptr::copy(src.add(off), dst.add(off), n);
                flush_lines(cfg.flush, dst.add(off), n);
                off += n;
            }
        } else {
            let mut end = len;
            while end > 0 {
                let n = chunk_down(dst as usize + end, end);
                end -= n;
                core::ptr::copy(src.add(end), dst.add(end), n);
                flush_lines(cfg.flush, dst.add(end), n);
            }
        }
    }
}

/// Ordinary-store `memset` plus flush, chunk by chunk.
///
/// # Safety
/// As `memset`.
unsafe fn temporal_set(cfg: &Config, dst: *mut u8, c: u8, len: usize) {
    // SAFETY: offsets stay inside the caller's range.
    unsafe {
        if cfg.skip_flush || len <= CHUNK || len > CHUNKED_MAX {
            core::ptr::write_bytes(dst, c, len);
            flush_if(cfg, dst, len);
            return;
        }
        let mut off = 0;
        while off < len {
            let n = chunk_up(dst as usize + off, len - off);
            core::ptr::write_bytes(dst.add(off), c, n);
            flush_lines(cfg.flush, dst.add(off), n);
            off += n;
        }
    }
}

/// Splits `[dst, dst + len)` into a partial first line, whole lines, and a partial last line.
#[inline(always)]
fn split(dst: *mut u8, len: usize) -> (usize, usize, usize) {
    let head = ((CACHELINE - (dst as usize & (CACHELINE - 1))) & (CACHELINE - 1)).min(len);
    let body = (len - head) & !(CACHELINE - 1);
    (head, body, len - head - body)
}

unsafe fn memmove_nt(cfg: &Config, dst: *mut u8, src: *const u8, len: usize) {
    let (head, body, tail) = split(dst, len);
    let backward = (dst as usize) > (src as usize) && (dst as usize) < (src as usize) + len;
    // SAFETY: every offset stays inside the caller's `len`-byte ranges; the
    // body starts on a cache-line boundary of `dst` as the streaming stores require.
    unsafe {
        let (bd, bs) = (dst.add(head), src.add(head));
        let (td, ts) = (bd.add(body), bs.add(body));
        if !backward {
            if head != 0 {
                core::ptr::copy(src, dst, head);
                flush_if(cfg, dst, head);
            }
            match cfg.simd {
                Simd::Avx512 => avx512::copy_fwd(bd, bs, body),
                Simd::Avx2 => avx2::copy_fwd(bd, bs, body),
                Simd::Sse2 => sse2::copy_fwd(bd, bs, body),
            }
            if tail != 0 {
                core::ptr::copy(ts, td, tail);
                flush_if(cfg, td, tail);
            }
        } else {
            if tail != 0 {
                core::ptr::copy(ts, td, tail);
                flush_if(cfg, td, tail);
            }
            match cfg.simd {
                Simd::Avx512 => avx512::copy_bwd(bd, bs, body),
                Simd::Avx2 => avx2::copy_bwd(bd, bs, body),
                Simd::Sse2 => sse2::copy_bwd(bd, bs, body),
            }
            if head != 0 {
                core::ptr::copy(src, dst, head);
                flush_if(cfg, dst, head);
            }
        }
    }
}

unsafe fn memset_nt(cfg: &Config, dst: *mut u8, c: u8, len: usize) {
    let (head, body, tail) = split(dst, len);
    // SAFETY: offsets stay inside the caller's range; the body is cache-line aligned.
    unsafe {
        if head != 0 {
            core::ptr::write_bytes(dst, c, head);
            flush_if(cfg, dst, head);
        }
        let bd = dst.add(head);
        match cfg.simd {
            Simd::Avx512 => avx512::fill(bd, c, body),
            Simd::Avx2 => avx2::fill(bd, c, body),
            Simd::Sse2 => sse2::fill(bd, c, body),
        }
        if tail != 0 {
            let td = bd.add(body);
            core::ptr::write_bytes(td, c, tail);
            flush_if(cfg, td, tail);
        }
    }
}

/// Streaming kernels for one vector width. `dst` is 64-byte aligned and `len` a multiple of
/// 64; four cache lines are loaded before any is stored, then the remainder line by line.
macro_rules! nt_kernels {
    ($name:ident, $feature:literal, $vec:ty, $per_line:expr, $load:ident, $store:ident, $splat:ident) => {
        mod $name {
            use super::*;

            const W: usize = 64 / $per_line;

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

nt_kernels!(
    avx2,
    "avx2",
    __m256i,
    2,
    _mm256_loadu_si256,
    _mm256_stream_si256,
    _mm256_set1_epi8
);
nt_kernels!(
    sse2,
    "sse2",
    __m128i,
    4,
    _mm_loadu_si128,
    _mm_stream_si128,
    _mm_set1_epi8
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
                // SAFETY: as above.
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

    #[test]
    fn temporal_chunks_overlap_both_ways() {
        let mut c = cfg(Simd::Sse2);
        c.movnt = false;
        for &len in &[
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 77,
            10_000,
            CHUNKED_MAX + 3,
        ] {
            for &shift in &[1usize, 63, 64, 1000, CHUNK, CHUNK + 5] {
                for &off in &[0usize, 7, 64] {
                    let base = pattern(len + shift + 2 * CHUNK);
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
                    assert_eq!(a, r, "up len={len} shift={shift} off={off}");
                    let mut a = base.clone();
                    let mut r = base.clone();
                    r.copy_within(off + shift..off + shift + len, off);
                    // SAFETY: as above.
                    unsafe {
                        temporal_move(
                            &c,
                            a.as_mut_ptr().add(off),
                            a.as_ptr().add(off + shift),
                            len,
                        )
                    };
                    assert_eq!(a, r, "down len={len} shift={shift} off={off}");
                    let mut a = base.clone();
                    let mut r = base.clone();
                    r[off..off + len].fill(9);
                    // SAFETY: the range lies inside `a`.
                    unsafe { temporal_set(&c, a.as_mut_ptr().add(off), 9, len) };
                    assert_eq!(a, r, "set len={len} off={off}");
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
