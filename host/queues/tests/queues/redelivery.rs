//! Redelivery: released messages come back at once as they were; failed ones count up and
//! wait out the redelivery delay; a consumer or connection leaving returns what it held.

use sluice_queues::{AddressSettingsRule, Outcome, QueuesConfig};

use crate::kit::{Broker, FAILED, MANY, NOW, anycast_queue, bodies};

#[test]
fn a_released_message_is_redelivered_at_once_with_the_same_delivery_count() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["a", "b"]);
    let c = broker.consumer(1, "q", None);
    let first = broker.receive(1, c, 1);
    broker.settle(1, c, &first, FAILED);
    let again = broker.receive(1, c, 1);
    assert_eq!(
        (bodies(&again), again[0].delivery_count),
        (vec!["a".to_owned()], 1)
    );
    broker.settle(1, c, &again, Outcome::Released);
    let released = broker.receive(1, c, MANY);
    assert_eq!(bodies(&released), ["a", "b"], "redeliveries first");
    assert_eq!(released[0].delivery_count, 1, "a release is no failure");
    broker.settle(
        1,
        c,
        &released,
        Outcome::Modified {
            delivery_failed: false,
            undeliverable_here: false,
        },
    );
    let modified = broker.receive(1, c, MANY);
    assert_eq!(
        modified
            .iter()
            .map(|d| d.delivery_count)
            .collect::<Vec<_>>(),
        [1, 0]
    );
}

#[test]
fn the_redelivery_delay_grows_by_the_multiplier() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        address_settings: vec![AddressSettingsRule {
            pattern: "q".into(),
            redelivery_delay_ms: Some(1000),
            redelivery_multiplier: Some(2.0),
            max_redelivery_delay_ms: Some(3000),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["slow"]);
    let c = broker.consumer(1, "q", None);
    let mut now = NOW;
    for (attempt, delay) in [1000, 2000, 3000, 3000].into_iter().enumerate() {
        let got = broker.receive_at(1, c, MANY, now);
        assert_eq!(got.len(), 1, "attempt {attempt}");
        assert_eq!(got[0].delivery_count, attempt as u32);
        broker
            .queues
            .settle(1, c, &[got[0].tag], FAILED, now)
            .unwrap();
        let before = broker
            .queues
            .receive(1, c, MANY, 1 << 20, false, now + delay - 1)
            .unwrap();
        assert!(before.deliveries.is_empty(), "not before {delay} ms");
        let watch = broker.queues.watch(c).unwrap();
        assert!(!watch.passed(before.version));
        broker.queues.tick(now + delay - 1);
        assert!(!watch.passed(before.version), "not due yet");
        broker.queues.tick(now + delay);
        assert!(
            watch.passed(before.version),
            "a redelivery coming due wakes the consumer"
        );
        now += delay;
    }
    assert_eq!(bodies(&broker.receive_at(1, c, MANY, now)), ["slow"]);
}

#[test]
fn a_closed_connection_returns_its_unsettled_messages_to_another_consumer() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["1", "2", "3"]);
    let gone = broker.consumer(1, "q", None);
    let stays = broker.consumer(2, "q", None);
    let held = broker.receive(1, gone, 2);
    assert_eq!(bodies(&held), ["1", "2"]);
    assert_eq!(broker.stats("q", "q").delivering_count, 2);
    broker.queues.connection_closed(1, NOW);
    let got = broker.receive(2, stays, MANY);
    assert_eq!(bodies(&got), ["1", "2", "3"]);
    assert_eq!(
        got.iter().map(|d| d.delivery_count).collect::<Vec<_>>(),
        [1, 1, 0]
    );
    assert_eq!(broker.stats("q", "q").consumer_count, 1);
}

#[test]
fn undeliverable_here_keeps_a_message_from_that_consumer_only() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["picky"]);
    let refuses = broker.consumer(1, "q", None);
    let got = broker.receive(1, refuses, MANY);
    broker.settle(
        1,
        refuses,
        &got,
        Outcome::Modified {
            delivery_failed: false,
            undeliverable_here: true,
        },
    );
    assert!(broker.receive(1, refuses, MANY).is_empty());
    let other = broker.consumer(2, "q", None);
    let got = broker.receive(2, other, MANY);
    assert_eq!(
        (bodies(&got), got[0].delivery_count),
        (vec!["picky".to_owned()], 0)
    );
}

#[test]
fn settling_unknown_or_settled_tags_is_ignored() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["once"]);
    let c = broker.consumer(1, "q", None);
    let got = broker.receive(1, c, MANY);
    broker.settle(1, c, &got, Outcome::Accepted);
    broker.settle(1, c, &got, Outcome::Released);
    broker
        .queues
        .settle(1, c, &[42, 43], Outcome::Rejected, NOW)
        .unwrap();
    let stats = broker.stats("q", "q");
    assert_eq!((stats.messages_acknowledged, stats.messages_killed), (1, 0));
    assert!(broker.receive(1, c, MANY).is_empty());
}
