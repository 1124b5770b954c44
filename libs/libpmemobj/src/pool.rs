//! Pools: creating the PMDK 1.12 layout in a file, validating and recovering it on open,
//! the registry of open pools (by address and by pool id), lanes, the root object and the
//! atomic allocation operations built on the heap and the redo logs.

use crate::error::{set_err, Error};
use crate::heap::{self, AllocError, Block, Heap};
use crate::layout::*;
use crate::media::Media;
use crate::os;
use crate::ulog::{self, Entry};
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Raw access to the mapped pool: 8-byte atomic words, byte copies and persistence.
pub struct Mem {
    pub base: *mut u8,
    pub len: usize,
    pub media: Media,
}

// SAFETY: the mapping is shared memory; concurrent access goes through atomics or
// through regions a single thread owns (reserved blocks, held lanes).
unsafe impl Send for Mem {}
// SAFETY: shared access to the mapping goes through atomics or through ranges one thread owns.
unsafe impl Sync for Mem {}

impl Mem {
    fn word(&self, off: u64) -> &AtomicU64 {
        assert!(
            off.is_multiple_of(8) && off as usize + 8 <= self.len,
            "pool offset {off:#x} out of range"
        );
        // SAFETY: the offset is 8-aligned and inside the mapping (checked above); the
        // mapping outlives `self`.
        unsafe { AtomicU64::from_ptr(self.base.add(off as usize) as *mut u64) }
    }
    pub fn read(&self, off: u64) -> u64 {
        self.word(off).load(Ordering::Relaxed)
    }
    pub fn write(&self, off: u64, v: u64) {
        self.word(off).store(v, Ordering::Relaxed)
    }
    pub fn fetch_or(&self, off: u64, v: u64) -> u64 {
        self.word(off).fetch_or(v, Ordering::AcqRel)
    }
    pub fn fetch_and(&self, off: u64, v: u64) -> u64 {
        self.word(off).fetch_and(v, Ordering::AcqRel)
    }
    fn check(&self, off: u64, len: usize) {
        assert!(
            (off as usize)
                .checked_add(len)
                .is_some_and(|e| e <= self.len),
            "pool range {off:#x}+{len} out of range"
        );
    }
    pub fn bytes(&self, off: u64, len: usize) -> Vec<u8> {
        self.check(off, len);
        let mut v = vec![0u8; len];
        // SAFETY: the source range is inside the mapping (checked), the target is ours.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(off as usize), v.as_mut_ptr(), len) };
        v
    }
    pub fn copy_in(&self, off: u64, src: &[u8]) {
        self.check(off, src.len());
        // SAFETY: the target range is inside the mapping (checked).
        unsafe { std::ptr::copy(src.as_ptr(), self.base.add(off as usize), src.len()) };
    }
    pub fn fill(&self, off: u64, c: u8, len: u64) {
        self.check(off, len as usize);
        // SAFETY: the target range is inside the mapping (checked).
        unsafe { std::ptr::write_bytes(self.base.add(off as usize), c, len as usize) };
    }
    /// Writes whole cache lines and starts their write-back: streaming stores on
    /// persistent memory (no flush needed), ordinary stores plus flush elsewhere.
    pub fn write_lines(&self, off: u64, src: &[u8]) {
        self.check(off, src.len());
        match self.media {
            Media::Pmem => {
                // SAFETY: the target range is inside the mapping (checked), `src` is ours.
                unsafe {
                    persist::copy::memmove(
                        self.base.add(off as usize),
                        src.as_ptr(),
                        src.len(),
                        persist::PMEM_F_MEM_NONTEMPORAL | persist::PMEM_F_MEM_NODRAIN,
                    )
                }
            }
            _ => {
                self.copy_in(off, src);
                self.flush(off, src.len());
            }
        }
    }
    pub fn ptr(&self, off: u64) -> *mut u8 {
        self.base.wrapping_add(off as usize)
    }
    pub fn flush(&self, off: u64, len: usize) {
        self.check(off, len);
        // SAFETY: the range is inside the mapping (checked).
        unsafe { self.media.flush(self.base.add(off as usize), len) }
    }
    pub fn drain(&self) {
        self.media.drain()
    }
    pub fn persist(&self, off: u64, len: usize) {
        self.flush(off, len);
        self.drain();
    }
}

/// An open pool.
pub struct Pool {
    pub mem: Mem,
    pub uuid_lo: u64,
    pub heap: Heap,
    /// Lane in use flags; shared with the threads that keep a lane for themselves.
    lanes: Arc<Vec<AtomicBool>>,
    /// How many lanes threads keep; at most half, the rest serve operations one at a time.
    lanes_kept: Arc<AtomicUsize>,
    /// Lanes whose log clearing is flushed but not yet fenced (one bit per lane).
    dirty: Vec<AtomicU64>,
    /// Locks of the bitmap words, by word address.
    stripes: Vec<AtomicBool>,
    root_lock: Mutex<()>,
    pub user_data: AtomicPtr<libc::c_void>,
    fd: Mutex<Option<os::Fd>>,
    mapped: bool,
}

// --- registry ------------------------------------------------------------------------

static POOLS: RwLock<Vec<Arc<Pool>>> = RwLock::new(Vec::new());
/// Bumped on every close so per-thread caches drop stale entries.
pub static GENERATION: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static CACHE: std::cell::RefCell<(usize, Vec<Arc<Pool>>)> = const { std::cell::RefCell::new((0, Vec::new())) };
    static LANE_HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    static OLD: std::cell::RefCell<Vec<Arc<Pool>>> = const { std::cell::RefCell::new(Vec::new()) };
    static KEPT: std::cell::RefCell<Vec<KeptLane>> = const { std::cell::RefCell::new(Vec::new()) };
}
static NEXT_LANE: AtomicUsize = AtomicUsize::new(0);

