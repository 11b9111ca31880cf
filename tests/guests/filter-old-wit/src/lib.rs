//! Test guest: a filter built against `sluice:plugin@0.4.0`, an older version of the package
//! than the broker's. Loading it must fail with a message naming both versions.
#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
mod bindings {
    wit_bindgen::generate!({ world: "filter", path: "wit" });
}

use bindings::exports::sluice::plugin::filtering::{Guest, Message, PluginInfo, Verdict};

struct OldFilter;

impl Guest for OldFilter {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-filter-old-wit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
    fn check(_config: String) -> Result<(), String> {
        Ok(())
    }
    fn apply(_config: String, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        Ok(messages.iter().map(|_| Verdict::Keep).collect())
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(OldFilter with_types_in bindings);
