//! memkind 1.14 and libpmem 1.x compatible allocator library.
//!
//! File-backed kinds live in an unlinked temporary file, mapped into one address reservation
//! per kind and handed to private jemalloc arenas through extent hooks. See `DESIGN.md`.

pub mod arena;
pub mod chunk;
pub mod env;
pub mod error;
pub mod ffi;
pub mod kind;
pub mod numa;
pub use persist as pmem;
pub mod sys;
pub mod tier;
