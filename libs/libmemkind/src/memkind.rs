//! The memkind 1.14 C API (`memkind.h`): argument checks, error codes and `errno` at the
//! edge; all work is done in `crate::kind`.

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    clippy::missing_safety_doc
)]

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_uint, c_void};

use super::{boundary, boundary_int, set_errno, MEMKIND_ERROR_RUNTIME};
use crate::arena;
use crate::error::{
    self, Error, MEMKIND_ERROR_INVALID, MEMKIND_ERROR_UNAVAILABLE, MEMKIND_SUCCESS,
};
use crate::kind::{self, file, statics, statics::SLOTS as STATIC_SLOTS};

/// Opaque C type behind `memkind_t`.
pub struct memkind {
    _private: [u8; 0],
}

/// Handle of a kind: the address of its slot.
pub type memkind_t = *mut memkind;

/// Memory types for `memkind_create_kind`.
#[repr(C)]
pub enum memkind_memtype_t {
    MEMKIND_MEMTYPE_DEFAULT = 1,
    MEMKIND_MEMTYPE_HIGH_BANDWIDTH = 2,
}

/// Page binding policies for `memkind_create_kind`.
#[repr(C)]
pub enum memkind_policy_t {
    MEMKIND_POLICY_BIND_LOCAL = 0,
    MEMKIND_POLICY_BIND_ALL,
    MEMKIND_POLICY_PREFERRED_LOCAL,
    MEMKIND_POLICY_INTERLEAVE_LOCAL,
    MEMKIND_POLICY_INTERLEAVE_ALL,
    MEMKIND_POLICY_MAX_VALUE,
}

/// Flags for `memkind_create_kind`.
#[repr(C)]
pub enum memkind_bits_t {
    MEMKIND_MASK_PAGE_SIZE_2MB = 21,
}

#[repr(C)]
pub enum memkind_const {
    /// Maximum number of kinds that may exist at once.
    MEMKIND_MAX_KIND = 512,
    /// Size of the buffer `memkind_error_message` needs at most.
    MEMKIND_ERROR_MESSAGE_SIZE = 128,
    /// Smallest non-zero `max_size` of a file-backed kind.
    MEMKIND_PMEM_MIN_SIZE = 1024 * 1024 * 16,
}

/// How eagerly freed memory of a file-backed kind goes back to the file system.
#[repr(C)]
pub enum memkind_mem_usage_policy {
    /// Freed pages are kept a few seconds for reuse.
    MEMKIND_MEM_USAGE_POLICY_DEFAULT = 0,
    /// Freed pages are given back at once.
    MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE = 1,
    MEMKIND_MEM_USAGE_POLICY_MAX_VALUE,
}

#[repr(C)]
pub enum memkind_stat_type {
    MEMKIND_STAT_TYPE_RESIDENT = 0,
    MEMKIND_STAT_TYPE_ACTIVE = 1,
    MEMKIND_STAT_TYPE_ALLOCATED = 2,
    MEMKIND_STAT_TYPE_MAX_VALUE,
}

#[repr(C)]
pub enum memkind_stat_print_opt {
    MEMKIND_STAT_PRINT_ALL = 0,
    MEMKIND_STAT_PRINT_JSON_FORMAT = 1,
    MEMKIND_STAT_PRINT_OMIT_GENERAL = 2,
    MEMKIND_STAT_PRINT_OMIT_MERGED_ARENA = 4,
    MEMKIND_STAT_PRINT_OMIT_DESTROYED_MERGED_ARENA = 8,
    MEMKIND_STAT_PRINT_OMIT_PER_ARENA = 16,
    MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_BINS = 32,
    MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_LARGE = 64,
    MEMKIND_STAT_PRINT_OMIT_MUTEX = 128,
    MEMKIND_STAT_PRINT_OMIT_EXTENT = 256,
}

