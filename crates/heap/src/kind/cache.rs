//! Per-thread caches per kind.
//!
//! Every kind with per-thread caches (DEFAULT, the other static kinds, file kinds) gets, in
//! each thread that uses it, a [`Front`]: a stack of free blocks per size class up to
//! [`FRONT_MAX`], in front of an explicit jemalloc cache (`tcache.create`) used with that
//! kind's arenas only (jemalloc's automatic cache is shared by all arenas, and is not
//! used). A block freed and allocated again in the same thread never reaches jemalloc:
//! jemalloc's `mallocx` with explicit flags has no fast path (it costs about three times a
//! plain `malloc`), and a front pair costs what jemalloc's own fast path does. An empty
//! stack is refilled in bulk (`experimental.batch_alloc`); a full one gives its older half
//! to the jemalloc cache. A block is always freed through the freeing thread's front of the
//! block's own kind, so no cache ever holds another kind's memory.
//!
//! Lifetimes: a registry lists every front with its kind and thread. Destroying a kind
//! destroys the jemalloc caches of its fronts (flushing their blocks into the kind's
//! arenas) and bumps the generation, so threads see their front is stale and drop its
//! stacks without touching them; a thread's exit empties and frees that thread's fronts.
//! Both happen under the registry lock, so each cache is destroyed exactly once, and only
//! its own thread ever reads or writes a front.

use std::cell::Cell;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicU16, AtomicU8, Ordering};

use super::{file::MAX_KINDS, statics::NUM_STATIC, thread_index, Slot};
use crate::{arena, chunk};

const TOTAL_SLOTS: usize = NUM_STATIC + MAX_KINDS;

/// Largest request served from a front's stacks.
pub(crate) const FRONT_MAX: usize = 4096;
/// Size classes a front can hold (jemalloc has 29 up to 4 KiB with 16-byte quanta).
const NBINS: usize = 32;
/// Most blocks a stack holds: a batch of a thousand blocks of up to [`FULL_CAP_MAX`] stays
/// in the front. jemalloc's own cache keeps 32 blocks of 1 KiB, and each block past them
/// goes to the arena's bin (about 25 ns more a pair in such a batch).
const CAP: usize = 1024;
const FULL_CAP_MAX: usize = 1024;
/// Larger classes hold at most this many bytes a stack (and four blocks at least).
const STACK_BYTES: usize = 256 << 10;
/// Stack slots of a front, all bins together (jemalloc's 29 classes up to 4 KiB take
/// 22476 with the caps above); bins beyond this are not cached.
const SLOTS: usize = 22528;
/// Most blocks a refill takes at once.
const FILL_MAX: usize = 16;

/// Per 8-byte step of request size up to FRONT_MAX: the front bin + 1 (0 = none).
static CLASS_OF: [AtomicU8; FRONT_MAX / 8 + 1] = [const { AtomicU8::new(0) }; FRONT_MAX / 8 + 1];
/// Per bin: jemalloc's usable size of its blocks.
static CLASS_SIZE: [AtomicU16; NBINS] = [const { AtomicU16::new(0) }; NBINS];
/// Per bin: how many blocks its stack holds.
static CLASS_CAP: [AtomicU16; NBINS] = [const { AtomicU16::new(0) }; NBINS];
/// Per bin: where its stack starts in a front's slots.
static CLASS_BASE: [AtomicU16; NBINS] = [const { AtomicU16::new(0) }; NBINS];
/// Per bin: how many blocks a refill takes in one call, fewer than a slab holds (0: one
/// at a time). jemalloc's batch fill carves a request of a slab or more out of fresh
/// slabs, which the matching frees then empty and hand back: extent churn every round.
static CLASS_FILL: [AtomicU16; NBINS] = [const { AtomicU16::new(0) }; NBINS];
static CLASSES: std::sync::Once = std::sync::Once::new();

