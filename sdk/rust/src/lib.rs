//! The Rust SDK for Sluice plugins.
//!
//! Plugin authors depend on this crate instead of on `wit-bindgen`: it generates the bindings
//! for the `sluice:plugin` WIT package once, and turns each world into a plain Rust trait plus an
//! export macro. A codec is written against the [`codec::Broker`] trait rather than against the
//! raw imports, so the same code also compiles natively (the host's benchmarks run a codec both
//! ways and compare).
//!
//! ```ignore
//! struct Echo;
//! impl sluice_sdk::codec::Codec for Echo { /* ... */ }
//! #[cfg(target_arch = "wasm32")]
//! sluice_sdk::export_codec!(Echo);
//! ```
#![warn(missing_docs)]

/// Raw bindings generated from `wit/`. Prefer the re-exports in [`codec`]; these are public for
/// the export macros and for authors who need something the traits do not cover.
#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "codec",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_codec_world",
        default_bindings_module: "sluice_sdk::bindings",
    });
}

pub mod codec;
