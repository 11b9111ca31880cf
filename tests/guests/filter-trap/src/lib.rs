//! Hostile test guest: a filter whose `apply` traps (a Rust panic aborts, which is a Wasm
//! `unreachable` trap).
//!
//! The host must discard the instance, count and log the trap, and back off before running
//! the plugin again.
use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

/// The filter.
pub struct Trap;

impl Filter for Trap {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-filter-trap".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
    fn check(_config: &str) -> Result<(), String> {
        Ok(())
    }
    fn apply(_config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        panic!("hostile guest: trapping on {} messages", messages.len());
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(Trap);
