//! One cache entry in DRAM: a single allocation holding a small header, the value's extents
//! and the key bytes. The header carries the LRU links, the reference count and the state
//! flags; nothing else of an entry is kept anywhere (the index stores only its address).

use crate::heap::Extent;
use std::alloc::Layout;
use std::sync::atomic::{AtomicU32, Ordering};

/// Being evicted: claimed by exactly one evictor, which runs `on_evict` once.
pub const EVICTING: u32 = 1;
/// A reference sits in the recency ring.
pub const QUEUED: u32 = 2;
/// Linked into the LRU list (changed only under the list's lock).
pub const ON_LIST: u32 = 4;
/// The flags' upper 24 bits hold the LRU list's move counter from when the entry was last
/// put at the list's head (written under the list's lock).
pub const STAMP_SHIFT: u32 = 8;
pub const STAMP_MASK: u32 = (1 << (32 - STAMP_SHIFT)) - 1;

#[repr(C)]
pub struct Entry {
    pub prev: *mut Entry,
    pub next: *mut Entry,
    pub vsize: u64,
    pub refs: AtomicU32,
    pub flags: AtomicU32,
    pub ksize: u32,
    pub nexts: u32,
}

const HDR: usize = std::mem::size_of::<Entry>();

fn layout(ksize: usize, nexts: usize) -> Layout {
    Layout::from_size_align(HDR + nexts * 8 + ksize, 8).expect("entry layout")
}

impl Entry {
    /// Records the list's move counter (only the stamp bits change).
    pub fn set_stamp(&self, moves: u32) {
        let stamp = (moves & STAMP_MASK) << STAMP_SHIFT;
        let _ = self
            .flags
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |f| {
                Some((f & ((1 << STAMP_SHIFT) - 1)) | stamp)
            });
    }

    pub fn stamp(&self) -> u32 {
        self.flags.load(Ordering::Relaxed) >> STAMP_SHIFT
    }

    /// A new entry with one reference (the index's); None when out of memory.
    pub fn create(key: &[u8], vsize: u64, exts: &[Extent]) -> Option<*mut Entry> {
        let l = layout(key.len(), exts.len());
        // SAFETY: the layout has a non-zero size (the header alone is 40 bytes).
        let p = unsafe { std::alloc::alloc(l) }.cast::<Entry>();
        if p.is_null() {
            return None;
        }
        // SAFETY: p is a fresh allocation large enough for the header, the extents and the
        // key, aligned to 8; the writes stay inside it.
        unsafe {
            p.write(Entry {
                prev: std::ptr::null_mut(),
                next: std::ptr::null_mut(),
                vsize,
                refs: AtomicU32::new(1),
                flags: AtomicU32::new(0),
                ksize: key.len() as u32,
                nexts: exts.len() as u32,
            });
            let e = p.cast::<u8>().add(HDR).cast::<u64>();
            for (i, x) in exts.iter().enumerate() {
                e.add(i).write(x.0);
            }
            let k = p.cast::<u8>().add(HDR + exts.len() * 8);
            std::ptr::copy_nonoverlapping(key.as_ptr(), k, key.len());
        }
        Some(p)
    }

    /// Bytes of DRAM the entry's allocation takes.
    pub fn alloc_size(&self) -> usize {
        layout(self.ksize as usize, self.nexts as usize).size()
    }

    pub fn extents(&self) -> &[Extent] {
        // SAFETY: `create` wrote nexts extents right after the header of this allocation;
        // Extent is a transparent-enough u64 newtype with the same size and alignment.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Entry)
                    .cast::<u8>()
                    .add(HDR)
                    .cast::<Extent>(),
                self.nexts as usize,
            )
        }
    }

    pub fn key(&self) -> &[u8] {
        // SAFETY: `create` wrote ksize key bytes after the extents of this allocation.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Entry)
                    .cast::<u8>()
                    .add(HDR + self.nexts as usize * 8),
                self.ksize as usize,
            )
        }
    }

    pub fn incref(&self) {
        self.refs.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops one reference; true when it was the last (the caller then frees the entry).
    pub fn decref(&self) -> bool {
        if self.refs.fetch_sub(1, Ordering::Release) == 1 {
            std::sync::atomic::fence(Ordering::Acquire);
            return true;
        }
        false
    }

    /// Frees the allocation.
    ///
    /// # Safety
    /// `p` came from `create`, and no reference to it is used afterwards.
    pub unsafe fn destroy(p: *mut Entry) {
        // SAFETY: p is live (caller's promise), so its header can be read for the layout.
        let l = unsafe { layout((*p).ksize as usize, (*p).nexts as usize) };
        // SAFETY: p was allocated by `create` with exactly this layout.
        unsafe { std::alloc::dealloc(p.cast(), l) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keeps_key_and_extents() {
        let exts = [Extent::new(5, 2), Extent::new(100, 1)];
        let p = Entry::create(b"hello", 700, &exts).unwrap();
        // SAFETY: p is a live entry from create, destroyed once at the end.
        unsafe {
            assert_eq!((*p).key(), b"hello");
            assert_eq!((*p).extents(), &exts);
            assert_eq!((*p).vsize, 700);
            assert_eq!((*p).alloc_size(), 40 + 16 + 5);
            Entry::destroy(p);
        }
    }
}