/// A pool found in the registry. The per-thread cache holds a strong reference until the
/// second registry change this thread sees after the lookup, and programs must not use
/// a pool they closed, so the reference stays valid for the call that looked it up.
pub type PoolRef = &'static Pool;

fn find(f: impl Fn(&Pool) -> bool) -> Option<PoolRef> {
    CACHE.with(|c| {
        let g = GENERATION.load(Ordering::Acquire);
        let stale = c.borrow().0 != g;
        if stale {
            let fresh = POOLS.read().unwrap().clone();
            let mut c = c.borrow_mut();
            // the previous entries stay alive one more round for references in use
            let old = std::mem::replace(&mut c.1, fresh);
            OLD.with(|o| *o.borrow_mut() = old);
            c.0 = g;
        }
        let c = c.borrow();
        let p = c.1.iter().find(|p| f(p))?;
        // SAFETY: see `PoolRef`; the Arc in the cache keeps the pool alive.
        Some(unsafe { &*Arc::as_ptr(p) })
    })
}

/// The pool whose mapping starts at `base`.
pub fn by_base(base: *const u8) -> Option<PoolRef> {
    find(|p| std::ptr::eq(p.mem.base, base))
}
/// The pool holding address `addr`.
pub fn by_ptr(addr: *const u8) -> Option<PoolRef> {
    let a = addr as usize;
    find(|p| a >= p.mem.base as usize && a < p.mem.base as usize + p.mem.len)
}
/// The pool with pool id `uuid_lo`.
pub fn by_uuid(uuid_lo: u64) -> Option<PoolRef> {
    if uuid_lo == 0 {
        return None;
    }
    find(|p| p.uuid_lo == uuid_lo)
}

