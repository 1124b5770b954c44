//! Entry points for `libmemtier.so.0` alone, exported in the version node
//! `MEMKIND_PRIVATE` (`libs/libmemkind/private.map`) so `memkind.h`'s names stay the only
//! unversioned exports. Two are `malloc`/`free` of `MEMKIND_DEFAULT` with C semantics and
//! none of the public calls' kind checks: the interposer's DRAM-only fast path, one call
//! into this library per `malloc` or `free`. Two serve its tiered path, which counts each
//! tier's bytes: a `malloc` that reports the block's usable size, and a `free` that reports
//! the kind and usable size of what it freed (one call each instead of two and three).
//!
//! Each entry is a one-instruction trampoline written in assembly, because `.symver` must
//! name a symbol of the same object file and a Rust `#[no_mangle]` name would also be
//! exported unversioned.

use std::os::raw::c_void;

use crate::boundary;
use crate::kind;
use crate::memkind::{memkind_free, memkind_malloc, memkind_t, MEMKIND_DEFAULT};

/// `malloc(size)` from `MEMKIND_DEFAULT`: a unique block for 0 bytes, NULL + ENOMEM when out
/// of memory.
extern "C" fn default_malloc(size: usize) -> *mut c_void {
    // Nothing here can panic (see kind::default_malloc_fast); the slow path has its own
    // boundary in memkind_malloc.
    match kind::default_malloc_fast(size) {
        Some(p) => p,
        None => default_malloc_slow(size),
    }
}

#[cold]
#[inline(never)]
fn default_malloc_slow(size: usize) -> *mut c_void {
    // SAFETY: MEMKIND_DEFAULT is written only by its static initialiser.
    let default = unsafe { MEMKIND_DEFAULT };
    memkind_malloc(default, size.max(1))
}

/// `free(p)` for a block of any kind; NULL is ignored, a pointer no kind owns reported.
extern "C" fn default_free(p: *mut c_void) {
    if !kind::free_fast(p) {
        default_free_slow(p)
    }
}

#[cold]
#[inline(never)]
fn default_free_slow(p: *mut c_void) {
    memkind_free(std::ptr::null_mut(), p)
}

/// `memkind_malloc(kind, size)` that also writes the new block's usable size to `*usable`
/// (0 when the allocation failed).
extern "C" fn malloc_usable(kind: memkind_t, size: usize, usable: *mut usize) -> *mut c_void {
    let p = memkind_malloc(kind, size);
    let n = if p.is_null() {
        0
    } else {
        boundary(|| kind::usable_size(p).unwrap_or(0))
    };
    if !usable.is_null() {
        // SAFETY: a non-NULL out-pointer from libmemtier, valid for one write.
        unsafe { *usable = n };
    }
    p
}

/// `memkind_free(NULL, p)` that also tells what it freed: the owning kind in `*kind` (NULL
/// for NULL or a pointer no kind owns, which is reported and left alone) and the block's
/// usable size as the result.
extern "C" fn free_counted(p: *mut c_void, kind: *mut memkind_t) -> usize {
    let (owner, n) = if p.is_null() {
        (std::ptr::null_mut(), 0)
    } else {
        boundary(|| match kind::detect(p) {
            Some(s) => (s.handle() as memkind_t, kind::usable_size(p).unwrap_or(0)),
            None => (std::ptr::null_mut(), 0),
        })
    };
    memkind_free(std::ptr::null_mut(), p);
    if !kind.is_null() {
        // SAFETY: a non-NULL out-pointer from libmemtier, valid for one write.
        unsafe { *kind = owner };
    }
    n
}

std::arch::global_asm!(
    ".pushsection .text.memkind_private,\"ax\",@progbits",
    ".globl memkind_private_default_malloc_entry",
    ".type memkind_private_default_malloc_entry,@function",
    "memkind_private_default_malloc_entry:",
    "jmp {malloc}",
    ".size memkind_private_default_malloc_entry, . - memkind_private_default_malloc_entry",
    ".symver memkind_private_default_malloc_entry, memkind_private_default_malloc@@MEMKIND_PRIVATE",
    ".globl memkind_private_default_free_entry",
    ".type memkind_private_default_free_entry,@function",
    "memkind_private_default_free_entry:",
    "jmp {free}",
    ".size memkind_private_default_free_entry, . - memkind_private_default_free_entry",
    ".symver memkind_private_default_free_entry, memkind_private_default_free@@MEMKIND_PRIVATE",
    ".globl memkind_private_malloc_usable_entry",
    ".type memkind_private_malloc_usable_entry,@function",
    "memkind_private_malloc_usable_entry:",
    "jmp {malloc_usable}",
    ".size memkind_private_malloc_usable_entry, . - memkind_private_malloc_usable_entry",
    ".symver memkind_private_malloc_usable_entry, memkind_private_malloc_usable@@MEMKIND_PRIVATE",
    ".globl memkind_private_free_counted_entry",
    ".type memkind_private_free_counted_entry,@function",
    "memkind_private_free_counted_entry:",
    "jmp {free_counted}",
    ".size memkind_private_free_counted_entry, . - memkind_private_free_counted_entry",
    ".symver memkind_private_free_counted_entry, memkind_private_free_counted@@MEMKIND_PRIVATE",
    ".popsection",
    malloc = sym default_malloc,
    free = sym default_free,
    malloc_usable = sym malloc_usable,
    free_counted = sym free_counted,
);
