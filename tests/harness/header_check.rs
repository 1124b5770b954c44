//! Shared by the header tests of each library crate (included with `#[path]`): generate a
//! header with cbindgen from the crate's sources and compare it with the committed one in
//! the workspace's `include/` (`UPDATE_HEADERS=1` rewrites it instead; `make headers`).

use std::path::{Path, PathBuf};

/// The crate under test; configurations and sources are named relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace's header folder (the tree `make install` copies to `$PREFIX/include`).
pub fn include_dir() -> PathBuf {
    root().join("../../include")
}

/// The header cbindgen makes from `sources` with the configuration file `config`.
pub fn generate(config: &str, sources: &[&str]) -> String {
    let root = root();
    let config = cbindgen::Config::from_file(root.join(config)).expect("cbindgen config");
    let mut builder = cbindgen::Builder::new().with_config(config);
    for s in sources {
        builder = builder.with_src(Path::new(&root).join(s));
    }
    let mut out = Vec::new();
    builder
        .generate()
        .expect("cbindgen generation")
        .write(&mut out);
    String::from_utf8(out).expect("utf-8 header")
}

/// Fails when `include/<header>` differs from what cbindgen generates now.
pub fn check_current(header: &str, config: &str, sources: &[&str]) {
    let fresh = generate(config, sources);
    let path = include_dir().join(header);
    if std::env::var_os("UPDATE_HEADERS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/{header} is stale: run `make headers` (UPDATE_HEADERS=1 cargo test --workspace --test 'header*')"
    );
}
