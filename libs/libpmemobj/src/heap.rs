//! The persistent heap: zones of 256 KiB chunks; runs (chunks cut into equal blocks with
//! an allocation bitmap) for small objects and whole chunks for large ones, every object
//! preceded by a 16-byte compact header (size and flags, type number). Free space is
//! tracked in volatile lists rebuilt from the media on first use; every change to the
//! persistent state goes through a redo log so a crash leaves either the old or the new
//! state.

use crate::layout::*;
use crate::pool::Mem;
use crate::ulog::Entry;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub fn zone_off(z: u32) -> u64 {
    HEAP_OFFSET + HEAP_HDR_SIZE + z as u64 * ZONE_MAX_SIZE
}
pub fn chdr_off(z: u32, c: u32) -> u64 {
    zone_off(z) + ZONE_HDR_SIZE + c as u64 * 8
}
pub fn chunk_off(z: u32, c: u32) -> u64 {
    zone_off(z) + ZONE_META + c as u64 * CHUNKSIZE
}

/// Where a heap offset lies: zone and chunk.
pub fn locate(off: u64) -> Option<(u32, u32)> {
    let rel = off.checked_sub(HEAP_OFFSET + HEAP_HDR_SIZE)?;
    let z = rel / ZONE_MAX_SIZE;
    let inz = rel % ZONE_MAX_SIZE;
    if inz < ZONE_META {
        return None;
    }
    Some((z as u32, ((inz - ZONE_META) / CHUNKSIZE) as u32))
}

/// A block found from an object offset.
#[derive(Clone, Copy, Debug)]
pub enum Block {
    /// In a run: block start, block size, bitmap word offset, bit mask.
    Run {
        start: u64,
        bsize: u64,
        word: u64,
        mask: u64,
    },
    /// Whole chunks: zone, first chunk, number of chunks.
    Huge { z: u32, c: u32, n: u32, flags: u16 },
}

impl Block {
    pub fn start(&self) -> u64 {
        match *self {
            Block::Run { start, .. } => start,
            Block::Huge { z, c, .. } => chunk_off(z, c),
        }
    }
    pub fn size(&self) -> u64 {
        match *self {
            Block::Run { bsize, .. } => bsize,
            Block::Huge { n, .. } => n as u64 * CHUNKSIZE,
        }
    }
    /// The redo entry that marks the block allocated (`alloc`) or free.
    pub fn entry(&self, alloc: bool) -> Entry {
        match *self {
            Block::Run { word, mask, .. } => {
                if alloc {
                    Entry {
                        off: word,
                        op: ULOG_OP_OR,
                        val: mask,
                    }
                } else {
                    Entry {
                        off: word,
                        op: ULOG_OP_AND,
                        val: !mask,
                    }
                }
            }
            Block::Huge { z, c, n, flags } => Entry {
                off: chdr_off(z, c),
                op: ULOG_OP_SET,
                val: chunk_hdr(
                    if alloc {
                        CHUNK_TYPE_USED
                    } else {
                        CHUNK_TYPE_FREE
                    },
                    flags | CHUNK_FLAG_COMPACT_HEADER,
                    n,
                ),
            },
        }
    }
}

#[derive(Default)]
struct FreeList {
    /// Block starts of blocks exactly the class's unit.
    own: Vec<u64>,
    /// Blocks of runs with other unit sizes (made by other class tables): (start, size).
    foreign: Vec<(u64, u64)>,
}

struct Chunks {
    /// Free extents: (zone, first chunk) -> chunks.
    free: BTreeMap<(u32, u32), u32>,
    zones_init: u32,
    scanned: bool,
}

pub struct Heap {
    pub classes: Vec<Class>,
    lists: Vec<Mutex<FreeList>>,
    chunks: Mutex<Chunks>,
    pub nzones: u32,
    pub heap_size: u64,
    /// class index by (need - 1) / 16, for needs up to the largest unit
    by_need: Vec<u8>,
    scanned: std::sync::atomic::AtomicBool,
    /// Distinguishes this heap's blocks in the per-thread caches.
    id: usize,
}

static HEAP_IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
const TCACHE_BATCH: usize = 32;
const TCACHE_MAX: usize = 64;

