//! The only module that talks to jemalloc: arena creation with our extent hooks, the
//! `mallocx` family with the flags a kind needs, and typed `mallctl` access.
//!
//! jemalloc is linked with the `_rjem_` prefix, so the program's own `malloc` is untouched.
//! Arena metadata stays in ordinary memory (`metadata_use_hooks = false`): a file-backed
//! kind's whole budget is left for the caller's data.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};

use once_cell::sync::OnceCell;
use tikv_jemalloc_sys as je;

pub use je::extent_hooks_t;

// jemalloc's start-up options (its weak `malloc_conf`; `_RJEM_MALLOC_CONF` still
// overrides). `retain:false`: with retain on, jemalloc never unmaps the metadata blocks of
// a destroyed arena (2 MiB at least per arena, so 4 MiB of address space per kind created
// and destroyed here, `ulimit -v` exhausted after some thousand cycles). Our kinds' hooks
// keep every range anyway (no dalloc hook), so their extents are recycled the same way;
// only the growth of their requests is no longer geometric. `tcache:false`: every kind
// caches through its fronts and explicit jemalloc caches, so the automatic cache would only
// cost each new thread its allocation and fill (and its exit the purge of it).
// Defined in assembly to be hidden: jemalloc's weak reference binds to it when the
// library is linked, and it is not exported (the library exports memkind's API only).
std::arch::global_asm!(
    ".pushsection .rodata._rjem_malloc_conf_text,\"a\"",
    "2: .asciz \"retain:false,tcache:false\"",
    ".popsection",
    ".pushsection .data.rel.ro._rjem_malloc_conf,\"aw\"",
    ".globl _rjem_malloc_conf",
    ".hidden _rjem_malloc_conf",
    ".p2align 3",
    "_rjem_malloc_conf: .quad 2b",
    ".popsection",
);

/// jemalloc's `arena_config_t` (experimental.arenas_create_ext).
#[repr(C)]
struct ArenaConfig {
    extent_hooks: *mut extent_hooks_t,
    metadata_use_hooks: bool,
}

/// Flags selecting arena `arena` past every thread cache (jemalloc's automatic one is
/// shared by all arenas and so must never see blocks of two different kinds).
#[inline]
pub fn flags(arena: u32) -> c_int {
    (((arena as c_int) + 1) << 20) | je::MALLOCX_TCACHE_NONE
}

#[inline]
pub fn align_flag(align: usize) -> c_int {
    align.trailing_zeros() as c_int
}

pub(crate) const ZERO: c_int = je::MALLOCX_ZERO;
/// The bits of mallocx flags holding log2 of the alignment ([`align_flag`]).
pub(crate) const LG_ALIGN_MASK: c_int = 0x3f;

#[inline]
pub fn alloc(size: usize, flags: c_int) -> *mut c_void {
    // SAFETY: size is non-zero (checked by callers) and flags name a live arena.
    unsafe { je::mallocx(size, flags) }
}

/// # Safety
/// `p` must be a live jemalloc allocation.
#[inline]
pub unsafe fn free(p: *mut c_void, flags: c_int) {
    // SAFETY: the caller guarantees p is live (its live-map bit was claimed).
    unsafe { je::dallocx(p, flags) }
}

/// Frees `p`, whose usable size the caller read (`usable_size`): jemalloc then skips its
/// own lookup of the block's size class.
///
/// # Safety
/// `p` must be a live jemalloc allocation of usable size `size`.
#[inline]
pub unsafe fn free_sized(p: *mut c_void, size: usize, flags: c_int) {
    // SAFETY: the caller guarantees p is live and `size` is its usable size.
    unsafe { je::sdallocx(p, size, flags) }
}

/// The size class jemalloc serves a request of `size` bytes from (its usable size).
#[inline]
pub fn class_size(size: usize) -> usize {
    // SAFETY: nallocx only computes; size is non-zero (checked by callers).
    unsafe { je::nallocx(size, 0) }
}

/// Regions per slab of jemalloc's small size class `bin` (its bins count from the 8-byte
/// class up); None beyond the small classes.
pub fn bin_nregs(bin: usize) -> Option<u32> {
    let name = std::ffi::CString::new(format!("arenas.bin.{bin}.nregs")).ok()?;
    let mut n: u32 = 0;
    // SAFETY: arenas.bin.<i>.nregs is a uint32_t.
    let r = unsafe { ctl(&name, Some(&mut n), None) };
    (r == 0).then_some(n)
}

static BATCH_ALLOC: ArenaMib = ArenaMib::plain(c"experimental.batch_alloc");

