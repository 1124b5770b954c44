//! Address-space chunks and the ownership map.
//!
//! Every byte any kind hands out lies in a chunk: a 1 GiB-aligned reservation owned by one
//! kind. A flat table indexed by `address >> 30` finds the chunk (and so the kind) of any
//! pointer without locks and without asking jemalloc, which would crash on a foreign
//! pointer. Each chunk also has a live map, one bit per 8-byte slot, set while an allocation
//! starts there: it tells a valid pointer from a stale, interior or foreign one, so double
//! and wild frees are reported instead of corrupting the heap.

use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

use crate::error::Error;
use crate::sys;

pub(crate) const CHUNK_SHIFT: u32 = 30;
pub(crate) const CHUNK_ALIGN: usize = 1 << CHUNK_SHIFT;
/// User-space addresses on x86-64 with 4-level paging.
const VA_BITS: u32 = 47;
const OWNER_LEN: usize = 1 << (VA_BITS - CHUNK_SHIFT);
pub(crate) const MAX_CHUNKS: usize = 4096;
/// The smallest jemalloc size class is 8 bytes, so allocations start on distinct 8-byte slots.
const SLOT_SHIFT: u32 = 3;
/// OWNER value of a GiB shared by several fixed regions (beyond every chunk index).
const SHARED: u16 = u16::MAX;
/// At most one fixed region per created kind (`MEMKIND_MAX_KIND`).
const MAX_FIXED: usize = 512;

pub struct Chunk {
    pub base: AtomicUsize,
    pub len: AtomicUsize,
    /// Kind slot index owning this chunk.
    pub slot: AtomicU32,
    /// File offset of `base` for file-backed kinds.
    pub file_off: AtomicU64,
    live: AtomicPtr<AtomicU64>,
    live_len: AtomicUsize,
    /// Class map: one byte per page (0 = none), mapped for whole-GiB chunks.
    classes: AtomicUsize,
    /// A caller's region (`memkind_create_fixed`), not a reservation of ours.
    pub fixed: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_CHUNK: Chunk = Chunk {
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    slot: AtomicU32::new(0),
    file_off: AtomicU64::new(0),
    live: AtomicPtr::new(std::ptr::null_mut()),
    live_len: AtomicUsize::new(0),
    classes: AtomicUsize::new(0),
    fixed: AtomicBool::new(false),
};

/// Chunk index for each GiB of address space; 0 means "no chunk".
static OWNER: [AtomicU16; OWNER_LEN] = [const { AtomicU16::new(0) }; OWNER_LEN];
static CHUNKS: [Chunk; MAX_CHUNKS] = [EMPTY_CHUNK; MAX_CHUNKS];
/// Per GiB: the owning slot's id + 1 when one whole-GiB chunk covers it, else 0 (no chunk,
/// or fixed regions that need the full lookup). Lets the free fast path name the kind
/// with one load.
static GIB_SLOT: [AtomicU16; OWNER_LEN] = [const { AtomicU16::new(0) }; OWNER_LEN];
/// Per GiB of a whole-GiB chunk: the address of the class byte of the GiB's first page in
/// the chunk's class map (0 = none). See [`set_class`].
static GIB_CLASSES: [AtomicUsize; OWNER_LEN] = [const { AtomicUsize::new(0) }; OWNER_LEN];
const PAGE_SHIFT: u32 = 12;
/// Class bytes per GiB.
const GIB_PAGES: usize = 1 << (CHUNK_SHIFT - PAGE_SHIFT);
/// Indices of the fixed chunks (0 = free entry); written under `TABLE_LOCK`.
static FIXED: [AtomicU16; MAX_FIXED] = [const { AtomicU16::new(0) }; MAX_FIXED];
/// Entries of FIXED ever used: searches stop there.
static FIXED_USED: AtomicUsize = AtomicUsize::new(0);
static TABLE_LOCK: crate::sys::lock::Mutex<()> = crate::sys::lock::Mutex::new(());

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

