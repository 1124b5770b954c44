//! The kinds of `libmemkind.so.0`, reached through the names `memkind.h` declares and the
//! two of libmemkind's version node `MEMKIND_PRIVATE` (the DRAM-only fast path): the one
//! place this library calls into libmemkind. The interposer owns no heap of its own, so
//! libmemkind's kind table is the only one in the process.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

use crate::How;

#[allow(non_camel_case_types)]
type memkind_t = *mut c_void;

extern "C" {
    static MEMKIND_DEFAULT: memkind_t;
    static MEMKIND_DAX_KMEM: memkind_t;
    fn memkind_malloc(kind: memkind_t, size: usize) -> *mut c_void;
    fn memkind_calloc(kind: memkind_t, num: usize, size: usize) -> *mut c_void;
    fn memkind_posix_memalign(
        kind: memkind_t,
        memptr: *mut *mut c_void,
        alignment: usize,
        size: usize,
    ) -> c_int;
    fn memkind_realloc(kind: memkind_t, ptr: *mut c_void, size: usize) -> *mut c_void;
    fn memkind_free(kind: memkind_t, ptr: *mut c_void);
    fn memkind_malloc_usable_size(kind: memkind_t, ptr: *mut c_void) -> usize;
    fn memkind_detect_kind(ptr: *mut c_void) -> memkind_t;
    fn memkind_create_pmem(dir: *const c_char, max_size: usize, kind: *mut memkind_t) -> c_int;
    fn memkind_check_available(kind: memkind_t) -> c_int;
    fn memkind_error_message(err: c_int, msg: *mut c_char, size: usize);
    // MEMKIND_PRIVATE (libs/libmemkind/src/private.rs): C malloc/free of MEMKIND_DEFAULT.
    fn memkind_private_default_malloc(size: usize) -> *mut c_void;
    fn memkind_private_default_free(ptr: *mut c_void);
    // MEMKIND_PRIVATE: the tiered path's malloc and free that report sizes and kinds.
    fn memkind_private_malloc_usable(
        kind: memkind_t,
        size: usize,
        usable: *mut usize,
    ) -> *mut c_void;
    fn memkind_private_free_counted(ptr: *mut c_void, kind: *mut memkind_t) -> usize;
}

/// Alignment every memkind allocation has without asking (jemalloc's quantum).
const MIN_ALIGN: usize = 16;

/// A kind handle of libmemkind.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Kind(memkind_t);

// SAFETY: a handle names process-wide kind state that libmemkind synchronises itself; it is
// never dereferenced here.
unsafe impl Send for Kind {}
// SAFETY: as for Send: the handle is only passed back to libmemkind.
unsafe impl Sync for Kind {}

/// `MEMKIND_DEFAULT`: the DRAM tier.
#[inline]
pub fn default_kind() -> Kind {
    // SAFETY: libmemkind initialises its static kind handles at load time and never
    // changes them afterwards.
    Kind(unsafe { MEMKIND_DEFAULT })
}

impl Kind {
    #[inline]
    pub fn alloc(self, size: usize, how: How) -> *mut c_void {
        match how {
            // SAFETY: memkind_malloc accepts any kind handle and size.
            How::Plain => unsafe { memkind_malloc(self.0, size) },
            // SAFETY: memkind_calloc checks the product itself.
            How::Zeroed => unsafe { memkind_calloc(self.0, 1, size) },
            How::Aligned(a) if a <= MIN_ALIGN => {
                // SAFETY: as for How::Plain.
                unsafe { memkind_malloc(self.0, size) }
            }
            How::Aligned(a) => {
                let mut p = std::ptr::null_mut();
                // SAFETY: p is a valid out-pointer; a is a power of two above pointer size.
                match unsafe { memkind_posix_memalign(self.0, &mut p, a, size) } {
                    0 => p,
                    _ => std::ptr::null_mut(),
                }
            }
        }
    }

    /// A plain allocation and its usable size (0 when it failed).
    #[inline]
    pub fn alloc_counted(self, size: usize) -> (*mut c_void, usize) {
        let mut n = 0;
        // SAFETY: accepts any kind handle and size; `n` is a valid out-pointer.
        let p = unsafe { memkind_private_malloc_usable(self.0, size, &mut n) };
        (p, n)
    }

    /// Usable bytes of `p`, a live block of this kind.
    #[inline]
    pub fn usable_size(self, p: *mut c_void) -> usize {
        // SAFETY: libmemkind checks the pointer against its chunk map itself.
        unsafe { memkind_malloc_usable_size(self.0, p) }
    }

    #[inline]
    pub fn free(self, p: *mut c_void) {
        // SAFETY: libmemkind checks the pointer against its chunk map itself.
        unsafe { memkind_free(self.0, p) }
    }

    #[inline]
    pub fn realloc(self, p: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: libmemkind checks the pointer against its chunk map itself.
        unsafe { memkind_realloc(self.0, p, size) }
    }
}

/// C `malloc` from `MEMKIND_DEFAULT`: a unique block for 0 bytes, NULL + ENOMEM when out
/// of memory.
#[inline]
pub fn default_malloc(size: usize) -> *mut c_void {
    // SAFETY: accepts any size.
    unsafe { memkind_private_default_malloc(size) }
}

