//! Simple test guest: a filter that keeps every message, except that a message with a header
//! `drop` is dropped and one with a header `rewrite` comes back with `!` appended to that
//! header's value. `check` refuses the configuration `bad`.
//!
//! It also exercises what a plugin's standard library imports from WASI: a `HashMap` (whose
//! hasher is seeded from WASI's random source) and `println!` (WASI's stdout, which the host
//! discards), so the host's WASI linking is tested with a real `wasm32-wasip2` guest.
use std::collections::HashMap;

use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

/// The filter.
pub struct Echo;

impl Filter for Echo {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-filter-echo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
    fn check(config: &str) -> Result<(), String> {
        if config == "bad" {
            return Err("config `bad` is refused".into());
        }
        Ok(())
    }
    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        println!("filter-echo: {} messages under `{config}`", messages.len());
        let mut verdicts = Vec::with_capacity(messages.len());
        for mut message in messages {
            let headers: HashMap<&str, usize> = message
                .headers
                .iter()
                .enumerate()
                .map(|(i, h)| (h.key.as_str(), i))
                .collect();
            if headers.contains_key("drop") {
                verdicts.push(Verdict::Drop);
            } else if let Some(&at) = headers.get("rewrite") {
                let header = &mut message.headers[at];
                header.value.get_or_insert_with(Vec::new).push(b'!');
                verdicts.push(Verdict::Rewrite(message));
            } else {
                verdicts.push(Verdict::Keep);
            }
        }
        Ok(verdicts)
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(Echo);
