//! The allocator proper: pool layout, per-thread caches, the shared free space and the
//! background merge.
//!
//! Pool layout (offsets from the start of the file):
//! `[start map | free map | padding to the unit | data units ...]`.
//! The start map has one bit per data unit, set where a block begins (allocated, cached,
//! shared or still unused alike), so a block's size is the distance to the next set bit: no
//! per-block record in DRAM and no header in front of the block. The free map is scratch for
//! the merge: it marks the blocks being merged. Both live in the pool, so DRAM bookkeeping is
//! per-thread list heads, the shared lists' heads and a list of large extents.
//!
//! Free blocks are chained through their first 8 bytes (unit indices, `NIL` ends a chain).
//! Each block is owned by exactly one of: a user, one thread's cache (its lists or its bump
//! region), the pending stack (freed space on its way to the shared pool) or the shared pool
//! (under its mutex). Bitmap words are shared and changed with atomic bit operations.

use crate::classes::Classes;
use crate::error;
use crate::os;
use crate::tls;
use std::cell::{RefCell, UnsafeCell};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// End of a chain / no block.
pub const NIL: u64 = u64::MAX;

/// What `NewPMemAllocator` is given.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub bg_thread_interval: f32,
    pub allocation_unit: u32,
    pub max_allocation_size: u64,
    pub segment_size: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bg_thread_interval: 1.0,
            allocation_unit: 64,
            max_allocation_size: 64 << 10,
            segment_size: 128 << 20,
        }
    }
}

/// Most access threads an allocator accepts (each has a slot of bookkeeping).
pub const MAX_THREADS: u32 = 1 << 16;

/// Checks a configuration; `Err` carries the message for the user.
pub fn validate(size: u64, threads: u32, c: &Config) -> Result<(), String> {
    let u = c.allocation_unit as u64;
    if u < 8 || !u.is_power_of_two() {
        return Err(format!(
            "allocation_unit {u} must be a power of two of at least 8"
        ));
    }
    if c.segment_size == 0 || !c.segment_size.is_multiple_of(u) {
        return Err(format!(
            "segment_size {} must be a non-zero multiple of allocation_unit {u}",
            c.segment_size
        ));
    }
    if c.max_allocation_size == 0 || c.max_allocation_size > c.segment_size {
        return Err(format!(
            "max_allocation_size {} must be between 1 and segment_size {}",
            c.max_allocation_size, c.segment_size
        ));
    }
    if size < c.segment_size {
        return Err(format!(
            "pmem_size {size} is smaller than one segment ({} bytes)",
            c.segment_size
        ));
    }
    if size > isize::MAX as u64 {
        return Err(format!("pmem_size {size} is too large"));
    }
    if threads == 0 || threads > MAX_THREADS {
        return Err(format!(
            "max_access_threads {threads} must be between 1 and {MAX_THREADS}"
        ));
    }
    let t = c.bg_thread_interval;
    if !t.is_finite() || t <= 0.0 || t > 86400.0 {
        return Err(format!(
            "bg_thread_interval {t} must be a positive number of seconds (at most a day)"
        ));
    }
    Ok(())
}

/// A bitmap of atomic words inside the pool.
struct Bits {
    words: *const AtomicU64,
    nbits: u64,
}

impl Bits {
    #[inline(always)]
    fn word(&self, i: u64) -> &AtomicU64 {
        debug_assert!(i < self.nbits);
        // SAFETY: `words` points at ceil(nbits/64) 8-aligned words of the mapping, which
        // lives as long as the allocator; `i < nbits` keeps the index in range.
        unsafe { &*self.words.add((i >> 6) as usize) }
    }

    /// The two words from the one holding bit `i`: the second is the spare word at the end
    /// when `i` is in the last word.
    #[inline(always)]
    fn pair(&self, i: u64) -> u128 {
        debug_assert!(i < self.nbits);
        let w = (i >> 6) as usize;
        // SAFETY: the map has ceil(nbits/64) + 1 words (see `create`), so both indices are in
        // range; the mapping lives as long as the allocator.
        let (lo, hi) = unsafe { (&*self.words.add(w), &*self.words.add(w + 1)) };
        ((hi.load(Ordering::Relaxed) as u128) << 64) | lo.load(Ordering::Relaxed) as u128
    }

    #[inline]
    fn set(&self, i: u64) {
        self.word(i).fetch_or(1 << (i & 63), Ordering::Relaxed);
    }

    #[inline]
    fn clear(&self, i: u64) {
        self.word(i).fetch_and(!(1 << (i & 63)), Ordering::Relaxed);
    }

    #[inline]
    fn test(&self, i: u64) -> bool {
        self.word(i).load(Ordering::Relaxed) & (1 << (i & 63)) != 0
    }

