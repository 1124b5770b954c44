//! Persistence primitives shared by libpmem, libpmemobj and the other persistent libraries:
//! CPU feature selection, cache flushing, non-temporal copies and fills, file mapping with DAX
//! detection, and error/log text. Plain Rust; each C library wraps it at its own boundary.

pub mod copy;
pub mod cpu;
pub mod flush;
pub mod log;
pub mod map;

use std::os::raw::{c_int, c_uint};

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