/// jemalloc's `experimental.batch_alloc` argument.
#[repr(C)]
struct BatchPacket {
    ptrs: *mut *mut c_void,
    num: usize,
    size: usize,
    flags: c_int,
}

/// Fills the front of `ptrs` with new blocks of `size` bytes (flags as for [`alloc`]) in
/// one call: jemalloc copies them out of the thread cache's bin in bulk. Returns how many
/// it gave (fewer when the kind runs out of memory).
pub fn batch_alloc(ptrs: &[std::cell::Cell<*mut c_void>], size: usize, flags: c_int) -> usize {
    let mut packet = BatchPacket {
        // Cell<T> has T's layout, and jemalloc writing through it is what Cell allows.
        ptrs: ptrs.as_ptr() as *mut *mut c_void,
        num: ptrs.len(),
        size,
        flags,
    };
    let mut filled = 0usize;
    // SAFETY: experimental.batch_alloc reads one packet and writes a size_t; the packet's
    // array has room for `num` pointers.
    let r = unsafe { BATCH_ALLOC.exchange(0, Some(&mut filled), Some(&mut packet)) };
    if r == 0 {
        filled.min(ptrs.len())
    } else {
        0
    }
}

/// # Safety
/// `p` must be a live jemalloc allocation.
#[inline]
pub unsafe fn realloc(p: *mut c_void, size: usize, flags: c_int) -> *mut c_void {
    // SAFETY: the caller guarantees p is live; size is non-zero.
    unsafe { je::rallocx(p, size, flags) }
}

/// # Safety
/// `p` must be a live jemalloc allocation.
#[inline]
pub unsafe fn usable_size(p: *const c_void) -> usize {
    // SAFETY: the caller guarantees p is live.
    unsafe { je::sallocx(p, 0) }
}

