//! `libmemtier.so`: put under an unmodified program with `LD_PRELOAD`, it replaces the
//! malloc family and spreads the heap over the tiers `MEMKIND_MEM_TIERS` names (memkind's
//! `libmemtier(7)` language, parsed by `tiering::config`).
//!
//! - Every tier is a kind of `libmemkind.so.0` (linked, not embedded): the DRAM tier is
//!   `MEMKIND_DEFAULT`, file tiers are kinds from `memkind_create_pmem`, KMEM_DAX is
//!   `MEMKIND_DAX_KMEM`. So there is one kind table and one heap per process: a block from
//!   `memkind_malloc` may be given to `free()` here and a block from `malloc()` here to
//!   `memkind_free`. Only the names `memkind.h` declares are used.
//! - Calls that arrive before start-up finished (the loader, `dlsym` calling `calloc`,
//!   jemalloc's own set-up) are served from a static buffer and never freed.
//! - Rust code here allocates through `memkind_malloc(MEMKIND_DEFAULT)` directly, never
//!   through the symbols it replaces.
//! - Without `MEMKIND_MEM_TIERS` the program runs on `MEMKIND_DEFAULT` alone, counting
//!   nothing.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::fmt::Write as _;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicIsize, AtomicU8, AtomicUsize, Ordering};

use mk::Kind;
use once_cell::sync::OnceCell;
use tiering::config::{self, Config, TierKind, TIERS_VAR};
use tiering::{Counter, Policy, PolicyKind, Tuning};

mod mk;

#[global_allocator]
static RUST_ALLOC: mk::DefaultAlloc = mk::DefaultAlloc;

const STATS_VAR: &CStr = c"MEMKIND_MEM_TIERS_STATS";
const LOG_VAR: &CStr = c"MEMKIND_MEM_TIERING_LOG_LEVEL";

struct Tier {
    name: &'static str,
    kind: Kind,
    /// The tier's directory (file tiers only): the summary counts the file-system bytes of
    /// the process's files there (the kind's file is made at its first allocation).
    dir: Option<std::ffi::CString>,
    bytes: Counter,
    allocs: Counter,
    peak: AtomicIsize,
    /// Allocations this tier could not serve (full file system, PMEM_SIZE_LIMIT) that
    /// another tier took instead.
    overflows: AtomicUsize,
}

struct Tiers {
    tiers: Vec<Tier>,
    policy: Policy,
    /// One DRAM tier and nothing counted: straight to jemalloc.
    plain: bool,
    stats: bool,
    dram: Option<usize>,
    /// Where a failed DRAM allocation falls back to (a KMEM_DAX tier, as memkind does).
    fallback: Option<usize>,
}

static TIERS: OnceCell<Tiers> = OnceCell::new();
/// Set once start-up found a single DRAM tier and no statistics: every call then goes
/// straight to `MEMKIND_DEFAULT` (the fast paths below touch nothing that can panic).
static PLAIN: AtomicBool = AtomicBool::new(false);
/// Where the exit summary goes (a duplicate of stderr taken at start).
static STATS_FD: AtomicI32 = AtomicI32::new(2);

const UNINIT: u8 = 0;
const STARTING: u8 = 1;
const READY: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static STARTER: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------
// Allocations before start-up finished: a bump buffer, 16-byte header holding the size.

const EARLY_LEN: usize = 1 << 20;
const EARLY_HDR: usize = 16;

#[repr(C, align(4096))]
struct Early(UnsafeCell<[u8; EARLY_LEN]>);
// SAFETY: disjoint ranges are handed out by an atomic bump pointer.
unsafe impl Sync for Early {}

static EARLY: Early = Early(UnsafeCell::new([0; EARLY_LEN]));
static EARLY_NEXT: AtomicUsize = AtomicUsize::new(0);

fn early_base() -> usize {
    EARLY.0.get() as usize
}

fn in_early(p: *const c_void) -> bool {
    (p as usize).wrapping_sub(early_base()) < EARLY_LEN
}

