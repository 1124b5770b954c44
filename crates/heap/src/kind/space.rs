//! A kind's address space and its jemalloc extent hooks.
//!
//! A kind owns up to [`MAX_KIND_CHUNKS`] chunks (see `chunk.rs`). Extents are carved from
//! them by a bump pointer: jemalloc keeps every range it got (retained), so address space
//! never comes back to us while the kind lives. For a file-backed kind each chunk maps a
//! stretch of the kind's file; an extent must fit the file system's free space when
//! jemalloc commits it (its blocks come as its pages are touched, with a SIGBUS safety net
//! for a file system that fills up meanwhile) and is punched out when it decommits, so a
//! full file system means a failed allocation, never SIGBUS, and freed memory goes back
//! to the file system.
//!
//! A fixed kind's space is the caller's region alone: it never grows, is never unmapped,
//! and its pages are never decommitted or purged (the memory may be a file mapping or a
//! static array, where `madvise` would not give zeros, and it stays the caller's).
//!
//! The hooks run inside jemalloc with its locks held: they never allocate and never panic.

use std::os::raw::{c_uint, c_void};
use std::sync::atomic::{AtomicU64, Ordering};

use super::file::MAX_KINDS;

use super::{statics, Slot};
use crate::arena::extent_hooks_t;
use crate::chunk::{self, CHUNK_ALIGN};
use crate::sys;

pub(crate) const MAX_KIND_CHUNKS: usize = 64;

pub struct Space {
    chunks: [u16; MAX_KIND_CHUNKS],
    nchunks: usize,
    bump: usize,
    end: usize,
    /// Bytes of file already assigned to chunks.
    file_len: u64,
    /// Size of the next chunk to reserve.
    pub chunk_len: usize,
    /// The one chunk is a caller's region (`memkind_create_fixed`).
    fixed: bool,
    /// Large blocks of a file kind (`big.rs`).
    pub big: super::big::Big,
    /// jemalloc has had an extent from this space.
    pub jemalloc_used: bool,
}

impl Default for Space {
    fn default() -> Self {
        Self::new()
    }
}

impl Space {
    pub const fn new() -> Self {
        Space {
            chunks: [0; MAX_KIND_CHUNKS],
            nchunks: 0,
            bump: 0,
            end: 0,
            file_len: 0,
            chunk_len: CHUNK_ALIGN,
            fixed: false,
            big: super::big::Big::new(),
            jemalloc_used: false,
        }
    }

    /// Makes registered chunk `idx`, a caller's region, this kind's whole space.
    pub fn set_fixed(&mut self, idx: u16, base: usize, len: usize) {
        debug_assert_eq!(self.nchunks, 0);
        self.chunks[0] = idx;
        self.nchunks = 1;
        self.bump = base;
        self.end = base + len;
        self.fixed = true;
    }

    pub fn chunks(&self) -> &[u16] {
        &self.chunks[..self.nchunks]
    }

    /// Carves `size` bytes aligned to `align` from the current chunk, adding a chunk when
    /// it is exhausted.
    pub fn carve(&mut self, slot: &Slot, size: usize, align: usize) -> Option<usize> {
        let align = align.max(sys::page_size());
        loop {
            if self.nchunks > 0 {
                let start = self.bump.checked_next_multiple_of(align)?;
                if start.checked_add(size)? <= self.end {
                    self.bump = start + size;
                    return Some(start);
                }
            }
            let need = size
                .checked_add(align)?
                .checked_next_multiple_of(CHUNK_ALIGN)?;
            self.grow(slot, need.max(self.chunk_len))?;
        }
    }

    /// Carves `[addr, addr+len)` when `addr` is where the next carve would start and the
    /// current chunk holds it (a large block growing in place).
    pub(super) fn extend_at(&mut self, addr: usize, len: usize) -> bool {
        if self.nchunks == 0 || self.bump != addr || addr.saturating_add(len) > self.end {
            return false;
        }
        self.bump = addr + len;
        true
    }

    /// Undoes the last carve when its commit failed, so the range is not lost.
    pub(super) fn uncarve(&mut self, addr: usize, size: usize) {
        if addr + size == self.bump {
            self.bump = addr;
        }
    }

