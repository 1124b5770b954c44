//! libpmem exports (`pmem_*`).
