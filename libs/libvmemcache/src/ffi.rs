//! The C API of libvmemcache 0.8.1. Each export checks its arguments, runs its body inside
//! one panic boundary, and turns errors into `-1` (or NULL) plus `errno` and the thread's
//! `vmemcache_errormsg()` text. `include/libvmemcache.h` is generated from this file.

#![allow(non_camel_case_types)]

use crate::cache::{self, Cache, OnEvict, OnMiss};
use crate::error::{self, Error};
use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The opaque cache handle (`struct vmemcache` in C).
pub type VMEMcache = Cache;
/// `enum vmemcache_repl_p` in C; passed as an int, so unknown values are caught.
pub type vmemcache_repl_p = u32;
/// `enum vmemcache_statistic` in C.
pub type vmemcache_statistic = u32;
/// `enum vmemcache_bench_cfg` in C.
pub type vmemcache_bench_cfg = u32;
/// `ssize_t` in C.
pub type vmemcache_ssize_t = isize;
/// `vmemcache_on_evict *` in C.
pub type vmemcache_on_evict_ptr = Option<OnEvict>;
/// `vmemcache_on_miss *` in C.
pub type vmemcache_on_miss_ptr = Option<OnMiss>;

fn fail(e: Error) {
    if e.msg.is_empty() {
        crate::os::set_errno(e.errno);
    } else {
        error::record(&e);
    }
}

/// Runs `f`; a panic becomes `on_panic` with errno ENOTRECOVERABLE.
fn boundary<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            error::record(&Error::new(
                libc::ENOTRECOVERABLE,
                "libvmemcache: internal error",
            ));
            on_panic
        }
    }
}

fn int_result(r: error::Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            fail(e);
            -1
        }
    }
}

fn null_cache(what: &str) -> Error {
    Error::new(libc::EINVAL, format!("{what}: cache is NULL"))
}

/// # Safety
/// `c` is null or a handle from `vmemcache_new` that was not deleted.
unsafe fn handle<'a>(c: *mut VMEMcache, what: &str) -> error::Result<&'a Cache> {
    // SAFETY: the caller's contract: null or a live handle.
    unsafe { c.as_ref() }.ok_or_else(|| null_cache(what))
}

/// # Safety
/// `key` is null or points at `ksize` readable bytes.
unsafe fn key<'a>(key: *const c_void, ksize: usize, what: &str) -> error::Result<&'a [u8]> {
    if key.is_null() {
        return Err(Error::new(libc::EINVAL, format!("{what}: key is NULL")));
    }
    if ksize == 0 {
        return Err(Error::new(libc::EINVAL, format!("{what}: key size is 0")));
    }
    if ksize > u32::MAX as usize {
        return Err(Error::new(
            libc::EINVAL,
            format!("{what}: key size {ksize} is too large"),
        ));
    }
    // SAFETY: non-null and ksize readable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(key.cast::<u8>(), ksize) })
}

/// Creates an empty, unconfigured cache (LRU policy, 256-byte extents, 1 MiB pool).
#[no_mangle]
pub extern "C" fn vmemcache_new() -> *mut VMEMcache {
    boundary(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(Cache::new()))
    })
}

/// Frees the cache, its entries and its backing space.
///
/// # Safety
/// `cache` is null or a live handle that no other thread uses any more.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_delete(cache: *mut VMEMcache) {
    boundary((), || {
        if cache.is_null() {
            return;
        }
        if cache::in_callback() {
            fail(Error::new(
                libc::EBUSY,
                "vmemcache_delete: cannot delete a cache from inside its callback",
            ));
            return;
        }
        // SAFETY: the handle came from Box::into_raw in vmemcache_new (caller's contract).
        drop(unsafe { Box::from_raw(cache) });
    })
}

/// Sets what happens on a put into a full cache; only before `vmemcache_add`.
///
/// # Safety
/// `cache` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_set_eviction_policy(
    cache: *mut VMEMcache,
    repl_p: vmemcache_repl_p,
) -> c_int {
    boundary(-1, || {
        // SAFETY: forwarded caller contract.
        int_result(
            unsafe { handle(cache, "vmemcache_set_eviction_policy") }
                .and_then(|c| c.set_policy(repl_p)),
        )
    })
}

/// Sets the pool size (at least VMEMCACHE_MIN_POOL; rounded up to whole pages).
///
/// # Safety
/// `cache` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_set_size(cache: *mut VMEMcache, size: usize) -> c_int {
    boundary(-1, || {
        // SAFETY: forwarded caller contract.
        int_result(unsafe { handle(cache, "vmemcache_set_size") }.and_then(|c| c.set_size(size)))
    })
}

