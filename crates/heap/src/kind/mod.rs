//! What a kind is, the table of kinds, and the heap operations on them.
//!
//! A `memkind_t` handed to C is the address of a [`Slot`] in one of two static tables
//! (static kinds, then created kinds). Slots never move or go away, so a handle is checked
//! by address before use, and a destroyed or foreign handle is an error, not a crash.
//! Which kind owns a pointer is read from the chunk map (see `chunk.rs`), never from the
//! caller's claim.

pub mod big;
pub mod cache;
pub mod file;
pub mod fixed;
pub mod fork;
pub mod space;
pub mod statics;

use std::cell::Cell;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

use crate::arena::{self, extent_hooks_t};
use crate::chunk;
use crate::env;
use crate::error::{Error, Result};
use crate::sys;
use space::Space;

pub(crate) const MAX_ARENAS: usize = 64;

pub(crate) const STATE_FREE: u8 = 0;
pub(crate) const STATE_BUSY: u8 = 1;
pub(crate) const STATE_LIVE: u8 = 2;
/// A static kind the machine cannot provide.
pub(crate) const STATE_UNAVAILABLE: u8 = 3;

/// No thread cache: every block goes to the arena.
pub(crate) const CACHE_NONE: u8 = 0;
/// An explicit cache per thread for this kind (see `cache.rs`).
pub(crate) const CACHE_PER_THREAD: u8 = 2;

/// A power-of-two size, so telling a handle from a foreign pointer (`slot_in`) and finding a
/// slot by id are shifts rather than multiplications on the allocation fast paths.
#[repr(C, align(1024))]
pub struct Slot {
    /// Must stay first: the hooks get a pointer to it and find their slot from it.
    hooks: extent_hooks_t,
    pub id: u32,
    pub state: AtomicU8,
    /// Which thread cache blocks go through: one of the `CACHE_*` values.
    tcache: AtomicU8,
    /// Bumped when the kind is destroyed, so threads drop their stale caches of it.
    pub gen: AtomicU32,
    narenas: AtomicU32,
    arenas: [AtomicU32; MAX_ARENAS],
    /// Backing file, or -1 for anonymous memory.
    pub fd: AtomicI32,
    /// Limit on committed bytes (0 = only the file system limits).
    pub max_bytes: AtomicUsize,
    pub committed: AtomicUsize,
    /// Bytes new ranges may still take before the file system's free space is asked
    /// again: half of what it had free at the last look (see `space::fits_fs`).
    pub fs_headroom: AtomicU64,
    /// Size given to `memkind_create_fixed`; 0 for every other kind.
    pub fixed_size: AtomicUsize,
    /// A block may have gone back to the arenas since the last reclaim, so purging may let
    /// a full kind satisfy a request again. Written only when it changes, so frees on
    /// many threads leave the cache line shared.
    freed: AtomicBool,
    /// Reclaims done so far (bumped after each purge); a recorded failure holds only for
    /// the epoch it was seen in.
    reclaims: AtomicU32,
    /// `committed` right after the last reclaim's purge. jemalloc leaves committed pages
    /// dirty without any free (the unused part of an extent it split), so a purge may help
    /// whenever more was committed since.
    reclaimed_at: AtomicUsize,
    /// The last request that failed with nothing left to reclaim, `epoch << 48 | extra <<
    /// 40 | size` (0 = none): the same request fails again at once, past jemalloc, until
    /// a block is freed or a reclaim runs.
    full: AtomicU64,
    pub space: crate::sys::lock::Mutex<Space>,
}

impl Slot {
    pub const fn new(id: u32) -> Self {
        Slot {
            hooks: space::HOOKS,
            id,
            state: AtomicU8::new(STATE_FREE),
            tcache: AtomicU8::new(CACHE_NONE),
            gen: AtomicU32::new(0),
            narenas: AtomicU32::new(0),
            arenas: [const { AtomicU32::new(0) }; MAX_ARENAS],
            fd: AtomicI32::new(-1),
            max_bytes: AtomicUsize::new(0),
            committed: AtomicUsize::new(0),
            fs_headroom: AtomicU64::new(0),
            fixed_size: AtomicUsize::new(0),
            freed: AtomicBool::new(true),
            reclaims: AtomicU32::new(0),
            reclaimed_at: AtomicUsize::new(0),
            full: AtomicU64::new(0),
            space: crate::sys::lock::Mutex::new(Space::new()),
        }
    }

    pub fn handle(&'static self) -> *mut c_void {
        self as *const Slot as *mut c_void
    }

    #[inline]
    pub fn is_live(&self) -> bool {
        self.state.load(Ordering::Acquire) == STATE_LIVE
    }

    #[inline]
    pub fn is_file(&self) -> bool {
        self.fd.load(Ordering::Relaxed) >= 0
    }

