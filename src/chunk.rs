//! Address-space chunks and the ownership map.
//!
//! Every byte any kind hands out lies in a chunk: a 1 GiB-aligned reservation owned by one
//! kind. A flat table indexed by `address >> 30` finds the chunk (and so the kind) of any
//! pointer without locks and without asking jemalloc, which would crash on a foreign
//! pointer. Each chunk also has a live map, one bit per 8-byte slot, set while an allocation
//! starts there: it tells a valid pointer from a stale, interior or foreign one, so double
//! and wild frees are reported instead of corrupting the heap.

use std::sync::atomic::{AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::sys;

pub(crate) const CHUNK_SHIFT: u32 = 30;
pub(crate) const CHUNK_ALIGN: usize = 1 << CHUNK_SHIFT;
/// User-space addresses on x86-64 with 4-level paging.
const VA_BITS: u32 = 47;
const OWNER_LEN: usize = 1 << (VA_BITS - CHUNK_SHIFT);
pub(crate) const MAX_CHUNKS: usize = 4096;
/// The smallest jemalloc size class is 8 bytes, so allocations start on distinct 8-byte slots.
const SLOT_SHIFT: u32 = 3;

pub struct Chunk {
    pub base: AtomicUsize,
    pub len: AtomicUsize,
    /// Kind slot index owning this chunk.
    pub slot: AtomicU32,
    /// File offset of `base` for file-backed kinds.
    pub file_off: AtomicU64,
    live: AtomicPtr<AtomicU64>,
    live_len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_CHUNK: Chunk = Chunk {
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    slot: AtomicU32::new(0),
    file_off: AtomicU64::new(0),
    live: AtomicPtr::new(std::ptr::null_mut()),
    live_len: AtomicUsize::new(0),
};

/// Chunk index for each GiB of address space; 0 means "no chunk".
static OWNER: [AtomicU16; OWNER_LEN] = [const { AtomicU16::new(0) }; OWNER_LEN];
static CHUNKS: [Chunk; MAX_CHUNKS] = [EMPTY_CHUNK; MAX_CHUNKS];
static TABLE_LOCK: spin::Mutex<()> = spin::Mutex::new(());

impl Chunk {
    #[inline]
    fn bit(&self, p: usize) -> Option<(&AtomicU64, u64)> {
        let live = self.live.load(Ordering::Acquire);
        let base = self.base.load(Ordering::Relaxed);
        if live.is_null() || p < base || p & ((1 << SLOT_SHIFT) - 1) != 0 {
            return None;
        }
        let idx = (p - base) >> SLOT_SHIFT;
        if idx / 64 >= self.live_len.load(Ordering::Relaxed) {
            return None;
        }
        // SAFETY: idx/64 is within the live map, which stays mapped while the chunk is
        // registered.
        let word = unsafe { &*live.add(idx / 64) };
        Some((word, 1u64 << (idx % 64)))
    }

    /// Records that an allocation starts at `p`.
    #[inline]
    pub fn mark_live(&self, p: usize) {
        if let Some((w, b)) = self.bit(p) {
            w.fetch_or(b, Ordering::AcqRel);
        }
    }

    /// Atomically takes `p` out of the live map; false if it was not live (double free,
    /// interior or stale pointer). Exactly one of several racing frees wins.
    #[inline]
    pub fn claim(&self, p: usize) -> bool {
        match self.bit(p) {
            Some((w, b)) => w.fetch_and(!b, Ordering::AcqRel) & b != 0,
            None => false,
        }
    }

    #[inline]
    pub fn is_live(&self, p: usize) -> bool {
        match self.bit(p) {
            Some((w, b)) => w.load(Ordering::Acquire) & b != 0,
            None => false,
        }
    }

    pub fn end(&self) -> usize {
        self.base.load(Ordering::Relaxed) + self.len.load(Ordering::Relaxed)
    }

    pub fn contains(&self, addr: usize, len: usize) -> bool {
        let base = self.base.load(Ordering::Relaxed);
        addr >= base && addr.saturating_add(len) <= self.end()
    }
}

pub fn get(idx: u16) -> &'static Chunk {
    &CHUNKS[idx as usize]
}

/// The chunk holding `p`, if any kind owns that address.
#[inline]
pub fn lookup(p: usize) -> Option<&'static Chunk> {
    let gib = p >> CHUNK_SHIFT;
    if gib >= OWNER_LEN {
        return None;
    }
    let idx = OWNER[gib].load(Ordering::Acquire);
    if idx == 0 {
        return None;
    }
    let c = &CHUNKS[idx as usize];
    if c.contains(p, 1) {
        Some(c)
    } else {
        None
    }
}

/// Index of the chunk holding `p` (0 if none).
pub fn index_of(p: usize) -> u16 {
    let gib = p >> CHUNK_SHIFT;
    if gib >= OWNER_LEN {
        return 0;
    }
    OWNER[gib].load(Ordering::Acquire)
}

/// Enters `[base, base+len)` (1 GiB aligned and sized) into the ownership map for `slot`.
pub fn register(base: usize, len: usize, slot: u32, file_off: u64) -> Option<u16> {
    debug_assert!(base % CHUNK_ALIGN == 0 && len % CHUNK_ALIGN == 0);
    if (base + len) >> CHUNK_SHIFT > OWNER_LEN {
        return None;
    }
    let words = (len >> SLOT_SHIFT).div_ceil(64);
    let map_bytes = (words * 8).next_multiple_of(sys::page_size());
    let live = sys::reserve(map_bytes, sys::page_size()).ok()?;
    if sys::map_anon_rw(live, map_bytes).is_err() {
        sys::unmap(live, map_bytes);
        return None;
    }
    let _g = TABLE_LOCK.lock();
    let Some(idx) = (1..MAX_CHUNKS).find(|&i| CHUNKS[i].len.load(Ordering::Relaxed) == 0) else {
        sys::unmap(live, map_bytes);
        return None;
    };
    let c = &CHUNKS[idx];
    c.base.store(base, Ordering::Relaxed);
    c.len.store(len, Ordering::Relaxed);
    c.slot.store(slot, Ordering::Relaxed);
    c.file_off.store(file_off, Ordering::Relaxed);
    c.live_len.store(words, Ordering::Relaxed);
    c.live.store(live as *mut AtomicU64, Ordering::Release);
    for o in &OWNER[(base >> CHUNK_SHIFT)..((base + len) >> CHUNK_SHIFT)] {
        o.store(idx as u16, Ordering::Release);
    }
    Some(idx as u16)
}

/// Removes a chunk from the ownership map and frees its live map. The caller unmaps the
/// chunk's memory.
pub fn unregister(idx: u16) {
    let _g = TABLE_LOCK.lock();
    let c = &CHUNKS[idx as usize];
    let base = c.base.load(Ordering::Relaxed);
    let len = c.len.load(Ordering::Relaxed);
    for o in &OWNER[(base >> CHUNK_SHIFT)..((base + len) >> CHUNK_SHIFT)] {
        o.store(0, Ordering::Release);
    }
    let live = c.live.swap(std::ptr::null_mut(), Ordering::AcqRel);
    let words = c.live_len.swap(0, Ordering::Relaxed);
    if !live.is_null() {
        sys::unmap(
            live as usize,
            (words * 8).next_multiple_of(sys::page_size()),
        );
    }
    c.len.store(0, Ordering::Release);
}