    /// Adds a chunk of at least `want` bytes, halving down to `min` when address space is
    /// short.
    fn grow(&mut self, slot: &Slot, want: usize) -> Option<()> {
        if self.nchunks == MAX_KIND_CHUNKS || self.fixed {
            return None;
        }
        let fd = slot.fd.load(Ordering::Relaxed);
        let mut len = want;
        let base = loop {
            match chunk::reserve_range(len) {
                Ok(b) => break b,
                Err(_) if len > CHUNK_ALIGN && len / 2 >= self.chunk_len.min(want) / 4 => {
                    len = (len / 2).next_multiple_of(CHUNK_ALIGN)
                }
                Err(_) => return None,
            }
        };
        let mapped = if fd >= 0 {
            // The file's length follows commits (`cover`), not the mapping.
            let ok = sys::map_file(base, len, fd, self.file_len).is_ok();
            // A heap is not read sequentially: a fault should not read in (zero) 128 KiB
            // of file around it, which costs the time and the page cache to drop later.
            if ok {
                sys::advise_random(base, len);
            }
            ok
        } else if statics::huge_page(slot.id).is_some() {
            // Huge-page kinds map each extent from the pool when it is carved.
            true
        } else {
            sys::map_anon_rw(base, len).is_ok()
        };
        if !mapped {
            if fd >= 0 {
                // A file system's mmap hook refuses after the range was unmapped; it is
                // not ours to unmap any more once another thread maps into it.
                sys::release_after_failed_map(base, len);
            } else {
                chunk::release_range(base, len);
            }
            return None;
        }
        let Some(idx) = chunk::register(base, len, slot.id, self.file_len) else {
            chunk::release_range(base, len);
            return None;
        };
        self.chunks[self.nchunks] = idx;
        self.nchunks += 1;
        self.file_len += len as u64;
        self.bump = base;
        self.end = base + len;
        Some(())
    }

    /// Bytes of the kind's file its chunks map.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Maps this kind's shared ranges copy-on-write from `fd` (the kind's file) at their
    /// file offsets: a forked child's view of its parent's heap. The first fork maps
    /// every chunk; a child forking again (`nested`) only the ranges still shared in it.
    pub fn take_private(&self, fd: std::os::raw::c_int, nested: bool) -> sys::SysResult<()> {
        for &idx in self.chunks() {
            let c = chunk::get(idx);
            let (base, len, off) = (
                c.base.load(Ordering::Relaxed),
                c.len.load(Ordering::Relaxed),
                c.file_off.load(Ordering::Relaxed),
            );
            if !nested {
                sys::map_file_private(base, len, fd, off)?;
                sys::advise_random(base, len);
                continue;
            }
            let mut result = Ok(());
            sys::for_each_shared_mapping(base, base + len, |a, b| {
                if result.is_ok() {
                    result = sys::map_file_private(a, b - a, fd, off + (a - base) as u64);
                    sys::advise_random(a, b - a);
                }
            })?;
            result?;
        }
        Ok(())
    }

    /// Unregisters and unmaps every chunk (a fixed region is only unregistered); the
    /// kind's file is closed by the caller.
    pub fn release(&mut self) {
        for &idx in self.chunks() {
            let c = chunk::get(idx);
            let (base, len) = (
                c.base.load(Ordering::Relaxed),
                c.len.load(Ordering::Relaxed),
            );
            chunk::unregister(idx);
            if !self.fixed {
                chunk::release_range(base, len);
            }
        }
        self.big.release();
        *self = Space::new();
    }
}

/// File offset of `[addr, addr+len)`, which must lie in one chunk.
fn file_offset(addr: usize, len: usize) -> Option<u64> {
    let c = chunk::lookup(addr)?;
    if !c.contains(addr, len) {
        return None;
    }
    Some(c.file_off.load(Ordering::Relaxed) + (addr - c.base.load(Ordering::Relaxed)) as u64)
}

