//! Address settings: the rules of the configuration, matched by wildcard on an address name
//! and merged field by field into the settings that address lives by.

use serde::Deserialize;

use crate::types::RoutingType;
use crate::wildcard::Pattern;

/// Artemis's `max-delivery-attempts` default.
pub const MAX_DELIVERY_ATTEMPTS_DEFAULT: i32 = 10;
/// Artemis's `max-redelivery-delay` default is this many times `redelivery-delay`.
const MAX_REDELIVERY_DELAY_FACTOR: u64 = 10;

/// One `[[address-settings]]` rule: each setting it names applies to the addresses its
/// pattern matches, unless a more specific matching rule names it too.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressSettingsRule {
    /// The wildcard pattern (`#` any words, `*` one word, words separated by `.`).
    #[serde(rename = "match")]
    pub pattern: String,
    /// Where messages go that are rejected or fail `max-delivery-attempts` times.
    pub dead_letter_address: Option<String>,
    /// Failed deliveries before a message is dead-lettered; 0 or less: never.
    pub max_delivery_attempts: Option<i32>,
    /// Wait before redelivering a failed delivery.
    pub redelivery_delay_ms: Option<u64>,
    /// Each further failure multiplies the delay by this.
    pub redelivery_multiplier: Option<f64>,
    /// The delay never exceeds this (default: ten times `redelivery-delay-ms`).
    pub max_redelivery_delay_ms: Option<u64>,
    /// Where expired messages go.
    pub expiry_address: Option<String>,
    /// Expiry given to messages sent without one.
    pub expiry_delay_ms: Option<i64>,
    /// Routing type of addresses created without one asked for.
    pub default_routing_type: Option<RoutingType>,
    /// Whether an unknown address is created on first use (and a missing routing type added).
    pub auto_create_addresses: Option<bool>,
    /// Whether a missing queue is created on first use.
    pub auto_create_queues: Option<bool>,
}

/// The settings one address lives by, every field resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressSettings {
    /// See [`AddressSettingsRule::dead_letter_address`].
    pub dead_letter_address: Option<String>,
    /// See [`AddressSettingsRule::max_delivery_attempts`].
    pub max_delivery_attempts: i32,
    /// See [`AddressSettingsRule::redelivery_delay_ms`].
    pub redelivery_delay_ms: u64,
    /// See [`AddressSettingsRule::redelivery_multiplier`].
    pub redelivery_multiplier: f64,
    /// See [`AddressSettingsRule::max_redelivery_delay_ms`].
    pub max_redelivery_delay_ms: u64,
    /// See [`AddressSettingsRule::expiry_address`].
    pub expiry_address: Option<String>,
    /// See [`AddressSettingsRule::expiry_delay_ms`].
    pub expiry_delay_ms: Option<i64>,
    /// See [`AddressSettingsRule::default_routing_type`].
    pub default_routing_type: RoutingType,
    /// See [`AddressSettingsRule::auto_create_addresses`].
    pub auto_create_addresses: bool,
    /// See [`AddressSettingsRule::auto_create_queues`].
    pub auto_create_queues: bool,
}

impl AddressSettings {
    /// Whether a message failed `count` times is dead-lettered now.
    pub fn exhausted(&self, count: u32) -> bool {
        self.max_delivery_attempts > 0 && i64::from(count) >= i64::from(self.max_delivery_attempts)
    }

    /// The wait before redelivering a message that failed `count` times:
    /// `delay * multiplier^(count - 1)`, at most the maximum delay.
    pub fn redelivery_delay(&self, count: u32) -> u64 {
        if self.redelivery_delay_ms == 0 {
            return 0;
        }
        let exponent = i32::try_from(count.saturating_sub(1)).unwrap_or(i32::MAX);
        let scaled = self.redelivery_delay_ms as f64 * self.redelivery_multiplier.powi(exponent);
        let max = self.max_redelivery_delay_ms;
        if scaled.is_nan() || scaled < 0.0 {
            return self.redelivery_delay_ms.min(max);
        }
        // A float above u64::MAX saturates in the cast.
        (scaled as u64).min(max)
    }

    /// The expiry of a message sent at `now_ms` with `expiry_ms`.
    pub fn expiry_for(&self, expiry_ms: Option<i64>, now_ms: i64) -> Option<i64> {
        expiry_ms.or_else(|| {
            self.expiry_delay_ms
                .filter(|&d| d > 0)
                .map(|d| now_ms.saturating_add(d))
        })
    }
}

/// The configured rules, ordered least to most specific for merging.
#[derive(Debug, Clone, Default)]
pub struct SettingsRules {
    rules: Vec<(Pattern, AddressSettingsRule)>,
}

