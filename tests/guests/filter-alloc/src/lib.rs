//! Hostile test guest: a filter whose `apply` allocates without bound.
//!
//! The host's memory cap must stop it (a failed `memory.grow` becomes a trap), discard the
//! instance and count a memory exhaustion.
use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

/// The filter.
pub struct Alloc;

impl Filter for Alloc {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-filter-alloc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
    fn check(_config: &str) -> Result<(), String> {
        Ok(())
    }
    fn apply(_config: &str, _messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the memory is really committed, not just reserved.
            hoard.push(vec![0xA5; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(Alloc);
