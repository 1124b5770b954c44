//! Fixed kinds (`memkind_create_fixed`): a heap inside a region the caller supplies and
//! keeps owning. The page-aligned inside of `[addr, addr+size)` becomes the kind's one
//! chunk; jemalloc's metadata and our live map stay outside it, so nothing but the
//! caller's blocks is ever written there. One arena and no thread caches: jemalloc keeps
//! freed extents per arena and freed blocks per cache, and with a region that cannot grow,
//! space held there would be lost to the other threads (a thread could get ENOMEM while
//! others' caches hold most of the region).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{cache, file, Slot, CACHE_NONE, STATE_BUSY, STATE_FREE, STATE_LIVE};
use crate::chunk;
use crate::error::{Error, Result};
use crate::sys;

/// Where the search for a free slot starts (see `file.rs`: reusing a destroyed kind's
/// handle late keeps stale handles detectable longer).
static CURSOR: AtomicUsize = AtomicUsize::new(0);

/// Creates a kind over `[addr, addr+size)`. `Err(Invalid)` when the region holds no whole
/// page or overlaps memory of a kind (including another fixed kind).
pub fn create(addr: usize, size: usize) -> Result<&'static Slot> {
    let page = sys::page_size();
    let end = addr.checked_add(size).ok_or(Error::Invalid)?;
    let base = addr.checked_next_multiple_of(page).ok_or(Error::Invalid)?;
    let top = end & !(page - 1);
    if addr == 0 || size == 0 {
        return Err(Error::Invalid);
    }
    if top <= base && (chunk::lookup(addr).is_some() || chunk::lookup(end - 1).is_some()) {
        // Inside another kind's memory, like any overlapping region.
        return Err(Error::Invalid);
    }
    let slot = file::take_slot(&CURSOR).ok_or(Error::TooMany)?;
    if top <= base {
        // No whole page: memkind takes it as a kind of that capacity where nothing fits.
        // It gets no arenas and no chunk; allocations fail with ENOMEM.
        slot.fixed_size.store(size, Ordering::Relaxed);
        slot.state.store(STATE_LIVE, Ordering::Release);
        return Ok(slot);
    }
    let idx = match chunk::register_fixed(base, top - base, slot.id) {
        Ok(idx) => idx,
        Err(e) => {
            slot.state.store(STATE_FREE, Ordering::Release);
            return Err(e);
        }
    };
    slot.space.lock().set_fixed(idx, base, top - base);
    slot.fixed_size.store(size, Ordering::Relaxed);
    // Freed pages stay in place (they cannot be given back); the decay only moves them
    // to jemalloc's retained list, where neighbours merge for larger requests.
    if let Err(e) = slot.start_arenas(1, CACHE_NONE, Some((10_000, 0))) {
        release(slot);
        return Err(e);
    }
    let a = slot.arenas[0].load(Ordering::Relaxed);
    crate::arena::set_grow_limit(a, sys::page_size());
    slot.state.store(STATE_LIVE, Ordering::Release);
    Ok(slot)
}

/// Frees the arenas and the registration of a slot in state BUSY; the region is left as it
/// is, for the caller.
pub fn teardown(slot: &'static Slot) {
    cache::drop_kind(slot);
    slot.stop_arenas();
    release(slot);
}

fn release(slot: &'static Slot) {
    slot.space.lock().release();
    slot.fixed_size.store(0, Ordering::Relaxed);
    debug_assert_eq!(slot.state.load(Ordering::Relaxed), STATE_BUSY);
    slot.state.store(STATE_FREE, Ordering::Release);
}