/// Length the file of each created kind has been given (index: slot id - NUM_STATIC).
/// It grows with what is committed, in doublings from 2 MiB, instead of to the whole
/// mapping at once: closing a file with a large length costs its file system time
/// (ext4 here: 0.2 ms at 2 MiB, 0.8 ms at 64 MiB, per kind destroyed).
static FILE_SIZE: [AtomicU64; MAX_KINDS] = [const { AtomicU64::new(0) }; MAX_KINDS];
static FILE_SIZE_LOCK: crate::sys::lock::Mutex<()> = crate::sys::lock::Mutex::new(());
const FILE_STEP: u64 = 2 << 20;

fn file_size_of(slot: &Slot) -> Option<&'static AtomicU64> {
    super::file::created_index(slot).map(|i| &FILE_SIZE[i])
}

/// Makes the kind's file at least `end` bytes long, so touching a committed page never
/// lands beyond its end.
fn cover(slot: &Slot, fd: i32, end: u64) -> bool {
    let Some(size) = file_size_of(slot) else {
        return false;
    };
    if size.load(Ordering::Acquire) >= end {
        return true;
    }
    let _g = FILE_SIZE_LOCK.lock();
    let now = size.load(Ordering::Acquire);
    if now >= end {
        return true;
    }
    let want = end
        .max(now.saturating_mul(2))
        .max(FILE_STEP)
        .next_multiple_of(FILE_STEP);
    if sys::set_file_len(fd, want).is_err() && sys::set_file_len(fd, end).is_err() {
        return false;
    }
    size.store(want.max(end), Ordering::Release);
    true
}

/// Length given to the kind's file so far (a forked process gives its new file the same).
pub fn file_size(slot: &Slot) -> u64 {
    file_size_of(slot).map_or(0, |s| s.load(Ordering::Acquire))
}

/// The kind's file is `len` bytes long now (a fresh kind).
pub fn set_file_size(slot: &Slot, len: u64) {
    if let Some(size) = file_size_of(slot) {
        size.store(len, Ordering::Release);
    }
}

/// In a forked child, maps `[addr, addr+len)` shared from the child's own file before
/// the range changes hands, so what it commits lives in its file and its zeros are real
/// (the copy-on-write view would show the parent's file). See `fork.rs`.
fn own_file(slot: &Slot, fd: i32, addr: usize, len: usize, off: u64) -> bool {
    if !super::fork::in_child(slot) {
        return true;
    }
    let ok = sys::map_file(addr, len, fd, off).is_ok();
    if ok {
        sys::advise_random(addr, len);
    }
    ok
}

/// Committed ranges are not reserved on the file system: their pages take space as they
/// are first touched, so a big buffer the program barely uses (sort's, a vector's
/// reserve) costs what it touches (on tmpfs the difference is memory), and a short-lived
/// kind on a disk file system frees no blocks it never used (with online discard each
/// freed extent costs milliseconds at close). The request must still fit in the file
/// system's free space, so a full file system means a failed allocation; a page touched
/// when it has filled up since gets ordinary memory instead of SIGBUS
/// (`sigbus_fallback`). Without that safety net ranges are reserved in full: this
/// installs it (once) and says whether it is there.
fn lazy_net() -> bool {
    sys::install_sigbus_fallback(sigbus_fallback).is_ok()
}

/// Called in the SIGBUS handler: true when `addr` is in a file kind's chunk, whose page
/// then becomes ordinary memory. The kind is marked as holding private pages so that
/// commits, decommits and forks treat its ranges accordingly (see `fork.rs`).
fn sigbus_fallback(addr: usize) -> bool {
    let Some(slot) = chunk::slot_of_gib(addr).and_then(super::file::slot_by_id) else {
        return false;
    };
    if !slot.is_file() || chunk::lookup(addr).is_none() {
        return false;
    }
    super::fork::mark_private(slot);
    true
}