    /// First set bit in `[from, limit)`, or `limit` (`limit <= nbits`).
    #[inline(always)]
    fn next_set(&self, from: u64, limit: u64) -> u64 {
        if from >= limit {
            return limit;
        }
        let mut w = from >> 6;
        let mut v = self.word(from).load(Ordering::Relaxed) & (!0u64 << (from & 63));
        loop {
            if v != 0 {
                return ((w << 6) + v.trailing_zeros() as u64).min(limit);
            }
            w += 1;
            if w << 6 >= limit {
                return limit;
            }
            v = self.word(w << 6).load(Ordering::Relaxed);
        }
    }
}

/// Classes with a stash (the smallest ones, where most requests fall).
const STASH_CLASSES: usize = 64;
/// Blocks per stashed class.
const STASH: usize = 16;
/// Only classes up to this many bytes are stashed, bounding what a stash holds.
const STASH_BYTES: u64 = 4096;

/// One access thread's private state. Only the thread holding the slot touches it.
struct Cache {
    /// Per stashed class, up to `STASH` block indices: the first place freed blocks go and
    /// allocations look, so the common path does not read the block's memory (a cache miss
    /// jemalloc's tcache avoids in the same way).
    stash: Vec<[u64; STASH]>,
    stash_len: Vec<u8>,
    /// Per class: first and last block of the thread's free list.
    heads: Vec<u64>,
    tails: Vec<u64>,
    /// Units on the lists (by class size), to decide when to hand them back.
    cached: u64,
    /// Bump region `[cur, end)` of the thread's current segment.
    cur: u64,
    end: u64,
}

/// Cache-line aligned: each thread writes its own slot on every call, and neighbours must not
/// share a line.
#[repr(align(128))]
struct Slot {
    used: AtomicBool,
    cache: UnsafeCell<Cache>,
}

/// Space every thread may take, behind one mutex (slow path only).
struct Shared {
    /// Per class: chain of free blocks of at least that class's size.
    heads: Vec<u64>,
    /// Free extents larger than `max_units`: where segments are cut from.
    large: Vec<(u64, u64)>,
    large_units: u64,
    /// One bit per `RESERVE_CHUNK` of the data: file blocks already reserved.
    reserved: Vec<u64>,
}

/// Granule of block reservation (bytes of data).
const RESERVE_CHUNK: u64 = 2 << 20;

/// Figures for `pmemallocator_stats`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub pool_size: u64,
    pub data_size: u64,
    pub metadata_size: u64,
    pub dram_size: u64,
    pub shared_free: u64,
    pub largest_free: u64,
    pub pending_free: u64,
    pub merges: u64,
    pub bg_merges: u64,
    pub threads: u32,
    pub is_pmem: bool,
}

/// One allocator.
pub struct Inner {
    id: u64,
    base: *mut u8,
    map_len: usize,
    pool_size: u64,
    is_pmem: bool,
    data: *mut u8,
    data_off: u64,
    shift: u32,
    units: u64,
    max_units: u64,
    seg_units: u64,
    max_alloc: u64,
    spill_units: u64,
    stash_classes: usize,
    classes: Classes,
    starts: Bits,
    frees: Bits,
    pending: AtomicU64,
    pending_units: AtomicU64,
    file: Option<os::PoolFile>,
    shared: Mutex<Shared>,
    slots: Box<[Slot]>,
    merges: AtomicU64,
    bg_merges: AtomicU64,
    /// Slots whose list heads have been allocated (they stay allocated for reuse).
    lists_made: AtomicU64,
    stop: Mutex<bool>,
    wake: Condvar,
    interval: Duration,
}

