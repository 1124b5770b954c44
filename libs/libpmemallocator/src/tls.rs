//! The one thread-local word pair the fast path reads: (allocator id, slot) this thread used
//! last.
//!
//! Rust's `thread_local!` in a shared library goes through `__tls_get_addr` on every access,
//! which was a measurable part of an Allocate+Free pair. On x86-64 Linux the pair lives in a
//! TLS block of the initial-exec model instead (thread pointer plus a GOT offset, two
//! instructions); glibc serves such small blocks of a `dlopen`ed library from its static-TLS
//! reserve. Elsewhere a plain `thread_local!` is used.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    // 16 zero-initialised bytes of thread-local storage; global so every codegen unit
    // reaches it, hidden so it never leaves this library.
    std::arch::global_asm!(
        ".pushsection .tbss,\"awT\",@nobits",
        ".globl pmemallocator_tls_last",
        ".hidden pmemallocator_tls_last",
        ".p2align 4",
        ".type pmemallocator_tls_last,@object",
        ".size pmemallocator_tls_last,16",
        "pmemallocator_tls_last:",
        ".zero 16",
        ".popsection",
    );

    #[inline(always)]
    fn slot() -> *mut [u64; 2] {
        let p: *mut [u64; 2];
        // SAFETY: the initial-exec TLS sequence: %fs:0 holds the thread pointer on x86-64
        // Linux and the GOT entry holds our block's offset from it; the result is this
        // thread's 16-byte block, which lives as long as the thread.
        unsafe {
            std::arch::asm!(
                "mov {p}, qword ptr fs:0",
                "add {p}, qword ptr [rip + pmemallocator_tls_last@GOTTPOFF]",
                p = out(reg) p,
                options(pure, readonly, nostack),
            );
        }
        p
    }

    #[inline(always)]
    pub fn get() -> (u64, usize) {
        // SAFETY: this thread's own block (see `slot`), only ever used by this thread.
        let v = unsafe { *slot() };
        (v[0], v[1] as usize)
    }

    #[inline(always)]
    pub fn set(id: u64, s: usize) {
        // SAFETY: as in `get`.
        unsafe { *slot() = [id, s as u64] };
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod imp {
    use std::cell::Cell;

    thread_local! {
        static LAST: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
    }

    #[inline(always)]
    pub fn get() -> (u64, usize) {
        LAST.try_with(|l| l.get()).unwrap_or((0, 0))
    }

    #[inline(always)]
    pub fn set(id: u64, s: usize) {
        let _ = LAST.try_with(|l| l.set((id, s)));
    }
}

/// (allocator id, slot) this thread used last; id 0 means none.
#[inline(always)]
pub fn last() -> (u64, usize) {
    imp::get()
}

/// Records the pair; `(0, 0)` forgets it.
#[inline(always)]
pub fn set_last(id: u64, s: usize) {
    imp::set(id, s)
}
