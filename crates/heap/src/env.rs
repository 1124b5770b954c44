//! memkind's general environment variables: `MEMKIND_DEBUG`, `MEMKIND_HOG_MEMORY`,
//! `MEMKIND_BACKGROUND_THREAD_LIMIT` and `MEMKIND_HEAP_MANAGER` (the NUMA ones are read in
//! `numa.rs`, `MEMKIND_ARENA_NUM_PER_KIND` in `kind/statics.rs`). Read with `getenv`, so
//! nothing here allocates; values that memkind would abort on are reported and ignored.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Once;

use crate::sys;

const UNREAD: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static DEBUG: AtomicU8 = AtomicU8::new(UNREAD);
static HOG: AtomicU8 = AtomicU8::new(UNREAD);
static CHECK: AtomicU8 = AtomicU8::new(UNREAD);

#[inline]
fn flag(cell: &AtomicU8, name: &std::ffi::CStr) -> bool {
    match cell.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on = sys::getenv(name) == Some(b"1");
            cell.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}

/// `MEMKIND_DEBUG=1`: explain failures on stderr.
#[inline]
pub fn debug() -> bool {
    flag(&DEBUG, c"MEMKIND_DEBUG")
}

/// `MEMKIND_HOG_MEMORY=1`: never give freed memory back to the system.
pub fn hog_memory() -> bool {
    flag(&HOG, c"MEMKIND_HOG_MEMORY")
}

/// `MEMKIND_CHECK=1`: every kind keeps a live map (one bit per 8 bytes of heap) so double,
/// interior, stale and racing frees are reported instead of reaching jemalloc. Off by
/// default: the map costs 1/64 of the heap in DRAM and two locked instructions per
/// allocation. Pointers outside every kind are reported either way (the chunk map).
/// Read once, before the first kind's memory is mapped.
#[inline]
pub fn check() -> bool {
    flag(&CHECK, c"MEMKIND_CHECK")
}

/// Whether `MEMKIND_CHECK` has been read and is off: the fast paths need no live map then.
#[inline(always)]
pub fn check_known_off() -> bool {
    CHECK.load(Ordering::Relaxed) == OFF
}

/// Writes one `memkind: ...` line to stderr when `MEMKIND_DEBUG=1` (allocation-free).
pub fn log(parts: &[&[u8]]) {
    if debug() {
        let mut all: [&[u8]; 8] = [b""; 8];
        all[0] = b"memkind: ";
        let n = parts.len().min(7);
        all[1..=n].copy_from_slice(&parts[..n]);
        sys::report(&all[..=n]);
    }
}

/// Formats `v` in decimal into `buf`, returning the used part (for [`log`]).
pub fn dec(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// Settings applied once, when the first kind starts: arena 0's hooks, background threads
/// and the heap manager check.
pub fn on_first_kind() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        crate::arena::keep_arena0_ranges();
        if let Some(v) = sys::getenv(c"MEMKIND_BACKGROUND_THREAD_LIMIT") {
            // memkind: 0..=CPUs enables jemalloc's purging threads (0 = one per CPU).
            match parse_u64(v) {
                Some(n) if n <= sys::num_cpus() as u64 => {
                    if crate::arena::set_background_threads(true) != 0 {
                        log(&[b"enabling background threads failed"]);
                    }
                }
                _ => log(&[b"MEMKIND_BACKGROUND_THREAD_LIMIT: invalid value ignored"]),
            }
        }
        match sys::getenv(c"MEMKIND_HEAP_MANAGER") {
            None | Some(b"JEMALLOC") => {}
            Some(_) => log(&[b"MEMKIND_HEAP_MANAGER: only JEMALLOC is provided; value ignored"]),
        }
    });
}

/// A decimal number as `strtoul` reads it (leading blanks and `+` allowed, nothing after).
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(v).ok()?.trim_start();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b" +42"), Some(42));
        assert_eq!(parse_u64(b"5x"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        let mut b = [0u8; 20];
        assert_eq!(dec(0, &mut b), b"0");
        assert_eq!(dec(u64::MAX, &mut b), b"18446744073709551615");
    }
}
