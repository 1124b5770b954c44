//! `libmemkind.so.0`: memkind 1.14's C API (`memkind.h`, `memkind_memtier.h`, `hbwmalloc.h`)
//! over the `heap` crate's kinds and the `tiering` crate's policies. Only the names those
//! headers declare are exported (the `pmem_*` family is `libs/libpmem`'s).

pub mod hbw;
pub mod memkind;
pub mod memtier;
mod private;

pub use heap::{arena, chunk, env, error, kind, numa};
pub use os as sys;
pub use tiering as tier;

/// Rust allocations of the library never go through the C `malloc`: under the interposer
/// that is `libmemtier.so`, which calls back into the kinds.
#[global_allocator]
static INTERNAL: heap::arena::internal::Alloc = heap::arena::internal::Alloc;

use cabi::{bad_alignment, boundary, boundary_int, set_errno};
use heap::error::MEMKIND_ERROR_RUNTIME;