/// Partition numbers of the static kinds (deprecated API).
#[repr(C)]
pub enum memkind_base_partition {
    MEMKIND_PARTITION_DEFAULT = 0,
    MEMKIND_PARTITION_HBW = 1,
    MEMKIND_PARTITION_HBW_HUGETLB = 2,
    MEMKIND_PARTITION_HBW_PREFERRED = 3,
    MEMKIND_PARTITION_HBW_PREFERRED_HUGETLB = 4,
    MEMKIND_PARTITION_HUGETLB = 5,
    MEMKIND_PARTITION_HBW_GBTLB = 6,
    MEMKIND_PARTITION_HBW_PREFERRED_GBTLB = 7,
    MEMKIND_PARTITION_GBTLB = 8,
    MEMKIND_PARTITION_HBW_INTERLEAVE = 9,
    MEMKIND_PARTITION_INTERLEAVE = 10,
    MEMKIND_PARTITION_REGULAR = 11,
    MEMKIND_PARTITION_HBW_ALL = 12,
    MEMKIND_PARTITION_HBW_ALL_HUGETLB = 13,
    MEMKIND_PARTITION_DAX_KMEM = 14,
    MEMKIND_PARTITION_DAX_KMEM_ALL = 15,
    MEMKIND_PARTITION_DAX_KMEM_PREFERRED = 16,
    MEMKIND_PARTITION_DAX_KMEM_INTERLEAVE = 17,
    MEMKIND_PARTITION_HIGHEST_CAPACITY = 18,
    MEMKIND_PARTITION_HIGHEST_CAPACITY_PREFERRED = 19,
    MEMKIND_PARTITION_HIGHEST_CAPACITY_LOCAL = 20,
    MEMKIND_PARTITION_HIGHEST_CAPACITY_LOCAL_PREFERRED = 21,
    MEMKIND_PARTITION_LOWEST_LATENCY_LOCAL = 22,
    MEMKIND_PARTITION_LOWEST_LATENCY_LOCAL_PREFERRED = 23,
    MEMKIND_PARTITION_HIGHEST_BANDWIDTH_LOCAL = 24,
    MEMKIND_PARTITION_HIGHEST_BANDWIDTH_LOCAL_PREFERRED = 25,
    MEMKIND_NUM_BASE_KIND,
}

/// `memkind_mem_usage_policy` as received from C: any integer, checked before use.
pub type memkind_mem_usage_policy_arg = c_uint;
/// `memkind_stat_type` as received from C.
pub type memkind_stat_type_arg = c_uint;
/// `memkind_stat_print_opt` as received from C.
pub type memkind_stat_print_opt_arg = c_uint;
/// `memkind_memtype_t` as received from C.
pub type memkind_memtype_t_arg = c_uint;
/// `memkind_policy_t` as received from C.
pub type memkind_policy_t_arg = c_uint;
/// `memkind_bits_t` as received from C.
pub type memkind_bits_t_arg = c_uint;

/// Settings for `memkind_create_pmem_with_config`.
pub struct memkind_config {
    path: Option<CString>,
    size: usize,
    policy: c_uint,
}

// The static kinds, as variables C reads (slot index = memkind partition number).
#[no_mangle]
pub static mut MEMKIND_REGULAR: memkind_t = &raw const STATIC_SLOTS[11] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_DEFAULT: memkind_t = &raw const STATIC_SLOTS[0] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HUGETLB: memkind_t = &raw const STATIC_SLOTS[5] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW: memkind_t = &raw const STATIC_SLOTS[1] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_ALL: memkind_t = &raw const STATIC_SLOTS[12] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_PREFERRED: memkind_t = &raw const STATIC_SLOTS[3] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_HUGETLB: memkind_t = &raw const STATIC_SLOTS[2] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_ALL_HUGETLB: memkind_t = &raw const STATIC_SLOTS[13] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_PREFERRED_HUGETLB: memkind_t =
    &raw const STATIC_SLOTS[4] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_INTERLEAVE: memkind_t = &raw const STATIC_SLOTS[9] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_INTERLEAVE: memkind_t = &raw const STATIC_SLOTS[10] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_DAX_KMEM: memkind_t = &raw const STATIC_SLOTS[14] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_DAX_KMEM_ALL: memkind_t = &raw const STATIC_SLOTS[15] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_DAX_KMEM_PREFERRED: memkind_t = &raw const STATIC_SLOTS[16] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_DAX_KMEM_INTERLEAVE: memkind_t = &raw const STATIC_SLOTS[17] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HIGHEST_CAPACITY: memkind_t = &raw const STATIC_SLOTS[18] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HIGHEST_CAPACITY_PREFERRED: memkind_t =
    &raw const STATIC_SLOTS[19] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HIGHEST_CAPACITY_LOCAL: memkind_t =
    &raw const STATIC_SLOTS[20] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED: memkind_t =
    &raw const STATIC_SLOTS[21] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_LOWEST_LATENCY_LOCAL: memkind_t =
    &raw const STATIC_SLOTS[22] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED: memkind_t =
    &raw const STATIC_SLOTS[23] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HIGHEST_BANDWIDTH_LOCAL: memkind_t =
    &raw const STATIC_SLOTS[24] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED: memkind_t =
    &raw const STATIC_SLOTS[25] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_GBTLB: memkind_t = &raw const STATIC_SLOTS[6] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_HBW_PREFERRED_GBTLB: memkind_t = &raw const STATIC_SLOTS[7] as *mut memkind;
