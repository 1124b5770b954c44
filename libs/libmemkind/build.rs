// The SONAME goes on the cdylib only; RUSTFLAGS would leak it into every dependency.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmemkind.so.0");
    println!("cargo:rerun-if-changed=build.rs");
}
