//! The static kinds (`MEMKIND_DEFAULT`, `MEMKIND_REGULAR`, ...), one slot each, indexed by
//! memkind's partition numbers. DEFAULT and REGULAR are ordinary anonymous memory on their
//! own arenas. On a machine whose memory is one NUMA node, INTERLEAVE and the
//! HIGHEST_CAPACITY kinds are that same memory (interleaving over one node, the node with
//! the most capacity), so they work too. The other kinds answer with the error memkind
//! gives on a machine without that memory type; NUMA binding on multi-node machines is not
//! provided yet.

use std::sync::atomic::Ordering;

use super::{Slot, CACHE_AUTOMATIC, CACHE_PER_THREAD, STATE_LIVE, STATE_UNAVAILABLE};
use crate::error::{Error, Result};

pub(crate) const PARTITION_DEFAULT: u32 = 0;
pub(crate) const PARTITION_REGULAR: u32 = 11;
const PARTITION_INTERLEAVE: u32 = 10;
const PARTITION_HIGHEST_CAPACITY: u32 = 18;
const PARTITION_HIGHEST_CAPACITY_LOCAL_PREFERRED: u32 = 21;
pub(crate) const NUM_STATIC: usize = 26;

/// Anonymous chunks are reserved 64 GiB at a time (address space only).
const ANON_CHUNK: usize = 64 << 30;

pub static SLOTS: [Slot; NUM_STATIC] = {
    let mut i = 0;
    let mut s = [const { Slot::new(0) }; NUM_STATIC];
    while i < NUM_STATIC {
        s[i] = Slot::new(i as u32);
        i += 1;
    }
    s
};

static INIT_LOCK: spin::Mutex<()> = spin::Mutex::new(());

pub fn is_static(slot: &Slot) -> bool {
    (slot.id as usize) < NUM_STATIC && std::ptr::eq(slot, &SLOTS[slot.id as usize])
}

pub fn slot_of_handle(h: *const std::ffi::c_void) -> Option<&'static Slot> {
    super::slot_in(&SLOTS, h)
}

pub fn slot_by_id(id: u32) -> Option<&'static Slot> {
    SLOTS.get(id as usize)
}

/// Arenas per kind: `MEMKIND_ARENA_NUM_PER_KIND`, else one per CPU.
pub fn arenas_per_kind() -> usize {
    std::env::var("MEMKIND_ARENA_NUM_PER_KIND")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(crate::sys::num_cpus)
        .clamp(1, super::MAX_ARENAS)
}

/// First use of a static kind: start DEFAULT/REGULAR, mark the rest unavailable.
pub fn init(slot: &'static Slot) -> Result<&'static Slot> {
    let _g = INIT_LOCK.lock();
    match slot.state.load(Ordering::Acquire) {
        STATE_LIVE => return Ok(slot),
        STATE_UNAVAILABLE => return provided(slot.id).map(|_| slot),
        _ => {}
    }
    if let Err(e) = provided(slot.id) {
        slot.state.store(STATE_UNAVAILABLE, Ordering::Release);
        return Err(e);
    }
    slot.space.lock().chunk_len = ANON_CHUNK;
    // Only DEFAULT uses jemalloc's automatic thread cache: that cache is shared by all
    // arenas, so exactly one kind may feed it.
    let cache = if slot.id == PARTITION_DEFAULT {
        CACHE_AUTOMATIC
    } else {
        CACHE_PER_THREAD
    };
    slot.start_arenas(arenas_per_kind(), cache, None)?;
    slot.state.store(STATE_LIVE, Ordering::Release);
    Ok(slot)
}

/// Whether this build provides static kind `id` on this machine, else memkind's error for
/// a machine without it.
pub(crate) fn provided(id: u32) -> Result<()> {
    match id {
        PARTITION_DEFAULT | PARTITION_REGULAR => Ok(()),
        PARTITION_INTERLEAVE
        | PARTITION_HIGHEST_CAPACITY..=PARTITION_HIGHEST_CAPACITY_LOCAL_PREFERRED => {
            static NODES: once_cell::sync::OnceCell<usize> = once_cell::sync::OnceCell::new();
            if *NODES.get_or_init(memory_nodes) <= 1 {
                Ok(())
            } else {
                Err(Error::Unavailable)
            }
        }
        // HUGETLB and the deprecated GBTLB.
        5 | 8 => Err(Error::HugeTlb),
        // DAX_KMEM kinds: no memory-only node.
        14..=17 => Err(Error::Unavailable),
        // High-bandwidth, lowest-latency and highest-bandwidth kinds.
        _ => Err(Error::MemtypeNotAvailable),
    }
}

/// NUMA nodes that have memory (1 when the kernel shows no NUMA information).
fn memory_nodes() -> usize {
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/node") else {
        return 1;
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("node") && name[4..].parse::<u32>().is_ok()
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("meminfo"))
                .ok()
                .and_then(|m| {
                    m.lines().find(|l| l.contains("MemTotal:")).and_then(|l| {
                        l.split_whitespace()
                            .rev()
                            .nth(1)
                            .and_then(|v| v.parse::<u64>().ok())
                    })
                })
                .is_some_and(|kb| kb > 0)
        })
        .count()
        .max(1)
}

/// memkind_check_available for a static kind.
pub fn available(slot: &'static Slot) -> Result<()> {
    init(slot).map(|_| ())
}