/// Reads jemalloc's size classes up to FRONT_MAX into the tables above. Runs before any
/// front exists, so every reader (a front's owner) sees the tables filled.
fn init_classes() {
    CLASSES.call_once(|| {
        let mut bins = 0usize;
        let mut last = 0usize;
        let mut base = 0usize;
        for (step, entry) in CLASS_OF.iter().enumerate().skip(1) {
            let class = arena::class_size(step * 8);
            if class == 0 || class > FRONT_MAX {
                break;
            }
            if class != last {
                let cap = if class <= FULL_CAP_MAX {
                    CAP
                } else {
                    (STACK_BYTES / class).clamp(4, CAP)
                };
                if bins == NBINS || base + cap > SLOTS {
                    break;
                }
                CLASS_SIZE[bins].store(class as u16, Ordering::Relaxed);
                CLASS_CAP[bins].store(cap as u16, Ordering::Relaxed);
                CLASS_BASE[bins].store(base as u16, Ordering::Relaxed);
                base += cap;
                // jemalloc's bins start at its smallest class, as this table does.
                let nregs = arena::bin_nregs(bins).unwrap_or(0) as usize;
                let fill = (cap / 2).min(FILL_MAX).min(nregs.saturating_sub(1));
                CLASS_FILL[bins].store(fill as u16, Ordering::Relaxed);
                bins += 1;
                last = class;
            }
            entry.store(bins as u8, Ordering::Relaxed);
        }
    });
}

/// Usable size of the blocks of class-map value `class` (non-zero).
#[inline]
pub fn class_size(class: u8) -> Option<usize> {
    let size = CLASS_SIZE
        .get((class as usize).checked_sub(1)?)?
        .load(Ordering::Relaxed);
    (size != 0).then_some(size as usize)
}

/// The bin of a request of `size` bytes (1..=FRONT_MAX), if a front holds its class.
#[inline]
fn bin_of(size: usize) -> Option<usize> {
    let b = CLASS_OF.get((size + 7) >> 3)?.load(Ordering::Relaxed);
    (b != 0).then(|| b as usize - 1)
}

/// One thread's cache of one kind. Cells only: it is reached through a shared reference
/// by its own thread alone.
pub(crate) struct Front {
    /// The kind's generation this front serves, + 1 (0: none): registered with a jemalloc
    /// cache for it. One compare tells a live front on the fast paths.
    live_gen: Cell<u64>,
    tcache: Cell<u32>,
    /// `mallocx` flags: the thread's arena of the kind and `tcache`.
    alloc_flags: Cell<c_int>,
    /// Blocks went into this front or its jemalloc cache since the last flush, so a flush
    /// may give memory back to a full kind.
    dirty: Cell<bool>,
    counts: [Cell<u16>; NBINS],
    /// Every bin's stack, at its `CLASS_BASE`.
    slots: [Cell<*mut c_void>; SLOTS],
    /// Freed blocks above jemalloc's thread cache (see [`large`]).
    large: [Cell<usize>; 2],
}

impl Front {
    /// A new front on the heap, all zero: every field's empty state. Made in place (180
    /// KiB would not fit every thread's stack), and pages of bins never used stay
    /// untouched.
    fn new_boxed() -> Option<Box<Front>> {
        let layout = std::alloc::Layout::new::<Front>();
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Front>();
        if p.is_null() {
            return None;
        }
        // SAFETY: p is a fresh allocation of Front's layout, all zero bytes, which is a
        // valid Front (integers 0, false, null pointers, inside Cells).
        Some(unsafe { Box::from_raw(p) })
    }

    /// Bin `bin`'s stack.
    #[inline]
    fn stack(&self, bin: usize) -> &[Cell<*mut c_void>] {
        let base = CLASS_BASE[bin].load(Ordering::Relaxed) as usize;
        let cap = CLASS_CAP[bin].load(Ordering::Relaxed) as usize;
        &self.slots[base..base + cap]
    }

    #[inline]
    fn free_flags(&self) -> c_int {
        arena::free_flags(Some(self.tcache.get()))
    }

    #[inline]
    fn pop(&self, bin: usize) -> Option<*mut c_void> {
        let count = self.counts.get(bin)?;
        let n = count.get() as usize;
        if n == 0 {
            return None;
        }
        count.set(n as u16 - 1);
        let base = CLASS_BASE[bin].load(Ordering::Relaxed) as usize;
        self.slots.get(base + n - 1).map(Cell::get)
    }

