//! Versions below kafka-protocol's floor, advertised so librdkafka enables its features:
//! read and answered by hand, in their own wire formats.

use kafka_protocol::messages::ApiKey;
use sluice_sdk::codec::Broker;

use crate::client::{Client, Raw, Read, batch, raw_request};

fn produce_body(acks: i16) -> Vec<u8> {
    Raw::default()
        .i16(acks)
        .i32(1000)
        .i32(1)
        .str("t")
        .i32(1)
        .i32(0)
        .bytes(&batch(&["old"]))
        .0
}

fn fetch_body(version: i16) -> Vec<u8> {
    let mut r = Raw::default().i32(-1).i32(500).i32(1);
    if version >= 3 {
        r = r.i32(1 << 20);
    }
    r.i32(1).str("t").i32(1).i32(0).i64(0).i32(1 << 20).0
}

fn list_offsets_v0_body() -> Vec<u8> {
    Raw::default()
        .i32(-1)
        .i32(1)
        .str("t")
        .i32(3)
        .i32(0)
        .i64(-1)
        .i32(1)
        .i32(0)
        .i64(-2)
        .i32(1)
        .i32(7)
        .i64(-1)
        .i32(1)
        .0
}

fn create_topics_body(version: i16, name: &str, partitions: i32) -> Vec<u8> {
    let r = Raw::default()
        .i32(1)
        .str(name)
        .i32(partitions)
        .i16(1)
        .i32(0)
        .i32(0)
        .i32(1000);
    if version >= 1 { r.i8(0).0 } else { r.0 }
}

fn delete_topics_v0_body(names: &[&str]) -> Vec<u8> {
    let mut r = Raw::default().i32(names.len() as i32);
    for n in names {
        r = r.str(n);
    }
    r.i32(1000).0
}

/// Old-version requests for the fuzz loop.
pub fn seeds() -> Vec<Vec<u8>> {
    vec![
        raw_request(ApiKey::Produce, 2, 1, &produce_body(1)),
        raw_request(ApiKey::Fetch, 3, 1, &fetch_body(3)),
        raw_request(ApiKey::ListOffsets, 0, 1, &list_offsets_v0_body()),
        raw_request(ApiKey::CreateTopics, 0, 1, &create_topics_body(0, "fz", 1)),
        raw_request(ApiKey::DeleteTopics, 0, 1, &delete_topics_v0_body(&["fz"])),
    ]
}

#[test]
fn produce_v0_to_v2_answers_unsupported_for_message_format_without_appending() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    for v in 0..=2 {
        let mut r = Read(c.call_raw(ApiKey::Produce, v, &produce_body(1)));
        assert_eq!(r.i32(), 1);
        assert_eq!(r.str(), "t");
        assert_eq!(r.i32(), 1);
        assert_eq!((r.i32(), r.i16(), r.i64()), (0, 43, -1));
        if v >= 2 {
            assert_eq!(r.i64(), -1, "log_append_time_ms");
        }
        if v >= 1 {
            assert_eq!(r.i32(), 0, "throttle_time_ms");
        }
        r.done();
    }
    assert_eq!(c.broker.offsets("t", 0).unwrap().log_end, 0);
}

#[test]
fn produce_v0_with_acks_0_closes_the_connection() {
    let mut c = Client::new();
    let out = c
        .send(raw_request(ApiKey::Produce, 0, 1, &produce_body(0)))
        .unwrap();
    assert!(out.write.is_empty());
    assert!(out.close.is_some());
}

#[test]
fn fetch_v0_to_v3_answers_unsupported_version_per_partition() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    for v in 0..=3 {
        let out = c
            .send(raw_request(ApiKey::Fetch, v, 5, &fetch_body(v)))
            .unwrap();
        assert!(out.waits.is_empty(), "old fetches never park");
        let mut r = Read(crate::client::frames(&out.write).remove(0));
        assert_eq!(r.i32(), 5);
        if v >= 1 {
            assert_eq!(r.i32(), 0, "throttle_time_ms");
        }
        assert_eq!(r.i32(), 1);
        assert_eq!(r.str(), "t");
        assert_eq!(r.i32(), 1);
        assert_eq!((r.i32(), r.i16(), r.i64(), r.i32()), (0, 35, -1, 0));
        r.done();
    }
}

#[test]
fn list_offsets_v0_answers_old_style_offset_lists() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    c.broker.append("t", 0, &batch(&["a", "b"])).unwrap();
    let mut r = Read(c.call_raw(ApiKey::ListOffsets, 0, &list_offsets_v0_body()));
    assert_eq!(r.i32(), 1);
    assert_eq!(r.str(), "t");
    assert_eq!(r.i32(), 3);
    assert_eq!((r.i32(), r.i16(), r.i32(), r.i64()), (0, 0, 1, 2), "latest");
    assert_eq!(
        (r.i32(), r.i16(), r.i32(), r.i64()),
        (0, 0, 1, 0),
        "earliest"
    );
    assert_eq!(
        (r.i32(), r.i16(), r.i32()),
        (7, 3, 0),
        "unknown partition: no offsets"
    );
    r.done();
}

#[test]
fn create_topics_v0_and_v1_create_and_report_errors() {
    let mut c = Client::new();
    let mut r = Read(c.call_raw(ApiKey::CreateTopics, 0, &create_topics_body(0, "v0", 2)));
    assert_eq!((r.i32(), r.str(), r.i16()), (1, "v0".to_string(), 0));
    r.done();
    assert!(c.broker.has_topic("v0"));

    let mut r = Read(c.call_raw(ApiKey::CreateTopics, 1, &create_topics_body(1, "v0", 2)));
    assert_eq!((r.i32(), r.str(), r.i16()), (1, "v0".to_string(), 36));
    assert_ne!(r.str(), "<null>", "v1 carries an error message");
    r.done();
}

#[test]
fn delete_topics_v0_deletes_and_reports_unknown_topics() {
    let mut c = Client::new();
    c.broker.create_topic("gone", 1, &[], false).unwrap();
    let mut r = Read(c.call_raw(
        ApiKey::DeleteTopics,
        0,
        &delete_topics_v0_body(&["gone", "never"]),
    ));
    assert_eq!(r.i32(), 2);
    assert_eq!((r.str(), r.i16()), ("gone".to_string(), 0));
    assert_eq!((r.str(), r.i16()), ("never".to_string(), 3));
    r.done();
    assert!(!c.broker.has_topic("gone"));
}
