//! File-backed kinds across `fork`.
//!
//! A kind's file is mapped shared, so without care a forked child would write into its
//! parent's heap (and the two would hand out the same blocks), and the parent's later
//! writes would show in the child's heap mid-use. Nothing is copied at the fork, so its
//! cost does not depend on the heap's size:
//! - before the fork, the parent remaps the kind's shared ranges copy-on-write from the
//!   same file; the kernel's fork then gives the child exactly the parent's memory at
//!   the fork, as for anonymous memory, and from then on the old file is written by
//!   nobody: each process's writes to those pages become its own (ordinary memory);
//! - after the fork each process gives the kind a new unlinked file of its own; every
//!   range it commits or decommits from then on is first mapped shared from that file
//!   (see `space.rs`), so blocks allocated later live on disk again and neither
//!   process's commits or hole punches touch the other's file.
//!
//! The price: pages of the heap as it was at the fork that a process rewrites afterwards
//! cost ordinary memory until they are freed, and the old file's space stays reserved
//! while the kind lives. A range committed by another thread in the instant between the
//! parent's remap and the fork is taken private again by both handlers.
//!
//! The handlers never allocate and hold no lock across the fork, whichever order they
//! run in relative to jemalloc's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::file::{self, MAX_KINDS};
use super::Slot;
use crate::sys;

/// Per created-kind slot: set once this process has been through a fork with the kind
/// (or got a SIGBUS fallback page in it), so its ranges may be private mappings and a
/// range must be mapped onto the process's own file before it is committed or
/// decommitted, and a fork must look up which ranges are still shared.
static FORKED: [AtomicBool; MAX_KINDS] = [const { AtomicBool::new(false) }; MAX_KINDS];

/// Installs the handlers once per process.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if sys::atfork(prepare, parent, child).is_err() {
            report(0, b"registering the fork handlers failed");
        }
    });
}

#[inline]
fn forked(slot: &Slot) -> Option<&'static AtomicBool> {
    file::created_index(slot).map(|i| &FORKED[i])
}

/// True when the kind's mapped ranges may be copy-on-write views of an older file.
#[inline]
pub fn in_child(slot: &Slot) -> bool {
    forked(slot).is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Marks a kind as holding private pages in its ranges (a SIGBUS fallback page); safe
/// in a signal handler.
pub fn mark_private(slot: &Slot) {
    if let Some(f) = forked(slot) {
        f.store(true, Ordering::Release);
    }
}

/// A destroyed kind's slot starts over in the parent's way.
pub fn forget(slot: &Slot) {
    super::space::set_file_size(slot, 0);
    if let Some(f) = forked(slot) {
        f.store(false, Ordering::Relaxed);
    }
}

extern "C" fn prepare() {
    for (i, slot) in file::SLOTS.iter().enumerate() {
        if !slot.is_live() || !slot.is_file() {
            continue;
        }
        let fd = slot.fd.load(Ordering::Acquire);
        let nested = FORKED[i].load(Ordering::Relaxed);
        // Held only for the remap: a thread growing the kind waits, none is left inside.
        if fd >= 0 && slot.space.lock().take_private(fd, nested).is_err() {
            report(slot.id, b"mapping the heap copy-on-write failed");
        }
    }
}

extern "C" fn parent() {
    own_files();
}

extern "C" fn child() {
    // Only this thread survived the fork: a lock another thread held then is free now.
    super::cache::after_fork_in_child();
    // SAFETY: as above; the forking thread was not failing an allocation.
    unsafe { super::RECLAIM_LOCK.force_unlock() };
    super::reclaim_reset_in_child();
    super::big::after_fork_in_child();
    for slot in super::statics::SLOTS.iter().chain(file::SLOTS.iter()) {
        // SAFETY: no other thread exists in the child to own the lock.
        unsafe { slot.space.force_unlock() };
    }
    for d in &file::DIRS {
        // SAFETY: the child has only the forking thread, which holds no directory lock here.
        unsafe { d.force_unlock() };
    }
    own_files();
}

/// After the fork, in each process: ranges another thread mapped shared between the
/// parent's remap and the fork go copy-on-write too, and the kind moves to a new file.
fn own_files() {
    for (i, slot) in file::SLOTS.iter().enumerate() {
        if !slot.is_live() || !slot.is_file() {
            continue;
        }
        let fd = slot.fd.load(Ordering::Acquire);
        if fd < 0 {
            continue;
        }
        let dir = file::DIRS[i].lock();
        let own = sys::open_fork_copy(dir.as_deref());
        drop(dir);
        let Ok(own) = own else {
            report(slot.id, b"no file of its own for the kind");
            continue;
        };
        let space = slot.space.lock();
        // As long as the old file, not the whole mapping: a long file costs its file
        // system time when closed (the child's exit), and `cover` extends it on demand.
        if sys::set_file_len(own, super::space::file_size(slot)).is_err()
            || space.take_private(fd, true).is_err()
        {
            drop(space);
            sys::close(own);
            report(slot.id, b"taking the heap copy-on-write failed");
            continue;
        }
        // The mappings keep the old file alive; the descriptor number stays the kind's.
        // Switched before the flag: a commit in between reserves in the new file and
        // leaves its range copy-on-write, which is harmless, never the reverse.
        if sys::move_fd(own, fd).is_err() {
            report(slot.id, b"switching to its own file failed");
        } else {
            FORKED[i].store(true, Ordering::Release);
        }
        drop(space);
    }
}

fn report(id: u32, what: &[u8]) {
    let mut buf = [0u8; 18];
    sys::report(&[
        b"memkind: fork: kind ",
        sys::hex(id as usize, &mut buf),
        b": ",
        what,
        b"; parent and child may share the heap of this kind",
    ]);
}
