//! `drop-pattern`: an example filter that drops every message whose body matches a regular
//! expression, and keeps the rest.
//!
//! - Configuration (`config` where the filter is attached): the pattern, in the syntax of the
//!   [`regex`] crate (Perl-like, no look-around or back-references). An empty configuration is
//!   refused ("a pattern is required"), and so is a pattern that does not compile (with the
//!   compiler's own message) or that would compile to more than [`SIZE_BYTES_MAX`].
//! - A message is dropped when its body, read as UTF-8 with every invalid sequence replaced
//!   by U+FFFD, contains a match anywhere (anchor with `^...$` to match the whole body). A
//!   message without a body (a Kafka tombstone) is kept.
//!
//! The Python and JavaScript examples implement exactly the same filter.
//!
//! ```toml
//! [[plugins.load]]
//! name = "drop-pattern"
//! kind = "filter"
//! source = "target/examples/rust/drop-pattern.wasm"
//!
//! [[address-settings]]
//! match = "logs.#"
//! publish-filter = { plugin = "drop-pattern", config = "(?i)debug|trace" }
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod cache;

use std::cell::RefCell;

use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

pub use crate::cache::{CONFIGS_MAX, PatternCache, SIZE_BYTES_MAX, compile};

thread_local! {
    /// The patterns compiled so far. One instance runs one call at a time (Wasm has one
    /// thread); `thread_local` only keeps native tests, which run in parallel, apart.
    static PATTERNS: RefCell<PatternCache> = RefCell::new(PatternCache::default());
}

/// The drop-pattern filter.
pub struct DropPattern;

impl Filter for DropPattern {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "drop-pattern".to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }

    fn check(config: &str) -> Result<(), String> {
        // Compiled into the cache: the host checks a configuration right before attaching it,
        // so the first batch finds it ready.
        PATTERNS.with(|p| p.borrow_mut().get(config).map(drop))
    }

    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        let pattern = PATTERNS.with(|p| p.borrow_mut().get(config))?;
        Ok(messages
            .iter()
            .map(|m| match &m.value {
                Some(body) if pattern.is_match(&String::from_utf8_lossy(body)) => Verdict::Drop,
                _ => Verdict::Keep,
            })
            .collect())
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(DropPattern);

#[cfg(test)]
mod tests {
    use super::*;

    fn message(value: Option<&[u8]>) -> Message {
        Message {
            key: None,
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
            timestamp_ms: 0,
            durable: false,
            expiry_ms: None,
        }
    }

    fn dropped(config: &str, bodies: &[Option<&[u8]>]) -> Vec<bool> {
        let messages = bodies.iter().map(|b| message(*b)).collect();
        DropPattern::apply(config, messages)
            .unwrap()
            .iter()
            .map(|v| matches!(v, Verdict::Drop))
            .collect()
    }

    #[test]
    fn a_body_containing_a_match_is_dropped_and_the_others_kept() {
        let got = dropped(
            "secret-[0-9]+",
            &[Some(b"a secret-42 here"), Some(b"secret-x"), Some(b"")],
        );
        assert_eq!(got, [true, false, false]);
    }

    #[test]
    fn tombstones_are_kept_even_by_a_pattern_that_matches_nothing_at_all() {
        // `^$` matches the empty body, but a tombstone has no body to match.
        assert_eq!(dropped("^$", &[None, Some(b"")]), [false, true]);
    }

    #[test]
    fn invalid_utf8_is_read_with_replacement_characters() {
        let body: &[u8] = b"caf\xe9 ok";
        assert_eq!(dropped("caf\u{FFFD} ok", &[Some(body)]), [true]);
        assert_eq!(dropped("^caf. ok$", &[Some(body)]), [true]);
    }

    #[test]
    fn check_refuses_an_empty_pattern_and_a_broken_one_with_the_compilers_words() {
        assert_eq!(DropPattern::check("").unwrap_err(), "a pattern is required");
        let err = DropPattern::check("(unclosed").unwrap_err();
        assert!(err.contains("unclosed group"), "{err}");
        assert!(DropPattern::check("ok|fine").is_ok());
    }

    #[test]
    fn apply_under_a_broken_pattern_holds_the_batch() {
        assert!(DropPattern::apply("[z-a]", vec![message(Some(b"x"))]).is_err());
    }
}
