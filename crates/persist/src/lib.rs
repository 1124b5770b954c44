//! Persistence primitives shared by libpmem, libpmemobj and the other persistent libraries:
//! CPU feature selection, cache flushing, non-temporal copies and fills, file mapping with DAX
//! detection, and error/log text. Plain Rust; each C library wraps it at its own boundary.

pub mod copy;
pub mod cpu;
pub mod flush;
pub mod log;
pub mod map;

use std::os::raw::{c_int, c_uint};

/// C's `atoi` on an environment value: leading white space, an optional sign, then decimal
/// digits up to the first other byte; 0 when there are none. libpmem reads its numeric
/// variables this way, so "01" is 1 and "yes" is 0. Saturates instead of overflowing.
pub fn atoi(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(d - b'0'));
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

/// API version implemented (the values libpmem 1.12's header carries).
pub const PMEM_MAJOR_VERSION: c_uint = 1;
pub const PMEM_MINOR_VERSION: c_uint = 1;

/// Smallest part size the pool libraries accept; only a header constant for us.
pub const PMEM_MIN_PART: usize = 2 * 1024 * 1024;

/// `pmem_map_file` flags.
pub const PMEM_FILE_CREATE: c_int = 1 << 0;
pub const PMEM_FILE_EXCL: c_int = 1 << 1;
pub const PMEM_FILE_SPARSE: c_int = 1 << 2;
pub const PMEM_FILE_TMPFILE: c_int = 1 << 3;
pub const PMEM_FILE_ALL_FLAGS: c_int =
    PMEM_FILE_CREATE | PMEM_FILE_EXCL | PMEM_FILE_SPARSE | PMEM_FILE_TMPFILE;

/// `pmem_memmove`/`pmem_memcpy`/`pmem_memset` flags.
pub const PMEM_F_MEM_NODRAIN: c_uint = 1 << 0;
pub const PMEM_F_MEM_NONTEMPORAL: c_uint = 1 << 1;
pub const PMEM_F_MEM_TEMPORAL: c_uint = 1 << 2;
pub const PMEM_F_MEM_WC: c_uint = 1 << 3;
pub const PMEM_F_MEM_WB: c_uint = 1 << 4;
pub const PMEM_F_MEM_NOFLUSH: c_uint = 1 << 5;
pub const PMEM_F_MEM_VALID_FLAGS: c_uint = PMEM_F_MEM_NODRAIN
    | PMEM_F_MEM_NONTEMPORAL
    | PMEM_F_MEM_TEMPORAL
    | PMEM_F_MEM_WC
    | PMEM_F_MEM_WB
    | PMEM_F_MEM_NOFLUSH;

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"01"), 1);
        assert_eq!(atoi(b"  1x"), 1);
        assert_eq!(atoi(b"\t-3"), -3);
        assert_eq!(atoi(b"+7"), 7);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"yes"), 0);
        assert_eq!(atoi(b"- 1"), 0);
        assert_eq!(atoi(b"99999999999999999999999"), i64::MAX);
    }
}
