//! Hostile test guest: a filter whose `apply` never returns.
//!
//! The host must interrupt it at the call deadline (epoch interruption), discard the instance,
//! count a deadline miss and back off before running the plugin again.
use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

/// The filter.
pub struct Loop;

impl Filter for Loop {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-filter-loop".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
    fn check(_config: &str) -> Result<(), String> {
        Ok(())
    }
    fn apply(_config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        let mut spins: u64 = 0;
        loop {
            // black_box keeps the optimiser from proving the loop pointless.
            spins = std::hint::black_box(spins.wrapping_add(messages.len() as u64));
        }
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(Loop);