/// Free blocks a thread keeps for itself, per heap and class. Blocks left here when a
/// thread ends stay unused until the pool is next opened (they are free on the media).
#[derive(Default)]
struct TCache {
    heaps: Vec<(usize, Vec<Vec<u64>>)>,
}

impl TCache {
    fn class(&mut self, id: usize, ci: usize, nclasses: usize) -> &mut Vec<u64> {
        let i = match self.heaps.iter().position(|h| h.0 == id) {
            Some(i) => i,
            None => {
                self.heaps.push((id, vec![Vec::new(); nclasses]));
                self.heaps.len() - 1
            }
        };
        &mut self.heaps[i].1[ci]
    }
    fn pop(&mut self, id: usize, ci: usize) -> Option<u64> {
        self.heaps
            .iter_mut()
            .find(|h| h.0 == id)?
            .1
            .get_mut(ci)?
            .pop()
    }
    fn fill(&mut self, id: usize, ci: usize, n: usize, blocks: Vec<u64>) {
        self.class(id, ci, n).extend(blocks);
    }
    fn push(&mut self, id: usize, ci: usize, n: usize, b: u64) -> bool {
        let c = self.class(id, ci, n);
        if c.len() >= TCACHE_MAX {
            return false;
        }
        c.push(b);
        true
    }
    /// Forgets a closed heap's blocks.
    fn drop_heap(&mut self, id: usize) {
        self.heaps.retain(|h| h.0 != id);
    }
}

thread_local! {
    static TCACHE: std::cell::RefCell<TCache> = std::cell::RefCell::new(TCache::default());
}

fn tcache<R>(f: impl FnOnce(&mut TCache) -> R) -> R {
    TCACHE.with(|t| f(&mut t.borrow_mut()))
}

/// Forgets this thread's cached blocks of a heap (the pool is closing).
pub fn forget_heap(id: usize) {
    let _ = TCACHE.try_with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            t.drop_heap(id)
        }
    });
}

pub enum AllocError {
    NoMem,
}

