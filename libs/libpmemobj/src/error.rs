//! The per-thread error text `pmemobj_errormsg` returns and the errno value each failing
//! call sets.

use std::cell::RefCell;
use std::ffi::CString;
use std::fmt::Write;

/// A failure: the errno value to set (the text is already stored).
#[derive(Debug, Clone, Copy)]
pub struct Error(pub i32);

thread_local! {
    static MSG: RefCell<CString> = RefCell::new(CString::default());
}

/// Stores the thread's last error text.
pub fn set_err(args: std::fmt::Arguments<'_>) {
    let mut s = String::new();
    let _ = s.write_fmt(args);
    let s = s.replace('\0', " ");
    MSG.with(|m| *m.borrow_mut() = CString::new(s).unwrap_or_default());
}

/// The text's address; valid until the thread's next failing call.
pub fn errormsg() -> *const libc::c_char {
    MSG.with(|m| m.borrow().as_ptr())
}

/// Sets the calling thread's errno.
pub fn set_errno(e: i32) {
    crate::os::set_errno(e)
}
