//! Anycast: point to point. Competing consumers share a queue's messages; an address spreads
//! messages over its anycast queues; `address::queue` names one queue.

use std::collections::BTreeSet;

use sluice_queues::{AddressConfig, Outcome, QueuesConfig, QueuesError, RoutingType};

use crate::kit::{Broker, MANY, NOW, anycast_queue, bodies, message, numbered, queue, refs};

#[test]
fn competing_consumers_get_each_message_exactly_once() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("orders")],
        ..QueuesConfig::default()
    });
    let first = broker.consumer(1, "orders", None);
    let second = broker.consumer(2, "orders", None);
    let sent = numbered("order", 100);
    assert_eq!(broker.send("orders", None, &refs(&sent)).routed, 100);

    let mut seen = Vec::new();
    let mut each = [0, 0];
    loop {
        let a = broker.receive(1, first, 7);
        let b = broker.receive(2, second, 5);
        if a.is_empty() && b.is_empty() {
            break;
        }
        broker.settle(1, first, &a, Outcome::Accepted);
        broker.settle(2, second, &b, Outcome::Accepted);
        each[0] += a.len();
        each[1] += b.len();
        seen.extend(bodies(&a));
        seen.extend(bodies(&b));
    }
    assert_eq!(seen.len(), 100, "no message twice");
    assert!(
        each[0] > 0 && each[1] > 0,
        "both consumers compete: {each:?}"
    );
    let unique: BTreeSet<String> = seen.into_iter().collect();
    assert_eq!(unique, sent.into_iter().collect());
    let stats = broker.stats("orders", "orders");
    assert_eq!((stats.message_count, stats.messages_acknowledged), (0, 100));
}

/// The scenario of the AMQP seed tests: twenty messages, one consumer takes one, a second
/// takes the other nineteen.
#[test]
fn twenty_messages_split_between_two_consumers_are_all_acknowledged() {
    let broker = Broker::new(QueuesConfig::default());
    let sent = numbered("seed", 20);
    assert_eq!(
        broker
            .send("seeds", Some(RoutingType::Anycast), &refs(&sent))
            .routed,
        20
    );
    let first = broker.consumer(1, "seeds", Some(RoutingType::Anycast));
    let one = broker.receive(1, first, 1);
    assert_eq!(bodies(&one), ["seed-0"]);
    broker.settle(1, first, &one, Outcome::Accepted);

    let second = broker.consumer(2, "seeds", Some(RoutingType::Anycast));
    let rest = broker.receive(2, second, MANY);
    assert_eq!(bodies(&rest), sent[1..]);
    broker.settle(2, second, &rest, Outcome::Accepted);

    let stats = broker.stats("seeds", "seeds");
    assert_eq!(stats.routing, RoutingType::Anycast);
    assert_eq!(stats.messages_added, 20);
    assert_eq!(stats.messages_acknowledged, 20);
    assert_eq!(stats.message_count, 0);
    assert_eq!(stats.consumer_count, 2);
    assert_eq!(stats.delivering_count, 0);
    broker.queues.close_consumer(1, first, NOW);
    assert_eq!(broker.stats("seeds", "seeds").consumer_count, 1);
}

#[test]
fn an_address_spreads_messages_round_robin_over_its_anycast_queues() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![AddressConfig {
            name: "jobs".into(),
            routing: vec![RoutingType::Anycast],
            queues: vec![
                queue("a", RoutingType::Anycast),
                queue("b", RoutingType::Anycast),
            ],
        }],
        ..QueuesConfig::default()
    });
    assert_eq!(broker.send("jobs", None, &["1", "2", "3", "4"]).routed, 4);
    assert_eq!(broker.stats("jobs", "a").messages_added, 2);
    assert_eq!(broker.stats("jobs", "b").messages_added, 2);
}

