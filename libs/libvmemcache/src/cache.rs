//! The cache itself: configuration, the backing mapping, the sharded index, the LRU list
//! with its recency ring, and the operations the C API exposes.
//!
//! Lifetimes: the index holds one reference to each entry it lists; a thread that keeps an
//! entry beyond a shard lock (a queued recency update, an evictor) holds its own. Lock
//! order: shard lock, then LRU lock, then arena locks; callbacks run with no lock held, so
//! they may call back into the cache.

use crate::entry::{Entry, EVICTING, ON_LIST, QUEUED};
use crate::error::{Error, Result};
use crate::heap::{Extent, Heap, MAX_UNITS};
use crate::os;
use crate::ring::Ring;
use hashbrown::HashTable;
use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock};

pub const MIN_POOL: usize = 1024 * 1024;
pub const MIN_EXTENT: usize = 256;
pub const REPLACEMENT_NONE: u32 = 0;
pub const REPLACEMENT_LRU: u32 = 1;
pub const REPLACEMENT_NUM: u32 = 2;

pub const STAT_PUT: u32 = 0;
pub const STAT_GET: u32 = 1;
pub const STAT_HIT: u32 = 2;
pub const STAT_MISS: u32 = 3;
pub const STAT_EVICT: u32 = 4;
pub const STAT_ENTRIES: u32 = 5;
pub const STAT_DRAM_SIZE_USED: u32 = 6;
pub const STAT_POOL_SIZE_USED: u32 = 7;
pub const STAT_HEAP_ENTRIES: u32 = 8;
pub const STATS_NUM: u32 = 9;

pub const BENCH_INDEX_ONLY: u32 = 0;
pub const BENCH_NO_ALLOC: u32 = 1;
pub const BENCH_NO_MEMCPY: u32 = 2;
pub const BENCH_PREFAULT: u32 = 3;

const SHARDS: usize = 256;
const RING_SLOTS: usize = 1024;
/// Index table cost per entry counted in DRAM_SIZE_USED (8-byte slot, 1 control byte,
/// at most 7/8 load).
const SLOT_COST: u64 = 11;
/// Callbacks may call into the cache, up to this depth (libvmemcache's own tests nest puts
/// from on_evict 500 deep); deeper calls fail with EBUSY instead of overflowing the stack.
const MAX_NEST: u32 = 1000;
/// Values up to this size are copied out under the shard's read lock; larger ones with a
/// reference, so a long copy does not hold up writers.
const COPY_UNDER_LOCK: u64 = 16 * 1024;
/// Granularity of reserving file space.
const CHUNK: u64 = 2 * 1024 * 1024;

pub type OnEvict = unsafe extern "C" fn(*mut c_void, *const c_void, usize, *mut c_void);
pub type OnMiss = unsafe extern "C" fn(*mut c_void, *const c_void, usize, *mut c_void);

/// An entry address that may cross threads: entries are shared by design and all their
/// mutable state is atomic or guarded by the locks described above.
#[derive(Clone, Copy, PartialEq, Eq)]
struct EPtr(*mut Entry);
// SAFETY: see the type's comment; the pointee is only reached under the cache's protocol.
unsafe impl Send for EPtr {}
// SAFETY: as for Send: shared access goes through atomics or the cache's locks.
unsafe impl Sync for EPtr {}

impl EPtr {
    fn get(&self) -> &Entry {
        // SAFETY: an EPtr is only held while the entry is referenced (index or own ref).
        unsafe { &*self.0 }
    }
}

fn hash(key: &[u8]) -> u64 {
    const K0: u64 = 0xa076_1d64_78bd_642f;
    const K1: u64 = 0xe703_7ed1_a0b4_28db;
    fn mum(a: u64, b: u64) -> u64 {
        let r = (a as u128) * (b as u128);
        (r as u64) ^ ((r >> 64) as u64)
    }
    let mut h = K0 ^ key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = mum(h ^ w, K1);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = mum(h ^ u64::from_le_bytes(b), K1 ^ 0x55);
    }
    mum(h, K0 ^ K1)
}

fn shard_of(h: u64) -> usize {
    ((h >> 28) as usize) & (SHARDS - 1)
}

/// Padded to two cache lines (by size, not alignment: over-aligned allocations would
/// bypass malloc, which heap-tracking tools of libvmemcache's test suite watch).
struct Shard {
    table: RwLock<HashTable<EPtr>>,
    puts: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    evicts: AtomicU64,
    entries: AtomicU64,
    dram: AtomicU64,
    _pad: [u64; 6],
}

/// The LRU list: head is the most recently used entry.
struct List {
    head: *mut Entry,
    tail: *mut Entry,
    len: u64,
    /// Counts pushes to the head; an entry pushed fewer than len/2 pushes ago is still in
    /// the front half of the list.
    moves: u32,
}
// SAFETY: the list's pointers are only followed under its mutex, to entries that are
// referenced by the index while they are linked.
unsafe impl Send for List {}

struct Lru {
    list: Mutex<List>,
    ring: Ring<Entry>,
}

impl List {
    /// # Safety
    /// `p` is a live entry that is not linked; the caller holds the list's lock.
    unsafe fn push_front(&mut self, p: *mut Entry) {
        // SAFETY: p is live and unlinked (caller); head, when set, is a live linked entry.
        unsafe {
            (*p).prev = std::ptr::null_mut();
            (*p).next = self.head;
            if self.head.is_null() {
                self.tail = p;
            } else {
                (*self.head).prev = p;
            }
            (*p).set_stamp(self.moves);
        }
        self.head = p;
        self.len += 1;
        self.moves = self.moves.wrapping_add(1);
    }

