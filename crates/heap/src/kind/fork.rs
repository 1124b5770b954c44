//! File-backed kinds across `fork`.
//!
//! A kind's file is mapped shared, so without care a forked child would write into its
//! parent's heap (and the two would hand out the same blocks). Nothing is copied at the
//! fork, so its cost does not depend on the heap's size: the child's handler remaps the
//! kind's shared ranges copy-on-write from the same file and gives the kind a new unlinked
//! file of its own. From then on:
//! - the child reads what the parent's heap held at the fork, and its writes become its
//!   own pages (anonymous memory) that never reach the parent's file;
//! - every range the child commits or decommits is first mapped shared from its own file
//!   (see `space.rs`), so the blocks it allocates later live on disk as in the parent, and
//!   its commits and hole punches never touch the parent's file;
//! - a page the child has not written yet shows the parent's later writes to it, and
//!   zeros once the parent frees and releases that range (the price of not copying).
//!
//! A child that forks again takes private only what is still shared in it (its own file's
//! ranges, found in `/proc/self/maps`); its copy-on-write pages pass on through the
//! kernel's own fork. The handlers never allocate and hold no lock across the fork,
//! whichever order they run in relative to jemalloc's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::file::{self, MAX_KINDS};
use super::statics::NUM_STATIC;
use super::Slot;
use crate::sys;

/// Per created-kind slot: set once this process is a forked child of the kind's creator
/// (or of such a child), so commits map ranges onto the process's own file first.
static FORKED: [AtomicBool; MAX_KINDS] = [const { AtomicBool::new(false) }; MAX_KINDS];

/// Installs the handlers once per process.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the handler is a plain function that lives as long as the library.
        unsafe { libc::pthread_atfork(None, None, Some(child)) };
    });
}

/// True when the kind's mapped ranges may still be copy-on-write views of an ancestor's
/// file, so a range must be mapped onto this process's file before it is committed or
/// decommitted.
#[inline]
pub fn in_child(slot: &Slot) -> bool {
    (slot.id as usize)
        .checked_sub(NUM_STATIC)
        .and_then(|i| FORKED.get(i))
        .is_some_and(|f| f.load(Ordering::Relaxed))
}

/// A destroyed kind's slot starts over in the parent's way.
pub fn forget(slot: &Slot) {
    if let Some(f) = (slot.id as usize)
        .checked_sub(NUM_STATIC)
        .and_then(|i| FORKED.get(i))
    {
        f.store(false, Ordering::Relaxed);
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
        if !slot.is_live() || !slot.is_file() {
            continue;
        }
        let fd = slot.fd.load(Ordering::Acquire);
        if fd < 0 {
            continue;
        }
        let dir = file::DIRS[i].lock();
        let own = sys::open_fork_copy(dir.as_deref()).or_else(|_| sys::open_fork_copy(None));
        drop(dir);
        let Ok(own) = own else {
            report(slot.id, b"no file for the child's part of the kind");
            continue;
        };
        let nested = FORKED[i].load(Ordering::Relaxed);
        let space = slot.space.lock();
        if sys::set_file_len(own, space.file_len()).is_err() {
            sys::close(own);
            report(slot.id, b"sizing the child's file failed");
            continue;
        }
        if space.take_private(fd, nested).is_err() {
            sys::close(own);
            report(slot.id, b"mapping the heap copy-on-write failed");
            continue;
        }
        drop(space);
        FORKED[i].store(true, Ordering::Relaxed);
        // The mappings keep the parent's file alive; the descriptor number stays the kind's.
        if sys::move_fd(own, fd).is_err() {
            report(slot.id, b"switching to the child's file failed");
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