/// Zeroed memory (the buffer is never reused), aligned to `align` (a power of two).
fn early_alloc(size: usize, align: usize) -> *mut c_void {
    let align = align.max(EARLY_HDR);
    let mut cur = EARLY_NEXT.load(Ordering::Relaxed);
    loop {
        let Some(start) = (early_base() + cur + EARLY_HDR).checked_next_multiple_of(align) else {
            return std::ptr::null_mut();
        };
        let end = start - early_base() + size;
        if end > EARLY_LEN {
            set_errno(libc::ENOMEM);
            return std::ptr::null_mut();
        }
        match EARLY_NEXT.compare_exchange_weak(cur, end, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => {
                // SAFETY: [start - 16, start + size) lies in the buffer and is ours alone.
                unsafe { *((start - EARLY_HDR) as *mut usize) = size };
                return start as *mut c_void;
            }
            Err(c) => cur = c,
        }
    }
}

fn early_size(p: *const c_void) -> usize {
    // SAFETY: p came from early_alloc, which wrote the size just before it.
    unsafe { *((p as usize - EARLY_HDR) as *const usize) }
}

// ---------------------------------------------------------------------------------------
// Start-up.

fn self_id() -> usize {
    os::thread_id()
}

/// The tiers, starting them on first use; None while this thread is starting them.
#[inline]
fn tiers() -> Option<&'static Tiers> {
    match TIERS.get() {
        Some(t) => Some(t),
        None => start(),
    }
}

#[cold]
fn start() -> Option<&'static Tiers> {
    match STATE.compare_exchange(UNINIT, STARTING, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            STARTER.store(self_id(), Ordering::Release);
            // DEFAULT starts (and binds this thread to its arena) while every allocation
            // that start-up makes on this thread still goes to the early buffer.
            mk::warm_up();
            let t = build();
            let plain = t.plain;
            let _ = TIERS.set(t);
            PLAIN.store(plain, Ordering::Release);
            STATE.store(READY, Ordering::Release);
            let t = TIERS.get();
            if let Some(t) = t {
                announce(t);
            }
            t
        }
        Err(STARTING) if STARTER.load(Ordering::Acquire) == self_id() => None,
        Err(_) => {
            while STATE.load(Ordering::Acquire) != READY {
                std::hint::spin_loop();
            }
            TIERS.get()
        }
    }
}

fn env(name: &CStr) -> Option<&'static str> {
    match std::str::from_utf8(os::getenv(name)?) {
        Ok(s) => Some(s),
        Err(_) => die(&format!("{}: not valid UTF-8", name.to_string_lossy())),
    }
}

/// Stops the program at start with one line on stderr.
fn die(msg: &str) -> ! {
    let line = format!("libmemtier: {msg}\n");
    write_stderr(line.as_bytes());
    os::exit_now(1)
}

fn write_stderr(b: &[u8]) {
    write_fd(2, b)
}

fn write_fd(fd: c_int, b: &[u8]) {
    os::write_all(fd, b)
}

fn log_level() -> u8 {
    match env(LOG_VAR) {
        None | Some("") | Some("0") => 0,
        Some("1") => 1,
        Some("2") => 2,
        Some(v) => die(&format!(
            "MEMKIND_MEM_TIERING_LOG_LEVEL: '{v}': expected 0, 1 or 2"
        )),
    }
}

