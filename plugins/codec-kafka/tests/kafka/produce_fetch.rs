use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use sluice_sdk::codec::Broker;

use crate::client::{Client, batch, request};

pub fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

pub fn produce(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ]),
        ])
}

pub fn fetch(parts: &[(&str, i32, i64)], min_bytes: i32, max_wait_ms: i32) -> FetchRequest {
    let topics = parts
        .iter()
        .map(|(t, p, offset)| {
            FetchTopic::default()
                .with_topic(name(t))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(*p)
                        .with_fetch_offset(*offset)
                        .with_partition_max_bytes(1024 * 1024),
                ])
        })
        .collect();
    FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 * 1024 * 1024)
        .with_topics(topics)
}

fn with_base_offset(batch: &Bytes, base: i64) -> Vec<u8> {
    let mut b = batch.to_vec();
    b[..8].copy_from_slice(&base.to_be_bytes());
    b
}

#[test]
fn produce_then_fetch_returns_identical_batches_with_assigned_offsets() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let first = batch(&["a", "b"]);
    let second = batch(&["c"]);
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &produce("t", 0, first.clone(), -1));
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(
        (
            p.error_code,
            p.base_offset,
            p.log_append_time_ms,
            p.log_start_offset
        ),
        (0, 0, -1, 0)
    );
    let r: ProduceResponse = c.call(ApiKey::Produce, 3, &produce("t", 0, second.clone(), 1));
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 2);

    let mut expected = first.to_vec();
    expected.extend(with_base_offset(&second, 2));
    for v in [4, 7, 11, 12] {
        let r: FetchResponse = c.call(ApiKey::Fetch, v, &fetch(&[("t", 0, 0)], 1, 500));
        assert_eq!((r.error_code, r.session_id), (0, 0));
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        assert_eq!((p.high_watermark, p.last_stable_offset), (3, 3));
        if v >= 5 {
            assert_eq!(p.log_start_offset, 0);
        }
        assert_eq!(
            p.records.as_deref(),
            Some(expected.as_slice()),
            "fetch v{v}"
        );
    }

    // What a consumer decodes: the producer's records at the assigned offsets.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&[("t", 0, 2)], 1, 500));
    let mut records = BytesMut::from(r.responses[0].partitions[0].records.as_deref().unwrap());
    let sets = RecordBatchDecoder::decode_all(&mut records).unwrap();
    let got: Vec<(i64, Bytes)> = sets
        .iter()
        .flat_map(|s| {
            s.records
                .iter()
                .map(|r| (r.offset, r.value.clone().unwrap()))
        })
        .collect();
    assert_eq!(got, vec![(2, Bytes::from("c"))]);
}

#[test]
fn produce_every_served_version_appends() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    for (i, v) in (3..=9).enumerate() {
        let r: ProduceResponse = c.call(ApiKey::Produce, v, &produce("t", 0, batch(&["x"]), -1));
        let p = &r.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, i as i64), "produce v{v}");
    }
}

#[test]
fn produce_to_a_missing_topic_answers_unknown_topic_without_creating_it() {
    let mut c = Client::new();
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce("missing", 0, batch(&["x"]), -1),
    );
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (3, -1));
    assert!(!c.broker.has_topic("missing"));
    c.broker.create_topic("one", 1, &[], false).unwrap();
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &produce("one", 5, batch(&["x"]), -1));
    assert_eq!(r.responses[0].partition_responses[0].error_code, 3);
}

#[test]
fn produce_of_bytes_that_are_not_a_batch_answers_corrupt_message() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        8,
        &produce("t", 0, Bytes::from_static(&[1; 80]), -1),
    );
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 2);
    assert!(p.error_message.is_some());
}

#[test]
fn produce_with_invalid_acks_answers_invalid_required_acks() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &produce("t", 0, batch(&["x"]), 2));
    assert_eq!(r.responses[0].partition_responses[0].error_code, 21);
    assert_eq!(c.broker.offsets("t", 0).unwrap().log_end, 0);
}

#[test]
fn produce_with_acks_0_sends_no_response() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let out = c
        .send(request(
            ApiKey::Produce,
            9,
            1,
            &produce("t", 0, batch(&["x"]), 0),
        ))
        .unwrap();
    assert!(out.write.is_empty() && out.waits.is_empty() && out.close.is_none());
    assert_eq!(c.broker.offsets("t", 0).unwrap().log_end, 1);
}

#[test]
fn produce_with_acks_0_that_fails_closes_the_connection() {
    let mut c = Client::new();
    let out = c
        .send(request(
            ApiKey::Produce,
            9,
            1,
            &produce("missing", 0, batch(&["x"]), 0),
        ))
        .unwrap();
    assert!(out.write.is_empty());
    let reason = out.close.expect("closed");
    assert!(reason.contains("missing-0"), "{reason}");
}

#[test]
fn fetch_of_an_offset_outside_the_log_answers_offset_out_of_range() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&[("t", 0, 100)], 1, 500));
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (1, -1));
    assert_eq!(p.records.as_deref(), Some(&[][..]));
}

#[test]
fn fetch_of_a_missing_topic_answers_unknown_topic_at_once() {
    let mut c = Client::new();
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&[("missing", 0, 0)], 1, 500));
    assert_eq!(r.responses[0].partitions[0].error_code, 3);
}

#[test]
fn fetch_respects_max_bytes_but_always_includes_the_first_batch() {
    let mut c = Client::new();
    c.broker.create_topic("t", 2, &[], false).unwrap();
    let big = batch(&["0123456789"; 20]);
    for p in 0..2 {
        let _: ProduceResponse = c.call(ApiKey::Produce, 9, &produce("t", p, big.clone(), -1));
    }
    let parts = [("t", 0, 0), ("t", 1, 0)];

    // Response limit below one batch: the first partition's batch still comes whole, the
    // second partition gets nothing but its bounds.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&parts, 1, 500).with_max_bytes(10));
    let got: Vec<_> = r
        .responses
        .iter()
        .map(|t| t.partitions[0].records.as_ref().unwrap().len())
        .collect();
    assert_eq!(got, vec![big.len(), 0]);
    assert_eq!(r.responses[1].partitions[0].high_watermark, 20);

    // Room for both.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&parts, 1, 500));
    let got: Vec<_> = r
        .responses
        .iter()
        .map(|t| t.partitions[0].records.as_ref().unwrap().len())
        .collect();
    assert_eq!(got, vec![big.len(), big.len()]);

    // A partition limit below one batch: only the first partition with data may exceed it.
    let mut req = fetch(&parts, 1, 500);
    for t in &mut req.topics {
        t.partitions[0].partition_max_bytes = 10;
    }
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &req);
    let got: Vec<_> = r
        .responses
        .iter()
        .map(|t| t.partitions[0].records.as_ref().unwrap().len())
        .collect();
    assert_eq!(got, vec![big.len(), 0]);
}

#[test]
fn fetch_with_a_session_id_answers_fetch_session_id_not_found() {
    let mut c = Client::new();
    let r: FetchResponse = c.call(
        ApiKey::Fetch,
        7,
        &fetch(&[("t", 0, 0)], 1, 500)
            .with_session_id(42)
            .with_session_epoch(1),
    );
    assert_eq!(r.error_code, 70);
    assert!(r.responses.is_empty());
}