// SAFETY: the raw pointers name the pool mapping, which every thread may use; the per-slot
// `UnsafeCell`s are only touched by the thread that won the slot's `used` flag (acquire on
// claim, release on hand-back), so no two threads reach one cache at once.
unsafe impl Send for Inner {}
// SAFETY: see `Send`; all other shared state is atomics or behind mutexes.
unsafe impl Sync for Inner {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// This thread's slots, one per allocator it has used.
struct Tls {
    entries: RefCell<Vec<(u64, usize, Weak<Inner>)>>,
}

impl Drop for Tls {
    fn drop(&mut self) {
        // Later calls from this thread (other TLS destructors) must not use released slots.
        tls::set_last(0, 0);
        // A thread's resources go back when it exits.
        for (_, slot, w) in self.entries.get_mut().drain(..) {
            if let Some(inner) = w.upgrade() {
                inner.release_slot(slot);
            }
        }
    }
}

thread_local! {
    static TLS: Tls = const {
        Tls {
            entries: RefCell::new(Vec::new()),
        }
    };
}

#[cold]
#[inline(never)]
fn bad_free(p: *mut u8, why: &str) {
    error::set(format!("Free({p:p}): {why}"));
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// Maps the pool and lays it out; `Err` has the message (no file is left behind).
    pub fn create(
        path: &Path,
        size: u64,
        threads: u32,
        devdax: bool,
        c: &Config,
    ) -> Result<Arc<Inner>, os::Failure> {
        validate(size, threads, c).map_err(|m| (libc::EINVAL, m))?;
        os::check_path(path, devdax)?;
        let unit = c.allocation_unit as u64;
        // Units that fit with two bitmaps of one bit per unit in front of them.
        let mut units = ((size as u128 * 8) / (8 * unit as u128 + 2)) as u64;
        let layout = |units: u64| {
            // One spare zero word at the end, so `Free` may always read two words.
            let map_bytes = (units.div_ceil(64) + 1) * 8;
            (map_bytes, 2 * map_bytes)
        };
        let m = os::map_pool(path, size, devdax)?;
        os::advise_random(m.addr, m.len);
        let cleanup = |m: &os::Mapped, path: &PathBuf| {
            os::unmap(m.addr, m.len);
            if m.created {
                os::remove_created(path);
            }
        };
        let path = path.to_path_buf();
        let base = m.addr as u64;
        let (map_bytes, meta, data_off) = loop {
            let (map_bytes, meta) = layout(units);
            // Data aligned to the unit by address, so any unit size gives aligned blocks.
            let data_off = (base + meta).next_multiple_of(unit) - base;
            if units == 0 || data_off + units * unit <= size {
                break (map_bytes, meta, data_off);
            }
            units -= 1;
        };
        if units == 0 {
            cleanup(&m, &path);
            return Err((
                libc::EINVAL,
                format!("pmem_size {size} leaves no room for data"),
            ));
        }
        let file = os::open_pool_file(&path, devdax);
        // A file that existed (or a device) has old bytes where the maps go.
        if !m.zeroed && !file.as_ref().is_some_and(|f| os::punch_zero(f, 0, meta)) {
            // SAFETY: the first `meta` bytes of the mapping (meta < size <= m.len) hold the
            // two maps; nobody else uses the fresh mapping yet.
            unsafe { std::ptr::write_bytes(m.addr, 0, meta as usize) };
        }
        let max_units = c.max_allocation_size.div_ceil(unit);
        let classes = Classes::new(max_units);
        let nclasses = classes.len();
        let slots = (0..threads)
            .map(|_| Slot {
                used: AtomicBool::new(false),
                cache: UnsafeCell::new(Cache {
                    stash: Vec::new(),
                    stash_len: Vec::new(),
                    heads: Vec::new(),
                    tails: Vec::new(),
                    cached: 0,
                    cur: 0,
                    end: 0,
                }),
            })
            .collect();
        let seg_units = c.segment_size / unit;
        let spill_bytes = (c.segment_size / 8).clamp(64 << 10, 4 << 20);
        let inner = Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            base: m.addr,
            map_len: m.len,
            pool_size: size,
            is_pmem: m.is_pmem,
            // SAFETY: data_off + units * unit <= size <= m.len: inside the mapping.
            data: unsafe { m.addr.add(data_off as usize) },
            data_off,
            shift: unit.trailing_zeros(),
            units,
            max_units,
            seg_units,
            max_alloc: c.max_allocation_size,
            spill_units: (spill_bytes / unit).max(max_units),
            stash_classes: classes
                .len()
                .min(STASH_CLASSES)
                .min((STASH_BYTES / unit).max(1) as usize),
            classes,
            starts: Bits {
                words: m.addr as *const AtomicU64,
                nbits: units,
            },
            frees: Bits {
                // SAFETY: the free map follows the start map inside the metadata bytes.
                words: unsafe { m.addr.add(map_bytes as usize) } as *const AtomicU64,
                nbits: units,
            },
            pending: AtomicU64::new(NIL),
            pending_units: AtomicU64::new(0),
            file,
            shared: Mutex::new(Shared {
                heads: vec![NIL; nclasses],
                large: Vec::new(),
                large_units: 0,
                reserved: vec![0; (units * unit).div_ceil(RESERVE_CHUNK).div_ceil(64) as usize],
            }),
            slots,
            merges: AtomicU64::new(0),
            bg_merges: AtomicU64::new(0),
            lists_made: AtomicU64::new(0),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            interval: Duration::from_secs_f32(c.bg_thread_interval),
        };
        inner.starts.set(0);
        {
            let mut sh = lock(&inner.shared);
            inner.emit(&mut sh, 0, units);
        }
        Ok(Arc::new(inner))
    }

