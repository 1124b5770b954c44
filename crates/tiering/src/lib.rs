//! Memory tiering: which tier an allocation goes to, and the byte counts that decide it.
//!
//! Shared by the memtier C API (`src/ffi/memtier.rs`, tiers are kinds) and the `LD_PRELOAD`
//! interposer (`preload/`, tiers from `MEMKIND_MEM_TIERS`, see [`config`]). Counters are
//! sharded by thread so many threads can count without fighting over one cache line; a
//! shard spills into the counter's flushed total past 50 KiB, and the policy compares the
//! flushed totals (as memkind does), while statistics sum every shard.

pub mod config;

use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicUsize, Ordering};

/// Most tiers one policy spreads over.
pub const MAX_TIERS: usize = 8;
const SHARDS: usize = 8;

/// `policy.dynamic_threshold.*` defaults (memkind's): the threshold between tiers `i` and
/// `i + 1` starts at `1024 * (i + 1)` and moves within +-511 bytes of that.
pub const THRESHOLD_STEP: usize = 1024;
pub const DEFAULT_CHECK_CNT: u32 = 20;
pub const DEFAULT_TRIGGER: f32 = 0.02;
pub const DEFAULT_DEGREE: f32 = 0.15;

#[repr(align(64))]
struct Shard(AtomicIsize);

/// A shard's count moves into the flushed total once it passes this many bytes either way
/// (memkind's figure): the policy then reads one word per tier, and a program's first
/// blocks land where memkind's would.
const FLUSH: isize = 51200;

/// A signed byte or event count. [`Counter::sum`] is exact whenever no update is midway
/// (it adds every shard to the flushed total); [`Counter::flushed`] lags it by less than
/// [`FLUSH`] per shard and costs one load.
pub struct Counter {
    flushed: Shard,
    shards: [Shard; SHARDS],
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Counter {
    pub const fn new() -> Self {
        Counter {
            flushed: Shard(AtomicIsize::new(0)),
            shards: [const { Shard(AtomicIsize::new(0)) }; SHARDS],
        }
    }

    #[inline]
    pub fn add(&self, delta: isize) {
        let s = &self.shards[shard()].0;
        let now = s.fetch_add(delta, Ordering::Relaxed).wrapping_add(delta);
        if !(-FLUSH..=FLUSH).contains(&now) {
            let v = s.swap(0, Ordering::Relaxed);
            self.flushed.0.fetch_add(v, Ordering::Relaxed);
        }
    }

    /// The count less what the shards hold back: what the tier policy compares.
    #[inline]
    pub fn flushed(&self) -> isize {
        self.flushed.0.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> isize {
        self.shards
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(self.flushed(), |a, b| a.wrapping_add(b))
    }

    pub fn reset(&self) {
        self.flushed.0.store(0, Ordering::Relaxed);
        for s in &self.shards {
            s.0.store(0, Ordering::Relaxed);
        }
    }
}

/// The calling thread's shard: from its thread pointer, which costs no TLS lookup.
#[inline]
fn shard() -> usize {
    let t = os::thread_id();
    // Thread descriptors sit at page-aligned addresses, usually a stack size apart.
    ((t >> 12) ^ (t >> 21) ^ (t >> 24)) % SHARDS
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Keep the bytes allocated in each tier proportional to its ratio.
    StaticRatio,
    /// Small blocks to the first tiers, large to the last; the size thresholds move to
    /// keep the ratio.
    DynamicThreshold,
}

/// One threshold's settings before a policy is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThresholdCfg {
    pub val: usize,
    pub min: usize,
    pub max: usize,
}

impl ThresholdCfg {
    /// memkind's default for the threshold between tiers `i` and `i + 1`.
    pub const fn default_for(i: usize) -> Self {
        let base = THRESHOLD_STEP * (i + 1);
        ThresholdCfg {
            val: base,
            min: base - THRESHOLD_STEP / 2 + 1,
            max: base + THRESHOLD_STEP / 2,
        }
    }
}

/// Dynamic-threshold tuning (`memtier_ctl_set` names in brackets).
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    /// Allocations between ratio checks (`check_cnt`).
    pub check_cnt: u32,
    /// Ratio error that moves a threshold (`trigger`).
    pub trigger: f32,
    /// Fraction a threshold moves by (`degree`).
    pub degree: f32,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            check_cnt: DEFAULT_CHECK_CNT,
            trigger: DEFAULT_TRIGGER,
            degree: DEFAULT_DEGREE,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum PolicyError {
    NoTiers,
    TooManyTiers,
    /// Dynamic threshold needs at least two tiers.
    OneTier,
    /// Threshold `i` has `min <= val <= max` broken, or overlaps threshold `i + 1`.
    Threshold(usize),
    Tuning,
}

struct Threshold {
    val: AtomicUsize,
    min: usize,
    max: usize,
}

/// A built policy: picks the tier for each allocation.
pub struct Policy {
    kind: PolicyKind,
    n: usize,
    /// The ratios as given (at least 1): integers, so the static choice compares exact
    /// cross products (a float division per tier was a sixth of an interposed pair).
    ratio: [u64; MAX_TIERS],
    thresholds: [Threshold; MAX_TIERS - 1],
    tuning: Tuning,
    ops: AtomicU32,
}

impl Policy {
    pub fn new(
        kind: PolicyKind,
        ratios: &[u32],
        thresholds: &[ThresholdCfg],
        tuning: Tuning,
    ) -> Result<Policy, PolicyError> {
        let n = ratios.len();
        if n == 0 {
            return Err(PolicyError::NoTiers);
        }
        if n > MAX_TIERS {
            return Err(PolicyError::TooManyTiers);
        }
        if kind == PolicyKind::DynamicThreshold && n < 2 {
            return Err(PolicyError::OneTier);
        }
        let mut p = Policy {
            kind,
            n,
            ratio: [1; MAX_TIERS],
            thresholds: std::array::from_fn(|i| {
                let d = ThresholdCfg::default_for(i);
                Threshold {
                    val: AtomicUsize::new(d.val),
                    min: d.min,
                    max: d.max,
                }
            }),
            tuning,
            ops: AtomicU32::new(0),
        };
        for (r, &v) in p.ratio.iter_mut().zip(ratios) {
            *r = u64::from(v.max(1));
        }
        if kind == PolicyKind::DynamicThreshold {
            if tuning.check_cnt == 0
                || !(tuning.trigger.is_finite() && tuning.trigger >= 0.0)
                || !(tuning.degree.is_finite() && tuning.degree > 0.0 && tuning.degree < 1.0)
            {
                return Err(PolicyError::Tuning);
            }
            for i in 0..n - 1 {
                let c = thresholds
                    .get(i)
                    .copied()
                    .unwrap_or(ThresholdCfg::default_for(i));
                if !(c.min <= c.val && c.val <= c.max) {
                    return Err(PolicyError::Threshold(i));
                }
                p.thresholds[i] = Threshold {
                    val: AtomicUsize::new(c.val),
                    min: c.min,
                    max: c.max,
                };
            }
            for i in 1..n - 1 {
                if p.thresholds[i].min <= p.thresholds[i - 1].max {
                    return Err(PolicyError::Threshold(i - 1));
                }
            }
        }
        Ok(p)
    }

