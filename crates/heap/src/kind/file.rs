//! File-backed kinds: an unlinked temporary file in the caller's directory, an address
//! reservation mapping it, and arenas whose extents come from that reservation.

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::statics::{self, NUM_STATIC};
use super::{cache, Slot, CACHE_PER_THREAD, STATE_BUSY, STATE_FREE, STATE_LIVE};
use crate::chunk::CHUNK_ALIGN;
use crate::error::{Error, Result};
use crate::sys;

pub const MAX_KINDS: usize = 512;
pub(crate) const PMEM_MIN_SIZE: usize = 16 << 20;
/// Address space reserved at a time for a kind without a size limit.
const UNLIMITED_CHUNK: usize = 64 << 30;

pub const POLICY_DEFAULT: u32 = 0;
pub(crate) const POLICY_CONSERVATIVE: u32 = 1;

pub static SLOTS: [Slot; MAX_KINDS] = {
    let mut i = 0;
    let mut s = [const { Slot::new(0) }; MAX_KINDS];
    while i < MAX_KINDS {
        s[i] = Slot::new((NUM_STATIC + i) as u32);
        i += 1;
    }
    s
};

/// Directory of each created kind, where a forked child opens its own file (see `fork.rs`).
pub(crate) static DIRS: [crate::sys::lock::Mutex<Option<std::ffi::CString>>; MAX_KINDS] =
    [const { crate::sys::lock::Mutex::new(None) }; MAX_KINDS];

/// Where the search for a free slot starts: rotating it keeps a destroyed kind's handle
/// from naming a new kind for as long as possible.
static CURSOR: AtomicUsize = AtomicUsize::new(0);

#[inline]
pub fn slot_of_handle(h: *const std::ffi::c_void) -> Option<&'static Slot> {
    super::slot_in(&SLOTS, h)
}

#[inline]
pub fn slot_by_id(id: u32) -> Option<&'static Slot> {
    (id as usize)
        .checked_sub(NUM_STATIC)
        .and_then(|i| SLOTS.get(i))
}

/// Claims a free slot of `SLOTS`, searching from `cursor` on. File and fixed kinds share
/// the table but each rotate their own cursor.
pub(crate) fn take_slot(cursor: &AtomicUsize) -> Option<&'static Slot> {
    let start = cursor.load(Ordering::Relaxed);
    for k in 0..MAX_KINDS {
        let i = (start + k) % MAX_KINDS;
        let s = &SLOTS[i];
        if s.state
            .compare_exchange(STATE_FREE, STATE_BUSY, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            cursor.store(i + 1, Ordering::Relaxed);
            return Some(s);
        }
    }
    None
}

/// Creates a file-backed kind in `dir`; `max_size` 0 means "as large as the file system".
pub fn create(dir: &CStr, max_size: usize, policy: u32) -> Result<&'static Slot> {
    if max_size != 0 && max_size < PMEM_MIN_SIZE {
        return Err(Error::Invalid);
    }
    if policy > POLICY_CONSERVATIVE {
        return Err(Error::Invalid);
    }
    let fd = sys::open_unlinked_tmp(dir).map_err(|e| {
        crate::sys::set_errno(e);
        Error::Invalid
    })?;
    let Some(slot) = take_slot(&CURSOR) else {
        sys::close(fd);
        return Err(Error::TooMany);
    };
    super::fork::register();
    slot.fd.store(fd, Ordering::Relaxed);
    *DIRS[index(slot)].lock() = Some(dir.to_owned());
    slot.max_bytes.store(max_size, Ordering::Relaxed);
    slot.committed.store(0, Ordering::Relaxed);
    slot.fs_headroom.store(0, Ordering::Relaxed);
    let chunk_len = if max_size == 0 {
        let fs = sys::fs_size(fd).unwrap_or(UNLIMITED_CHUNK as u64) as usize;
        fs.clamp(CHUNK_ALIGN, UNLIMITED_CHUNK)
            .next_multiple_of(CHUNK_ALIGN)
    } else {
        // Twice the limit: room for jemalloc's retained ranges so the whole budget stays
        // usable however the space is fragmented.
        max_size
            .saturating_mul(2)
            .clamp(CHUNK_ALIGN, UNLIMITED_CHUNK)
            .next_multiple_of(CHUNK_ALIGN)
    };
    slot.space.lock().chunk_len = chunk_len;
    // Dirty pages: kept 10 s by default (jemalloc's default), given back at once when
    // conservative. Muzzy pages never exist (a file range cannot be lazily purged); a
    // muzzy decay of 0 would make jemalloc purge freed extents at once, so it is off. (Off
    // also turns off jemalloc's eager purge of coalesced free ranges beyond 8 MiB, which
    // would punch out and re-reserve batches of blocks; huge blocks are given back at
    // their free by `Slot::free_maybe_huge` instead.)
    let decay = match policy {
        POLICY_DEFAULT => (10_000, -1),
        _ => (0, 0),
    };
    slot.space.lock().big.decay = match policy {
        _ if crate::env::hog_memory() => u32::MAX,
        POLICY_DEFAULT => 10,
        _ => 0,
    };
    if let Err(e) = slot.start_arenas(statics::arenas_per_kind(), CACHE_PER_THREAD, Some(decay)) {
        release(slot);
        return Err(e);
    }
    slot.state.store(STATE_LIVE, Ordering::Release);
    Ok(slot)
}

/// Frees arenas, address space and the file of a slot in state BUSY, then frees the slot.
pub fn teardown(slot: &'static Slot) {
    cache::drop_kind(slot);
    // The file goes with the kind: without its descriptor the hooks give destroyed
    // arenas' pages back with a plain madvise instead of punching every extent out of the
    // file (295 punches and 1 s for a kind holding 2 GiB on ext4); closing the unlinked
    // file frees its blocks at once.
    let fd = slot.fd.swap(-1, Ordering::AcqRel);
    slot.stop_arenas();
    if fd >= 0 {
        sys::close(fd);
    }
    release(slot);
}

fn index(slot: &Slot) -> usize {
    slot.id as usize - NUM_STATIC
}

/// Index of a created kind's slot in `SLOTS` (and in the per-kind tables of `fork.rs` and
/// `space.rs`); None for a static kind.
pub(crate) fn created_index(slot: &Slot) -> Option<usize> {
    (slot.id as usize)
        .checked_sub(NUM_STATIC)
        .filter(|&i| i < MAX_KINDS)
}

fn release(slot: &'static Slot) {
    slot.space.lock().release();
    super::fork::forget(slot);
    DIRS[index(slot)].lock().take();
    let fd = slot.fd.swap(-1, Ordering::AcqRel);
    if fd >= 0 {
        sys::close(fd);
    }
    slot.committed.store(0, Ordering::Relaxed);
    slot.fs_headroom.store(0, Ordering::Relaxed);
    slot.max_bytes.store(0, Ordering::Relaxed);
    debug_assert_eq!(slot.state.load(Ordering::Relaxed), STATE_BUSY);
    slot.state.store(STATE_FREE, Ordering::Release);
}