    #[inline]
    pub fn end(&self) -> usize {
        self.base.load(Ordering::Relaxed) + self.len.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn contains(&self, addr: usize, len: usize) -> bool {
        let base = self.base.load(Ordering::Relaxed);
        addr >= base && addr.saturating_add(len) <= self.end()
    }
}

#[inline]
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
    // SHARED is beyond the table: the bounds check doubles as the test for it.
    let Some(c) = CHUNKS.get(idx as usize) else {
        return lookup_shared(p);
    };
    if c.contains(p, 1) {
        Some(c)
    } else {
        None
    }
}

#[cold]
#[inline(never)]
fn lookup_shared(p: usize) -> Option<&'static Chunk> {
    match find_fixed(p) {
        0 => None,
        idx => Some(&CHUNKS[idx as usize]),
    }
}

/// Index of the fixed chunk holding `p` (0 if none).
fn find_fixed(p: usize) -> u16 {
    FIXED[..FIXED_USED.load(Ordering::Acquire)]
        .iter()
        .map(|f| f.load(Ordering::Acquire))
        .find(|&i| i != 0 && CHUNKS[i as usize].contains(p, 1))
        .unwrap_or(0)
}

/// The id of the slot whose whole-GiB chunk holds `p`; None for memory of no kind and for
/// fixed regions (use [`lookup`] there).
#[inline(always)]
pub fn slot_of_gib(p: usize) -> Option<u32> {
    let v = GIB_SLOT.get(p >> CHUNK_SHIFT)?.load(Ordering::Acquire);
    (v != 0).then(|| v as u32 - 1)
}

/// The class byte of the page `p` lies on, in a whole-GiB chunk's class map.
///
/// The map names the size class of the blocks that start on each page, so the free fast
/// path need not ask jemalloc (a lookup in its radix tree through its thread state, the
/// largest part of a cached free). Every allocation of a kind with per-thread caches that
/// does not come out of such a cache writes its block's class here before the block is
/// handed out (cached blocks were written when they first came from jemalloc). The entry
/// of a page where a live block starts cannot change under it: every block starting on a
/// page belongs to the extent holding that page, so all such blocks have one class, and
/// a large block is the only block starting on its first page. A free of a block is
/// ordered after its allocation by whatever handed the pointer over, so it reads the
/// value written for that block or a later write of the same value.
#[inline(always)]
fn class_byte(p: usize) -> Option<&'static AtomicU8> {
    let base = GIB_CLASSES.get(p >> CHUNK_SHIFT)?.load(Ordering::Acquire);
    if base == 0 {
        return None;
    }
    let idx = (p >> PAGE_SHIFT) & (GIB_PAGES - 1);
    // SAFETY: a non-zero entry is the start of GIB_PAGES mapped bytes of a registered
    // chunk's class map; the map is unmapped only after the entry is cleared at
    // unregistering, and a pointer into a kind is only handed here while the kind lives.
    Some(unsafe { &*((base + idx) as *const AtomicU8) })
}

/// Records `class` (0 = none) for the block starting at `p`.
#[inline]
pub fn set_class(p: usize, class: u8) {
    if let Some(b) = class_byte(p) {
        // Read first: a large block leaves an untouched map page unwritten (no DRAM).
        if b.load(Ordering::Relaxed) != class {
            b.store(class, Ordering::Relaxed);
        }
    }
}

/// The class recorded for the page of `p` (0 = none or no map).
#[inline(always)]
pub fn class_at(p: usize) -> u8 {
    class_byte(p).map_or(0, |b| b.load(Ordering::Relaxed))
}

/// GiBs of address space jemalloc has had an extent in (one bit each). jemalloc keeps a
/// radix-tree leaf (2 MiB of its metadata) for every GiB it ever saw and never frees one,
/// so a range first seen late, after being recycled through kinds that only held large
/// blocks, grows the process's address space long after start-up (`kind/big.rs`).
static JEMALLOC_SEEN: [AtomicU64; OWNER_LEN / 64] = [const { AtomicU64::new(0) }; OWNER_LEN / 64];

/// Records that jemalloc got the extent `[p, p+len)`.
pub fn mark_jemalloc(p: usize, len: usize) {
    for g in [p >> CHUNK_SHIFT, (p + len.max(1) - 1) >> CHUNK_SHIFT] {
        let Some(w) = JEMALLOC_SEEN.get(g / 64) else {
            continue;
        };
        let bit = 1u64 << (g % 64);
        if w.load(Ordering::Relaxed) & bit == 0 {
            w.fetch_or(bit, Ordering::Relaxed);
        }
    }
}