#[no_mangle]
pub static mut MEMKIND_GBTLB: memkind_t = &raw const STATIC_SLOTS[8] as *mut memkind;

/// Borrow of a C string argument; None for NULL.
unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        None
    } else {
        // SAFETY: the caller passes a NUL-terminated string, as the API requires.
        Some(unsafe { CStr::from_ptr(p) })
    }
}

fn errno_for(e: Error) -> c_int {
    match e {
        Error::Invalid => libc::EINVAL,
        _ => libc::ENOMEM,
    }
}

/// Turns an allocation result into a C pointer, setting errno on failure.
fn ptr_result(r: error::Result<*mut c_void>) -> *mut c_void {
    match r {
        Ok(p) => p,
        Err(e) => {
            crate::env::log(&[b"allocation failed: ", e.text().as_bytes()]);
            set_errno(errno_for(e));
            std::ptr::null_mut()
        }
    }
}

fn code(r: error::Result<()>) -> c_int {
    match r {
        Ok(()) => MEMKIND_SUCCESS,
        Err(e) => e.code(),
    }
}

// ---- configuration -------------------------------------------------------------------

/// Creates an empty configuration (no path, size 0, default policy); NULL when out of memory.
#[no_mangle]
pub extern "C" fn memkind_config_new() -> *mut memkind_config {
    boundary(|| {
        Box::into_raw(Box::new(memkind_config {
            path: None,
            size: 0,
            policy: 0,
        }))
    })
}

/// Frees a configuration; NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn memkind_config_delete(cfg: *mut memkind_config) {
    boundary(|| {
        if !cfg.is_null() {
            // SAFETY: cfg came from memkind_config_new and is deleted once, per the API.
            drop(unsafe { Box::from_raw(cfg) });
        }
    })
}

/// Sets the directory of the kind's file (copied).
#[no_mangle]
pub unsafe extern "C" fn memkind_config_set_path(
    cfg: *mut memkind_config,
    pmem_dir: *const c_char,
) {
    boundary(|| {
        // SAFETY: cfg is NULL or a live configuration.
        if let Some(cfg) = unsafe { cfg.as_mut() } {
            // SAFETY: pmem_dir is NULL or a NUL-terminated string.
            cfg.path = unsafe { c_str(pmem_dir) }.map(CStr::to_owned);
        }
    })
}

/// Sets the kind's size limit (0 = only the file system limits it).
#[no_mangle]
pub unsafe extern "C" fn memkind_config_set_size(cfg: *mut memkind_config, pmem_size: usize) {
    boundary(|| {
        // SAFETY: cfg is NULL or a live configuration.
        if let Some(cfg) = unsafe { cfg.as_mut() } {
            cfg.size = pmem_size;
        }
    })
}

/// Sets the memory-usage policy; an invalid value makes the create call fail.
#[no_mangle]
pub unsafe extern "C" fn memkind_config_set_memory_usage_policy(
    cfg: *mut memkind_config,
    policy: memkind_mem_usage_policy_arg,
) {
    boundary(|| {
        // SAFETY: cfg is NULL or a live configuration.
        if let Some(cfg) = unsafe { cfg.as_mut() } {
            cfg.policy = policy;
        }
    })
}

