//! Large blocks of file kinds, outside jemalloc.
//!
//! Every extent jemalloc hands out is entered in its global radix tree, whose leaves are
//! ordinary memory: one 4 KiB leaf page per 2 MiB of heap, 0.2% of a file heap's size in
//! DRAM for blocks of a MiB, which does not scale to heaps far larger than DRAM. Blocks of
//! at least [`BIG_MIN`] in a file kind are therefore carved here from the kind's space
//! (`space.rs`), page-granular, under the space lock:
//! - a block's first page has class [`chunk::CLASS_BIG`] in the class map, its length in
//!   pages is kept in the class bytes of its next four pages (no other block starts there),
//!   so free and usable size find it with the loads the small-block path already does, and
//!   the map page holding them covers 16 MiB of heap (0.024%);
//! - freed ranges go into an address-ordered table of free ranges, coalesced with free
//!   neighbours of the same state, and are reused best fit (the table lives in its own
//!   anonymous mapping: 24 bytes per free range, nothing per live block);
//! - a freed range stays committed ("dirty") for reuse, as jemalloc keeps freed extents,
//!   and goes back to the file system after the kind's decay time (checked at the next
//!   large operation), at once under the conservative policy or for blocks of at least
//!   [`HUGE_BLOCK`], and whenever a failed allocation reclaims.

use std::os::raw::c_void;

use super::space::{self, Space};
use super::Slot;
use crate::chunk;
use crate::sys;

/// Requests of file kinds this large are carved here.
pub(crate) const BIG_MIN: usize = 256 << 10;
/// Freed blocks at least this large go back to the file system at once.
pub(crate) const HUGE_BLOCK: usize = 64 << 20;
const PAGE: usize = 4096;
/// Address space reserved for a kind's table of free ranges (mapped lazily: pages are
/// touched as ranges are recorded).
const TABLE_BYTES: usize = 64 << 20;
const TABLE_CAP: usize = TABLE_BYTES / std::mem::size_of::<Range>();

#[derive(Clone, Copy)]
#[repr(C)]
struct Range {
    start: usize,
    len: usize,
    /// 0: decommitted; else the second (from [`now`], >= 1) it was freed.
    dirty: u64,
}

impl Range {
    fn end(&self) -> usize {
        self.start + self.len
    }
}

pub struct Big {
    table: usize,
    n: usize,
    live: usize,
    dirty: usize,
    /// `(live, dirty)` as of the last statistics refresh (memkind reports cached figures).
    snap: (usize, usize),
    /// Seconds a freed range stays committed; 0 = none, u32::MAX = forever.
    pub decay: u32,
    next_sweep: u64,
}

impl Big {
    pub const fn new() -> Self {
        Big {
            table: 0,
            n: 0,
            live: 0,
            dirty: 0,
            snap: (0, 0),
            decay: 10,
            next_sweep: u64::MAX,
        }
    }

    fn ranges(&self) -> &[Range] {
        if self.table == 0 {
            return &[];
        }
        // SAFETY: `table` is a private read-write mapping of TABLE_BYTES owned by this
        // kind's space, whose first `n` entries were written by `insert_at`; the space
        // lock (held by whoever has `&self`) keeps every other thread out.
        unsafe { std::slice::from_raw_parts(self.table as *const Range, self.n) }
    }

    fn ranges_mut(&mut self) -> &mut [Range] {
        if self.table == 0 {
            return &mut [];
        }
        // SAFETY: as in `ranges`, with `&mut self` the only access.
        unsafe { std::slice::from_raw_parts_mut(self.table as *mut Range, self.n) }
    }

    /// Inserts `r` at index `i`; false when the table is full or cannot be mapped.
    fn insert_at(&mut self, i: usize, r: Range) -> bool {
        if self.table == 0 {
            match new_table() {
                Some(t) => self.table = t,
                None => return false,
            }
        }
        if self.n == TABLE_CAP {
            return false;
        }
        self.n += 1;
        let v = self.ranges_mut();
        v.copy_within(i..v.len() - 1, i + 1);
        v[i] = r;
        true
    }

    fn remove_at(&mut self, i: usize) {
        let v = self.ranges_mut();
        v.copy_within(i + 1.., i);
        self.n -= 1;
    }

    /// Index of the first range starting after `addr`.
    fn after(&self, addr: usize) -> usize {
        self.ranges().partition_point(|r| r.start <= addr)
    }

    /// Bytes in live blocks and in freed ranges still committed, as of the last
    /// [`Big::refresh`].
    pub fn stats(&self) -> (usize, usize) {
        self.snap
    }

    /// Takes the figures [`Big::stats`] reports from now on.
    pub fn refresh(&mut self) {
        self.snap = (self.live, self.dirty);
    }

