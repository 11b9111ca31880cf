//! Restarts: durable queues come back with their unacknowledged messages and delivery counts;
//! non-durable and temporary ones are gone, with what they left in storage.

use sluice_queues::{Outcome, QueuesConfig, RoutingType};
use sluice_storage::Durability;

use crate::kit::{Broker, FAILED, MANY, NOW, anycast_queue, bodies, numbered, refs};

#[test]
fn a_durable_queue_keeps_its_unacknowledged_messages_and_delivery_counts_across_a_reopen() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["acked", "failed", "held", "new"]);
    let c = broker.consumer(1, "q", None);
    let got = broker.receive(1, c, 3);
    broker.settle(1, c, &got[..1], Outcome::Accepted);
    broker.settle(1, c, &got[1..2], FAILED);

    let broker = broker.reopen_model();
    assert_eq!(broker.stats("q", "q").message_count, 3);
    let c = broker.consumer(1, "q", None);
    let got = broker.receive(1, c, MANY);
    assert_eq!(bodies(&got), ["failed", "held", "new"]);
    assert_eq!(
        got.iter().map(|d| d.delivery_count).collect::<Vec<_>>(),
        [1, 0, 0]
    );
}

#[test]
fn the_message_count_is_right_after_a_restart() {
    let broker = Broker::new(QueuesConfig::default());
    let sent = numbered("m", 10);
    broker.send("work", Some(RoutingType::Anycast), &refs(&sent));
    let sub = broker.subscriber(2, "feed", "durable-sub", true);
    broker.send("feed", None, &refs(&sent));
    let c = broker.consumer(1, "work", None);
    let got = broker.receive(1, c, 4);
    broker.settle(1, c, &got, Outcome::Accepted);
    let got = broker.receive(2, sub, 7);
    broker.settle(2, sub, &got[..3], Outcome::Accepted);
    broker.queues.flush().unwrap();

    let broker = broker.restart();
    let work = broker.stats("work", "work");
    assert_eq!(
        (work.message_count, work.messages_added, work.consumer_count),
        (6, 0, 0)
    );
    assert_eq!(broker.stats("feed", "durable-sub").message_count, 7);
    let c = broker.consumer(1, "work", None);
    assert_eq!(broker.drain(1, c), sent[4..]);
    let sub = broker.subscriber(2, "feed", "durable-sub", true);
    assert_eq!(broker.drain(2, sub), sent[3..]);
}

#[test]
fn non_durable_and_temporary_queues_are_gone_after_a_restart() {
    let broker = Broker::new(QueuesConfig::default());
    broker.subscriber(1, "feed", "fleeting", false);
    broker.consumer(1, "feed", Some(RoutingType::Multicast));
    let dynamic = broker.dynamic_consumer(1);
    broker.send(&dynamic.address, None, &["x"]);
    broker.subscriber(1, "feed", "lasting", true);
    assert_eq!(broker.queues.stats().len(), 4);

    let broker = broker.restart();
    let names: Vec<String> = broker.queues.stats().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["lasting"]);
    let internal: Vec<String> = broker
        .storage
        .list_topics()
        .into_iter()
        .map(|t| t.name)
        .filter(|n| n.starts_with("__sluice."))
        .collect();
    assert!(internal.is_empty(), "{internal:?}");
    let cursors: Vec<String> = std::fs::read_dir(broker.dir.path().join("queues"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("__sluice."))
        .collect();
    assert_eq!(
        cursors.len(),
        1,
        "only the lasting subscription's cursor: {cursors:?}"
    );
    // The dynamic address went too: sending there now auto-creates a plain address.
    assert_eq!(broker.send(&dynamic.address, None, &["y"]).routed, 0);
}

#[test]
fn an_anycast_queue_truncates_its_log_below_what_is_acknowledged_and_synced() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    let log = broker
        .storage
        .list_topics()
        .into_iter()
        .find(|t| t.name.starts_with("__sluice.q."))
        .unwrap()
        .name;
    let sent = numbered("m", 5);
    broker.send("q", None, &refs(&sent));
    let c = broker.consumer(1, "q", None);
    let got = broker.receive(1, c, 3);
    broker.settle(1, c, &got, Outcome::Accepted);
    broker.queues.tick(NOW);
    assert_eq!(broker.storage.offsets(&log, 0).unwrap().log_start, 3);
    let broker = broker.restart();
    assert_eq!(broker.stats("q", "q").message_count, 2);
    let c = broker.consumer(1, "q", None);
    assert_eq!(broker.drain(1, c), sent[3..]);
}

#[test]
fn under_fsync_a_durable_message_is_delivered_once_its_log_position_is_durable() {
    let broker = Broker::with_durability(
        QueuesConfig {
            addresses: vec![anycast_queue("q")],
            ..QueuesConfig::default()
        },
        Durability::Fsync,
    );
    let c = broker.consumer(1, "q", None);
    let sent = broker.send("q", None, &["durable"]);
    for at in &sent.pending {
        let mut hw = broker.storage.watch(&at.topic, at.partition).unwrap();
        while *hw.borrow_and_update() <= at.offset {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    assert_eq!(bodies(&broker.receive(1, c, MANY)), ["durable"]);
}
