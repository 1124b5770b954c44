//! Persistence primitives behind the libpmem API.
