//! The extent allocator of the pool. The pool is cut into units of the extent size; a value
//! takes as many units as it needs, from one free run when one is large enough and from
//! several runs otherwise, so a value fits whenever enough free units exist in total. The
//! free runs live in DRAM (nothing of the allocator is stored in the pool), split into a few
//! arenas with their own locks so that threads putting at once rarely meet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Bits of an extent's length; the start takes the other 40 bits.
const LEN_BITS: u32 = 24;
/// The longest run one extent describes; longer runs become several extents.
pub const MAX_EXT_UNITS: u64 = (1 << LEN_BITS) - 1;
/// Pools larger than this many units cannot be described.
pub const MAX_UNITS: u64 = 1 << (64 - LEN_BITS);

/// One extent packed into 8 bytes: start unit and length in units.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Extent(pub u64);

impl Extent {
    pub fn new(start: u64, len: u64) -> Self {
        debug_assert!(len > 0 && len <= MAX_EXT_UNITS && start < MAX_UNITS);
        Extent((start << LEN_BITS) | len)
    }
    pub fn start(self) -> u64 {
        self.0 >> LEN_BITS
    }
    pub fn len(self) -> u64 {
        self.0 & MAX_EXT_UNITS
    }
}

/// Free runs of one arena, indexed by start (for merging) and by length (for best fit).
#[derive(Default)]
struct Arena {
    by_start: BTreeMap<u64, u64>,
    by_len: BTreeSet<(u64, u64)>,
    free_units: u64,
}

impl Arena {
    fn insert_run(&mut self, start: u64, len: u64) {
        self.by_start.insert(start, len);
        self.by_len.insert((len, start));
    }

    fn remove_run(&mut self, start: u64, len: u64) {
        self.by_start.remove(&start);
        self.by_len.remove(&(len, start));
    }

    /// Returns `[start, start + len)` to the free runs, merged with its neighbours.
    fn free(&mut self, mut start: u64, mut len: u64) {
        self.free_units += len;
        if let Some((&ps, &pl)) = self.by_start.range(..start).next_back() {
            if ps + pl == start {
                self.remove_run(ps, pl);
                start = ps;
                len += pl;
            }
        }
        if let Some(&nl) = self.by_start.get(&(start + len)) {
            self.remove_run(start + len, nl);
            len += nl;
        }
        self.insert_run(start, len);
    }

    /// Takes up to `want` units: the smallest run that holds them all, or else the largest
    /// runs one after the other. Returns the units taken.
    fn take(&mut self, want: u64, out: &mut Vec<Extent>) -> u64 {
        let mut got = 0;
        while got < want {
            let need = want - got;
            let pick = match self.by_len.range((need, 0)..).next() {
                Some(&r) => r,
                None => match self.by_len.last() {
                    Some(&r) => r,
                    None => break,
                },
            };
            let (len, start) = pick;
            let n = len.min(need);
            self.remove_run(start, len);
            if len > n {
                self.insert_run(start + n, len - n);
            }
            push_run(out, start, n);
            got += n;
        }
        self.free_units -= got;
        got
    }
}

/// Appends a run as extents of at most `MAX_EXT_UNITS` each, joining it to the last extent
/// when they touch.
fn push_run(out: &mut Vec<Extent>, mut start: u64, mut n: u64) {
    if let Some(last) = out.last_mut() {
        if last.start() + last.len() == start && last.len() < MAX_EXT_UNITS {
            let add = n.min(MAX_EXT_UNITS - last.len());
            *last = Extent::new(last.start(), last.len() + add);
            start += add;
            n -= add;
        }
    }
    while n > 0 {
        let l = n.min(MAX_EXT_UNITS);
        out.push(Extent::new(start, l));
        start += l;
        n -= l;
    }
}

/// An arena's lock padded to keep arenas off each other's cache lines (by size; see the
/// index shards for why not by alignment).
struct Padded {
    arena: Mutex<Arena>,
    /// The arena's free units, readable without its lock (a hint for skipping it).
    free: AtomicU64,
    _pad: [u64; 5],
}

pub struct Heap {
    arenas: Vec<Padded>,
    arena_units: u64,
    total_units: u64,
}

impl Heap {
    /// A heap of `total_units` units, all free.
    pub fn new(total_units: u64) -> Heap {
        let n = (total_units / 4096).clamp(1, 8);
        let arena_units = total_units.div_ceil(n);
        let mut arenas = Vec::new();
        let mut start = 0;
        while start < total_units {
            let len = arena_units.min(total_units - start);
            let mut a = Arena::default();
            a.free(start, len);
            arenas.push(Padded {
                arena: Mutex::new(a),
                free: AtomicU64::new(len),
                _pad: [0; 5],
            });
            start += len;
        }
        Heap {
            arenas,
            arena_units,
            total_units,
        }
    }