    /// Whether the kind lives in a caller's region (`memkind_create_fixed`).
    #[inline]
    pub fn is_fixed(&self) -> bool {
        self.fixed_size.load(Ordering::Relaxed) != 0
    }

    /// Whether the kind's space is bounded, so a failed allocation is worth a retry after
    /// giving cached pages back.
    #[inline]
    fn bounded(&self) -> bool {
        self.is_file() || self.is_fixed()
    }

    fn hooks(&'static self) -> &'static extent_hooks_t {
        &self.hooks
    }

    /// Creates `n` arenas on this slot's hooks with the given decay times.
    pub fn start_arenas(
        &'static self,
        n: usize,
        tcache: u8,
        decay: Option<(isize, isize)>,
    ) -> Result<()> {
        let n = n.clamp(1, MAX_ARENAS);
        crate::env::on_first_kind();
        // MEMKIND_HOG_MEMORY=1: freed pages are never purged.
        let decay = if crate::env::hog_memory() {
            Some((-1, -1))
        } else {
            decay
        };
        for i in 0..n {
            let Some(a) = arena::create(self.hooks()) else {
                self.stop_arenas();
                return Err(Error::ArenasCreate);
            };
            self.arenas[i].store(a, Ordering::Relaxed);
            self.narenas.store(i as u32 + 1, Ordering::Release);
            if let Some((dirty, muzzy)) = decay {
                arena::set_decay(a, dirty, muzzy);
            }
        }
        self.freed.store(true, Ordering::Relaxed);
        self.full.store(0, Ordering::Relaxed);
        self.reclaimed_at.store(0, Ordering::Relaxed);
        self.tcache.store(tcache, Ordering::Release);
        Ok(())
    }

    pub fn stop_arenas(&self) {
        let n = self.narenas.swap(0, Ordering::AcqRel) as usize;
        for a in &self.arenas[..n] {
            arena::destroy(a.load(Ordering::Relaxed));
        }
    }

    fn purge_all(&self) {
        let n = self.narenas.load(Ordering::Acquire) as usize;
        for a in &self.arenas[..n] {
            arena::purge(a.load(Ordering::Relaxed));
        }
    }

    /// Purges every arena of the kind for a reclaim. jemalloc's purge of an arena returns
    /// at once, purging nothing, while another thread's decay is purging it (allocations
    /// advance the decay clock): a reclaim then found the freed space still committed and
    /// the next failures took the kind as full (`refill_race_ours.c`, up to half the runs
    /// when threads kept more blocks cached). A purge of a file kind that gave nothing back
    /// is retried after short waits before the kind is taken to hold nothing to purge.
    fn purge_fully(&self) {
        const WAITS_US: [u64; 3] = [50, 200, 1000];
        let gave_back = || {
            let before = self.committed.load(Ordering::Acquire);
            self.purge_all();
            self.committed.load(Ordering::Acquire) < before
        };
        if gave_back() || !self.is_file() {
            return;
        }
        for wait in WAITS_US {
            std::thread::sleep(std::time::Duration::from_micros(wait));
            if gave_back() {
                return;
            }
        }
    }

    /// The calling thread's arena of this kind.
    #[inline]
    fn thread_arena(&self) -> u32 {
        let n = self.narenas.load(Ordering::Acquire).max(1);
        self.arenas[(thread_index() % n) as usize].load(Ordering::Relaxed)
    }

    /// mallocx flags for the calling thread: its arena of this kind, with or without cache.
    #[inline]
    fn flags(&self) -> c_int {
        match self.tcache.load(Ordering::Relaxed) {
            CACHE_PER_THREAD => {
                cache::alloc_flags(self).unwrap_or_else(|| arena::flags(self.thread_arena()))
            }
            _ => arena::flags(self.thread_arena()),
        }
    }

    #[inline]
    fn raw_alloc(&self, size: usize, extra: c_int) -> *mut c_void {
        match self.tcache.load(Ordering::Relaxed) {
            CACHE_PER_THREAD => cache::alloc(self, size, extra).unwrap_or_else(|| {
                let p = arena::alloc(size, arena::flags(self.thread_arena()) | extra);
                // SAFETY: p is NULL or the block jemalloc just returned.
                unsafe { self.note_new_block(p) };
                p
            }),
            _ => arena::alloc(size, self.flags() | extra),
        }
    }

    /// # Safety
    /// `p` must be a live block of this kind, claimed by the caller.
    #[inline]
    unsafe fn raw_free(&self, p: *mut c_void) {
        match self.tcache.load(Ordering::Relaxed) {
            CACHE_PER_THREAD => {
                self.note_free();
                if self.is_file() {
                    match chunk::class_at(p as usize) {
                        chunk::CLASS_BIG => return self.free_big(p),
                        chunk::CLASS_BIG_FREED => return report_foreign("memkind_free", p),
                        _ => {}
                    }
                }
                // SAFETY: p is a live block (the contract).
                let size = unsafe { arena::usable_size(p) };
                // SAFETY: per the contract; `size` is p's usable size.
                unsafe { cache::free(self, p, size) }
            }
            _ => {
                self.note_free();
                // SAFETY: per the contract.
                unsafe { arena::free(p, arena::free_flags(None)) }
            }
        }
    }

    /// Records the class of a block jemalloc just handed out past the fronts (realloc,
    /// defrag, a thread without a front), for kinds whose frees read the class map.
    ///
    /// # Safety
    /// `p` is NULL or a live block jemalloc just returned.
    #[inline]
    unsafe fn note_new_block(&self, p: *mut c_void) {
        if self.tcache.load(Ordering::Relaxed) == CACHE_PER_THREAD {
            // SAFETY: per the contract.
            unsafe { cache::note_block(p) };
        }
    }

    /// Frees `p`, a large block of this file kind (`big.rs`): the thread keeps it for its
    /// next requests when it can, as it keeps jemalloc's large blocks.
    fn free_big(&self, p: *mut c_void) {
        match cache::keep_big(self, p, big::size_of(p).unwrap_or(0)) {
            cache::Kept::Kept => {}
            cache::Kept::Twice => report_foreign("memkind_free", p),
            cache::Kept::No => big::free(self, p),
        }
    }

    /// Records that a block of this kind was freed (see `freed`).
    #[inline]
    pub(crate) fn note_free(&self) {
        if !self.freed.load(Ordering::Relaxed) {
            self.freed.store(true, Ordering::Relaxed);
        }
    }

    /// Gives cached and dirty pages back so a kind at its limit can satisfy a request.
    /// Only when that can help: this thread freed into its cache of the kind since it last
    /// flushed it, a block of the kind was freed, or pages were committed since the last
    /// reclaim. Otherwise (false) a retry would fail as well, and a full kind fails at the
    /// cost of one jemalloc miss, as in memkind.
    fn reclaim(&self) -> bool {
        let own =
            self.tcache.load(Ordering::Relaxed) == CACHE_PER_THREAD && cache::take_dirty(self);
        // Cleared before the purge, so a free racing with it is seen by the next failure.
        let freed = self.freed.load(Ordering::Relaxed) && self.freed.swap(false, Ordering::AcqRel);
        if !own && !freed && !self.grown_since_reclaim() {
            return false;
        }
        if own {
            cache::flush_own(self);
        }
        if self.is_file() {
            big::purge(self);
        }
        self.purge_fully();
        self.reclaimed_at
            .store(self.committed.load(Ordering::Acquire), Ordering::Relaxed);
        self.reclaims.fetch_add(1, Ordering::Release);
        true
    }

    #[inline]
    fn grown_since_reclaim(&self) -> bool {
        self.committed.load(Ordering::Acquire) > self.reclaimed_at.load(Ordering::Relaxed)
    }

    /// Whether the request a failure was recorded for (`full`, non-zero) is this one and
    /// still bound to fail: nothing was freed into or committed to the kind, no reclaim
    /// ran or is running, and this thread's cache of it holds no freed blocks since.
    #[cold]
    fn known_full(&self, full: u64, size: usize, extra: c_int) -> bool {
        let same_epoch = || (full >> 48) as u16 == self.reclaims.load(Ordering::Acquire) as u16;
        let own_dirty =
            || self.tcache.load(Ordering::Relaxed) == CACHE_PER_THREAD && cache::is_dirty(self);
        if full_key(size, extra) != Some(full & FULL_KEY_MASK) || !same_epoch() {
            return false;
        }
        if self.freed.load(Ordering::Acquire) || self.grown_since_reclaim() || own_dirty() {
            return false;
        }
        // Last: a reclaim under way may have consumed the marks above; one that just ended
        // has bumped the epoch.
        !RECLAIMING.load(Ordering::Acquire) && same_epoch()
    }

    /// Records that `size`/`extra` failed in reclaim epoch `epoch` with nothing to reclaim.
    fn record_full(&self, size: usize, extra: c_int, epoch: u32) {
        if let Some(k) = full_key(size, extra) {
            self.full
                .store(((epoch as u16 as u64) << 48) | k, Ordering::Relaxed);
        }
    }
}

/// `MEMKIND_DEFAULT`'s allocation fast path: a block of the right class from the calling
/// thread's front of DEFAULT, as for every kind with per-thread caches (jemalloc's
/// automatic cache is not used: see docs/DESIGN.md). None sends the caller down the general
/// path: a large request, an empty stack, no front yet, `MEMKIND_CHECK=1`.
#[inline]
pub fn default_malloc_fast(size: usize) -> Option<*mut c_void> {
    if size == 0 || size > cache::FRONT_MAX || !env::check_known_off() {
        return None;
    }
    let id = statics::PARTITION_DEFAULT;
    cache::pop_cached_id(&statics::SLOTS[id as usize], id, size)
}

/// Allocation fast path of the other kinds with per-thread caches (file kinds, static
/// kinds): a block of the right class from the calling thread's front. None sends the
/// caller down the general path (any other kind, a large request, an empty stack, no
/// front yet, `MEMKIND_CHECK=1`).
#[inline]
pub fn cached_malloc_fast(h: *const c_void, size: usize) -> Option<*mut c_void> {
    if size == 0 || size > cache::FRONT_MAX || !env::check_known_off() {
        return None;
    }
    // Created kinds first: they are what this path is for. A live front of the slot's
    // current generation shows the kind is live and has per-thread caches.
    let slot = file::slot_of_handle(h).or_else(|| statics::slot_of_handle(h))?;
    cache::pop_cached(slot, size)
}

/// Free fast path: true when `p` is a small block of a kind (DEFAULT included) and went
/// into the calling thread's front; false sends the caller down the general path (kinds without per-thread caches,
/// foreign pointers, large blocks, a full stack, `MEMKIND_CHECK=1`).
#[inline]
// The C contract of memkind_free: a pointer in a kind's memory is a live block of it.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn free_fast(p: *mut c_void) -> bool {
    if !env::check_known_off() {
        return false;
    }
    match chunk::slot_of_gib(p as usize) {
        // A live front of the slot's current generation (checked by push_cached) shows
        // the kind is live and has per-thread caches.
        Some(id) => match slot_by_id(id) {
            Some(s) => {
                let class = chunk::class_at(p as usize);
                if class == 0 {
                    return false;
                }
                // SAFETY: p lies in a live kind's memory: a live block of it by the C
                // contract (without MEMKIND_CHECK the caller's word is taken, as memkind
                // takes it), of the class the map records for it.
                let kept = unsafe { cache::push_cached(s, id, p, class) };
                if kept {
                    s.note_free();
                }
                kept
            }
            _ => false,
        },
        None => false,
    }
}