    /// Refills an empty stack with half its capacity and takes one block.
    fn refill(&self, bin: usize) -> Option<*mut c_void> {
        let fill = CLASS_FILL.get(bin)?.load(Ordering::Relaxed) as usize;
        if fill == 0 {
            return None;
        }
        let size = CLASS_SIZE[bin].load(Ordering::Relaxed) as usize;
        let stack = self.stack(bin);
        let got = arena::batch_alloc(&stack[..fill], size, self.alloc_flags.get());
        if got == 0 {
            return None;
        }
        for c in &stack[..got] {
            chunk::set_class(c.get() as usize, bin as u8 + 1);
        }
        // The fill took whole slabs' worth into the jemalloc cache.
        self.dirty.set(true);
        self.counts[bin].set(got as u16 - 1);
        Some(stack[got - 1].get())
    }

    /// Keeps `p` (a live block of usable size in `bin`'s class) for the next allocation.
    #[inline]
    fn push(&self, bin: usize, p: *mut c_void) {
        let n = self.counts[bin].get() as usize;
        let n = if n >= CLASS_CAP[bin].load(Ordering::Relaxed) as usize {
            self.spill(bin, n)
        } else {
            n
        };
        self.put(bin, n, p);
    }

    /// Stores `p` as the `n`th block of `bin`'s stack (`n` below its capacity), its new top.
    #[inline]
    fn put(&self, bin: usize, n: usize, p: *mut c_void) {
        let base = CLASS_BASE[bin].load(Ordering::Relaxed) as usize;
        if let Some(c) = self.slots.get(base + n) {
            c.set(p);
            self.counts[bin].set(n as u16 + 1);
            self.dirty.set(true);
        }
    }

    /// Gives the older half of a full stack to the jemalloc cache; the new count.
    #[cold]
    fn spill(&self, bin: usize, n: usize) -> usize {
        let half = n / 2;
        let size = CLASS_SIZE[bin].load(Ordering::Relaxed) as usize;
        let stack = self.stack(bin);
        for c in &stack[..half] {
            // SAFETY: every pointer in a live front's stack is a block of its kind, of
            // this bin's class, that nobody else holds.
            unsafe { arena::free_sized(c.get(), size, self.free_flags()) };
        }
        for i in half..n {
            stack[i - half].set(stack[i].get());
        }
        n - half
    }

    /// Gives the kept large blocks of `slot` (this front's kind) back.
    fn release_large(&self, slot: &Slot) {
        // SAFETY: a kept large block is a live block of this front's kind nobody else
        // holds, of the usable size its entry records; the entry is cleared first.
        large::drain_in(&self.large, |p, usable| unsafe {
            self.give_kept(slot, p, usable)
        });
    }

    /// Frees a block this front kept: a large block of a file kind where `big.rs` has it,
    /// any other to the jemalloc cache.
    ///
    /// # Safety
    /// `p` is a live block of `slot` (this front's kind) nobody else holds, of usable size
    /// `usable`.
    unsafe fn give_kept(&self, slot: &Slot, p: *mut c_void, usable: usize) {
        if chunk::class_at(p as usize) == chunk::CLASS_BIG {
            super::big::free_quiet(slot, p);
        } else {
            // SAFETY: per the contract.
            unsafe { arena::free_sized(p, usable, self.free_flags()) }
        }
    }

    /// Gives every block of the stacks to the jemalloc cache.
    fn spill_all(&self, slot: &Slot) {
        self.release_large(slot);
        for (bin, (count, class)) in self.counts.iter().zip(&CLASS_SIZE).enumerate() {
            let size = class.load(Ordering::Relaxed) as usize;
            for c in &self.stack(bin)[..count.replace(0) as usize] {
                // SAFETY: as in `spill`.
                unsafe { arena::free_sized(c.get(), size, self.free_flags()) };
            }
        }
    }

    /// Forgets the stacks of a destroyed kind: their arenas are gone.
    fn drop_stacks(&self) {
        self.counts.iter().for_each(|c| c.set(0));
        self.large.iter().for_each(|c| c.set(0));
    }
}

#[derive(Clone, Copy)]
struct Entry {
    slot: u32,
    tcache: u32,
    thread: u32,
    /// Address of the thread's front, read only by that thread.
    front: usize,
}

static REGISTRY: crate::sys::lock::Mutex<Vec<Entry>> = crate::sys::lock::Mutex::new(Vec::new());

