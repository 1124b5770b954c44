//! The C ABI of `libpmemallocator.so.0` (declared in `include/pmemallocator.h`; the C++
//! class in `include/pmem_allocator.hpp` is a thin inline layer over it).
//!
//! Every export runs its body inside `catch_unwind`, so a panic never crosses into C: it
//! turns into the function's failure value (NULL, `PMEMALLOCATOR_NULL_OFFSET`, -1) with a
//! message for `pmemallocator_errormsg()`.

use crate::error;
use crate::pool::{Config, Inner, Stats, NIL};
use std::ffi::{CStr, OsStr};
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `struct pmemallocator_config`: same field order and types as `PMemAllocatorConfig`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pmemallocator_config {
    pub bg_thread_interval: f32,
    pub allocation_unit: u32,
    pub max_allocation_size: u64,
    pub segment_size: u64,
}

/// `struct pmemallocator_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct pmemallocator_stats {
    pub pool_size: u64,
    pub data_size: u64,
    pub metadata_size: u64,
    pub dram_size: u64,
    pub shared_free: u64,
    pub largest_free: u64,
    pub pending_free: u64,
    pub merges: u64,
    pub bg_merges: u64,
    pub threads: u32,
    pub is_pmem: c_int,
}

/// The opaque `pmemallocator`.
pub struct Handle {
    inner: Arc<Inner>,
    bg: Mutex<Option<JoinHandle<()>>>,
}

fn guard<T>(fail: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            error::set("internal error (panic caught at the C boundary)".into());
            fail
        }
    }
}

use crate::os::set_errno;

/// # Safety
/// `h` is NULL or a live handle from `pmemallocator_new`.
unsafe fn handle<'a>(h: *const Handle) -> Option<&'a Handle> {
    // SAFETY: the caller passes NULL or a live handle.
    unsafe { h.as_ref() }
}

/// Fills `*config` with the documented defaults (1 s, 64 B units, 64 KiB, 128 MiB).
///
/// # Safety
/// `config` is NULL or points at writable memory for the struct.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_config_default(config: *mut pmemallocator_config) {
    guard((), || {
        let d = Config::default();
        // SAFETY: the caller passes NULL or a writable struct.
        if let Some(c) = unsafe { config.as_mut() } {
            *c = pmemallocator_config {
                bg_thread_interval: d.bg_thread_interval,
                allocation_unit: d.allocation_unit,
                max_allocation_size: d.max_allocation_size,
                segment_size: d.segment_size,
            };
        }
    })
}

/// Maps the pool and starts its background thread; NULL with a message when the arguments
/// are invalid (errno EINVAL) or the file cannot be opened or mapped (errno from the system:
/// ENOENT for a missing directory, EACCES, ENOMEM, ...). `config` NULL means the defaults.
///
/// # Safety
/// `pmem_file` is a NUL-terminated string; `config` is NULL or a valid struct.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_new(
    pmem_file: *const c_char,
    pmem_size: u64,
    max_access_threads: u32,
    devdax_mode: c_int,
    config: *const pmemallocator_config,
) -> *mut Handle {
    guard(std::ptr::null_mut(), || {
        if pmem_file.is_null() {
            error::set("NewPMemAllocator: pmem_file is NULL".into());
            set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let path = unsafe { CStr::from_ptr(pmem_file) };
        let path = Path::new(OsStr::from_bytes(path.to_bytes()));
        // SAFETY: the caller passes NULL or a valid struct.
        let c = match unsafe { config.as_ref() } {
            Some(c) => Config {
                bg_thread_interval: c.bg_thread_interval,
                allocation_unit: c.allocation_unit,
                max_allocation_size: c.max_allocation_size,
                segment_size: c.segment_size,
            },
            None => Config::default(),
        };
        match Inner::create(path, pmem_size, max_access_threads, devdax_mode != 0, &c) {
            Ok(inner) => {
                let bg_inner = inner.clone();
                let bg = std::thread::Builder::new()
                    .name("pmemalloc-bg".into())
                    .spawn(move || bg_inner.background());
                match bg {
                    Ok(j) => Box::into_raw(Box::new(Handle {
                        inner,
                        bg: Mutex::new(Some(j)),
                    })),
                    Err(e) => {
                        error::set(format!("NewPMemAllocator: background thread: {e}"));
                        set_errno(libc::EAGAIN);
                        std::ptr::null_mut()
                    }
                }
            }
            Err((errno, msg)) => {
                error::set(format!("NewPMemAllocator: {msg}"));
                set_errno(errno);
                std::ptr::null_mut()
            }
        }
    })
}

/// Stops and joins the background thread and unmaps the pool (once no exiting thread still
/// returns its cache). Pointers from this allocator are invalid afterwards.
///
/// # Safety
/// `a` is NULL or a live handle no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_delete(a: *mut Handle) {
    guard((), || {
        if a.is_null() {
            return;
        }
        // SAFETY: the caller gives up a live handle made by Box::into_raw.
        let h = unsafe { Box::from_raw(a) };
        h.inner.stop_background();
        let j = h.bg.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(j) = j {
            let _ = j.join();
        }
        // The calling thread's own slot is given back now rather than at its exit.
        h.inner.release_thread();
    })
}

