//! memkind 1.14 error codes (values are ABI and never change) and their messages.

use std::os::raw::c_int;

pub const MEMKIND_SUCCESS: c_int = 0;
pub const MEMKIND_ERROR_UNAVAILABLE: c_int = -1;
pub const MEMKIND_ERROR_MBIND: c_int = -2;
pub const MEMKIND_ERROR_MMAP: c_int = -3;
pub const MEMKIND_ERROR_MALLOC: c_int = -6;
pub const MEMKIND_ERROR_ENVIRON: c_int = -12;
pub const MEMKIND_ERROR_INVALID: c_int = -13;
pub const MEMKIND_ERROR_TOOMANY: c_int = -15;
pub const MEMKIND_ERROR_BADOPS: c_int = -17;
pub const MEMKIND_ERROR_HUGETLB: c_int = -18;
pub const MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE: c_int = -20;
pub const MEMKIND_ERROR_OPERATION_FAILED: c_int = -21;
pub const MEMKIND_ERROR_ARENAS_CREATE: c_int = -22;
pub const MEMKIND_ERROR_RUNTIME: c_int = -255;

/// Internal error; `src/ffi` turns it into a code (and errno where the API sets one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Unavailable,
    Invalid,
    TooMany,
    Mmap,
    ArenasCreate,
    Runtime,
    /// Out of memory, address space or file-system space.
    NoMem,
    /// Huge pages are not available.
    HugeTlb,
    /// The memory type (high bandwidth, low latency, ...) does not exist on this machine.
    MemtypeNotAvailable,
    /// A MEMKIND_* environment variable could not be parsed.
    Environ,
}

impl Error {
    pub fn code(self) -> c_int {
        match self {
            Error::Unavailable => MEMKIND_ERROR_UNAVAILABLE,
            Error::Invalid => MEMKIND_ERROR_INVALID,
            Error::TooMany => MEMKIND_ERROR_TOOMANY,
            Error::Mmap => MEMKIND_ERROR_MMAP,
            Error::ArenasCreate => MEMKIND_ERROR_ARENAS_CREATE,
            Error::Runtime => MEMKIND_ERROR_RUNTIME,
            Error::NoMem => MEMKIND_ERROR_MALLOC,
            Error::HugeTlb => MEMKIND_ERROR_HUGETLB,
            Error::MemtypeNotAvailable => MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE,
            Error::Environ => MEMKIND_ERROR_ENVIRON,
        }
    }

    /// What went wrong, in words (for `MEMKIND_DEBUG` reports).
    pub fn text(self) -> &'static str {
        match self {
            Error::NoMem => "out of memory",
            e => code_text(e.code()).unwrap_or("error"),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Text for an error code, as `memkind_error_message` reports it.
pub fn message(code: c_int) -> String {
    match code_text(code) {
        Some(text) => format!("<memkind> {text}"),
        None => format!("<memkind> Undefined error number: {code}"),
    }
}

fn code_text(code: c_int) -> Option<&'static str> {
    let text = match code {
        // Programs match on these words (memkind's key terms), so they are kept.
        MEMKIND_ERROR_UNAVAILABLE => "Requested memory kind is not available on this machine",
        MEMKIND_ERROR_MBIND => "Call to mbind() failed while binding memory to NUMA nodes",
        MEMKIND_ERROR_MMAP => "Call to mmap() failed while mapping memory",
        MEMKIND_ERROR_MALLOC => "Call to malloc() failed: out of memory",
        MEMKIND_ERROR_ENVIRON => "Error parsing environment variable (MEMKIND_*)",
        MEMKIND_ERROR_INVALID => "Invalid input arguments to memkind routine",
        MEMKIND_ERROR_TOOMANY => "Attempted to create more than the maximum (512) number of kinds",
        MEMKIND_ERROR_BADOPS => "memkind_ops structure is invalid (missing or wrong functions)",
        MEMKIND_ERROR_HUGETLB => "unable to allocate huge pages",
        MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE => "Requested memory type is not available",
        MEMKIND_ERROR_OPERATION_FAILED => "Operation failed",
        MEMKIND_ERROR_ARENAS_CREATE => "Call to jemalloc's arenas.create() failed",
        MEMKIND_ERROR_RUNTIME => "unspecified run-time error",
        _ => return None,
    };
    Some(text)
}
