//! The static kinds (`MEMKIND_DEFAULT`, `MEMKIND_REGULAR`, ...), one slot each, indexed by
//! memkind's partition numbers, each on its own anonymous arenas.
//!
//! A kind other than DEFAULT is a set of NUMA nodes (see `numa.rs`), a memory policy
//! (bind, preferred, interleave) and a page size. The nodes are chosen when the kind is
//! first used; every extent jemalloc takes from the kind's address space is then bound with
//! `mbind` (for "closest"/"local" kinds, to the nodes of the allocating thread's node) and,
//! for the HUGETLB kinds, mapped from the kernel's huge page pool. A kind whose memory the
//! machine lacks answers with memkind's code for that case, and allocating from it fails
//! with ENOMEM.

use std::os::raw::c_int;
use std::sync::atomic::Ordering;

use once_cell::sync::OnceCell;

use super::{Slot, CACHE_PER_THREAD, STATE_LIVE, STATE_UNAVAILABLE};
use crate::env;
use crate::error::{Error, Result};
use crate::numa::{self, Family, Selection};
use crate::sys;

pub(crate) const PARTITION_DEFAULT: u32 = 0;
pub const NUM_STATIC: usize = 26;

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

static INIT_LOCK: crate::sys::lock::Mutex<()> = crate::sys::lock::Mutex::new(());

#[inline]
pub fn is_static(slot: &Slot) -> bool {
    (slot.id as usize) < NUM_STATIC && std::ptr::eq(slot, &SLOTS[slot.id as usize])
}

#[inline]
pub fn slot_of_handle(h: *const std::ffi::c_void) -> Option<&'static Slot> {
    super::slot_in(&SLOTS, h)
}

#[inline]
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

/// Page size of a kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Small,
    Huge2M,
    /// The deprecated GBTLB kinds.
    Huge1G,
}

/// What `memkind_get_capacity` reports for a kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cap {
    /// -1: memkind does not support the kind (the PREFERRED and most huge-page kinds).
    Unsupported,
    /// `MemTotal` summed over the kind's nodes (for the calling thread's node).
    Nodes,
    /// The 2 MiB huge page pool of all nodes.
    HugePages,
}

const MPOL_DEFAULT: c_int = 0;
const MPOL_PREFERRED: c_int = 1;
const MPOL_BIND: c_int = 2;
const MPOL_INTERLEAVE: c_int = 3;

#[derive(Clone, Copy)]
struct Spec {
    family: Family,
    mode: c_int,
    page: Page,
    cap: Cap,
}

const fn spec(family: Family, mode: c_int, page: Page, cap: Cap) -> Spec {
    Spec {
        family,
        mode,
        page,
        cap,
    }
}

const ALL: Family = Family::All;
const REGULAR: Family = Family::Regular;
const HBW: Family = Family::Hbw { all: false };
const HBW_ALL: Family = Family::Hbw { all: true };
const DAX: Family = Family::DaxKmem { all: false };
const DAX_ALL: Family = Family::DaxKmem { all: true };
const CAPACITY: Family = Family::HighestCapacity;
const CAPACITY_LOCAL: Family = Family::HighestCapacityLocal;
const LATENCY_LOCAL: Family = Family::LowestLatencyLocal;
const BANDWIDTH_LOCAL: Family = Family::HighestBandwidthLocal;
const DEFAULT: c_int = MPOL_DEFAULT;
const BIND: c_int = MPOL_BIND;
const PREF: c_int = MPOL_PREFERRED;
const INTERLEAVE: c_int = MPOL_INTERLEAVE;
use Cap::{HugePages, Nodes, Unsupported as NoCap};
use Page::{Huge1G, Huge2M, Small};

