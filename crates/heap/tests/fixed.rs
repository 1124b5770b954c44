//! Fixed kinds through the Rust API: regions sharing a GiB of address space, the
//! ownership map as kinds come and go, and the region left intact.

use heap::chunk;
use heap::kind::{self, fixed};

struct Region {
    base: *mut u8,
    len: usize,
}

impl Region {
    fn new(len: usize) -> Region {
        // SAFETY: a fresh private anonymous mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        Region {
            base: p as *mut u8,
            len,
        }
    }

    fn at(&self, off: usize) -> usize {
        self.base as usize + off
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new().
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

#[test]
fn regions_sharing_a_gib_each_own_their_blocks() {
    const MIB: usize = 1 << 20;
    let r = Region::new(12 * MIB);
    let kinds: Vec<_> = (0..3)
        .map(|i| fixed::create(r.at(i * 4 * MIB), 4 * MIB).expect("create"))
        .collect();
    let blocks: Vec<_> = kinds
        .iter()
        .map(|k| kind::malloc(k, 1000).unwrap())
        .collect();
    for (i, (&p, k)) in blocks.iter().zip(&kinds).enumerate() {
        let (lo, hi) = (r.at(i * 4 * MIB), r.at((i + 1) * 4 * MIB));
        assert!(
            (lo..hi).contains(&(p as usize)),
            "block {i} outside its region"
        );
        assert!(std::ptr::eq(kind::detect(p).unwrap(), *k));
    }
    // Destroying the middle kind leaves the outer ones found, in whatever GiB they are.
    kind::destroy(kinds[1]).unwrap();
    assert!(chunk::lookup(blocks[1] as usize).is_none());
    assert!(kind::detect(blocks[1]).is_none());
    assert!(!kind::free(blocks[1]));
    assert!(std::ptr::eq(kind::detect(blocks[0]).unwrap(), kinds[0]));
    assert!(std::ptr::eq(kind::detect(blocks[2]).unwrap(), kinds[2]));
    // The freed middle region can hold a new kind; overlapping ones are refused.
    assert!(fixed::create(r.at(5 * MIB), 4 * MIB).is_err());
    let again = fixed::create(r.at(4 * MIB), 4 * MIB).expect("re-create");
    let p = kind::malloc(again, 64).unwrap();
    assert!(std::ptr::eq(kind::detect(p).unwrap(), again));
    assert!(kind::free(p));
    assert!(kind::free(blocks[0]) && kind::free(blocks[2]));
    for k in [kinds[0], again, kinds[2]] {
        kind::destroy(k).unwrap();
    }
    assert!(chunk::lookup(r.at(0)).is_none() && chunk::lookup(r.at(11 * MIB)).is_none());
}

#[test]
fn region_across_a_gib_boundary() {
    const GIB: usize = 1 << 30;
    // 2 GiB of address space (no memory is touched beyond the blocks) holds a boundary.
    let r = Region::new(2 * GIB);
    let boundary = (r.at(0) + GIB) & !(GIB - 1);
    let k = fixed::create(boundary - (8 << 20), 16 << 20).expect("create");
    let mut seen_below = false;
    let mut seen_above = false;
    let mut blocks = Vec::new();
    while let Ok(p) = kind::malloc(k, 1 << 20) {
        let a = p as usize;
        seen_below |= a < boundary;
        seen_above |= a >= boundary;
        assert!(std::ptr::eq(kind::detect(p).unwrap(), k));
        blocks.push(p);
    }
    assert!(
        seen_below && seen_above,
        "blocks on both sides of the boundary"
    );
    blocks.into_iter().for_each(|p| assert!(kind::free(p)));
    kind::destroy(k).unwrap();
    assert!(chunk::lookup(boundary).is_none());
}

#[test]
fn capacity_is_the_given_size_and_bad_regions_are_refused() {
    let r = Region::new(1 << 20);
    assert!(fixed::create(0, 1 << 20).is_err());
    assert!(fixed::create(r.at(0), 0).is_err());
    // No whole page: accepted as memkind does, with nothing fitting in it.
    let tiny = fixed::create(r.at(1), 4096).expect("a region without a whole page");
    assert_eq!(kind::capacity(tiny), Some(4096));
    assert!(kind::malloc(tiny, 8).is_err());
    kind::destroy(tiny).unwrap();
    assert!(fixed::create(usize::MAX - 4095, 8192).is_err(), "wraps");
    let k = fixed::create(r.at(100), 500_000).unwrap();
    assert_eq!(kind::capacity(k), Some(500_000));
    kind::destroy(k).unwrap();
}