/// Reads or writes a `mallctl` value by name. Returns jemalloc's error code.
///
/// # Safety
/// `T` must be the type jemalloc documents for `name`.
unsafe fn ctl<T>(name: &CStr, old: Option<&mut T>, new: Option<&mut T>) -> c_int {
    let mut len = std::mem::size_of::<T>();
    let (oldp, oldlenp) = match old {
        Some(o) => (o as *mut T as *mut c_void, &mut len as *mut usize),
        None => (std::ptr::null_mut(), std::ptr::null_mut()),
    };
    let (newp, newlen) = match new {
        Some(n) => (n as *mut T as *mut c_void, std::mem::size_of::<T>()),
        None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: pointers and lengths describe valid T buffers, as the caller's T matches name.
    unsafe { je::mallctl(name.as_ptr(), oldp, oldlenp, newp, newlen) }
}

/// MIB of a mallctl name, looked up once: a per-arena one (`arena.<i>.*`, `stats.arenas.<i>.*`)
/// takes the arena index in position `pos`.
struct ArenaMib {
    name: &'static CStr,
    pos: usize,
    mib: OnceCell<([usize; 6], usize)>,
}

impl ArenaMib {
    const fn new(name: &'static CStr) -> Self {
        Self::at(name, 1)
    }

    const fn at(name: &'static CStr, pos: usize) -> Self {
        ArenaMib {
            name,
            pos,
            mib: OnceCell::new(),
        }
    }

    /// A name without an arena index.
    const fn plain(name: &'static CStr) -> Self {
        Self::at(name, usize::MAX)
    }

    fn mib(&self, arena: u32) -> Option<([usize; 6], usize)> {
        let m = self.mib.get_or_try_init(|| {
            let mut mib = [0usize; 6];
            let mut len = mib.len();
            // SAFETY: mib has room for `len` entries; name is NUL-terminated.
            let r = unsafe { je::mallctlnametomib(self.name.as_ptr(), mib.as_mut_ptr(), &mut len) };
            if r == 0 {
                Ok((mib, len))
            } else {
                Err(r)
            }
        });
        let &(mut mib, len) = m.ok()?;
        if let Some(slot) = mib.get_mut(self.pos) {
            *slot = arena as usize;
        }
        Some((mib, len))
    }

    /// Reads into `old` and writes `new` (either may be absent); jemalloc's error code.
    ///
    /// # Safety
    /// `O` and `N` must be the types jemalloc documents for this name's value and input.
    unsafe fn exchange<O, N>(&self, arena: u32, old: Option<&mut O>, new: Option<&mut N>) -> c_int {
        let Some((mib, len)) = self.mib(arena) else {
            return libc::ENOENT;
        };
        let mut olen = std::mem::size_of::<O>();
        let (oldp, oldlenp) = match old {
            Some(o) => (o as *mut O as *mut c_void, &mut olen as *mut usize),
            None => (std::ptr::null_mut(), std::ptr::null_mut()),
        };
        let (newp, newlen) = match new {
            Some(n) => (n as *mut N as *mut c_void, std::mem::size_of::<N>()),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: the MIB came from jemalloc; the pointers and lengths describe a valid O
        // and N (or nothing), which the caller vouches are this name's types.
        unsafe { je::mallctlbymib(mib.as_ptr(), len, oldp, oldlenp, newp, newlen) }
    }

    /// # Safety
    /// `T` must be the type jemalloc documents for this name.
    unsafe fn call<T>(&self, arena: u32, new: Option<&mut T>) -> c_int {
        // SAFETY: per the contract; nothing is read.
        unsafe { self.exchange::<u8, T>(arena, None, new) }
    }

    /// Reads a `size_t` value.
    fn get_usize(&self, arena: u32) -> Option<usize> {
        let mut v = 0usize;
        // SAFETY: every name read through this is a size_t.
        let r = unsafe { self.exchange::<usize, u8>(arena, Some(&mut v), None) };
        (r == 0).then_some(v)
    }
}

static DESTROY: ArenaMib = ArenaMib::new(c"arena.0.destroy");
static PURGE: ArenaMib = ArenaMib::new(c"arena.0.purge");
static DIRTY_DECAY: ArenaMib = ArenaMib::new(c"arena.0.dirty_decay_ms");
static MUZZY_DECAY: ArenaMib = ArenaMib::new(c"arena.0.muzzy_decay_ms");
static GROW_LIMIT: ArenaMib = ArenaMib::new(c"arena.0.retain_grow_limit");

/// Creates a manual arena whose extents come from `hooks`. The hooks table must live as
/// long as the arena.
pub fn create(hooks: &'static extent_hooks_t) -> Option<u32> {
    let mut cfg = ArenaConfig {
        extent_hooks: hooks as *const extent_hooks_t as *mut extent_hooks_t,
        metadata_use_hooks: false,
    };
    let mut ind: c_uint = 0;
    let mut len = std::mem::size_of::<c_uint>();
    // SAFETY: arenas_create_ext reads an arena_config_t and writes an unsigned.
    let r = unsafe {
        je::mallctl(
            c"experimental.arenas_create_ext".as_ptr(),
            &mut ind as *mut c_uint as *mut c_void,
            &mut len,
            &mut cfg as *mut ArenaConfig as *mut c_void,
            std::mem::size_of::<ArenaConfig>(),
        )
    };
    if r == 0 {
        Some(ind)
    } else {
        None
    }
}

unsafe extern "C" fn keep_range(
    _hooks: *mut extent_hooks_t,
    _addr: *mut c_void,
    _size: usize,
    _committed: bool,
    _arena: c_uint,
) -> bool {
    // Refused: jemalloc purges the range and keeps it for reuse.
    true
}

/// Makes arena 0 (thread caches, the libraries' own blocks) keep the ranges it frees, as
/// jemalloc does with `retain` on, which `malloc_conf` turns off: each thread's caches
/// (two blocks of 32 KiB) would otherwise be mapped at its start and unmapped at its exit,
/// and a thousand threads starting at once spend their time in TLB shootdowns. The table
/// is jemalloc's defaults but for `dalloc`.
pub fn keep_arena0_ranges() {
    static HOOKS: OnceCell<extent_hooks_t> = OnceCell::new();
    let mut old: *mut extent_hooks_t = std::ptr::null_mut();
    // SAFETY: arena.<i>.extent_hooks reads and writes an extent_hooks_t pointer.
    if unsafe { ctl(c"arena.0.extent_hooks", Some(&mut old), None) } != 0 || old.is_null() {
        return;
    }
    let table = HOOKS.get_or_init(|| {
        // SAFETY: jemalloc's hooks table lives as long as the process and is only read.
        let mut t = unsafe { std::ptr::read(old) };
        t.dalloc = Some(keep_range);
        t
    });
    let mut new = table as *const extent_hooks_t as *mut extent_hooks_t;
    if new != old {
        // SAFETY: as above; the table is a static jemalloc only reads.
        unsafe { ctl(c"arena.0.extent_hooks", None, Some(&mut new)) };
    }
}

/// Discards every allocation of the arena and releases its index for reuse.
pub fn destroy(arena: u32) -> bool {
    // SAFETY: arena.<i>.destroy takes no value.
    unsafe { DESTROY.call::<()>(arena, None) == 0 }
}

/// Returns the arena's unused dirty pages to the hooks (and so to the file system) now.
pub fn purge(arena: u32) {
    // SAFETY: arena.<i>.purge takes no value.
    unsafe { PURGE.call::<()>(arena, None) };
}

/// Sets how long freed pages stay cached before being given back (0 = at once).
pub fn set_decay(arena: u32, dirty_ms: isize, muzzy_ms: isize) -> bool {
    let (mut d, mut m) = (dirty_ms as libc::ssize_t, muzzy_ms as libc::ssize_t);
    // SAFETY: the decay controls take an ssize_t.
    unsafe {
        DIRTY_DECAY.call(arena, Some(&mut d)) == 0 && MUZZY_DECAY.call(arena, Some(&mut m)) == 0
    }
}

/// Caps how much address space the arena asks its hooks for beyond the request at hand
/// (jemalloc grows its requests geometrically otherwise).
pub fn set_grow_limit(arena: u32, bytes: usize) -> bool {
    let mut v = bytes;
    // SAFETY: retain_grow_limit takes a size_t.
    unsafe { GROW_LIMIT.call(arena, Some(&mut v)) == 0 }
}

/// Turns jemalloc's background purging threads on or off.
pub fn set_background_threads(on: bool) -> c_int {
    let mut v = on;
    // SAFETY: background_thread is a bool.
    unsafe { ctl(c"background_thread", None, Some(&mut v)) }
}

/// Flags selecting arena `arena` and explicit thread cache `tcache`.
#[inline]
pub fn flags_with_cache(arena: u32, tcache: u32) -> c_int {
    (((arena as c_int) + 1) << 20) | (((tcache as c_int) + 2) << 8)
}

/// Flags for freeing through explicit cache `tcache`, or past every cache.
#[inline]
pub fn free_flags(tcache: Option<u32>) -> c_int {
    match tcache {
        Some(tc) => ((tc as c_int) + 2) << 8,
        None => je::MALLOCX_TCACHE_NONE,
    }
}

/// Creates an explicit thread cache; None when jemalloc has no free cache slot.
pub fn tcache_create() -> Option<u32> {
    let mut id: c_uint = 0;
    // SAFETY: tcache.create writes an unsigned.
    let r = unsafe { ctl(c"tcache.create", Some(&mut id), None) };
    (r == 0).then_some(id)
}

/// Returns an explicit cache's blocks to their arenas and frees the cache.
pub fn tcache_destroy(id: u32) {
    let mut v: c_uint = id;
    // SAFETY: tcache.destroy takes an unsigned.
    unsafe { ctl(c"tcache.destroy", None, Some(&mut v)) };
}

/// Returns an explicit cache's blocks to their arenas.
pub fn tcache_flush(id: u32) {
    let mut v: c_uint = id;
    // SAFETY: tcache.flush takes an unsigned.
    unsafe { ctl(c"tcache.flush", None, Some(&mut v)) };
}

/// The libraries' own Rust allocations (tables, strings, registries): jemalloc's arena 0,
/// past every thread cache. Arena 0 is an automatic arena no kind uses, and bypassing the
/// caches keeps these blocks out of every kind's. Under the interposer the C `malloc` is the interposer itself, which
/// may send a block to any tier: code that runs under a kind's lock must never go there.
pub mod internal {
    use std::alloc::{GlobalAlloc, Layout};

    use super::je;

    #[inline]
    fn flags(align: usize) -> std::os::raw::c_int {
        super::flags(0) | super::align_flag(align)
    }

    /// A Rust global allocator on jemalloc's arena 0, uncached.
    pub struct Alloc;

    // SAFETY: jemalloc returns blocks of at least the requested size and alignment, and
    // every block is freed or resized with the same arena and cache flags.
    unsafe impl GlobalAlloc for Alloc {
        #[inline]
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            // SAFETY: size is non-zero per GlobalAlloc's contract; the flags name arena 0
            // and a power-of-two alignment.
            unsafe { je::mallocx(l.size(), flags(l.align())).cast() }
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            // SAFETY: as for alloc.
            unsafe { je::mallocx(l.size(), flags(l.align()) | super::ZERO).cast() }
        }

        #[inline]
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: p came from alloc with the same layout, hence the same flags.
            unsafe { je::dallocx(p.cast(), flags(l.align())) }
        }

        #[inline]
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            // SAFETY: p came from this allocator with l; new is non-zero.
            unsafe { je::rallocx(p.cast(), new, flags(l.align())).cast() }
        }
    }
}