fn register(p: Arc<Pool>) {
    POOLS.write().unwrap().push(p);
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Removes the pool from the registry and unmaps it.
pub fn close(base: *const u8) -> bool {
    let p = {
        let mut v = POOLS.write().unwrap();
        let Some(i) = v.iter().position(|p| std::ptr::eq(p.mem.base, base)) else {
            return false;
        };
        v.swap_remove(i)
    };
    GENERATION.fetch_add(1, Ordering::AcqRel);
    crate::bump_cache_invalidate();
    if p.mapped {
        p.settle();
        if matches!(p.mem.media, Media::Msync(_)) {
            let _ = os::msync(p.mem.base, p.mem.len);
        }
        // SAFETY: the pool is out of the registry; programs must not use a closed pool.
        unsafe { os::unmap(p.mem.base, p.mem.len) };
    }
    // the lock goes with the descriptor, even while stale per-thread caches hold `p`
    p.fd.lock().unwrap().take();
    heap::forget_heap(p.heap.id());
    p.drop_kept_lane();
    drop(p);
    true
}

// --- creation ------------------------------------------------------------------------

fn uuid_lo_of(poolset_uuid: &[u8]) -> u64 {
    let mut v = 0u64;
    for i in 0..8 {
        v = (v << 8) | (poolset_uuid[i] ^ poolset_uuid[8 + i]) as u64;
    }
    v
}

/// Lays out a fresh pool in zeroed memory `m` of `m.len` bytes.
pub fn format(m: &Mem, layout: &[u8]) {
    let mut hdr = vec![0u8; POOL_HDR_SIZE];
    hdr[..8].copy_from_slice(SIGNATURE);
    hdr[H_MAJOR..H_MAJOR + 4].copy_from_slice(&FORMAT_MAJOR.to_le_bytes());
    hdr[H_FEATURES..H_FEATURES + 4].copy_from_slice(&FEAT_COMPAT.to_le_bytes());
    hdr[H_FEATURES + 4..H_FEATURES + 8].copy_from_slice(&FEAT_INCOMPAT.to_le_bytes());
    hdr[H_FEATURES + 8..H_FEATURES + 12].copy_from_slice(&FEAT_RO_COMPAT.to_le_bytes());
    let mut uu = [0u8; 32];
    loop {
        os::random(&mut uu);
        // RFC 4122 version 4 UUIDs
        for u in uu.chunks_mut(16) {
            u[6] = (u[6] & 0x0f) | 0x40;
            u[8] = (u[8] & 0x3f) | 0x80;
        }
        if uuid_lo_of(&uu[..16]) != 0 {
            break;
        }
    }
    hdr[H_POOLSET_UUID..H_POOLSET_UUID + 16].copy_from_slice(&uu[..16]);
    for i in 0..5 {
        let o = H_UUID + i * 16;
        hdr[o..o + 16].copy_from_slice(&uu[16..32]);
    }
    hdr[H_CRTIME..H_CRTIME + 8].copy_from_slice(&os::now_secs().to_le_bytes());
    hdr[H_ARCH..H_ARCH + 16].copy_from_slice(&ARCH_FLAGS);

    // lanes: every log empty, with its capacity
    for l in 0..NLANES {
        let lane = LANES_OFFSET + l * LANE_SIZE;
        for (o, cap) in [LANE_INTERNAL, LANE_EXTERNAL, LANE_UNDO] {
            m.write(lane + o + 16, cap);
        }
    }
    m.flush(LANES_OFFSET, (NLANES * LANE_SIZE) as usize);

    // heap header; zones are initialised when first needed
    let heap_size = m.len as u64 - HEAP_OFFSET;
    let mut hh = vec![0u8; HEAP_HDR_SIZE as usize];
    hh[..16].copy_from_slice(HEAP_SIGNATURE);
    hh[16..24].copy_from_slice(&1u64.to_le_bytes());
    hh[40..48].copy_from_slice(&CHUNKSIZE.to_le_bytes());
    hh[48..56].copy_from_slice(&MAX_CHUNK.to_le_bytes());
    let c = checksum(&hh, 1016, usize::MAX);
    hh[1016..1024].copy_from_slice(&c.to_le_bytes());
    m.copy_in(HEAP_OFFSET, &hh);
    m.flush(HEAP_OFFSET, hh.len());
    m.write(P_HEAP_SIZE as u64, heap_size);
    m.flush(P_HEAP_SIZE as u64, 8);

    // descriptor
    let mut d = vec![0u8; DESC_SIZE];
    d[..layout.len()].copy_from_slice(layout);
    d[MAX_LAYOUT..MAX_LAYOUT + 8].copy_from_slice(&LANES_OFFSET.to_le_bytes());
    d[MAX_LAYOUT + 8..MAX_LAYOUT + 16].copy_from_slice(&NLANES.to_le_bytes());
    d[MAX_LAYOUT + 16..MAX_LAYOUT + 24].copy_from_slice(&HEAP_OFFSET.to_le_bytes());
    let c = checksum(&d, DESC_SIZE - 8, usize::MAX);
    d[DESC_SIZE - 8..].copy_from_slice(&c.to_le_bytes());
    m.copy_in(DESC_OFF as u64, &d);
    m.flush(DESC_OFF as u64, DESC_SIZE);
    m.drain();

    // the header last: a pool is only a pool once everything else is durable
    let c = checksum(&hdr, HDR_CHECKSUM_OFF, HDR_CSUM_END);
    hdr[HDR_CHECKSUM_OFF..].copy_from_slice(&c.to_le_bytes());
    m.copy_in(0, &hdr);
    m.persist(0, POOL_HDR_SIZE);
}

fn media_for(sync: bool, base: *mut u8) -> Media {
    match os::env("PMEM_IS_PMEM_FORCE").as_deref().map(str::trim) {
        Some("1") => Media::Pmem,
        Some("0") => Media::Msync(base as usize),
        _ if sync => Media::Pmem,
        _ => Media::Msync(base as usize),
    }
}

fn path_str(p: &CStr) -> String {
    p.to_string_lossy().into_owned()
}

fn os_err(errno: i32, what: &str, path: &CStr) -> Error {
    set_err(format_args!(
        "{what} \"{}\": {}",
        path_str(path),
        std::io::Error::from_raw_os_error(errno)
    ));
    Error(errno)
}

pub fn create(
    path: &CStr,
    layout: Option<&CStr>,
    size: usize,
    mode: u32,
) -> Result<Arc<Pool>, Error> {
    let lay = layout.map(|l| l.to_bytes()).unwrap_or(b"");
    if lay.len() >= MAX_LAYOUT {
        set_err(format_args!("Layout too long"));
        return Err(Error(libc::EINVAL));
    }
    let (fd, size, created) = if size == 0 {
        let fd = os::open(path, false, 0).map_err(|e| os_err(e, "open", path))?;
        let (reg, len) = os::fstat(&fd).map_err(|e| os_err(e, "fstat", path))?;
        if !reg {
            set_err(format_args!("\"{}\" is not a regular file", path_str(path)));
            return Err(Error(libc::EINVAL));
        }
        (fd, len as usize, false)
    } else {
        if size < MIN_POOL {
            set_err(format_args!("size {size} smaller than {MIN_POOL}"));
            return Err(Error(libc::EINVAL));
        }
        match os::open(path, true, mode) {
            Ok(fd) => (fd, size, true),
            Err(libc::EEXIST) => {
                set_err(format_args!("file {} already exists", path_str(path)));
                return Err(Error(libc::EEXIST));
            }
            Err(e) => return Err(os_err(e, "open", path)),
        }
    };
    let size = size & !4095;
    let fail = |e: Error, fd: &os::Fd| {
        if created {
            os::truncate(fd, 0);
            os::unlink(path);
        }
        e
    };
    if let Err(e) = os::flock(&fd, true) {
        return Err(fail(os_err(e, "flock", path), &fd));
    }
    if size < MIN_POOL {
        set_err(format_args!("size {size} smaller than {MIN_POOL}"));
        return Err(fail(Error(libc::EINVAL), &fd));
    }
    if size > (1usize << 47) {
        set_err(format_args!("pool size {size} too large"));
        return Err(fail(Error(libc::EFBIG), &fd));
    }
    if created {
        if let Err(e) = os::allocate(&fd, size as u64) {
            set_err(format_args!(
                "posix_fallocate \"{}\", {size}: {}",
                path_str(path),
                std::io::Error::from_raw_os_error(e)
            ));
            return Err(fail(Error(e), &fd));
        }
    }
    let (base, sync) = match os::map(&fd, size, true) {
        Ok(v) => v,
        Err(e) => return Err(fail(os_err(e, "mmap", path), &fd)),
    };
    let mem = Mem {
        base,
        len: size,
        media: media_for(sync, base),
    };
    if !created && mem.bytes(0, POOL_HDR_SIZE).iter().any(|&b| b != 0) {
        // SAFETY: mapping made above, not shared with anyone yet.
        unsafe { os::unmap(base, size) };
        set_err(format_args!(
            "\"{}\" already holds data (a pool header)",
            path_str(path)
        ));
        return Err(Error(libc::EEXIST));
    }
    format(&mem, lay);
    let p = Arc::new(Pool::new(mem, Some(fd), true));
    register(p.clone());
    Ok(p)
}

/// What open and check verify before touching anything.
fn validate(m: &Mem, layout: Option<&CStr>) -> Result<(), Error> {
    let einval = |args: std::fmt::Arguments<'_>| {
        set_err(args);
        Error(libc::EINVAL)
    };
    if m.len < 2 << 20 {
        return Err(einval(format_args!(
            "size {} smaller than {}",
            m.len,
            2 << 20
        )));
    }
    let hdr = m.bytes(0, POOL_HDR_SIZE);
    let major = u32::from_le_bytes(hdr[H_MAJOR..H_MAJOR + 4].try_into().unwrap());
    if major == 0 {
        return Err(einval(format_args!("invalid major version (0)")));
    }
    let incompat = u32::from_le_bytes(hdr[H_FEATURES + 4..H_FEATURES + 8].try_into().unwrap());
    let end = if incompat & 0x2 != 0 {
        HDR_CSUM_END
    } else {
        HDR_CHECKSUM_OFF
    };
    let c = checksum(&hdr, HDR_CHECKSUM_OFF, end);
    if c != u64::from_le_bytes(hdr[HDR_CHECKSUM_OFF..].try_into().unwrap()) {
        return Err(einval(format_args!("invalid checksum of pool header")));
    }
    if &hdr[..8] != SIGNATURE {
        let sig = String::from_utf8_lossy(&hdr[..7]).into_owned();
        return Err(einval(format_args!("wrong pool type: \"{sig}\"")));
    }
    if major != FORMAT_MAJOR {
        return Err(einval(format_args!(
            "pool version {major} (library expects {FORMAT_MAJOR})"
        )));
    }
    let compat = u32::from_le_bytes(hdr[H_FEATURES..H_FEATURES + 4].try_into().unwrap());
    if incompat & !FEAT_INCOMPAT_KNOWN != 0 || compat & !FEAT_COMPAT_KNOWN != 0 {
        return Err(einval(format_args!(
            "unsafe to continue due to unknown incompat features"
        )));
    }
    if hdr[H_ARCH + 8..H_ARCH + 16] != ARCH_FLAGS[8..] {
        return Err(einval(format_args!("wrong architecture flags")));
    }
    let d = m.bytes(DESC_OFF as u64, DESC_SIZE);
    if checksum(&d, DESC_SIZE - 8, usize::MAX)
        != u64::from_le_bytes(d[DESC_SIZE - 8..].try_into().unwrap())
    {
        return Err(einval(format_args!("invalid checksum of pool descriptor")));
    }
    let stored_layout = &d[..MAX_LAYOUT];
    let stored_layout = &stored_layout[..stored_layout
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(MAX_LAYOUT)];
    if let Some(l) = layout {
        if l.to_bytes() != stored_layout {
            return Err(einval(format_args!(
                "wrong layout (\"{}\"), pool created with layout \"{}\"",
                l.to_string_lossy(),
                String::from_utf8_lossy(stored_layout)
            )));
        }
    }
    let rd = |o: usize| u64::from_le_bytes(d[o..o + 8].try_into().unwrap());
    let (lanes_off, nlanes, heap_off) = (rd(MAX_LAYOUT), rd(MAX_LAYOUT + 8), rd(MAX_LAYOUT + 16));
    if heap_off % 4096 != 0 {
        return Err(einval(format_args!("unaligned heap: off {heap_off}")));
    }
    if lanes_off != LANES_OFFSET || nlanes != NLANES || heap_off != HEAP_OFFSET {
        return Err(einval(format_args!(
            "unsupported pool geometry (lanes at {lanes_off}, {nlanes} lanes, heap at {heap_off})"
        )));
    }
    let heap_size = m.read(P_HEAP_SIZE as u64);
    if heap_size < HEAP_HDR_SIZE + ZONE_MIN_SIZE || HEAP_OFFSET + heap_size > m.len as u64 {
        return Err(einval(format_args!(
            "pool is truncated or damaged: heap of {heap_size} bytes does not fit in {} bytes",
            m.len
        )));
    }
    let hh = m.bytes(HEAP_OFFSET, HEAP_HDR_SIZE as usize);
    if checksum(&hh, 1016, usize::MAX) != u64::from_le_bytes(hh[1016..].try_into().unwrap()) {
        return Err(einval(format_args!("heap: invalid header's checksum")));
    }
    if &hh[..16] != HEAP_SIGNATURE {
        return Err(einval(format_args!("heap: invalid signature")));
    }
    let nz = max_zone(heap_size);
    for z in 0..nz {
        let zh = m.read(heap::zone_off(z));
        if zh as u32 == ZONE_MAGIC {
            let s = (zh >> 32) as u32;
            if s == 0 || s > zone_chunks(z, nz, heap_size) {
                return Err(einval(format_args!("heap: invalid zone size")));
            }
        } else if zh as u32 != 0 {
            return Err(einval(format_args!("heap: invalid zone header")));
        }
    }
    Ok(())
}