/// In a forked child: the registry lock may have been held by a thread that is gone.
pub(crate) fn after_fork_in_child() {
    // SAFETY: only the forking thread exists in the child, and it is not inside the lock.
    unsafe { REGISTRY.force_unlock() };
    // SAFETY: as above.
    unsafe { POOL.force_unlock() };
}

/// This thread's front per slot (0: none yet), in the OS layer's per-thread words: a
/// Rust thread-local here would cost a `__tls_get_addr` call per allocation and per free.
#[inline]
fn table() -> &'static [Cell<usize>] {
    &crate::sys::tls::thread_words()[..TOTAL_SLOTS]
}

const _: () = assert!(TOTAL_SLOTS <= crate::sys::tls::THREAD_WORDS);

/// The front behind a table entry.
#[inline]
fn front_at(p: usize) -> Option<&'static Front> {
    let p = p as *const Front;
    // SAFETY: a non-null entry comes from Box::into_raw in `renew` (directly or through the
    // pool, which hands a front to one thread at a time under its lock) and is given up
    // only by `free_front` of this thread, which clears the entry first; the front is all
    // Cells, so shared references are all anyone takes.
    unsafe { p.as_ref() }
}

fn destroy_cache(e: &Entry) {
    arena::tcache_destroy(e.tcache);
    // Its blocks went back to the arenas: a full kind may fit a request again.
    if let Some(s) = super::slot_by_id(e.slot) {
        s.note_free();
    }
}

/// Empties and frees the thread's fronts when it exits. A `pthread` key's destructor rather
/// than a Rust thread-local with `Drop`: registering that calls glibc's `calloc` in every
/// new thread, which gives each of them a 64 MiB glibc arena (1 GiB of address space for a
/// program starting threads in waves), where memkind's threads touch no glibc malloc.
fn cleanup() {
    let _ = CLEANUP_STATE.try_with(|s| s.set(CLEANUP_DONE));
    let me = thread_index();
    let mut reg = REGISTRY.lock();
    reg.retain(|e| {
        if e.thread == me {
            // The entry is still listed, so its kind was not destroyed: its stacks hold
            // live blocks of it.
            if let (Some(f), Some(s)) = (front_at(e.front), super::slot_by_id(e.slot)) {
                f.spill_all(s);
            }
            destroy_cache(e);
            false
        } else {
            true
        }
    });
    drop(reg);
    table().iter().for_each(free_front);
    super::big::start_sweeper_if_wanted();
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

/// The calling thread's live front of `slot`, made on first use when `create`; None when
/// none can be had (thread exiting, jemalloc out of cache slots, kind being destroyed).
#[inline]
fn front(slot: &Slot, create: bool) -> Option<&'static Front> {
    front_of_id(slot, slot.id, create)
}

/// [`front`] for a caller that already knows `slot.id` (`id`): the table entry is then
/// read without waiting for a load of the slot, one load less on a free's critical path.
#[inline(always)]
fn front_of_id(slot: &Slot, id: u32, create: bool) -> Option<&'static Front> {
    debug_assert_eq!(slot.id, id);
    let gen = slot.gen.load(Ordering::Acquire);
    let cell = table().get(id as usize)?;
    if let Some(f) = front_at(cell.get()) {
        if f.live_gen.get() == gen as u64 + 1 {
            return Some(f);
        }
    }
    if !create {
        return None;
    }
    renew(slot, cell, gen)
}

/// Makes the thread's front of `slot` live for generation `gen`.
#[cold]
fn renew(slot: &Slot, cell: &Cell<usize>, gen: u32) -> Option<&'static Front> {
    if !arm_cleanup() {
        return None;
    }
    init_classes();
    let f = match front_at(cell.get()) {
        Some(f) => {
            // A front of a destroyed kind (or one whose cache could not be had).
            f.drop_stacks();
            f
        }
        None => {
            let pooled = POOL.lock().pop();
            let p = match pooled {
                Some(p) => p,
                None => Box::into_raw(Front::new_boxed()?) as usize,
            };
            cell.set(p);
            front_at(p)?
        }
    };
    f.live_gen.set(0);
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
        front: cell.get(),
    });
    drop(reg);
    f.tcache.set(id);
    f.alloc_flags
        .set(arena::flags_with_cache(slot.thread_arena(), id));
    // Dirty from the start: the fill of a new cache takes more blocks than asked.
    f.dirty.set(true);
    f.live_gen.set(gen as u64 + 1);
    Some(f)
}

