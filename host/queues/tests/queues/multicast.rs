//! Multicast: publish/subscribe over one log. Every subscription gets every message; the log
//! is a Kafka topic, so Kafka clients and subscribers see the same records.

use sluice_queues::{
    AddressSettingsRule, ConsumerOptions, Message, Outcome, QueuesConfig, RoutingType,
};
use sluice_storage::{NewRecord, decode_batches, encode_batch};

use crate::kit::{Broker, MANY, NOW, bodies, message, numbered, refs};

#[test]
fn every_subscriber_gets_every_message() {
    let broker = Broker::new(QueuesConfig::default());
    let durable = broker.subscriber(1, "news", "alice", true);
    let non_durable = broker.subscriber(2, "news", "bob", false);
    let temporary = broker.consumer(3, "news", Some(RoutingType::Multicast));
    let sent = numbered("news", 10);
    assert_eq!(broker.send("news", None, &refs(&sent)).routed, 30);
    assert_eq!(broker.drain(1, durable), sent);
    assert_eq!(broker.drain(2, non_durable), sent);
    assert_eq!(broker.drain(3, temporary), sent);
    for stats in broker.queues.stats() {
        assert_eq!(stats.routing, RoutingType::Multicast);
        assert_eq!(
            (stats.messages_added, stats.messages_acknowledged),
            (10, 10)
        );
        assert_eq!(stats.message_count, 0, "{}", stats.name);
    }
}

#[test]
fn a_new_subscription_starts_at_the_end_of_the_log() {
    let broker = Broker::new(QueuesConfig::default());
    let sent = broker.send("news", Some(RoutingType::Multicast), &["before"]);
    assert_eq!(
        sent.routed, 0,
        "no subscription yet; the log keeps it for Kafka"
    );
    let c = broker.subscriber(1, "news", "late", true);
    broker.send("news", None, &["after"]);
    assert_eq!(broker.drain(1, c), ["after"]);
}

#[test]
fn a_temporary_subscription_goes_with_its_consumer() {
    let broker = Broker::new(QueuesConfig::default());
    let info = broker
        .queues
        .open_consumer(
            1,
            ConsumerOptions {
                source: "news".into(),
                routing: Some(RoutingType::Multicast),
                ..ConsumerOptions::default()
            },
        )
        .unwrap();
    assert!(broker.has_queue("news", &info.queue));
    assert!(broker.stats("news", &info.queue).temporary);
    broker.send("news", None, &["one"]);
    broker.queues.close_consumer(1, info.id, NOW);
    assert!(!broker.has_queue("news", &info.queue));
    // Named subscriptions stay when their consumer leaves.
    let named = broker.subscriber(1, "news", "kept", false);
    broker.queues.close_consumer(1, named, NOW);
    assert!(broker.has_queue("news", "kept"));
}

/// A Kafka client's topic is a multicast address without any auto-creation, and what the
/// model sends there are plain records of that topic, keyed ones where Kafka's default
/// partitioner puts them.
#[test]
fn a_kafka_topic_is_a_multicast_address_and_sent_messages_are_its_records() {
    let broker = Broker::new(QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            pattern: "#".into(),
            auto_create_addresses: Some(false),
            auto_create_queues: Some(false),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    });
    broker.storage.create_topic("events", 3).unwrap();
    let c = broker.consumer(1, "events", None);

    // A Kafka producer's record is a message to the subscription.
    let kafka = encode_batch(&[NewRecord {
        key: Some(b"k"),
        value: Some(b"from kafka"),
        headers: vec![(b"origin", Some(b"librdkafka"))],
        timestamp_ms: NOW,
    }])
    .unwrap();
    broker.storage.append("events", 2, &kafka).unwrap();
    let got = broker.receive(1, c, MANY);
    assert_eq!(bodies(&got), ["from kafka"]);
    assert_eq!(got[0].message.key.as_deref(), Some(&b"k"[..]));
    assert_eq!(
        got[0].message.headers,
        vec![("origin".to_owned(), Some(b"librdkafka".to_vec()))]
    );
    broker.settle(1, c, &got, Outcome::Accepted);

    // What the model sends is a record of the topic, key, value and headers as sent.
    let keys: Vec<String> = (0..12).map(|i| format!("key-{i}")).collect();
    let messages: Vec<Message> = keys
        .iter()
        .map(|k| Message {
            key: Some(k.clone().into_bytes()),
            headers: vec![("h".into(), Some(b"v".to_vec()))],
            expiry_ms: Some(NOW + 60_000),
            ..message(&format!("value of {k}"))
        })
        .collect();
    let sent = broker.send_messages("events", None, messages);
    assert_eq!(sent.routed, 12);
    let mut records = Vec::new();
    for p in 0..3 {
        let read = broker.storage.read("events", p, 0, 1 << 20).unwrap();
        for batch in decode_batches(&read.batches) {
            for record in batch.records.unwrap() {
                records.push((p, record));
            }
        }
    }
    assert_eq!(records.len(), 13);
    for key in &keys {
        let (p, record) = records
            .iter()
            .find(|(_, r)| r.key.as_deref() == Some(key.as_bytes()))
            .unwrap();
        assert_eq!(
            record.value.as_deref(),
            Some(format!("value of {key}").as_bytes())
        );
        assert_eq!(record.headers[0], (b"h".to_vec(), Some(b"v".to_vec())));
        assert_eq!(
            record.headers[1],
            (
                b"sluice-expiry-ms".to_vec(),
                Some((NOW + 60_000).to_string().into_bytes())
            )
        );
        let hash = kafka_murmur2_partition(key.as_bytes(), 3);
        assert_eq!(*p, hash, "{key} in Kafka's partition");
    }
    let mut got = bodies(&broker.receive(1, c, MANY));
    got.sort();
    let mut want: Vec<String> = keys.iter().map(|k| format!("value of {k}")).collect();
    want.sort();
    assert_eq!(got, want);
}