/// Replays the redo logs and rolls back the undo logs of every lane.
pub fn recover(m: &Mem) {
    for l in 0..NLANES {
        let lane = LANES_OFFSET + l * LANE_SIZE;
        ulog::recover_redo(m, lane + LANE_INTERNAL.0, LANE_INTERNAL.1);
        ulog::recover_redo(m, lane + LANE_EXTERNAL.0, LANE_EXTERNAL.1);
    }
    for l in 0..NLANES {
        let lane = LANES_OFFSET + l * LANE_SIZE;
        ulog::recover_undo(m, lane + LANE_UNDO.0, LANE_UNDO.1);
    }
}

pub fn open(path: &CStr, layout: Option<&CStr>) -> Result<Arc<Pool>, Error> {
    let fd = os::open(path, false, 0).map_err(|e| os_err(e, "open", path))?;
    os::flock(&fd, true).map_err(|e| os_err(e, "flock", path))?;
    let (reg, len) = os::fstat(&fd).map_err(|e| os_err(e, "fstat", path))?;
    if !reg {
        set_err(format_args!("\"{}\" is not a regular file", path_str(path)));
        return Err(Error(libc::EINVAL));
    }
    if len < 2 << 20 {
        set_err(format_args!("size {len} smaller than {}", 2 << 20));
        return Err(Error(libc::EINVAL));
    }
    let len = len as usize & !4095;
    let (base, sync) = os::map(&fd, len, true).map_err(|e| os_err(e, "mmap", path))?;
    let mem = Mem {
        base,
        len,
        media: media_for(sync, base),
    };
    if let Err(e) = validate(&mem, layout) {
        // SAFETY: our own fresh mapping, not published.
        unsafe { os::unmap(base, len) };
        return Err(e);
    }
    if !walk_heap(&mem, false) {
        // SAFETY: our own mapping from this open, not yet published to anyone.
        unsafe { os::unmap(base, len) };
        return Err(Error(libc::EINVAL));
    }
    let p = Pool::boot(mem, Some(fd));
    register(p.clone());
    Ok(p)
}