/// Sets the allocation unit (at least VMEMCACHE_MIN_EXTENT).
///
/// # Safety
/// `cache` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_set_extent_size(
    cache: *mut VMEMcache,
    extent_size: usize,
) -> c_int {
    boundary(-1, || {
        int_result(
            // SAFETY: forwarded caller contract.
            unsafe { handle(cache, "vmemcache_set_extent_size") }
                .and_then(|c| c.set_extent_size(extent_size)),
        )
    })
}

/// Gives the cache its space: an unnamed temporary file in the directory `path`, or the
/// whole device DAX `path`.
///
/// # Safety
/// `cache` is null or a live handle; `path` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_add(cache: *mut VMEMcache, path: *const c_char) -> c_int {
    boundary(-1, || {
        // SAFETY: forwarded caller contract.
        let r = unsafe { handle(cache, "vmemcache_add") }.and_then(|c| {
            if path.is_null() {
                // libvmemcache's own tests compare this message.
                return Err(Error::plain(libc::EINVAL, "invalid (NULL) path"));
            }
            // SAFETY: non-null and NUL-terminated by the caller's contract.
            c.add(unsafe { CStr::from_ptr(path) })
        });
        int_result(r)
    })
}

/// Installs (or with NULL removes) the function called for each evicted entry.
///
/// # Safety
/// `cache` is null or a live handle; `evict` is null or a function of that signature.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_callback_on_evict(
    cache: *mut VMEMcache,
    evict: vmemcache_on_evict_ptr,
    arg: *mut c_void,
) {
    boundary((), || {
        // SAFETY: forwarded caller contract.
        match unsafe { handle(cache, "vmemcache_callback_on_evict") } {
            Ok(c) => c.set_on_evict(evict, arg),
            Err(e) => fail(e),
        }
    })
}

/// Installs (or with NULL removes) the function called when a get misses.
///
/// # Safety
/// `cache` is null or a live handle; `miss` is null or a function of that signature.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_callback_on_miss(
    cache: *mut VMEMcache,
    miss: vmemcache_on_miss_ptr,
    arg: *mut c_void,
) {
    boundary((), || {
        // SAFETY: forwarded caller contract.
        match unsafe { handle(cache, "vmemcache_callback_on_miss") } {
            Ok(c) => c.set_on_miss(miss, arg),
            Err(e) => fail(e),
        }
    })
}

/// Copies up to `vbufsize` bytes of the value of `key`, from `offset` on, to `vbuf`;
/// stores the value's full size in `*vsize`. Returns the bytes copied, -1 on error
/// (ENOENT: no such key).
///
/// # Safety
/// `cache` null or live; `key` null or `key_size` readable bytes; `vbuf` null or
/// `vbufsize` writable bytes; `vsize` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_get(
    cache: *mut VMEMcache,
    key: *const c_void,
    key_size: usize,
    vbuf: *mut c_void,
    vbufsize: usize,
    offset: usize,
    vsize: *mut usize,
) -> vmemcache_ssize_t {
    boundary(-1, || {
        let r = (|| {
            // SAFETY: forwarded caller contract.
            let c = unsafe { handle(cache, "vmemcache_get") }?;
            // SAFETY: forwarded caller contract.
            let k = unsafe { self::key(key, key_size, "vmemcache_get") }?;
            if vbuf.is_null() && vbufsize > 0 {
                // Still a get as far as statistics, recency and on_miss go (libvmemcache
                // counts it, and its test suite relies on that), but nothing is copied and
                // the caller learns that its arguments were wrong.
                // SAFETY: a zero-sized buffer is never written; vsize is null or writable.
                let _ = unsafe { c.get(k, std::ptr::null_mut(), 0, offset, vsize) };
                return Err(Error::new(
                    libc::EINVAL,
                    format!("vmemcache_get: buffer is NULL but its size is {vbufsize}"),
                ));
            }
            // SAFETY: vbuf has vbufsize bytes (or size 0), vsize null or writable.
            unsafe { c.get(k, vbuf.cast(), vbufsize, offset, vsize) }
        })();
        match r {
            Ok(n) => n as isize,
            Err(e) => {
                fail(e);
                -1
            }
        }
    })
}

