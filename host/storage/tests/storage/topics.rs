//! Creating, listing and deleting topics.

use sluice_storage::{Storage, StorageConfig, StorageError};

use crate::kit::{self, batch_n};

#[test]
fn created_topics_are_listed_in_name_order() {
    let (_dir, storage) = kit::open_temp();
    assert!(storage.list_topics().is_empty());
    let info = storage.create_topic("orders", 3).unwrap();
    assert_eq!(info, kit::topic_info("orders", 3));
    storage.create_topic("Audit.log_v2-x", 1).unwrap();
    storage.create_topic("billing", 2).unwrap();
    let names: Vec<String> = storage.list_topics().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["Audit.log_v2-x", "billing", "orders"]);
    assert_eq!(storage.topic("orders"), Some(info));
    assert_eq!(storage.topic("nope"), None);
}

#[test]
fn creating_an_existing_topic_is_topic_exists() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    storage.append("t", 0, &batch_n("x", 1)).unwrap();
    assert!(matches!(storage.create_topic("t", 4), Err(StorageError::TopicExists(n)) if n == "t"));
    // The existing topic is untouched.
    assert_eq!(storage.topic("t").unwrap().partitions, 1);
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 1);
}

#[test]
fn names_outside_kafkas_rule_are_invalid_topic() {
    let (_dir, storage) = kit::open_temp();
    let too_long = "x".repeat(250);
    for name in [
        "",
        ".",
        "..",
        "a/b",
        "../escape",
        "with space",
        "ünï",
        "a\0b",
        &too_long,
    ] {
        let err = storage.create_topic(name, 1).unwrap_err();
        assert!(
            matches!(err, StorageError::InvalidTopic { .. }),
            "{name:?}: {err:?}"
        );
    }
    storage.create_topic(&"x".repeat(249), 1).unwrap();
    assert_eq!(storage.list_topics().len(), 1);
}

#[test]
fn partition_counts_outside_one_to_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(StorageConfig {
        partitions_max: 8,
        ..kit::config(dir.path())
    })
    .unwrap();
    for requested in [0, 9, u32::MAX] {
        assert!(matches!(
            storage.create_topic("t", requested),
            Err(StorageError::InvalidPartitions { requested: r, max: 8 }) if r == requested
        ));
    }
    assert!(storage.topic("t").is_none());
    assert_eq!(storage.create_topic("t", 8).unwrap().partitions, 8);
    assert_eq!(StorageConfig::default().partitions_max, 1024);
}

#[test]
fn a_deleted_topic_is_gone_and_its_name_can_be_reused() {
    let (dir, storage) = kit::open_temp();
    storage.create_topic("t", 2).unwrap();
    storage.append("t", 1, &batch_n("old", 5)).unwrap();
    storage.delete_topic("t").unwrap();
    assert!(storage.topic("t").is_none());
    assert!(matches!(
        storage.append("t", 1, &batch_n("x", 1)),
        Err(StorageError::UnknownTopic(_))
    ));
    assert!(!dir.path().join("topics/t").exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("deleted"))
            .unwrap()
            .count(),
        0
    );
    assert!(matches!(
        storage.delete_topic("t"),
        Err(StorageError::UnknownTopic(_))
    ));

    storage.create_topic("t", 1).unwrap();
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 0);
    assert_eq!(
        storage
            .append("t", 0, &batch_n("new", 1))
            .unwrap()
            .base_offset,
        0
    );
}

#[test]
fn deleting_a_topic_wakes_its_watchers() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 2).unwrap();
    storage.create_topic("other", 1).unwrap();
    let watchers = [
        storage.watch("t", 0).unwrap(),
        storage.watch("t", 1).unwrap(),
    ];
    let other = storage.watch("other", 0).unwrap();
    storage.delete_topic("t").unwrap();
    for rx in &watchers {
        assert!(rx.has_changed().is_err(), "sender dropped");
    }
    assert!(other.has_changed().is_ok());
}

#[tokio::test]
async fn a_waiter_blocked_on_a_deleted_topic_wakes() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let storage = std::sync::Arc::new(storage);
    let mut rx = storage.watch("t", 0).unwrap();
    let waiter = tokio::spawn(async move { rx.changed().await.is_err() });
    tokio::task::yield_now().await;
    storage.delete_topic("t").unwrap();
    assert!(
        waiter.await.unwrap(),
        "changed() returns Err once the topic is gone"
    );
}

#[test]
fn storage_is_send_and_sync() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Storage>();
    shareable::<StorageError>();
}

#[test]
fn usage_adds_up_every_partitions_log_bytes_and_offsets() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("b", 2).unwrap();
    storage.create_topic("a", 1).unwrap();
    let first = kit::batch_n("x", 3);
    let second = kit::batch_n("y", 2);
    storage.append("b", 0, &first).unwrap();
    storage.append("b", 1, &second).unwrap();
    storage.flush().unwrap();
    let usage = storage.usage();
    let names: Vec<&str> = usage.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["a", "b"], "sorted by name");
    let (a, b) = (&usage[0], &usage[1]);
    assert_eq!((a.partitions, a.log_bytes, a.log_end_sum), (1, 0, 0));
    assert_eq!(b.partitions, 2);
    assert_eq!(b.log_bytes, (first.len() + second.len()) as u64);
    assert_eq!((b.log_start_sum, b.log_end_sum), (0, 5));
}
