//! Errors: each failing call stores a message for `vmemcache_errormsg()` in a per-thread
//! buffer and sets `errno`, so one thread's error never shows up in another's message.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;

enum Msg {
    Static(&'static CStr),
    Owned(CString),
}

thread_local! {
    static MSG: RefCell<Msg> = const { RefCell::new(Msg::Static(c"")) };
}

/// An error of a call: the errno to set and the message to keep.
#[derive(Debug)]
pub struct Error {
    pub errno: i32,
    pub msg: String,
    /// The message is complete as it is (no ": <strerror>" appended).
    pub plain: bool,
}

impl Error {
    pub fn new(errno: i32, msg: impl Into<String>) -> Self {
        Error {
            errno,
            msg: msg.into(),
            plain: false,
        }
    }

    /// An error whose message is shown exactly as given.
    pub fn plain(errno: i32, msg: impl Into<String>) -> Self {
        Error {
            errno,
            msg: msg.into(),
            plain: true,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Records `e` for this thread: the message and `errno`.
pub fn record(e: &Error) {
    if e.plain {
        let c = CString::new(e.msg.replace('\0', " ")).unwrap_or_default();
        MSG.with(|m| *m.borrow_mut() = Msg::Owned(c));
        crate::os::set_errno(e.errno);
        return;
    }
    let text = format!("{}: {}", e.msg, crate::os::strerror(e.errno));
    // Keep the C-style "message: reason" without Rust's "(os error N)" suffix.
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    let c = CString::new(text.replace('\0', " ")).unwrap_or_default();
    MSG.with(|m| *m.borrow_mut() = Msg::Owned(c));
    crate::os::set_errno(e.errno);
}

/// Records a fixed message and errno without allocating (hot paths such as a get miss).
pub fn record_static(errno: i32, msg: &'static CStr) {
    MSG.with(|m| *m.borrow_mut() = Msg::Static(msg));
    crate::os::set_errno(errno);
}

/// The last message of this thread; valid until this thread's next failing call.
pub fn message() -> *const c_char {
    MSG.with(|m| match &*m.borrow() {
        Msg::Static(s) => s.as_ptr(),
        Msg::Owned(s) => s.as_ptr(),
    })
}
