//! Placeholder: this library's crate.