// ---- kinds ---------------------------------------------------------------------------

/// The kind for a memory type, binding policy and page-size flags: one of the static kinds
/// (`MEMKIND_HBW`, `MEMKIND_HBW_PREFERRED`, ...), so destroying it does nothing. Supported:
/// DEFAULT with PREFERRED_LOCAL; HIGH_BANDWIDTH with BIND_LOCAL, BIND_ALL or
/// PREFERRED_LOCAL (each also with `MEMKIND_MASK_PAGE_SIZE_2MB`) or INTERLEAVE_ALL;
/// DEFAULT|HIGH_BANDWIDTH with INTERLEAVE_ALL. Other combinations give
/// `MEMKIND_ERROR_INVALID`; a kind this machine cannot provide gives
/// `MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE`, except that PREFERRED_LOCAL falls back on
/// `MEMKIND_DEFAULT` memory. `*kind` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn memkind_create_kind(
    memtype_flags: memkind_memtype_t_arg,
    policy: memkind_policy_t_arg,
    flags: memkind_bits_t_arg,
    kind: *mut memkind_t,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        if kind.is_null() {
            return MEMKIND_ERROR_INVALID;
        }
        match statics::for_create(memtype_flags, policy, flags) {
            Ok(slot) => {
                // SAFETY: kind is a non-NULL out-pointer; written only on success.
                unsafe { *kind = slot.handle() as memkind_t };
                MEMKIND_SUCCESS
            }
            Err(e) => e.code(),
        }
    })
}

/// Destroys a created kind and everything allocated from it.
#[no_mangle]
pub extern "C" fn memkind_destroy_kind(kind: memkind_t) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| match kind::slot_of_handle(kind as *const c_void) {
        Some(slot) => code(kind::destroy(slot).inspect(|_| super::memtier::forget_kind(slot))),
        None => MEMKIND_ERROR_INVALID,
    })
}

/// The kind that allocated `ptr`; NULL for NULL or a pointer no kind allocated.
#[no_mangle]
pub extern "C" fn memkind_detect_kind(ptr: *mut c_void) -> memkind_t {
    boundary(|| {
        if ptr.is_null() {
            return std::ptr::null_mut();
        }
        match kind::detect(ptr) {
            Some(slot) => slot.handle() as memkind_t,
            None => {
                kind::report_foreign("memkind_detect_kind", ptr);
                std::ptr::null_mut()
            }
        }
    })
}

/// major * 1000000 + minor * 1000 + patch of the memkind API provided.
#[no_mangle]
pub extern "C" fn memkind_get_version() -> c_int {
    1_014_000
}

/// Writes the text for `err` into `msg` (at most `size` bytes, NUL-terminated).
#[no_mangle]
pub unsafe extern "C" fn memkind_error_message(err: c_int, msg: *mut c_char, size: usize) {
    boundary(|| {
        if msg.is_null() || size == 0 {
            return;
        }
        let text = error::message(err);
        let n = text.len().min(size - 1);
        // SAFETY: the caller provides `size` writable bytes at msg.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), msg as *mut u8, n);
            *msg.add(n) = 0;
        }
    })
}

fn create_pmem(dir: Option<&CStr>, max_size: usize, policy: c_uint, kind: *mut memkind_t) -> c_int {
    if kind.is_null() {
        return MEMKIND_ERROR_INVALID;
    }
    let Some(dir) = dir else {
        return MEMKIND_ERROR_INVALID;
    };
    match file::create(dir, max_size, policy) {
        Ok(slot) => {
            // SAFETY: kind is a non-NULL out-pointer; written only on success.
            unsafe { *kind = slot.handle() as memkind_t };
            MEMKIND_SUCCESS
        }
        Err(e) => e.code(),
    }
}

/// Creates a file-backed kind in `dir` holding at most `max_size` bytes (0: no limit).
#[no_mangle]
pub unsafe extern "C" fn memkind_create_pmem(
    dir: *const c_char,
    max_size: usize,
    kind: *mut memkind_t,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        // SAFETY: dir is NULL or a NUL-terminated string per the C contract.
        create_pmem(unsafe { c_str(dir) }, max_size, 0, kind)
    })
}

