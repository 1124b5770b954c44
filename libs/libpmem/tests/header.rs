//! Keeps `include/libpmem.h` in step with `src/lib.rs`: regenerates it with cbindgen
//! and fails on any difference (set `UPDATE_HEADERS=1` to rewrite the file instead), and
//! checks the hand-written macros against the Rust constants.

#[path = "../../../tests/harness/header_check.rs"]
mod common;

use persist as pmem;

fn generate() -> String {
    common::generate("cbindgen-pmem.toml", &["src/lib.rs"])
}

#[test]
fn libpmem_header_is_current() {
    common::check_current("libpmem.h", "cbindgen-pmem.toml", &["src/lib.rs"]);
}

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} missing"))
        .trim()
        .to_owned()
}

#[test]
fn macros_match_rust_constants() {
    let h = generate();
    let shift = |v: u32, unsigned: bool| {
        assert!(v.is_power_of_two());
        format!(
            "(1{} << {})",
            if unsigned { "U" } else { "" },
            v.trailing_zeros()
        )
    };
    for (name, v) in [
        ("PMEM_FILE_CREATE", pmem::PMEM_FILE_CREATE),
        ("PMEM_FILE_EXCL", pmem::PMEM_FILE_EXCL),
        ("PMEM_FILE_SPARSE", pmem::PMEM_FILE_SPARSE),
        ("PMEM_FILE_TMPFILE", pmem::PMEM_FILE_TMPFILE),
    ] {
        assert_eq!(define(&h, name), shift(v as u32, false), "{name}");
    }
    for (name, v) in [
        ("PMEM_F_MEM_NODRAIN", pmem::PMEM_F_MEM_NODRAIN),
        ("PMEM_F_MEM_NONTEMPORAL", pmem::PMEM_F_MEM_NONTEMPORAL),
        ("PMEM_F_MEM_TEMPORAL", pmem::PMEM_F_MEM_TEMPORAL),
        ("PMEM_F_MEM_WC", pmem::PMEM_F_MEM_WC),
        ("PMEM_F_MEM_WB", pmem::PMEM_F_MEM_WB),
        ("PMEM_F_MEM_NOFLUSH", pmem::PMEM_F_MEM_NOFLUSH),
    ] {
        assert_eq!(define(&h, name), shift(v, true), "{name}");
    }
    assert_eq!(
        define(&h, "PMEM_MAJOR_VERSION"),
        pmem::PMEM_MAJOR_VERSION.to_string()
    );
    assert_eq!(
        define(&h, "PMEM_MINOR_VERSION"),
        pmem::PMEM_MINOR_VERSION.to_string()
    );
    assert_eq!(pmem::PMEM_MIN_PART, 1024 * 1024 * 2);
    assert!(define(&h, "PMEM_MIN_PART").starts_with("((size_t)(1024 * 1024 * 2))"));
}

#[test]
fn header_declares_exactly_the_api() {
    let h = generate();
    let mut declared: Vec<&str> = h
        .lines()
        .filter_map(|l| {
            // Declarations are the unindented lines ending in ");".
            if !l.ends_with(");") || l.starts_with(|c: char| c.is_whitespace() || c == '#') {
                return None;
            }
            let i = l.find("pmem_")?;
            let name = &l[i..];
            Some(&name[..name.find('(')?])
        })
        .collect();
    declared.sort_unstable();
    let mut want = vec![
        "pmem_map_file",
        "pmem_unmap",
        "pmem_is_pmem",
        "pmem_persist",
        "pmem_msync",
        "pmem_has_auto_flush",
        "pmem_flush",
        "pmem_deep_flush",
        "pmem_deep_drain",
        "pmem_deep_persist",
        "pmem_drain",
        "pmem_has_hw_drain",
        "pmem_memmove_persist",
        "pmem_memcpy_persist",
        "pmem_memset_persist",
        "pmem_memmove_nodrain",
        "pmem_memcpy_nodrain",
        "pmem_memset_nodrain",
        "pmem_memmove",
        "pmem_memcpy",
        "pmem_memset",
        "pmem_check_version",
        "pmem_errormsg",
    ];
    want.sort_unstable();
    assert_eq!(declared, want);
}
