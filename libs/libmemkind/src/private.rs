//! Entry points for `libmemtier.so.0` alone, exported in the version node
//! `MEMKIND_PRIVATE` (`libs/libmemkind/private.map`) so `memkind.h`'s names stay the only
//! unversioned exports. They are `malloc`/`free` of `MEMKIND_DEFAULT` with C semantics and
//! none of the public calls' kind checks: the interposer's DRAM-only fast path, one call
//! into this library per `malloc` or `free`.
//!
//! Each entry is a one-instruction trampoline written in assembly, because `.symver` must
//! name a symbol of the same object file and a Rust `#[no_mangle]` name would also be
//! exported unversioned.

use std::os::raw::c_void;

use crate::kind;
use crate::memkind::{memkind_free, memkind_malloc, MEMKIND_DEFAULT};

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
    ".popsection",
    malloc = sym default_malloc,
    free = sym default_free,
);
