//! A bounded lock-free multi-producer multi-consumer queue of pointers (sequence-numbered
//! slots). Gets put the entries they used here instead of locking the LRU list; the list's
//! owner drains it when it is full and before choosing a victim.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

struct Slot<T> {
    seq: AtomicUsize,
    val: AtomicPtr<T>,
}

/// A ring position padded away from the other one (by size, not alignment, so the cache
/// stays an ordinary malloc allocation).
struct Pos {
    at: AtomicUsize,
    _pad: [u64; 7],
}

pub struct Ring<T> {
    slots: Box<[Slot<T>]>,
    mask: usize,
    head: Pos,
    tail: Pos,
}

impl<T> Ring<T> {
    /// A ring of `cap` slots; `cap` must be a power of two.
    pub fn new(cap: usize) -> Self {
        assert!(cap.is_power_of_two());
        let slots = (0..cap)
            .map(|i| Slot {
                seq: AtomicUsize::new(i),
                val: AtomicPtr::new(std::ptr::null_mut()),
            })
            .collect();
        Ring {
            slots,
            mask: cap - 1,
            head: Pos {
                at: AtomicUsize::new(0),
                _pad: [0; 7],
            },
            tail: Pos {
                at: AtomicUsize::new(0),
                _pad: [0; 7],
            },
        }
    }

    /// Adds `p`; false when the ring is full.
    pub fn push(&self, p: *mut T) -> bool {
        let mut pos = self.tail.at.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            let seq = slot.seq.load(Ordering::Acquire);
            let dif = seq as isize - pos as isize;
            if dif == 0 {
                match self.tail.at.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        slot.val.store(p, Ordering::Relaxed);
                        slot.seq.store(pos + 1, Ordering::Release);
                        return true;
                    }
                    Err(now) => pos = now,
                }
            } else if dif < 0 {
                return false;
            } else {
                pos = self.tail.at.load(Ordering::Relaxed);
            }
        }
    }

    /// Removes the oldest pointer, if any.
    pub fn pop(&self) -> Option<*mut T> {
        let mut pos = self.head.at.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            let seq = slot.seq.load(Ordering::Acquire);
            let dif = seq as isize - (pos + 1) as isize;
            if dif == 0 {
                match self.head.at.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        let v = slot.val.load(Ordering::Relaxed);
                        slot.seq.store(pos + self.mask + 1, Ordering::Release);
                        return Some(v);
                    }
                    Err(now) => pos = now,
                }
            } else if dif < 0 {
                return None;
            } else {
                pos = self.head.at.load(Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_and_full() {
        let r: Ring<u8> = Ring::new(4);
        for i in 1..=4usize {
            assert!(r.push(i as *mut u8));
        }
        assert!(!r.push(9 as *mut u8));
        for i in 1..=4usize {
            assert_eq!(r.pop(), Some(i as *mut u8));
        }
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn threads_lose_nothing() {
        let r: Arc<Ring<u8>> = Arc::new(Ring::new(64));
        let sum = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for t in 0..2 {
            let r = r.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..20000usize {
                    let v = (t * 100000 + i + 1) as *mut u8;
                    while !r.push(v) {
                        std::thread::yield_now();
                    }
                }
            }));
        }
        for _ in 0..2 {
            let r = r.clone();
            let sum = sum.clone();
            hs.push(std::thread::spawn(move || {
                let mut n = 0;
                while n < 20000 {
                    if let Some(v) = r.pop() {
                        sum.fetch_add(v as usize, Ordering::Relaxed);
                        n += 1;
                    }
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        let want: usize = (0..2)
            .map(|t| (0..20000usize).map(|i| t * 100000 + i + 1).sum::<usize>())
            .sum();
        assert_eq!(sum.load(Ordering::Relaxed), want);
    }
}