    /// The background thread's loop: every interval, merge what was handed back.
    pub fn background(self: Arc<Inner>) {
        let mut stop = lock(&self.stop);
        loop {
            if *stop {
                return;
            }
            let (g, _) = self
                .wake
                .wait_timeout(stop, self.interval)
                .unwrap_or_else(|e| e.into_inner());
            stop = g;
            if *stop {
                return;
            }
            if self.pending.load(Ordering::Acquire) != NIL {
                drop(stop);
                let mut sh = lock(&self.shared);
                self.merge(&mut sh);
                self.bg_merges.fetch_add(1, Ordering::Relaxed);
                drop(sh);
                stop = lock(&self.stop);
            }
        }
    }

    /// Tells the background thread to end (the caller joins it).
    pub fn stop_background(&self) {
        *lock(&self.stop) = true;
        self.wake.notify_all();
    }

    #[inline]
    fn link(&self, u: u64) -> u64 {
        // SAFETY: `u` is a data unit (< units) of a free block owned by the caller; units are
        // at least 8 bytes and unit aligned, so the first word is inside the block and aligned.
        unsafe { (self.data.add((u << self.shift) as usize) as *const u64).read() }
    }

    #[inline]
    fn set_link(&self, u: u64, next: u64) {
        // SAFETY: as in `link`; the caller owns the block, so nobody else reads or writes it.
        unsafe { (self.data.add((u << self.shift) as usize) as *mut u64).write(next) }
    }

    #[inline]
    fn addr(&self, u: u64) -> *mut u8 {
        // SAFETY: u < units: inside the data area of the mapping.
        unsafe { self.data.add((u << self.shift) as usize) }
    }

    /// Size in units of the block starting at `u`, looking at most `limit` units ahead.
    #[inline]
    fn block_units(&self, u: u64, limit: u64) -> u64 {
        let end = self.units.min(u.saturating_add(limit + 1));
        self.starts.next_set(u + 1, end) - u
    }

    /// This thread's slot for this allocator, claiming one on first use.
    #[inline(always)]
    fn slot(self: &Arc<Inner>) -> Option<usize> {
        let (id, s) = tls::last();
        if id == self.id {
            return Some(s);
        }
        TLS.try_with(|t| self.slot_slow(t)).ok().flatten()
    }

    #[cold]
    fn slot_slow(self: &Arc<Inner>, t: &Tls) -> Option<usize> {
        let mut entries = t.entries.borrow_mut();
        let found = entries.iter().find(|e| e.0 == self.id).map(|e| e.1);
        let s = match found {
            Some(s) => s,
            None => {
                // Forget allocators that are gone.
                entries.retain(|e| e.2.strong_count() > 0);
                let s = self.claim()?;
                entries.push((self.id, s, Arc::downgrade(self)));
                s
            }
        };
        tls::set_last(self.id, s);
        Some(s)
    }

