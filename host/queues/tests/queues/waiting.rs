//! Waiting: a consumer with nothing to take waits past the version `receive` answered; a new
//! message, a release or its own closing moves it.

use std::time::Duration;

use sluice_queues::{Outcome, QueuesConfig};

use crate::kit::{Broker, NOW, anycast_queue, bodies};

/// Long enough for any wake on a loaded machine, short enough to fail fast.
const WAKE_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_passes_when_a_message_arrives() {
    let broker = std::sync::Arc::new(Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    }));
    let c = broker.consumer(1, "q", None);
    let empty = broker.receive_all(1, c);
    assert!(empty.deliveries.is_empty());
    let mut watch = broker.queues.watch(c).unwrap();
    assert!(!watch.passed(empty.version));

    let waiter = tokio::spawn(async move {
        while !watch.passed(empty.version) {
            watch.changed().await;
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished(), "nothing happened yet");
    broker.send("q", None, &["wake up"]);
    tokio::time::timeout(WAKE_WITHIN, waiter)
        .await
        .unwrap()
        .unwrap();
    let got = broker.receive_all(1, c);
    assert_eq!(bodies(&got.deliveries), ["wake up"]);
    assert!(got.version >= empty.version);
}

#[tokio::test]
async fn the_version_passes_on_a_release_and_when_the_consumer_closes() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["m"]);
    let c = broker.consumer(1, "q", None);
    let got = broker.receive_all(1, c);
    let after = broker.receive_all(1, c);
    assert!(after.deliveries.is_empty());
    let mut watch = broker.queues.watch(c).unwrap();
    assert!(!watch.passed(after.version));
    broker.settle(1, c, &got.deliveries, Outcome::Released);
    tokio::time::timeout(WAKE_WITHIN, watch.changed())
        .await
        .unwrap();
    assert!(watch.passed(after.version));

    let again = broker.receive_all(1, c);
    assert_eq!(bodies(&again.deliveries), ["m"]);
    let idle = broker.receive_all(1, c);
    let watch = broker.queues.watch(c).unwrap();
    assert!(!watch.passed(idle.version));
    broker.queues.close_consumer(1, c, NOW);
    assert!(
        watch.passed(idle.version),
        "a closed consumer waits no more"
    );
    assert!(broker.queues.watch(c).is_none());
}
