//! The only module that talks to jemalloc: arena creation with our extent hooks, the
//! `mallocx` family with the flags a kind needs, and typed `mallctl` access.
//!
//! jemalloc is linked with the `_rjem_` prefix, so the program's own `malloc` is untouched.
//! Arena metadata stays in ordinary memory (`metadata_use_hooks = false`): a file-backed
//! kind's whole budget is left for the caller's data.

use std::ffi::CStr;
use std::os::raw::{c_int, c_uint, c_void};

use once_cell::sync::OnceCell;
use tikv_jemalloc_sys as je;

pub use je::extent_hooks_t;

/// jemalloc's `arena_config_t` (experimental.arenas_create_ext).
#[repr(C)]
struct ArenaConfig {
    extent_hooks: *mut extent_hooks_t,
    metadata_use_hooks: bool,
}

/// Flags selecting arena `arena`; `tcache` false bypasses the thread cache, which jemalloc
/// shares between arenas and so must never see blocks of two different kinds.
#[inline]
pub fn flags(arena: u32, tcache: bool) -> c_int {
    let a = ((arena as c_int) + 1) << 20;
    if tcache {
        a
    } else {
        a | je::MALLOCX_TCACHE_NONE
    }
}

#[inline]
pub fn align_flag(align: usize) -> c_int {
    align.trailing_zeros() as c_int
}

pub(crate) const ZERO: c_int = je::MALLOCX_ZERO;

#[inline]
pub fn alloc(size: usize, flags: c_int) -> *mut c_void {
    // SAFETY: size is non-zero (checked by callers) and flags name a live arena.
    unsafe { je::mallocx(size, flags) }
}

/// # Safety
/// `p` must be a live jemalloc allocation.
#[inline]
pub unsafe fn free(p: *mut c_void, flags: c_int) {
    // SAFETY: the caller guarantees p is live (its live-map bit was claimed).
    unsafe { je::dallocx(p, flags) }
}

/// # Safety
/// `p` must be a live jemalloc allocation.
#[inline]
pub unsafe fn realloc(p: *mut c_void, size: usize, flags: c_int) -> *mut c_void {
    // SAFETY: the caller guarantees p is live; size is non-zero.
    unsafe { je::rallocx(p, size, flags) }
}

/// # Safety
/// `p` must be a live jemalloc allocation.
#[inline]
pub unsafe fn usable_size(p: *const c_void) -> usize {
    // SAFETY: the caller guarantees p is live.
    unsafe { je::sallocx(p, 0) }
}