/// Whether jemalloc ever had an extent in the GiB holding `p`.
pub fn jemalloc_seen(p: usize) -> bool {
    let g = p >> CHUNK_SHIFT;
    JEMALLOC_SEEN
        .get(g / 64)
        .is_some_and(|w| w.load(Ordering::Relaxed) & (1u64 << (g % 64)) != 0)
}

/// Class-map value of a large block of a file kind (`kind/big.rs`): beyond every size
/// class of the fronts.
pub(crate) const CLASS_BIG: u8 = 0xFF;
/// Class-map value left by the free of a large block, so a second free is refused.
pub(crate) const CLASS_BIG_FREED: u8 = 0xFE;
/// Class bytes after a large block's first that hold its length in pages.
const BIG_LEN_BYTES: usize = 4;

/// Records a large block of `pages` pages (at least 1 + [`BIG_LEN_BYTES`]) at `p`: its
/// length in the class bytes of its next pages, where no block starts while it lives.
pub fn set_big(p: usize, pages: u32) {
    for (i, b) in pages.to_le_bytes().into_iter().enumerate() {
        if let Some(c) = class_byte(p + (i + 1) * (1 << PAGE_SHIFT)) {
            c.store(b, Ordering::Relaxed);
        }
    }
    set_class(p, CLASS_BIG);
}

/// Length in pages of the large block at `p` (see [`set_big`]).
pub fn big_pages(p: usize) -> u32 {
    let mut v = [0u8; BIG_LEN_BYTES];
    for (i, b) in v.iter_mut().enumerate() {
        *b = class_at(p + (i + 1) * (1 << PAGE_SHIFT));
    }
    u32::from_le_bytes(v)
}

/// Index of the chunk holding `p` (0 if none).
pub fn index_of(p: usize) -> u16 {
    let gib = p >> CHUNK_SHIFT;
    if gib >= OWNER_LEN {
        return 0;
    }
    match OWNER[gib].load(Ordering::Acquire) {
        SHARED => find_fixed(p),
        idx => idx,
    }
}

/// GiB indices `[first, last]` of OWNER that `[base, base+len)` touches (`len` > 0).
fn gibs(base: usize, len: usize) -> std::ops::RangeInclusive<usize> {
    (base >> CHUNK_SHIFT)..=((base + len - 1) >> CHUNK_SHIFT)
}

/// Maps a live map for `len` bytes: its address, length in words and in bytes; an empty
/// one (all zero) unless `MEMKIND_CHECK=1` asked for live maps.
fn new_live_map(len: usize) -> Option<(usize, usize, usize)> {
    if !crate::env::check() {
        return Some((0, 0, 0));
    }
    let words = (len >> SLOT_SHIFT).div_ceil(64);
    let map_bytes = (words * 8).next_multiple_of(sys::page_size());
    Some((map_zeroed(map_bytes)?, words, map_bytes))
}

/// Maps `bytes` (a multiple of the page size) of zeroed, lazily backed memory.
fn map_zeroed(bytes: usize) -> Option<usize> {
    let at = sys::reserve(bytes, sys::page_size()).ok()?;
    if sys::map_anon_rw(at, bytes).is_err() {
        sys::unmap(at, bytes);
        return None;
    }
    Some(at)
}

/// Bytes of the class map of a chunk of `len` bytes.
fn class_map_bytes(len: usize) -> usize {
    (len >> PAGE_SHIFT).next_multiple_of(sys::page_size())
}

fn drop_live_map(live: usize, map_bytes: usize) {
    if map_bytes != 0 {
        sys::unmap(live, map_bytes);
    }
}