impl SettingsRules {
    /// Orders `rules`; among equally specific ones the later in the configuration wins.
    pub fn new(rules: &[AddressSettingsRule]) -> SettingsRules {
        let mut rules: Vec<(Pattern, AddressSettingsRule)> = rules
            .iter()
            .map(|r| (Pattern::new(&r.pattern), r.clone()))
            .collect();
        // Stable: configuration order breaks ties.
        rules.sort_by(|a, b| a.0.specificity(&b.0));
        SettingsRules { rules }
    }

    /// The settings of `address`: Artemis's defaults, overlaid by every matching rule from
    /// the least to the most specific.
    pub fn resolve(&self, address: &str) -> AddressSettings {
        let mut merged = AddressSettingsRule::default();
        for (pattern, rule) in &self.rules {
            if pattern.matches(address) {
                overlay(&mut merged, rule);
            }
        }
        let redelivery_delay_ms = merged.redelivery_delay_ms.unwrap_or(0);
        AddressSettings {
            dead_letter_address: merged.dead_letter_address,
            max_delivery_attempts: merged
                .max_delivery_attempts
                .unwrap_or(MAX_DELIVERY_ATTEMPTS_DEFAULT),
            redelivery_delay_ms,
            redelivery_multiplier: merged.redelivery_multiplier.unwrap_or(1.0),
            max_redelivery_delay_ms: merged
                .max_redelivery_delay_ms
                .unwrap_or(redelivery_delay_ms.saturating_mul(MAX_REDELIVERY_DELAY_FACTOR)),
            expiry_address: merged.expiry_address,
            expiry_delay_ms: merged.expiry_delay_ms.filter(|&d| d > 0),
            default_routing_type: merged
                .default_routing_type
                .unwrap_or(RoutingType::Multicast),
            auto_create_addresses: merged.auto_create_addresses.unwrap_or(true),
            auto_create_queues: merged.auto_create_queues.unwrap_or(true),
        }
    }
}

/// Every setting `rule` names replaces the one in `merged`.
fn overlay(merged: &mut AddressSettingsRule, rule: &AddressSettingsRule) {
    fn set<T: Clone>(to: &mut Option<T>, from: &Option<T>) {
        if from.is_some() {
            to.clone_from(from);
        }
    }
    set(&mut merged.dead_letter_address, &rule.dead_letter_address);
    set(
        &mut merged.max_delivery_attempts,
        &rule.max_delivery_attempts,
    );
    set(&mut merged.redelivery_delay_ms, &rule.redelivery_delay_ms);
    set(
        &mut merged.redelivery_multiplier,
        &rule.redelivery_multiplier,
    );
    set(
        &mut merged.max_redelivery_delay_ms,
        &rule.max_redelivery_delay_ms,
    );
    set(&mut merged.expiry_address, &rule.expiry_address);
    set(&mut merged.expiry_delay_ms, &rule.expiry_delay_ms);
    set(&mut merged.default_routing_type, &rule.default_routing_type);
    set(
        &mut merged.auto_create_addresses,
        &rule.auto_create_addresses,
    );
    set(&mut merged.auto_create_queues, &rule.auto_create_queues);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_artemis_defaults() {
        let s = SettingsRules::default().resolve("any");
        assert_eq!(s.max_delivery_attempts, 10);
        assert_eq!(s.default_routing_type, RoutingType::Multicast);
        assert!(s.auto_create_addresses && s.auto_create_queues);
        assert_eq!((s.redelivery_delay_ms, s.max_redelivery_delay_ms), (0, 0));
        assert!(s.dead_letter_address.is_none() && s.expiry_address.is_none());
    }

    #[test]
    fn delay_grows_by_the_multiplier_up_to_the_maximum() {
        let s = SettingsRules::new(&[AddressSettingsRule {
            pattern: "#".into(),
            redelivery_delay_ms: Some(100),
            redelivery_multiplier: Some(2.0),
            ..Default::default()
        }])
        .resolve("q");
        assert_eq!(s.max_redelivery_delay_ms, 1000);
        let delays: Vec<u64> = (1..=6).map(|n| s.redelivery_delay(n)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(s.redelivery_delay(u32::MAX), 1000);
    }

    #[test]
    fn exhaustion_needs_a_positive_maximum() {
        let mut s = SettingsRules::default().resolve("q");
        assert!(!s.exhausted(9) && s.exhausted(10));
        s.max_delivery_attempts = 0;
        assert!(!s.exhausted(u32::MAX));
    }
}
