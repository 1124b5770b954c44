//! `libpmem.so.1`: libpmem 1.x's exports (`pmem_*`). Each one checks its arguments, calls
//! into the `persist` crate, and turns errors into `errno` plus `pmem_errormsg()` text.
//! `include/libpmem.h` is generated from this file by cbindgen (see `cbindgen-pmem.toml`).

use cabi::{boundary, set_errno, Int};
use persist::{self as pmem, copy, flush, log, map};
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};

/// Load-time constructor: the dynamic loader (or the C runtime, for the static library)
/// runs every `.init_array` entry before `main`. It opens `PMEM_LOG_FILE` now, as libpmem
/// does when it loads, so no descriptor appears in the middle of the program's run.
#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

extern "C" fn on_load() {
    boundary(log::init)
}

fn errno_result(r: Result<(), i32>) -> Int<-1> {
    match r {
        Ok(()) => Int(0),
        Err(e) => {
            set_errno(e);
            Int(-1)
        }
    }
}

/// Maps `path` (creating it per `flags`) and returns its address, or NULL with errno set.
///
/// # Safety
/// `path` must be a NUL-terminated string; `mapped_lenp` and `is_pmemp` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmem_map_file(
    path: *const c_char,
    len: usize,
    flags: c_int,
    mode: libc::mode_t,
    mapped_lenp: *mut usize,
    is_pmemp: *mut c_int,
) -> *mut c_void {
    boundary(|| {
        if path.is_null() {
            log::set_error(format_args!("pmem_map_file: path is NULL"));
            set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        }
        // SAFETY: non-NULL and NUL-terminated per the C contract.
        let cpath = unsafe { CStr::from_ptr(path) };
        match map::map_file(cpath, len, flags, mode) {
            Ok(m) => {
                // SAFETY: out-parameters are NULL or writable per the C contract.
                unsafe {
                    if !mapped_lenp.is_null() {
                        *mapped_lenp = m.len;
                    }
                    if !is_pmemp.is_null() {
                        *is_pmemp = m.is_pmem as c_int;
                    }
                }
                m.addr.cast()
            }
            Err(e) => {
                set_errno(e.errno);
                std::ptr::null_mut()
            }
        }
    })
}

/// Unmaps `[addr, addr + len)`; 0 on success, -1 with errno.
///
/// # Safety
/// Nothing may use the range afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmem_unmap(addr: *mut c_void, len: usize) -> c_int {
    boundary(|| errno_result(map::unmap(addr.cast(), len))).0
}

/// 1 if the whole range is persistent memory mapped by `pmem_map_file`, else 0.
#[no_mangle]
pub extern "C" fn pmem_is_pmem(addr: *const c_void, len: usize) -> c_int {
    boundary(|| Int::<0>(map::is_pmem(addr.cast(), len) as c_int)).0
}

/// Flushes the range from the CPU caches and waits for it to reach persistence.
///
/// # Safety
/// The range must be mapped.
#[no_mangle]
pub unsafe extern "C" fn pmem_persist(addr: *const c_void, len: usize) {
    boundary(|| {
        // SAFETY: caller guarantees the range is mapped.
        unsafe { flush::flush(addr.cast(), len) };
        flush::drain();
    })
}

/// `msync(MS_SYNC)` of the pages holding the range; 0 or -1 with errno.
#[no_mangle]
pub extern "C" fn pmem_msync(addr: *const c_void, len: usize) -> c_int {
    boundary(|| errno_result(map::msync(addr.cast(), len))).0
}

/// Flushes the range from the CPU caches without waiting.
///
/// # Safety
/// The range must be mapped.
#[no_mangle]
pub unsafe extern "C" fn pmem_flush(addr: *const c_void, len: usize) {
    // SAFETY: caller guarantees the range is mapped.
    boundary(|| unsafe { flush::flush(addr.cast(), len) })
}

/// Waits for earlier flushes and non-temporal stores.
#[no_mangle]
pub extern "C" fn pmem_drain() {
    boundary(|| {
        flush::drain();
        copy::batch_drained();
    })
}

/// Flushes the range even on platforms that flush caches on power loss.
///
/// # Safety
/// The range must be mapped.
#[no_mangle]
pub unsafe extern "C" fn pmem_deep_flush(addr: *const c_void, len: usize) {
    // SAFETY: caller guarantees the range is mapped.
    boundary(|| unsafe { flush::deep_flush(addr.cast(), len) })
}

/// Drains and pushes the range through the memory controller's buffers; 0 or -1 with errno.
#[no_mangle]
pub extern "C" fn pmem_deep_drain(addr: *const c_void, len: usize) -> c_int {
    boundary(|| {
        flush::drain();
        errno_result(map::deep_drain(addr.cast(), len))
    })
    .0
}