#[test]
fn a_fully_qualified_name_sends_to_and_reads_one_queue() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![AddressConfig {
            name: "jobs".into(),
            routing: vec![RoutingType::Anycast, RoutingType::Multicast],
            queues: vec![
                queue("a", RoutingType::Anycast),
                queue("b", RoutingType::Anycast),
                queue("audit", RoutingType::Multicast),
            ],
        }],
        ..QueuesConfig::default()
    });
    assert_eq!(broker.send("jobs::b", None, &["x", "y", "z"]).routed, 3);
    let on_a = broker.consumer(1, "jobs::a", None);
    let on_b = broker.consumer(1, "jobs::b", None);
    assert!(broker.receive(1, on_a, MANY).is_empty());
    assert_eq!(bodies(&broker.receive(1, on_b, MANY)), ["x", "y", "z"]);
    assert_eq!(broker.stats("jobs", "audit").messages_added, 0);

    let to_subscription = broker
        .queues
        .send(1, "jobs::audit", None, vec![message("no")], NOW);
    assert!(
        matches!(to_subscription, Err(QueuesError::InvalidRouting(_))),
        "{to_subscription:?}"
    );
    // A subscription read by its full name, whatever its routing type.
    let audit = broker.consumer(1, "jobs::audit", None);
    broker.send("jobs", Some(RoutingType::Multicast), &["logged"]);
    assert_eq!(bodies(&broker.receive(1, audit, MANY)), ["logged"]);
}

#[test]
fn an_anycast_message_with_no_queue_to_go_to_is_dropped() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![AddressConfig {
            name: "void".into(),
            routing: vec![RoutingType::Anycast],
            queues: vec![],
        }],
        address_settings: vec![sluice_queues::AddressSettingsRule {
            pattern: "void".into(),
            auto_create_queues: Some(false),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    });
    let sent = broker.send("void", None, &["lost"]);
    assert_eq!(sent.routed, 0);
    assert!(sent.pending.is_empty());
}

#[test]
fn a_settled_receive_acknowledges_on_the_spot() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["a", "b"]);
    let c = broker.consumer(1, "q", None);
    let got = broker
        .queues
        .receive(1, c, MANY, 1 << 20, true, NOW)
        .unwrap();
    assert_eq!(bodies(&got.deliveries), ["a", "b"]);
    let stats = broker.stats("q", "q");
    assert_eq!(
        (
            stats.messages_acknowledged,
            stats.message_count,
            stats.delivering_count
        ),
        (2, 0, 0)
    );
    // Settling them again is ignored.
    broker.settle(1, c, &got.deliveries, Outcome::Rejected);
    assert_eq!(broker.stats("q", "q").messages_killed, 0);
}

#[test]
fn a_receive_stops_before_its_byte_budget_but_takes_at_least_one() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    let big = "x".repeat(100);
    broker.send("q", None, &[&big, &big, &big]);
    let c = broker.consumer(1, "q", None);
    let got = broker.queues.receive(1, c, MANY, 250, false, NOW).unwrap();
    assert_eq!(got.deliveries.len(), 2);
    let got = broker.queues.receive(1, c, MANY, 10, false, NOW).unwrap();
    assert_eq!(got.deliveries.len(), 1, "one even over budget");
    assert!(broker.receive(1, c, MANY).is_empty());
}

#[test]
fn calls_with_another_connections_consumer_are_refused() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    let c = broker.consumer(1, "q", None);
    assert!(matches!(
        broker.queues.receive(2, c, 1, 1, false, NOW),
        Err(QueuesError::UnknownConsumer(id)) if id == c
    ));
    assert!(matches!(
        broker.queues.settle(2, c, &[0], Outcome::Accepted, NOW),
        Err(QueuesError::UnknownConsumer(_))
    ));
    broker.queues.close_consumer(2, c, NOW);
    assert_eq!(
        broker.stats("q", "q").consumer_count,
        1,
        "not closed by a stranger"
    );
    assert!(matches!(
        broker.queues.receive(1, 999, 1, 1, false, NOW),
        Err(QueuesError::UnknownConsumer(999))
    ));
}