/// Creates a file-backed kind from a configuration.
#[no_mangle]
pub unsafe extern "C" fn memkind_create_pmem_with_config(
    cfg: *mut memkind_config,
    kind: *mut memkind_t,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        // SAFETY: cfg is NULL or a live configuration.
        let Some(cfg) = (unsafe { cfg.as_ref() }) else {
            return MEMKIND_ERROR_INVALID;
        };
        create_pmem(cfg.path.as_deref(), cfg.size, cfg.policy, kind)
    })
}

/// Creates a kind allocating inside `[addr, addr+size)`, which stays the caller's and must
/// stay mapped until the kind is destroyed. `MEMKIND_ERROR_INVALID` for NULL arguments, a
/// region without one whole page, or one overlapping memory of another kind.
#[no_mangle]
pub unsafe extern "C" fn memkind_create_fixed(
    addr: *mut c_void,
    size: usize,
    kind: *mut memkind_t,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        if addr.is_null() || kind.is_null() {
            return MEMKIND_ERROR_INVALID;
        }
        match kind::fixed::create(addr as usize, size) {
            Ok(slot) => {
                // SAFETY: kind is a non-NULL out-pointer; written only on success.
                unsafe { *kind = slot.handle() as memkind_t };
                MEMKIND_SUCCESS
            }
            Err(e) => e.code(),
        }
    })
}

/// 0 when the kind can allocate on this machine.
#[no_mangle]
pub extern "C" fn memkind_check_available(kind: memkind_t) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| match kind::slot_of_handle(kind as *const c_void) {
        Some(slot) if statics::is_static(slot) => code(statics::available(slot)),
        Some(slot) if slot.is_live() => MEMKIND_SUCCESS,
        _ => MEMKIND_ERROR_INVALID,
    })
}

/// Bytes the kind can hold at most, or -1. For static kinds: the memory of their NUMA
/// nodes (the huge page pool for HUGETLB), -1 for the PREFERRED kinds, as in memkind.
#[no_mangle]
pub extern "C" fn memkind_get_capacity(kind: memkind_t) -> libc::ssize_t {
    boundary(|| {
        let slot = match kind::slot_of_handle(kind as *const c_void) {
            Some(s) if statics::is_static(s) => Ok(s),
            _ => kind::usable(kind as *const c_void),
        };
        match slot {
            Ok(slot) => kind::capacity(slot).map_or(-1, |c| c.min(isize::MAX as u64) as isize),
            Err(_) => -1,
        }
    })
}

/// Refreshes the statistics `memkind_get_stat` reports; they do not change otherwise.
#[no_mangle]
pub extern "C" fn memkind_update_cached_stats() -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        // Freed large blocks this thread keeps for reuse would count as allocated.
        kind::cache::release_large_own();
        kind::refresh_big_stats();
        if arena::refresh_stats() {
            MEMKIND_SUCCESS
        } else {
            error::MEMKIND_ERROR_OPERATION_FAILED
        }
    })
}

/// Writes a statistic of `kind` (NULL: of the whole library) as of the last
/// `memkind_update_cached_stats` to `*value`. `MEMKIND_ERROR_INVALID` for an unknown
/// statistic, a destroyed or foreign kind, or a NULL `value`; a static kind the machine
/// lacks has 0.
#[no_mangle]
pub unsafe extern "C" fn memkind_get_stat(
    kind: memkind_t,
    stat: memkind_stat_type_arg,
    value: *mut usize,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        let stat = match stat {
            0 => arena::Stat::Resident,
            1 => arena::Stat::Active,
            2 => arena::Stat::Allocated,
            _ => return MEMKIND_ERROR_INVALID,
        };
        if value.is_null() {
            return MEMKIND_ERROR_INVALID;
        }
        let v = if kind.is_null() {
            arena::total_stat(stat).map(|v| v + kind::big_total(stat))
        } else {
            match kind::slot_of_handle(kind as *const c_void) {
                Some(slot) if slot.is_live() || statics::is_static(slot) => kind::stat(slot, stat),
                _ => return MEMKIND_ERROR_INVALID,
            }
        };
        match v {
            Some(v) => {
                // SAFETY: value is a non-NULL out-pointer; written only on success.
                unsafe { *value = v };
                MEMKIND_SUCCESS
            }
            None => error::MEMKIND_ERROR_OPERATION_FAILED,
        }
    })
}

