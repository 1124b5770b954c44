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

/// This thread's cache per slot: `DIRTY | gen << 32 | (tcache + 1)` (31 bits of
/// generation), 0 = none yet.
struct Table {
    entries: [Cell<u64>; TOTAL_SLOTS],
}

/// The thread freed blocks into (or filled) this cache since it last flushed it, so a
/// flush may give memory back to a full kind.
const DIRTY: u64 = 1 << 63;
const GEN_MASK: u32 = 0x7fff_ffff;

#[inline]
fn entry_gen(v: u64) -> u32 {
    (v >> 32) as u32 & GEN_MASK
}

fn destroy_cache(e: &Entry) {
    arena::tcache_destroy(e.tcache);
    // Its blocks went back to the arenas: a full kind may fit a request again.
    if let Some(s) = super::slot_by_id(e.slot) {
        s.note_free();
    }
}

/// Destroys the thread's caches when it exits. A `pthread` key's destructor rather than a
/// Rust thread-local with `Drop`: registering that calls glibc's `calloc` in every new
/// thread, which gives each of them a 64 MiB glibc arena (1 GiB of address space for a
/// program starting threads in waves), where memkind's threads touch no glibc malloc.
fn cleanup() {
    let _ = CLEANUP_STATE.try_with(|s| s.set(CLEANUP_DONE));
    let _ = TABLE.try_with(|t| t.entries.iter().for_each(|e| e.set(0)));
    let me = thread_index();
    let mut reg = REGISTRY.lock();
    reg.retain(|e| {
        if e.thread == me {
            destroy_cache(e);
            false
        } else {
            true
        }
    });
}

/// The key's destructor: the value is only a marker that the thread has caches.
unsafe extern "C" fn on_thread_exit(_marker: *mut std::ffi::c_void) {
    let _ = std::panic::catch_unwind(cleanup);
}

/// The process's one exit key, made on first use; None when glibc has no key left.
fn exit_key() -> Option<u32> {
    static KEY: once_cell::sync::OnceCell<Option<u32>> = once_cell::sync::OnceCell::new();
    *KEY.get_or_init(|| crate::sys::thread_exit_key(on_thread_exit))
}

const CLEANUP_NONE: u8 = 0;
const CLEANUP_REGISTERING: u8 = 1;
const CLEANUP_ARMED: u8 = 2;
/// The thread is exiting: no new caches.
const CLEANUP_DONE: u8 = 3;

thread_local! {
    static TABLE: Table = const { Table { entries: [const { Cell::new(0) }; TOTAL_SLOTS] } };
    static CLEANUP_STATE: Cell<u8> = const { Cell::new(CLEANUP_NONE) };
}

/// Arms the exit-time cleanup once; false when the thread is already exiting.
fn arm_cleanup() -> bool {
    let state = CLEANUP_STATE.try_with(|s| s.get()).unwrap_or(CLEANUP_DONE);
    match state {
        CLEANUP_NONE => {
            let _ = CLEANUP_STATE.try_with(|s| s.set(CLEANUP_REGISTERING));
            // Any non-null marker: glibc runs the destructor only for non-null values.
            let armed = exit_key().is_some_and(|k| crate::sys::thread_exit_arm(k, 1));
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
    lookup(slot, false)
}

/// [`get`] for a free: marks the cache as holding freed blocks.
#[inline]
pub fn get_for_free(slot: &Slot) -> Option<u32> {
    lookup(slot, true)
}

#[inline]
fn lookup(slot: &Slot, freeing: bool) -> Option<u32> {
    let gen = slot.gen.load(Ordering::Acquire);
    TABLE
        .try_with(|t| {
            let cell = t.entries.get(slot.id as usize)?;
            let v = cell.get();
            if v != 0 && entry_gen(v) == gen & GEN_MASK {
                if freeing && v & DIRTY == 0 {
                    cell.set(v | DIRTY);
                }
                return Some((v as u32) - 1);
            }
            let id = create(slot, gen)?;
            // Dirty from the start: the fill of a new cache takes more blocks than asked.
            cell.set(DIRTY | (((gen & GEN_MASK) as u64) << 32) | (id as u64 + 1));
            Some(id)
        })
        .ok()
        .flatten()
}

/// Whether the calling thread's cache of `slot` holds blocks freed since its last flush.
pub fn is_dirty(slot: &Slot) -> bool {
    let gen = slot.gen.load(Ordering::Acquire) & GEN_MASK;
    TABLE
        .try_with(|t| {
            t.entries
                .get(slot.id as usize)
                .is_some_and(|c| c.get() & DIRTY != 0 && entry_gen(c.get()) == gen)
        })
        .unwrap_or(false)
}

/// Whether the calling thread's cache of `slot` may hold blocks a flush would give back;
/// clears the mark.
pub fn take_dirty(slot: &Slot) -> bool {
    let gen = slot.gen.load(Ordering::Acquire) & GEN_MASK;
    TABLE
        .try_with(|t| {
            let cell = t.entries.get(slot.id as usize)?;
            let v = cell.get();
            if v & DIRTY != 0 && entry_gen(v) == gen {
                cell.set(v & !DIRTY);
                return Some(true);
            }
            None
        })
        .ok()
        .flatten()
        .unwrap_or(false)
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
            // The kind goes: no need to tell it blocks came back.
            arena::tcache_destroy(e.tcache);
            false
        } else {
            true
        }
    });
}
