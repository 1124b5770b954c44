//! The safety net under lazily reserved file ranges: a SIGBUS handler that, for a fault
//! at an address the heap says is one of its file-backed pages (the file system was full
//! when the page was first touched), maps a zero page of ordinary memory there so the
//! access succeeds. Any other SIGBUS goes to the handler that was installed before, or
//! kills the process as it would have.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use super::{errno, SysResult};

/// `fn(addr) -> bool` of the heap, as a usize (0 = not installed).
static OURS: AtomicUsize = AtomicUsize::new(0);
static PAGE: AtomicUsize = AtomicUsize::new(4096);
/// The disposition found at install time; written once before the handler goes live.
static mut PREVIOUS: Option<libc::sigaction> = None;

/// Installs the handler once per process; `ours(addr)` must be async-signal-safe (no
/// locks, no allocation) and true only for file-backed heap pages whose loss of backing
/// the heap accepts (it then treats the page as ordinary memory).
///
/// Pre: none. Post: the handler is installed, or `Err(errno)` of `sigaction` and the
/// process's disposition is unchanged. A program that installs its own SIGBUS handler
/// afterwards replaces this one.
pub fn install_sigbus_fallback(ours: fn(usize) -> bool) -> SysResult<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        PAGE.store(super::page_size(), Ordering::Relaxed);
        OURS.store(ours as usize, Ordering::Release);
        // SAFETY: sigaction is plain old data; all-zero bytes are a valid value.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_sigbus as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
        // SAFETY: a zeroed sigaction is a valid out-buffer for the old disposition.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: PREVIOUS is written here only, once, before our handler can run: the
        // kernel reads `act` only after `old` is filled, and nothing else reads it yet.
        unsafe {
            if libc::sigaction(libc::SIGBUS, &act, &mut old) != 0 {
                result = Err(errno());
                return;
            }
            *std::ptr::addr_of_mut!(PREVIOUS) = Some(old);
        }
    });
    result
}

extern "C" fn on_sigbus(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let f = OURS.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: OURS only ever holds a `fn(usize) -> bool` stored by install.
        let ours: fn(usize) -> bool = unsafe { std::mem::transmute::<usize, fn(usize) -> bool>(f) };
        if ours(addr) {
            let page = PAGE.load(Ordering::Relaxed);
            let base = addr & !(page - 1);
            // SAFETY: the heap vouched the page is its own; a fresh anonymous page
            // replaces exactly that page.
            let p = unsafe {
                libc::mmap(
                    base as *mut c_void,
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                return;
            }
        }
    }
    // SAFETY: PREVIOUS was written once before this handler was installed.
    let prev = unsafe { *std::ptr::addr_of!(PREVIOUS) };
    match prev {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed as an SA_SIGINFO handler.
                let h: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                    unsafe { std::mem::transmute(p.sa_sigaction) };
                h(sig, info, ctx);
            } else {
                // SAFETY: the previous handler was installed as a plain handler.
                let h: extern "C" fn(c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
                h(sig);
            }
        }
        _ => {
            // Default action: restore it; returning re-runs the access, which kills.
            // SAFETY: sigaction is plain old data; all-zero bytes are a valid value.
            let mut dfl: libc::sigaction = unsafe { std::mem::zeroed() };
            dfl.sa_sigaction = libc::SIG_DFL;
            // SAFETY: sigaction with a valid action and no out-buffer.
            unsafe { libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut()) };
        }
    }
}
