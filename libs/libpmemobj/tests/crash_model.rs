//! Power-failure model of the allocator. The pool lives in an ordinary buffer (the CPU
//! caches); a second buffer is the persistent media. Flushes record the flushed lines'
//! contents, a fence (drain) writes recorded lines to the media. At random flush/fence
//! events a crash image is made: the media, plus a random subset of the recorded but not
//! yet fenced lines, plus a random subset of the lines that were stored to but never
//! flushed (evicted early). Each image is recovered as a pool and checked: every slot of
//! the root is NULL or a complete object, the collection holds exactly the slots'
//! objects, the heap is well formed, and the allocator works afterwards.

use pmemobj::layout::*;
use pmemobj::media::{Hook, Media};
use pmemobj::pool::{self, Mem, Pool};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const POOL: usize = 8 << 20;
const LINE: usize = 64;
const NSLOTS: u64 = 48;
const MAGIC: u64 = 0x6d6f_6465_6c21_2121;
const ORPHAN: u64 = 9999;
const ZEROED: u64 = 9998;

/// A thread's flushed lines: line -> (flush order, contents at the flush).
type Flushed = HashMap<usize, (u64, [u8; LINE])>;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The model: cache = the live buffer at `base`, media = durable bytes.
struct Model {
    base: usize,
    media: Mutex<Vec<u8>>,
    /// Flushed, not yet fenced lines, per thread (a fence only orders its own thread),
    /// with the order in which they were flushed: an older write-back never lands on top
    /// of a newer one.
    pending: Mutex<HashMap<std::thread::ThreadId, Flushed>>,
    /// Flush order number of what the media holds, per line.
    media_seq: Mutex<Vec<u64>>,
    seq: AtomicU64,
    events: AtomicUsize,
    /// crash at every event whose number has this residue... chosen by `should_crash`
    rng: Mutex<Rng>,
    crash_prob: u64,
    crashes: AtomicUsize,
    failures: AtomicUsize,
    checked_ops: AtomicU64,
}

impl Model {
    fn line_of(&self, a: usize) -> usize {
        (a - self.base) / LINE
    }
    fn cache(&self) -> &[u8] {
        // SAFETY: the buffer at `base` lives for the whole test (leaked Vec), POOL bytes.
        unsafe { std::slice::from_raw_parts(self.base as *const u8, POOL) }
    }
    fn event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
        let crash = {
            let mut r = self.rng.lock().unwrap();
            r.next() % 1000 < self.crash_prob
        };
        if crash {
            self.crash();
        }
    }
    /// Builds a crash image and checks that it recovers.
    fn crash(&self) {
        for _ in 0..3 {
            self.crash_once();
        }
    }
    fn crash_once(&self) {
        let mut r = Rng(self.rng.lock().unwrap().next() | 1);
        // One consistent moment: with the flush/fence bookkeeping locked no thread can
        // pass a fence, so no store it makes while we copy can be one that needed a fence
        // first. (Lock order as in the hooks: pending, media, media_seq.)
        let (mut img, cache, mut chosen, mut seqs) = {
            let pending = self.pending.lock().unwrap();
            let media = self.media.lock().unwrap();
            let seqs = self.media_seq.lock().unwrap();
            let chosen: Vec<(u64, usize, [u8; LINE])> = pending
                .values()
                .flat_map(|m| m.iter())
                .map(|(&l, &(q, d))| (q, l, d))
                .filter(|_| r.next().is_multiple_of(2))
                .collect();
            (media.clone(), self.cache().to_vec(), chosen, seqs.clone())
        };
        chosen.sort_unstable_by_key(|c| c.0);
        for (q, l, d) in chosen {
            if q > seqs[l] {
                img[l * LINE..(l + 1) * LINE].copy_from_slice(&d);
                seqs[l] = q;
            }
        }
        for l in 0..POOL / LINE {
            let s = l * LINE..(l + 1) * LINE;
            if img[s.clone()] != cache[s.clone()] && r.next().is_multiple_of(3) {
                img[s.clone()].copy_from_slice(&cache[s]);
            }
        }
        self.crashes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = verify(img) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "crash image {} failed: {e}",
                self.crashes.load(Ordering::Relaxed)
            );
        }
    }
}

struct ModelHook(Arc<Model>);

impl Hook for ModelHook {
    fn flush(&self, addr: *const u8, len: usize) {
        let m = &self.0;
        let first = m.line_of(addr as usize);
        let last = m.line_of(addr as usize + len.max(1) - 1);
        {
            let cache = m.cache();
            let mut all = m.pending.lock().unwrap();
            let p = all.entry(std::thread::current().id()).or_default();
            for l in first..=last {
                let mut d = [0u8; LINE];
                d.copy_from_slice(&cache[l * LINE..(l + 1) * LINE]);
                p.insert(l, (m.seq.fetch_add(1, Ordering::Relaxed) + 1, d));
            }
        }
        m.event();
    }
    fn drain(&self) {
        let m = &self.0;
        {
            let mut all = m.pending.lock().unwrap();
            let mut media = m.media.lock().unwrap();
            let Some(p) = all.get_mut(&std::thread::current().id()) else {
                drop(media);
                drop(all);
                m.event();
                return;
            };
            let mut seqs = m.media_seq.lock().unwrap();
            for (l, (q, d)) in p.drain() {
                if q > seqs[l] {
                    media[l * LINE..(l + 1) * LINE].copy_from_slice(&d);
                    seqs[l] = q;
                }
            }
        }
        m.event();
    }
}

