//! Kinds: private jemalloc arenas whose extent hooks carve memory out of a kind's own
//! address reservation (a file mapping, a caller's region, or anonymous memory bound to
//! NUMA nodes). The C libraries (`libs/libmemkind`, `libs/libmemtier`) sit on top; nothing
//! here knows about C beyond the error codes memkind defines.

pub mod arena;
pub mod chunk;
pub mod env;
pub mod error;
pub mod kind;
pub mod numa;

pub use os as sys;
