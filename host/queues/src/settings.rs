//! Address settings: the rules of the configuration, matched by wildcard on an address name
//! and merged field by field into the settings that address lives by.

use serde::{Deserialize, Deserializer, Serialize};

use crate::policy::{DEFAULT_ROUTER, FilterRef};
use crate::types::RoutingType;
use crate::wildcard::Pattern;

/// Artemis's `max-delivery-attempts` default.
pub const MAX_DELIVERY_ATTEMPTS_DEFAULT: i32 = 10;
/// Artemis's `max-redelivery-delay` default is this many times `redelivery-delay`.
const MAX_REDELIVERY_DELAY_FACTOR: u64 = 10;

/// One `[[address-settings]]` rule: each setting it names applies to the addresses its
/// pattern matches, unless a more specific matching rule names it too.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
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
    /// The router plugin placing sends to the address (default [`DEFAULT_ROUTER`]).
    pub router: Option<String>,
    /// The router's configuration for the address, in the plugin's own syntax (default "").
    pub router_config: Option<String>,
    /// Applied to every send before routing: drops or rewrites messages before they are
    /// stored. A string is a selector; a table `{ plugin, config }` names a filter plugin.
    pub publish_filter: Option<FilterRef>,
    /// Applied to every queue of the address as messages are taken for delivery (before the
    /// queue's own filter): a dropped message is acknowledged and counted filtered.
    pub delivery_filter: Option<FilterRef>,
    /// Queues created on the address are last-value queues keyed by this header (Artemis's
    /// `default-last-value-key`).
    pub last_value_key: Option<String>,
    /// Queues created on the address are ring queues of this size, at least 1 (Artemis's
    /// `default-ring-size`).
    #[serde(default, deserialize_with = "ring_size")]
    pub ring_size: Option<u64>,
}

/// A ring size as the configuration gives it: 0 is refused where it is written, since a ring
/// of no message would drop everything sent.
pub(crate) fn ring_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom(
            "ring-size must be at least 1 (a ring of no message would drop everything)",
        )),
        size => Ok(size),
    }
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
    /// See [`AddressSettingsRule::router`].
    pub router: String,
    /// See [`AddressSettingsRule::router_config`].
    pub router_config: String,
    /// See [`AddressSettingsRule::publish_filter`].
    pub publish_filter: Option<FilterRef>,
    /// See [`AddressSettingsRule::delivery_filter`].
    pub delivery_filter: Option<FilterRef>,
    /// See [`AddressSettingsRule::last_value_key`].
    pub last_value_key: Option<String>,
    /// See [`AddressSettingsRule::ring_size`].
    pub ring_size: Option<u64>,
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
            router: merged.router.unwrap_or_else(|| DEFAULT_ROUTER.to_owned()),
            router_config: merged.router_config.unwrap_or_default(),
            publish_filter: merged.publish_filter,
            delivery_filter: merged.delivery_filter,
            last_value_key: merged.last_value_key,
            ring_size: merged.ring_size,
        }
    }

    /// Refuses what no address may live by: a ring size of 0 (a rule built in code rather
    /// than read from TOML, where it is refused on reading).
    pub fn validate(&self) -> Result<(), String> {
        for (_, rule) in &self.rules {
            if rule.ring_size == Some(0) {
                return Err(format!(
                    "address settings `{}`: ring-size must be at least 1",
                    rule.pattern
                ));
            }
        }
        Ok(())
    }

    /// Every filter the rules attach, to check at open.
    pub fn filters(&self) -> impl Iterator<Item = (&str, &FilterRef)> {
        self.rules.iter().flat_map(|(_, rule)| {
            [&rule.publish_filter, &rule.delivery_filter]
                .into_iter()
                .flatten()
                .map(|f| (rule.pattern.as_str(), f))
        })
    }

    /// What the rules send to `address`: `(pattern, "dead letters" | "expired messages")`
    /// of the first rule naming it its dead-letter or expiry address.
    pub fn destination(&self, address: &str) -> Option<(&str, &'static str)> {
        self.rules.iter().find_map(|(_, rule)| {
            let what = if rule.dead_letter_address.as_deref() == Some(address) {
                "dead letters"
            } else if rule.expiry_address.as_deref() == Some(address) {
                "expired messages"
            } else {
                return None;
            };
            Some((rule.pattern.as_str(), what))
        })
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
    set(&mut merged.router, &rule.router);
    set(&mut merged.router_config, &rule.router_config);
    set(&mut merged.publish_filter, &rule.publish_filter);
    set(&mut merged.delivery_filter, &rule.delivery_filter);
    set(&mut merged.last_value_key, &rule.last_value_key);
    set(&mut merged.ring_size, &rule.ring_size);
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
    fn policy_settings_read_from_toml_and_a_ring_of_zero_is_refused() {
        let rule: AddressSettingsRule = toml::from_str(
            r#"
            match = "orders.#"
            router = "balanced"
            router-config = "x"
            publish-filter = "color = 'red'"
            delivery-filter = { plugin = "match", config = "a=b" }
            last-value-key = "stock"
            ring-size = 3
            "#,
        )
        .unwrap();
        let s = SettingsRules::new(&[rule]).resolve("orders.eu");
        assert_eq!(
            (s.router.as_str(), s.router_config.as_str()),
            ("balanced", "x")
        );
        assert_eq!(s.publish_filter, Some(FilterRef::selector("color = 'red'")));
        assert_eq!(
            s.delivery_filter,
            Some(FilterRef {
                plugin: "match".into(),
                config: "a=b".into()
            })
        );
        assert_eq!(
            (s.last_value_key.as_deref(), s.ring_size),
            (Some("stock"), Some(3))
        );
        let d = SettingsRules::default().resolve("x");
        assert_eq!(
            (d.router.as_str(), d.router_config.as_str()),
            (DEFAULT_ROUTER, "")
        );
        let zero = toml::from_str::<AddressSettingsRule>("match = \"#\"\nring-size = 0");
        assert!(
            zero.unwrap_err()
                .to_string()
                .contains("ring-size must be at least 1")
        );
        let built = SettingsRules::new(&[AddressSettingsRule {
            pattern: "#".into(),
            ring_size: Some(0),
            ..Default::default()
        }]);
        assert!(built.validate().is_err());
    }

    #[test]
    fn exhaustion_needs_a_positive_maximum() {
        let mut s = SettingsRules::default().resolve("q");
        assert!(!s.exhausted(9) && s.exhausted(10));
        s.max_delivery_attempts = 0;
        assert!(!s.exhausted(u32::MAX));
    }
}
