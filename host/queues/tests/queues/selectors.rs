//! Consumer selectors: checked when the consumer opens; on a queue of the consumer's own (a
//! temporary subscription, a dynamic queue) the selector is the queue's filter; on a shared
//! queue the consumer is handed only what it selects, and the rest stays for the others, in
//! order, none lost and none twice.

use std::collections::BTreeSet;

use sluice_queues::{ConsumerOptions, Outcome, QueuesConfig, QueuesError, RoutingType};

use crate::kit::{Broker, MANY, NOW, TestPolicies, anycast_queue, bodies, with_headers};

fn selecting(source: &str, selector: &str) -> ConsumerOptions {
    ConsumerOptions {
        source: source.into(),
        selector: Some(selector.into()),
        ..ConsumerOptions::default()
    }
}

fn colored(n: usize) -> (Vec<sluice_queues::Message>, Vec<String>, Vec<String>) {
    let (mut reds, mut blues) = (Vec::new(), Vec::new());
    let messages = (0..n)
        .map(|i| {
            // An irregular pattern: runs of either color.
            let red = (i * 7 / 3) % 3 != 0;
            let body = format!("{}-{i}", if red { "red" } else { "blue" });
            if red { &mut reds } else { &mut blues }.push(body.clone());
            with_headers(&body, &[("color", if red { "red" } else { "blue" })])
        })
        .collect();
    (messages, reds, blues)
}

#[test]
fn two_selective_consumers_of_one_queue_each_get_their_own_in_order() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![anycast_queue("q")],
            ..QueuesConfig::default()
        },
        &policies,
    );
    let red = broker
        .queues
        .open_consumer(1, selecting("q", "color=red"))
        .unwrap()
        .id;
    let blue = broker
        .queues
        .open_consumer(2, selecting("q", "color=blue"))
        .unwrap()
        .id;
    let (messages, reds, blues) = colored(60);
    broker.send_messages("q", None, messages);
    let (mut got_red, mut got_blue) = (Vec::new(), Vec::new());
    loop {
        let r = broker.receive(1, red, 4);
        let b = broker.receive(2, blue, 3);
        if r.is_empty() && b.is_empty() {
            break;
        }
        broker.settle(1, red, &r, Outcome::Accepted);
        broker.settle(2, blue, &b, Outcome::Accepted);
        got_red.extend(bodies(&r));
        got_blue.extend(bodies(&b));
    }
    assert_eq!(got_red, reds, "only reds, in order");
    assert_eq!(got_blue, blues, "only blues, in order");
    let stats = broker.stats("q", "q");
    assert_eq!(
        (
            stats.message_count,
            stats.messages_acknowledged,
            stats.skipped_count
        ),
        (0, 60, 0)
    );
}

#[test]
fn what_a_selective_consumer_leaves_stays_for_the_others_in_order() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![anycast_queue("q")],
            ..QueuesConfig::default()
        },
        &policies,
    );
    let picky = broker
        .queues
        .open_consumer(1, selecting("q", "color=red"))
        .unwrap()
        .id;
    let any = broker.consumer(2, "q", None);
    let (messages, reds, blues) = colored(30);
    broker.send_messages("q", None, messages);
    assert_eq!(broker.drain(1, picky), reds);
    assert_eq!(broker.stats("q", "q").skipped_count, blues.len() as u64);
    let more: Vec<_> = (0..6)
        .map(|i| with_headers(&format!("more-{i}"), &[("color", "red")]))
        .collect();
    broker.send_messages("q", None, more);
    let got = broker.drain(2, any);
    assert_eq!(got[..blues.len()], blues[..], "the skipped first, in order");
    assert_eq!(got.len(), blues.len() + 6);
    let all: BTreeSet<String> = got.into_iter().chain(reds).collect();
    assert_eq!(all.len(), 36, "none lost, none twice");
}

#[test]
fn a_selector_on_a_temporary_subscription_is_the_queues_filter() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(QueuesConfig::default(), &policies);
    let info = broker
        .queues
        .open_consumer(
            1,
            ConsumerOptions {
                routing: Some(RoutingType::Multicast),
                ..selecting("news", "color=red")
            },
        )
        .unwrap();
    let (messages, reds, blues) = colored(12);
    broker.send_messages("news", None, messages);
    assert_eq!(broker.drain(1, info.id), reds);
    let stats = broker.stats("news", &info.queue);
    assert_eq!(
        stats.filter,
        Some(sluice_queues::FilterRef::selector("color=red"))
    );
    assert_eq!(
        (
            stats.message_count,
            stats.messages_filtered,
            stats.skipped_count
        ),
        (0, blues.len() as u64, 0),
        "what it does not select does not wait in it"
    );

    let dynamic = broker
        .queues
        .open_consumer(
            2,
            ConsumerOptions {
                dynamic: true,
                selector: Some("color=blue".into()),
                ..ConsumerOptions::default()
            },
        )
        .unwrap();
    let (messages, _, blues) = colored(12);
    broker.send_messages(&dynamic.address, None, messages);
    assert_eq!(broker.drain(2, dynamic.id), blues);
    assert_eq!(
        broker.stats(&dynamic.address, &dynamic.queue).message_count,
        0
    );
}

#[test]
fn an_invalid_selector_is_refused_at_open_and_creates_nothing() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(QueuesConfig::default(), &policies);
    let refused = broker.queues.open_consumer(
        1,
        ConsumerOptions {
            routing: Some(RoutingType::Multicast),
            ..selecting("fresh", "invalid")
        },
    );
    assert!(
        matches!(&refused, Err(QueuesError::InvalidFilter(why)) if why.contains("invalid")),
        "{refused:?}"
    );
    assert!(broker.queues.stats().is_empty(), "no subscription made");

    policies.set_unavailable(true);
    let held = broker
        .queues
        .open_consumer(1, selecting("fresh", "color=red"));
    assert!(matches!(held, Err(QueuesError::Unavailable(_))), "{held:?}");
    policies.set_unavailable(false);
    broker
        .queues
        .open_consumer(1, selecting("fresh", "color=red"))
        .unwrap();

    // Without plugins there is no selector filter.
    let plain = Broker::new(QueuesConfig::default());
    let refused = plain
        .queues
        .open_consumer(1, selecting("fresh", "color=red"));
    assert!(
        matches!(refused, Err(QueuesError::InvalidFilter(_))),
        "{refused:?}"
    );
}

#[test]
fn a_selective_consumer_closing_leaves_nothing_behind() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![anycast_queue("q")],
            ..QueuesConfig::default()
        },
        &policies,
    );
    let picky = broker
        .queues
        .open_consumer(1, selecting("q", "color=red"))
        .unwrap()
        .id;
    let (messages, _, _) = colored(10);
    broker.send_messages("q", None, messages);
    broker.receive(1, picky, MANY);
    broker.queues.close_consumer(1, picky, NOW);
    let any = broker.consumer(2, "q", None);
    let got = broker.drain(2, any);
    assert_eq!(
        got.len(),
        10,
        "the held ones back, the skipped ones still there"
    );
}