/// A block of at least `size` bytes aligned to the allocation unit; NULL for 0, for sizes
/// above `max_allocation_size`, when the pool is full or when more than
/// `max_access_threads` threads use the allocator.
///
/// # Safety
/// `a` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_allocate(a: *mut Handle, size: u64) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller passes NULL or a live handle.
        match unsafe { handle(a) } {
            Some(h) => h.inner.allocate(size).cast(),
            None => {
                set_errno(libc::EINVAL);
                std::ptr::null_mut()
            }
        }
    })
}

/// Frees a block; NULL and addresses that are not blocks of this allocator are ignored.
///
/// # Safety
/// `a` is NULL or a live handle; `addr` was not freed since it was allocated.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_free(a: *mut Handle, addr: *mut c_void) {
    guard((), || {
        // SAFETY: the caller passes NULL or a live handle.
        if let Some(h) = unsafe { handle(a) } {
            h.inner.free(addr.cast());
        }
    })
}

/// The calling thread hands back its cached space and its thread slot.
///
/// # Safety
/// `a` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_release(a: *mut Handle) {
    guard((), || {
        // SAFETY: the caller passes NULL or a live handle.
        if let Some(h) = unsafe { handle(a) } {
            h.inner.release_thread();
        }
    })
}

/// Byte offset of `addr` in the pool file, `PMEMALLOCATOR_NULL_OFFSET` outside it.
///
/// # Safety
/// `a` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_addr2offset(a: *const Handle, addr: *const c_void) -> u64 {
    guard(NIL, || {
        // SAFETY: the caller passes NULL or a live handle.
        unsafe { handle(a) }.map_or(NIL, |h| h.inner.addr2offset(addr.cast()))
    })
}

/// Address of byte `offset` of the pool file, NULL outside it.
///
/// # Safety
/// `a` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_offset2addr(a: *const Handle, offset: u64) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller passes NULL or a live handle.
        unsafe { handle(a) }.map_or(std::ptr::null_mut(), |h| h.inner.offset2addr(offset).cast())
    })
}

/// Start of the pool mapping (offset 0).
///
/// # Safety
/// `a` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_base(a: *const Handle) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller passes NULL or a live handle.
        unsafe { handle(a) }.map_or(std::ptr::null_mut(), |h| h.inner.base().cast())
    })
}

/// Fills `*out`; 0, or -1 with errno EINVAL for a NULL argument.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmemallocator_get_stats(
    a: *const Handle,
    out: *mut pmemallocator_stats,
) -> c_int {
    guard(-1, || {
        // SAFETY: the caller passes NULL or a live handle / writable struct.
        let (Some(h), Some(out)) = (unsafe { handle(a) }, unsafe { out.as_mut() }) else {
            set_errno(libc::EINVAL);
            return -1;
        };
        let s: Stats = h.inner.stats();
        *out = pmemallocator_stats {
            pool_size: s.pool_size,
            data_size: s.data_size,
            metadata_size: s.metadata_size,
            dram_size: s.dram_size,
            shared_free: s.shared_free,
            largest_free: s.largest_free,
            pending_free: s.pending_free,
            merges: s.merges,
            bg_merges: s.bg_merges,
            threads: s.threads,
            is_pmem: s.is_pmem as c_int,
        };
        0
    })
}

/// The calling thread's last error message ("" when none).
#[no_mangle]
pub extern "C" fn pmemallocator_errormsg() -> *const c_char {
    guard(c"".as_ptr(), error::last)
}
