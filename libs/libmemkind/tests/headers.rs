//! The committed C header must equal what cbindgen generates from the Rust source.
//! `UPDATE_HEADERS=1 cargo test --test headers` rewrites it.

#[path = "../../../tests/harness/header_check.rs"]
mod common;

use common::check_current as check;

#[test]
fn memkind_h_is_current() {
    check(
        "memkind.h",
        "cbindgen-memkind.toml",
        &["src/memkind.rs", "../../crates/heap/src/error.rs"],
    );
}

#[test]
fn memkind_memtier_h_is_current() {
    check(
        "memkind_memtier.h",
        "cbindgen-memtier.toml",
        &["src/memtier.rs"],
    );
}