    /// Moves a used entry to the head, unless it is still in the front half (moving it
    /// there would cost three cache misses and changes no eviction order within the back
    /// half, where victims are chosen; lists of one or two entries are always exact).
    ///
    /// # Safety
    /// `p` is a live entry linked into this list; the caller holds the list's lock.
    unsafe fn promote(&mut self, p: *mut Entry) {
        if self.head == p {
            return;
        }
        // SAFETY: p is live (caller).
        let stamp = unsafe { (*p).stamp() };
        let age = self.moves.wrapping_sub(stamp) & crate::entry::STAMP_MASK;
        // Stamps have 24 bits: the shortcut holds for lists of up to 2^24 entries.
        if (age as u64) < self.len / 2 && self.len <= crate::entry::STAMP_MASK as u64 {
            return;
        }
        // SAFETY: p is linked and we hold the lock (caller).
        unsafe {
            self.unlink(p);
            self.push_front(p);
        }
    }

    /// # Safety
    /// `p` is a live entry linked into this list; the caller holds the list's lock.
    unsafe fn unlink(&mut self, p: *mut Entry) {
        // SAFETY: p and its neighbours are live linked entries (caller).
        unsafe {
            let (pr, nx) = ((*p).prev, (*p).next);
            if pr.is_null() {
                self.head = nx;
            } else {
                (*pr).next = nx;
            }
            if nx.is_null() {
                self.tail = pr;
            } else {
                (*nx).prev = pr;
            }
            (*p).prev = std::ptr::null_mut();
            (*p).next = std::ptr::null_mut();
        }
        self.len -= 1;
    }
}

/// Space reservation of a file-backed pool: which 2 MiB chunks already have blocks.
struct Reserve {
    fd: os::Fd,
    bits: Box<[AtomicU64]>,
    unsupported: AtomicBool,
    lock: Mutex<()>,
}

struct Ready {
    base: *mut u8,
    len: usize,
    /// The mapping's length (a device is mapped whole even when the cache uses less).
    map_len: usize,
    unit: u64,
    policy: u32,
    heap: Heap,
    shards: Box<[Shard]>,
    lru: Option<Lru>,
    reserve: Option<Reserve>,
    _dev: Option<os::Fd>,
}
// SAFETY: base points at a shared mapping owned by this struct for its whole life; the
// bytes there are reached only through extents owned by entries (see the module comment).
unsafe impl Send for Ready {}
// SAFETY: as for Send; every other field is itself Sync.
unsafe impl Sync for Ready {}

impl Drop for Ready {
    fn drop(&mut self) {
        if let Some(l) = &self.lru {
            while let Some(p) = l.ring.pop() {
                // SAFETY: every ring slot holds a reference taken when it was queued.
                unsafe { self.release(p) };
            }
        }
        for s in self.shards.iter() {
            let mut t = s.table.write().unwrap_or_else(|e| e.into_inner());
            for p in t.drain() {
                // SAFETY: the cache is being deleted, nobody else uses its entries; the
                // index's reference is the last one.
                unsafe { Entry::destroy(p.0) };
            }
        }
        // SAFETY: base/map_len is our mapping and no entry refers to it any more.
        unsafe { os::unmap(self.base, self.map_len) };
    }
}

impl Ready {
    /// Drops a reference to `p`, freeing the entry and its extents on the last one.
    ///
    /// # Safety
    /// The caller owns one reference to the live entry `p`.
    unsafe fn release(&self, p: *mut Entry) {
        // SAFETY: the caller's reference keeps p alive until here.
        let e = unsafe { &*p };
        if e.decref() {
            debug_assert!(
                e.flags.load(Ordering::Relaxed) & (EVICTING | ON_LIST | QUEUED) == EVICTING,
                "freeing an entry in state {:#x}",
                e.flags.load(Ordering::Relaxed)
            );
            self.heap.free(e.extents());
            // SAFETY: that was the last reference: nobody can reach p any more.
            unsafe { Entry::destroy(p) };
        }
    }