/// Fills chunk `idx` in; the caller holds `TABLE_LOCK` and publishes it in OWNER after.
fn fill(idx: usize, base: usize, len: usize, slot: u32, file_off: u64, live: (usize, usize)) {
    let c = &CHUNKS[idx];
    c.base.store(base, Ordering::Relaxed);
    c.len.store(len, Ordering::Relaxed);
    c.slot.store(slot, Ordering::Relaxed);
    c.file_off.store(file_off, Ordering::Relaxed);
    c.live_len.store(live.1, Ordering::Relaxed);
    c.live.store(live.0 as *mut AtomicU64, Ordering::Release);
}

fn free_chunk_index() -> Option<usize> {
    (1..MAX_CHUNKS).find(|&i| CHUNKS[i].len.load(Ordering::Relaxed) == 0)
}

/// Enters a caller's region `[base, base+len)` (page-aligned, non-empty) for `slot`.
/// `Err(Invalid)` when it overlaps memory of any kind or lies beyond the mapped range.
pub fn register_fixed(base: usize, len: usize, slot: u32) -> Result<u16, Error> {
    debug_assert!(len > 0 && base % sys::page_size() == 0 && len % sys::page_size() == 0);
    let end = base.checked_add(len).ok_or(Error::Invalid)?;
    if (end - 1) >> CHUNK_SHIFT >= OWNER_LEN {
        return Err(Error::Invalid);
    }
    let (live, words, map_bytes) = new_live_map(len).ok_or(Error::Mmap)?;
    let _g = TABLE_LOCK.lock();
    let overlaps = gibs(base, len).any(|g| match OWNER[g].load(Ordering::Relaxed) {
        0 => false,
        SHARED => false,
        // A 1 GiB chunk fills its GiBs; a fixed one is checked below.
        i => !CHUNKS[i as usize].fixed.load(Ordering::Relaxed),
    }) || FIXED.iter().any(|f| {
        let i = f.load(Ordering::Relaxed);
        i != 0 && {
            let c = &CHUNKS[i as usize];
            base < c.end() && c.base.load(Ordering::Relaxed) < end
        }
    });
    let entry = FIXED.iter().position(|f| f.load(Ordering::Relaxed) == 0);
    let (idx, entry) = match (overlaps, free_chunk_index(), entry) {
        (false, Some(idx), Some(entry)) => (idx, entry),
        (o, _, _) => {
            drop_live_map(live, map_bytes);
            return Err(if o { Error::Invalid } else { Error::TooMany });
        }
    };
    fill(idx, base, len, slot, 0, (live, words));
    CHUNKS[idx].fixed.store(true, Ordering::Relaxed);
    // In the list before any GiB says SHARED, so a search always finds it.
    FIXED[entry].store(idx as u16, Ordering::Release);
    FIXED_USED.fetch_max(entry + 1, Ordering::AcqRel);
    for g in gibs(base, len) {
        let o = &OWNER[g];
        let v = if o.load(Ordering::Relaxed) == 0 {
            idx as u16
        } else {
            SHARED
        };
        o.store(v, Ordering::Release);
    }
    Ok(idx as u16)
}

/// What OWNER[g] should hold given the fixed chunks other than `gone`.
fn fixed_owner_of(g: usize, gone: u16) -> u16 {
    let (lo, hi) = (g << CHUNK_SHIFT, (g + 1) << CHUNK_SHIFT);
    let mut found = 0;
    for f in &FIXED {
        let i = f.load(Ordering::Relaxed);
        if i == 0 || i == gone {
            continue;
        }
        let c = &CHUNKS[i as usize];
        if c.base.load(Ordering::Relaxed) < hi && lo < c.end() {
            if found != 0 {
                return SHARED;
            }
            found = i;
        }
    }
    found
}