/// Allocates `size` bytes (`extra`: mallocx flags without arena or cache) through the
/// calling thread's front of `slot`; None when the thread has no front (the caller goes
/// past every cache).
#[inline]
pub fn alloc(slot: &Slot, size: usize, extra: c_int) -> Option<*mut c_void> {
    let f = front(slot, true)?;
    if size <= FRONT_MAX && (extra == 0 || extra == arena::ZERO) {
        if let Some(bin) = bin_of(size) {
            if let Some(p) = f.pop(bin).or_else(|| f.refill(bin)) {
                if extra != 0 {
                    // SAFETY: p is a block of at least `size` bytes that nobody else holds.
                    unsafe { std::ptr::write_bytes(p.cast::<u8>(), 0, size) };
                }
                return Some(p);
            }
        }
    }
    if size > large::MIN && extra == 0 {
        if let Some(p) = large::take_in(&f.large, size) {
            return Some(p);
        }
    }
    let p = arena::alloc(size, f.alloc_flags.get() | extra);
    // SAFETY: p is NULL or the block jemalloc just returned.
    unsafe { note_block(p) };
    Some(p)
}

/// Records the class of a block of a kind with per-thread caches that did not come out of
/// a front (see `chunk::class_at`); NULL is ignored.
///
/// # Safety
/// `p` is NULL or a live block jemalloc just handed out.
#[inline]
pub(crate) unsafe fn note_block(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: p is live (the contract).
    let size = unsafe { arena::usable_size(p) };
    let class = match bin_of(size) {
        Some(bin) if size <= FRONT_MAX => bin as u8 + 1,
        _ => 0,
    };
    chunk::set_class(p as usize, class);
}

/// A cached block for a request of `size` bytes (1..=FRONT_MAX) from the calling thread's
/// front of `slot`; None on any miss (no front yet, empty stack), which the general path
/// handles.
#[inline]
pub fn pop_cached(slot: &Slot, size: usize) -> Option<*mut c_void> {
    pop_cached_id(slot, slot.id, size)
}

/// [`pop_cached`] for a slot whose id the caller knows (a constant for DEFAULT).
#[inline(always)]
pub fn pop_cached_id(slot: &Slot, id: u32, size: usize) -> Option<*mut c_void> {
    let f = front_of_id(slot, id, false)?;
    f.pop(bin_of(size)?)
}

/// Keeps `p` in the calling thread's front of `slot` (whose id is `id`) if its stack has
/// room; false sends the caller down the general path. `class` is the block's class from
/// the class map (`chunk::class_at`, non-zero).
///
/// # Safety
/// `p` must be a live block of `slot` of that class, claimed by the caller.
#[inline]
pub unsafe fn push_cached(slot: &Slot, id: u32, p: *mut c_void, class: u8) -> bool {
    let Some(f) = front_of_id(slot, id, false) else {
        return false;
    };
    let bin = class as usize - 1;
    let (Some(count), Some(cap)) = (f.counts.get(bin), CLASS_CAP.get(bin)) else {
        return false;
    };
    let n = count.get() as usize;
    if n >= cap.load(Ordering::Relaxed) as usize {
        return false;
    }
    f.put(bin, n, p);
    true
}

/// Frees `p`, a live block of `slot` of usable size `size`, through the calling thread's
/// front, or past every cache when the thread has none.
///
/// # Safety
/// `p` must be a live block of `slot`, of usable size `size`, claimed by the caller.
#[inline]
pub unsafe fn free(slot: &Slot, p: *mut c_void, size: usize) {
    let Some(f) = front(slot, true) else {
        // SAFETY: per the contract.
        return unsafe { arena::free_sized(p, size, arena::free_flags(None)) };
    };
    if size <= FRONT_MAX {
        if let Some(bin) = bin_of(size) {
            return f.push(bin, p);
        }
    }
    f.dirty.set(true);
    if large::fits(size) {
        // A front keeps less than DEFAULT: its kind may be bounded, and no other thread
        // can reach these blocks when that kind is full.
        // SAFETY: an evicted block is a live block of this kind nobody else holds, of the
        // usable size its entry recorded; its entry is cleared.
        let evict = |q, n| unsafe { f.give_kept(slot, q, n) };
        let kept = large::keep_in(&f.large, p, size, large::MAX, evict);
        super::big::start_sweeper_if_wanted();
        if kept {
            return;
        }
    }
    // SAFETY: per the contract.
    unsafe { arena::free_sized(p, size, f.free_flags()) };
}