fn build() -> Tiers {
    let stats = matches!(env(STATS_VAR), Some(v) if !v.is_empty() && v != "0") || log_level() >= 2;
    let cfg = match env(c"MEMKIND_MEM_TIERS") {
        None | Some("") => Config {
            tiers: vec![config::TierCfg {
                kind: TierKind::Dram,
                ratio: 1,
            }],
            policy: PolicyKind::StaticRatio,
            thresholds: Vec::new(),
        },
        Some(s) => config::parse(s, env(c"MEMKIND_MEM_THRESHOLDS").filter(|t| !t.is_empty()))
            .unwrap_or_else(|e| die(&e.to_string())),
    };
    let ratios: Vec<u32> = cfg.tiers.iter().map(|t| t.ratio).collect();
    let policy = Policy::new(cfg.policy, &ratios, &cfg.thresholds, Tuning::default())
        .unwrap_or_else(|e| die(&format!("MEMKIND_MEM_TIERS: {e:?}")));
    let tiers: Vec<Tier> = cfg.tiers.iter().map(open_tier).collect();
    let dram = tiers.iter().position(|t| t.kind == mk::default_kind());
    let fallback = dram.and(cfg.tiers.iter().position(|t| t.kind == TierKind::KmemDax));
    let plain = tiers.len() == 1 && dram == Some(0) && !stats;
    if stats {
        // Programs may close stderr in their own exit handlers (coreutils do), which run
        // before ours: the summary goes to a private copy of it, kept clear of the low
        // numbers the program expects to be free (as the tier files are).
        let fd = os::dup_cloexec_from(2, 3)
            .map(os::out_of_the_way)
            .unwrap_or(2);
        STATS_FD.store(fd, Ordering::Relaxed);
        // Without room for the handler the program runs on, with no summary.
        let _ = os::at_exit(print_stats);
    }
    Tiers {
        tiers,
        policy,
        plain,
        stats,
        dram,
        fallback,
    }
}

fn open_tier(t: &config::TierCfg) -> Tier {
    let (kind, dir) = match &t.kind {
        TierKind::Dram => (mk::default_kind(), None),
        TierKind::KmemDax => match mk::dax_kmem() {
            Ok(k) => (k, None),
            Err(e) => die(&format!(
                "{TIERS_VAR}: 'KIND:KMEM_DAX': expected a machine with a memory-only NUMA node (or MEMKIND_DAX_KMEM_NODES); {}",
                mk::error_message(e)
            )),
        },
        TierKind::FsDax { path, limit } => {
            let dir = std::ffi::CString::new(path.as_str()).unwrap_or_else(|_| {
                die(&format!(
                    "{TIERS_VAR}: 'PATH:{path}': expected a path without NUL"
                ))
            });
            match mk::create_pmem(&dir, *limit) {
                Ok(k) => (k, Some(dir)),
                Err(e) => die(&format!(
                    "{TIERS_VAR}: 'PATH:{path}': expected a directory where a file-backed kind can be created; {}",
                    mk::error_message(e)
                )),
            }
        }
    };
    Tier {
        name: t.kind.name(),
        kind,
        dir,
        bytes: Counter::new(),
        allocs: Counter::new(),
        peak: AtomicIsize::new(0),
        overflows: AtomicUsize::new(0),
    }
}

fn announce(t: &Tiers) {
    if log_level() == 0 {
        return;
    }
    let mut s = String::new();
    for (i, tier) in t.tiers.iter().enumerate() {
        let _ = writeln!(s, "libmemtier: tier {i}: {}", tier.name);
    }
    write_stderr(s.as_bytes());
}

extern "C" fn print_stats() {
    let Some(t) = TIERS.get() else { return };
    let mut s = String::new();
    for (i, tier) in t.tiers.iter().enumerate() {
        let fs = tier.dir.as_deref().map_or(0, file_bytes);
        let _ = writeln!(
            s,
            "memtier: tier {i} {} allocs={} bytes={} peak={} fs_bytes={fs} overflowed={}",
            tier.name,
            tier.allocs.sum(),
            tier.bytes.sum(),
            tier.peak.load(Ordering::Relaxed).max(tier.bytes.sum()),
            tier.overflows.load(Ordering::Relaxed),
        );
    }
    write_fd(STATS_FD.load(Ordering::Relaxed), s.as_bytes());
}

/// File-system bytes of the process's open files in `dir`.
fn file_bytes(dir: &CStr) -> u64 {
    os::open_fds()
        .into_iter()
        .filter(|&fd| os::fd_in_dir(fd, dir))
        .map(|fd| os::fd_disk_bytes(fd).unwrap_or(0))
        .sum()
}

