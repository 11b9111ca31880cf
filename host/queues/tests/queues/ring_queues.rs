//! Ring queues: a queue of `ring-size` holds at most that many messages, the oldest not being
//! delivered leaving as new ones arrive; a ring of 0 is refused.

use sluice_queues::{
    AddressConfig, AddressSettingsRule, Outcome, QueueConfig, Queues, QueuesConfig, QueuesError,
    RoutingType,
};

use crate::kit::{Broker, MANY, bodies, queue, rule};

fn ring(size: u64) -> QueuesConfig {
    let mut q = queue("ring", RoutingType::Anycast);
    q.ring_size = Some(size);
    QueuesConfig {
        addresses: vec![AddressConfig {
            name: "ring".into(),
            routing: vec![RoutingType::Anycast],
            queues: vec![q],
        }],
        ..QueuesConfig::default()
    }
}

#[test]
fn a_ring_queue_drops_its_oldest_beyond_its_size() {
    let broker = Broker::new(ring(3));
    broker.send("ring", None, &["1", "2", "3", "4"]);
    broker.send("ring", None, &["5"]);
    let stats = broker.stats("ring", "ring");
    assert_eq!(
        (
            stats.message_count,
            stats.messages_removed_by_ring,
            stats.ring_size
        ),
        (3, 2, Some(3))
    );
    let c = broker.consumer(1, "ring", None);
    assert_eq!(broker.drain(1, c), ["3", "4", "5"]);
}

#[test]
fn a_ring_queue_never_removes_what_is_being_delivered() {
    let broker = Broker::new(ring(3));
    broker.send("ring", None, &["1", "2", "3"]);
    let c = broker.consumer(1, "ring", None);
    let held = broker.receive(1, c, 2);
    broker.send("ring", None, &["4", "5"]);
    let stats = broker.stats("ring", "ring");
    assert_eq!(
        (stats.message_count, stats.messages_removed_by_ring),
        (3, 2)
    );
    broker.settle(1, c, &held, Outcome::Accepted);
    assert_eq!(bodies(&broker.receive(1, c, MANY)), ["5"]);
}

#[test]
fn the_address_settings_make_new_queues_ring_queues() {
    let broker = Broker::new(QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            ring_size: Some(2),
            ..rule("recent")
        }],
        ..QueuesConfig::default()
    });
    broker.send("recent", Some(RoutingType::Anycast), &["a", "b", "c"]);
    assert_eq!(broker.stats("recent", "recent").message_count, 2);
}

#[test]
fn a_ring_of_no_message_is_refused() {
    let parsed =
        toml::from_str::<QueueConfig>("name = \"r\"\nrouting = \"anycast\"\nring-size = 0");
    assert!(
        parsed
            .unwrap_err()
            .to_string()
            .contains("ring-size must be at least 1")
    );
    let dir = tempfile::tempdir().unwrap();
    let storage = std::sync::Arc::new(
        sluice_storage::Storage::open(sluice_storage::StorageConfig {
            dir: dir.path().to_owned(),
            ..Default::default()
        })
        .unwrap(),
    );
    let refused = Queues::open(storage.clone(), ring(0));
    assert!(matches!(refused, Err(QueuesError::InvalidAddress(why)) if why.contains("ring-size")));
    let settings = QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            ring_size: Some(0),
            ..rule("#")
        }],
        ..QueuesConfig::default()
    };
    assert!(Queues::open(storage, settings).is_err());
}
