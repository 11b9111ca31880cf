//! Routers: the address's router plugin places each message of a send (a partition of the
//! log, anycast queues, a consumer pin), its answer checked; an answer that does not fit, or
//! a router that cannot answer, stores nothing and says so; a router that passes routes the
//! host's way; moves to a dead-letter address whose router holds wait, never lost.

use sluice_queues::{
    AddressConfig, AddressSettingsRule, Outcome, QueuesConfig, QueuesError, RoutingType,
};

use crate::kit::{
    Broker, MANY, NOW, TestPolicies, anycast_queue, bodies, queue, rule, with_headers,
};

/// Address `jobs`: anycast queues `a`, `b`, `c`, subscription `audit`, a log of two
/// partitions, routed by `router` configured with `cfg`.
fn jobs(router: &str) -> QueuesConfig {
    QueuesConfig {
        addresses: vec![AddressConfig {
            name: "jobs".into(),
            routing: vec![RoutingType::Anycast, RoutingType::Multicast],
            queues: vec![
                queue("a", RoutingType::Anycast),
                queue("b", RoutingType::Anycast),
                queue("c", RoutingType::Anycast),
                queue("audit", RoutingType::Multicast),
            ],
        }],
        address_settings: vec![AddressSettingsRule {
            router: Some(router.into()),
            router_config: Some("cfg".into()),
            ..rule("jobs")
        }],
        partitions: 2,
        ..QueuesConfig::default()
    }
}

fn log_ends(broker: &Broker) -> Vec<i64> {
    (0..2)
        .map(|p| broker.storage.offsets("jobs", p).unwrap().log_end)
        .collect()
}

fn added(broker: &Broker) -> Vec<u64> {
    ["a", "b", "c", "audit"]
        .iter()
        .map(|q| broker.stats("jobs", q).messages_added)
        .collect()
}

#[test]
fn the_routers_placements_are_applied() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(jobs("rotate"), &policies);
    let sent = broker.send("jobs", None, &["m0", "m1", "m2", "m3", "m4", "m5"]);
    // Each message: one partition (the subscription reads it there) and one queue.
    assert_eq!(sent.routed, 12);
    assert_eq!(added(&broker), [2, 2, 2, 6]);
    assert_eq!(log_ends(&broker), [3, 3]);
    let calls = policies.route_calls();
    assert_eq!(calls.len(), 1);
    let view = &calls[0].view;
    assert_eq!(calls[0].router, "rotate");
    assert_eq!((view.name.as_str(), view.partitions), ("jobs", 2));
    let names: Vec<&str> = view.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!((view.sequence, view.config.as_str()), (0, "cfg"));
    assert_eq!(calls[0].bodies, ["m0", "m1", "m2", "m3", "m4", "m5"]);

    // The sequence continues the rotation; the view shows what the queues hold.
    broker.send("jobs", None, &["m6"]);
    let calls = policies.route_calls();
    let view = &calls[1].view;
    assert_eq!(view.sequence, 6);
    assert_eq!(
        view.queues.iter().map(|q| q.messages).collect::<Vec<_>>(),
        [2, 2, 2]
    );
    let c = broker.consumer(1, "jobs::a", None);
    assert_eq!(broker.drain(1, c), ["m0", "m3", "m6"]);
}

#[test]
fn a_router_may_give_each_of_several_queues_a_copy() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(jobs("copies"), &policies);
    let sent = broker.send("jobs", Some(RoutingType::Anycast), &["x", "y"]);
    assert_eq!(sent.routed, 6);
    assert_eq!(added(&broker), [2, 2, 2, 0]);
    assert_eq!(log_ends(&broker), [0, 0], "no partition: not in the log");
    assert_eq!(
        policies.route_calls()[0].view.partitions,
        0,
        "anycast asked"
    );
    for q in ["a", "b", "c"] {
        let c = broker.consumer(1, &format!("jobs::{q}"), None);
        assert_eq!(broker.drain(1, c), ["x", "y"]);
    }
}

