//! Dead letters: rejected messages and those failing `max-delivery-attempts` times go to the
//! dead-letter address, marked with where they were; without one they are dropped.

use sluice_queues::{
    AddressSettingsRule, ORIGINAL_ADDRESS_HEADER, ORIGINAL_QUEUE_HEADER, Outcome, QueuesConfig,
};

use crate::kit::{Broker, MANY, anycast_queue, bodies, header};

fn with_dead_letters(max_delivery_attempts: i32) -> QueuesConfig {
    QueuesConfig {
        addresses: vec![anycast_queue("orders"), anycast_queue("DLQ")],
        address_settings: vec![AddressSettingsRule {
            pattern: "orders".into(),
            dead_letter_address: Some("DLQ".into()),
            max_delivery_attempts: Some(max_delivery_attempts),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    }
}

#[test]
fn a_rejected_message_lands_on_the_dead_letter_queue_marked_with_its_origin() {
    let broker = Broker::new(with_dead_letters(10));
    broker.send("orders", None, &["bad", "good"]);
    let c = broker.consumer(1, "orders", None);
    let got = broker.receive(1, c, MANY);
    broker.settle(1, c, &got[..1], Outcome::Rejected);
    broker.settle(1, c, &got[1..], Outcome::Accepted);

    let orders = broker.stats("orders", "orders");
    assert_eq!(
        (
            orders.messages_killed,
            orders.messages_acknowledged,
            orders.message_count
        ),
        (1, 1, 0)
    );
    let dlq = broker.consumer(2, "DLQ", None);
    let dead = broker.receive(2, dlq, MANY);
    assert_eq!(bodies(&dead), ["bad"]);
    let m = &dead[0].message;
    assert_eq!(header(m, ORIGINAL_ADDRESS_HEADER), Some(&b"orders"[..]));
    assert_eq!(header(m, ORIGINAL_QUEUE_HEADER), Some(&b"orders"[..]));
    assert_eq!(
        dead[0].delivery_count, 0,
        "a fresh message on the dead-letter queue"
    );
    assert_eq!(broker.stats("DLQ", "DLQ").messages_added, 1);
}

#[test]
fn failed_deliveries_count_up_and_dead_letter_at_max_delivery_attempts() {
    let broker = Broker::new(with_dead_letters(3));
    broker.send("orders", None, &["poison"]);
    let c = broker.consumer(1, "orders", None);
    let failed = Outcome::Modified {
        delivery_failed: true,
        undeliverable_here: false,
    };
    for attempt in 0..3 {
        let got = broker.receive(1, c, MANY);
        assert_eq!(bodies(&got), ["poison"], "attempt {attempt}");
        assert_eq!(got[0].delivery_count, attempt);
        broker.settle(1, c, &got, failed);
    }
    assert!(broker.receive(1, c, MANY).is_empty());
    assert_eq!(broker.stats("orders", "orders").messages_killed, 1);
    let dlq = broker.consumer(2, "DLQ", None);
    assert_eq!(bodies(&broker.receive(2, dlq, MANY)), ["poison"]);
}

#[test]
fn without_a_dead_letter_address_a_rejected_message_is_dropped_and_counted_killed() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("plain")],
        ..QueuesConfig::default()
    });
    broker.send("plain", None, &["x"]);
    let c = broker.consumer(1, "plain", None);
    let got = broker.receive(1, c, MANY);
    broker.settle(1, c, &got, Outcome::Rejected);
    let stats = broker.stats("plain", "plain");
    assert_eq!((stats.messages_killed, stats.message_count), (1, 0));
    assert!(broker.receive(1, c, MANY).is_empty());
}

#[test]
fn a_dead_letter_queue_never_dead_letters_into_itself() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("DLQ")],
        address_settings: vec![AddressSettingsRule {
            pattern: "#".into(),
            dead_letter_address: Some("DLQ".into()),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    });
    broker.send("DLQ", None, &["x"]);
    let c = broker.consumer(1, "DLQ", None);
    let got = broker.receive(1, c, MANY);
    broker.settle(1, c, &got, Outcome::Rejected);
    let stats = broker.stats("DLQ", "DLQ");
    assert_eq!(
        (
            stats.messages_killed,
            stats.message_count,
            stats.messages_added
        ),
        (1, 0, 1)
    );
}