/// `pmemobj_check`: 1 consistent, 0 inconsistent, Err for pools that cannot be read.
pub fn check(path: &CStr, layout: Option<&CStr>) -> Result<bool, Error> {
    let fd = os::open_ro(path).map_err(|e| os_err(e, "open", path))?;
    os::flock(&fd, false).map_err(|e| os_err(e, "flock", path))?;
    let (_, len) = os::fstat(&fd).map_err(|e| os_err(e, "fstat", path))?;
    if len < 2 << 20 {
        set_err(format_args!("size {len} smaller than {}", 2 << 20));
        return Err(Error(libc::EINVAL));
    }
    let len = len as usize & !4095;
    let base = crate::os::map_private(&fd, len).map_err(|e| os_err(e, "mmap", path))?;
    let hook: Arc<dyn crate::media::Hook> = Arc::new(NoPersist);
    let mem = Mem {
        base,
        len,
        media: Media::Hook(hook),
    };
    let r = match validate(&mem, layout) {
        Err(e) => Err(e),
        Ok(()) => {
            // recovery runs on a private copy: the file is not changed
            recover(&mem);
            Ok(consistent(&mem))
        }
    };
    // SAFETY: the private mapping made above, used by nobody else.
    unsafe { os::unmap(base, len) };
    r
}

struct NoPersist;
impl crate::media::Hook for NoPersist {
    fn flush(&self, _: *const u8, _: usize) {}
    fn drain(&self) {}
}

/// Walks every zone: chunk headers well formed, runs with sane unit sizes, objects'
/// headers within their blocks.
pub fn consistent(m: &Mem) -> bool {
    walk_heap(m, true)
}

/// The heap walk; without `deep` only the chunk headers are read (what open checks, as
/// PMDK does), with it also the run and object headers they point to.
fn walk_heap(m: &Mem, deep: bool) -> bool {
    let heap_size = m.read(P_HEAP_SIZE as u64);
    let nz = max_zone(heap_size);
    for z in 0..nz {
        let zh = m.read(heap::zone_off(z));
        if zh as u32 != ZONE_MAGIC {
            break;
        }
        let zs = (zh >> 32) as u32;
        let mut c = 0;
        while c < zs {
            let h = m.read(heap::chdr_off(z, c));
            let (t, f, s) = (hdr_type(h), hdr_flags(h), hdr_size_idx(h));
            if s == 0 || c + s > zs || f & !CHUNK_FLAGS_ALL != 0 {
                set_err(format_args!(
                    "heap: invalid chunk header in zone {z} chunk {c}"
                ));
                return false;
            }
            match t {
                CHUNK_TYPE_FREE => {}
                CHUNK_TYPE_USED if !deep => {}
                CHUNK_TYPE_RUN if !deep => {}
                CHUNK_TYPE_USED => {
                    let hv = m.read(heap::chunk_off(z, c));
                    if f & CHUNK_FLAG_COMPACT_HEADER != 0
                        && (hv & ((1 << ALLOC_HDR_FLAGS_SHIFT) - 1)) > s as u64 * CHUNKSIZE
                    {
                        set_err(format_args!(
                            "heap: object larger than its chunks at zone {z} chunk {c}"
                        ));
                        return false;
                    }
                }
                CHUNK_TYPE_RUN => {
                    let bs = m.read(heap::chunk_off(z, c));
                    if bs == 0 || bs > run_content_size(s) {
                        set_err(format_args!(
                            "heap: invalid run block size in zone {z} chunk {c}"
                        ));
                        return false;
                    }
                    for i in 1..s {
                        let d = m.read(heap::chdr_off(z, c + i));
                        if hdr_type(d) != CHUNK_TYPE_RUN_DATA || hdr_size_idx(d) != i {
                            set_err(format_args!(
                                "heap: broken run data chunk in zone {z} chunk {}",
                                c + i
                            ));
                            return false;
                        }
                    }
                }
                _ => {
                    set_err(format_args!(
                        "heap: invalid chunk type {t} in zone {z} chunk {c}"
                    ));
                    return false;
                }
            }
            c += s;
        }
    }
    true
}