/// jemalloc's option letter for each `MEMKIND_STAT_PRINT_*` flag, lowest bit first.
const STAT_PRINT_LETTERS: [u8; 9] = *b"Jgmdablxe";

/// Prints the allocator's statistics through `write_cb(cbopaque, text)` (NULL: to stderr).
/// `MEMKIND_ERROR_INVALID` for option bits memkind does not define.
#[no_mangle]
pub unsafe extern "C" fn memkind_stats_print(
    write_cb: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
    cbopaque: *mut c_void,
    opts: memkind_stat_print_opt_arg,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        if opts >> STAT_PRINT_LETTERS.len() != 0 {
            return MEMKIND_ERROR_INVALID;
        }
        let mut letters = [0u8; STAT_PRINT_LETTERS.len() + 1];
        let mut n = 0;
        for (bit, &l) in STAT_PRINT_LETTERS.iter().enumerate() {
            if opts & (1 << bit) != 0 {
                letters[n] = l;
                n += 1;
            }
        }
        let Ok(opts) = CStr::from_bytes_until_nul(&letters) else {
            return MEMKIND_ERROR_INVALID;
        };
        // SAFETY: the caller of memkind_stats_print passes a callback for its cbopaque.
        unsafe { arena::print_stats(write_cb, cbopaque, opts) };
        MEMKIND_SUCCESS
    })
}

/// 0 when files in `pmem_dir` can be mapped with MAP_SYNC (a DAX file system).
#[no_mangle]
pub unsafe extern "C" fn memkind_check_dax_path(pmem_dir: *const c_char) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        // SAFETY: pmem_dir is NULL or a NUL-terminated string.
        let Some(dir) = (unsafe { c_str(pmem_dir) }) else {
            return MEMKIND_ERROR_INVALID;
        };
        match crate::sys::dir_supports_map_sync(dir) {
            Ok(true) => MEMKIND_SUCCESS,
            // memkind's codes: the mapping failed, or the directory is unusable.
            Ok(false) => error::MEMKIND_ERROR_MMAP,
            Err(_) => error::MEMKIND_ERROR_RUNTIME,
        }
    })
}

/// Turns jemalloc's background purging threads on or off.
#[no_mangle]
pub extern "C" fn memkind_set_bg_threads(state: bool) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        if crate::arena::set_background_threads(state) == 0 {
            MEMKIND_SUCCESS
        } else {
            error::MEMKIND_ERROR_OPERATION_FAILED
        }
    })
}

/// Static kind by partition number (deprecated API).
#[no_mangle]
pub unsafe extern "C" fn memkind_get_kind_by_partition(
    partition: c_int,
    kind: *mut memkind_t,
) -> c_int {
    boundary_int::<MEMKIND_ERROR_RUNTIME, _>(|| {
        if kind.is_null() || partition < 0 || partition as usize >= statics::NUM_STATIC {
            return MEMKIND_ERROR_UNAVAILABLE;
        }
        // SAFETY: kind is a non-NULL out-pointer.
        unsafe { *kind = STATIC_SLOTS[partition as usize].handle() as memkind_t };
        MEMKIND_SUCCESS
    })
}

// ---- heap ----------------------------------------------------------------------------

/// Allocates `size` bytes of `kind`; NULL for size 0, NULL + ENOMEM when out of memory.
#[no_mangle]
pub extern "C" fn memkind_malloc(kind: memkind_t, size: usize) -> *mut c_void {
    // The fast path has nothing that can panic (no indexing, no unwrap, TLS through
    // try_with), so it runs before the boundary and keeps this function a leaf.
    if std::ptr::eq(kind, &STATIC_SLOTS[0] as *const _ as memkind_t) {
        if let Some(p) = kind::default_malloc_fast(size) {
            return p;
        }
    } else if let Some(p) = kind::cached_malloc_fast(kind as *const c_void, size) {
        return p;
    }
    malloc_general(kind, size)
}

#[inline(never)]
fn malloc_general(kind: memkind_t, size: usize) -> *mut c_void {
    boundary(|| ptr_result(kind::usable(kind as *const c_void).and_then(|s| kind::malloc(s, size))))
}