    fn claim(&self) -> Option<usize> {
        for (i, s) in self.slots.iter().enumerate() {
            if s.used.load(Ordering::Relaxed) {
                continue;
            }
            if s.used
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: winning `used` makes this thread the slot's only user.
                let c = unsafe { &mut *s.cache.get() };
                if c.heads.is_empty() {
                    c.heads = vec![NIL; self.classes.len()];
                    c.tails = vec![NIL; self.classes.len()];
                    let n = self.stash_classes;
                    c.stash = vec![[NIL; STASH]; n];
                    c.stash_len = vec![0; n];
                    self.lists_made.fetch_add(1, Ordering::Relaxed);
                }
                return Some(i);
            }
        }
        None
    }

    /// The cache of slot `s`.
    ///
    /// # Safety
    /// The calling thread holds slot `s` and no other reference to its cache is live.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    unsafe fn cache(&self, s: usize) -> &mut Cache {
        // SAFETY: the caller guarantees exclusive use of the slot.
        unsafe { &mut *self.slots[s].cache.get() }
    }

    /// `Allocate`.
    #[inline]
    pub fn allocate(self: &Arc<Inner>, size: u64) -> *mut u8 {
        if size == 0 || size > self.max_alloc {
            return std::ptr::null_mut();
        }
        let n = size.div_ceil(1 << self.shift);
        let c = self.classes.of(n);
        let Some(s) = self.slot() else {
            error::set_quiet("more threads than max_access_threads are using the allocator");
            return std::ptr::null_mut();
        };
        // SAFETY: `slot()` gave this thread slot `s`; no other cache reference is live.
        let cache = unsafe { self.cache(s) };
        if let Some(n) = cache.stash_len.get_mut(c) {
            if *n > 0 {
                *n -= 1;
                return self.addr(cache.stash[c][*n as usize]);
            }
        }
        let h = cache.heads[c];
        if h != NIL {
            let next = self.link(h);
            cache.heads[c] = next;
            if next == NIL {
                cache.tails[c] = NIL;
            }
            cache.cached -= self.classes.size(c);
            return self.addr(h);
        }
        // A cached block one class up beats cutting fresh space: reuse keeps the
        // thread's working set (and its cache misses) small.
        if let Some(n) = cache.stash_len.get_mut(c + 1) {
            if *n > 0 {
                *n -= 1;
                return self.addr(cache.stash[c + 1][*n as usize]);
            }
        }
        let cs = self.classes.size(c);
        if cache.end - cache.cur >= cs {
            return self.bump(cache, cs);
        }
        self.allocate_slow(cache, c)
    }

    #[inline]
    fn bump(&self, cache: &mut Cache, cs: u64) -> *mut u8 {
        let u = cache.cur;
        cache.cur += cs;
        if cache.cur < cache.end {
            self.starts.set(cache.cur);
        }
        self.addr(u)
    }

    #[cold]
    fn allocate_slow(&self, cache: &mut Cache, c: usize) -> *mut u8 {
        let cs = self.classes.size(c);
        let mut sh = lock(&self.shared);
        for attempt in 0..2 {
            // Shared blocks of this class: take a batch into the thread's list.
            if sh.heads[c] != NIL {
                let u = sh.heads[c];
                let mut tail = u;
                let mut taken = 1;
                let batch = (self.spill_units / 4 / cs).clamp(1, 256);
                while taken < batch {
                    let n = self.link(tail);
                    if n == NIL {
                        break;
                    }
                    tail = n;
                    taken += 1;
                }
                sh.heads[c] = self.link(tail);
                let rest = self.link(u);
                if u != tail {
                    // u goes to the caller; (rest ..= tail) to the thread's list.
                    self.set_link(tail, cache.heads[c]);
                    if cache.heads[c] == NIL {
                        cache.tails[c] = tail;
                    }
                    cache.heads[c] = rest;
                    cache.cached += (taken - 1) * cs;
                }
                return self.addr(u);
            }
            // A new segment from the large extents.
            if let Some((s, len)) = self.take_region(&mut sh, cs) {
                if let Err(e) = self.reserve(&mut sh, s, len) {
                    self.emit(&mut sh, s, len);
                    error::set(format!(
                        "reserving file blocks for a segment: {}",
                        os::errno_string(e)
                    ));
                    return std::ptr::null_mut();
                }
                let (cur, end) = (cache.cur, cache.end);
                if end > cur && s == end {
                    // The new space continues the old: one region, no stranded tail. The
                    // boundary between them is no block start any more.
                    self.starts.clear(s);
                    cache.end = s + len;
                } else {
                    if end > cur {
                        self.emit(&mut sh, cur, end - cur);
                    }
                    cache.cur = s;
                    cache.end = s + len;
                }
                return self.bump(cache, cs);
            }
            // Split a larger shared block.
            if let Some(u) = self.split(&mut sh, c, cs) {
                return self.addr(u);
            }
            if attempt == 0 && self.pending.load(Ordering::Acquire) != NIL {
                self.merge(&mut sh);
                continue;
            }
            break;
        }
        error::set_quiet("pool is full");
        std::ptr::null_mut()
    }

    /// Cuts a segment for a thread out of the large extents. When free space runs short a
    /// thread gets a share of it rather than a whole segment, so idle threads cannot hold
    /// the rest of the pool hostage.
    fn take_region(&self, sh: &mut Shared, cs: u64) -> Option<(u64, u64)> {
        let &(s, len) = sh.large.last()?;
        let share = sh.large_units / (2 * self.slots.len() as u64);
        let mut k = self.seg_units.min(share.max(cs)).min(len);
        if len - k <= self.max_units {
            k = len;
        }
        if k == len {
            sh.large.pop();
        } else {
            let last = sh.large.len() - 1;
            sh.large[last] = (s + k, len - k);
            self.starts.set(s + k);
        }
        sh.large_units -= k;
        Some((s, k))
    }

    /// Reserves the file blocks under units `[s, s + len)` not reserved yet.
    fn reserve(&self, sh: &mut Shared, s: u64, len: u64) -> Result<(), i32> {
        let Some(f) = &self.file else {
            return Ok(());
        };
        let first = (s << self.shift) / RESERVE_CHUNK;
        let last = (((s + len) << self.shift) - 1) / RESERVE_CHUNK;
        let mut c = first;
        while c <= last {
            if sh.reserved[(c / 64) as usize] & (1 << (c % 64)) != 0 {
                c += 1;
                continue;
            }
            let run = c;
            while c <= last && sh.reserved[(c / 64) as usize] & (1 << (c % 64)) == 0 {
                c += 1;
            }
            let off = self.data_off + run * RESERVE_CHUNK;
            let end = (self.data_off + c * RESERVE_CHUNK).min(self.pool_size);
            os::reserve(f, off, end - off)?;
            for k in run..c {
                sh.reserved[(k / 64) as usize] |= 1 << (k % 64);
            }
        }
        Ok(())
    }

    fn split(&self, sh: &mut Shared, c: usize, cs: u64) -> Option<u64> {
        let c2 = (c + 1..self.classes.len()).find(|&k| sh.heads[k] != NIL)?;
        let u = sh.heads[c2];
        sh.heads[c2] = self.link(u);
        let m = self.block_units(u, self.max_units);
        if m > cs {
            self.starts.set(u + cs);
            self.emit(sh, u + cs, m - cs);
        }
        Some(u)
    }

    /// Puts the free block `[u, u + len)` into the shared pool (its start bit is set).
    fn emit(&self, sh: &mut Shared, u: u64, len: u64) {
        if len > self.max_units {
            sh.large.push((u, len));
            sh.large_units += len;
        } else {
            let k = self.classes.floor(len);
            self.set_link(u, sh.heads[k]);
            sh.heads[k] = u;
        }
    }

    /// `Free`.
    #[inline]
    pub fn free(self: &Arc<Inner>, p: *mut u8) {
        if p.is_null() {
            return;
        }
        let off = (p as u64).wrapping_sub(self.data as u64);
        let u = off >> self.shift;
        if p < self.data || u >= self.units || off & ((1 << self.shift) - 1) != 0 {
            return bad_free(p, "not a block of this allocator");
        }
        // Two words hold the block's start bit and, for any block of up to 64 units, the
        // next block's: no loop and no data-dependent branch on the common path.
        let w = self.starts.pair(u);
        let b = u & 63;
        if w & (1 << b) == 0 {
            return bad_free(p, "not the start of a block");
        }
        let above = w >> (b + 1);
        let m = if above != 0 {
            above.trailing_zeros() as u64 + 1
        } else {
            let next_word = (u | 63) + 65;
            let end = self.units.min(u + self.max_units + 1);
            if next_word >= end {
                end - u
            } else {
                self.starts.next_set(next_word, end) - u
            }
        };
        if m > self.max_units {
            return bad_free(p, "not an allocated block");
        }
        match self.slot() {
            Some(s) => {
                // SAFETY: `slot()` gave this thread slot `s`; no other cache reference is live.
                let cache = unsafe { self.cache(s) };
                let k = self.classes.floor(m);
                // The stash is bounded by itself; only list blocks count towards a spill.
                if let Some(n) = cache.stash_len.get_mut(k) {
                    if (*n as usize) < STASH {
                        cache.stash[k][*n as usize] = u;
                        *n += 1;
                        return;
                    }
                }
                cache.cached += self.classes.size(k);
                let h = cache.heads[k];
                self.set_link(u, h);
                if h == NIL {
                    cache.tails[k] = u;
                }
                cache.heads[k] = u;
                if cache.cached > self.spill_units {
                    self.spill(cache);
                }
            }
            None => self.push_pending(u, u, m),
        }
    }

    /// Hands a chain `head ..= tail` of free blocks to the pending stack.
    fn push_pending(&self, head: u64, tail: u64, units: u64) {
        let mut old = self.pending.load(Ordering::Relaxed);
        loop {
            self.set_link(tail, old);
            match self.pending.compare_exchange_weak(
                old,
                head,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        self.pending_units.fetch_add(units, Ordering::Relaxed);
    }

    /// Hands all of a thread's cached blocks to the pending stack.
    fn spill(&self, cache: &mut Cache) {
        let mut head = NIL;
        let mut tail = NIL;
        let mut units = cache.cached;
        for k in 0..cache.stash_len.len() {
            units += cache.stash_len[k] as u64 * self.classes.size(k);
            for i in 0..cache.stash_len[k] as usize {
                let u = cache.stash[k][i];
                self.set_link(u, head);
                if tail == NIL {
                    tail = u;
                }
                head = u;
            }
            cache.stash_len[k] = 0;
        }
        for k in 0..cache.heads.len() {
            let h = cache.heads[k];
            if h == NIL {
                continue;
            }
            self.set_link(cache.tails[k], head);
            if tail == NIL {
                tail = cache.tails[k];
            }
            head = h;
            cache.heads[k] = NIL;
            cache.tails[k] = NIL;
        }
        if head != NIL {
            self.push_pending(head, tail, units);
        }
        cache.cached = 0;
    }

    /// Gives back everything slot `s` holds and frees the slot.
    fn release_slot(&self, s: usize) {
        // SAFETY: called by the slot's thread (Release or its exit), the only cache user.
        let cache = unsafe { self.cache(s) };
        self.spill(cache);
        if cache.end > cache.cur {
            self.push_pending(cache.cur, cache.cur, cache.end - cache.cur);
        }
        cache.cur = 0;
        cache.end = 0;
        self.slots[s].used.store(false, Ordering::Release);
    }

    /// `Release()`: the calling thread gives back its cached space and its slot.
    pub fn release_thread(&self) {
        let s = TLS
            .try_with(|t| {
                let mut e = t.entries.borrow_mut();
                let i = e.iter().position(|x| x.0 == self.id)?;
                let (_, s, _) = e.swap_remove(i);
                if tls::last().0 == self.id {
                    tls::set_last(0, 0);
                }
                Some(s)
            })
            .ok()
            .flatten();
        if let Some(s) = s {
            self.release_slot(s);
        }
    }

    /// Moves the pending stack into the shared pool, merging every run of adjacent shared
    /// free blocks into one.
    fn merge(&self, sh: &mut Shared) {
        self.merges.fetch_add(1, Ordering::Relaxed);
        let mut u = self.pending.swap(NIL, Ordering::Acquire);
        self.pending_units.store(0, Ordering::Relaxed);
        while u != NIL {
            self.frees.set(u);
            u = self.link(u);
        }
        for k in 0..sh.heads.len() {
            let mut u = sh.heads[k];
            while u != NIL {
                self.frees.set(u);
                u = self.link(u);
            }
            sh.heads[k] = NIL;
        }
        for (s, _) in sh.large.drain(..) {
            self.frees.set(s);
        }
        sh.large_units = 0;
        let mut pos = 0;
        loop {
            let f = self.frees.next_set(pos, self.units);
            if f == self.units {
                break;
            }
            self.frees.clear(f);
            let mut end = self.starts.next_set(f + 1, self.units);
            while end < self.units && self.frees.test(end) {
                self.frees.clear(end);
                self.starts.clear(end);
                end = self.starts.next_set(end + 1, self.units);
            }
            self.emit(sh, f, end - f);
            pos = end;
        }
    }

    /// Byte offset in the pool file of `p`, or `NIL`.
    pub fn addr2offset(&self, p: *const u8) -> u64 {
        let off = (p as u64).wrapping_sub(self.base as u64);
        if p.is_null() || off >= self.pool_size {
            NIL
        } else {
            off
        }
    }

    /// Address of byte `off` of the pool file, or null.
    pub fn offset2addr(&self, off: u64) -> *mut u8 {
        if off >= self.pool_size {
            std::ptr::null_mut()
        } else {
            // SAFETY: off < pool_size <= map_len: inside the mapping.
            unsafe { self.base.add(off as usize) }
        }
    }

    /// Start of the mapping.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// Current figures (walks the shared lists under the mutex).
    pub fn stats(&self) -> Stats {
        let unit = 1u64 << self.shift;
        let sh = lock(&self.shared);
        let mut shared_free = 0;
        let mut largest = 0;
        for &h in &sh.heads {
            let mut u = h;
            while u != NIL {
                let m = self.block_units(u, self.max_units);
                shared_free += m;
                largest = largest.max(m);
                u = self.link(u);
            }
        }
        for &(_, len) in &sh.large {
            shared_free += len;
            largest = largest.max(len);
        }
        let mut threads = 0;
        let mut dram = std::mem::size_of::<Inner>() as u64
            + (sh.heads.capacity() * 8 + sh.large.capacity() * 16 + sh.reserved.capacity() * 8)
                as u64
            + (self.slots.len() * std::mem::size_of::<Slot>()) as u64
            + (self.classes.len() * 8) as u64;
        for s in self.slots.iter() {
            if s.used.load(Ordering::Relaxed) {
                threads += 1;
            }
        }
        // Per-thread list heads and tails, made when a slot is first claimed.
        let stash = self.stash_classes * (STASH * 8 + 1);
        dram += self.lists_made.load(Ordering::Relaxed) * (self.classes.len() * 16 + stash) as u64;
        Stats {
            pool_size: self.pool_size,
            data_size: self.units * unit,
            metadata_size: self.data_off,
            dram_size: dram,
            shared_free: shared_free * unit,
            largest_free: largest * unit,
            pending_free: self.pending_units.load(Ordering::Relaxed) * unit,
            merges: self.merges.load(Ordering::Relaxed),
            bg_merges: self.bg_merges.load(Ordering::Relaxed),
            threads,
            is_pmem: self.is_pmem,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        os::unmap(self.base, self.map_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, size: u64, c: Config) -> (Arc<Inner>, PathBuf) {
        let dir = std::env::temp_dir().join(format!("pma-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        (Inner::create(&p, size, 4, false, &c).unwrap(), p)
    }

    fn cfg(unit: u32, max: u64, seg: u64) -> Config {
        Config {
            bg_thread_interval: 1.0,
            allocation_unit: unit,
            max_allocation_size: max,
            segment_size: seg,
        }
    }

    fn unit_of(a: &Inner, p: *mut u8) -> u64 {
        (p as u64 - a.data as u64) >> a.shift
    }

    #[test]
    fn sizes_come_from_the_start_map() {
        let (a, path) = pool("sizes", 4 << 20, cfg(64, 4096, 1 << 20));
        let p1 = a.allocate(64);
        let p2 = a.allocate(65);
        let p3 = a.allocate(4096);
        assert_eq!(p2 as u64 - p1 as u64, 64);
        assert_eq!(p3 as u64 - p2 as u64, 128);
        assert_eq!(a.block_units(unit_of(&a, p1), a.max_units), 1);
        assert_eq!(a.block_units(unit_of(&a, p2), a.max_units), 2);
        assert_eq!(a.block_units(unit_of(&a, p3), a.max_units), 64);
        // a freed block is reused for the same class
        a.free(p2);
        assert_eq!(a.allocate(100), p2);
        drop(a);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn merge_joins_neighbours_and_keeps_owned_blocks_apart() {
        let (a, path) = pool("merge", 8 << 20, cfg(64, 4096, 1 << 20));
        let v: Vec<*mut u8> = (0..1000).map(|_| a.allocate(256)).collect();
        assert!(v.iter().all(|p| !p.is_null()));
        // free all but block 500, hand everything back and merge
        for (i, &p) in v.iter().enumerate() {
            if i != 500 {
                a.free(p);
            }
        }
        a.release_thread();
        {
            let mut sh = lock(&a.shared);
            a.merge(&mut sh);
        }
        let s = a.stats();
        assert_eq!(s.pending_free, 0);
        assert_eq!(s.shared_free, s.data_size - 256);
        // block 500 splits the space in two; the larger part is everything after it
        let after = s.data_size - (unit_of(&a, v[501]) << a.shift);
        assert_eq!(s.largest_free, after);
        // the kept block still has its size
        assert_eq!(a.block_units(unit_of(&a, v[500]), a.max_units), 4);
        a.free(v[500]);
        a.release_thread();
        {
            let mut sh = lock(&a.shared);
            a.merge(&mut sh);
        }
        let s = a.stats();
        assert_eq!(s.shared_free, s.data_size);
        assert_eq!(s.largest_free, s.data_size);
        drop(a);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn larger_shared_blocks_are_split() {
        // One segment only: once it is gone, requests must come from split shared blocks.
        let (a, path) = pool("split", 1 << 20, cfg(64, 64 << 10, 1 << 20));
        let mut v = Vec::new();
        loop {
            let p = a.allocate(64 << 10);
            if p.is_null() {
                break;
            }
            v.push(p);
        }
        assert!(v.len() >= 14);
        // use up what is left with smaller blocks
        while !a.allocate(4096).is_null() {}
        a.free(v[3]);
        a.release_thread();
        {
            let mut sh = lock(&a.shared);
            a.merge(&mut sh);
        }
        // 1024 units went back; 16 blocks of 64 units come out of them
        let small: Vec<*mut u8> = (0..16).map(|_| a.allocate(4096)).collect();
        for &p in &small {
            assert!(p >= v[3] && p < v[4], "{p:p} outside the freed block");
        }
        drop(a);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn validation_messages() {
        assert!(validate(1 << 20, 1, &cfg(64, 4096, 1 << 20)).is_ok());
        assert!(validate(1 << 20, 1, &cfg(24, 4096, 1 << 20))
            .unwrap_err()
            .contains("allocation_unit"));
        assert!(validate(1 << 20, 1, &cfg(64, 4096, 1000))
            .unwrap_err()
            .contains("segment_size"));
        assert!(validate(1 << 20, 1, &cfg(64, 2 << 20, 1 << 20))
            .unwrap_err()
            .contains("max_allocation_size"));
        assert!(validate(1 << 19, 1, &cfg(64, 4096, 1 << 20))
            .unwrap_err()
            .contains("segment"));
        assert!(validate(1 << 20, 0, &cfg(64, 4096, 1 << 20))
            .unwrap_err()
            .contains("max_access_threads"));
    }
}