impl Heap {
    pub fn new(heap_size: u64) -> Heap {
        let classes = default_classes();
        let max = classes.last().map(|c| c.unit).unwrap_or(128);
        let mut by_need = Vec::with_capacity((max / 16) as usize);
        let mut ci = 0;
        for i in 0..max / 16 {
            let need = (i + 1) * 16;
            while classes[ci].unit < need {
                ci += 1;
            }
            by_need.push(ci as u8);
        }
        Heap {
            lists: classes
                .iter()
                .map(|_| Mutex::new(FreeList::default()))
                .collect(),
            classes,
            chunks: Mutex::new(Chunks {
                free: BTreeMap::new(),
                zones_init: 0,
                scanned: false,
            }),
            nzones: max_zone(heap_size),
            heap_size,
            by_need,
            scanned: std::sync::atomic::AtomicBool::new(false),
            id: HEAP_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub fn id(&self) -> usize {
        self.id
    }

    pub fn max_unit(&self) -> u64 {
        self.classes.last().unwrap().unit
    }

    fn class_for_unit_at_most(&self, b: u64) -> Option<usize> {
        self.classes.iter().rposition(|c| c.unit <= b)
    }

    /// Reads the heap and fills the free lists (once, on first use).
    pub fn ensure_scanned(&self, m: &Mem) {
        if self.scanned.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let mut ch = self.chunks.lock().unwrap();
        if ch.scanned {
            return;
        }
        ch.scanned = true;
        self.scan_zones(m, &mut ch);
        self.scanned
            .store(true, std::sync::atomic::Ordering::Release);
    }

    fn scan_zones(&self, m: &Mem, ch: &mut Chunks) {
        for z in 0..self.nzones {
            let zh = m.read(zone_off(z));
            if zh as u32 != ZONE_MAGIC {
                break;
            }
            ch.zones_init = z + 1;
            let zsize = ((zh >> 32) as u32).min(zone_chunks(z, self.nzones, self.heap_size));
            let mut c = 0u32;
            let mut last_free: Option<(u32, u32)> = None;
            while c < zsize {
                let h = m.read(chdr_off(z, c));
                let s = hdr_size_idx(h).max(1).min(zsize - c);
                match hdr_type(h) {
                    CHUNK_TYPE_FREE => {
                        if let Some((pc, ps)) = last_free.filter(|&(pc, ps)| pc + ps == c) {
                            // merge with the free extent just before
                            let ns = ps + s;
                            write_free_hdr(m, z, pc, ns, hdr_flags(m.read(chdr_off(z, pc))));
                            ch.free.insert((z, pc), ns);
                            last_free = Some((pc, ns));
                        } else {
                            ch.free.insert((z, c), s);
                            last_free = Some((c, s));
                        }
                    }
                    CHUNK_TYPE_RUN => {
                        self.scan_run(m, z, c, h);
                        last_free = None;
                    }
                    _ => last_free = None,
                }
                c += s;
            }
        }
    }

    fn scan_run(&self, m: &Mem, z: u32, c: u32, h: u64) {
        let flags = hdr_flags(h);
        let base = chunk_off(z, c);
        let bsize = m.read(base);
        if flags & CHUNK_FLAG_COMPACT_HEADER == 0 || bsize < 32 || flags & CHUNK_FLAG_ALIGNED != 0 {
            return; // header kinds we do not allocate from
        }
        let Some(ci) = self.class_for_unit_at_most(bsize) else {
            return;
        };
        let b = run_bitmap(hdr_size_idx(h), flags, bsize);
        let data = base + RUN_HDR + b.size;
        let mut fl = self.lists[ci].lock().unwrap();
        for w in 0..b.nvalues {
            let v = m.read(base + RUN_HDR + w as u64 * 8);
            if v == u64::MAX {
                continue;
            }
            for bit in 0..64 {
                let idx = w * 64 + bit;
                if idx >= b.nbits {
                    break;
                }
                if v & (1 << bit) == 0 {
                    let start = data + idx as u64 * bsize;
                    if bsize == self.classes[ci].unit {
                        fl.own.push(start);
                    } else {
                        fl.foreign.push((start, bsize));
                    }
                }
            }
        }
        // allocate from low addresses first
        fl.own.sort_unstable_by(|a, b| b.cmp(a));
    }

    /// Takes a free block for an object of `need` bytes (header included).
    pub fn reserve(&self, m: &Mem, need: u64) -> Result<Block, AllocError> {
        if need <= self.max_unit() {
            let ci0 = self.by_need[((need - 1) / 16) as usize] as usize;
            if let Some(b) = self.pop_class(m, ci0) {
                return Ok(b);
            }
            if self.new_run(m, ci0) {
                if let Some(b) = self.pop_class(m, ci0) {
                    return Ok(b);
                }
            }
            // no chunk left: any bigger free block will do
            for ci in ci0 + 1..self.classes.len() {
                if let Some(b) = self.pop_class(m, ci) {
                    return Ok(b);
                }
            }
            Err(AllocError::NoMem)
        } else {
            let n = need.div_ceil(CHUNKSIZE);
            if n > MAX_CHUNK {
                return Err(AllocError::NoMem);
            }
            let (z, c) = self.take_chunks(m, n as u32).ok_or(AllocError::NoMem)?;
            if n > 1 {
                m.write(
                    chdr_off(z, c + n as u32 - 1),
                    chunk_hdr(CHUNK_TYPE_FOOTER, 0, n as u32),
                );
                m.flush(chdr_off(z, c + n as u32 - 1), 8);
            }
            Ok(Block::Huge {
                z,
                c,
                n: n as u32,
                flags: CHUNK_FLAG_COMPACT_HEADER,
            })
        }
    }

    fn pop_class(&self, m: &Mem, ci: usize) -> Option<Block> {
        // this thread's own blocks first: no lock, and threads keep to different runs
        if let Some(start) = tcache(|t| t.pop(self.id, ci)) {
            return self.run_block(m, start, self.classes[ci].unit);
        }
        let mut fl = self.lists[ci].lock().unwrap();
        if fl.own.len() > 1 {
            // take a batch of neighbouring blocks for this thread
            let n = fl.own.len().min(TCACHE_BATCH);
            let at = fl.own.len() - n;
            let batch: Vec<u64> = fl.own.drain(at..).collect();
            drop(fl);
            let mut batch = batch;
            let start = batch.pop()?;
            tcache(|t| t.fill(self.id, ci, self.classes.len(), batch));
            return self.run_block(m, start, self.classes[ci].unit);
        }
        let (start, bsize) = if let Some(s) = fl.own.pop() {
            (s, self.classes[ci].unit)
        } else {
            fl.foreign.pop()?
        };
        drop(fl);
        self.run_block(m, start, bsize)
    }

    /// The bitmap position of a run block.
    fn run_block(&self, m: &Mem, start: u64, bsize: u64) -> Option<Block> {
        let (z, mut c) = locate(start)?;
        let mut h = m.read(chdr_off(z, c));
        if hdr_type(h) == CHUNK_TYPE_RUN_DATA {
            c = c.checked_sub(hdr_size_idx(h))?;
            h = m.read(chdr_off(z, c));
        }
        if hdr_type(h) != CHUNK_TYPE_RUN {
            return None;
        }
        let base = chunk_off(z, c);
        let b = run_bitmap(hdr_size_idx(h), hdr_flags(h), bsize);
        let data = base + RUN_HDR + b.size;
        let idx = (start - data) / bsize;
        Some(Block::Run {
            start,
            bsize,
            word: base + RUN_HDR + (idx / 64) * 8,
            mask: 1 << (idx % 64),
        })
    }

    /// Makes a new run for class `ci` from free chunks and lists its blocks.
    fn new_run(&self, m: &Mem, ci: usize) -> bool {
        let cl = self.classes[ci];
        let Some((z, c)) = self.take_chunks(m, cl.size_idx) else {
            return false;
        };
        let base = chunk_off(z, c);
        let b = cl.bitmap;
        m.write(base, cl.unit);
        m.write(base + 8, 0);
        for w in 0..(b.size / 8) {
            let v = if w + 1 < b.nvalues as u64 {
                0
            } else if w + 1 == b.nvalues as u64 {
                u64::MAX.checked_shl(b.nbits % 64).unwrap_or(0)
            } else {
                u64::MAX
            };
            m.write(base + RUN_HDR + w * 8, v);
        }
        m.flush(base, (RUN_HDR + b.size) as usize);
        for i in 1..cl.size_idx {
            m.write(chdr_off(z, c + i), chunk_hdr(CHUNK_TYPE_RUN_DATA, 0, i));
        }
        if cl.size_idx > 1 {
            m.flush(chdr_off(z, c + 1), 8 * (cl.size_idx as usize - 1));
        }
        m.drain();
        m.write(
            chdr_off(z, c),
            chunk_hdr(CHUNK_TYPE_RUN, RUN_FLAGS, cl.size_idx),
        );
        m.persist(chdr_off(z, c), 8);
        let data = base + RUN_HDR + b.size;
        let mut fl = self.lists[ci].lock().unwrap();
        for i in (0..b.nbits as u64).rev() {
            fl.own.push(data + i * cl.unit);
        }
        true
    }

    /// Removes `n` chunks from the free extents (first fit), initialising zones as needed.
    fn take_chunks(&self, m: &Mem, n: u32) -> Option<(u32, u32)> {
        let mut ch = self.chunks.lock().unwrap();
        loop {
            let found = ch.free.iter().find(|(_, &s)| s >= n).map(|(&k, &s)| (k, s));
            if let Some(((z, c), s)) = found {
                ch.free.remove(&(z, c));
                if s > n {
                    // The rest stays free and other threads may allocate from it at once,
                    // so the taken part must stop claiming it on the media before the lock
                    // goes: first the rest's own header (still inside the old extent, so
                    // ignored until the next step), then the taken part shrunk to n.
                    write_free_hdr(m, z, c + n, s - n, 0);
                    write_free_hdr(m, z, c, n, 0);
                    ch.free.insert((z, c + n), s - n);
                }
                return Some((z, c));
            }
            if ch.zones_init >= self.nzones {
                return None;
            }
            let z = ch.zones_init;
            let zs = zone_chunks(z, self.nzones, self.heap_size);
            write_free_hdr(m, z, 0, zs, 0);
            m.write(zone_off(z), ZONE_MAGIC as u64 | (zs as u64) << 32);
            m.persist(zone_off(z), 8);
            ch.zones_init = z + 1;
            ch.free.insert((z, 0), zs);
        }
    }

    /// Finds the allocated block an object offset belongs to (None: not an object).
    pub fn block_of(&self, m: &Mem, off: u64) -> Option<Block> {
        if off < HEAP_OFFSET + ALLOC_HDR
            || !off.is_multiple_of(16)
            || off >= HEAP_OFFSET + self.heap_size
        {
            return None;
        }
        let start = off - ALLOC_HDR;
        let (z, mut c) = locate(start)?;
        if z >= self.nzones {
            return None;
        }
        let mut h = m.read(chdr_off(z, c));
        if hdr_type(h) == CHUNK_TYPE_RUN_DATA {
            c = c.checked_sub(hdr_size_idx(h))?;
            h = m.read(chdr_off(z, c));
        }
        match hdr_type(h) {
            CHUNK_TYPE_USED => {
                if chunk_off(z, c) != start || hdr_flags(h) & CHUNK_FLAG_COMPACT_HEADER == 0 {
                    return None;
                }
                Some(Block::Huge {
                    z,
                    c,
                    n: hdr_size_idx(h),
                    flags: hdr_flags(h),
                })
            }
            CHUNK_TYPE_RUN => {
                if hdr_flags(h) & CHUNK_FLAG_COMPACT_HEADER == 0 {
                    return None;
                }
                let base = chunk_off(z, c);
                let bsize = m.read(base);
                if bsize == 0 {
                    return None;
                }
                let b = run_bitmap(hdr_size_idx(h), hdr_flags(h), bsize);
                let data = base + RUN_HDR + b.size;
                if start < data || !(start - data).is_multiple_of(bsize) {
                    return None;
                }
                let idx = (start - data) / bsize;
                if idx >= b.nbits as u64 {
                    return None;
                }
                let units = (m.read(start) & ((1 << ALLOC_HDR_FLAGS_SHIFT) - 1))
                    .div_ceil(bsize)
                    .clamp(1, 64);
                let word = base + RUN_HDR + (idx / 64) * 8;
                let mask = if units >= 64 {
                    u64::MAX
                } else {
                    ((1u64 << units) - 1) << (idx % 64)
                };
                if m.read(word) & mask != mask {
                    return None; // not allocated
                }
                Some(Block::Run {
                    start,
                    bsize: bsize * units,
                    word,
                    mask,
                })
            }
            _ => None,
        }
    }

    /// Returns a block to the free lists after its free has committed.
    pub fn release(&self, m: &Mem, b: Block) {
        match b {
            Block::Run {
                start, bsize, mask, ..
            } => {
                let units = mask.count_ones() as u64;
                let unit = bsize / units;
                let Some(ci) = self.class_for_unit_at_most(unit) else {
                    return;
                };
                if units == 1
                    && unit == self.classes[ci].unit
                    && tcache(|t| t.push(self.id, ci, self.classes.len(), start))
                {
                    return;
                }
                let mut fl = self.lists[ci].lock().unwrap();
                for u in 0..units {
                    if unit == self.classes[ci].unit {
                        fl.own.push(start + u * unit);
                    } else {
                        fl.foreign.push((start + u * unit, unit));
                    }
                }
            }
            Block::Huge { z, c, n, .. } => {
                let mut ch = self.chunks.lock().unwrap();
                let mut start = c;
                let mut len = n;
                // coalesce with free neighbours
                if let Some((&(pz, pc), &ps)) = ch.free.range(..(z, c)).next_back() {
                    if pz == z && pc + ps == c {
                        ch.free.remove(&(pz, pc));
                        start = pc;
                        len += ps;
                    }
                }
                if let Some(&ns) = ch.free.get(&(z, c + n)) {
                    ch.free.remove(&(z, c + n));
                    len += ns;
                }
                if start != c || len != n {
                    write_free_hdr(m, z, start, len, CHUNK_FLAG_COMPACT_HEADER);
                } else if n > 1 {
                    m.write(chdr_off(z, c + n - 1), chunk_hdr(CHUNK_TYPE_FOOTER, 0, n));
                    m.persist(chdr_off(z, c + n - 1), 8);
                }
                ch.free.insert((z, start), len);
            }
        }
    }

    /// Gives back a reserved block that was never committed.
    pub fn unreserve(&self, m: &Mem, b: Block) {
        match b {
            Block::Run { .. } => self.release(m, b),
            Block::Huge { .. } => self.release(m, b),
        }
    }
}

/// Writes a free extent's header and footer and persists them.
fn write_free_hdr(m: &Mem, z: u32, c: u32, n: u32, flags: u16) {
    m.write(chdr_off(z, c), chunk_hdr(CHUNK_TYPE_FREE, flags, n));
    if n > 1 {
        m.write(chdr_off(z, c + n - 1), chunk_hdr(CHUNK_TYPE_FOOTER, 0, n));
        m.flush(chdr_off(z, c + n - 1), 8);
    }
    m.persist(chdr_off(z, c), 8);
}

/// The next object after `after` (a block start; 0 for the first), skipping internal
/// objects. Returns the object offset (past its header).
pub fn next_object(m: &Mem, heap_size: u64, after: u64) -> Option<u64> {
    let nzones = max_zone(heap_size);
    let (mut z, mut c0) = if after == 0 { (0, 0) } else { locate(after)? };
    if after != 0 {
        let h = m.read(chdr_off(z, c0));
        if hdr_type(h) == CHUNK_TYPE_RUN_DATA {
            c0 = c0.saturating_sub(hdr_size_idx(h));
        }
    }
    while z < nzones {
        let zh = m.read(zone_off(z));
        if zh as u32 != ZONE_MAGIC {
            return None;
        }
        let zsize = ((zh >> 32) as u32).min(zone_chunks(z, nzones, heap_size));
        let mut c = c0;
        while c < zsize {
            let h = m.read(chdr_off(z, c));
            let s = hdr_size_idx(h).max(1).min(zsize - c);
            let base = chunk_off(z, c);
            match hdr_type(h) {
                CHUNK_TYPE_USED => {
                    if base > after || after == 0 {
                        let fl = m.read(base) >> ALLOC_HDR_FLAGS_SHIFT;
                        if fl & HDR_FLAG_INTERNAL == 0 {
                            return Some(base + ALLOC_HDR);
                        }
                    }
                }
                CHUNK_TYPE_RUN => {
                    if let Some(o) = next_in_run(m, base, h, after) {
                        return Some(o);
                    }
                }
                CHUNK_TYPE_FREE | CHUNK_TYPE_FOOTER | CHUNK_TYPE_RUN_DATA => {}
                _ => return None,
            }
            c += s;
        }
        z += 1;
        c0 = 0;
    }
    None
}

fn next_in_run(m: &Mem, base: u64, h: u64, after: u64) -> Option<u64> {
    let flags = hdr_flags(h);
    let bsize = m.read(base);
    if bsize == 0 || flags & CHUNK_FLAG_COMPACT_HEADER == 0 || flags & CHUNK_FLAG_ALIGNED != 0 {
        return None;
    }
    let b = run_bitmap(hdr_size_idx(h), flags, bsize);
    let data = base + RUN_HDR + b.size;
    let units_at = |start: u64| {
        (m.read(start) & ((1 << ALLOC_HDR_FLAGS_SHIFT) - 1))
            .div_ceil(bsize)
            .clamp(1, 64)
    };
    let mut idx: u64 = if after >= data {
        // continue past every unit of the object `after` starts
        let i = (after - data) / bsize;
        i + units_at(data + i * bsize)
    } else {
        0
    };
    while idx < b.nbits as u64 {
        let w = m.read(base + RUN_HDR + (idx / 64) * 8);
        let rest = w >> (idx % 64);
        if rest == 0 {
            idx = (idx / 64 + 1) * 64;
            continue;
        }
        idx += rest.trailing_zeros() as u64;
        if idx >= b.nbits as u64 {
            break;
        }
        let start = data + idx * bsize;
        let hv = m.read(start);
        if (hv >> ALLOC_HDR_FLAGS_SHIFT) & HDR_FLAG_INTERNAL == 0 {
            return Some(start + ALLOC_HDR);
        }
        idx += units_at(start);
    }
    None
}
