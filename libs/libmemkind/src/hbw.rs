//! The hbwmalloc API (`hbwmalloc.h`): high-bandwidth memory through the static HBW kinds.
//!
//! The fallback policy is process-wide and fixed by the first successful `hbw_set_policy`
//! or the first allocation (then PREFERRED). Which kind serves a request follows from the
//! policy and page size; under PREFERRED a machine without high-bandwidth memory is served
//! from standard memory of the same page size. Errors are POSIX codes, as documented.

#![allow(non_camel_case_types, clippy::missing_safety_doc)]

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicI32, Ordering};

use super::memkind::{memkind_free, memkind_malloc_usable_size, memkind_realloc, memkind_t};
use super::{boundary, boundary_int};
use crate::env;
use crate::kind::{self, statics};
use crate::numa::{self, Family, NodeMask};
use crate::sys;

/// What happens when high-bandwidth memory runs short.
#[repr(C)]
pub enum hbw_policy_t {
    /// Only the nearest high-bandwidth node: NULL + ENOMEM when it is full.
    HBW_POLICY_BIND = 1,
    /// The nearest high-bandwidth node, then standard memory (the default).
    HBW_POLICY_PREFERRED = 2,
    /// Pages interleaved over all high-bandwidth nodes (small pages only).
    HBW_POLICY_INTERLEAVE = 3,
    /// Any high-bandwidth node: NULL + ENOMEM when all are full.
    HBW_POLICY_BIND_ALL = 4,
}

/// Page sizes for `hbw_posix_memalign_psize`.
#[repr(C)]
pub enum hbw_pagesize_t {
    HBW_PAGESIZE_4KB = 1,
    /// Needs huge pages in the kernel's pool.
    HBW_PAGESIZE_2MB = 2,
    /// Deprecated: 1 GiB pages; the size must be a multiple of 1 GiB.
    HBW_PAGESIZE_1GB_STRICT = 3,
    /// Deprecated: 1 GiB pages for any size.
    HBW_PAGESIZE_1GB = 4,
    /// One past the last valid value.
    HBW_PAGESIZE_MAX_VALUE,
}

/// `hbw_verify_memory_region` flag: touch (read and write back) every page first.
pub const HBW_TOUCH_PAGES: c_int = 1;

/// `hbw_policy_t` as received from C: any integer, checked before use.
pub type hbw_policy_t_arg = c_int;
/// `hbw_pagesize_t` as received from C.
pub type hbw_pagesize_t_arg = c_int;

const BIND: c_int = 1;
const PREFERRED: c_int = 2;
const INTERLEAVE: c_int = 3;
const BIND_ALL: c_int = 4;
const PAGE_4K: c_int = 1;
const PAGE_2M: c_int = 2;
const PAGE_1G_STRICT: c_int = 3;
const PAGE_1G: c_int = 4;

/// 0 until fixed by `hbw_set_policy` or the first allocation.
static POLICY: AtomicI32 = AtomicI32::new(0);

/// The policy in force, fixing the default if none was set yet.
fn fixed_policy() -> c_int {
    match POLICY.compare_exchange(0, PREFERRED, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => PREFERRED,
        Err(p) => p,
    }
}

fn handle(partition: usize) -> memkind_t {
    statics::SLOTS[partition].handle() as memkind_t
}

/// The kind serving `policy` and `pagesize`; Err(errno) for an unsupported pair.
fn kind_for(policy: c_int, pagesize: c_int) -> Result<memkind_t, c_int> {
    // (kind, standard-memory fallback under PREFERRED), by memkind partition number.
    let (want, fallback) = match (policy, pagesize) {
        (BIND, PAGE_4K) => (1, None),
        (BIND, PAGE_2M) => (2, None),
        (BIND | BIND_ALL, PAGE_1G | PAGE_1G_STRICT) => (6, None),
        (BIND_ALL, PAGE_4K) => (12, None),
        (BIND_ALL, PAGE_2M) => (13, None),
        (PREFERRED, PAGE_4K) => (3, Some(0)),
        (PREFERRED, PAGE_2M) => (4, Some(5)),
        (PREFERRED, PAGE_1G | PAGE_1G_STRICT) => (7, Some(8)),
        (INTERLEAVE, PAGE_4K) => (9, None),
        _ => return Err(libc::EINVAL),
    };
    let k = handle(want);
    match fallback {
        Some(f) if kind::usable(k as *const c_void).is_err() => Ok(handle(f)),
        _ => Ok(k),
    }
}