/// By memkind partition number.
#[rustfmt::skip]
const SPECS: [Spec; NUM_STATIC] = [
    spec(ALL,             DEFAULT,    Small,  Nodes),     // DEFAULT
    spec(HBW,             BIND,       Small,  Nodes),     // HBW
    spec(HBW,             BIND,       Huge2M, NoCap),     // HBW_HUGETLB
    spec(HBW,             PREF,       Small,  NoCap),     // HBW_PREFERRED
    spec(HBW,             PREF,       Huge2M, NoCap),     // HBW_PREFERRED_HUGETLB
    spec(ALL,             DEFAULT,    Huge2M, HugePages), // HUGETLB
    spec(HBW,             BIND,       Huge1G, Nodes),     // HBW_GBTLB
    spec(HBW,             PREF,       Huge1G, NoCap),     // HBW_PREFERRED_GBTLB
    spec(ALL,             DEFAULT,    Huge1G, HugePages), // GBTLB
    spec(HBW_ALL,         INTERLEAVE, Small,  Nodes),     // HBW_INTERLEAVE
    spec(ALL,             INTERLEAVE, Small,  Nodes),     // INTERLEAVE
    spec(REGULAR,         BIND,       Small,  Nodes),     // REGULAR
    spec(HBW_ALL,         BIND,       Small,  Nodes),     // HBW_ALL
    spec(HBW_ALL,         BIND,       Huge2M, NoCap),     // HBW_ALL_HUGETLB
    spec(DAX,             BIND,       Small,  Nodes),     // DAX_KMEM
    spec(DAX_ALL,         BIND,       Small,  Nodes),     // DAX_KMEM_ALL
    spec(DAX,             PREF,       Small,  NoCap),     // DAX_KMEM_PREFERRED
    spec(DAX_ALL,         INTERLEAVE, Small,  Nodes),     // DAX_KMEM_INTERLEAVE
    spec(CAPACITY,        BIND,       Small,  Nodes),     // HIGHEST_CAPACITY
    spec(CAPACITY,        PREF,       Small,  NoCap),     // HIGHEST_CAPACITY_PREFERRED
    spec(CAPACITY_LOCAL,  BIND,       Small,  Nodes),     // HIGHEST_CAPACITY_LOCAL
    spec(CAPACITY_LOCAL,  PREF,       Small,  NoCap),     // HIGHEST_CAPACITY_LOCAL_PREFERRED
    spec(LATENCY_LOCAL,   BIND,       Small,  Nodes),     // LOWEST_LATENCY_LOCAL
    spec(LATENCY_LOCAL,   PREF,       Small,  NoCap),     // LOWEST_LATENCY_LOCAL_PREFERRED
    spec(BANDWIDTH_LOCAL, BIND,       Small,  Nodes),     // HIGHEST_BANDWIDTH_LOCAL
    spec(BANDWIDTH_LOCAL, PREF,       Small,  NoCap),     // HIGHEST_BANDWIDTH_LOCAL_PREFERRED
];

/// How a live static kind places its extents.
struct Placement {
    mode: c_int,
    /// Huge page size backing the kind, if any.
    page: Option<usize>,
    /// The nodes, when `mode` binds.
    nodes: Option<Selection>,
}

/// Per kind: its placement, or memkind's error for a machine without that memory. Decided
/// once; the hooks only read it.
static PLACEMENTS: [OnceCell<Result<Placement>>; NUM_STATIC] =
    [const { OnceCell::new() }; NUM_STATIC];

const HUGE_2M: usize = 2 << 20;
const HUGE_1G: usize = 1 << 30;
const HUGEPAGES: &str = "/sys/kernel/mm/hugepages";