struct Quiet;
impl Hook for Quiet {
    fn flush(&self, _: *const u8, _: usize) {}
    fn drain(&self) {}
}

fn fnv(b: &[u8]) -> u64 {
    let mut h = 1469598103934665603u64;
    for &c in b {
        h = (h ^ c as u64).wrapping_mul(1099511628211);
    }
    h
}

/// Recovers an image and checks the invariants.
fn verify(mut img: Vec<u8>) -> Result<(), String> {
    let base = img.as_mut_ptr();
    let mem = Mem {
        base,
        len: POOL,
        media: Media::Hook(Arc::new(Quiet)),
    };
    let p = Pool::from_memory(mem);
    let m = &p.mem;
    if !pool::consistent(m) {
        return Err("heap not consistent".into());
    }
    let root = m.read(P_ROOT_OFFSET as u64);
    if root == 0 {
        return Ok(()); // crashed before the root existed
    }
    let mut live = HashMap::new();
    for i in 0..NSLOTS {
        let (uuid, off) = (m.read(root + i * 16), m.read(root + i * 16 + 8));
        if off == 0 {
            continue;
        }
        if uuid != p.uuid_lo {
            return Err(format!("slot {i}: pool id {uuid:#x} with offset {off:#x}"));
        }
        if p.type_num(off) == 7000 + i {
            // no constructor: only the header is defined
            if live.insert(off, i).is_some() {
                return Err(format!("slot {i}: object owned twice"));
            }
            continue;
        }
        if p.type_num(off) == 6000 + i {
            // zeroed, no constructor
            if m.bytes(off, 64).iter().any(|&b| b != 0) {
                return Err(format!("slot {i}: zeroed object is not zero"));
            }
            if live.insert(off, i).is_some() {
                return Err(format!("slot {i}: object owned twice"));
            }
            continue;
        }
        if p.type_num(off) != 5000 + i {
            return Err(format!("slot {i}: type {}", p.type_num(off)));
        }
        let (magic, slot, size) = (m.read(off), m.read(off + 8), m.read(off + 16));
        if magic != MAGIC || slot != i || size < 32 || size as usize > p.usable_size(off) {
            return Err(format!(
                "slot {i}: half-made object (magic {magic:#x} size {size})"
            ));
        }
        let body = m.bytes(off + 32, size as usize - 32);
        if fnv(&body) != m.read(off + 24) {
            return Err(format!("slot {i}: object data not durable"));
        }
        if live.insert(off, i).is_some() {
            return Err(format!("slot {i}: object owned twice"));
        }
    }
    let mut seen = 0;
    let mut o = p.first();
    while o != 0 {
        match live.get(&o) {
            Some(_) => seen += 1,
            // allocated with a NULL destination: must be complete
            None if p.type_num(o) == ORPHAN => {
                let size = m.read(o + 16);
                if m.read(o) != MAGIC
                    || size < 32
                    || fnv(&m.bytes(o + 32, size as usize - 32)) != m.read(o + 24)
                {
                    return Err(format!("object {o:#x} without destination is half made"));
                }
            }
            // zeroed with no constructor and no destination
            None if p.type_num(o) == ZEROED => {
                if m.bytes(o, 64).iter().any(|&b| b != 0) {
                    return Err(format!("zeroed object {o:#x} is not zero"));
                }
            }
            None => {
                return Err(format!(
                    "object {o:#x} (type {}) owned by no slot: leaked",
                    p.type_num(o)
                ))
            }
        }
        o = p.next(o);
    }
    if seen != live.len() {
        return Err(format!(
            "collection has {seen} objects, slots {}",
            live.len()
        ));
    }
    // the allocator works on the recovered pool
    let mut dst = [0u64; 2];
    // SAFETY: `dst` is a local PMEMoid.
    unsafe { p.alloc(&mut dst, 100, 1, true, true, &mut |_, _| 0) }
        .map_err(|e| format!("alloc after recovery: errno {}", e.0))?;
    // SAFETY: `dst` is still the local PMEMoid allocated above.
    unsafe { p.free(&mut dst, dst[1]) };
    drop(p);
    drop(img);
    Ok(())
}