fn small_kind() -> memkind_t {
    kind_for(fixed_policy(), PAGE_4K).unwrap_or(std::ptr::null_mut())
}

/// The current fallback policy (PREFERRED until one is set).
#[no_mangle]
pub extern "C" fn hbw_get_policy() -> hbw_policy_t_arg {
    boundary_int::<PREFERRED, _>(|| match POLICY.load(Ordering::Acquire) {
        0 => PREFERRED,
        p => p,
    })
}

/// Sets the fallback policy, once, before the first allocation: 0 on success (also when
/// `mode` is the policy already in force), EPERM once a different policy is fixed, EINVAL
/// for an unknown mode.
#[no_mangle]
pub extern "C" fn hbw_set_policy(mode: hbw_policy_t_arg) -> c_int {
    boundary_int::<{ libc::EINVAL }, _>(|| {
        if !(BIND..=BIND_ALL).contains(&mode) {
            return libc::EINVAL;
        }
        match POLICY.compare_exchange(0, mode, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => 0,
            Err(p) if p == mode => 0,
            Err(_) => {
                env::log(&[b"hbw_set_policy: the policy is already fixed"]);
                libc::EPERM
            }
        }
    })
}

/// 0 when high-bandwidth memory exists, else ENODEV.
#[no_mangle]
pub extern "C" fn hbw_check_available() -> c_int {
    boundary_int::<{ libc::ENODEV }, _>(|| {
        if kind::usable(handle(1) as *const c_void).is_ok() {
            0
        } else {
            libc::ENODEV
        }
    })
}

/// `size` bytes of high-bandwidth memory; NULL for size 0, NULL + ENOMEM on failure.
#[no_mangle]
pub extern "C" fn hbw_malloc(size: usize) -> *mut c_void {
    boundary(|| super::memkind::memkind_malloc(small_kind(), size))
}

/// Zeroed `num * size` bytes of high-bandwidth memory.
#[no_mangle]
pub extern "C" fn hbw_calloc(num: usize, size: usize) -> *mut c_void {
    boundary(|| super::memkind::memkind_calloc(small_kind(), num, size))
}

/// Resizes a block (NULL `ptr`: allocates; size 0: frees and returns NULL).
#[no_mangle]
pub extern "C" fn hbw_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    boundary(|| memkind_realloc(small_kind(), ptr, size))
}

/// Frees a block of any hbw_* allocation; NULL is ignored.
#[no_mangle]
pub extern "C" fn hbw_free(ptr: *mut c_void) {
    memkind_free(std::ptr::null_mut(), ptr)
}

/// Usable bytes of a block; 0 for NULL.
#[no_mangle]
pub extern "C" fn hbw_malloc_usable_size(ptr: *mut c_void) -> usize {
    memkind_malloc_usable_size(std::ptr::null_mut(), ptr)
}

/// Aligned high-bandwidth memory on small pages; see `hbw_posix_memalign_psize`.
#[no_mangle]
pub unsafe extern "C" fn hbw_posix_memalign(
    memptr: *mut *mut c_void,
    alignment: usize,
    size: usize,
) -> c_int {
    // SAFETY: the caller's arguments are passed on unchanged.
    unsafe { hbw_posix_memalign_psize(memptr, alignment, size, PAGE_4K) }
}

