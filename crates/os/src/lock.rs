//! A mutex that sleeps in the kernel when contended (a futex), for the libraries' internal
//! state. It never allocates (extent hooks and the interposer's paths take it), costs one
//! atomic exchange when free, and a waiter blocks instead of spinning, so a thousand
//! threads arriving at once queue in the kernel rather than burn the CPUs. A forked child
//! can reset it: the thread that held it does not exist there.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and someone may be asleep waiting for it.
const CONTENDED: u32 = 2;

pub struct Mutex<T> {
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and one guard exists at a time.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the value; no guard can be alive then.
unsafe impl<T: Send> Send for Mutex<T> {}

pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex {
            state: AtomicU32::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        MutexGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        // A short spin first: most holders leave within a few hundred cycles.
        for _ in 0..64 {
            if self.state.load(Ordering::Relaxed) == UNLOCKED
                && self
                    .state
                    .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            std::hint::spin_loop();
        }
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            crate::futex_wait(&self.state, CONTENDED);
        }
    }

    /// For a forked child only: forgets a holder that stayed behind in the parent.
    ///
    /// # Safety
    /// No guard of this mutex may be alive in the calling process (true in a child right
    /// after `fork`, where only the forking thread exists, if that thread held none).
    pub unsafe fn force_unlock(&self) {
        self.state.store(UNLOCKED, Ordering::Release);
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.lock.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            crate::futex_wake_one(&self.lock.state);
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the only way to the value while it lives.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for deref, and the guard is borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}
