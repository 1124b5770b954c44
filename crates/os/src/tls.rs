//! A block of per-thread words reached through a TLS descriptor.
//!
//! Rust's `thread_local!` in a shared library compiles to a `__tls_get_addr` call (about
//! twenty instructions) per access; the allocation fast paths read a thread-local on every
//! call. This block is declared in assembly and read with the descriptor sequence that C
//! compilers emit under `-mtls-dialect=gnu2`: when the library is loaded at start-up the
//! descriptor resolves to a load of a fixed offset, and a `dlopen`-ed copy still works
//! (the descriptor then allocates the block on the thread's first access). Executables and
//! static links get the sequence relaxed to a plain `%fs` offset by the linker.

use std::cell::Cell;

/// Words in the block: the per-thread table of the kinds (538 slots) and a few spare.
pub const THREAD_WORDS: usize = 544;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
std::arch::global_asm!(
    ".pushsection .tbss.os_thread_words,\"awT\",@nobits",
    ".p2align 6",
    ".globl os_thread_words",
    ".hidden os_thread_words",
    ".type os_thread_words,@object",
    ".size os_thread_words, {bytes}",
    "os_thread_words:",
    ".zero {bytes}",
    ".popsection",
    bytes = const THREAD_WORDS * 8,
);

/// The calling thread's words, all zero when the thread starts. The reference is `!Send`
/// (cells), so it never leaves the thread that owns the block, which outlives every use on
/// that thread (glibc frees a thread's TLS after its key destructors ran).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(always)]
pub fn thread_words() -> &'static [Cell<usize>; THREAD_WORDS] {
    let p: *const [Cell<usize>; THREAD_WORDS];
    // SAFETY: the x86-64 TLS descriptor call sequence for a symbol of this object. The
    // descriptor function preserves every register but %rax (and the flags, which asm!
    // treats as clobbered); it is called with the stack aligned as for any call (no
    // `nostack`). The result is the address of this thread's copy of the block.
    unsafe {
        std::arch::asm!(
            "leaq os_thread_words@TLSDESC(%rip), %rax",
            "call *os_thread_words@TLSCALL(%rax)",
            "addq %fs:0, %rax",
            out("rax") p,
            options(att_syntax, pure, nomem),
        );
    }
    // SAFETY: the block is THREAD_WORDS zero-initialised, 64-byte-aligned words private to
    // this thread; Cell<usize> has usize's layout and any bit pattern is valid.
    unsafe { &*p }
}

/// Other targets: a Rust thread-local of the same shape.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[inline(always)]
pub fn thread_words() -> &'static [Cell<usize>; THREAD_WORDS] {
    thread_local! {
        static WORDS: [Cell<usize>; THREAD_WORDS] = const { [const { Cell::new(0) }; THREAD_WORDS] };
    }
    // SAFETY: as above: the cells never leave this thread, and its thread-local outlives
    // every use on it (the array has no destructor, so it is never torn down early).
    WORDS.with(|w| unsafe { &*(w as *const [Cell<usize>; THREAD_WORDS]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_per_thread_and_start_zero() {
        let w = thread_words();
        assert!(w.iter().all(|c| c.get() == 0));
        w[5].set(42);
        w[THREAD_WORDS - 1].set(7);
        assert_eq!(thread_words()[5].get(), 42);
        let other = std::thread::spawn(|| {
            let w = thread_words();
            let zero = w[5].get() == 0 && w[THREAD_WORDS - 1].get() == 0;
            w[5].set(9);
            zero
        })
        .join()
        .unwrap();
        assert!(other, "a new thread starts with its own zeroed words");
        assert_eq!(thread_words()[5].get(), 42);
        assert_eq!(thread_words()[THREAD_WORDS - 1].get(), 7);
        w[5].set(0);
        w[THREAD_WORDS - 1].set(0);
    }
}
