//! The C boundary: every exported function runs its body through [`boundary`], so a panic
//! becomes the error value its C signature documents instead of unwinding into C.

use std::panic::{catch_unwind, AssertUnwindSafe};

pub mod hbw;
pub mod memkind;
pub mod memtier;
pub mod pmem;

/// What an export returns when its body panicked.
pub trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}
impl OnPanic for i32 {
    fn on_panic() -> Self {
        crate::error::MEMKIND_ERROR_RUNTIME
    }
}
impl OnPanic for u32 {
    fn on_panic() -> Self {
        0
    }
}
impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}
impl OnPanic for isize {
    fn on_panic() -> Self {
        -1
    }
}
impl OnPanic for bool {
    fn on_panic() -> Self {
        false
    }
}
impl<T> OnPanic for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}
impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

/// Runs an export's body; a panic is reported on stderr and turned into `R::on_panic()`.
#[inline(always)]
pub fn boundary<R: OnPanic, F: FnOnce() -> R>(f: F) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => R::on_panic(),
    }
}

/// `posix_memalign`'s argument rule: an out-pointer, and a power-of-two alignment that
/// is a multiple of `sizeof(void *)`.
pub fn bad_alignment(memptr: *mut *mut std::ffi::c_void, alignment: usize) -> bool {
    memptr.is_null()
        || !alignment.is_power_of_two()
        || alignment < std::mem::size_of::<*mut std::ffi::c_void>()
}

/// Sets the calling thread's `errno`.
pub fn set_errno(e: i32) {
    // SAFETY: __errno_location always returns the valid thread-local errno slot.
    unsafe { *libc::__errno_location() = e };
}