    pub fn tiers(&self) -> usize {
        self.n
    }

    /// The tier for a block of `size` bytes; `allocated(i)` is what tier `i` holds now.
    #[inline]
    pub fn choose(&self, size: usize, allocated: impl Fn(usize) -> isize) -> usize {
        if self.n == 1 {
            return 0;
        }
        match self.kind {
            PolicyKind::StaticRatio => {
                // The tier furthest below its share; ties go to the earlier tier. a/r < b/s
                // is compared as a*s < b*r (exact: 63-bit counts times 32-bit ratios).
                let mut best = 0;
                let mut best_alloc = allocated(0).max(0) as u64 as u128;
                for i in 1..self.n {
                    let a = allocated(i).max(0) as u64 as u128;
                    if a * (self.ratio[best] as u128) < best_alloc * (self.ratio[i] as u128) {
                        best = i;
                        best_alloc = a;
                    }
                }
                best
            }
            PolicyKind::DynamicThreshold => {
                let c = self.ops.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
                if c % self.tuning.check_cnt == 0 {
                    self.adjust(&allocated);
                }
                self.thresholds[..self.n - 1]
                    .iter()
                    .position(|t| size < t.val.load(Ordering::Relaxed))
                    .unwrap_or(self.n - 1)
            }
        }
    }

    /// Moves each threshold towards the ratio its two tiers should have.
    fn adjust(&self, allocated: &impl Fn(usize) -> isize) {
        for i in 0..self.n - 1 {
            let lo = allocated(i).max(0) as f64;
            let hi = allocated(i + 1).max(0) as f64;
            if lo == 0.0 && hi == 0.0 {
                continue;
            }
            let expected = self.ratio[i + 1] as f64 / self.ratio[i] as f64;
            // An empty lower tier is the farthest from its share: the threshold must rise.
            let actual = if lo == 0.0 { f64::INFINITY } else { hi / lo };
            if (actual - expected).abs() < f64::from(self.tuning.trigger) {
                continue;
            }
            let t = &self.thresholds[i];
            let val = t.val.load(Ordering::Relaxed);
            let step = ((val as f64 * f64::from(self.tuning.degree)) as usize).max(1);
            // Too much in the upper tier: raise the threshold so fewer blocks go there.
            let new = if actual > expected {
                val.saturating_add(step)
            } else {
                val.saturating_sub(step)
            };
            t.val.store(new.clamp(t.min, t.max), Ordering::Relaxed);
        }
    }