    /// Unmaps the table; the kind's space goes with it.
    pub fn release(&mut self) {
        if self.table != 0 {
            sys::unmap(self.table, TABLE_BYTES);
        }
        *self = Big::new();
    }
}

impl Default for Big {
    fn default() -> Self {
        Self::new()
    }
}

fn new_table() -> Option<usize> {
    let t = sys::reserve(TABLE_BYTES, PAGE).ok()?;
    if sys::map_anon_rw(t, TABLE_BYTES).is_err() {
        sys::unmap(t, TABLE_BYTES);
        return None;
    }
    Some(t)
}

/// Seconds since the first call, from 1.
fn now() -> u64 {
    static BASE: once_cell::sync::OnceCell<std::time::Instant> = once_cell::sync::OnceCell::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs()
        + 1
}

/// Whether a request of `size` bytes in `slot` is carved here.
#[inline]
pub fn wants(slot: &Slot, size: usize) -> bool {
    size >= BIG_MIN && slot.is_file() && !slot.is_fixed()
}

/// Usable size of `p` if it is a live large block of a file kind.
#[inline]
pub fn size_of(p: *const c_void) -> Option<usize> {
    if chunk::class_at(p as usize) != chunk::CLASS_BIG {
        return None;
    }
    Some(chunk::big_pages(p as usize) as usize * PAGE)
}

/// A block of at least `size` bytes aligned to `align`, zeroed if `zero`; NULL when the
/// kind's limit or its file system's space is reached (the caller reclaims and retries).
pub fn alloc(slot: &Slot, size: usize, align: usize, zero: bool) -> *mut c_void {
    let Some(len) = size.checked_next_multiple_of(PAGE) else {
        return std::ptr::null_mut();
    };
    if len / PAGE > u32::MAX as usize {
        return std::ptr::null_mut();
    }
    let align = align.max(PAGE);
    let mut sp = slot.space.lock();
    sweep_if_due(slot, &mut sp);
    let mut fresh = false;
    let addr = match take_free(slot, &mut sp, len, align, zero) {
        Some((a, _)) => a,
        None => match carve_new(slot, &mut sp, len, align) {
            Some(a) => {
                fresh = true;
                a
            }
            None => return std::ptr::null_mut(),
        },
    };
    sp.big.live += len;
    chunk::set_big(addr, (len / PAGE) as u32);
    let show = fresh && !sp.jemalloc_used && !chunk::jemalloc_seen(addr);
    drop(sp);
    if show {
        show_jemalloc(slot);
    }
    addr as *mut c_void
}

/// Has jemalloc take its first extent of the kind now, next to the block just carved in a
/// GiB jemalloc never saw: its radix-tree leaf for that GiB then comes while the range is
/// new, not when a later kind gets the range recycled and first puts a small block in it
/// (then a program creating and destroying kinds would see its address space grow long
/// after its first cycles). Each GiB pays this once per process.
fn show_jemalloc(slot: &Slot) {
    let flags = crate::arena::flags(slot.thread_arena());
    let p = crate::arena::alloc(8, flags);
    if !p.is_null() {
        // SAFETY: p was just allocated from this arena with these flags and is not
        // given to anyone.
        unsafe { crate::arena::free(p, flags) };
    }
}

/// Best fit from the free ranges, committed (zeroed if `zero`), and whether it was
/// dirty; None when none fits or committing a clean one failed. jemalloc's extents take
/// free ranges too (`space.rs`), so space freed by large blocks serves small ones.
pub(super) fn take_free(
    slot: &Slot,
    sp: &mut Space,
    len: usize,
    align: usize,
    zero: bool,
) -> Option<(usize, bool)> {
    let big = &sp.big;
    let mut best: Option<(usize, usize)> = None;
    for (i, r) in big.ranges().iter().enumerate() {
        let a = r.start.checked_next_multiple_of(align)?;
        if a.checked_add(len).is_some_and(|e| e <= r.end()) {
            let waste = r.len - len;
            if best.map_or(true, |(_, w)| waste < w) {
                best = Some((i, waste));
                if waste == 0 {
                    break;
                }
            }
        }
    }
    let (i, _) = best?;
    let r = big.ranges()[i];
    let a = r.start.next_multiple_of(align);
    if r.dirty == 0 && !space::commit(slot, a, len) {
        return None;
    }
    let big = &mut sp.big;
    // What is left of the range on either side keeps its state.
    let lead = Range {
        start: r.start,
        len: a - r.start,
        dirty: r.dirty,
    };
    let tail = Range {
        start: a + len,
        len: r.end() - (a + len),
        dirty: r.dirty,
    };
    big.remove_at(i);
    let mut at = i;
    for part in [lead, tail] {
        if part.len == 0 {
            continue;
        }
        if big.insert_at(at, part) {
            at += 1;
        } else {
            // No room to record it: its pages go back, its address space stays unused.
            forget_range(slot, big, part);
        }
    }
    if r.dirty != 0 {
        big.dirty -= len;
        if zero {
            // SAFETY: [a, a+len) is committed memory of this kind that no block holds
            // (it was a free range, now taken under the space lock).
            unsafe { std::ptr::write_bytes(a as *mut u8, 0, len) };
        }
    }
    Some((a, r.dirty != 0))
}

