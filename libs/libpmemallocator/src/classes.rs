//! Size classes, in allocation units.
//!
//! Requests up to 1024 units get a class of their exact size (KVDK's recommended range, where
//! no rounding waste is acceptable); beyond that each power-of-two range is split into 16
//! classes, so the number of free lists stays small even when `max_allocation_size` is many
//! thousand units.

/// Largest size with an exact class.
const EXACT: u64 = 1024;
/// Classes per doubling above `EXACT`.
const SUB: u64 = 16;

/// The class table of one allocator.
#[derive(Debug)]
pub struct Classes {
    /// Size in units of each class, increasing; the last is clamped to `max_units`.
    sizes: Vec<u64>,
}

/// Class index of the smallest class holding `n >= 1` units (unclamped table).
#[inline(always)]
fn raw_class(n: u64) -> usize {
    if n <= EXACT {
        return (n - 1) as usize;
    }
    let k = 63 - (n - 1).leading_zeros() as u64; // 2^k < n <= 2^(k+1), k >= 10
    let step = 1u64 << (k - 4);
    let rounded = (n + step - 1) & !(step - 1);
    (EXACT + (k - 10) * SUB + (rounded - (1 << k)) / step - 1) as usize
}

fn raw_size(c: usize) -> u64 {
    let c = c as u64;
    if c < EXACT {
        return c + 1;
    }
    let k = 10 + (c - EXACT) / SUB;
    let step = 1u64 << (k - 4);
    (1u64 << k) + ((c - EXACT) % SUB + 1) * step
}

impl Classes {
    /// Classes covering requests of 1..=`max_units` units.
    pub fn new(max_units: u64) -> Classes {
        let n = raw_class(max_units) + 1;
        let mut sizes: Vec<u64> = (0..n).map(raw_size).collect();
        if let Some(last) = sizes.last_mut() {
            *last = max_units;
        }
        Classes { sizes }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// Always false: there is at least the one-unit class.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// The class a request of `n` (1..=max_units) units is served from.
    #[inline(always)]
    pub fn of(&self, n: u64) -> usize {
        raw_class(n).min(self.sizes.len() - 1)
    }

    /// Units handed out for class `c`.
    #[inline(always)]
    pub fn size(&self, c: usize) -> u64 {
        self.sizes[c]
    }

    /// The largest class whose size is at most `m` (1..=max_units): the list a free block
    /// of `m` units goes to, so every block on list `c` holds at least `size(c)` units.
    #[inline(always)]
    pub fn floor(&self, m: u64) -> usize {
        if m <= EXACT {
            // Exact classes: the class of m units is m - 1 (m <= max_units here).
            return (m - 1) as usize;
        }
        let c = self.of(m);
        if self.sizes[c] > m {
            c - 1
        } else {
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_classes_then_sixteen_per_doubling() {
        let c = Classes::new(1 << 20);
        for n in 1..=1024 {
            assert_eq!(c.size(c.of(n)), n);
        }
        assert_eq!(c.size(c.of(1025)), 1088);
        assert_eq!(c.size(c.of(2048)), 2048);
        assert_eq!(c.size(c.of(2049)), 2176);
        let mut prev = 0;
        for i in 0..c.len() {
            assert!(c.size(i) > prev);
            prev = c.size(i);
        }
        for n in [1u64, 7, 1023, 1024, 1025, 1500, 4097, 99999, 1 << 20] {
            let k = c.of(n);
            assert!(c.size(k) >= n);
            assert!(k == 0 || c.size(k - 1) < n);
            assert!(c.size(c.floor(n)) <= n);
            assert!(c.floor(n) + 1 >= c.len() || c.size(c.floor(n) + 1) > n);
        }
    }

    #[test]
    fn last_class_is_clamped_to_the_maximum() {
        let c = Classes::new(1500);
        assert_eq!(c.size(c.len() - 1), 1500);
        assert_eq!(c.size(c.of(1500)), 1500);
        assert_eq!(c.floor(1500), c.len() - 1);
        let c = Classes::new(1);
        assert_eq!(c.len(), 1);
        assert_eq!(c.floor(1), 0);
    }
}
