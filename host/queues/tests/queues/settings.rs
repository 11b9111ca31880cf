//! Address settings by wildcard: rules merge field by field, the most specific matching rule
//! winning (a literal word beats `*`, which beats `#`).

use sluice_queues::{AddressConfig, AddressSettingsRule, Outcome, QueuesConfig, RoutingType};

use crate::kit::{Broker, MANY, anycast_queue, queue, rule};

/// Where a message failing on `address` ends up, as (dead-letter queue, failed attempts).
fn dead_letter_of(broker: &Broker, address: &str) -> (String, u32) {
    let failed = Outcome::Modified {
        delivery_failed: true,
        undeliverable_here: false,
    };
    broker.send(address, None, &["m"]);
    let c = broker.consumer(1, address, None);
    let mut attempts = 0;
    loop {
        let got = broker.receive(1, c, MANY);
        if got.is_empty() {
            break;
        }
        attempts += 1;
        broker.settle(1, c, &got, failed);
    }
    let dlq = ["DLA.hash", "DLA.star", "DLA.literal"]
        .into_iter()
        .find(|q| broker.stats(q, q).message_count > 0)
        .unwrap_or("none");
    for q in ["DLA.hash", "DLA.star", "DLA.literal"] {
        let c = broker.consumer(9, q, None);
        broker.drain(9, c);
    }
    (dlq.to_owned(), attempts)
}

#[test]
fn the_most_specific_matching_rule_wins_field_by_field() {
    let addresses = [
        "orders.eu",
        "orders.us",
        "other",
        "DLA.hash",
        "DLA.star",
        "DLA.literal",
    ]
    .into_iter()
    .map(|name| AddressConfig {
        name: name.into(),
        routing: vec![RoutingType::Anycast],
        queues: vec![queue(name, RoutingType::Anycast)],
    })
    .collect();
    let broker = Broker::new(QueuesConfig {
        addresses,
        // Order in the configuration does not matter, specificity does.
        address_settings: vec![
            AddressSettingsRule {
                dead_letter_address: Some("DLA.literal".into()),
                ..rule("orders.eu")
            },
            AddressSettingsRule {
                dead_letter_address: Some("DLA.star".into()),
                ..rule("orders.*")
            },
            AddressSettingsRule {
                dead_letter_address: Some("DLA.hash".into()),
                max_delivery_attempts: Some(2),
                ..rule("#")
            },
            AddressSettingsRule {
                max_delivery_attempts: Some(3),
                ..rule("*.eu")
            },
        ],
        ..QueuesConfig::default()
    });
    assert_eq!(
        dead_letter_of(&broker, "orders.eu"),
        ("DLA.literal".into(), 3)
    );
    assert_eq!(dead_letter_of(&broker, "orders.us"), ("DLA.star".into(), 2));
    assert_eq!(dead_letter_of(&broker, "other"), ("DLA.hash".into(), 2));
}

#[test]
fn a_rule_for_a_prefix_applies_to_every_address_under_it() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("DLQ")],
        address_settings: vec![AddressSettingsRule {
            dead_letter_address: Some("DLQ".into()),
            ..rule("app.#")
        }],
        ..QueuesConfig::default()
    });
    for address in ["app", "app.x", "app.x.y"] {
        broker.send(address, Some(RoutingType::Anycast), &["r"]);
        let c = broker.consumer(1, address, None);
        let got = broker.receive(1, c, MANY);
        broker.settle(1, c, &got, Outcome::Rejected);
    }
    broker.send("apple", Some(RoutingType::Anycast), &["r"]);
    let c = broker.consumer(1, "apple", None);
    let got = broker.receive(1, c, MANY);
    broker.settle(1, c, &got, Outcome::Rejected);
    assert_eq!(broker.stats("DLQ", "DLQ").message_count, 3);
}
