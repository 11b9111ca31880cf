//! `redact-json`: an example filter that blanks out named fields of JSON bodies, wherever
//! they are nested, before anyone stores or reads them.
//!
//! - Configuration: field names separated by commas (`password, card.number, ssn`; spaces
//!   around a name are ignored). At least one name is required ("name at least one field").
//!   A name is a member key as written, dots and all: nothing is a path.
//! - A message whose body parses as JSON has the value of every object member whose key is
//!   one of the names replaced by the string `"[REDACTED]"`, at any depth: inside nested
//!   objects and inside arrays. If any member was replaced the message is rewritten with
//!   the new body, written compactly (no whitespace), members in their original order; its
//!   key, headers and timestamp are unchanged. Otherwise it is kept as it came.
//! - A body that is not JSON, and a message without a body (a Kafka tombstone), are kept.
//!
//! serde_json writes numbers back in its own form (`1.50` becomes `1.5`, an integer beyond
//! 64 bits becomes a float), and rejects JSON nested more than 128 deep (such a body is kept).
//! The Python and JavaScript examples implement the same filter.
//!
//! ```toml
//! [[plugins.load]]
//! name = "redact-json"
//! kind = "filter"
//! source = "target/examples/rust/redact-json.wasm"
//!
//! [[address-settings]]
//! match = "signups"
//! publish-filter = { plugin = "redact-json", config = "password, ssn" }
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod json;
mod redact;

use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

pub use crate::json::Json;
pub use crate::redact::{REDACTED, fields, redact};

/// The redact-json filter.
pub struct RedactJson;

impl Filter for RedactJson {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "redact-json".to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }

    fn check(config: &str) -> Result<(), String> {
        fields(config).map(drop)
    }

    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        // Splitting a short list is cheaper than caching it would be.
        let names = fields(config)?;
        messages
            .into_iter()
            .map(|message| verdict(message, &names))
            .collect()
    }
}

/// What becomes of one message.
fn verdict(message: Message, names: &[String]) -> Result<Verdict, String> {
    let Some(body) = &message.value else {
        return Ok(Verdict::Keep);
    };
    let Ok(mut tree) = serde_json::from_slice::<Json>(body) else {
        return Ok(Verdict::Keep);
    };
    if redact(&mut tree, names) == 0 {
        return Ok(Verdict::Keep);
    }
    // Writing a tree just parsed cannot fail; if it ever did, the batch is held rather than
    // passed on with the fields in clear.
    let body = serde_json::to_vec(&tree).map_err(|e| format!("writing a redacted body: {e}"))?;
    Ok(Verdict::Rewrite(Message {
        value: Some(body),
        ..message
    }))
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(RedactJson);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::filter::Header;

    fn message(value: Option<&str>) -> Message {
        Message {
            key: Some(b"k".to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            headers: vec![Header {
                key: "h".to_owned(),
                value: Some(b"v".to_vec()),
            }],
            timestamp_ms: 1_700_000_000_000,
            durable: true,
            expiry_ms: Some(1_800_000_000_000),
        }
    }

    fn one(config: &str, body: Option<&str>) -> Verdict {
        RedactJson::apply(config, vec![message(body)])
            .unwrap()
            .pop()
            .unwrap()
    }

    #[test]
    fn nested_fields_are_redacted_and_everything_else_is_kept_in_order() {
        let body = r#"{"user":"ann","password":"p1","profile":{"ssn":"123","age":41},"list":[{"password":"p2","ok":true}]}"#;
        let Verdict::Rewrite(out) = one("password, ssn", Some(body)) else {
            panic!("expected a rewrite");
        };
        assert_eq!(
            String::from_utf8(out.value.clone().unwrap()).unwrap(),
            r#"{"user":"ann","password":"[REDACTED]","profile":{"ssn":"[REDACTED]","age":41},"list":[{"password":"[REDACTED]","ok":true}]}"#
        );
        let original = message(Some(body));
        assert_eq!(out.key, original.key);
        assert_eq!(
            format!("{:?}", out.headers),
            format!("{:?}", original.headers)
        );
        assert_eq!(out.timestamp_ms, original.timestamp_ms);
        assert_eq!(out.expiry_ms, original.expiry_ms);
    }

    #[test]
    fn json_without_the_fields_is_kept_untouched() {
        // Kept, not rewritten: the spacing of the original stays.
        assert!(matches!(
            one("password", Some(r#"{ "user": "ann" }"#)),
            Verdict::Keep
        ));
    }

    #[test]
    fn non_json_bodies_and_tombstones_are_kept() {
        assert!(matches!(one("password", Some("password=x")), Verdict::Keep));
        assert!(matches!(one("password", None), Verdict::Keep));
    }

    #[test]
    fn a_configuration_without_names_is_refused() {
        assert_eq!(
            RedactJson::check(" , ,").unwrap_err(),
            "name at least one field"
        );
        assert_eq!(
            RedactJson::check("").unwrap_err(),
            "name at least one field"
        );
        assert!(RedactJson::check("a, b").is_ok());
    }
}
