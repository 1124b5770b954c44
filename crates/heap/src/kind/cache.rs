//! Per-thread caches per kind.
//!
//! jemalloc's automatic thread cache is shared by all arenas, so it may only serve one kind
//! (DEFAULT). Every other kind gets, in each thread that uses it, an explicit jemalloc cache
//! (`tcache.create`) used with that kind's arenas only: small blocks then cost what they cost
//! on DEFAULT. A block is always freed through the freeing thread's cache of the block's
//! own kind, so a cache never holds another kind's memory.
//!
//! Lifetimes: a registry lists every cache with its kind and thread.
//! Destroying a kind destroys its caches (flushing their blocks into the kind's arenas)
//! and bumps the generation, so threads see their table entry is stale; a thread's exit
//! destroys that thread's caches. Both happen under the registry lock, so each cache is
//! destroyed exactly once.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use super::{file::MAX_KINDS, statics::NUM_STATIC, thread_index, Slot};
use crate::arena;

const TOTAL_SLOTS: usize = NUM_STATIC + MAX_KINDS;

#[derive(Clone, Copy)]
struct Entry {
    slot: u32,
    tcache: u32,
    thread: u32,
}

static REGISTRY: crate::sys::lock::Mutex<Vec<Entry>> = crate::sys::lock::Mutex::new(Vec::new());

/// In a forked child: the registry lock may have been held by a thread that is gone.
pub(crate) fn after_fork_in_child() {
    // SAFETY: only the forking thread exists in the child, and it is not inside the lock.
    unsafe { REGISTRY.force_unlock() };
}

/// This thread's cache per slot: `gen << 32 | (tcache + 1)`, 0 = none yet.
struct Table {
    entries: [Cell<u64>; TOTAL_SLOTS],
}

/// Destroys the thread's caches when it exits. Kept apart from [`Table`], which has no
/// destructor: registering a thread-local destructor can call `calloc`, which under the
/// interposer comes straight back here, and must then find the table usable.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        CLEANUP_STATE.with(|s| s.set(CLEANUP_DONE));
        let _ = TABLE.try_with(|t| t.entries.iter().for_each(|e| e.set(0)));
        let me = thread_index();
        let mut reg = REGISTRY.lock();
        reg.retain(|e| {
            if e.thread == me {
                arena::tcache_destroy(e.tcache);
                false
            } else {
                true
            }
        });
    }
}

const CLEANUP_NONE: u8 = 0;
const CLEANUP_REGISTERING: u8 = 1;
const CLEANUP_ARMED: u8 = 2;
/// The thread is exiting: no new caches.
const CLEANUP_DONE: u8 = 3;

thread_local! {
    static TABLE: Table = const { Table { entries: [const { Cell::new(0) }; TOTAL_SLOTS] } };
    static CLEANUP_STATE: Cell<u8> = const { Cell::new(CLEANUP_NONE) };
    static CLEANUP: Cleanup = const { Cleanup };
}

/// Arms the exit-time cleanup once; false when the thread is already exiting.
fn arm_cleanup() -> bool {
    let state = CLEANUP_STATE.try_with(|s| s.get()).unwrap_or(CLEANUP_DONE);
    match state {
        CLEANUP_NONE => {
            let _ = CLEANUP_STATE.try_with(|s| s.set(CLEANUP_REGISTERING));
            let armed = CLEANUP.try_with(|_| ()).is_ok();
            let _ = CLEANUP_STATE.try_with(|s| {
                if s.get() == CLEANUP_REGISTERING {
                    s.set(if armed { CLEANUP_ARMED } else { CLEANUP_DONE })
                }
            });
            armed
        }
        CLEANUP_DONE => false,
        _ => true,
    }
}

/// The calling thread's cache for `slot`, created on first use; None when no cache can be
/// had (thread exiting, jemalloc out of cache slots, kind being destroyed).
#[inline]
pub fn get(slot: &Slot) -> Option<u32> {
    let gen = slot.gen.load(Ordering::Acquire);
    TABLE
        .try_with(|t| {
            let cell = t.entries.get(slot.id as usize)?;
            let v = cell.get();
            if v != 0 && (v >> 32) as u32 == gen {
                return Some((v as u32) - 1);
            }
            let id = create(slot, gen)?;
            cell.set(((gen as u64) << 32) | (id as u64 + 1));
            Some(id)
        })
        .ok()
        .flatten()
}

#[cold]
fn create(slot: &Slot, gen: u32) -> Option<u32> {
    if !arm_cleanup() {
        return None;
    }
    let id = arena::tcache_create()?;
    let mut reg = REGISTRY.lock();
    if slot.gen.load(Ordering::Acquire) != gen || !slot.is_live() {
        drop(reg);
        arena::tcache_destroy(id);
        return None;
    }
    reg.push(Entry {
        slot: slot.id,
        tcache: id,
        thread: thread_index(),
    });
    Some(id)
}

/// Gives the calling thread's cached blocks of `slot` back to the arenas.
pub fn flush_own(slot: &Slot) {
    if let Some(id) = get(slot) {
        arena::tcache_flush(id);
    }
}

/// Destroys every thread's cache of `slot` and invalidates the threads' entries. Called
/// while the kind is being destroyed, before its arenas go.
pub fn drop_kind(slot: &Slot) {
    let mut reg = REGISTRY.lock();
    slot.gen.fetch_add(1, Ordering::AcqRel);
    reg.retain(|e| {
        if e.slot == slot.id {
            arena::tcache_destroy(e.tcache);
            false
        } else {
            true
        }
    });
}