    fn lock(&self, i: usize) -> std::sync::MutexGuard<'_, Arena> {
        self.arenas[i]
            .arena
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Takes up to `want` units into `out`, starting with arena `hint`; returns how many.
    pub fn alloc(&self, want: u64, hint: usize, out: &mut Vec<Extent>) -> u64 {
        let n = self.arenas.len();
        let mut got = 0;
        for k in 0..n {
            if got == want {
                break;
            }
            let i = (hint + k) % n;
            if self.arenas[i].free.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut a = self.lock(i);
            got += a.take(want - got, out);
            self.arenas[i].free.store(a.free_units, Ordering::Relaxed);
        }
        got
    }

    /// Returns extents to the free runs.
    pub fn free(&self, exts: &[Extent]) {
        for e in exts {
            // Runs taken from neighbouring arenas may have been joined into one extent:
            // give each arena back its own part.
            let (mut start, end) = (e.start(), e.start() + e.len());
            while start < end {
                let a = start / self.arena_units;
                let stop = end.min((a + 1) * self.arena_units);
                let mut g = self.lock(a as usize);
                g.free(start, stop - start);
                self.arenas[a as usize]
                    .free
                    .store(g.free_units, Ordering::Relaxed);
                start = stop;
            }
        }
    }

    pub fn arenas(&self) -> usize {
        self.arenas.len()
    }

    /// Units in use.
    pub fn used_units(&self) -> u64 {
        let free: u64 = (0..self.arenas.len())
            .map(|i| self.lock(i).free_units)
            .sum();
        self.total_units - free
    }

    /// Number of separate free runs (how fragmented the free space is).
    pub fn free_runs(&self) -> u64 {
        (0..self.arenas.len())
            .map(|i| self.lock(i).by_start.len() as u64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scattered_allocation_uses_every_free_unit() {
        let h = Heap::new(100);
        let mut a = Vec::new();
        assert_eq!(h.alloc(100, 0, &mut a), 100);
        // Free every other unit: 50 runs of one unit.
        let odd: Vec<Extent> = (0..100).step_by(2).map(|s| Extent::new(s, 1)).collect();
        h.free(&odd);
        assert_eq!(h.free_runs(), 50);
        let mut b = Vec::new();
        assert_eq!(h.alloc(60, 0, &mut b), 50);
        assert_eq!(b.len(), 50);
        assert_eq!(h.used_units(), 100);
        h.free(&b);
        assert_eq!(h.free_runs(), 50);
    }

    #[test]
    fn freeing_merges_neighbours() {
        let h = Heap::new(10);
        let mut a = Vec::new();
        assert_eq!(h.alloc(10, 0, &mut a), 10);
        h.free(&[Extent::new(0, 3)]);
        h.free(&[Extent::new(6, 4)]);
        h.free(&[Extent::new(3, 3)]);
        assert_eq!(h.free_runs(), 1);
        assert_eq!(h.used_units(), 0);
        let mut b = Vec::new();
        assert_eq!(h.alloc(10, 0, &mut b), 10);
        assert_eq!(b, vec![Extent::new(0, 10)]);
    }

    #[test]
    fn best_fit_prefers_a_single_run() {
        let h = Heap::new(20);
        let mut a = Vec::new();
        h.alloc(20, 0, &mut a);
        h.free(&[Extent::new(0, 2), Extent::new(5, 5), Extent::new(12, 8)]);
        let mut b = Vec::new();
        assert_eq!(h.alloc(4, 0, &mut b), 4);
        assert_eq!(b, vec![Extent::new(5, 4)]);
    }

    #[test]
    fn extents_joined_across_arenas_go_back_to_both() {
        let h = Heap::new(3 * 4096);
        assert_eq!(h.arenas(), 3);
        let mut a = Vec::new();
        assert_eq!(h.alloc(3 * 4096, 0, &mut a), 3 * 4096);
        // The three arenas' runs touch: one extent.
        assert_eq!(a, vec![Extent::new(0, 3 * 4096)]);
        h.free(&a);
        assert_eq!(h.used_units(), 0);
        assert_eq!(h.free_runs(), 3);
        let mut b = Vec::new();
        assert_eq!(h.alloc(4096, 1, &mut b), 4096);
        assert_eq!(b, vec![Extent::new(4096, 4096)]);
    }

    #[test]
    fn long_runs_split_into_several_extents() {
        let mut v = Vec::new();
        push_run(&mut v, 0, MAX_EXT_UNITS + 5);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1], Extent::new(MAX_EXT_UNITS, 5));
    }
}