/// A range no table entry can record: decommitted if dirty, then left unused.
fn forget_range(slot: &Slot, big: &mut Big, r: Range) {
    if r.dirty != 0 {
        big.dirty -= r.len;
        space::decommit(slot, r.start, r.len);
    }
}

/// A fresh range from the kind's space, committed (fresh space reads as zeros).
fn carve_new(slot: &Slot, sp: &mut Space, len: usize, align: usize) -> Option<usize> {
    let addr = sp.carve(slot, len, align)?;
    if !space::commit(slot, addr, len) {
        sp.uncarve(addr, len);
        return None;
    }
    Some(addr)
}

/// Frees the large block `p` (class [`chunk::CLASS_BIG`]).
pub fn free(slot: &Slot, p: *mut c_void) {
    free_quiet(slot, p);
    start_sweeper_if_wanted();
}

/// [`free`] for a caller that may hold a lock: the sweeper it may need is started by the
/// next [`start_sweeper_if_wanted`].
pub fn free_quiet(slot: &Slot, p: *mut c_void) {
    let addr = p as usize;
    let len = chunk::big_pages(addr) as usize * PAGE;
    chunk::set_class(addr, chunk::CLASS_BIG_FREED);
    let mut sp = slot.space.lock();
    sp.big.live -= len;
    give_back(slot, &mut sp.big, addr, len);
    sweep_if_due(slot, &mut sp);
    if sp.big.next_sweep != u64::MAX {
        WANTED.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Set while the sweeper thread runs.
static SWEEPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Some kind has dirty ranges and the sweeper may not know yet.
static WANTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts the sweeper if a free since the last call left ranges for it. Never called with
/// a lock held.
#[inline]
pub fn start_sweeper_if_wanted() {
    use std::sync::atomic::Ordering;
    if WANTED.load(Ordering::Relaxed) && WANTED.swap(false, Ordering::Acquire) {
        start_sweeper();
    }
}

/// Starts the thread that gives dirty ranges back once their decay time is over, so an
/// idle program's freed space goes back to the file system as jemalloc's decay gives back
/// its extents. Never called with a lock held (starting a thread allocates).
fn start_sweeper() {
    use std::sync::atomic::Ordering;
    if SWEEPER.load(Ordering::Relaxed) || SWEEPER.swap(true, Ordering::AcqRel) {
        return;
    }
    if !sys::spawn_detached(sweeper_entry, 64 << 10, c"memkind-decay") {
        SWEEPER.store(false, Ordering::Release);
    }
}

/// In a forked child, which has no sweeper thread: the next free that calls
/// [`start_sweeper_if_wanted`] starts one for the ranges the parent left.
pub fn after_fork_in_child() {
    use std::sync::atomic::Ordering;
    SWEEPER.store(false, Ordering::Relaxed);
    WANTED.store(true, Ordering::Relaxed);
}

extern "C" fn sweeper_entry(_: *mut c_void) -> *mut c_void {
    if std::panic::catch_unwind(sweeper).is_err() {
        SWEEPER.store(false, std::sync::atomic::Ordering::Release);
    }
    std::ptr::null_mut()
}

fn sweeper() {
    use std::sync::atomic::Ordering;
    // Sweeps every live file kind; true while some kind still has ranges to give back.
    let pass = || {
        let mut pending = false;
        for s in super::file::SLOTS.iter() {
            if s.is_live() && s.is_file() {
                let mut sp = s.space.lock();
                sweep_if_due(s, &mut sp);
                pending |= sp.big.next_sweep != u64::MAX;
            }
        }
        pending
    };
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if pass() {
            continue;
        }
        SWEEPER.store(false, Ordering::Release);
        // A free that found the flag still set just before it was cleared relies on us.
        if !pass() || SWEEPER.swap(true, Ordering::AcqRel) {
            return;
        }
    }
}

/// Enters `[addr, addr+len)`, just freed, into the free ranges.
fn give_back(slot: &Slot, big: &mut Big, addr: usize, len: usize) {
    let keep = big.decay != 0 && len < HUGE_BLOCK;
    let dirty = if keep || !space::decommit(slot, addr, len) {
        now()
    } else {
        0
    };
    if dirty != 0 {
        big.dirty += len;
        if big.next_sweep == u64::MAX && big.decay != u32::MAX {
            big.next_sweep = dirty + big.decay as u64;
        }
    }
    insert_merged(
        slot,
        big,
        Range {
            start: addr,
            len,
            dirty,
        },
    );
}

/// Inserts a free range, merging it with adjacent free ranges of the same state.
fn insert_merged(slot: &Slot, big: &mut Big, mut r: Range) {
    let same = |a: &Range, b: &Range| (a.dirty == 0) == (b.dirty == 0);
    let mut i = big.after(r.start);
    if i < big.n {
        let next = big.ranges()[i];
        if next.start == r.end() && same(&next, &r) {
            r.len += next.len;
            r.dirty = r.dirty.max(next.dirty);
            big.remove_at(i);
        }
    }
    if i > 0 {
        let prev = big.ranges()[i - 1];
        if prev.end() == r.start && same(&prev, &r) {
            r.start = prev.start;
            r.len += prev.len;
            r.dirty = r.dirty.max(prev.dirty);
            big.remove_at(i - 1);
            i -= 1;
        }
    }
    if !big.insert_at(i, r) {
        forget_range(slot, big, r);
    }
}

fn sweep_if_due(slot: &Slot, sp: &mut Space) {
    if sp.big.next_sweep != u64::MAX && now() >= sp.big.next_sweep {
        sweep(slot, &mut sp.big, false);
    }
}

/// Decommits dirty ranges freed at least the decay time ago (every one when `all`).
fn sweep(slot: &Slot, big: &mut Big, all: bool) {
    let t = now();
    let decay = big.decay as u64;
    let mut next = u64::MAX;
    let mut i = 0;
    while i < big.n {
        let r = big.ranges()[i];
        let due = r.dirty != 0 && (all || (decay != u32::MAX as u64 && r.dirty + decay <= t));
        if !due || !space::decommit(slot, r.start, r.len) {
            if r.dirty != 0 && decay != u32::MAX as u64 {
                next = next.min(r.dirty + decay);
            }
            i += 1;
            continue;
        }
        big.dirty -= r.len;
        big.remove_at(i);
        insert_merged(slot, big, Range { dirty: 0, ..r });
        // The merged range sits at or before i; ranges before i were looked at already.
        i = big.after(r.start);
    }
    big.next_sweep = next;
}

/// Gives every dirty range back (a reclaim before a failed allocation is retried).
pub fn purge(slot: &Slot) {
    let mut sp = slot.space.lock();
    if sp.big.dirty != 0 {
        sweep(slot, &mut sp.big, true);
    }
}

/// Resizes the large block `p` to `size` bytes (at least [`BIG_MIN`]) where it is: a
/// shrink frees its tail, a growth takes the free or uncarved range right after it.
/// False when it cannot stay (the caller moves it).
pub fn resize_in_place(slot: &Slot, p: *mut c_void, size: usize) -> bool {
    let addr = p as usize;
    let Some(len) = size.checked_next_multiple_of(PAGE) else {
        return false;
    };
    if len / PAGE > u32::MAX as usize {
        return false;
    }
    let old = chunk::big_pages(addr) as usize * PAGE;
    let mut sp = slot.space.lock();
    if len <= old {
        if len < old {
            sp.big.live -= old - len;
            chunk::set_big(addr, (len / PAGE) as u32);
            give_back(slot, &mut sp.big, addr + len, old - len);
        }
        return true;
    }
    let (end, extra) = (addr + old, len - old);
    let big = &mut sp.big;
    let i = big.after(addr);
    let next = (i < big.n).then(|| big.ranges()[i]);
    match next {
        Some(r) if r.start == end && r.len >= extra => {
            if r.dirty == 0 && !space::commit(slot, end, extra) {
                return false;
            }
            let big = &mut sp.big;
            if r.len == extra {
                big.remove_at(i);
            } else {
                big.ranges_mut()[i] = Range {
                    start: end + extra,
                    len: r.len - extra,
                    dirty: r.dirty,
                };
            }
            if r.dirty != 0 {
                big.dirty -= extra;
            }
        }
        Some(r) if r.start == end => return false,
        _ => {
            if !sp.extend_at(end, extra) {
                return false;
            }
            if !space::commit(slot, end, extra) {
                sp.uncarve(end, extra);
                return false;
            }
        }
    }
    sp.big.live += extra;
    chunk::set_big(addr, (len / PAGE) as u32);
    true
}
