//! Publish filters: the address's `publish-filter` judges a send before it is routed: what it
//! keeps is stored, what it drops is not, what it rewrites is stored rewritten; a filter that
//! cannot answer (or is refused) holds the whole send, and one that passes keeps everything.

use sluice_queues::{AddressSettingsRule, FilterRef, QueuesConfig, QueuesError};

use crate::kit::{Broker, NOW, TestPolicies, anycast_queue, matching, rule, with_headers};

fn orders(filter: FilterRef) -> QueuesConfig {
    QueuesConfig {
        addresses: vec![anycast_queue("orders")],
        address_settings: vec![AddressSettingsRule {
            publish_filter: Some(filter),
            ..rule("orders")
        }],
        ..QueuesConfig::default()
    }
}

fn colored() -> Vec<sluice_queues::Message> {
    vec![
        with_headers("a", &[("color", "red")]),
        with_headers("b", &[("color", "blue")]),
        with_headers("c", &[("color", "red")]),
    ]
}

#[test]
fn what_the_publish_filter_drops_is_never_stored() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(orders(matching("color=red")), &policies);
    assert_eq!(broker.send_messages("orders", None, colored()).routed, 2);
    let stats = broker.stats("orders", "orders");
    assert_eq!((stats.messages_added, stats.message_count), (2, 2));
    assert_eq!(policies.filter_calls(), [("color=red".to_owned(), 3)]);
    // `address::queue` skips the router, not the publish filter.
    broker.send_messages("orders::orders", None, colored());
    let c = broker.consumer(1, "orders", None);
    assert_eq!(broker.drain(1, c), ["a", "c", "a", "c"]);
}

#[test]
fn what_the_publish_filter_rewrites_is_stored_rewritten() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(orders(matching("rewrite")), &policies);
    broker.send("orders", None, &["hello"]);
    let c = broker.consumer(1, "orders", None);
    let got = broker.receive(1, c, 10);
    assert_eq!(crate::kit::bodies(&got), ["HELLO"]);
    assert!(got[0].message.durable);
}

#[test]
fn a_publish_filter_that_cannot_answer_holds_the_whole_send() {
    for config in ["hold", "invalid", "short"] {
        let policies = TestPolicies::new();
        let broker = Broker::with_policies(orders(matching(config)), &policies);
        let refused = broker.queues.send(1, "orders", None, colored(), NOW);
        assert!(
            matches!(refused, Err(QueuesError::Unavailable(_))),
            "{config}: {refused:?}"
        );
        let stats = broker.stats("orders", "orders");
        assert_eq!(
            (stats.messages_added, stats.message_count),
            (0, 0),
            "{config}"
        );
        // An empty send only resolves the address: no filter call, no error.
        assert!(
            broker
                .queues
                .send(1, "orders", None, Vec::new(), NOW)
                .is_ok()
        );
    }
}

#[test]
fn a_publish_filter_that_passes_keeps_everything() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(orders(matching("bypass")), &policies);
    assert_eq!(broker.send_messages("orders", None, colored()).routed, 3);
}
