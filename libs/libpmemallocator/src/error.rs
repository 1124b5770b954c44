//! The calling thread's last error text, returned by `pmemallocator_errormsg()`.
//!
//! Each failure also goes to stderr once (as KVDK logs its errors), unless
//! `PMEMALLOCATOR_QUIET` is set in the environment.

use std::cell::RefCell;
use std::ffi::CString;
use std::os::raw::c_char;

thread_local! {
    static LAST: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `msg` as this thread's last error and reports it on stderr.
pub fn set(msg: String) {
    if std::env::var_os("PMEMALLOCATOR_QUIET").is_none() {
        eprintln!("pmemallocator: {msg}");
    }
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let _ = LAST.try_with(|l| *l.borrow_mut() = c);
}

/// Records `msg` without printing: for failures a caller may hit in a loop (a full pool).
pub fn set_quiet(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let _ = LAST.try_with(|l| *l.borrow_mut() = c);
}

/// Pointer to this thread's last error text; valid until the thread's next failure.
pub fn last() -> *const c_char {
    LAST.try_with(|l| l.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}