/// Aligned high-bandwidth memory on pages of `pagesize`: 0 and the block in `*memptr`
/// (NULL for size 0); EINVAL for a bad alignment or page size, a page size the policy
/// does not support (INTERLEAVE: small pages only) or a 1GB_STRICT size that is not a
/// multiple of 1 GiB; ENOMEM when out of memory. `*memptr` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn hbw_posix_memalign_psize(
    memptr: *mut *mut c_void,
    alignment: usize,
    size: usize,
    pagesize: hbw_pagesize_t_arg,
) -> c_int {
    boundary_int::<{ libc::ENOMEM }, _>(|| {
        if super::bad_alignment(memptr, alignment)
            || !(PAGE_4K..=PAGE_1G).contains(&pagesize)
            || (pagesize == PAGE_1G_STRICT && size % (1 << 30) != 0)
        {
            return libc::EINVAL;
        }
        let k = match kind_for(fixed_policy(), pagesize) {
            Ok(k) => k,
            Err(e) => return e,
        };
        // SAFETY: memptr is non-NULL; the remaining checks are memkind_posix_memalign's.
        unsafe { super::memkind::memkind_posix_memalign(k, memptr, alignment, size) }
    })
}

/// High-bandwidth nodes: those of any HBW kind.
fn hbw_nodes() -> Option<NodeMask> {
    sys::preserving_errno(|| numa::select(Family::Hbw { all: true }).ok().map(|s| s.all))
}

/// Reads and writes back the first byte of every page in `[start, end)`.
fn touch_pages(start: usize, end: usize, page: usize) {
    for p in (start..end).step_by(page) {
        let b = p as *mut u8;
        // SAFETY: the caller vouches for the range (hbw_verify_memory_region's contract);
        // the byte is written back unchanged.
        unsafe { b.write_volatile(b.read_volatile()) };
    }
}

/// 0 when every page of `[addr, addr+size)` lies on a high-bandwidth node, -1 when some
/// page does not (or is not present yet: pass HBW_TOUCH_PAGES to fault them in first).
/// EINVAL for NULL, size 0 or unknown flags; EFAULT when the range cannot be touched or
/// queried (unmapped or read-only memory is reported, never a crash).
#[no_mangle]
pub extern "C" fn hbw_verify_memory_region(addr: *mut c_void, size: usize, flags: c_int) -> c_int {
    boundary_int::<{ libc::EINVAL }, _>(|| {
        if addr.is_null() || size == 0 || flags & !HBW_TOUCH_PAGES != 0 {
            return libc::EINVAL;
        }
        let page = sys::page_size();
        let start = addr as usize & !(page - 1);
        let Some(end) = (addr as usize)
            .checked_add(size)
            .and_then(|e| e.checked_next_multiple_of(page))
        else {
            return libc::EINVAL;
        };
        if flags & HBW_TOUCH_PAGES != 0 {
            match sys::populate_write(start, end - start) {
                Ok(()) => {}
                // Kernels before 5.14: touch by hand, as memkind does.
                Err(libc::ENOSYS) => touch_pages(start, end, page),
                Err(_) => {
                    env::log(&[b"hbw_verify_memory_region: the pages could not be touched"]);
                    return libc::EFAULT;
                }
            }
        }
        let Some(hbw) = hbw_nodes() else {
            return -1;
        };
        const BATCH: usize = 256;
        let mut pages = [std::ptr::null_mut::<c_void>(); BATCH];
        let mut status = [0 as c_int; BATCH];
        let mut p = start;
        while p < end {
            let n = ((end - p) / page).min(BATCH);
            for (i, slot) in pages[..n].iter_mut().enumerate() {
                *slot = (p + i * page) as *mut c_void;
            }
            if sys::page_nodes(&pages[..n], &mut status[..n]).is_err() {
                return libc::EFAULT;
            }
            if status[..n]
                .iter()
                .any(|&s| s < 0 || !hbw.contains(s as usize))
            {
                return -1;
            }
            p += n * page;
        }
        0
    })
}