/// Kafka's default partitioner, written out independently of the crate's.
fn kafka_murmur2_partition(key: &[u8], partitions: u32) -> u32 {
    let m: u32 = 0x5bd1e995;
    let mut h: u32 = 0x9747b28c ^ key.len() as u32;
    let mut i = 0;
    while i + 4 <= key.len() {
        let mut k = u32::from_le_bytes(key[i..i + 4].try_into().unwrap());
        k = k.wrapping_mul(m);
        k ^= k >> 24;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m) ^ k;
        i += 4;
    }
    let rest = &key[i..];
    if rest.len() == 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    (h & 0x7fff_ffff) % partitions
}

#[test]
fn an_address_that_is_no_topic_name_has_an_internal_log() {
    let broker = Broker::new(QueuesConfig::default());
    let c = broker.subscriber(1, "orders/eu east", "s", true);
    broker.send("orders/eu east", None, &["a", "b"]);
    assert_eq!(broker.drain(1, c), ["a", "b"]);
    assert!(broker.storage.topic("orders/eu east").is_none());
    assert!(
        broker
            .storage
            .list_topics()
            .iter()
            .any(|t| t.name.starts_with("__sluice.a."))
    );
}

#[test]
fn keyless_messages_go_round_robin_over_the_partitions() {
    let broker = Broker::new(QueuesConfig {
        partitions: 4,
        ..QueuesConfig::default()
    });
    let c = broker.subscriber(1, "spread", "s", true);
    let sent = numbered("m", 8);
    broker.send("spread", None, &refs(&sent));
    for p in 0..4 {
        assert_eq!(
            broker.storage.offsets("spread", p).unwrap().log_end,
            2,
            "partition {p}"
        );
    }
    let mut got = broker.drain(1, c);
    got.sort();
    let mut want = sent;
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn retention_below_a_subscription_counts_what_it_removed_as_expired() {
    let broker = Broker::new(QueuesConfig::default());
    let c = broker.subscriber(1, "feed", "slow", true);
    let sent = numbered("m", 5);
    broker.send("feed", None, &refs(&sent));
    // Kafka's retention (here DeleteRecords) removes the oldest three.
    broker.storage.delete_records("feed", 0, 3).unwrap();
    broker.queues.tick(NOW);
    let stats = broker.stats("feed", "slow");
    assert_eq!((stats.messages_expired, stats.message_count), (3, 2));
    assert_eq!(broker.drain(1, c), sent[3..]);
}

#[test]
fn a_subscription_follows_partitions_a_kafka_client_adds() {
    let broker = Broker::new(QueuesConfig::default());
    broker.storage.create_topic("grow", 1).unwrap();
    let c = broker.subscriber(1, "grow", "s", true);
    broker.storage.add_partitions("grow", 3).unwrap();
    broker.queues.tick(NOW);
    let keyed: Vec<Message> = (0..9)
        .map(|i| Message {
            key: Some(format!("k{i}").into_bytes()),
            ..message(&format!("v{i}"))
        })
        .collect();
    broker.send_messages("grow", None, keyed);
    let used = (0..3)
        .filter(|&p| broker.storage.offsets("grow", p).unwrap().log_end > 0)
        .count();
    assert!(used > 1, "keys spread over the new partitions");
    let mut got = broker.drain(1, c);
    got.sort();
    assert_eq!(got, (0..9).map(|i| format!("v{i}")).collect::<Vec<_>>());
}

/// A Kafka producer may store a batch whose checksum matches records that cannot be read: a
/// subscription steps over it (acknowledging its offsets) and goes on.
#[test]
fn a_batch_whose_records_cannot_be_read_is_stepped_over() {
    let broker = Broker::new(QueuesConfig::default());
    broker.storage.create_topic("raw", 1).unwrap();
    let c = broker.subscriber(1, "raw", "s", true);
    let record = |value: &'static [u8]| NewRecord {
        key: None,
        value: Some(value),
        headers: vec![],
        timestamp_ms: NOW,
    };
    let mut forged = encode_batch(&[record(b"one"), record(b"two")]).unwrap();
    // Three records announced where two are written.
    forged[57..61].copy_from_slice(&3i32.to_be_bytes());
    forged[23..27].copy_from_slice(&2i32.to_be_bytes());
    let crc = crc32c::crc32c(&forged[21..]);
    forged[17..21].copy_from_slice(&crc.to_be_bytes());
    broker.storage.append("raw", 0, &forged).unwrap();
    broker.send("raw", None, &["after"]);
    assert_eq!(broker.drain(1, c), ["after"]);
    assert_eq!(broker.stats("raw", "s").message_count, 0);
}