/// Whether a range of `len` bytes still fits in the file system. Asking it costs a
/// syscall under the space lock, once per extent of every new thread's slabs; so a look
/// grants a budget of half the free space it saw, and only a range past the budget looks
/// again. Other processes may fill the file system meanwhile: the SIGBUS net covers that
/// race, as it does for a check on every range.
fn fits_fs(slot: &Slot, fd: i32, len: u64) -> bool {
    let h = &slot.fs_headroom;
    let mut cur = h.load(Ordering::Relaxed);
    while cur >= len {
        match h.compare_exchange_weak(cur, cur - len, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
    match sys::fs_free(fd) {
        Ok(f) if f >= len => {
            h.store((f - len) / 2, Ordering::Relaxed);
            true
        }
        _ => false,
    }
}

/// Reserves file blocks for a range jemalloc is about to use (or, for a large range,
/// checks it fits); false when the kind's limit or the file system's space is reached.
pub(super) fn commit(slot: &Slot, addr: usize, len: usize) -> bool {
    let fd = slot.fd.load(Ordering::Relaxed);
    if fd < 0 {
        return true;
    }
    let max = slot.max_bytes.load(Ordering::Relaxed);
    let before = slot.committed.fetch_add(len, Ordering::AcqRel);
    if max != 0 && before + len > max {
        slot.committed.fetch_sub(len, Ordering::AcqRel);
        return false;
    }
    let ok = match file_offset(addr, len) {
        Some(off) if !own_file(slot, fd, addr, len, off) => false,
        Some(off) if !cover(slot, fd, off + len as u64) => false,
        Some(_) if lazy_net() => fits_fs(slot, fd, len as u64),
        Some(off) => match sys::reserve_blocks(fd, off, len) {
            Ok(()) => true,
            Err(_) => {
                // A failed fallocate may have taken some blocks; give them back.
                let _ = sys::release_blocks(fd, off, len);
                false
            }
        },
        None => false,
    };
    if !ok {
        slot.committed.fetch_sub(len, Ordering::AcqRel);
    }
    ok
}

/// Gives a range's file blocks back; it reads as zeros when committed again.
pub(super) fn decommit(slot: &Slot, addr: usize, len: usize) -> bool {
    let fd = slot.fd.load(Ordering::Relaxed);
    if fd < 0 {
        return false;
    }
    match file_offset(addr, len) {
        Some(off)
            if sys::release_blocks(fd, off, len).is_ok() && own_file(slot, fd, addr, len, off) =>
        {
            slot.committed.fetch_sub(len, Ordering::AcqRel);
            true
        }
        _ => false,
    }
}

/// # Safety
/// `hooks` must be the hooks table embedded at the start of a [`Slot`].
unsafe fn slot_of<'a>(hooks: *mut extent_hooks_t) -> &'a Slot {
    // SAFETY: Slot is repr(C) with the hooks table first, and slots are statics.
    unsafe { &*(hooks as *const Slot) }
}

fn guard<R>(fail: R, f: impl FnOnce() -> R) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fail)
}

unsafe extern "C" fn hook_alloc(
    hooks: *mut extent_hooks_t,
    new_addr: *mut c_void,
    size: usize,
    alignment: usize,
    zero: *mut bool,
    commit_p: *mut bool,
    _arena: c_uint,
) -> *mut c_void {
    // SAFETY: jemalloc passes the table we registered, embedded in a Slot.
    let slot = unsafe { slot_of(hooks) };
    guard(std::ptr::null_mut(), || {
        // In-place growth at a given address is not offered; jemalloc then moves the block.
        if !new_addr.is_null() {
            return std::ptr::null_mut();
        }
        let Some((carve_len, carve_align)) = statics::extent_shape(slot.id, size, alignment) else {
            return std::ptr::null_mut();
        };
        let mut space = slot.space.lock();
        if slot.is_file() && !slot.is_fixed() {
            // SAFETY: jemalloc passes valid in/out flags.
            let want_zero = unsafe { *zero };
            if let Some((addr, dirty)) =
                super::big::take_free(slot, &mut space, carve_len, carve_align, want_zero)
            {
                // SAFETY: as above; the range is committed, zeroed when asked or clean.
                unsafe {
                    *zero = want_zero || !dirty;
                    *commit_p = true;
                }
                space.jemalloc_used = true;
                chunk::mark_jemalloc(addr, carve_len);
                return addr as *mut c_void;
            }
        }
        let Some(addr) = space.carve(slot, carve_len, carve_align) else {
            return std::ptr::null_mut();
        };
        // Static kinds bind the new range to their NUMA nodes (and map huge pages).
        if !statics::place(slot.id, addr, carve_len) {
            space.uncarve(addr, carve_len);
            return std::ptr::null_mut();
        }
        let file = slot.fd.load(Ordering::Relaxed) >= 0;
        // SAFETY: jemalloc passes valid in/out flags.
        let want_commit = unsafe { *commit_p };
        if file && want_commit && !commit(slot, addr, size) {
            space.uncarve(addr, size);
            return std::ptr::null_mut();
        }
        // SAFETY: jemalloc passes valid in/out flags; a fixed range lies in the caller's
        // region, which the kind may write, and holds whatever the caller left there.
        unsafe {
            if !slot.is_fixed() {
                *zero = true;
            } else if *zero {
                std::ptr::write_bytes(addr as *mut u8, 0, size);
            }
            *commit_p = want_commit || !file;
        }
        space.jemalloc_used = true;
        chunk::mark_jemalloc(addr, carve_len);
        addr as *mut c_void
    })
}