// ---------------------------------------------------------------------------------------
// The allocation paths.

fn set_errno(e: c_int) {
    os::set_errno(e)
}

fn nomem(p: *mut c_void) -> *mut c_void {
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

#[derive(Clone, Copy)]
pub(crate) enum How {
    Plain,
    Zeroed,
    Aligned(usize),
}

impl Tiers {
    #[inline]
    fn alloc(&self, size: usize, how: How) -> *mut c_void {
        let i = self.policy.choose(size, |i| self.tiers[i].bytes.flushed());
        let p = self.alloc_in(i, size, how);
        if !p.is_null() {
            return p;
        }
        // A full tier hands the request on, so a program with free memory elsewhere does
        // not fail: a file tier to DRAM, DRAM to KMEM_DAX (as memkind does).
        let other = if Some(i) == self.dram {
            self.fallback
        } else {
            self.dram
        };
        if let Some(f) = other.filter(|&f| f != i) {
            let q = self.alloc_in(f, size, how);
            if !q.is_null() {
                self.tiers[i].overflows.fetch_add(1, Ordering::Relaxed);
                return q;
            }
        }
        nomem(p)
    }

    fn alloc_in(&self, i: usize, size: usize, how: How) -> *mut c_void {
        let t = &self.tiers[i];
        if let How::Plain = how {
            let (p, n) = t.kind.alloc_counted(size);
            if !p.is_null() {
                self.count_bytes(i, n as isize, true);
            }
            return p;
        }
        let p = t.kind.alloc(size, how);
        if !p.is_null() {
            self.count(i, p, 1);
        }
        p
    }

    /// Adds (`sign` 1) or removes (-1) a live block of tier `i` from its counts.
    #[inline]
    fn count(&self, i: usize, p: *mut c_void, sign: isize) {
        let n = self.tiers[i].kind.usable_size(p);
        self.count_bytes(i, n as isize * sign, sign > 0);
    }

    #[inline]
    fn count_bytes(&self, i: usize, delta: isize, new_block: bool) {
        let t = &self.tiers[i];
        t.bytes.add(delta);
        if self.stats {
            if new_block {
                t.allocs.add(1);
            }
            if delta > 0 {
                t.peak.fetch_max(t.bytes.sum(), Ordering::Relaxed);
            }
        }
    }

    fn tier_of(&self, k: Kind) -> Option<usize> {
        self.tiers.iter().position(|t| t.kind == k)
    }

    #[inline]
    fn free(&self, p: *mut c_void) {
        // A pointer no kind owns is reported and left alone.
        let (Some(k), n) = mk::free_counted(p) else {
            return;
        };
        if let Some(i) = self.tier_of(k) {
            self.count_bytes(i, -(n as isize), false);
        }
    }

    fn realloc(&self, p: *mut c_void, size: usize) -> *mut c_void {
        let Some(k) = mk::detect(p) else {
            // memkind_realloc reports a pointer no kind owns and fails with EINVAL.
            return nomem(mk::realloc(p, size));
        };
        let old = k.usable_size(p);
        let q = k.realloc(p, size);
        if q.is_null() {
            return nomem(q);
        }
        if let Some(i) = self.tier_of(k) {
            let new = k.usable_size(q);
            self.count_bytes(i, new as isize - old as isize, false);
        }
        q
    }
}

// ---------------------------------------------------------------------------------------
// The exported malloc family. Every body runs under catch_unwind: a panic becomes a failed
// allocation, never an unwind into C.

fn guard<R, F: FnOnce() -> R>(fail: R, f: F) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fail)
}

#[inline]
fn alloc(size: usize, how: How) -> *mut c_void {
    let size = size.max(1);
    match tiers() {
        Some(t) if t.plain => nomem(mk::default_kind().alloc(size, how)),
        Some(t) => t.alloc(size, how),
        None => early_alloc(
            size,
            match how {
                How::Aligned(a) => a,
                _ => EARLY_HDR,
            },
        ),
    }
}

