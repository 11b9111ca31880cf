//! Delivery filters: the address's `delivery-filter` and then the queue's own `filter` judge
//! messages as they are taken for delivery: a dropped message is acknowledged on that queue
//! and counted filtered, a rewritten one is handed over rewritten (the stored one unchanged),
//! and a filter that cannot answer leaves its messages on the queue until it can.

use sluice_queues::{
    AddressConfig, AddressSettingsRule, FilterRef, Outcome, QueuesConfig, RoutingType,
};

use crate::kit::{Broker, MANY, NOW, TestPolicies, bodies, matching, queue, rule, with_headers};

/// Anycast queue `q` on address `q` filtered by `queue_filter`, the address by
/// `address_filter`.
fn filtered(address_filter: Option<FilterRef>, queue_filter: Option<FilterRef>) -> QueuesConfig {
    let mut q = queue("q", RoutingType::Anycast);
    q.filter = queue_filter;
    QueuesConfig {
        addresses: vec![AddressConfig {
            name: "q".into(),
            routing: vec![RoutingType::Anycast],
            queues: vec![q],
        }],
        address_settings: vec![AddressSettingsRule {
            delivery_filter: address_filter,
            ..rule("q")
        }],
        ..QueuesConfig::default()
    }
}

fn colored() -> Vec<sluice_queues::Message> {
    vec![
        with_headers("red-big", &[("color", "red"), ("size", "big")]),
        with_headers("red-small", &[("color", "red"), ("size", "small")]),
        with_headers("blue-big", &[("color", "blue"), ("size", "big")]),
        with_headers("red-big-2", &[("color", "red"), ("size", "big")]),
    ]
}

#[test]
fn what_a_delivery_filter_drops_is_acknowledged_and_counted() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(filtered(Some(matching("color=red")), None), &policies);
    broker.send_messages("q", None, colored());
    let c = broker.consumer(1, "q", None);
    assert_eq!(broker.drain(1, c), ["red-big", "red-small", "red-big-2"]);
    let stats = broker.stats("q", "q");
    assert_eq!(
        (
            stats.messages_filtered,
            stats.messages_acknowledged,
            stats.message_count
        ),
        (1, 3, 0)
    );
    assert_eq!(
        policies.filter_calls(),
        [("color=red".to_owned(), 4)],
        "one call for the receive's batch"
    );
}

#[test]
fn the_address_filter_and_the_queue_filter_both_apply() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        filtered(Some(matching("color=red")), Some(matching("size=big"))),
        &policies,
    );
    broker.send_messages("q", None, colored());
    let c = broker.consumer(1, "q", None);
    assert_eq!(broker.drain(1, c), ["red-big", "red-big-2"]);
    assert_eq!(broker.stats("q", "q").messages_filtered, 2);
    let calls = policies.filter_calls();
    assert_eq!(
        calls,
        [("color=red".to_owned(), 4), ("size=big".to_owned(), 3)],
        "the address's first, the queue's on what it kept"
    );
}

#[test]
fn a_rewritten_message_is_handed_over_rewritten_and_stored_unchanged() {
    let policies = TestPolicies::new();
    let mut rewriting = queue("rewriting", RoutingType::Multicast);
    rewriting.filter = Some(matching("rewrite"));
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![AddressConfig {
                name: "news".into(),
                routing: vec![RoutingType::Multicast],
                queues: vec![rewriting, queue("plain", RoutingType::Multicast)],
            }],
            ..QueuesConfig::default()
        },
        &policies,
    );
    broker.send("news", None, &["hello"]);
    let r = broker.subscriber(1, "news", "rewriting", true);
    let p = broker.subscriber(1, "news", "plain", true);
    let got = broker.receive(1, r, MANY);
    assert_eq!(bodies(&got), ["HELLO"]);
    broker.settle(1, r, &got, Outcome::Released);
    assert_eq!(
        bodies(&broker.receive(1, r, MANY)),
        ["HELLO"],
        "judged again"
    );
    assert_eq!(broker.drain(1, p), ["hello"]);
    let read = broker.storage.read("news", 0, 0, 1 << 20).unwrap();
    let stored = sluice_storage::decode_batches(&read.batches)
        .into_iter()
        .next()
        .unwrap()
        .records
        .unwrap();
    assert_eq!(stored[0].value.as_deref(), Some(&b"hello"[..]));
}

#[test]
fn a_filter_that_cannot_answer_holds_its_messages_until_it_can() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(filtered(Some(matching("color=red")), None), &policies);
    broker.send_messages("q", None, colored());
    let c = broker.consumer(1, "q", None);
    policies.set_unavailable(true);
    let held = broker.receive_all(1, c);
    assert!(held.deliveries.is_empty());
    let stats = broker.stats("q", "q");
    assert_eq!((stats.message_count, stats.messages_filtered), (4, 0));
    let watch = broker.queues.watch(c).unwrap();
    assert!(!watch.passed(held.version));
    broker.queues.tick(NOW + 50);
    assert!(
        watch.passed(held.version),
        "tick wakes a held queue's consumers"
    );

    policies.set_unavailable(false);
    assert_eq!(broker.drain(1, c), ["red-big", "red-small", "red-big-2"]);
    let stats = broker.stats("q", "q");
    assert_eq!((stats.message_count, stats.messages_filtered), (0, 1));
}

#[test]
fn a_filter_that_is_refused_or_answers_wrong_holds_too() {
    for config in ["hold", "invalid", "short"] {
        let policies = TestPolicies::new();
        let broker = Broker::with_policies(filtered(None, Some(matching(config))), &policies);
        broker.send_messages("q", None, colored());
        let c = broker.consumer(1, "q", None);
        assert!(broker.receive(1, c, MANY).is_empty(), "{config}");
        assert_eq!(broker.stats("q", "q").message_count, 4, "{config}");
    }
}

#[test]
fn a_filter_that_passes_keeps_everything() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(filtered(Some(matching("bypass")), None), &policies);
    broker.send_messages("q", None, colored());
    let c = broker.consumer(1, "q", None);
    assert_eq!(broker.drain(1, c).len(), 4);
}