impl Pool {
    fn new(mem: Mem, fd: Option<os::Fd>, mapped: bool) -> Pool {
        let heap_size = mem.read(P_HEAP_SIZE as u64);
        let hdr = mem.bytes(H_POOLSET_UUID as u64, 16);
        Pool {
            uuid_lo: uuid_lo_of(&hdr),
            heap: Heap::new(heap_size),
            lanes: Arc::new((0..NLANES).map(|_| AtomicBool::new(false)).collect()),
            lanes_kept: Arc::new(AtomicUsize::new(0)),
            dirty: (0..NLANES / 64).map(|_| AtomicU64::new(0)).collect(),
            stripes: (0..STRIPES).map(|_| AtomicBool::new(false)).collect(),
            root_lock: Mutex::new(()),
            user_data: AtomicPtr::new(std::ptr::null_mut()),
            mem,
            fd: Mutex::new(fd),
            mapped,
        }
    }

    /// Recovery and run id bump for a validated pool.
    pub fn boot(mem: Mem, fd: Option<os::Fd>) -> Arc<Pool> {
        recover(&mem);
        let run_id = mem.read(P_RUN_ID as u64).wrapping_add(2);
        mem.write(P_RUN_ID as u64, if run_id == 0 { 2 } else { run_id });
        mem.persist(P_RUN_ID as u64, 8);
        let mapped = fd.is_some();
        Arc::new(Pool::new(mem, fd, mapped))
    }

    /// A pool over memory owned by the caller (tests).
    pub fn from_memory(mem: Mem) -> Arc<Pool> {
        Pool::boot(mem, None)
    }