/// `pmem_deep_flush` followed by `pmem_deep_drain`; 0 or -1 with errno.
///
/// # Safety
/// The range must be mapped.
#[no_mangle]
pub unsafe extern "C" fn pmem_deep_persist(addr: *const c_void, len: usize) -> c_int {
    boundary(|| {
        // SAFETY: caller guarantees the range is mapped.
        unsafe { flush::deep_flush(addr.cast(), len) };
        flush::drain();
        errno_result(map::deep_drain(addr.cast(), len))
    })
    .0
}

/// 1 if the platform flushes CPU caches on power loss, 0 if not, -1 if unknown.
#[no_mangle]
pub extern "C" fn pmem_has_auto_flush() -> c_int {
    boundary(|| Int::<-1>(pmem::cpu::config().auto_flush)).0
}

/// 1 if the platform drains stores in hardware; never on x86-64.
#[no_mangle]
pub extern "C" fn pmem_has_hw_drain() -> c_int {
    boundary(|| Int::<0>(0)).0
}

/// `memmove` to persistent memory, honouring `PMEM_F_MEM_*` flags; returns `pmemdest`.
///
/// # Safety
/// `src` readable and `pmemdest` writable for `len` bytes; they may overlap.
#[no_mangle]
pub unsafe extern "C" fn pmem_memmove(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: usize,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memmove(pmemdest.cast(), src.cast(), len, flags) });
    pmemdest
}

/// Same as `pmem_memmove` (overlap is allowed here too).
///
/// # Safety
/// As `pmem_memmove`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memcpy(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: usize,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memmove(pmemdest.cast(), src.cast(), len, flags) });
    pmemdest
}

/// `memset` to persistent memory, honouring `PMEM_F_MEM_*` flags; returns `pmemdest`.
///
/// # Safety
/// `pmemdest` writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn pmem_memset(
    pmemdest: *mut c_void,
    c: c_int,
    len: usize,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memset(pmemdest.cast(), c as u8, len, flags) });
    pmemdest
}

/// `pmem_memmove(pmemdest, src, len, 0)`.
///
/// # Safety
/// As `pmem_memmove`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memmove_persist(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memmove(pmemdest.cast(), src.cast(), len, 0) });
    pmemdest
}

/// `pmem_memcpy(pmemdest, src, len, 0)`.
///
/// # Safety
/// As `pmem_memmove`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memcpy_persist(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memmove(pmemdest.cast(), src.cast(), len, 0) });
    pmemdest
}

/// `pmem_memset(pmemdest, c, len, 0)`.
///
/// # Safety
/// As `pmem_memset`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memset_persist(
    pmemdest: *mut c_void,
    c: c_int,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memset(pmemdest.cast(), c as u8, len, 0) });
    pmemdest
}

/// `pmem_memmove(pmemdest, src, len, PMEM_F_MEM_NODRAIN)`.
///
/// # Safety
/// As `pmem_memmove`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memmove_nodrain(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe {
        copy::memmove(pmemdest.cast(), src.cast(), len, pmem::PMEM_F_MEM_NODRAIN)
    });
    pmemdest
}

/// `pmem_memcpy(pmemdest, src, len, PMEM_F_MEM_NODRAIN)`.
///
/// # Safety
/// As `pmem_memmove`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memcpy_nodrain(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe {
        copy::memmove(pmemdest.cast(), src.cast(), len, pmem::PMEM_F_MEM_NODRAIN)
    });
    pmemdest
}

/// `pmem_memset(pmemdest, c, len, PMEM_F_MEM_NODRAIN)`.
///
/// # Safety
/// As `pmem_memset`.
#[no_mangle]
pub unsafe extern "C" fn pmem_memset_nodrain(
    pmemdest: *mut c_void,
    c: c_int,
    len: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    boundary(|| unsafe { copy::memset(pmemdest.cast(), c as u8, len, pmem::PMEM_F_MEM_NODRAIN) });
    pmemdest
}

/// NULL when this library provides API `major.minor`, otherwise a message saying why not.
#[no_mangle]
pub extern "C" fn pmem_check_version(
    major_required: c_uint,
    minor_required: c_uint,
) -> *const c_char {
    boundary(|| {
        if major_required != pmem::PMEM_MAJOR_VERSION {
            log::set_error(format_args!(
                "pmem_check_version: this libpmem implements API major version {}, caller requires {}",
                pmem::PMEM_MAJOR_VERSION,
                major_required
            ));
        } else if minor_required > pmem::PMEM_MINOR_VERSION {
            log::set_error(format_args!(
                "pmem_check_version: this libpmem implements API version {}.{}, caller requires {}.{}",
                pmem::PMEM_MAJOR_VERSION,
                pmem::PMEM_MINOR_VERSION,
                major_required,
                minor_required
            ));
        } else {
            return std::ptr::null();
        }
        log::errormsg()
    })
}

/// The calling thread's last error message.
#[no_mangle]
pub extern "C" fn pmem_errormsg() -> *const c_char {
    boundary(log::errormsg)
}