fn pool_pages(size_kb: usize, file: &str) -> u64 {
    sys::file::read_small(format!("{HUGEPAGES}/hugepages-{size_kb}kB/{file}"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether huge pages of `page` bytes can be had for `nodes` (None: any node), as memkind
/// decides it: pages in the pool on those nodes, or overcommit allowed.
fn huge_pages_configured(page: Page, nodes: Option<&numa::NodeMask>) -> bool {
    let (kb, pool) = match page {
        Page::Small => return true,
        Page::Huge2M => (2048, numa::topology().hugepages_2m(nodes)),
        Page::Huge1G => (1 << 20, pool_pages(1 << 20, "nr_hugepages")),
    };
    pool > 0 || pool_pages(kb, "nr_overcommit_hugepages") > 0
}

fn placement(id: u32) -> Result<Placement> {
    let spec = SPECS[id as usize];
    let page_bytes = match spec.page {
        Page::Small => None,
        Page::Huge2M => Some(HUGE_2M),
        Page::Huge1G => Some(HUGE_1G),
    };
    let no_huge = || {
        env::log(&[b"no huge pages configured (see /proc/sys/vm/nr_hugepages)"]);
        Error::HugeTlb
    };
    // memkind checks the 1 GiB pool before the memory type, and 2 MiB pages after it.
    if spec.page == Page::Huge1G && !huge_pages_configured(Page::Huge1G, None) {
        return Err(no_huge());
    }
    if spec.mode == MPOL_DEFAULT {
        if spec.page == Page::Huge2M && !huge_pages_configured(Page::Huge2M, None) {
            return Err(no_huge());
        }
        return Ok(Placement {
            mode: MPOL_DEFAULT,
            page: page_bytes,
            nodes: None,
        });
    }
    let mut sel = numa::select(spec.family)?;
    if spec.page == Page::Huge2M && !huge_pages_configured(Page::Huge2M, Some(&sel.all)) {
        return Err(no_huge());
    }
    if spec.mode == MPOL_PREFERRED {
        // One preferred node; memkind refuses when several are equally close/good.
        if sel.for_node(sys::current_node()).count() > 1 {
            env::log(&[b"several nodes qualify equally for a PREFERRED kind"]);
            return Err(Error::MemtypeNotAvailable);
        }
        sel.first_only();
    }
    Ok(Placement {
        mode: spec.mode,
        page: page_bytes,
        nodes: Some(sel),
    })
}

/// First use of a static kind: decide its placement and start its arenas, or remember
/// that the machine cannot provide it.
pub fn init(slot: &'static Slot) -> Result<&'static Slot> {
    sys::preserving_errno(|| init_locked(slot))
}

fn init_locked(slot: &'static Slot) -> Result<&'static Slot> {
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
    // Freed pages stay dirty for jemalloc's 10 s, then are handed to the kernel lazily
    // (MADV_FREE) and left there: with a muzzy decay of 0 jemalloc would purge a freed
    // large block at once, and the next one would fault its pages in again.
    slot.start_arenas(arenas_per_kind(), CACHE_PER_THREAD, Some((10_000, -1)))?;
    slot.state.store(STATE_LIVE, Ordering::Release);
    Ok(slot)
}

/// Whether static kind `id` can be provided on this machine, else memkind's error for a
/// machine without it.
pub(crate) fn provided(id: u32) -> Result<()> {
    let Some(cell) = PLACEMENTS.get(id as usize) else {
        return Err(Error::Invalid);
    };
    match cell.get_or_init(|| placement(id)) {
        Ok(_) => Ok(()),
        Err(e) => Err(*e),
    }
}

/// Prepares `[addr, addr+len)`, just carved for static kind `id`, before jemalloc gets it:
/// huge pages mapped, pages bound to the kind's nodes. False when that failed (the caller
/// gives the range back). Runs inside jemalloc: no allocation.
pub(crate) fn place(id: u32, addr: usize, len: usize) -> bool {
    let Some(Ok(p)) = PLACEMENTS.get(id as usize).and_then(OnceCell::get) else {
        return true;
    };
    if let Some(page) = p.page {
        if let Err(e) = sys::map_huge(addr, len, page) {
            let mut b = [0u8; 20];
            env::log(&[
                b"huge page mapping failed, errno ",
                env::dec(e as u64, &mut b),
            ]);
            return false;
        }
    }
    if p.mode == MPOL_INTERLEAVE {
        // Interleaving works on small pages, so transparent huge pages stay off.
        sys::no_transparent_huge_pages(addr, len);
    }
    if let Some(sel) = &p.nodes {
        let mask = sel.for_node(sys::current_node());
        // An empty PREFERRED set means local allocation, as memkind gets it from the
        // kernel; an empty BIND/INTERLEAVE set (e.g. MEMKIND_HBW_NODES="") allocates nothing.
        let r = if mask.is_empty() && p.mode != MPOL_PREFERRED {
            Err(sys::file::errno::EINVAL)
        } else {
            sys::mbind(addr, len, p.mode, mask.words())
        };
        match r {
            // A kernel built without NUMA has one node: nothing to bind.
            Ok(()) | Err(sys::file::errno::ENOSYS) => {}
            Err(e) => {
                let mut b = [0u8; 20];
                env::log(&[b"mbind failed, errno ", env::dec(e as u64, &mut b)]);
                if p.page.is_some() {
                    // Give the huge pages back; the range stays reserved.
                    sys::reserve_again(addr, len);
                }
                return false;
            }
        }
    }
    true
}

/// The size and alignment to carve for an extent of static kind `id`: whole huge pages for
/// the HUGETLB kinds, else as asked.
pub(crate) fn extent_shape(id: u32, size: usize, align: usize) -> Option<(usize, usize)> {
    match huge_page(id) {
        Some(page) => Some((size.checked_next_multiple_of(page)?, align.max(page))),
        None => Some((size, align)),
    }
}

/// Huge page size of a live static kind; its chunks stay reserved until `place` maps them.
pub(crate) fn huge_page(id: u32) -> Option<usize> {
    match PLACEMENTS.get(id as usize).and_then(OnceCell::get) {
        Some(Ok(p)) => p.page,
        _ => None,
    }
}

/// memkind_check_available for a static kind.
pub fn available(slot: &'static Slot) -> Result<()> {
    init(slot).map(|_| ())
}

/// `memkind_get_capacity` of static kind `id`; None where memkind answers -1. Independent
/// of whether the kind can allocate (memkind reports 0 for HUGETLB without huge pages).
pub fn capacity(id: u32) -> Option<u64> {
    sys::preserving_errno(|| capacity_of(id))
}

fn capacity_of(id: u32) -> Option<u64> {
    let spec = SPECS.get(id as usize)?;
    let topo = numa::topology();
    match spec.cap {
        Cap::Unsupported => None,
        Cap::HugePages => Some(topo.hugepages_2m(None) * HUGE_2M as u64),
        Cap::Nodes => {
            let sel = numa::select(spec.family).ok()?;
            Some(topo.capacity(&sel.for_node(sys::current_node())))
        }
    }
}

/// The static kind `memkind_create_kind` gives for a memory type, policy and flags, as
/// memkind 1.14 maps them; `Invalid` for combinations it does not support,
/// `MemtypeNotAvailable` when the kind cannot allocate here. PREFERRED kinds fall back on
/// DEFAULT.
pub fn for_create(memtype: u32, policy: u32, flags: u32) -> Result<&'static Slot> {
    const DEFAULT: u32 = 1;
    const HIGH_BANDWIDTH: u32 = 2;
    const BOTH: u32 = DEFAULT | HIGH_BANDWIDTH;
    const BIND_LOCAL: u32 = 0;
    const BIND_ALL: u32 = 1;
    const PREFERRED_LOCAL: u32 = 2;
    const INTERLEAVE_ALL: u32 = 4;
    const PAGE_2MB: u32 = 21;
    let id = match (memtype, policy, flags) {
        (DEFAULT, PREFERRED_LOCAL, 0) => 0,
        (DEFAULT, PREFERRED_LOCAL, PAGE_2MB) => 5,
        (HIGH_BANDWIDTH, BIND_LOCAL, 0) => 1,
        (HIGH_BANDWIDTH, BIND_LOCAL, PAGE_2MB) => 2,
        (HIGH_BANDWIDTH, BIND_ALL, 0) => 12,
        (HIGH_BANDWIDTH, BIND_ALL, PAGE_2MB) => 13,
        (HIGH_BANDWIDTH, PREFERRED_LOCAL, 0) => 3,
        (HIGH_BANDWIDTH, PREFERRED_LOCAL, PAGE_2MB) => 4,
        (HIGH_BANDWIDTH, INTERLEAVE_ALL, 0) => 9,
        (BOTH, INTERLEAVE_ALL, 0) => 10,
        _ => {
            env::log(&[b"memkind_create_kind: unsupported memtype/policy/flags combination"]);
            return Err(Error::Invalid);
        }
    };
    let slot = &SLOTS[id];
    match available(slot) {
        Ok(()) => Ok(slot),
        Err(_) if policy == PREFERRED_LOCAL => init(&SLOTS[PARTITION_DEFAULT as usize]),
        Err(_) => Err(Error::MemtypeNotAvailable),
    }
}