/// What [`keep_big`] did with a freed large block of a file kind.
pub enum Kept {
    Kept,
    /// The thread keeps it already: a second free.
    Twice,
    /// Not kept (no front, too large, no room): the caller frees it.
    No,
}

/// Keeps `p`, a large block of file kind `slot` (`big.rs`) of `usable` bytes just freed,
/// for the calling thread's next requests of about its size, as jemalloc's large blocks
/// are kept (see [`large`]).
pub fn keep_big(slot: &Slot, p: *mut c_void, usable: usize) -> Kept {
    let Some(f) = front(slot, false) else {
        return Kept::No;
    };
    if !large::fits(usable) {
        return Kept::No;
    }
    if large::holds(&f.large, p) {
        return Kept::Twice;
    }
    f.dirty.set(true);
    // SAFETY: as in `free`.
    let evict = |q, n| unsafe { f.give_kept(slot, q, n) };
    let kept = large::keep_in(&f.large, p, usable, large::MAX, evict);
    super::big::start_sweeper_if_wanted();
    if kept {
        Kept::Kept
    } else {
        Kept::No
    }
}

/// A block the calling thread keeps for a plain request of `size` bytes of `slot`.
#[inline]
pub fn take_kept(slot: &Slot, size: usize) -> Option<*mut c_void> {
    large::take_in(&front(slot, false)?.large, size)
}

/// The calling thread's `mallocx` flags for `slot` (its arena and jemalloc cache), made on
/// first use; None when the thread has no front.
#[inline]
pub fn alloc_flags(slot: &Slot) -> Option<c_int> {
    front(slot, true).map(|f| f.alloc_flags.get())
}

/// Whether the calling thread's cache of `slot` holds blocks freed since its last flush.
pub fn is_dirty(slot: &Slot) -> bool {
    front(slot, false).is_some_and(|f| f.dirty.get())
}

/// Whether the calling thread's cache of `slot` may hold blocks a flush would give back;
/// clears the mark.
pub fn take_dirty(slot: &Slot) -> bool {
    front(slot, false).is_some_and(|f| f.dirty.replace(false))
}

/// Gives the large blocks the calling thread keeps (of every live kind it has a front of)
/// back to the arenas, so statistics read next do not count them.
pub fn release_large_own() {
    for (id, cell) in table().iter().enumerate() {
        if cell.get() == 0 {
            continue;
        }
        // Only a live front's kept blocks are blocks of a live kind.
        if let Some(s) = super::slot_by_id(id as u32) {
            if let Some(f) = front(s, false) {
                f.release_large(s);
            }
        }
    }
    super::big::start_sweeper_if_wanted();
}

/// Gives the calling thread's cached blocks of `slot` back to the arenas.
pub fn flush_own(slot: &Slot) {
    if let Some(f) = front(slot, false) {
        f.spill_all(slot);
        arena::tcache_flush(f.tcache.get());
    }
}

/// Destroys every thread's cache of `slot` and invalidates the threads' fronts. Called
/// while the kind is being destroyed, before its arenas go. The calling thread's own front
/// is freed too (a program cycling through kinds would otherwise keep one per slot); other
/// threads drop theirs when they next use the slot, or at exit.
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
    drop(reg);
    if let Some(cell) = table().get(slot.id as usize) {
        free_front(cell);
    }
}

/// Fronts no thread uses, kept for the next threads: their pages stay touched, so a new
/// thread's first allocation of a kind costs no page faults (several microseconds each in
/// a virtual machine), and threads started in waves reuse the same few.
static POOL: crate::sys::lock::Mutex<Vec<usize>> = crate::sys::lock::Mutex::new(Vec::new());
const POOL_MAX: usize = 256;

/// Takes the front of a table entry whose registry entry is gone, and clears the entry.
fn free_front(cell: &Cell<usize>) {
    let p = cell.replace(0);
    let Some(f) = front_at(p) else {
        return;
    };
    // Emptied already (exit) or of a destroyed kind: nothing in the stacks is owned.
    f.drop_stacks();
    f.live_gen.set(0);
    let mut pool = POOL.lock();
    if pool.len() < POOL_MAX {
        pool.push(p);
        return;
    }
    drop(pool);
    // SAFETY: p came from Box::into_raw (in `renew`); its table entry is cleared and its
    // registry entry gone, so nothing refers to it any more.
    drop(unsafe { Box::from_raw(p as *mut Front) });
}