/// C `free` of a block of any kind (NULL is ignored, a pointer no kind owns reported and
/// left alone).
#[inline]
pub fn default_free(p: *mut c_void) {
    // SAFETY: accepts any pointer, as memkind_free does.
    unsafe { memkind_private_default_free(p) }
}

/// The kind whose memory holds `p`, if any.
#[inline]
pub fn detect(p: *mut c_void) -> Option<Kind> {
    // SAFETY: memkind_detect_kind accepts any pointer.
    let k = unsafe { memkind_detect_kind(p) };
    (!k.is_null()).then_some(Kind(k))
}

/// Frees a block of any kind; a pointer no kind owns is reported and left alone.
#[inline]
pub fn free(p: *mut c_void) {
    // SAFETY: memkind_free accepts any pointer with a NULL kind.
    unsafe { memkind_free(std::ptr::null_mut(), p) }
}

/// Frees a block of any kind (a pointer no kind owns is reported and left alone) and
/// tells the kind that held it and the block's usable size.
#[inline]
pub fn free_counted(p: *mut c_void) -> (Option<Kind>, usize) {
    let mut k = std::ptr::null_mut();
    // SAFETY: accepts any pointer; `k` is a valid out-pointer.
    let n = unsafe { memkind_private_free_counted(p, &mut k) };
    ((!k.is_null()).then_some(Kind(k)), n)
}

/// Resizes a block within its kind (NULL + errno for a pointer no kind owns).
#[inline]
pub fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: memkind_realloc with a NULL kind detects the block's kind itself.
    unsafe { memkind_realloc(std::ptr::null_mut(), p, size) }
}

#[inline]
pub fn usable_size(p: *mut c_void) -> usize {
    // SAFETY: a NULL kind makes libmemkind look the pointer up.
    unsafe { memkind_malloc_usable_size(std::ptr::null_mut(), p) }
}

/// Starts `MEMKIND_DEFAULT` and binds the calling thread to one of its arenas.
pub fn warm_up() {
    let k = default_kind();
    let p = k.alloc(1, How::Plain);
    if !p.is_null() {
        k.free(p);
    }
}

/// `MEMKIND_DAX_KMEM` if the machine has it, else memkind's error code.
pub fn dax_kmem() -> Result<Kind, c_int> {
    // SAFETY: as for MEMKIND_DEFAULT.
    let k = Kind(unsafe { MEMKIND_DAX_KMEM });
    // SAFETY: memkind_check_available accepts any static kind handle.
    match unsafe { memkind_check_available(k.0) } {
        0 => Ok(k),
        e => Err(e),
    }
}

/// A file-backed kind in `dir` (no limit for 0).
pub fn create_pmem(dir: &CStr, limit: usize) -> Result<Kind, c_int> {
    let mut k: memkind_t = std::ptr::null_mut();
    // SAFETY: dir is NUL-terminated and k a valid out-pointer.
    match unsafe { memkind_create_pmem(dir.as_ptr(), limit, &mut k) } {
        0 => Ok(Kind(k)),
        e => Err(e),
    }
}

/// memkind's text for an error code.
pub fn error_message(code: c_int) -> String {
    let mut buf = [0 as c_char; 256];
    // SAFETY: buf is writable for its length; memkind NUL-terminates within it.
    unsafe { memkind_error_message(code, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: NUL-terminated within buf, as above.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The Rust side's allocator: `MEMKIND_DEFAULT`, called directly, so Rust code here never
/// goes through the malloc symbols this library replaces.
pub struct DefaultAlloc;

// SAFETY: every block comes from MEMKIND_DEFAULT with at least the layout's alignment, and
// is returned to it; memkind's calls are thread-safe.
unsafe impl GlobalAlloc for DefaultAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        default_kind()
            .alloc(l.size(), How::Aligned(l.align()))
            .cast()
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if l.align() <= MIN_ALIGN {
            return default_kind().alloc(l.size(), How::Zeroed).cast();
        }
        let p = default_kind().alloc(l.size(), How::Aligned(l.align()));
        if !p.is_null() {
            // SAFETY: p holds at least l.size() writable bytes.
            unsafe { std::ptr::write_bytes(p.cast::<u8>(), 0, l.size()) };
        }
        p.cast()
    }

    unsafe fn dealloc(&self, p: *mut u8, _: Layout) {
        default_kind().free(p.cast())
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        if l.align() <= MIN_ALIGN {
            return default_kind().realloc(p.cast(), new_size).cast();
        }
        // SAFETY: the new layout is valid: same alignment, size checked by the caller.
        let nl = unsafe { Layout::from_size_align_unchecked(new_size, l.align()) };
        // SAFETY: the GlobalAlloc contract of alloc/dealloc, with nl as the new layout.
        let q = unsafe { self.alloc(nl) };
        if !q.is_null() {
            // SAFETY: both blocks hold at least min(old, new) bytes and are distinct.
            unsafe { std::ptr::copy_nonoverlapping(p, q, l.size().min(new_size)) };
            // SAFETY: p is a live block of this allocator.
            unsafe { self.dealloc(p, l) };
        }
        q
    }
}