    /// Current value of threshold `i` (for tests and statistics).
    pub fn threshold(&self, i: usize) -> Option<usize> {
        (i + 1 < self.n && self.kind == PolicyKind::DynamicThreshold)
            .then(|| self.thresholds[i].val.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_spills_past_the_flush_step() {
        let c = Counter::new();
        for _ in 0..50 {
            c.add(1024);
        }
        assert_eq!(c.sum(), 50 * 1024);
        assert_eq!(c.flushed(), 0);
        c.add(1024);
        assert_eq!(c.flushed(), 51 * 1024);
        assert_eq!(c.sum(), 51 * 1024);
        // Frees spill the same way, below -FLUSH.
        c.add(-(FLUSH + 1024 + 51 * 1024));
        assert_eq!(c.sum(), -FLUSH - 1024);
        assert_eq!(c.flushed(), -FLUSH - 1024);
        c.reset();
        assert_eq!((c.sum(), c.flushed()), (0, 0));
    }

    #[test]
    fn counter_is_exact_under_threads() {
        let c = Counter::new();
        std::thread::scope(|s| {
            for t in 0..4isize {
                let c = &c;
                s.spawn(move || {
                    for i in 0..100_000isize {
                        c.add(if i % 3 == 0 {
                            -(t + 1) * 7
                        } else {
                            (t + 1) * 5
                        });
                    }
                });
            }
        });
        let per = |t: isize| 33_334 * -(t + 1) * 7 + 66_666 * (t + 1) * 5;
        assert_eq!(c.sum(), (0..4).map(per).sum::<isize>());
        assert!((c.sum() - c.flushed()).abs() <= FLUSH * SHARDS as isize);
    }

    #[test]
    fn static_ratio_keeps_shares() {
        let p = Policy::new(PolicyKind::StaticRatio, &[1, 3], &[], Tuning::default()).unwrap();
        let mut bytes = [0isize; 2];
        for _ in 0..4000 {
            let t = p.choose(100, |i| bytes[i]);
            bytes[t] += 100;
        }
        assert_eq!(bytes[0] * 3, bytes[1]);
    }

    #[test]
    fn dynamic_threshold_moves_within_bounds() {
        let cfg = ThresholdCfg {
            val: 64,
            min: 1,
            max: 4096,
        };
        let p = Policy::new(
            PolicyKind::DynamicThreshold,
            &[1, 1],
            &[cfg],
            Tuning::default(),
        )
        .unwrap();
        assert_eq!(p.choose(63, |_| 0), 0);
        assert_eq!(p.choose(64, |_| 0), 1);
        // Everything of size 100 lands in tier 1 at first; the threshold must rise above
        // 100 so that the tiers end up holding about the same.
        let mut bytes = [1isize, 0];
        for _ in 0..2000 {
            let t = p.choose(100, |i| bytes[i]);
            bytes[t] += 100;
        }
        let v = p.threshold(0).unwrap();
        assert!((1..=4096).contains(&v));
        let r = bytes[1] as f64 / bytes[0] as f64;
        assert!((0.5..2.0).contains(&r), "ratio {r}, bytes {bytes:?}");
    }

    #[test]
    fn dynamic_threshold_fills_an_empty_lower_tier() {
        // Ratio 3:1 with 1 KiB blocks, every tier empty at the start: at the default
        // threshold (1024) each block goes to the upper tier, so the lower one is empty and
        // the threshold must rise until the shares hold (memkind: within 0.11).
        let p = Policy::new(
            PolicyKind::DynamicThreshold,
            &[3, 1],
            &[ThresholdCfg::default_for(0)],
            Tuning::default(),
        )
        .unwrap();
        let mut bytes = [0isize; 2];
        for _ in 0..20_000 {
            let t = p.choose(1024, |i| bytes[i]);
            bytes[t] += 1024;
        }
        assert!(bytes[0] > 0, "lower tier stayed empty: {bytes:?}");
        let r = bytes[1] as f64 / bytes[0] as f64;
        assert!((r - 1.0 / 3.0).abs() < 0.11, "ratio {r}, bytes {bytes:?}");
    }

    #[test]
    fn bad_settings_are_refused() {
        let t = Tuning::default();
        assert_eq!(
            Policy::new(PolicyKind::DynamicThreshold, &[1], &[], t).err(),
            Some(PolicyError::OneTier)
        );
        let bad = ThresholdCfg {
            val: 10,
            min: 20,
            max: 30,
        };
        assert_eq!(
            Policy::new(PolicyKind::DynamicThreshold, &[1, 1], &[bad], t).err(),
            Some(PolicyError::Threshold(0))
        );
        assert_eq!(
            Policy::new(PolicyKind::StaticRatio, &[], &[], t).err(),
            Some(PolicyError::NoTiers)
        );
    }
}