#[test]
fn a_bad_answer_or_a_router_that_cannot_answer_stores_nothing() {
    for router in ["out-of-range", "short", "hold", "invalid", "rotate"] {
        let policies = TestPolicies::new();
        let broker = Broker::with_policies(jobs(router), &policies);
        policies.set_unavailable(router == "rotate");
        let refused = broker
            .queues
            .send(1, "jobs", None, vec![crate::kit::message("lost?")], NOW);
        assert!(
            matches!(&refused, Err(QueuesError::Unavailable(why)) if why.contains(router)),
            "{router}: {refused:?}"
        );
        assert_eq!(added(&broker), [0, 0, 0, 0], "{router}");
        assert_eq!(log_ends(&broker), [0, 0], "{router}");
        for q in ["a", "b", "c", "audit"] {
            assert_eq!(broker.stats("jobs", q).message_count, 0, "{router} {q}");
        }
    }
}

#[test]
fn a_router_that_passes_routes_the_host_way() {
    let policies = TestPolicies::new();
    let bypassed = Broker::with_policies(jobs("bypass"), &policies);
    let native = Broker::new(jobs("bypass"));
    let send = |b: &Broker| {
        let mut messages: Vec<_> = ["1", "2", "3", "4", "5"]
            .iter()
            .map(|m| crate::kit::message(m))
            .collect();
        messages[1].key = Some(b"orders-17".to_vec());
        b.send_messages("jobs", None, messages).routed
    };
    assert_eq!(send(&bypassed), send(&native));
    assert_eq!(added(&bypassed), added(&native));
    assert_eq!(
        added(&bypassed),
        [2, 2, 1, 5],
        "round robin over the queues"
    );
    assert_eq!(log_ends(&bypassed), log_ends(&native));
    assert_eq!(policies.route_calls().len(), 1, "asked, and it passed");
}

#[test]
fn a_fully_qualified_name_is_not_routed() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(jobs("hold"), &policies);
    assert_eq!(broker.send("jobs::b", None, &["direct"]).routed, 1);
    assert!(policies.route_calls().is_empty());
    assert_eq!(added(&broker), [0, 1, 0, 0]);
}

#[test]
fn a_pinned_message_goes_only_to_its_consumer_while_it_is_open() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![anycast_queue("work")],
            address_settings: vec![AddressSettingsRule {
                router: Some("pin".into()),
                ..rule("work")
            }],
            ..QueuesConfig::default()
        },
        &policies,
    );
    let x = broker.consumer(1, "work", None);
    let y = broker.consumer(2, "work", None);
    let to_x = x.to_string();
    broker.send_messages(
        "work",
        None,
        vec![
            with_headers("for-x", &[("to", &to_x)]),
            with_headers("anyone", &[]),
        ],
    );
    assert_eq!(bodies(&broker.receive(2, y, MANY)), ["anyone"]);
    assert_eq!(broker.stats("work", "work").skipped_count, 1);
    assert_eq!(bodies(&broker.receive(1, x, MANY)), ["for-x"]);

    broker.send_messages("work", None, vec![with_headers("later", &[("to", &to_x)])]);
    assert!(broker.receive(2, y, MANY).is_empty(), "pinned to x");
    broker.queues.close_consumer(1, x, NOW);
    let got = broker.receive(2, y, MANY);
    assert_eq!(
        bodies(&got),
        ["for-x", "later"],
        "x gone: to anyone, the failed delivery first"
    );
    assert_eq!(got[0].delivery_count, 1);
}

#[test]
fn a_dead_letter_whose_destination_holds_waits_in_its_queue() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![anycast_queue("q"), anycast_queue("DLQ")],
            address_settings: vec![AddressSettingsRule {
                dead_letter_address: Some("DLQ".into()),
                ..rule("q")
            }],
            ..QueuesConfig::default()
        },
        &policies,
    );
    broker.send("q", None, &["poison"]);
    let c = broker.consumer(1, "q", None);
    let got = broker.receive(1, c, MANY);
    policies.set_unavailable(true);
    broker.settle(1, c, &got, Outcome::Rejected);
    broker.queues.tick(NOW + 100);
    assert_eq!(broker.stats("q", "q").message_count, 1, "held, not lost");
    assert_eq!(broker.stats("DLQ", "DLQ").message_count, 0);
    assert!(
        broker.receive(1, c, MANY).is_empty(),
        "moving, not redelivered"
    );

    policies.set_unavailable(false);
    broker.queues.tick(NOW + 200);
    let q = broker.stats("q", "q");
    assert_eq!((q.message_count, q.messages_killed), (0, 1));
    let dlq = broker.consumer(2, "DLQ", None);
    assert_eq!(broker.drain(2, dlq), ["poison"]);
}
