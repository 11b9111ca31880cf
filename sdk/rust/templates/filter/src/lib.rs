//! A Sluice filter: drops every message that carries the header named by its configuration,
//! and keeps the rest (with an empty configuration, it keeps everything).
//!
//! Build (from this directory; needs `rustup target add wasm32-wasip2`):
//!
//! ```text
//! cargo build --target wasm32-wasip2 --release
//! ```
//!
//! The component is `target/wasm32-wasip2/release/my_filter.wasm`. Load and attach it in the
//! broker's configuration:
//!
//! ```toml
//! [[plugins.load]]
//! name = "my-filter"
//! kind = "filter"
//! source = "/path/to/my_filter.wasm"
//!
//! [[address-settings]]
//! match = "orders.#"
//! publish-filter = { plugin = "my-filter", config = "debug" }
//! ```
//!
//! The contract is `wit/filter.wit`; `docs/sdk-rust.md` walks through the rest.

use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

/// The filter. Its functions take no `self`: the host may run several instances and swap
/// them, so everything a call needs comes in its arguments.
pub struct MyFilter;

impl Filter for MyFilter {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "my-filter".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Called when the configuration is attached: refuse what `apply` could not work with.
    fn check(config: &str) -> Result<(), String> {
        if config.trim().contains(char::is_whitespace) {
            return Err(format!("`{config}` is not one header name"));
        }
        Ok(())
    }

    /// One verdict per message, in order.
    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        let name = config.trim();
        Ok(messages
            .iter()
            .map(|m| {
                if !name.is_empty() && m.headers.iter().any(|h| h.key == name) {
                    Verdict::Drop
                } else {
                    Verdict::Keep
                }
            })
            .collect())
    }
}

// Only a Wasm build exports the component; a native build (`cargo test`) is a plain library.
#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(MyFilter);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::filter::Header;

    fn message(header: Option<&str>) -> Message {
        Message {
            key: None,
            value: Some(b"body".to_vec()),
            headers: header
                .map(|key| Header {
                    key: key.to_owned(),
                    value: None,
                })
                .into_iter()
                .collect(),
            timestamp_ms: 0,
            durable: false,
            expiry_ms: None,
        }
    }

    #[test]
    fn messages_with_the_header_are_dropped() {
        let verdicts =
            MyFilter::apply("debug", vec![message(Some("debug")), message(None)]).unwrap();
        assert!(matches!(verdicts[..], [Verdict::Drop, Verdict::Keep]));
    }

    #[test]
    fn an_empty_configuration_keeps_everything() {
        let verdicts = MyFilter::apply("", vec![message(Some("debug"))]).unwrap();
        assert!(matches!(verdicts[..], [Verdict::Keep]));
        assert!(MyFilter::check("two names").is_err());
    }
}
