//! Kinds through the Rust API: ownership, the live map, limits and teardown.

use std::ffi::CString;

use heap::chunk;
use heap::kind::{self, file};

fn tmpdir() -> (CString, std::path::PathBuf) {
    let base = std::env::temp_dir().join(format!(
        "memkind-rs-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&base).unwrap();
    (CString::new(base.to_str().unwrap()).unwrap(), base)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn foreign_pointers_are_refused_without_the_live_map() {
    // This binary runs without MEMKIND_CHECK: only memory outside every kind is refused.
    let (dir, path) = tmpdir();
    let slot = file::create(&dir, 0, 0).expect("create");
    let p = kind::malloc(slot, 100).unwrap();
    assert!(std::ptr::eq(kind::detect(p).unwrap(), slot));
    let mut local = 0u64;
    assert!(!kind::free(&mut local as *mut u64 as *mut _));
    assert!(kind::detect(&local as *const u64 as *const _).is_none());
    assert!(kind::free(p));
    kind::destroy(slot).unwrap();
    assert!(kind::destroy(slot).is_err(), "destroying twice is an error");
    std::fs::remove_dir(path).unwrap();
}

#[test]
fn fixed_kind_stops_at_its_limit_and_refills() {
    let (dir, path) = tmpdir();
    let slot = file::create(&dir, 32 << 20, 0).expect("create");
    let fill = |size: usize| {
        let mut v = Vec::new();
        while let Ok(p) = kind::malloc(slot, size) {
            // SAFETY: p is a fresh block of `size` bytes.
            unsafe { std::ptr::write_bytes(p as *mut u8, 0xa5, size) };
            v.push(p);
        }
        v
    };
    let first = fill(1 << 20);
    assert!(
        first.len() >= 30,
        "only {} blocks of 1 MiB in 32 MiB",
        first.len()
    );
    first.iter().for_each(|&p| assert!(kind::free(p)));
    let small = fill(4096);
    assert!(
        small.len() * 4096 >= (30 << 20),
        "refill with 4 KiB got {} blocks",
        small.len()
    );
    small.iter().for_each(|&p| assert!(kind::free(p)));
    let again = fill(1 << 20);
    assert!(
        again.len() >= first.len() * 95 / 100,
        "refill {} of {}",
        again.len(),
        first.len()
    );
    again.iter().for_each(|&p| assert!(kind::free(p)));
    kind::destroy(slot).unwrap();
    std::fs::remove_dir(path).unwrap();
}

#[test]
fn destroy_unregisters_every_chunk() {
    let (dir, path) = tmpdir();
    let slot = file::create(&dir, 0, 1).expect("create");
    let p = kind::malloc(slot, 1 << 20).unwrap();
    assert!(chunk::lookup(p as usize).is_some());
    kind::destroy(slot).unwrap();
    assert!(chunk::lookup(p as usize).is_none());
    assert!(!kind::free(p), "a block of a destroyed kind is not freed");
    std::fs::remove_dir(path).unwrap();
}

#[test]
fn bad_arguments_are_errors() {
    let (dir, path) = tmpdir();
    assert!(
        file::create(&dir, 1 << 20, 0).is_err(),
        "below MEMKIND_PMEM_MIN_SIZE"
    );
    assert!(file::create(&dir, 0, 7).is_err(), "invalid policy");
    assert!(file::create(c"/nonexistent/dir", 0, 0).is_err());
    assert!(file::create(c"", 0, 0).is_err());
    assert_eq!(std::fs::read_dir(&path).unwrap().count(), 0);
    std::fs::remove_dir(path).unwrap();
}