#[inline]
pub(crate) fn thread_index() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local! {
        static INDEX: Cell<u32> = const { Cell::new(u32::MAX) };
    }
    INDEX
        .try_with(|c| {
            let v = c.get();
            if v != u32::MAX {
                return v;
            }
            let v = NEXT.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
            c.set(v);
            v
        })
        .unwrap_or(0)
}

/// The slot of `table` at address `h`, if `h` points exactly at one.
#[inline]
pub(crate) fn slot_in(table: &'static [Slot], h: *const c_void) -> Option<&'static Slot> {
    let off = (h as usize).wrapping_sub(table.as_ptr() as usize);
    let size = std::mem::size_of::<Slot>();
    if off < std::mem::size_of_val(table) && off % size == 0 {
        Some(&table[off / size])
    } else {
        None
    }
}

/// The slot a C handle names, if it is one of ours (live or not).
#[inline]
pub fn slot_of_handle(h: *const c_void) -> Option<&'static Slot> {
    statics::slot_of_handle(h).or_else(|| file::slot_of_handle(h))
}

/// Slot by id (statics first, then created kinds).
#[inline]
pub fn slot_by_id(id: u32) -> Option<&'static Slot> {
    statics::slot_by_id(id).or_else(|| file::slot_by_id(id))
}

