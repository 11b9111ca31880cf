//! Queue attributes: exclusive, max-consumers, purge-on-no-consumers, and the per-connection
//! consumer limit.

use sluice_queues::{
    AddressConfig, ConsumerOptions, Outcome, QueueLimits, QueuesConfig, QueuesError, RoutingType,
};

use crate::kit::{Broker, MANY, NOW, bodies, queue};

fn one_queue(
    configure: impl FnOnce(&mut sluice_queues::QueueConfig),
    routing: RoutingType,
) -> QueuesConfig {
    let mut q = queue("q", routing);
    configure(&mut q);
    QueuesConfig {
        addresses: vec![AddressConfig {
            name: "a".into(),
            routing: vec![routing],
            queues: vec![q],
        }],
        ..QueuesConfig::default()
    }
}

#[test]
fn an_exclusive_queue_delivers_only_to_its_oldest_consumer() {
    let broker = Broker::new(one_queue(|q| q.exclusive = true, RoutingType::Anycast));
    let first = broker.consumer(1, "a::q", None);
    let standby = broker.consumer(2, "a::q", None);
    broker.send("a", None, &["1", "2", "3"]);
    assert!(broker.receive(2, standby, MANY).is_empty());
    let held = broker.receive(1, first, 2);
    assert_eq!(bodies(&held), ["1", "2"]);
    assert!(broker.receive(2, standby, MANY).is_empty());
    // The first leaves with two unsettled: the standby takes over, in order.
    broker.queues.close_consumer(1, first, NOW);
    let got = broker.receive(2, standby, MANY);
    assert_eq!(bodies(&got), ["1", "2", "3"]);
    assert_eq!(
        got[0].delivery_count, 1,
        "left unsettled: a failed delivery"
    );
    assert_eq!(got[2].delivery_count, 0);
}

#[test]
fn max_consumers_refuses_one_more_consumer() {
    let broker = Broker::new(one_queue(|q| q.max_consumers = 1, RoutingType::Anycast));
    let first = broker.consumer(1, "a::q", None);
    let second = broker.queues.open_consumer(
        2,
        ConsumerOptions {
            source: "a::q".into(),
            ..ConsumerOptions::default()
        },
    );
    assert!(
        matches!(second, Err(QueuesError::ResourceLimit(_))),
        "{second:?}"
    );
    broker.queues.close_consumer(1, first, NOW);
    broker.consumer(2, "a::q", None);
    assert_eq!(broker.stats("a", "q").consumer_count, 1);
}

#[test]
fn an_anycast_queue_purged_on_no_consumers_drops_its_messages_when_the_last_one_leaves() {
    let broker = Broker::new(one_queue(
        |q| q.purge_on_no_consumers = true,
        RoutingType::Anycast,
    ));
    assert_eq!(
        broker.send("a", None, &["nobody listens"]).routed,
        0,
        "skipped while idle"
    );
    let c = broker.consumer(1, "a::q", None);
    assert_eq!(broker.send("a", None, &["1", "2", "3"]).routed, 3);
    let one = broker.receive(1, c, 1);
    broker.settle(1, c, &one, Outcome::Accepted);
    broker.queues.close_consumer(1, c, NOW);
    let stats = broker.stats("a", "q");
    assert_eq!((stats.message_count, stats.messages_killed), (0, 2));
    let c = broker.consumer(1, "a::q", None);
    assert!(broker.receive(1, c, MANY).is_empty());
}

#[test]
fn a_subscription_purged_on_no_consumers_skips_what_was_published_while_idle() {
    let broker = Broker::new(one_queue(
        |q| q.purge_on_no_consumers = true,
        RoutingType::Multicast,
    ));
    broker.send("a", None, &["missed-1", "missed-2"]);
    let c = broker.consumer(1, "a::q", None);
    broker.send("a", None, &["seen"]);
    assert_eq!(bodies(&broker.receive(1, c, MANY)), ["seen"]);
}

#[test]
fn a_connection_holds_a_bounded_number_of_consumers() {
    let broker = Broker::new(QueuesConfig {
        limits: QueueLimits {
            consumers_per_connection_max: 2,
            ..QueueLimits::default()
        },
        ..QueuesConfig::default()
    });
    broker.consumer(1, "x", Some(RoutingType::Anycast));
    let second = broker.consumer(1, "x", Some(RoutingType::Anycast));
    let third = broker.queues.open_consumer(
        1,
        ConsumerOptions {
            source: "x".into(),
            ..ConsumerOptions::default()
        },
    );
    assert!(matches!(third, Err(QueuesError::ResourceLimit(_))));
    broker.consumer(2, "x", None);
    broker.queues.close_consumer(1, second, NOW);
    broker.consumer(1, "x", None);
}

#[test]
fn the_number_of_queues_is_bounded() {
    let broker = Broker::new(QueuesConfig {
        limits: QueueLimits {
            queues_max: 2,
            ..QueueLimits::default()
        },
        ..QueuesConfig::default()
    });
    broker.send("one", Some(RoutingType::Anycast), &[]);
    broker.send("two", Some(RoutingType::Anycast), &[]);
    let third = broker
        .queues
        .send(1, "three", Some(RoutingType::Anycast), vec![], NOW);
    assert!(
        matches!(third, Err(QueuesError::ResourceLimit(_))),
        "{third:?}"
    );
}