/// Blocks beyond jemalloc's thread cache (its limit is 32 KiB; larger ones go to the
/// arena, through the kind's extent hooks, at every malloc and free): a thread keeps a few
/// recently freed ones for its next requests of about their size. Each entry is one word:
/// the block's address with its usable size in pages in the 16 bits above the 48 of a
/// user-space address. A front keeps two of its kind's, 1 MiB in all.
pub mod large {
    use std::cell::Cell;
    use std::os::raw::c_void;

    /// Requests above this are jemalloc's large classes, past its thread cache.
    pub const MIN: usize = 32 << 10;
    /// Largest block kept.
    pub(super) const MAX: usize = 1 << 20;
    /// jemalloc's page (its build's LG_PAGE): usable sizes of large blocks are multiples.
    const PAGE_BITS: u32 = 12;
    const ADDR_BITS: u32 = 48;
    const ADDR_MASK: usize = (1 << ADDR_BITS) - 1;
    const _: () = assert!(MAX >> PAGE_BITS < 1 << (usize::BITS - ADDR_BITS));

    #[inline]
    fn addr(e: usize) -> *mut c_void {
        (e & ADDR_MASK) as *mut c_void
    }

    #[inline]
    fn bytes(e: usize) -> usize {
        (e >> ADDR_BITS) << PAGE_BITS
    }

    /// Whether a block of usable size `usable` may be kept.
    #[inline]
    pub fn fits(usable: usize) -> bool {
        usable > MIN && usable <= MAX
    }

    /// Takes from `entries` a kept block for a request of `size` bytes (above [`MIN`])
    /// whose usable size is at most a quarter larger, as jemalloc's own rounding to the
    /// next class can be.
    #[inline]
    pub(super) fn take_in(entries: &[Cell<usize>], size: usize) -> Option<*mut c_void> {
        if size > MAX {
            return None;
        }
        let limit = size + size / 4;
        entries.iter().find_map(|w| {
            let e = w.get();
            let usable = bytes(e);
            (usable >= size && usable <= limit).then(|| {
                w.set(0);
                addr(e)
            })
        })
    }

    /// Keeps `p` (usable size `usable`, which [`fits`]) in `entries`, which then hold at
    /// most `total` bytes (at least [`MAX`]): the newest block wins, and older ones that
    /// leave no room go to `evict` with their usable sizes. False (nothing done) for an
    /// address beyond 48 bits.
    #[inline]
    pub(super) fn keep_in(
        entries: &[Cell<usize>],
        p: *mut c_void,
        usable: usize,
        total: usize,
        mut evict: impl FnMut(*mut c_void, usize),
    ) -> bool {
        if p as usize & !ADDR_MASK != 0 {
            return false;
        }
        loop {
            let mut held = usable;
            let mut free_entry = None;
            for e in entries {
                match e.get() {
                    0 => free_entry = free_entry.or(Some(e)),
                    v => held += bytes(v),
                }
            }
            match free_entry {
                Some(e) if held <= total => {
                    e.set(p as usize | (usable >> PAGE_BITS) << ADDR_BITS);
                    return true;
                }
                // Ends: `usable` alone fits in `total`, and each round empties an entry.
                _ => {
                    let victim = entries.iter().position(|e| e.get() != 0).unwrap_or(0);
                    drain_in(&entries[victim..=victim], &mut evict)
                }
            }
        }
    }

    /// Whether `entries` hold `p`.
    #[inline]
    pub(super) fn holds(entries: &[Cell<usize>], p: *mut c_void) -> bool {
        entries.iter().any(|e| e.get() != 0 && addr(e.get()) == p)
    }

    /// Empties `entries`, handing each block and its usable size to `free`.
    pub(super) fn drain_in(entries: &[Cell<usize>], mut free: impl FnMut(*mut c_void, usize)) {
        for e in entries {
            let v = e.replace(0);
            if v != 0 {
                free(addr(v), bytes(v));
            }
        }
    }
}