/// A live, usable slot for a C handle; initialises static kinds on first use.
#[inline]
pub fn usable(h: *const c_void) -> Result<&'static Slot> {
    let slot = slot_of_handle(h).ok_or(Error::Invalid)?;
    match slot.state.load(Ordering::Acquire) {
        STATE_LIVE => Ok(slot),
        STATE_UNAVAILABLE => statics::provided(slot.id).and(Err(Error::Unavailable)),
        _ if statics::is_static(slot) => statics::init(slot),
        _ => Err(Error::Invalid),
    }
}

/// Without `MEMKIND_CHECK`: the slot whose whole-GiB chunk holds `p`, in one load. None
/// for fixed regions, memory of no kind and with the check on (those take [`owner`]).
#[inline]
fn gib_slot(p: *const c_void) -> Option<&'static Slot> {
    if !env::check_known_off() {
        return None;
    }
    chunk::slot_of_gib(p as usize).and_then(slot_by_id)
}

/// What a pointer handed back to us turned out to be.
pub enum Owner {
    Live(&'static Slot, &'static chunk::Chunk),
    /// In no kind's memory, or not the start of a live block.
    Unknown,
}

#[inline]
pub fn owner(p: *const c_void) -> Owner {
    let addr = p as usize;
    let Some(c) = chunk::lookup(addr) else {
        return Owner::Unknown;
    };
    match slot_by_id(c.slot.load(Ordering::Relaxed)) {
        Some(s) if s.is_live() => Owner::Live(s, c),
        _ => Owner::Unknown,
    }
}

