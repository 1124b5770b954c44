//! Compiles the one C definition of the library (the thread-local pool cache the inline
//! `pmemobj_direct` reads) into the crate, so the static library carries it.
fn main() {
    println!("cargo:rerun-if-changed=c/tls.c");
    cc::Build::new().file("c/tls.c").compile("pmemobj_tls");
}
