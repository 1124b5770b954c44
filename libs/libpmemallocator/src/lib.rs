//! PMemAllocator: a KVDK-style allocator over one persistent-memory file.
//!
//! The pool file is cut into fixed allocation units. Each access thread carves blocks out of
//! its own segment and keeps its own free lists, so the common path takes no lock; freed
//! space that piles up in one thread is handed to a shared stack, and a background thread
//! moves it into shared lists, merging neighbours, where any thread can pick it up. Block
//! sizes live in a start-of-block bitmap inside the pool, so bookkeeping DRAM stays a small
//! fixed cost. The C ABI is in [`ffi`]; `pmem_allocator.hpp` wraps it for C++.

pub mod classes;
pub mod error;
pub mod ffi;
pub mod os;
pub mod pool;
mod tls;