/// Enters `[base, base+len)` (1 GiB aligned and sized) into the ownership map for `slot`.
pub fn register(base: usize, len: usize, slot: u32, file_off: u64) -> Option<u16> {
    debug_assert!(base % CHUNK_ALIGN == 0 && len % CHUNK_ALIGN == 0);
    if (base + len) >> CHUNK_SHIFT > OWNER_LEN {
        return None;
    }
    let (live, words, map_bytes) = new_live_map(len)?;
    let Some(classes) = map_zeroed(class_map_bytes(len)) else {
        drop_live_map(live, map_bytes);
        return None;
    };
    let _g = TABLE_LOCK.lock();
    // A GiB already claimed (a fixed region over memory the caller gave back) stays its.
    let taken = gibs(base, len).any(|g| OWNER[g].load(Ordering::Relaxed) != 0);
    let Some(idx) = free_chunk_index().filter(|_| !taken) else {
        drop_live_map(live, map_bytes);
        sys::unmap(classes, class_map_bytes(len));
        return None;
    };
    fill(idx, base, len, slot, file_off, (live, words));
    CHUNKS[idx].fixed.store(false, Ordering::Relaxed);
    CHUNKS[idx].classes.store(classes, Ordering::Relaxed);
    for (i, g) in gibs(base, len).enumerate() {
        GIB_CLASSES[g].store(classes + i * GIB_PAGES, Ordering::Release);
        OWNER[g].store(idx as u16, Ordering::Release);
        GIB_SLOT[g].store(slot as u16 + 1, Ordering::Release);
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
    if c.fixed.load(Ordering::Relaxed) {
        for g in gibs(base, len) {
            OWNER[g].store(fixed_owner_of(g, idx), Ordering::Release);
        }
        if let Some(f) = FIXED.iter().find(|f| f.load(Ordering::Relaxed) == idx) {
            f.store(0, Ordering::Release);
        }
    } else {
        for g in gibs(base, len) {
            GIB_SLOT[g].store(0, Ordering::Release);
            OWNER[g].store(0, Ordering::Release);
            GIB_CLASSES[g].store(0, Ordering::Release);
        }
        let classes = c.classes.swap(0, Ordering::AcqRel);
        if classes != 0 {
            sys::unmap(classes, class_map_bytes(len));
        }
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

/// Address ranges of released chunks, kept for reuse: jemalloc gives every GiB of address
/// space it ever sees a 2 MiB radix-tree leaf that it never frees, so kinds reserved at
/// ever new addresses would leak ~4-6 MiB of address space per create/destroy cycle
/// (16 GB after 4000 cycles). A range is reused only after [`QUARANTINE`] other chunks
/// were released since, so a pointer kept from a destroyed kind still names no kind for
/// the next few kinds (`stale_free_ours.c`).
struct Recycled {
    base: usize,
    len: usize,
    /// Value of `released` when this range was released; 0 = free entry.
    seq: u64,
}

struct RecycleList {
    ranges: [Recycled; RECYCLE_LEN],
    released: u64,
}

const RECYCLE_LEN: usize = 64;
const QUARANTINE: u64 = 8;

static RECYCLE: crate::sys::lock::Mutex<RecycleList> = crate::sys::lock::Mutex::new(RecycleList {
    ranges: [const {
        Recycled {
            base: 0,
            len: 0,
            seq: 0,
        }
    }; RECYCLE_LEN],
    released: 0,
});

/// Reserves `len` bytes (a multiple of 1 GiB) of inaccessible address space for a chunk,
/// 1 GiB aligned: a released range of that length out of quarantine if one is free again,
/// else a fresh one (`sys::reserve_fresh`).
pub fn reserve_range(len: usize) -> sys::SysResult<usize> {
    loop {
        let found = {
            let mut list = RECYCLE.lock();
            let now = list.released;
            let best = list
                .ranges
                .iter_mut()
                .filter(|r| r.seq != 0 && r.len == len && now - r.seq >= QUARANTINE)
                .min_by_key(|r| r.seq);
            best.map(|r| {
                r.seq = 0;
                r.base
            })
        };
        match found {
            // Another mapping may have taken the range meanwhile: then try the next one.
            Some(base) if sys::reserve_exact(base, len) => return Ok(base),
            Some(_) => continue,
            None => return sys::reserve_fresh(len, CHUNK_ALIGN),
        }
    }
}

/// Unmaps a chunk's range (from [`reserve_range`]) and keeps its address for reuse.
pub fn release_range(base: usize, len: usize) {
    sys::unmap(base, len);
    let mut list = RECYCLE.lock();
    list.released += 1;
    let seq = list.released;
    // A free entry, else the one released longest ago.
    if let Some(r) = list.ranges.iter_mut().min_by_key(|r| r.seq) {
        *r = Recycled { base, len, seq };
    }
}
