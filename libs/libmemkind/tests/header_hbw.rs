//! `include/hbwmalloc.h` must equal what cbindgen generates from `src/hbw.rs`, and
//! declare exactly memkind's hbwmalloc functions with its constant values.
//! `UPDATE_HEADERS=1 cargo test --test header_hbw` rewrites it.

#[path = "../../../tests/harness/header_check.rs"]
mod common;

fn generate() -> String {
    common::generate("cbindgen-hbw.toml", &["src/hbw.rs"])
}

#[test]
fn hbwmalloc_header_is_current() {
    common::check_current("hbwmalloc.h", "cbindgen-hbw.toml", &["src/hbw.rs"]);
}

#[test]
fn header_declares_exactly_the_api() {
    let h = generate();
    let mut declared: Vec<&str> = h
        .lines()
        .filter(|l| l.ends_with(");") && !l.starts_with(|c: char| c.is_whitespace()))
        .filter_map(|l| {
            // The name is the last word before the parameter list.
            let head = &l[..l.find('(')?];
            head.rsplit([' ', '*']).next()
        })
        .collect();
    declared.sort_unstable();
    let mut want = vec![
        "hbw_get_policy",
        "hbw_set_policy",
        "hbw_check_available",
        "hbw_verify_memory_region",
        "hbw_malloc",
        "hbw_calloc",
        "hbw_posix_memalign",
        "hbw_posix_memalign_psize",
        "hbw_realloc",
        "hbw_free",
        "hbw_malloc_usable_size",
    ];
    want.sort_unstable();
    assert_eq!(declared, want);
}

#[test]
fn constants_match_memkind() {
    let h = generate();
    let compact: String = h.split_whitespace().collect::<Vec<_>>().join(" ");
    for item in [
        "HBW_POLICY_BIND = 1",
        "HBW_POLICY_PREFERRED = 2",
        "HBW_POLICY_INTERLEAVE = 3",
        "HBW_POLICY_BIND_ALL = 4",
        "HBW_PAGESIZE_4KB = 1",
        "HBW_PAGESIZE_2MB = 2",
        "HBW_PAGESIZE_1GB_STRICT = 3",
        "HBW_PAGESIZE_1GB = 4",
        "HBW_PAGESIZE_MAX_VALUE",
        "#define HBW_TOUCH_PAGES 1",
        "hbw_policy_t hbw_get_policy(void);",
        "int hbw_set_policy(hbw_policy_t mode);",
        "int hbw_posix_memalign_psize(void **memptr, size_t alignment, size_t size, hbw_pagesize_t pagesize);",
    ] {
        assert!(compact.contains(item), "hbwmalloc.h lacks `{item}`");
    }
}