// ---- statistics ----------------------------------------------------------------------

static ST_RESIDENT: ArenaMib = ArenaMib::at(c"stats.arenas.0.resident", 2);
static ST_PACTIVE: ArenaMib = ArenaMib::at(c"stats.arenas.0.pactive", 2);
static ST_SMALL: ArenaMib = ArenaMib::at(c"stats.arenas.0.small.allocated", 2);
static ST_LARGE: ArenaMib = ArenaMib::at(c"stats.arenas.0.large.allocated", 2);

/// Which statistic: memkind's `MEMKIND_STAT_TYPE_*` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Resident,
    Active,
    Allocated,
}

/// Makes jemalloc refresh the statistics it reports; until then they stay as they were.
pub fn refresh_stats() -> bool {
    let mut epoch: u64 = 1;
    // SAFETY: epoch reads and writes a uint64_t.
    unsafe { ctl(c"epoch", None, Some(&mut epoch)) == 0 }
}

/// A statistic of one arena, as of the last refresh.
pub fn arena_stat(arena: u32, stat: Stat) -> Option<usize> {
    match stat {
        Stat::Resident => ST_RESIDENT.get_usize(arena),
        Stat::Active => ST_PACTIVE
            .get_usize(arena)
            .map(|pages| pages * crate::sys::page_size()),
        Stat::Allocated => Some(ST_SMALL.get_usize(arena)? + ST_LARGE.get_usize(arena)?),
    }
}

