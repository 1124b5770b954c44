//! The C export boundary shared by every library of the workspace: each exported function
//! runs its body through [`boundary`], so a panic becomes the failure value its C contract
//! documents instead of unwinding into C. The return type says which value that is:
//! [`Int<V>`] for `int` results (a memkind error code, an errno value, -1, 0 for a "no"),
//! NULL for pointers, 0 for sizes.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// What an export returns when its body panicked.
pub trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}
/// An `int` result whose value after a caught panic is `V`: the function's own failure
/// value (memkind's `MEMKIND_ERROR_RUNTIME`, `ENOMEM` for errno-returning calls, -1 where
/// failure is -1 with errno, 0 where the answer is a "no"). There is deliberately no
/// `OnPanic for i32`: every `int` export names its contract.
pub struct Int<const V: i32>(pub i32);

impl<const V: i32> OnPanic for Int<V> {
    fn on_panic() -> Self {
        Int(V)
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
impl<A: OnPanic, B: OnPanic> OnPanic for (A, B) {
    fn on_panic() -> Self {
        (A::on_panic(), B::on_panic())
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

pub use os::set_errno;

/// [`boundary`] for an `int` export whose failure value after a panic is `V`.
#[inline(always)]
pub fn boundary_int<const V: i32, F: FnOnce() -> i32>(f: F) -> i32 {
    boundary(|| Int::<V>(f())).0
}