    fn lane(&self) -> LaneGuard<'_> {
        let id = self.heap.id();
        // a lane this thread keeps: no atomic operation at all
        if let Some(i) = KEPT.with(|k| k.borrow().iter().find(|x| x.heap == id).map(|x| x.idx)) {
            return LaneGuard {
                pool: self,
                idx: i,
                release: false,
            };
        }
        let n = self.lanes.len();
        let mut i = LANE_HINT.with(|h| {
            if h.get() == usize::MAX {
                h.set(NEXT_LANE.fetch_add(1, Ordering::Relaxed));
            }
            h.get()
        }) % n;
        let keep = self.lanes_kept.fetch_add(1, Ordering::AcqRel) < n / 2;
        if !keep {
            self.lanes_kept.fetch_sub(1, Ordering::AcqRel);
        }
        loop {
            if self.lanes[i]
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                if keep {
                    KEPT.with(|k| {
                        k.borrow_mut().push(KeptLane {
                            lanes: self.lanes.clone(),
                            kept: self.lanes_kept.clone(),
                            heap: id,
                            idx: i,
                        })
                    });
                }
                return LaneGuard {
                    pool: self,
                    idx: i,
                    release: !keep,
                };
            }
            i = (i + 1) % n;
            std::hint::spin_loop();
        }
    }

    /// Gives back the lane this thread keeps for this pool (it is closing).
    fn drop_kept_lane(&self) {
        let id = self.heap.id();
        let _ = KEPT.try_with(|k| {
            if let Ok(mut k) = k.try_borrow_mut() {
                k.retain(|x| x.heap != id);
            }
        });
    }

    fn in_pool(&self, p: *const u8) -> Option<u64> {
        let a = p as usize;
        let b = self.mem.base as usize;
        if a >= b && a + 16 <= b + self.mem.len && a.is_multiple_of(8) {
            Some((a - b) as u64)
        } else {
            None
        }
    }

    /// Entries that set (or clear) a destination id inside the pool.
    fn dest_entries(&self, dest: *mut [u64; 2], off: u64, out: &mut Entries) -> bool {
        if let Some(d) = self.in_pool(dest as *const u8) {
            let uuid = if off == 0 { 0 } else { self.uuid_lo };
            out.push(Entry {
                off: d + 8,
                op: ULOG_OP_SET,
                val: off,
            });
            out.push(Entry {
                off: d,
                op: ULOG_OP_SET,
                val: uuid,
            });
            true
        } else {
            false
        }
    }

    fn commit(&self, hdr: Option<&ulog::HeaderCopy>, entries: &[Entry]) {
        let lane = self.lane();
        // bitmap words are updated under their stripe's lock, taken in index order
        let mut stripes = [usize::MAX; 2];
        let mut ns = 0;
        for e in entries {
            if e.op == ULOG_OP_OR || e.op == ULOG_OP_AND {
                let i = (e.off as usize >> 3) % STRIPES;
                if !stripes[..ns].contains(&i) && ns < 2 {
                    stripes[ns] = i;
                    ns += 1;
                }
            }
        }
        stripes[..ns].sort_unstable();
        let _held: [Option<StripeGuard<'_>>; 2] = [
            (ns > 0).then(|| self.stripe(stripes[0])),
            (ns > 1).then(|| self.stripe(stripes[1])),
        ];
        // other lanes' logs cleared without a fence: flush their headers so that our
        // fence makes the clearing durable before any of our entries can be
        self.flush_dirty_lanes(lane.idx);
        let log = LANES_OFFSET + lane.idx as u64 * LANE_SIZE + LANE_EXTERNAL.0;
        let lazy = !matches!(self.mem.media, Media::Pmem);
        if ulog::redo(&self.mem, log, LANE_EXTERNAL.1, hdr, entries, lazy) {
            // before the lane or any block of this operation is handed on
            self.dirty[lane.idx / 64].fetch_or(1 << (lane.idx % 64), Ordering::Release);
        }
    }

    fn stripe(&self, i: usize) -> StripeGuard<'_> {
        while self.stripes[i]
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        StripeGuard {
            flag: &self.stripes[i],
        }
    }

    fn flush_dirty_lanes(&self, mine: usize) {
        for (w, d) in self.dirty.iter().enumerate() {
            let mut v = d.load(Ordering::Acquire);
            if w == mine / 64 {
                v &= !(1 << (mine % 64));
            }
            while v != 0 {
                let b = v.trailing_zeros() as usize;
                v &= v - 1;
                if d.fetch_and(!(1 << b), Ordering::AcqRel) & (1 << b) != 0 {
                    let l = (w * 64 + b) as u64;
                    self.mem
                        .flush(LANES_OFFSET + l * LANE_SIZE + LANE_EXTERNAL.0, 64);
                }
            }
        }
    }

    /// Makes every cleared log header durable (before unmapping).
    pub fn settle(&self) {
        self.flush_dirty_lanes(usize::MAX);
        self.mem.drain();
    }

    /// Reserves and initialises a block; the caller commits it.
    fn prepare(
        &self,
        size: usize,
        type_num: u64,
        hflags: u64,
        zero: bool,
        flush: bool,
        init: &mut dyn FnMut(*mut u8, usize) -> i32,
    ) -> Result<Block, Error> {
        if size == 0 {
            set_err(format_args!("allocation with size 0"));
            return Err(Error(libc::EINVAL));
        }
        if size > MAX_ALLOC_SIZE {
            set_err(format_args!("requested size too large"));
            return Err(Error(libc::ENOMEM));
        }
        self.heap.ensure_scanned(&self.mem);
        let need = size as u64 + ALLOC_HDR;
        let b = self
            .heap
            .reserve(&self.mem, need)
            .map_err(|AllocError::NoMem| {
                set_err(format_args!(
                    "out of memory: no free block for {size} bytes"
                ));
                Error(libc::ENOMEM)
            })?;
        let start = b.start();
        let usable = b.size() - ALLOC_HDR;
        self.mem
            .write(start, b.size() | hflags << ALLOC_HDR_FLAGS_SHIFT);
        self.mem.write(start + 8, type_num);
        if zero {
            self.mem.fill(start + ALLOC_HDR, 0, usable);
        }
        if zero && flush {
            self.mem.flush(start, b.size() as usize);
        }
        let r = init(self.mem.ptr(start + ALLOC_HDR), usable as usize);
        if r != 0 {
            self.heap.unreserve(&self.mem, b);
            set_err(format_args!("constructor failed"));
            return Err(Error(libc::ECANCELED));
        }
        Ok(b)
    }

    /// `pmemobj_xalloc` and friends.
    ///
    /// # Safety
    /// `dest` is NULL or points to a writable PMEMoid (inside or outside the pool).
    pub unsafe fn alloc(
        &self,
        dest: *mut [u64; 2],
        size: usize,
        type_num: u64,
        zero: bool,
        flush: bool,
        init: &mut dyn FnMut(*mut u8, usize) -> i32,
    ) -> Result<u64, Error> {
        let b = self.prepare(size, type_num, 0, zero, flush, init)?;
        let start = b.start();
        let off = start + ALLOC_HDR;
        let mut e = Entries::new();
        e.push(b.entry(true));
        let logged = !dest.is_null() && self.dest_entries(dest, off, &mut e);
        if zero {
            // the zeroed data was flushed with the header: make it durable first
            self.mem.drain();
            self.commit(None, e.as_slice());
        } else {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&self.mem.read(start).to_le_bytes());
            bytes[8..].copy_from_slice(&type_num.to_le_bytes());
            self.commit(Some(&ulog::HeaderCopy { off: start, bytes }), e.as_slice());
        }
        if !dest.is_null() && !logged {
            // SAFETY: the caller passed a writable PMEMoid outside the pool.
            unsafe { *dest = [self.uuid_lo, off] };
        }
        Ok(off)
    }

    /// `pmemobj_free`: `dest` holds the id and is cleared atomically with the free.
    ///
    /// # Safety
    /// `dest` points to a writable PMEMoid.
    pub unsafe fn free(&self, dest: *mut [u64; 2], off: u64) {
        self.heap.ensure_scanned(&self.mem);
        let Some(b) = self.heap.block_of(&self.mem, off) else {
            set_err(format_args!(
                "invalid object id (offset {off:#x}) passed to free"
            ));
            return;
        };
        let mut e = Entries::new();
        e.push(b.entry(false));
        let logged = self.dest_entries(dest, 0, &mut e);
        self.commit(None, e.as_slice());
        if !logged {
            // SAFETY: the caller passed a writable PMEMoid outside the pool.
            unsafe { *dest = [0, 0] };
        }
        self.heap.release(&self.mem, b);
    }

    pub fn usable_size(&self, off: u64) -> usize {
        self.heap
            .block_of(&self.mem, off)
            .map(|b| (b.size() - ALLOC_HDR) as usize)
            .unwrap_or(0)
    }

    pub fn type_num(&self, off: u64) -> u64 {
        if off < HEAP_OFFSET + ALLOC_HDR
            || off as usize + 8 > self.mem.len
            || !off.is_multiple_of(8)
        {
            return 0;
        }
        self.mem.read(off - 8)
    }

    /// `pmemobj_realloc`: new block, copy, then swap blocks and the id in one redo.
    ///
    /// # Safety
    /// `dest` points to a writable PMEMoid of this pool.
    pub unsafe fn realloc(
        &self,
        dest: *mut [u64; 2],
        size: usize,
        type_num: u64,
        zero: bool,
    ) -> Result<(), Error> {
        // SAFETY: the caller passed a valid PMEMoid pointer.
        let [_, old] = unsafe { *dest };
        if old == 0 {
            if size == 0 {
                return Ok(());
            }
            // SAFETY: forwarded caller guarantee on `dest`.
            return unsafe { self.alloc(dest, size, type_num, zero, true, &mut |_, _| 0) }
                .map(|_| ());
        }
        if size == 0 {
            // SAFETY: forwarded caller guarantee on `dest`.
            unsafe { self.free(dest, old) };
            return Ok(());
        }
        self.heap.ensure_scanned(&self.mem);
        let Some(ob) = self.heap.block_of(&self.mem, old) else {
            set_err(format_args!("invalid object id passed to realloc"));
            return Err(Error(libc::EINVAL));
        };
        let old_usable = (ob.size() - ALLOC_HDR) as usize;
        if size <= old_usable && self.type_num(old) == type_num {
            return Ok(());
        }
        let src = self.mem.ptr(old);
        let nb = self.prepare(size, type_num, 0, false, true, &mut |p, usable| {
            let n = old_usable.min(usable);
            // SAFETY: both blocks are live, distinct pool blocks of at least n bytes.
            unsafe { std::ptr::copy_nonoverlapping(src, p, n) };
            if zero && usable > n {
                // SAFETY: the rest of the new block.
                unsafe { std::ptr::write_bytes(p.add(n), 0, usable - n) };
            }
            0
        })?;
        let noff = nb.start() + ALLOC_HDR;
        self.mem.persist(nb.start(), nb.size() as usize);
        let mut e = Entries::new();
        e.push(nb.entry(true));
        e.push(ob.entry(false));
        let logged = self.dest_entries(dest, noff, &mut e);
        self.commit(None, e.as_slice());
        if !logged {
            // SAFETY: caller's PMEMoid.
            unsafe { *dest = [self.uuid_lo, noff] };
        }
        self.heap.release(&self.mem, ob);
        Ok(())
    }

    pub fn root_size(&self) -> u64 {
        self.mem.read(P_ROOT_SIZE as u64)
    }

    /// `pmemobj_root_construct`.
    pub fn root(
        &self,
        size: usize,
        init: Option<&mut dyn FnMut(*mut u8, usize) -> i32>,
    ) -> Result<u64, Error> {
        let _g = self.root_lock.lock().unwrap();
        let cur = self.mem.read(P_ROOT_OFFSET as u64);
        let cur_size = self.root_size() as usize;
        if size == 0 && cur == 0 {
            set_err(format_args!("requested size cannot equals zero"));
            return Err(Error(libc::EINVAL));
        }
        if size > MAX_ALLOC_SIZE {
            set_err(format_args!("requested size too large"));
            return Err(Error(libc::ENOMEM));
        }
        if cur != 0 && size <= cur_size {
            return Ok(cur);
        }
        self.heap.ensure_scanned(&self.mem);
        let ob = if cur != 0 {
            self.heap.block_of(&self.mem, cur)
        } else {
            None
        };
        let src = self.mem.ptr(cur);
        let mut init = init;
        let nb = self.prepare(size, 0, HDR_FLAG_INTERNAL, true, true, &mut |p, usable| {
            if cur != 0 {
                // SAFETY: the old root is a live block of cur_size bytes, distinct from p.
                unsafe { std::ptr::copy_nonoverlapping(src, p, cur_size.min(usable)) };
            }
            match init.as_mut() {
                Some(f) => f(p, usable),
                None => 0,
            }
        })?;
        let noff = nb.start() + ALLOC_HDR;
        self.mem.persist(nb.start(), nb.size() as usize);
        let mut e = vec![
            nb.entry(true),
            Entry {
                off: P_ROOT_OFFSET as u64,
                op: ULOG_OP_SET,
                val: noff,
            },
            Entry {
                off: P_ROOT_SIZE as u64,
                op: ULOG_OP_SET,
                val: size as u64,
            },
        ];
        if let Some(ob) = ob {
            e.push(ob.entry(false));
        }
        self.commit(None, &e);
        if let Some(ob) = ob {
            self.heap.release(&self.mem, ob);
        }
        Ok(noff)
    }

    pub fn first(&self) -> u64 {
        heap::next_object(&self.mem, self.heap.heap_size, 0).unwrap_or(0)
    }

    pub fn next(&self, off: u64) -> u64 {
        if off < HEAP_OFFSET + ALLOC_HDR {
            return 0;
        }
        heap::next_object(&self.mem, self.heap.heap_size, off - ALLOC_HDR).unwrap_or(0)
    }
}

