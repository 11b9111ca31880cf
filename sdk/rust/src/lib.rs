//! The Rust SDK for Sluice plugins.
//!
//! Plugin authors depend on this crate instead of on `wit-bindgen`: it generates the bindings
//! for the `sluice:plugin` WIT package once, and turns each world (codec, router, filter) into
//! a plain Rust trait plus an export macro (`export_codec!`, `export_router!`,
//! `export_filter!`). A codec is written against the [`codec::Broker`] trait rather than against the
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

/// Raw bindings of the `router` world; the shared interfaces (`types`, `log`, `clock`) are
/// the ones in [`bindings`].
#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
pub mod router_bindings {
    wit_bindgen::generate!({
        world: "router",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_router_world",
        default_bindings_module: "sluice_sdk::router_bindings",
        with: {
            "sluice:plugin/types@0.5.0": crate::bindings::sluice::plugin::types,
            "sluice:plugin/log@0.5.0": crate::bindings::sluice::plugin::log,
            "sluice:plugin/clock@0.5.0": crate::bindings::sluice::plugin::clock,
        },
    });
}

/// Raw bindings of the `filter` world; the shared interfaces are the ones in [`bindings`].
#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
pub mod filter_bindings {
    wit_bindgen::generate!({
        world: "filter",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_filter_world",
        default_bindings_module: "sluice_sdk::filter_bindings",
        with: {
            "sluice:plugin/types@0.5.0": crate::bindings::sluice::plugin::types,
            "sluice:plugin/log@0.5.0": crate::bindings::sluice::plugin::log,
            "sluice:plugin/clock@0.5.0": crate::bindings::sluice::plugin::clock,
        },
    });
}

pub mod codec;
pub mod filter;
pub mod router;

/// Logs a line to the broker's log (the `log` import), from any plugin kind. Outside a Wasm
/// component (a native test of a plugin's logic) it does nothing.
pub fn log(level: codec::Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::sluice::plugin::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// The version a plugin reports in its `plugin-info`: its package version, followed by the
/// build tag as semver build metadata (`0.4.0+swap-a`) when there is a non-empty one.
///
/// Pass the plugin's own `env!("CARGO_PKG_VERSION")` and `option_env!("SLUICE_BUILD_TAG")`:
/// both macros read the crate they are written in, so they must be written in the plugin, not
/// here. The tag tells apart two builds of one version (the host's hot-swap tests load two).
///
/// ```
/// use sluice_sdk::plugin_version;
/// assert_eq!(plugin_version("0.4.0", Some("swap-a")), "0.4.0+swap-a");
/// assert_eq!(plugin_version("0.4.0", Some("")), "0.4.0");
/// assert_eq!(plugin_version("0.4.0", None), "0.4.0");
/// ```
pub fn plugin_version(pkg_version: &str, build_tag: Option<&str>) -> String {
    match build_tag {
        Some(tag) if !tag.is_empty() => format!("{pkg_version}+{tag}"),
        _ => pkg_version.to_owned(),
    }
}
