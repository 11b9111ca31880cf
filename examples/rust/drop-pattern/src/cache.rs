//! The compiled patterns, kept per configuration text: compiling is far dearer than matching,
//! and the host passes the same text with every batch (see `wit/filter.wit`).
//!
//! Bounded twice: at most [`CONFIGS_MAX`] patterns are kept (the least recently used goes
//! first), and each is compiled under [`SIZE_BYTES_MAX`] (its program) and
//! [`DFA_BYTES_MAX`] (the lazy DFA's cache), so the cache stays well inside a filter
//! instance's memory (`plugins.policy-memory-bytes-max`, 64 MiB by default).

use std::collections::VecDeque;

use regex::{Regex, RegexBuilder};

/// Patterns kept at once. An address setting attaches one configuration; sixteen covers the
/// addresses and queues one broker attaches this plugin to in practice, and a seventeenth is
/// just compiled again when it comes back.
pub const CONFIGS_MAX: usize = 16;

/// The largest compiled program of one pattern, 1 MiB: far more than any pattern typed by a
/// person needs (`\w{1000}` is about 700 KiB with Unicode classes), small enough that the
/// whole cache fits a fraction of the instance's memory.
pub const SIZE_BYTES_MAX: usize = 1 << 20;

/// The lazy DFA's cache of one pattern, 1 MiB: past it the matcher clears the cache and goes
/// on (slower, still linear), rather than growing.
pub const DFA_BYTES_MAX: usize = 1 << 20;

/// Compiles a configuration; `Err` says what is wrong, in words for the operator.
pub fn compile(config: &str) -> Result<Regex, String> {
    if config.is_empty() {
        return Err("a pattern is required".to_owned());
    }
    RegexBuilder::new(config)
        .size_limit(SIZE_BYTES_MAX)
        .dfa_size_limit(DFA_BYTES_MAX)
        .build()
        .map_err(|e| e.to_string())
}

/// Compiled patterns by configuration text, most recently used first.
#[derive(Default)]
pub struct PatternCache {
    entries: VecDeque<(String, Regex)>,
}

impl PatternCache {
    /// The pattern of `config`, compiled now if it is not kept. A [`Regex`] is a handle:
    /// cloning it shares the compiled program.
    pub fn get(&mut self, config: &str) -> Result<Regex, String> {
        if let Some(at) = self.entries.iter().position(|(text, _)| text == config)
            && let Some(entry) = self.entries.remove(at)
        {
            let pattern = entry.1.clone();
            self.entries.push_front(entry);
            return Ok(pattern);
        }
        let pattern = compile(config)?;
        self.entries.truncate(CONFIGS_MAX - 1);
        self.entries
            .push_front((config.to_owned(), pattern.clone()));
        Ok(pattern)
    }

    /// Patterns kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the pattern of `config` is kept.
    pub fn contains(&self, config: &str) -> bool {
        self.entries.iter().any(|(text, _)| text == config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_is_compiled_once_and_then_served_from_the_cache() {
        let mut cache = PatternCache::default();
        let first = cache.get("a+").unwrap();
        let again = cache.get("a+").unwrap();
        assert_eq!(cache.len(), 1);
        // Same compiled program: the cache handed out the kept one.
        assert_eq!(first.as_str(), again.as_str());
        assert!(again.is_match("baa"));
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used_configurations_only() {
        let mut cache = PatternCache::default();
        for i in 0..CONFIGS_MAX {
            cache.get(&format!("p{i}")).unwrap();
        }
        // Touch the oldest, so the second oldest is the one to go.
        cache.get("p0").unwrap();
        cache.get("newcomer").unwrap();
        assert_eq!(cache.len(), CONFIGS_MAX);
        assert!(cache.contains("p0"));
        assert!(!cache.contains("p1"));
        assert!(cache.contains("newcomer"));
    }

    #[test]
    fn a_broken_configuration_is_not_kept() {
        let mut cache = PatternCache::default();
        assert!(cache.get("(").is_err());
        assert!(cache.get("").is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn a_pattern_that_compiles_too_large_is_refused() {
        let err = compile(r"\w{5000}").unwrap_err();
        assert!(err.contains("size limit"), "{err}");
    }
}