const STRIPES: usize = 64;

struct StripeGuard<'a> {
    flag: &'a AtomicBool,
}

impl Drop for StripeGuard<'_> {
    fn drop(&mut self) {
        self.flag.store(false, Ordering::Release);
    }
}

struct LaneGuard<'a> {
    pool: &'a Pool,
    idx: usize,
    /// false for a lane the thread keeps
    release: bool,
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        if self.release {
            self.pool.lanes[self.idx].store(false, Ordering::Release);
        }
    }
}

/// A lane a thread keeps for one pool until the thread ends or closes the pool.
struct KeptLane {
    lanes: Arc<Vec<AtomicBool>>,
    kept: Arc<AtomicUsize>,
    heap: usize,
    idx: usize,
}

impl Drop for KeptLane {
    fn drop(&mut self) {
        self.lanes[self.idx].store(false, Ordering::Release);
        self.kept.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Up to six redo entries, on the stack.
struct Entries {
    e: [Entry; 6],
    n: usize,
}

impl Entries {
    fn new() -> Entries {
        Entries {
            e: [Entry {
                off: 0,
                op: 0,
                val: 0,
            }; 6],
            n: 0,
        }
    }
    fn push(&mut self, x: Entry) {
        self.e[self.n] = x;
        self.n += 1;
    }
    fn as_slice(&self) -> &[Entry] {
        &self.e[..self.n]
    }
}