    fn lock_list<'a>(&self, l: &'a Lru) -> MutexGuard<'a, List> {
        let mut g = l.list.lock().unwrap_or_else(|e| e.into_inner());
        self.drain(l, &mut g);
        g
    }

    /// Applies the queued recency updates.
    fn drain(&self, l: &Lru, g: &mut List) {
        while let Some(p) = l.ring.pop() {
            // SAFETY: the ring's reference keeps p alive until release below.
            let e = unsafe { &*p };
            let f = e.flags.fetch_and(!QUEUED, Ordering::AcqRel);
            if f & ON_LIST != 0 && f & EVICTING == 0 {
                // SAFETY: ON_LIST changes only under this lock, so p is linked here.
                unsafe { g.promote(p) };
            }
            // SAFETY: drops the reference the ring held.
            unsafe { self.release(p) };
        }
    }

    /// Copies `[offset, offset + n)` of the value of `e` to `buf`.
    fn copy_out(&self, e: &Entry, buf: *mut u8, offset: u64, n: u64) {
        let mut pos = 0u64;
        let end = offset + n;
        for x in e.extents() {
            let bytes = x.len() * self.unit;
            let (lo, hi) = (pos.max(offset), (pos + bytes).min(end));
            if lo < hi {
                let src = x.start() * self.unit + (lo - pos);
                // SAFETY: the extent lies inside the pool and belongs to e, which is
                // referenced; buf has room for n bytes (checked by the API layer).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        self.base.add(src as usize),
                        buf.add((lo - offset) as usize),
                        (hi - lo) as usize,
                    )
                };
            }
            pos += bytes;
            if pos >= end {
                break;
            }
        }
    }

    fn copy_in(&self, exts: &[Extent], value: &[u8]) {
        let mut pos = 0usize;
        for x in exts {
            let n = ((x.len() * self.unit) as usize).min(value.len() - pos);
            // SAFETY: the extents were just allocated to this put and lie inside the pool;
            // the caller's value does not overlap the pool.
            unsafe {
                persist::copy::memmove(
                    self.base.add((x.start() * self.unit) as usize),
                    value.as_ptr().add(pos),
                    n,
                    persist::PMEM_F_MEM_NONTEMPORAL | persist::PMEM_F_MEM_NODRAIN,
                )
            };
            pos += n;
        }
        // Non-temporal stores are weakly ordered: make them visible before publishing.
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    /// Gives the extents' file range blocks, so stores into them cannot fault on a full
    /// file system.
    fn reserve(&self, exts: &[Extent]) -> Result<()> {
        let Some(r) = &self.reserve else {
            return Ok(());
        };
        for x in exts {
            if r.unsupported.load(Ordering::Relaxed) {
                return Ok(());
            }
            let lo = x.start() * self.unit;
            let hi = lo + x.len() * self.unit;
            for c in lo / CHUNK..=(hi - 1) / CHUNK {
                let (w, b) = ((c / 64) as usize, 1u64 << (c % 64));
                if r.bits[w].load(Ordering::Acquire) & b != 0 {
                    continue;
                }
                let _g = r.lock.lock().unwrap_or_else(|e| e.into_inner());
                if r.bits[w].load(Ordering::Acquire) & b != 0 {
                    continue;
                }
                let off = c * CHUNK;
                let len = CHUNK.min(self.len as u64 - off);
                match os::reserve(r.fd.raw(), off, len) {
                    Ok(()) => {
                        r.bits[w].fetch_or(b, Ordering::Release);
                    }
                    Err(e) if e == libc::EOPNOTSUPP => {
                        r.unsupported.store(true, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(e) => {
                        return Err(Error::new(
                            e,
                            "vmemcache_put: cannot get space in the backing file",
                        ))
                    }
                }
            }
        }
        Ok(())
    }
}

/// A `get` waiting in `on_miss`: a `put` of its key from this thread fills it.
struct GetReq {
    cache: *const Cache,
    key: *const u8,
    ksize: usize,
    buf: *mut u8,
    bufsize: usize,
    offset: usize,
    vsize: *mut usize,
    done: Option<usize>,
}

thread_local! {
    static PENDING: Cell<*mut GetReq> = const { Cell::new(std::ptr::null_mut()) };
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static ARENA: Cell<usize> = const { Cell::new(usize::MAX) };
}

static NEXT_ARENA: AtomicUsize = AtomicUsize::new(0);

fn arena_hint() -> usize {
    ARENA.with(|a| {
        if a.get() == usize::MAX {
            a.set(NEXT_ARENA.fetch_add(1, Ordering::Relaxed));
        }
        a.get()
    })
}

/// Runs `f` one callback level deeper.
fn nested<R>(f: impl FnOnce() -> R) -> R {
    struct Back;
    impl Drop for Back {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    let _b = Back;
    f()
}

pub fn in_callback() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

fn check_depth(what: &str) -> Result<()> {
    if DEPTH.with(|d| d.get()) >= MAX_NEST {
        return Err(Error::new(
            libc::EBUSY,
            format!("{what}: callbacks nested more than {MAX_NEST} deep"),
        ));
    }
    Ok(())
}

struct Config {
    size: usize,
    extent_size: usize,
    policy: u32,
}

pub struct Cache {
    cfg: Mutex<Config>,
    ready: OnceLock<Ready>,
    on_evict: AtomicUsize,
    evict_arg: AtomicPtr<c_void>,
    on_miss: AtomicUsize,
    miss_arg: AtomicPtr<c_void>,
    bench: AtomicU32,
}

const B_INDEX_ONLY: u32 = 1;
const B_NO_ALLOC: u32 = 2;
const B_NO_MEMCPY: u32 = 4;

fn not_ready(what: &str) -> Error {
    Error::new(
        libc::EINVAL,
        format!("{what}: the cache has no backing space yet (call vmemcache_add first)"),
    )
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

impl Cache {
    pub fn new() -> Cache {
        Cache {
            cfg: Mutex::new(Config {
                size: 0,
                extent_size: MIN_EXTENT,
                policy: REPLACEMENT_LRU,
            }),
            ready: OnceLock::new(),
            on_evict: AtomicUsize::new(0),
            evict_arg: AtomicPtr::new(std::ptr::null_mut()),
            on_miss: AtomicUsize::new(0),
            miss_arg: AtomicPtr::new(std::ptr::null_mut()),
            bench: AtomicU32::new(0),
        }
    }

    fn cfg(&self) -> MutexGuard<'_, Config> {
        self.cfg.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ready(&self, what: &str) -> Result<&Ready> {
        self.ready.get().ok_or_else(|| not_ready(what))
    }

    fn configurable(&self, what: &str) -> Result<MutexGuard<'_, Config>> {
        let g = self.cfg();
        if self.ready.get().is_some() {
            return Err(Error::new(
                libc::EALREADY,
                format!("{what}: the cache is already in use (configure before vmemcache_add)"),
            ));
        }
        Ok(g)
    }

    pub fn set_policy(&self, p: u32) -> Result<()> {
        let mut g = self.configurable("vmemcache_set_eviction_policy")?;
        if p >= REPLACEMENT_NUM {
            return Err(Error::new(
                libc::EINVAL,
                format!("vmemcache_set_eviction_policy: unknown policy {p}"),
            ));
        }
        g.policy = p;
        Ok(())
    }

    pub fn set_size(&self, size: usize) -> Result<()> {
        let mut g = self.configurable("vmemcache_set_size")?;
        if size < MIN_POOL {
            return Err(Error::new(
                libc::EINVAL,
                format!("vmemcache_set_size: size {size} is below the minimum {MIN_POOL}"),
            ));
        }
        if size as u64 >= 1u64 << 56 {
            return Err(Error::new(
                libc::EINVAL,
                format!("vmemcache_set_size: implausibly large size {size}"),
            ));
        }
        g.size = size;
        Ok(())
    }

    pub fn set_extent_size(&self, ext: usize) -> Result<()> {
        let mut g = self.configurable("vmemcache_set_extent_size")?;
        if ext < MIN_EXTENT {
            return Err(Error::new(
                libc::EINVAL,
                format!("vmemcache_set_extent_size: extent size {ext} is below the minimum {MIN_EXTENT}"),
            ));
        }
        if ext > MIN_POOL {
            return Err(Error::new(
                libc::EINVAL,
                format!("vmemcache_set_extent_size: extent size {ext} is larger than the smallest pool ({MIN_POOL})"),
            ));
        }
        g.extent_size = ext;
        Ok(())
    }

    pub fn add(&self, path: &CStr) -> Result<()> {
        let g = self.cfg();
        if self.ready.get().is_some() {
            return Err(Error::new(
                libc::EBUSY,
                "vmemcache_add: the cache already has its backing space",
            ));
        }
        let shown = path.to_string_lossy();
        let page = os::page_size() as u64;
        let unit = g.extent_size as u64;
        if g.size != 0 && unit > g.size as u64 {
            return Err(Error::new(
                libc::EINVAL,
                format!(
                    "vmemcache_add: extent size {unit} larger than cache size {}",
                    g.size
                ),
            ));
        }
        let kind = os::path_kind(path)
            .map_err(|e| Error::new(e, format!("vmemcache_add: cannot use \"{shown}\"")))?;
        let (base, len, map_len, reserve, dev) = match kind {
            os::PathKind::Directory => {
                let want = if g.size == 0 {
                    MIN_POOL as u64
                } else {
                    g.size as u64
                };
                let len = want.div_ceil(page) * page;
                let fd = os::unnamed_file(path).map_err(|e| {
                    Error::new(
                        e,
                        format!("vmemcache_add: cannot create a temporary file in \"{shown}\""),
                    )
                })?;
                os::set_len(&fd, len).map_err(|e| {
                    Error::new(
                        e,
                        format!("vmemcache_add: cannot size a {len}-byte file in \"{shown}\""),
                    )
                })?;
                let base = os::map_shared(&fd, len as usize)
                    .map_err(|e| Error::new(e, format!("vmemcache_add: cannot map {len} bytes")))?;
                let chunks = len.div_ceil(CHUNK);
                let bits = (0..chunks.div_ceil(64))
                    .map(|_| AtomicU64::new(0))
                    .collect();
                let r = Reserve {
                    fd,
                    bits,
                    unsupported: AtomicBool::new(false),
                    lock: Mutex::new(()),
                };
                (base, len, len, Some(r), None)
            }
            os::PathKind::CharDevice { rdev } => {
                let dax = os::devdax_size(rdev).ok_or_else(|| {
                    Error::new(
                        libc::EINVAL,
                        format!("vmemcache_add: \"{shown}\" is not a device DAX"),
                    )
                })?;
                if g.size != 0 && g.size as u64 > dax {
                    return Err(Error::new(
                        libc::EINVAL,
                        format!(
                            "vmemcache_add: cache size {} larger than the device ({dax} bytes)",
                            g.size
                        ),
                    ));
                }
                let len = if g.size == 0 {
                    dax
                } else {
                    (g.size as u64).div_ceil(page) * page
                }
                .min(dax);
                let fd = os::open_rw(path).map_err(|e| {
                    Error::new(e, format!("vmemcache_add: cannot open \"{shown}\""))
                })?;
                let base = os::map_shared(&fd, dax as usize)
                    .map_err(|e| Error::new(e, format!("vmemcache_add: cannot map \"{shown}\"")))?;
                (base, len, dax, None, Some(fd))
            }
            // "open: Not a directory", the message libvmemcache's own tests expect.
            os::PathKind::Other => return Err(Error::new(libc::ENOTDIR, "open")),
        };
        let units = len / unit;
        let fail = |e: Error| {
            // SAFETY: the mapping was just made and nothing refers to it.
            unsafe { os::unmap(base, map_len as usize) };
            Err(e)
        };
        if units > MAX_UNITS {
            return fail(Error::new(
                libc::EINVAL,
                format!("vmemcache_add: {len} bytes are too many extents of {unit} bytes"),
            ));
        }
        let shards = (0..SHARDS)
            .map(|_| Shard {
                table: RwLock::new(HashTable::new()),
                puts: AtomicU64::new(0),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                evicts: AtomicU64::new(0),
                entries: AtomicU64::new(0),
                dram: AtomicU64::new(0),
                _pad: [0; 6],
            })
            .collect();
        let lru = (g.policy == REPLACEMENT_LRU).then(|| Lru {
            list: Mutex::new(List {
                head: std::ptr::null_mut(),
                tail: std::ptr::null_mut(),
                len: 0,
                moves: 0,
            }),
            ring: Ring::new(RING_SLOTS),
        });
        let r = Ready {
            base,
            len: len as usize,
            map_len: map_len as usize,
            unit,
            policy: g.policy,
            heap: Heap::new(units),
            shards,
            lru,
            reserve,
            _dev: dev,
        };
        if self.ready.set(r).is_err() {
            unreachable!("the configuration lock keeps add single");
        }
        Ok(())
    }

    fn self_ptr(&self) -> *mut c_void {
        self as *const Cache as *mut c_void
    }

    fn call_on_evict(&self, key: &[u8]) {
        let f = self.on_evict.load(Ordering::Acquire);
        if f == 0 {
            return;
        }
        // SAFETY: f was stored from a non-null OnEvict in callback_on_evict.
        let f: OnEvict = unsafe { std::mem::transmute::<usize, OnEvict>(f) };
        let arg = self.evict_arg.load(Ordering::Acquire);
        // SAFETY: calling the user's callback with the arguments its contract names; the
        // key stays valid, as the caller holds a reference to the entry.
        nested(|| unsafe { f(self.self_ptr(), key.as_ptr().cast(), key.len(), arg) });
    }

    pub fn set_on_evict(&self, f: Option<OnEvict>, arg: *mut c_void) {
        self.evict_arg.store(arg, Ordering::Release);
        self.on_evict
            .store(f.map_or(0, |f| f as usize), Ordering::Release);
    }

    pub fn set_on_miss(&self, f: Option<OnMiss>, arg: *mut c_void) {
        self.miss_arg.store(arg, Ordering::Release);
        self.on_miss
            .store(f.map_or(0, |f| f as usize), Ordering::Release);
    }

    /// Looks `key` up and copies `[offset, offset + bufsize)` of its value to `buf`.
    ///
    /// # Safety
    /// `buf` has room for `bufsize` bytes (or `bufsize` is 0); `vsize` is null or writable.
    pub unsafe fn get(
        &self,
        key: &[u8],
        buf: *mut u8,
        bufsize: usize,
        offset: usize,
        vsize: *mut usize,
    ) -> Result<usize> {
        let r = self.ready("vmemcache_get")?;
        check_depth("vmemcache_get")?;
        let h = hash(key);
        let sh = &r.shards[shard_of(h)];
        let bench = self.bench.load(Ordering::Relaxed);
        let mut queued: Option<*mut Entry> = None;
        let mut late: Option<(*mut Entry, u64)> = None;
        let mut copied = 0usize;
        let mut found = None;
        {
            let t = sh.table.read().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = t.find(h, |p| p.get().key() == key) {
                sh.hits.fetch_add(1, Ordering::Relaxed);
                let e = p.get();
                let vs = e.vsize;
                found = Some(vs);
                let n = if (offset as u64) < vs {
                    (vs - offset as u64).min(bufsize as u64)
                } else {
                    0
                };
                if bench & (B_NO_MEMCPY | B_NO_ALLOC | B_INDEX_ONLY) == 0 && n > 0 {
                    if n <= COPY_UNDER_LOCK {
                        r.copy_out(e, buf, offset as u64, n);
                    } else {
                        e.incref();
                        late = Some((p.0, n));
                    }
                }
                copied = n as usize;
                if r.lru.is_some()
                    && bench & B_INDEX_ONLY == 0
                    && e.flags.load(Ordering::Relaxed) & QUEUED == 0
                    && e.flags.fetch_or(QUEUED, Ordering::AcqRel) & QUEUED == 0
                {
                    e.incref();
                    queued = Some(p.0);
                }
            } else {
                sh.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some((p, n)) = late {
            // SAFETY: we took a reference above, so p stays live during the copy.
            r.copy_out(unsafe { &*p }, buf, offset as u64, n);
            // SAFETY: drops that reference.
            unsafe { r.release(p) };
        }
        if let Some(p) = queued {
            self.touch(r, p);
        }
        if let Some(vs) = found {
            if !vsize.is_null() {
                // SAFETY: the caller promises vsize is null or writable.
                unsafe { *vsize = vs as usize };
            }
            return Ok(copied);
        }
        self.miss(key, buf, bufsize, offset, vsize)
    }

    fn miss(
        &self,
        key: &[u8],
        buf: *mut u8,
        bufsize: usize,
        offset: usize,
        vsize: *mut usize,
    ) -> Result<usize> {
        let f = self.on_miss.load(Ordering::Acquire);
        let me = self as *const Cache;
        // A get inside on_miss for the same cache does not call on_miss again.
        let outer = PENDING.with(|p| p.get());
        // SAFETY: PENDING is only set to a GetReq living on this thread's stack below.
        let busy = !outer.is_null() && unsafe { (*outer).cache } == me;
        if f != 0 && !busy {
            let mut req = GetReq {
                cache: me,
                key: key.as_ptr(),
                ksize: key.len(),
                buf,
                bufsize,
                offset,
                vsize,
                done: None,
            };
            PENDING.with(|p| p.set(&mut req));
            // SAFETY: f was stored from a non-null OnMiss in callback_on_miss.
            let cb: OnMiss = unsafe { std::mem::transmute::<usize, OnMiss>(f) };
            let arg = self.miss_arg.load(Ordering::Acquire);
            struct Restore(*mut GetReq);
            impl Drop for Restore {
                fn drop(&mut self) {
                    PENDING.with(|p| p.set(self.0));
                }
            }
            {
                let _r = Restore(outer);
                // SAFETY: calling the user's callback per its contract; key is valid.
                nested(|| unsafe { cb(self.self_ptr(), key.as_ptr().cast(), key.len(), arg) });
            }
            if let Some(n) = req.done {
                return Ok(n);
            }
        }
        crate::error::record_static(libc::ENOENT, c"vmemcache_get: no entry for that key");
        Err(Error::new(libc::ENOENT, String::new()))
    }

    /// Fills a get of this thread that waits in `on_miss` for `key`.
    fn satisfy_pending(&self, key: &[u8], value: &[u8]) {
        let p = PENDING.with(|p| p.get());
        if p.is_null() {
            return;
        }
        // SAFETY: PENDING points at a GetReq on this thread's stack, alive while set.
        let req = unsafe { &mut *p };
        if !std::ptr::eq(req.cache, self) || req.done.is_some() || req.ksize != key.len() {
            return;
        }
        // SAFETY: req.key/ksize is the key of the waiting get, still valid.
        if unsafe { std::slice::from_raw_parts(req.key, req.ksize) } != key {
            return;
        }
        let n = if req.offset < value.len() {
            (value.len() - req.offset).min(req.bufsize)
        } else {
            0
        };
        if n > 0 {
            // SAFETY: buf has room for bufsize >= n bytes (checked by the get's API layer).
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr().add(req.offset), req.buf, n) };
        }
        if !req.vsize.is_null() {
            // SAFETY: vsize of the waiting get is null or writable.
            unsafe { *req.vsize = value.len() };
        }
        req.done = Some(n);
    }

    /// Queues a recency update for `p`, whose reference the caller hands over.
    fn touch(&self, r: &Ready, p: *mut Entry) {
        let l = r.lru.as_ref().expect("LRU policy");
        if l.ring.push(p) {
            return;
        }
        // SAFETY: the handed-over reference keeps p alive.
        let e = unsafe { &*p };
        let mut g = match l.list.try_lock() {
            Ok(mut g) => {
                r.drain(l, &mut g);
                g
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                let mut g = p.into_inner();
                r.drain(l, &mut g);
                g
            }
            // Another thread is draining the ring right now: under that much concurrency
            // this one update is dropped rather than waited for (a lone thread never
            // gets here, so its order stays exact).
            Err(std::sync::TryLockError::WouldBlock) => {
                e.flags.fetch_and(!QUEUED, Ordering::AcqRel);
                // SAFETY: drops the handed-over reference.
                unsafe { r.release(p) };
                return;
            }
        };
        let f = e.flags.fetch_and(!QUEUED, Ordering::AcqRel);
        if f & ON_LIST != 0 && f & EVICTING == 0 {
            // SAFETY: ON_LIST is only changed under this lock: p is linked.
            unsafe { g.promote(p) };
        }
        drop(g);
        // SAFETY: drops the handed-over reference.
        unsafe { r.release(p) };
    }

    pub fn exists(&self, key: &[u8]) -> Result<Option<usize>> {
        let r = self.ready("vmemcache_exists")?;
        let h = hash(key);
        let t = r.shards[shard_of(h)]
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner());
        Ok(t.find(h, |p| p.get().key() == key)
            .map(|p| p.get().vsize as usize))
    }

    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        // Evictions below run on_evict, which may change the caller's key buffer (upstream's
        // own tests do): work on a copy taken now.
        let mut small = [0u8; 128];
        let owned;
        let key: &[u8] = if key.len() <= small.len() {
            small[..key.len()].copy_from_slice(key);
            &small[..key.len()]
        } else {
            owned = key.to_vec();
            &owned
        };
        self.satisfy_pending(key, value);
        let r = self.ready("vmemcache_put")?;
        check_depth("vmemcache_put")?;
        if value.len() > r.len {
            return Err(Error::new(
                libc::ENOSPC,
                format!(
                    "vmemcache_put: value of {} bytes larger than the whole pool ({} bytes)",
                    value.len(),
                    r.len
                ),
            ));
        }
        let h = hash(key);
        let sh = &r.shards[shard_of(h)];
        let exists = || {
            Error::new(
                libc::EEXIST,
                "vmemcache_put: an entry with that key already exists",
            )
        };
        if sh
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .find(h, |p| p.get().key() == key)
            .is_some()
        {
            return Err(exists());
        }
        let bench = self.bench.load(Ordering::Relaxed);
        let mut exts: Vec<Extent> = Vec::new();
        if bench & (B_NO_ALLOC | B_INDEX_ONLY) == 0 {
            let need = (value.len() as u64).div_ceil(r.unit);
            let hint = arena_hint() % r.heap.arenas();
            let mut got = 0u64;
            let mut idle = 0;
            while got < need {
                got += r.heap.alloc(need - got, hint, &mut exts);
                if got == need {
                    break;
                }
                let res = if r.policy == REPLACEMENT_LRU {
                    self.evict_lru(r)
                } else {
                    Err(Error::new(libc::ESRCH, ""))
                };
                match res {
                    Ok(()) => idle = 0,
                    // Space held by entries that readers still reference comes back soon.
                    // Inside a callback, the space may be held by this very thread's
                    // outer calls: waiting would not help.
                    Err(e)
                        if e.errno == libc::ESRCH
                            && r.policy == REPLACEMENT_LRU
                            && idle < 1000
                            && !in_callback() =>
                    {
                        idle += 1;
                        std::thread::yield_now();
                    }
                    Err(e) => {
                        r.heap.free(&exts);
                        if e.errno != libc::ESRCH {
                            return Err(e);
                        }
                        return Err(Error::new(
                            libc::ENOSPC,
                            format!(
                                "vmemcache_put: no space for a value of {} bytes{}",
                                value.len(),
                                if r.policy == REPLACEMENT_NONE {
                                    " (the cache is full and the policy is VMEMCACHE_REPLACEMENT_NONE)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    }
                }
            }
            if let Err(e) = r.reserve(&exts) {
                r.heap.free(&exts);
                return Err(e);
            }
            if bench & B_NO_MEMCPY == 0 {
                r.copy_in(&exts, value);
            }
        }
        let Some(p) = Entry::create(key, value.len() as u64, &exts) else {
            r.heap.free(&exts);
            return Err(Error::new(libc::ENOMEM, "vmemcache_put: out of DRAM"));
        };
        let mut t = sh.table.write().unwrap_or_else(|e| e.into_inner());
        if t.find(h, |q| q.get().key() == key).is_some() {
            drop(t);
            r.heap.free(&exts);
            // SAFETY: p was never published.
            unsafe { Entry::destroy(p) };
            return Err(exists());
        }
        t.insert_unique(h, EPtr(p), |q| hash(q.get().key()));
        if let (Some(l), true) = (&r.lru, bench & B_INDEX_ONLY == 0) {
            let mut g = l.list.lock().unwrap_or_else(|e| e.into_inner());
            // SAFETY: p is live (the index holds it) and not linked yet; we hold the lock.
            unsafe { g.push_front(p) };
            // SAFETY: p is live.
            unsafe { (*p).flags.fetch_or(ON_LIST, Ordering::Release) };
        }
        sh.puts.fetch_add(1, Ordering::Relaxed);
        sh.entries.fetch_add(1, Ordering::Relaxed);
        // SAFETY: p is live.
        let sz = unsafe { (*p).alloc_size() } as u64 + SLOT_COST;
        sh.dram.fetch_add(sz, Ordering::Relaxed);
        Ok(())
    }

    /// Evicts the least recently used entry.
    fn evict_lru(&self, r: &Ready) -> Result<()> {
        let Some(l) = &r.lru else {
            return Err(Error::new(
                libc::ESRCH,
                "vmemcache_evict: no replacement policy to choose an entry",
            ));
        };
        let victim = {
            let mut g = r.lock_list(l);
            let mut p = g.tail;
            let mut found = None;
            while !p.is_null() {
                // SAFETY: linked entries are live (the index holds them) while we hold the lock.
                let e = unsafe { &*p };
                if e.flags.fetch_or(EVICTING, Ordering::AcqRel) & EVICTING == 0 {
                    e.flags.fetch_and(!ON_LIST, Ordering::AcqRel);
                    // SAFETY: p is linked and we hold the lock.
                    unsafe { g.unlink(p) };
                    found = Some(p);
                    break;
                }
                p = e.prev;
            }
            found
        };
        let Some(p) = victim else {
            return Err(Error::new(
                libc::ESRCH,
                "vmemcache_evict: no entry to evict",
            ));
        };
        self.finish_evict(r, p);
        Ok(())
    }

    /// Runs `on_evict` for the claimed entry `p`, then takes it out of the index and drops
    /// the index's reference.
    fn finish_evict(&self, r: &Ready, p: *mut Entry) {
        // SAFETY: the index still holds p (only the claimer removes it).
        let e = unsafe { &*p };
        self.call_on_evict(e.key());
        let h = hash(e.key());
        let sh = &r.shards[shard_of(h)];
        {
            let mut t = sh.table.write().unwrap_or_else(|e| e.into_inner());
            if let Ok(o) = t.find_entry(h, |q| q.0 == p) {
                o.remove();
            } else {
                debug_assert!(false, "claimed entry missing from the index");
            }
        }
        sh.evicts.fetch_add(1, Ordering::Relaxed);
        sh.entries.fetch_sub(1, Ordering::Relaxed);
        sh.dram
            .fetch_sub(e.alloc_size() as u64 + SLOT_COST, Ordering::Relaxed);
        // SAFETY: drops the index's reference, which the claimer now owns.
        unsafe { r.release(p) };
    }

    pub fn evict(&self, key: Option<&[u8]>) -> Result<()> {
        let r = self.ready("vmemcache_evict")?;
        check_depth("vmemcache_evict")?;
        let Some(key) = key else {
            return self.evict_lru(r);
        };
        let h = hash(key);
        let p = {
            let t = r.shards[shard_of(h)]
                .table
                .read()
                .unwrap_or_else(|e| e.into_inner());
            let Some(p) = t.find(h, |p| p.get().key() == key) else {
                return Err(Error::new(
                    libc::ENOENT,
                    "vmemcache_evict: no entry for that key",
                ));
            };
            let e = p.get();
            if e.flags.fetch_or(EVICTING, Ordering::AcqRel) & EVICTING != 0 {
                // Another thread is evicting it right now.
                return Ok(());
            }
            p.0
        };
        if let Some(l) = &r.lru {
            let mut g = r.lock_list(l);
            // SAFETY: p is still indexed (we claimed it, so nobody else removes it).
            let e = unsafe { &*p };
            if e.flags.fetch_and(!ON_LIST, Ordering::AcqRel) & ON_LIST != 0 {
                // SAFETY: it was linked, and we hold the lock.
                unsafe { g.unlink(p) };
            }
        }
        self.finish_evict(r, p);
        Ok(())
    }

    pub fn stat(&self, which: u32) -> Result<u64> {
        if which >= STATS_NUM {
            return Err(Error::new(
                libc::EINVAL,
                format!("vmemcache_get_stat: unknown statistic {which}"),
            ));
        }
        let Some(r) = self.ready.get() else {
            return Ok(0);
        };
        let sum = |f: fn(&Shard) -> &AtomicU64| -> u64 {
            r.shards
                .iter()
                .map(|s| f(s).load(Ordering::Relaxed))
                .fold(0u64, |a, b| a.wrapping_add(b))
        };
        Ok(match which {
            STAT_PUT => sum(|s| &s.puts),
            STAT_GET => sum(|s| &s.hits) + sum(|s| &s.misses),
            STAT_HIT => sum(|s| &s.hits),
            STAT_MISS => sum(|s| &s.misses),
            STAT_EVICT => sum(|s| &s.evicts),
            STAT_ENTRIES => sum(|s| &s.entries),
            STAT_DRAM_SIZE_USED => sum(|s| &s.dram),
            STAT_POOL_SIZE_USED => r.heap.used_units() * r.unit,
            _ => r.heap.free_runs(),
        })
    }

    pub fn bench_set(&self, cfg: u32, val: usize) -> Result<()> {
        let bit = match cfg {
            BENCH_INDEX_ONLY => B_INDEX_ONLY,
            BENCH_NO_ALLOC => B_NO_ALLOC,
            BENCH_NO_MEMCPY => B_NO_MEMCPY,
            BENCH_PREFAULT => {
                let r = self.ready("vmemcache_bench_set")?;
                let page = os::page_size();
                if let Some(res) = &r.reserve {
                    let mut off = 0u64;
                    while off < r.len as u64 {
                        let len = CHUNK.min(r.len as u64 - off);
                        if os::reserve(res.fd.raw(), off, len).is_err() {
                            break;
                        }
                        res.bits[(off / CHUNK / 64) as usize]
                            .fetch_or(1 << ((off / CHUNK) % 64), Ordering::Release);
                        off += len;
                    }
                }
                let mut i = 0;
                while i < r.len {
                    // SAFETY: i is inside the mapping; a volatile read-write of a byte
                    // leaves the data as it was and faults the page in.
                    unsafe {
                        let a = r.base.add(i);
                        a.write_volatile(a.read_volatile());
                    }
                    i += page;
                }
                return Ok(());
            }
            _ => {
                return Err(Error::new(
                    libc::EINVAL,
                    format!("vmemcache_bench_set: unknown setting {cfg}"),
                ))
            }
        };
        if val != 0 {
            self.bench.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.bench.fetch_and(!bit, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn cache(size: usize, policy: u32) -> Cache {
        let c = Cache::new();
        c.set_size(size).unwrap();
        c.set_policy(policy).unwrap();
        let dir = CString::new(std::env::temp_dir().to_str().unwrap()).unwrap();
        c.add(&dir).unwrap();
        c
    }

    fn get(c: &Cache, key: &[u8], off: usize, n: usize) -> Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        let mut vs = 0usize;
        // SAFETY: b has n bytes; vs is writable.
        let got = unsafe { c.get(key, b.as_mut_ptr(), n, off, &mut vs) }?;
        b.truncate(got);
        Ok(b)
    }

    #[test]
    fn put_get_exists_evict() {
        let c = cache(MIN_POOL, REPLACEMENT_LRU);
        let v: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        c.put(b"k", &v).unwrap();
        assert_eq!(c.put(b"k", b"x").unwrap_err().errno, libc::EEXIST);
        assert_eq!(get(&c, b"k", 0, 5000).unwrap(), v);
        assert_eq!(get(&c, b"k", 4990, 100).unwrap(), &v[4990..]);
        assert_eq!(c.exists(b"k").unwrap(), Some(5000));
        assert_eq!(c.stat(STAT_POOL_SIZE_USED).unwrap(), 20 * 256);
        c.evict(Some(b"k")).unwrap();
        assert_eq!(c.exists(b"k").unwrap(), None);
        assert_eq!(get(&c, b"k", 0, 1).unwrap_err().errno, libc::ENOENT);
        assert_eq!(c.stat(STAT_POOL_SIZE_USED).unwrap(), 0);
    }

    #[test]
    fn lru_victims_come_from_the_back_half_in_order() {
        let c = cache(4 * MIN_POOL, REPLACEMENT_LRU);
        for i in 0..100u32 {
            c.put(&i.to_le_bytes(), b"v").unwrap();
        }
        // Use 0..10 (the oldest): they must survive the next 90 evictions.
        for i in 0..10u32 {
            get(&c, &i.to_le_bytes(), 0, 1).unwrap();
        }
        for _ in 0..90 {
            c.evict(None).unwrap();
        }
        for i in 0..10u32 {
            assert_eq!(c.exists(&i.to_le_bytes()).unwrap(), Some(1), "{i}");
        }
        assert_eq!(c.stat(STAT_ENTRIES).unwrap(), 10);
    }

    #[test]
    fn none_policy_fills_to_the_last_unit() {
        let c = cache(MIN_POOL, REPLACEMENT_NONE);
        let v = [1u8; 256];
        let mut n = 0u32;
        while c.put(&n.to_le_bytes(), &v).is_ok() {
            n += 1;
        }
        assert_eq!(n as usize, MIN_POOL / 256);
        assert_eq!(c.stat(STAT_POOL_SIZE_USED).unwrap() as usize, MIN_POOL);
    }
}