/// Reads or writes a `mallctl` value by name. Returns jemalloc's error code.
///
/// # Safety
/// `T` must be the type jemalloc documents for `name`.
unsafe fn ctl<T>(name: &CStr, old: Option<&mut T>, new: Option<&mut T>) -> c_int {
    let mut len = std::mem::size_of::<T>();
    let (oldp, oldlenp) = match old {
        Some(o) => (o as *mut T as *mut c_void, &mut len as *mut usize),
        None => (std::ptr::null_mut(), std::ptr::null_mut()),
    };
    let (newp, newlen) = match new {
        Some(n) => (n as *mut T as *mut c_void, std::mem::size_of::<T>()),
        None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: pointers and lengths describe valid T buffers, as the caller's T matches name.
    unsafe { je::mallctl(name.as_ptr(), oldp, oldlenp, newp, newlen) }
}

/// MIB of an `arena.<i>.*` name, looked up once; the arena index goes in position 1.
struct ArenaMib {
    name: &'static CStr,
    mib: OnceCell<([usize; 3], usize)>,
}

impl ArenaMib {
    const fn new(name: &'static CStr) -> Self {
        ArenaMib {
            name,
            mib: OnceCell::new(),
        }
    }

    /// # Safety
    /// `T` must be the type jemalloc documents for this name.
    unsafe fn call<T>(&self, arena: u32, new: Option<&mut T>) -> c_int {
        let m = self.mib.get_or_try_init(|| {
            let mut mib = [0usize; 3];
            let mut len = 3usize;
            // SAFETY: mib has room for `len` entries; name is NUL-terminated.
            let r = unsafe { je::mallctlnametomib(self.name.as_ptr(), mib.as_mut_ptr(), &mut len) };
            if r == 0 {
                Ok((mib, len))
            } else {
                Err(r)
            }
        });
        let Ok(&(mut mib, len)) = m else {
            return libc::ENOENT;
        };
        mib[1] = arena as usize;
        let (newp, newlen) = match new {
            Some(n) => (n as *mut T as *mut c_void, std::mem::size_of::<T>()),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: the MIB came from jemalloc; newp/newlen describe a valid T (or nothing).
        unsafe {
            je::mallctlbymib(
                mib.as_ptr(),
                len,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                newp,
                newlen,
            )
        }
    }
}

static DESTROY: ArenaMib = ArenaMib::new(c"arena.0.destroy");
static PURGE: ArenaMib = ArenaMib::new(c"arena.0.purge");
static DIRTY_DECAY: ArenaMib = ArenaMib::new(c"arena.0.dirty_decay_ms");
static MUZZY_DECAY: ArenaMib = ArenaMib::new(c"arena.0.muzzy_decay_ms");

/// Creates a manual arena whose extents come from `hooks`. The hooks table must live as
/// long as the arena.
pub fn create(hooks: &'static extent_hooks_t) -> Option<u32> {
    let mut cfg = ArenaConfig {
        extent_hooks: hooks as *const extent_hooks_t as *mut extent_hooks_t,
        metadata_use_hooks: false,
    };
    let mut ind: c_uint = 0;
    let mut len = std::mem::size_of::<c_uint>();
    // SAFETY: arenas_create_ext reads an arena_config_t and writes an unsigned.
    let r = unsafe {
        je::mallctl(
            c"experimental.arenas_create_ext".as_ptr(),
            &mut ind as *mut c_uint as *mut c_void,
            &mut len,
            &mut cfg as *mut ArenaConfig as *mut c_void,
            std::mem::size_of::<ArenaConfig>(),
        )
    };
    if r == 0 {
        Some(ind)
    } else {
        None
    }
}

/// Discards every allocation of the arena and releases its index for reuse.
pub fn destroy(arena: u32) -> bool {
    // SAFETY: arena.<i>.destroy takes no value.
    unsafe { DESTROY.call::<()>(arena, None) == 0 }
}

/// Returns the arena's unused dirty pages to the hooks (and so to the file system) now.
pub fn purge(arena: u32) {
    // SAFETY: arena.<i>.purge takes no value.
    unsafe { PURGE.call::<()>(arena, None) };
}

/// Sets how long freed pages stay cached before being given back (0 = at once).
pub fn set_decay(arena: u32, dirty_ms: isize, muzzy_ms: isize) -> bool {
    let (mut d, mut m) = (dirty_ms as libc::ssize_t, muzzy_ms as libc::ssize_t);
    // SAFETY: the decay controls take an ssize_t.
    unsafe {
        DIRTY_DECAY.call(arena, Some(&mut d)) == 0 && MUZZY_DECAY.call(arena, Some(&mut m)) == 0
    }
}

/// Turns jemalloc's background purging threads on or off.
pub fn set_background_threads(on: bool) -> c_int {
    let mut v = on;
    // SAFETY: background_thread is a bool.
    unsafe { ctl(c"background_thread", None, Some(&mut v)) }
}

/// Flags selecting arena `arena` and explicit thread cache `tcache`.
#[inline]
pub fn flags_with_cache(arena: u32, tcache: u32) -> c_int {
    (((arena as c_int) + 1) << 20) | (((tcache as c_int) + 2) << 8)
}

/// Flags for freeing through explicit cache `tcache`, or past every cache.
#[inline]
pub fn free_flags(tcache: Option<u32>) -> c_int {
    match tcache {
        Some(tc) => ((tc as c_int) + 2) << 8,
        None => je::MALLOCX_TCACHE_NONE,
    }
}

/// Creates an explicit thread cache; None when jemalloc has no free cache slot.
pub fn tcache_create() -> Option<u32> {
    let mut id: c_uint = 0;
    // SAFETY: tcache.create writes an unsigned.
    let r = unsafe { ctl(c"tcache.create", Some(&mut id), None) };
    (r == 0).then_some(id)
}

/// Returns an explicit cache's blocks to their arenas and frees the cache.
pub fn tcache_destroy(id: u32) {
    let mut v: c_uint = id;
    // SAFETY: tcache.destroy takes an unsigned.
    unsafe { ctl(c"tcache.destroy", None, Some(&mut v)) };
}

/// Returns an explicit cache's blocks to their arenas.
pub fn tcache_flush(id: u32) {
    let mut v: c_uint = id;
    // SAFETY: tcache.flush takes an unsigned.
    unsafe { ctl(c"tcache.flush", None, Some(&mut v)) };
}

/// Makes `arena` the calling thread's arena for allocations without explicit flags.
pub fn bind_thread(arena: u32) -> bool {
    let mut v: c_uint = arena;
    // SAFETY: thread.arena takes an unsigned.
    unsafe { ctl(c"thread.arena", None, Some(&mut v)) == 0 }
}

/// Allocates from the thread's bound arena through its automatic cache (jemalloc's fast
/// path when `flags` is 0).
#[inline]
pub fn alloc_bound(size: usize, flags: c_int) -> *mut c_void {
    // SAFETY: size is non-zero (checked by callers); flags carry no arena or cache bits.
    unsafe {
        if flags == 0 {
            je::malloc(size)
        } else if flags == ZERO {
            je::calloc(1, size)
        } else {
            je::mallocx(size, flags)
        }
    }
}

/// # Safety
/// `p` must be a live jemalloc allocation of an arena served by the automatic cache.
#[inline]
pub unsafe fn free_bound(p: *mut c_void) {
    // SAFETY: the caller guarantees p is live.
    unsafe { je::free(p) }
}

/// jemalloc's own arenas and automatic thread cache, untouched by any kind: the
/// interposer's DRAM tier and its Rust allocations. Nothing here is registered in the
/// chunk map, which is how a pointer from here is told from a kind's.
pub mod plain {
    use std::alloc::{GlobalAlloc, Layout};
    use std::os::raw::c_void;

    use super::je;

    /// Alignment every plain allocation has without asking.
    const MIN_ALIGN: usize = 16;

    #[inline]
    pub fn malloc(size: usize) -> *mut c_void {
        // SAFETY: jemalloc's malloc accepts any size.
        unsafe { je::malloc(size) }
    }

    #[inline]
    pub fn calloc(n: usize, size: usize) -> *mut c_void {
        // SAFETY: jemalloc's calloc checks the product for overflow.
        unsafe { je::calloc(n, size) }
    }

    /// `align` must be a power of two.
    #[inline]
    pub fn aligned(align: usize, size: usize) -> *mut c_void {
        if align <= MIN_ALIGN {
            return malloc(size);
        }
        // SAFETY: size is made non-zero; the flag encodes a power-of-two alignment.
        unsafe { je::mallocx(size.max(1), super::align_flag(align)) }
    }

    /// # Safety
    /// `p` must be NULL or a live allocation from this module.
    #[inline]
    pub unsafe fn free(p: *mut c_void) {
        // SAFETY: per the contract.
        unsafe { je::free(p) }
    }

    /// # Safety
    /// `p` must be NULL or a live allocation from this module.
    #[inline]
    pub unsafe fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: per the contract.
        unsafe { je::realloc(p, size) }
    }

    /// # Safety
    /// `p` must be a live allocation from this module.
    #[inline]
    pub unsafe fn usable_size(p: *const c_void) -> usize {
        // SAFETY: per the contract.
        unsafe { je::malloc_usable_size(p) }
    }

    /// A Rust global allocator on jemalloc, for code that must not allocate through the
    /// C `malloc` (the interposer replaces it).
    pub struct Direct;

    // SAFETY: jemalloc returns blocks of at least the requested size and alignment.
    unsafe impl GlobalAlloc for Direct {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            aligned(l.align(), l.size()).cast()
        }

        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            if l.align() <= MIN_ALIGN {
                return calloc(1, l.size()).cast();
            }
            // SAFETY: size is non-zero per GlobalAlloc's contract.
            unsafe { je::mallocx(l.size(), super::align_flag(l.align()) | super::ZERO).cast() }
        }

        unsafe fn dealloc(&self, p: *mut u8, _: Layout) {
            // SAFETY: p came from this allocator.
            unsafe { free(p.cast()) }
        }

        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            if l.align() <= MIN_ALIGN {
                // SAFETY: p came from this allocator.
                return unsafe { realloc(p.cast(), new) }.cast();
            }
            // SAFETY: p came from this allocator; new is non-zero.
            unsafe { je::rallocx(p.cast(), new, super::align_flag(l.align())).cast() }
        }
    }
}
