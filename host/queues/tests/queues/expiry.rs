//! Expiry: a message past its expiry goes to the expiry address instead of a consumer, marked
//! with where it was and without its expiry; `tick` moves those nobody consumes.

use sluice_queues::{
    AddressSettingsRule, Message, ORIGINAL_ADDRESS_HEADER, ORIGINAL_QUEUE_HEADER, QueuesConfig,
};

use crate::kit::{Broker, MANY, NOW, anycast_queue, bodies, header, message};

fn with_expiry_queue() -> QueuesConfig {
    QueuesConfig {
        addresses: vec![anycast_queue("orders"), anycast_queue("EXP")],
        address_settings: vec![AddressSettingsRule {
            pattern: "orders".into(),
            expiry_address: Some("EXP".into()),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    }
}

fn expiring(body: &str, expiry_ms: i64) -> Message {
    Message {
        expiry_ms: Some(expiry_ms),
        ..message(body)
    }
}

#[test]
fn a_message_found_expired_at_delivery_goes_to_the_expiry_queue() {
    let broker = Broker::new(with_expiry_queue());
    broker.send_messages(
        "orders",
        None,
        vec![expiring("stale", NOW + 10), message("fresh")],
    );
    let c = broker.consumer(1, "orders", None);
    let got = broker.receive_at(1, c, MANY, NOW + 10);
    assert_eq!(bodies(&got), ["fresh"]);
    let stats = broker.stats("orders", "orders");
    assert_eq!((stats.messages_expired, stats.message_count), (1, 1));

    let exp = broker.consumer(2, "EXP", None);
    let expired = broker.receive(2, exp, MANY);
    assert_eq!(bodies(&expired), ["stale"]);
    let m = &expired[0].message;
    assert_eq!(m.expiry_ms, None, "it does not expire again");
    assert_eq!(header(m, ORIGINAL_ADDRESS_HEADER), Some(&b"orders"[..]));
    assert_eq!(header(m, ORIGINAL_QUEUE_HEADER), Some(&b"orders"[..]));
}

#[test]
fn tick_moves_expired_messages_nobody_consumes() {
    let broker = Broker::new(with_expiry_queue());
    broker.send_messages("orders", None, vec![expiring("short-lived", NOW + 100)]);
    broker.queues.tick(NOW + 99);
    assert_eq!(broker.stats("orders", "orders").message_count, 1);
    broker.queues.tick(NOW + 100);
    let stats = broker.stats("orders", "orders");
    assert_eq!((stats.messages_expired, stats.message_count), (1, 0));
    assert_eq!(broker.stats("EXP", "EXP").message_count, 1);
    let exp = broker.consumer(2, "EXP", None);
    let got = broker.receive(2, exp, MANY);
    assert_eq!(bodies(&got), ["short-lived"]);
    assert_eq!(
        header(&got[0].message, ORIGINAL_ADDRESS_HEADER),
        Some(&b"orders"[..])
    );
}

#[test]
fn tick_leaves_a_message_a_consumer_holds() {
    let broker = Broker::new(with_expiry_queue());
    broker.send_messages("orders", None, vec![expiring("held", NOW + 100)]);
    let c = broker.consumer(1, "orders", None);
    assert_eq!(bodies(&broker.receive(1, c, MANY)), ["held"]);
    broker.queues.tick(NOW + 1000);
    assert_eq!(broker.stats("orders", "orders").delivering_count, 1);
    assert_eq!(broker.stats("EXP", "EXP").message_count, 0);
}

#[test]
fn the_settings_give_an_expiry_to_messages_sent_without_one() {
    let mut config = with_expiry_queue();
    config.address_settings[0].expiry_delay_ms = Some(50);
    let broker = Broker::new(config);
    broker.send("orders", None, &["default expiry"]);
    let c = broker.consumer(1, "orders", None);
    let got = broker.receive(1, c, MANY);
    assert_eq!(got[0].message.expiry_ms, Some(NOW + 50));
    broker.settle(1, c, &got, sluice_queues::Outcome::Released);
    assert!(broker.receive_at(1, c, MANY, NOW + 50).is_empty());
    assert_eq!(broker.stats("EXP", "EXP").message_count, 1);
}

#[test]
fn without_an_expiry_address_an_expired_message_is_dropped_and_counted() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("plain")],
        ..QueuesConfig::default()
    });
    broker.send_messages("plain", None, vec![expiring("gone", NOW + 1)]);
    broker.queues.tick(NOW + 1);
    let stats = broker.stats("plain", "plain");
    assert_eq!((stats.messages_expired, stats.message_count), (1, 0));
}
