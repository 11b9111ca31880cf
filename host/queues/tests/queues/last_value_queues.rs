//! Last-value queues: a queue keyed by a header keeps only the latest message per value of
//! it; an older value held by a consumer is settled as usual but never handed out again once
//! a newer one is stored; the rule holds across a reopen and for queues the address settings
//! make last-value queues.

use sluice_queues::{AddressConfig, AddressSettingsRule, Outcome, QueuesConfig, RoutingType};

use crate::kit::{Broker, MANY, anycast_queue, bodies, queue, rule, with_headers};

fn prices() -> QueuesConfig {
    let mut q = queue("prices", RoutingType::Anycast);
    q.last_value_key = Some("symbol".into());
    QueuesConfig {
        addresses: vec![AddressConfig {
            name: "prices".into(),
            routing: vec![RoutingType::Anycast],
            queues: vec![q],
        }],
        ..QueuesConfig::default()
    }
}

fn quote(body: &str, symbol: &str) -> sluice_queues::Message {
    with_headers(body, &[("symbol", symbol)])
}

#[test]
fn only_the_latest_value_per_key_is_kept() {
    let broker = Broker::new(prices());
    broker.send_messages(
        "prices",
        None,
        vec![
            quote("acme-1", "ACME"),
            quote("init-1", "INIT"),
            quote("acme-2", "ACME"),
            with_headers("unkeyed", &[]),
        ],
    );
    broker.send_messages("prices", None, vec![quote("acme-3", "ACME")]);
    let stats = broker.stats("prices", "prices");
    assert_eq!((stats.message_count, stats.messages_replaced), (3, 2));
    assert_eq!(stats.last_value_key.as_deref(), Some("symbol"));
    let c = broker.consumer(1, "prices", None);
    assert_eq!(broker.drain(1, c), ["init-1", "unkeyed", "acme-3"]);
}

#[test]
fn a_held_older_value_is_settled_normally_and_never_handed_out_again() {
    let broker = Broker::new(prices());
    broker.send_messages("prices", None, vec![quote("acme-1", "ACME")]);
    let c = broker.consumer(1, "prices", None);
    let held = broker.receive(1, c, MANY);
    broker.send_messages("prices", None, vec![quote("acme-2", "ACME")]);
    let stats = broker.stats("prices", "prices");
    assert_eq!(
        (stats.message_count, stats.messages_replaced),
        (2, 0),
        "held"
    );
    broker.settle(1, c, &held, Outcome::Released);
    assert_eq!(bodies(&broker.receive(1, c, MANY)), ["acme-2"]);
    assert_eq!(broker.stats("prices", "prices").messages_replaced, 1);

    // Accepted while a newer value arrives: just acknowledged.
    broker.send_messages("prices", None, vec![quote("acme-3", "ACME")]);
    let held = broker.receive(1, c, MANY);
    broker.send_messages("prices", None, vec![quote("acme-4", "ACME")]);
    broker.settle(1, c, &held, Outcome::Accepted);
    assert_eq!(broker.drain(1, c), ["acme-4"]);
}

#[test]
fn the_latest_values_survive_a_reopen() {
    let broker = Broker::new(prices());
    broker.send_messages(
        "prices",
        None,
        vec![
            quote("acme-1", "ACME"),
            quote("acme-2", "ACME"),
            quote("init-1", "INIT"),
        ],
    );
    let broker = broker.reopen_model();
    assert_eq!(broker.stats("prices", "prices").message_count, 2);
    // A value sent before anything is read again still replaces the older one.
    broker.send_messages("prices", None, vec![quote("acme-3", "ACME")]);
    let c = broker.consumer(1, "prices", None);
    assert_eq!(broker.drain(1, c), ["init-1", "acme-3"]);
}

#[test]
fn the_address_settings_make_new_queues_last_value_queues() {
    let broker = Broker::new(QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            last_value_key: Some("symbol".into()),
            ..rule("quotes.#")
        }],
        ..QueuesConfig::default()
    });
    broker.send_messages(
        "quotes.eu",
        Some(RoutingType::Anycast),
        vec![quote("a-1", "A"), quote("a-2", "A")],
    );
    let stats = broker.stats("quotes.eu", "quotes.eu");
    assert_eq!(stats.last_value_key.as_deref(), Some("symbol"));
    assert_eq!(stats.message_count, 1);
    let other = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("plain")],
        ..QueuesConfig::default()
    });
    assert_eq!(other.stats("plain", "plain").last_value_key, None);
}
