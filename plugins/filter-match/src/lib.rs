//! `filter-match`: keeps a message when every condition on its properties holds, drops it
//! otherwise. The cheap alternative to a selector for the common "this header has this value".
//!
//! Configuration: conditions separated by commas or newlines, all of which must hold:
//! - `name=value`: the property is present and its value, as text, is `value`;
//! - `name!=value`: the property is absent, or its value is not `value`;
//! - `name`: the property is present (with or without a value).
//!
//! Whitespace around names and values is trimmed; blank conditions are skipped; a value cannot
//! hold a comma or a newline. Example: `region=eu-west, priority!=low, trace-id`.
//!
//! Names are looked up as `sluice-filter-props` does: AMQP application properties, then record
//! (Kafka) headers; `sluice-*` and `amqp.*` names are the host's and refused. Values compare as
//! text: strings as they are, numbers in decimal (`7`, `2.5`), booleans `true` / `false`; a
//! property without a textual value (a header without a value, a binary) equals nothing.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod conditions;

use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

pub use crate::conditions::{Condition, parse};

/// The match filter.
pub struct Match;

impl Filter for Match {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "filter-match".to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }

    fn check(config: &str) -> Result<(), String> {
        parse(config).map(drop)
    }

    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        // Parsing is a split of a short text, cheaper than caching it would be.
        let conditions = parse(config)?;
        Ok(messages
            .iter()
            .map(|m| {
                let props = sluice_filter_props::Props::new(&m.headers);
                if conditions.iter().all(|c| c.holds(&props)) {
                    Verdict::Keep
                } else {
                    Verdict::Drop
                }
            })
            .collect())
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(Match);

#[cfg(test)]
mod tests;