/// Reports a pointer no kind allocated (or already freed) and leaves it alone.
pub fn report_foreign(func: &str, p: *const c_void) {
    let mut buf = [0u8; 18];
    sys::report(&[
        b"memkind: ",
        func.as_bytes(),
        b": pointer ",
        sys::hex(p as usize, &mut buf),
        b" was not allocated by any kind or was already freed; ignored",
    ]);
}

/// Whether `p`, in chunk `c`, may be freed now: with `MEMKIND_CHECK=1` only if it is a live
/// block no one else is freeing (and it is taken out of the live map); otherwise any
/// pointer inside a live kind is taken as the caller says.
#[inline]
fn take(c: &chunk::Chunk, p: *const c_void) -> bool {
    !env::check() || c.claim(p as usize)
}

/// Whether `p` may be looked at as a block (`usable_size`, `detect_kind`).
#[inline]
fn looks_live(c: &chunk::Chunk, p: *const c_void) -> bool {
    !env::check() || c.is_live(p as usize)
}

#[inline]
fn record(c_slot: &Slot, p: *mut c_void) -> *mut c_void {
    if !p.is_null() && env::check() {
        if let Some(c) = chunk::lookup(p as usize) {
            c.mark_live(p as usize);
        } else {
            debug_assert!(
                false,
                "jemalloc returned memory outside {}'s chunks",
                c_slot.id
            );
        }
    }
    p
}

const FULL_KEY_MASK: u64 = (1 << 48) - 1;

/// `extra << 40 | size` for [`Slot::full`]; None for sizes that do not fit (never recorded).
#[inline]
fn full_key(size: usize, extra: c_int) -> Option<u64> {
    (size < 1 << 40 && (0..256).contains(&extra)).then_some(((extra as u64) << 40) | size as u64)
}

/// Allocates with retry: a file-backed kind at its limit first gives its cached pages back.
#[inline]
fn alloc_in(slot: &Slot, size: usize, extra: c_int) -> Result<*mut c_void> {
    if slot.narenas.load(Ordering::Relaxed) == 0 {
        // A kind without arenas (a fixed kind smaller than a page) holds nothing.
        return Err(Error::NoMem);
    }
    let full = slot.full.load(Ordering::Relaxed);
    // Read before the attempt: a reclaim finishing during it makes its failure stale.
    let epoch = slot.reclaims.load(Ordering::Acquire);
    if full != 0 && slot.known_full(full, size, extra) {
        return Err(Error::NoMem);
    }
    let p = attempt(slot, size, extra);
    if !p.is_null() {
        return Ok(record(slot, p));
    }
    alloc_retry(slot, size, extra, epoch)
}

/// One allocation attempt: large blocks of file kinds here (`big.rs`), the rest from
/// jemalloc through the kind's caches.
#[inline]
fn attempt(slot: &Slot, size: usize, extra: c_int) -> *mut c_void {
    if big::wants(slot, size) {
        if extra == 0 {
            if let Some(p) = cache::take_kept(slot, size) {
                return p;
            }
        }
        let align = 1usize << (extra & arena::LG_ALIGN_MASK);
        return big::alloc(slot, size, align, extra & arena::ZERO != 0);
    }
    slot.raw_alloc(size, extra)
}

/// Usable size of `p`, a live block of `s`.
///
/// # Safety
/// `p` must be a live block of `s`.
#[inline]
unsafe fn block_size(s: &Slot, p: *const c_void) -> usize {
    if s.is_file() {
        if let Some(n) = big::size_of(p) {
            return n;
        }
    }
    // SAFETY: per the contract, and p is not a large block of ours.
    unsafe { arena::usable_size(p as *mut c_void) }
}

#[cold]
fn alloc_retry(slot: &Slot, size: usize, extra: c_int, epoch: u32) -> Result<*mut c_void> {
    if !slot.bounded() {
        return Err(Error::NoMem);
    }
    // Failures are serialized: threads failing together would otherwise see one another's
    // reclaim half done (the marks it consumed cleared, its purge not finished) and give
    // up while it makes room.
    let _serial = RECLAIM_LOCK.lock();
    RECLAIMING.store(true, Ordering::SeqCst);
    let r = retry_locked(slot, size, extra, epoch);
    RECLAIMING.store(false, Ordering::Release);
    r
}

