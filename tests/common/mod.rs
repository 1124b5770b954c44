//! Shared by the header tests: generate a header with cbindgen and compare it with the
//! committed one (`UPDATE_HEADERS=1` rewrites it instead; `make headers` does that).

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    let path = root().join("include").join(header);
    if std::env::var_os("UPDATE_HEADERS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/{header} is stale: run `make headers` (UPDATE_HEADERS=1 cargo test --test 'header*')"
    );
}