/// Returns 1 and the value's size in `*vsize` when `key` is cached, 0 when not, -1 on
/// error; changes neither statistics nor recency.
///
/// # Safety
/// `cache` null or live; `key` null or `key_size` readable bytes; `vsize` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_exists(
    cache: *mut VMEMcache,
    key: *const c_void,
    key_size: usize,
    vsize: *mut usize,
) -> c_int {
    boundary(-1, || {
        let r = (|| {
            // SAFETY: forwarded caller contract.
            let c = unsafe { handle(cache, "vmemcache_exists") }?;
            // SAFETY: forwarded caller contract.
            let k = unsafe { self::key(key, key_size, "vmemcache_exists") }?;
            c.exists(k)
        })();
        match r {
            Ok(Some(n)) => {
                if !vsize.is_null() {
                    // SAFETY: non-null vsize is writable by the caller's contract.
                    unsafe { *vsize = n };
                }
                1
            }
            Ok(None) => 0,
            Err(e) => {
                fail(e);
                -1
            }
        }
    })
}

/// Stores `value` under `key`. Fails with EEXIST when the key is present, ENOSPC when the
/// value does not fit (and nothing can be evicted).
///
/// # Safety
/// `cache` null or live; `key` null or `key_size` readable bytes; `value` null or
/// `value_size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_put(
    cache: *mut VMEMcache,
    key: *const c_void,
    key_size: usize,
    value: *const c_void,
    value_size: usize,
) -> c_int {
    boundary(-1, || {
        let r = (|| {
            // SAFETY: forwarded caller contract.
            let c = unsafe { handle(cache, "vmemcache_put") }?;
            // SAFETY: forwarded caller contract.
            let k = unsafe { self::key(key, key_size, "vmemcache_put") }?;
            let v: &[u8] = if value_size == 0 {
                &[]
            } else if value.is_null() {
                return Err(Error::new(
                    libc::EINVAL,
                    format!("vmemcache_put: value is NULL but its size is {value_size}"),
                ));
            } else {
                // SAFETY: value_size readable bytes by the caller's contract.
                unsafe { std::slice::from_raw_parts(value.cast::<u8>(), value_size) }
            };
            c.put(k, v)
        })();
        int_result(r)
    })
}

/// Removes `key`, or with a NULL key the least recently used entry. Returns 0 when an
/// entry was evicted, -1 otherwise (ENOENT, ESRCH).
///
/// # Safety
/// `cache` null or live; `key` null or `ksize` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_evict(
    cache: *mut VMEMcache,
    key: *const c_void,
    ksize: usize,
) -> c_int {
    boundary(-1, || {
        let r = (|| {
            // SAFETY: forwarded caller contract.
            let c = unsafe { handle(cache, "vmemcache_evict") }?;
            if key.is_null() {
                return c.evict(None);
            }
            // SAFETY: forwarded caller contract.
            let k = unsafe { self::key(key, ksize, "vmemcache_evict") }?;
            c.evict(Some(k))
        })();
        int_result(r)
    })
}

/// Reads one statistic into `*value`, which must be an 8-byte unsigned integer.
///
/// # Safety
/// `cache` null or live; `value` null or `value_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_get_stat(
    cache: *mut VMEMcache,
    stat: vmemcache_statistic,
    value: *mut c_void,
    value_size: usize,
) -> c_int {
    boundary(-1, || {
        let r = (|| {
            // SAFETY: forwarded caller contract.
            let c = unsafe { handle(cache, "vmemcache_get_stat") }?;
            if value.is_null() || value_size != 8 {
                return Err(Error::new(
                    libc::EINVAL,
                    format!("vmemcache_get_stat: value must point at 8 bytes (size given: {value_size})"),
                ));
            }
            let v = c.stat(stat)?;
            // SAFETY: value has 8 writable bytes; written unaligned to be safe.
            unsafe { value.cast::<u64>().write_unaligned(v) };
            Ok(())
        })();
        int_result(r)
    })
}

/// Benchmark switches (they make the cache drop data; for measurements only).
///
/// # Safety
/// `cache` null or live.
#[no_mangle]
pub unsafe extern "C" fn vmemcache_bench_set(
    cache: *mut VMEMcache,
    cfg: vmemcache_bench_cfg,
    val: usize,
) {
    boundary((), || {
        // SAFETY: forwarded caller contract.
        let c = unsafe { handle(cache, "vmemcache_bench_set") };
        if let Err(e) = c.and_then(|c| c.bench_set(cfg, val)) {
            fail(e);
        }
    })
}

/// The message of the calling thread's last error.
#[no_mangle]
pub extern "C" fn vmemcache_errormsg() -> *const c_char {
    boundary(c"libvmemcache: internal error".as_ptr(), error::message)
}