/// [`alloc_retry`] under the reclaim lock.
fn retry_locked(slot: &Slot, size: usize, extra: c_int, epoch: u32) -> Result<*mut c_void> {
    let mut epoch = epoch;
    // Bounded: a retry that commits part of its extent and fails leaves the kind "grown".
    for _ in 0..2 {
        let now = slot.reclaims.load(Ordering::Acquire);
        // A reclaim that ran since this attempt started may have made room; else try one.
        if now == epoch && !slot.reclaim() {
            break;
        }
        epoch = slot.reclaims.load(Ordering::Acquire);
        let p = attempt(slot, size, extra);
        if !p.is_null() {
            return Ok(record(slot, p));
        }
    }
    slot.record_full(size, extra, epoch);
    Err(Error::NoMem)
}

/// Set while a failed allocation reclaims: a recorded failure does not hold meanwhile.
static RECLAIMING: AtomicBool = AtomicBool::new(false);
/// In a forked child: a reclaim another thread was running is gone with it.
pub(crate) fn reclaim_reset_in_child() {
    RECLAIMING.store(false, Ordering::Release);
}

/// Held while a failed allocation reclaims and retries (see `alloc_retry`).
pub(crate) static RECLAIM_LOCK: crate::sys::lock::Mutex<()> = crate::sys::lock::Mutex::new(());

#[inline]
pub fn malloc(slot: &Slot, size: usize) -> Result<*mut c_void> {
    if size == 0 {
        return Ok(std::ptr::null_mut());
    }
    alloc_in(slot, size, 0)
}

#[inline]
pub fn calloc(slot: &Slot, num: usize, size: usize) -> Result<*mut c_void> {
    let total = num.checked_mul(size).ok_or(Error::NoMem)?;
    if total == 0 {
        return Ok(std::ptr::null_mut());
    }
    alloc_in(slot, total, arena::ZERO)
}

/// Alignment must already be checked (power of two, at least pointer size).
#[inline]
pub fn aligned(slot: &Slot, align: usize, size: usize) -> Result<*mut c_void> {
    if size == 0 {
        return Ok(std::ptr::null_mut());
    }
    alloc_in(slot, size, arena::align_flag(align))
}

/// Frees `p` into whichever kind owns it; false if no kind owns it as a live block.
#[inline]
// Any pointer may come here: one outside every live kind is refused; one inside is passed
// to jemalloc after the live map vouches for it (MEMKIND_CHECK=1), or on the C contract
// that it is a live block of that kind (memkind_free's, memkind_realloc's).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn free(p: *mut c_void) -> bool {
    match owner(p) {
        Owner::Live(s, c) if take(c, p) => {
            // SAFETY: p is a live block of this kind: proved by the live map's claim with
            // MEMKIND_CHECK=1, by the caller's contract (memkind_free's) otherwise.
            unsafe { s.raw_free(p) };
            true
        }
        _ => false,
    }
}

/// Frees `p` like [`free`] and says which kind it came from and how large it was.
#[inline]
// Any pointer may come here: one outside every live kind is refused; one inside is passed
// to jemalloc after the live map vouches for it (MEMKIND_CHECK=1), or on the C contract
// that it is a live block of that kind (memkind_free's, memkind_realloc's).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn free_sized(p: *mut c_void) -> Option<(&'static Slot, usize)> {
    match owner(p) {
        Owner::Live(s, c) if take(c, p) => {
            // SAFETY: p is a live block of this kind: the live map's claim proved it (and
            // that no one else frees it) with MEMKIND_CHECK=1, the caller's contract otherwise.
            let size = unsafe { block_size(s, p) };
            // SAFETY: the same block, still live: usable_size does not free it.
            unsafe { s.raw_free(p) };
            Some((s, size))
        }
        _ => None,
    }
}

// Any pointer may come here: one outside every live kind is refused; one inside is passed
// to jemalloc after the live map vouches for it (MEMKIND_CHECK=1), or on the C contract
// that it is a live block of that kind (memkind_free's, memkind_realloc's).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
#[inline]
pub fn usable_size(p: *const c_void) -> Option<usize> {
    // A small block's size from the class map (memtier asks at every malloc and free).
    if let Some(s) = gib_slot(p) {
        if !s.is_live() {
            return None;
        }
        if let Some(size) = cache::class_size(chunk::class_at(p as usize)) {
            return Some(size);
        }
        // SAFETY: p lies in a live kind's memory: a live block by the C contract.
        return Some(unsafe { block_size(s, p) });
    }
    // SAFETY: detect vouches that p is the start of a live block of s.
    detect_outside_gib(p).map(|s| unsafe { block_size(s, p) })
}

/// [`usable_size`] for the C API: 0 for NULL, 0 and a report for a pointer no kind owns.
pub fn usable_size_or_report(func: &str, p: *const c_void) -> usize {
    if p.is_null() {
        return 0;
    }
    usable_size(p).unwrap_or_else(|| {
        report_foreign(func, p);
        0
    })
}

#[inline]
pub fn detect(p: *const c_void) -> Option<&'static Slot> {
    if let Some(s) = gib_slot(p) {
        return s.is_live().then_some(s);
    }
    detect_outside_gib(p)
}

