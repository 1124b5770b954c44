//! libvmemcache: a volatile key-value cache whose values live in a memory-mapped file (or
//! a device DAX) and whose index lives in DRAM, compatible with libvmemcache 0.8.1 at the
//! source and binary level (`libvmemcache.so.0`, symbols versioned `LIBVMEMCACHE_1.0`).
//!
//! Values are stored in extents of the pool and may be split over several free runs
//! (`heap`); the index is a sharded hash table of compact single-allocation entries
//! (`entry`, `cache`); recency updates go through a lock-free ring (`ring`) in front of
//! the LRU list. `ffi` is the C API; `os` holds every system call.

pub mod cache;
mod entry;
pub mod error;
pub mod ffi;
mod heap;
mod os;
mod ring;
