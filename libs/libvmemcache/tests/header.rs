//! Keeps `include/libvmemcache.h` in step with `src/ffi.rs`: regenerates it with cbindgen
//! and fails on any difference (`UPDATE_HEADERS=1` rewrites it instead), and checks the
//! hand-written enums and macros against the library's constants.

#[path = "../../../tests/harness/header_check.rs"]
mod common;

use vmemcache::cache as c;

fn generate() -> String {
    common::generate("cbindgen.toml", &["src/ffi.rs"])
}

#[test]
fn header_is_current() {
    common::check_current("libvmemcache.h", "cbindgen.toml", &["src/ffi.rs"]);
}

/// The enumerators of `enum <name>` in order.
fn enumerators(h: &str, name: &str) -> Vec<String> {
    let start = h.find(&format!("enum {name} {{")).expect("enum present");
    let body = &h[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("};").unwrap()];
    body.lines()
        .map(|l| l.split("/*").next().unwrap().trim().trim_end_matches(','))
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn enums_and_macros_match_the_library() {
    let h = generate();
    assert_eq!(
        enumerators(&h, "vmemcache_repl_p"),
        [
            "VMEMCACHE_REPLACEMENT_NONE",
            "VMEMCACHE_REPLACEMENT_LRU",
            "VMEMCACHE_REPLACEMENT_NUM"
        ]
    );
    assert_eq!(c::REPLACEMENT_NONE, 0);
    assert_eq!(c::REPLACEMENT_LRU, 1);
    assert_eq!(c::REPLACEMENT_NUM, 2);
    let stats = enumerators(&h, "vmemcache_statistic");
    let want = [
        ("VMEMCACHE_STAT_PUT", c::STAT_PUT),
        ("VMEMCACHE_STAT_GET", c::STAT_GET),
        ("VMEMCACHE_STAT_HIT", c::STAT_HIT),
        ("VMEMCACHE_STAT_MISS", c::STAT_MISS),
        ("VMEMCACHE_STAT_EVICT", c::STAT_EVICT),
        ("VMEMCACHE_STAT_ENTRIES", c::STAT_ENTRIES),
        ("VMEMCACHE_STAT_DRAM_SIZE_USED", c::STAT_DRAM_SIZE_USED),
        ("VMEMCACHE_STAT_POOL_SIZE_USED", c::STAT_POOL_SIZE_USED),
        ("VMEMCACHE_STAT_HEAP_ENTRIES", c::STAT_HEAP_ENTRIES),
        ("VMEMCACHE_STATS_NUM", c::STATS_NUM),
    ];
    assert_eq!(stats.len(), want.len());
    for (i, (name, v)) in want.iter().enumerate() {
        assert_eq!(stats[i], *name);
        assert_eq!(*v as usize, i, "{name}");
    }
    let bench = enumerators(&h, "vmemcache_bench_cfg");
    let want = [
        ("VMEMCACHE_BENCH_INDEX_ONLY", c::BENCH_INDEX_ONLY),
        ("VMEMCACHE_BENCH_NO_ALLOC", c::BENCH_NO_ALLOC),
        ("VMEMCACHE_BENCH_NO_MEMCPY", c::BENCH_NO_MEMCPY),
        ("VMEMCACHE_BENCH_PREFAULT", c::BENCH_PREFAULT),
    ];
    for (i, (name, v)) in want.iter().enumerate() {
        assert_eq!(bench[i], *name);
        assert_eq!(*v as usize, i, "{name}");
    }
    assert!(h.contains("#define VMEMCACHE_MIN_POOL ((size_t)(1024 * 1024))"));
    assert!(h.contains("#define VMEMCACHE_MIN_EXTENT ((size_t)256)"));
    assert_eq!(c::MIN_POOL, 1024 * 1024);
    assert_eq!(c::MIN_EXTENT, 256);
    assert!(h.contains("typedef struct vmemcache VMEMcache;"));
}

#[test]
fn header_declares_exactly_the_api() {
    let h = generate();
    let mut declared: Vec<&str> = h
        .lines()
        .filter(|l| l.ends_with(");") && !l.starts_with(|c: char| c.is_whitespace()))
        .filter_map(|l| {
            let i = l.find("vmemcache_")?;
            let n = &l[i..];
            Some(&n[..n.find('(')?])
        })
        .collect();
    declared.sort_unstable();
    let mut want = vec![
        "vmemcache_new",
        "vmemcache_delete",
        "vmemcache_set_eviction_policy",
        "vmemcache_set_size",
        "vmemcache_set_extent_size",
        "vmemcache_add",
        "vmemcache_put",
        "vmemcache_get",
        "vmemcache_exists",
        "vmemcache_evict",
        "vmemcache_callback_on_evict",
        "vmemcache_callback_on_miss",
        "vmemcache_get_stat",
        "vmemcache_bench_set",
        "vmemcache_errormsg",
    ];
    want.sort_unstable();
    assert_eq!(declared, want);
}