/// Zeroed `num * size` bytes; NULL + ENOMEM if the product overflows.
#[no_mangle]
pub extern "C" fn memkind_calloc(kind: memkind_t, num: usize, size: usize) -> *mut c_void {
    boundary(|| {
        ptr_result(kind::usable(kind as *const c_void).and_then(|s| kind::calloc(s, num, size)))
    })
}

/// Aligned allocation; EINVAL for a bad alignment, ENOMEM when out of memory. `*memptr`
/// is written only on success.
#[no_mangle]
pub unsafe extern "C" fn memkind_posix_memalign(
    kind: memkind_t,
    memptr: *mut *mut c_void,
    alignment: usize,
    size: usize,
) -> c_int {
    boundary_int::<{ libc::ENOMEM }, _>(|| {
        if super::bad_alignment(memptr, alignment) {
            return libc::EINVAL;
        }
        if size == 0 {
            // As memkind: 0 and NULL for no bytes, whatever the kind.
            // SAFETY: memptr is a non-NULL out-pointer.
            unsafe { *memptr = std::ptr::null_mut() };
            return 0;
        }
        match kind::usable(kind as *const c_void).and_then(|s| kind::aligned(s, alignment, size)) {
            Ok(p) => {
                // SAFETY: memptr is a non-NULL out-pointer.
                unsafe { *memptr = p };
                0
            }
            Err(e) => errno_for(e),
        }
    })
}

/// Resizes `ptr`; with a NULL kind the owning kind is looked up.
#[no_mangle]
pub extern "C" fn memkind_realloc(kind: memkind_t, ptr: *mut c_void, size: usize) -> *mut c_void {
    boundary(|| {
        if ptr.is_null() {
            if kind.is_null() {
                set_errno(libc::EINVAL);
                return std::ptr::null_mut();
            }
            return memkind_malloc(kind, size);
        }
        if size == 0 {
            if !kind::free(ptr) {
                kind::report_foreign("memkind_realloc", ptr);
            }
            return std::ptr::null_mut();
        }
        let target = if kind.is_null() {
            kind::detect(ptr).ok_or(Error::Invalid)
        } else {
            kind::usable(kind as *const c_void)
        };
        let r = target.and_then(|t| kind::realloc(t, ptr, size));
        if let Err(Error::Invalid) = r {
            if kind::detect(ptr).is_none() {
                kind::report_foreign("memkind_realloc", ptr);
            }
        }
        ptr_result(r)
    })
}

/// Frees `ptr` into the kind that owns it (`kind` may be NULL). A pointer no kind owns is
/// reported on stderr and left alone.
#[no_mangle]
pub extern "C" fn memkind_free(kind: memkind_t, ptr: *mut c_void) {
    let _ = kind;
    // As in memkind_malloc: nothing on the fast path can panic.
    if ptr.is_null() || kind::free_fast(ptr) {
        return;
    }
    free_general(ptr)
}

#[inline(never)]
fn free_general(ptr: *mut c_void) {
    boundary(|| {
        if !kind::free(ptr) {
            kind::report_foreign("memkind_free", ptr);
        }
    })
}

/// Usable bytes of the block at `ptr`; 0 for NULL or a pointer no kind owns.
#[no_mangle]
pub extern "C" fn memkind_malloc_usable_size(kind: memkind_t, ptr: *mut c_void) -> usize {
    let _ = kind;
    boundary(|| kind::usable_size_or_report("memkind_malloc_usable_size", ptr))
}

/// Moves `ptr` within its kind when that helps free a fragmented page, and returns the new
/// address (the old one is freed); NULL when the block stays where it is, for NULL, and for
/// a pointer no kind allocated. `kind` may be NULL: the owning kind is always used.
#[no_mangle]
pub extern "C" fn memkind_defrag_reallocate(kind: memkind_t, ptr: *mut c_void) -> *mut c_void {
    let _ = kind;
    boundary(|| {
        if ptr.is_null() {
            return std::ptr::null_mut();
        }
        kind::defrag(ptr).unwrap_or(std::ptr::null_mut())
    })
}