fn run(seed: u64, ops: usize, crash_prob: u64, threads: u64) -> (usize, usize) {
    let cache: &'static mut [u8] = Box::leak(vec![0u8; POOL].into_boxed_slice());
    let base = cache.as_mut_ptr();
    {
        let mem = Mem {
            base,
            len: POOL,
            media: Media::Hook(Arc::new(Quiet)),
        };
        pool::format(&mem, b"model");
    }
    let model = Arc::new(Model {
        base: base as usize,
        media: Mutex::new(cache.to_vec()),
        pending: Mutex::new(HashMap::new()),
        media_seq: Mutex::new(vec![0; POOL / LINE]),
        seq: AtomicU64::new(0),
        events: AtomicUsize::new(0),
        rng: Mutex::new(Rng(seed * 2654435761 + 1)),
        crash_prob,
        crashes: AtomicUsize::new(0),
        failures: AtomicUsize::new(0),
        checked_ops: AtomicU64::new(0),
    });
    let mem = Mem {
        base,
        len: POOL,
        media: Media::Hook(Arc::new(ModelHook(model.clone()))),
    };
    let p = Pool::from_memory(mem);
    let root = p.root(NSLOTS as usize * 16, None).expect("root");
    // with several threads, all of them work on every slot (one at a time per slot), so
    // objects and blocks move between threads and their lanes
    let locks: Vec<Mutex<()>> = (0..NSLOTS).map(|_| Mutex::new(())).collect();
    std::thread::scope(|sc| {
        for t in 0..threads {
            let p = &p;
            let model = &model;
            let locks = &locks;
            sc.spawn(move || workload(p, model, root, seed * 31 + t, ops, locks));
        }
    });
    // the final durable state must check too
    model.crash();
    (
        model.crashes.load(Ordering::Relaxed),
        model.failures.load(Ordering::Relaxed),
    )
}

/// Random operations on the root's slots.
fn workload(p: &Pool, model: &Model, root: u64, seed: u64, ops: usize, locks: &[Mutex<()>]) {
    let mut r = Rng(seed | 1);
    let sizes = [40u64, 64, 100, 256, 700, 3000, 20000, 300000];
    for _ in 0..ops {
        let i = r.next() % NSLOTS;
        let _slot = locks[i as usize].lock().unwrap();
        let dest = p.mem.ptr(root + i * 16) as *mut [u64; 2];
        let cur = p.mem.read(root + i * 16 + 8);
        let k = r.next();
        if k % 11 == 4 {
            // SAFETY: a NULL destination is allowed.
            let _ = unsafe { p.alloc(std::ptr::null_mut(), 64, ZEROED, true, true, &mut |_, _| 0) };
        } else if cur == 0 && k % 13 == 9 {
            // SAFETY: `dest` is a slot of the root object.
            let _ = unsafe {
                p.alloc(
                    dest,
                    64 + (k % 5000) as usize,
                    7000 + i,
                    false,
                    true,
                    &mut |_, _| 0,
                )
            };
        } else if cur == 0 && k % 13 == 6 {
            // SAFETY: `dest` is a slot of the root object.
            let _ = unsafe {
                p.alloc(
                    dest,
                    64 + (k % 3000) as usize,
                    6000 + i,
                    true,
                    true,
                    &mut |_, _| 0,
                )
            };
        } else if cur == 0 {
            let size = sizes[(k % sizes.len() as u64) as usize];
            // some objects only the collection knows (NULL destination, single-store commit)
            let (dest, ty) = if k % 7 == 3 {
                (std::ptr::null_mut(), ORPHAN)
            } else {
                (dest, 5000 + i)
            };
            let mm = &p.mem;
            // SAFETY: `dest` is NULL or a slot of the root object.
            let _ = unsafe {
                p.alloc(dest, size as usize, ty, false, true, &mut |ptr, _| {
                    let off = ptr as u64 - mm.base as u64;
                    let body: Vec<u8> = (0..size - 32)
                        .map(|j| (j as u8).wrapping_mul(k as u8 | 1))
                        .collect();
                    mm.copy_in(off + 32, &body);
                    mm.write(off, MAGIC);
                    mm.write(off + 8, i);
                    mm.write(off + 16, size);
                    mm.write(off + 24, fnv(&body));
                    mm.persist(off, size as usize);
                    0
                })
            };
        } else if k.is_multiple_of(5) && p.type_num(cur) < 6000 && p.mem.read(cur + 16) < 100000 {
            // SAFETY: `dest` is a slot of the root object.
            let _ = unsafe { p.realloc(dest, p.mem.read(cur + 16) as usize * 2, 5000 + i, false) };
        } else {
            // SAFETY: `dest` is a slot of the root object, which lives as long as the pool.
            unsafe { p.free(dest, cur) };
        }
        model.checked_ops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn power_failure_at_random_points_recovers() {
    let mut crashes = 0;
    let mut failures = 0;
    for seed in 1..=10 {
        let (c, f) = run(seed, 300, 100, 1);
        crashes += c;
        failures += f;
    }
    eprintln!("{crashes} crash images checked, {failures} failed");
    assert!(crashes > 100, "too few crash points ({crashes})");
    assert_eq!(failures, 0);
}

#[test]
fn power_failure_with_two_threads_recovers() {
    // two lanes at once: log clearing left unfenced by one thread must be made durable by
    // the other before its own changes (each thread's fence orders only its own flushes)
    let mut crashes = 0;
    let mut failures = 0;
    for seed in 1..=6 {
        let (c, f) = run(100 + seed, 200, 60, 2);
        crashes += c;
        failures += f;
    }
    eprintln!("{crashes} crash images checked, {failures} failed");
    assert!(crashes > 100, "too few crash points ({crashes})");
    assert_eq!(failures, 0);
}