#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    // DRAM only: one tail call, the rest of the work in libmemkind.
    if PLAIN.load(Ordering::Relaxed) {
        return mk::default_malloc(size);
    }
    malloc_tiered(size)
}

// extern "C" (no unwinding out of it) keeps the caller free of a landing pad.
#[inline(never)]
extern "C" fn malloc_tiered(size: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || alloc(size, How::Plain))
}

#[no_mangle]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || match n.checked_mul(size) {
        Some(total) => alloc(total, How::Zeroed),
        None => nomem(std::ptr::null_mut()),
    })
}

/// # Safety
/// `p` is NULL or a live block from this allocator, as for C `free`.
#[no_mangle]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if PLAIN.load(Ordering::Relaxed) && !in_early(p) {
        return mk::default_free(p);
    }
    free_tiered(p)
}

#[inline(never)]
extern "C" fn free_tiered(p: *mut c_void) {
    guard((), || {
        if p.is_null() || in_early(p) {
            return;
        }
        match TIERS.get() {
            Some(t) if t.plain => mk::free(p),
            Some(t) => t.free(p),
            // Nothing but the early buffer exists before start-up.
            None => {}
        }
    })
}

/// # Safety
/// `p` is NULL or a live block from this allocator, as for C `realloc`.
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        if p.is_null() {
            return alloc(size, How::Plain);
        }
        if size == 0 {
            // SAFETY: per this function's contract.
            unsafe { free(p) };
            return std::ptr::null_mut();
        }
        if in_early(p) {
            let q = alloc(size, How::Plain);
            if !q.is_null() {
                // SAFETY: both blocks hold at least min(old, size) bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        p as *const u8,
                        q as *mut u8,
                        early_size(p).min(size),
                    )
                };
            }
            return q;
        }
        match TIERS.get() {
            Some(t) if t.plain => nomem(mk::realloc(p, size)),
            Some(t) => t.realloc(p, size),
            None => nomem(std::ptr::null_mut()),
        }
    })
}

/// # Safety
/// `p` is NULL or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        // SAFETY: per this function's contract.
        Some(total) => unsafe { realloc(p, total) },
        None => nomem(std::ptr::null_mut()),
    }
}

fn page() -> usize {
    os::page_size()
}

/// # Safety
/// `memptr` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(
    memptr: *mut *mut c_void,
    align: usize,
    size: usize,
) -> c_int {
    guard(libc::ENOMEM, || {
        if memptr.is_null() || !align.is_power_of_two() || align < std::mem::size_of::<usize>() {
            return libc::EINVAL;
        }
        let p = alloc(size, How::Aligned(align));
        if p.is_null() {
            return libc::ENOMEM;
        }
        // SAFETY: memptr is a non-NULL out-pointer.
        unsafe { *memptr = p };
        0
    })
}

#[no_mangle]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        if !align.is_power_of_two() {
            set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        }
        alloc(size, How::Aligned(align))
    })
}

#[no_mangle]
pub extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    // glibc rounds an alignment that is not a power of two up to one.
    match align.max(1).checked_next_power_of_two() {
        Some(a) => guard(std::ptr::null_mut(), || alloc(size, How::Aligned(a))),
        None => {
            set_errno(libc::EINVAL);
            std::ptr::null_mut()
        }
    }
}

#[no_mangle]
pub extern "C" fn valloc(size: usize) -> *mut c_void {
    memalign(page(), size)
}

#[no_mangle]
pub extern "C" fn pvalloc(size: usize) -> *mut c_void {
    match size.max(1).checked_next_multiple_of(page()) {
        Some(s) => memalign(page(), s),
        None => nomem(std::ptr::null_mut()),
    }
}

/// # Safety
/// `p` is NULL or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    guard(0, || {
        if p.is_null() {
            return 0;
        }
        if in_early(p) {
            return early_size(p);
        }
        mk::usable_size(p)
    })
}

/// Starts the tiers when the library is loaded, so a bad configuration stops the program
/// before `main` even if nothing allocates first.
extern "C" fn on_load() {
    let _ = tiers();
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;