/// Defines a hook over `[addr + offset, addr + offset + length)`; `$body` gets the slot and
/// the range and returns true for failure, as jemalloc expects.
macro_rules! range_hook {
    ($(#[$doc:meta])* $name:ident, |$slot:ident, $start:ident, $len:ident| $body:expr) => {
        $(#[$doc])*
        unsafe extern "C" fn $name(
            hooks: *mut extent_hooks_t,
            addr: *mut c_void,
            _size: usize,
            offset: usize,
            $len: usize,
            _arena: c_uint,
        ) -> bool {
            // SAFETY: jemalloc passes the table we registered, embedded in a Slot.
            let $slot = unsafe { slot_of(hooks) };
            let $start = addr as usize + offset;
            guard(true, || $body)
        }
    };
}

range_hook!(hook_commit, |slot, start, len| !commit(slot, start, len));
range_hook!(
    /// Anonymous kinds refuse, so jemalloc purges with madvise instead.
    hook_decommit,
    |slot, start, len| !decommit(slot, start, len)
);
range_hook!(
    /// A file range purged but still "committed" would fault in new blocks unreserved:
    /// file kinds only give memory back through decommit. Huge pages are kept too: once
    /// dropped, refaulting them could hit an empty pool (SIGBUS).
    hook_purge_forced,
    |slot, start, len| slot.is_file()
        || slot.is_fixed()
        || statics::huge_page(slot.id).is_some()
        || !sys::discard(start, len)
);
range_hook!(hook_purge_lazy, |slot, start, len| slot.is_file()
    || slot.is_fixed()
    || statics::huge_page(slot.id).is_some()
    || !sys::discard_lazy(start, len));

unsafe extern "C" fn hook_split(
    _hooks: *mut extent_hooks_t,
    _addr: *mut c_void,
    _size: usize,
    _size_a: usize,
    _size_b: usize,
    _committed: bool,
    _arena: c_uint,
) -> bool {
    false
}

unsafe extern "C" fn hook_merge(
    _hooks: *mut extent_hooks_t,
    addr_a: *mut c_void,
    _size_a: usize,
    addr_b: *mut c_void,
    _size_b: usize,
    _committed: bool,
    _arena: c_uint,
) -> bool {
    // Chunks are separate reservations with their own file offsets: never merge across.
    let (a, b) = (
        chunk::index_of(addr_a as usize),
        chunk::index_of(addr_b as usize),
    );
    a == 0 || a != b
}

/// The hooks table every slot embeds. No dalloc/destroy: jemalloc retains address space,
/// which is returned wholesale when the kind is destroyed.
pub const HOOKS: extent_hooks_t = extent_hooks_t {
    alloc: Some(hook_alloc),
    dalloc: None,
    destroy: None,
    commit: Some(hook_commit),
    decommit: Some(hook_decommit),
    purge_lazy: Some(hook_purge_lazy),
    purge_forced: Some(hook_purge_forced),
    split: Some(hook_split),
    merge: Some(hook_merge),
};
