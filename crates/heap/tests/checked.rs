//! Kinds with `MEMKIND_CHECK=1`: the live map refuses double, interior and foreign frees.
//! A binary of its own, since the switch is read once per process.

use std::ffi::CString;

use heap::kind::{self, file};

fn tmpdir() -> (CString, std::path::PathBuf) {
    let base = std::env::temp_dir().join(format!("memkind-rs-check-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    (CString::new(base.to_str().unwrap()).unwrap(), base)
}

#[test]
fn live_map_rejects_double_interior_and_foreign_frees() {
    std::env::set_var("MEMKIND_CHECK", "1");
    assert!(heap::env::check());
    let (dir, path) = tmpdir();
    let slot = file::create(&dir, 0, 0).expect("create");
    let p = kind::malloc(slot, 100).unwrap();
    assert!(!p.is_null());
    assert!(std::ptr::eq(kind::detect(p).unwrap(), slot));
    // Interior pointer and a pointer no kind owns are refused.
    assert!(!kind::free((p as usize + 8) as *mut _));
    let mut local = 0u64;
    assert!(!kind::free(&mut local as *mut u64 as *mut _));
    assert!(kind::free(p));
    assert!(
        !kind::free(p),
        "second free of the same block must be refused"
    );
    assert!(kind::detect(p).is_none());
    kind::destroy(slot).unwrap();
    assert!(kind::destroy(slot).is_err(), "destroying twice is an error");
    assert_eq!(
        std::fs::read_dir(&path).unwrap().count(),
        0,
        "no visible file"
    );
    std::fs::remove_dir(path).unwrap();
}
