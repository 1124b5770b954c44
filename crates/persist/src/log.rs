//! Error text for `pmem_errormsg()` (one buffer per thread, as libpmem documents) and the
//! optional log selected by `PMEM_LOG_LEVEL` / `PMEM_LOG_FILE`.
//!
//! The log file is opened by [`init`], which the C library runs from its load-time
//! constructor, as libpmem's debug build does: the descriptor then exists before `main`
//! and programs that compare their open descriptors around a call see no change.

use once_cell::sync::Lazy;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::Write as _;
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

const MSG_CAP: usize = 512;

thread_local! {
    /// NUL-terminated; its address is handed to C and stays valid for the thread's life.
    static MSG: RefCell<[u8; MSG_CAP]> = const { RefCell::new([0; MSG_CAP]) };
}

struct Sink {
    level: u32,
    out: Mutex<Option<File>>,
}

static SINK: Lazy<Sink> = Lazy::new(|| {
    // C's atoi, negative values meaning 0, as in libpmem.
    let level = std::env::var_os("PMEM_LOG_LEVEL")
        .map(|v| super::atoi(v.as_bytes()).clamp(0, i64::from(u32::MAX)) as u32)
        .unwrap_or(0);
    // The file is created whenever the variable names one, whatever the level (libpmem's
    // debug build does the same); the level only decides which lines go into it.
    let out = match std::env::var_os("PMEM_LOG_FILE") {
        Some(name) if !name.is_empty() => {
            // A trailing '-' asks for the process id, so each process gets its own file.
            let mut name = name;
            if name.as_bytes().ends_with(b"-") {
                name.push(std::process::id().to_string());
            }
            File::create(name).ok()
        }
        _ => None,
    };
    Sink {
        level,
        out: Mutex::new(out),
    }
});

/// Reads the log variables and opens the log file now rather than at the first line.
pub fn init() {
    Lazy::force(&SINK);
}

/// Writes one line to the log if `PMEM_LOG_LEVEL` is at least `level`.
pub fn log(level: u32, args: fmt::Arguments<'_>) {
    let sink = &*SINK;
    if sink.level < level {
        return;
    }
    let line = format!("<libpmem>: <{level}> {args}\n");
    let mut out = sink.out.lock().unwrap_or_else(|e| e.into_inner());
    match out.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Fixed-capacity writer that truncates instead of failing.
struct Buf<'a> {
    bytes: &'a mut [u8; MSG_CAP],
    len: usize,
}

impl fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MSG_CAP - 1 - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Replaces this thread's error message (and logs it at level 1).
pub fn set_error(args: fmt::Arguments<'_>) {
    MSG.with(|m| {
        let mut bytes = m.borrow_mut();
        let mut b = Buf {
            bytes: &mut bytes,
            len: 0,
        };
        let _ = b.write_fmt(args);
        let end = b.len;
        bytes[end] = 0;
    });
    log(1, args);
}

/// This thread's last error message, NUL-terminated.
pub fn errormsg() -> *const c_char {
    MSG.with(|m| m.borrow().as_ptr().cast())
}

/// Copy of the current message, for tests.
pub fn errormsg_string() -> String {
    MSG.with(|m| {
        let b = m.borrow();
        let end = b.iter().position(|&c| c == 0).unwrap_or(MSG_CAP);
        String::from_utf8_lossy(&b[..end]).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_truncated_and_terminated() {
        let long = "x".repeat(4 * MSG_CAP);
        set_error(format_args!("{long}"));
        assert_eq!(errormsg_string().len(), MSG_CAP - 1);
        set_error(format_args!("short {}", 1));
        assert_eq!(errormsg_string(), "short 1");
        // The buffer is per thread.
        std::thread::spawn(|| assert_eq!(errormsg_string(), ""))
            .join()
            .unwrap();
    }
}
