//! File-backed kinds across `fork`.
//!
//! A kind's file is mapped shared, so without care a forked child would write into its
//! parent's heap (and the two would hand out the same blocks). Before the fork the parent
//! copies each kind's file into a new unlinked file in the same directory; the child maps
//! that copy over its chunks at the same addresses and offsets, so it continues with a
//! private heap holding exactly what the parent had. The handlers never allocate and hold
//! no lock across the fork, whichever order they run in relative to jemalloc's.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

use super::file::{self, MAX_KINDS};
use crate::sys;

/// Per created-kind slot: the copy prepared for the child, or -1.
static COPIES: [AtomicI32; MAX_KINDS] = [const { AtomicI32::new(-1) }; MAX_KINDS];

/// Installs the handlers once per process.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the handlers are plain functions that live as long as the library.
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}

extern "C" fn prepare() {
    for (i, slot) in file::SLOTS.iter().enumerate() {
        if !slot.is_live() || !slot.is_file() {
            continue;
        }
        let fd = slot.fd.load(Ordering::Acquire);
        let len = slot.space.lock().file_len();
        // The copy goes next to the original; anonymous memory if that directory is full.
        let dir = file::DIRS[i].lock();
        let copy = copy_into(dir.as_deref(), fd, len).or_else(|_| copy_into(None, fd, len));
        drop(dir);
        let Ok(copy) = copy else {
            report(slot.id, b"copying the kind's file failed");
            continue;
        };
        COPIES[i].store(copy, Ordering::Release);
    }
}

fn copy_into(dir: Option<&std::ffi::CStr>, fd: i32, len: u64) -> sys::SysResult<i32> {
    let copy = sys::open_fork_copy(dir)?;
    match sys::set_file_len(copy, len).and_then(|_| sys::copy_file_data(fd, copy, len)) {
        Ok(()) => Ok(copy),
        Err(e) => {
            sys::close(copy);
            Err(e)
        }
    }
}

extern "C" fn parent() {
    for c in &COPIES {
        let fd = c.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            sys::close(fd);
        }
    }
}

extern "C" fn child() {
    // Only this thread survived the fork: a lock another thread held then is free now.
    super::cache::after_fork_in_child();
    for slot in super::statics::SLOTS.iter().chain(file::SLOTS.iter()) {
        // SAFETY: no other thread exists in the child to own the lock.
        unsafe { slot.space.force_unlock() };
    }
    for d in &file::DIRS {
        // SAFETY: the child has only the forking thread, which holds no directory lock here.
        unsafe { d.force_unlock() };
    }
    for (i, slot) in file::SLOTS.iter().enumerate() {
        let copy = COPIES[i].swap(-1, Ordering::AcqRel);
        if copy < 0 {
            continue;
        }
        let fd = slot.fd.load(Ordering::Acquire);
        if slot.space.lock().remap(copy).is_err() {
            sys::close(copy);
            report(slot.id, b"mapping the child's copy failed");
        } else if sys::move_fd(copy, fd).is_err() {
            report(slot.id, b"switching to the child's copy failed");
        }
    }
}

fn report(id: u32, what: &[u8]) {
    let mut buf = [0u8; 18];
    sys::report(&[
        b"memkind: fork: kind ",
        sys::hex(id as usize, &mut buf),
        b": ",
        what,
        b"; the child shares the parent's heap of this kind",
    ]);
}