/// [`detect`] (and [`usable_size`]) for pointers outside the whole-GiB chunks (fixed kinds,
/// foreign memory) and under `MEMKIND_CHECK=1`: out of line, so the common case inlines
/// into the C entries.
#[cold]
fn detect_outside_gib(p: *const c_void) -> Option<&'static Slot> {
    match owner(p) {
        Owner::Live(s, c) if looks_live(c, p) => Some(s),
        _ => None,
    }
}

/// Resizes `p` (owned by any kind) into kind `target`. `Err(Invalid)` for a foreign `p`.
// Any pointer may come here: one outside every live kind is refused; one inside is passed
// to jemalloc after the live map vouches for it (MEMKIND_CHECK=1), or on the C contract
// that it is a live block of that kind (memkind_free's, memkind_realloc's).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn realloc(target: &Slot, p: *mut c_void, size: usize) -> Result<*mut c_void> {
    let Owner::Live(from, c) = owner(p) else {
        return Err(Error::Invalid);
    };
    if from.id != target.id {
        // Moving between kinds: allocate in the target, copy, free the old block.
        let Some(old) = usable_size(p) else {
            return Err(Error::Invalid);
        };
        let q = alloc_in(target, size, 0)?;
        // SAFETY: both blocks are live and at least min(old, size) bytes long.
        unsafe { std::ptr::copy_nonoverlapping(p as *const u8, q as *mut u8, old.min(size)) };
        free(p);
        return Ok(q);
    }
    // Take p out of the live map first, so no racing free sees it while jemalloc moves it.
    if !take(c, p) {
        return Err(Error::Invalid);
    }
    let was_big = from.is_file() && chunk::class_at(p as usize) == chunk::CLASS_BIG;
    if was_big || big::wants(target, size) {
        return realloc_big(target, c, p, size, was_big);
    }
    let flags = target.flags();
    // SAFETY: p is live and ours alone: the claim proved it with MEMKIND_CHECK=1, the
    // caller's contract (memkind_realloc's) says so otherwise.
    let mut q = unsafe { arena::realloc(p, size, flags) };
    if q.is_null() && target.bounded() && target.reclaim() {
        // SAFETY: a failed rallocx leaves p live and untouched, so it is still ours alone.
        q = unsafe { arena::realloc(p, size, flags) };
    }
    if q.is_null() {
        if env::check() {
            c.mark_live(p as usize);
        }
        return Err(Error::NoMem);
    }
    if target.bounded() {
        // The old block may have been freed, or the tail of a shrunk one.
        target.note_free();
    }
    // SAFETY: q is the live block rallocx just returned.
    unsafe { target.note_new_block(q) };
    Ok(record(target, q))
}

/// [`realloc`] within a file kind where the old or the new block is large (`big.rs`):
/// in place when both are and the space around allows, else moved. `p` is claimed.
fn realloc_big(
    target: &Slot,
    c: &chunk::Chunk,
    p: *mut c_void,
    size: usize,
    was_big: bool,
) -> Result<*mut c_void> {
    if was_big && size >= big::BIG_MIN && big::resize_in_place(target, p, size) {
        target.note_free();
        return Ok(record(target, p));
    }
    // SAFETY: p is a live block of target, claimed by the caller.
    let old = unsafe { block_size(target, p) };
    let q = match alloc_in(target, size, 0) {
        Ok(q) => q,
        Err(e) => {
            if env::check() {
                c.mark_live(p as usize);
            }
            return Err(e);
        }
    };
    // SAFETY: both blocks are live, distinct, and at least min(old, size) bytes long.
    unsafe { std::ptr::copy_nonoverlapping(p as *const u8, q as *mut u8, old.min(size)) };
    // SAFETY: p is a live block of target, claimed by the caller and no longer used.
    unsafe { target.raw_free(p) };
    Ok(q)
}

/// Releases everything a created kind holds; its handle stays invalid until reused.
pub fn destroy(slot: &'static Slot) -> Result<()> {
    // memkind_create_kind hands out static kinds; destroying one is a no-op, as in memkind.
    if statics::is_static(slot) {
        return Ok(());
    }
    if slot
        .state
        .compare_exchange(STATE_LIVE, STATE_BUSY, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(Error::Invalid);
    }
    if slot.is_fixed() {
        fixed::teardown(slot);
    } else {
        file::teardown(slot);
    }
    Ok(())
}

/// Bytes the kind can hold at most, as `memkind_get_capacity` reports.
pub fn capacity(slot: &Slot) -> Option<u64> {
    if slot.is_fixed() {
        return Some(slot.fixed_size.load(Ordering::Relaxed) as u64);
    }
    if slot.is_file() {
        let max = slot.max_bytes.load(Ordering::Relaxed);
        if max != 0 {
            return Some(max as u64);
        }
        return sys::fs_size(slot.fd.load(Ordering::Relaxed)).ok();
    }
    if statics::is_static(slot) {
        return statics::capacity(slot.id);
    }
    Some(sys::total_ram())
}