/// A statistic of the whole allocator, as of the last refresh.
pub fn total_stat(stat: Stat) -> Option<usize> {
    let name = match stat {
        Stat::Resident => c"stats.resident",
        Stat::Active => c"stats.active",
        Stat::Allocated => c"stats.allocated",
    };
    let mut v = 0usize;
    // SAFETY: these statistics are size_t.
    (unsafe { ctl(name, Some(&mut v), None) } == 0).then_some(v)
}

/// The callback type of `malloc_stats_print`.
pub type WriteCb = unsafe extern "C" fn(*mut c_void, *const c_char);

/// jemalloc's statistics report; `opts` is its option string.
///
/// # Safety
/// `write_cb`, if given, must accept `cbopaque` and a NUL-terminated string.
pub unsafe fn print_stats(write_cb: Option<WriteCb>, cbopaque: *mut c_void, opts: &CStr) {
    // SAFETY: jemalloc passes cbopaque to write_cb (or writes to stderr), which the caller
    // vouches for; opts is NUL-terminated.
    unsafe { je::malloc_stats_print(write_cb, cbopaque, opts.as_ptr()) }
}

// ---- fragmentation -------------------------------------------------------------------

/// jemalloc's `experimental.utilization.query` result for one pointer.
#[repr(C)]
#[derive(Default, Debug)]
pub struct Utilization {
    /// The slab new blocks of this size class are taken from (NULL if none).
    pub slabcur: usize,
    /// Free regions in the pointer's slab (0 for a large block).
    pub nfree: usize,
    /// Regions in the slab (1 for a large block).
    pub nregs: usize,
    /// Bytes of the slab (or the large block's extent).
    pub size: usize,
    /// Free regions in all slabs of the size class in this arena.
    pub bin_nfree: usize,
    /// Regions in all those slabs.
    pub bin_nregs: usize,
}

/// How full the slab of a live block is, compared with its size class.
///
/// # Safety
/// `p` must be a live jemalloc allocation.
pub unsafe fn utilization(p: *const c_void) -> Option<Utilization> {
    let mut u = Utilization::default();
    let mut len = std::mem::size_of::<Utilization>();
    let mut ptr = p;
    // SAFETY: the query reads a pointer and writes a struct of this layout (one pointer and
    // five size_t); p is live per the contract.
    let r = unsafe {
        je::mallctl(
            c"experimental.utilization.query".as_ptr(),
            &mut u as *mut Utilization as *mut c_void,
            &mut len,
            &mut ptr as *mut *const c_void as *mut c_void,
            std::mem::size_of::<*const c_void>(),
        )
    };
    (r == 0).then_some(u)
}

/// The arena a live block belongs to.
///
/// # Safety
/// `p` must be a live jemalloc allocation.
pub unsafe fn arena_of(p: *const c_void) -> Option<u32> {
    let mut ind: c_uint = 0;
    let mut len = std::mem::size_of::<c_uint>();
    let mut ptr = p;
    // SAFETY: arenas.lookup reads a pointer and writes an unsigned; p is live.
    let r = unsafe {
        je::mallctl(
            c"arenas.lookup".as_ptr(),
            &mut ind as *mut c_uint as *mut c_void,
            &mut len,
            &mut ptr as *mut *const c_void as *mut c_void,
            std::mem::size_of::<*const c_void>(),
        )
    };
    (r == 0).then_some(ind)
}
