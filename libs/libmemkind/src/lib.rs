//! `libmemkind.so.0`: memkind 1.14's C API (`memkind.h`, `memkind_memtier.h`, `hbwmalloc.h`)
//! over the `heap` crate's kinds and the `tiering` crate's policies. Only the names those
//! headers declare are exported (the `pmem_*` family is `libs/libpmem`'s).

pub mod hbw;
pub mod memkind;
pub mod memtier;

pub use heap::{arena, chunk, env, error, kind, numa};
pub use os as sys;
pub use tiering as tier;

use cabi::{bad_alignment, boundary, boundary_int, set_errno};
use heap::error::MEMKIND_ERROR_RUNTIME;
