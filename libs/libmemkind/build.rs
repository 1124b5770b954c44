// The SONAME goes on the cdylib only; RUSTFLAGS would leak it into every dependency.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmemkind.so.0");
    // Defines the version node MEMKIND_PRIVATE of libmemtier's entry points (src/private.rs).
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/private.map");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=private.map");
}