/// A statistic of one kind, summed over its arenas as of the last refresh
/// (`arena::refresh_stats`); 0 for a kind without arenas (a static kind not started).
pub fn stat(slot: &Slot, stat: arena::Stat) -> Option<usize> {
    let n = slot.narenas.load(Ordering::Acquire) as usize;
    // An arena made after the last refresh has no cached figures yet: it counts 0, as
    // memkind answers for a kind first used after memkind_update_cached_stats.
    let jemalloc = slot.arenas[..n].iter().fold(0usize, |sum, a| {
        sum + arena::arena_stat(a.load(Ordering::Relaxed), stat).unwrap_or(0)
    });
    Some(jemalloc + big_stat(slot, stat))
}

/// `slot`'s large blocks' share of a statistic, as of the last refresh (0 but for file
/// kinds).
fn big_stat(slot: &Slot, stat: arena::Stat) -> usize {
    if !slot.is_file() {
        return 0;
    }
    let (live, dirty) = slot.space.lock().big.stats();
    match stat {
        arena::Stat::Resident => live + dirty,
        arena::Stat::Active | arena::Stat::Allocated => live,
    }
}

/// Refreshes the large-block figures of every live file kind (with jemalloc's own, at
/// `memkind_update_cached_stats`).
pub fn refresh_big_stats() {
    for s in file::SLOTS.iter().filter(|s| s.is_live() && s.is_file()) {
        s.space.lock().big.refresh();
    }
}

/// The large blocks' share of a statistic over every live file kind (for a NULL kind).
pub fn big_total(stat: arena::Stat) -> usize {
    file::SLOTS
        .iter()
        .filter(|s| s.is_live())
        .map(|s| big_stat(s, stat))
        .sum()
}

/// Whether moving a block out of its slab helps: the slab is not the one new blocks are
/// taken from, has free regions, and is no fuller than the average slab of its size class,
/// so draining it lets a page go back while the block lands in a fuller slab.
fn worth_moving(p: usize, u: &arena::Utilization) -> bool {
    if u.nregs <= 1 || u.nfree == 0 || u.bin_nregs == 0 {
        return false; // a large block, a full slab, or no statistics
    }
    if u.slabcur != 0 && (u.slabcur..u.slabcur + u.size).contains(&p) {
        return false;
    }
    let used_here = u.nregs - u.nfree;
    let slabs = u.bin_nregs / u.nregs;
    let used_in_bin = u.bin_nregs - u.bin_nfree;
    used_here * slabs <= used_in_bin
}

/// `memkind_defrag_reallocate`: moves a live small block within its kind (and arena) when
/// that helps empty a sparse slab; the contents move along. None when it stays, and for
/// any pointer that is not the start of a live block.
// Any pointer may come here: one outside every live kind is refused; one inside is passed
// to jemalloc after the live map vouches for it (MEMKIND_CHECK=1), or on the C contract
// that it is a live block of that kind (memkind_free's, memkind_realloc's).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn defrag(p: *mut c_void) -> Option<*mut c_void> {
    let Owner::Live(slot, c) = owner(p) else {
        return None;
    };
    if !looks_live(c, p) || (slot.is_file() && big::size_of(p).is_some()) {
        return None;
    }
    // SAFETY: the live map shows p is the start of a live block.
    let u = unsafe { arena::utilization(p) }?;
    if !worth_moving(p as usize, &u) {
        return None;
    }
    // SAFETY: p is the start of a live block (checked just above), so jemalloc knows it.
    let (a, size) = unsafe { (arena::arena_of(p)?, arena::usable_size(p)) };
    // Past the thread cache both ways: a cached region would likely be in the sparse slab,
    // and a cached free would keep that slab from draining.
    let q = arena::alloc(size, arena::flags(a));
    if q.is_null() {
        return None;
    }
    if !take(c, p) {
        // Freed by another thread meanwhile: nothing to move.
        // SAFETY: q is the live block just allocated.
        unsafe { arena::free(q, arena::free_flags(None)) };
        return None;
    }
    // SAFETY: both blocks are live, `size` bytes long (same size class), and distinct; the
    // claim makes p ours alone until it is freed.
    unsafe {
        std::ptr::copy_nonoverlapping(p as *const u8, q as *mut u8, size);
        arena::free(p, arena::free_flags(None));
    }
    slot.note_free();
    // SAFETY: q is the live block allocated above.
    unsafe { slot.note_new_block(q) };
    Some(record(slot, q))
}

const _: () = assert!(std::mem::size_of::<Slot>() == 1024);
