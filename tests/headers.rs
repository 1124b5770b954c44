//! The committed C header must equal what cbindgen generates from the Rust source.
//! `UPDATE_HEADERS=1 cargo test --test headers` rewrites it.

use std::path::Path;

fn check(header: &str, config: &str, sources: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join(config)).expect("cbindgen config");
    let mut builder = cbindgen::Builder::new().with_config(config);
    for s in sources {
        builder = builder.with_src(root.join(s));
    }
    let mut out = Vec::new();
    builder
        .generate()
        .expect("cbindgen generation")
        .write(&mut out);
    let path = root.join("include").join(header);
    if std::env::var_os("UPDATE_HEADERS").is_some() {
        std::fs::write(&path, &out).expect("write header");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == out,
        "include/{header} is stale: run `make headers` (UPDATE_HEADERS=1 cargo test --test headers)"
    );
}

#[test]
fn memkind_h_is_current() {
    check(
        "memkind.h",
        "cbindgen-memkind.toml",
        &["src/ffi/memkind.rs", "src/error.rs"],
    );
}

#[test]
fn memkind_memtier_h_is_current() {
    check(
        "memkind_memtier.h",
        "cbindgen-memtier.toml",
        &["src/ffi/memtier.rs"],
    );
}
