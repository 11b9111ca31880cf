//! Produce with acks waits for durability: its answer is parked behind a host wait until the
//! high watermark passes what it appended, and everything pipelined behind it waits its turn.

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse,
};
use sluice_sdk::codec::{Broker, Output, WakeOn};

use crate::client::{Client, batch, decode, frames, request};
use crate::produce_fetch::{name, produce};

/// A client whose broker holds the high watermark back, as `fsync` does until the sync
/// thread has run.
fn held(partitions: u32) -> Client {
    let c = Client::new();
    c.broker.create_topic("t", partitions, &[], false).unwrap();
    c.broker.hold_high_watermark();
    c
}

/// One produce request writing `records` to each of `partitions` of topic `t`.
fn produce_to(partitions: &[i32], records: Bytes, acks: i16, timeout_ms: i32) -> ProduceRequest {
    let data = partitions
        .iter()
        .map(|p| {
            PartitionProduceData::default()
                .with_index(*p)
                .with_records(Some(records.clone()))
        })
        .collect();
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(timeout_ms)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name("t"))
                .with_partition_data(data),
        ])
}

fn send(c: &mut Client, cid: i32, body: &ProduceRequest) -> Output {
    c.send(request(ApiKey::Produce, 9, cid, body)).unwrap()
}

/// (partition, error code, base offset) of every partition of a produce response.
fn answered(out: &Output, cid: i32) -> Vec<(i32, i16, i64)> {
    let frames = frames(&out.write);
    assert_eq!(frames.len(), 1, "one response expected");
    let (got, r): (i32, ProduceResponse) = decode(&frames[0], ApiKey::Produce, 9);
    assert_eq!(got, cid);
    r.responses[0]
        .partition_responses
        .iter()
        .map(|p| (p.index, p.error_code, p.base_offset))
        .collect()
}

#[test]
fn produce_with_acks_all_is_parked_until_the_high_watermark_passes_then_answered() {
    let mut c = held(1);
    let out = send(&mut c, 1, &produce_to(&[0], batch(&["a", "b"]), -1, 3000));
    assert!(out.write.is_empty(), "not durable yet: no answer");
    assert_eq!(out.waits.len(), 1);
    let wait = &out.waits[0];
    assert_eq!((wait.timeout_ms, wait.wake_on), (3000, WakeOn::All));
    let watched: Vec<_> = wait
        .watch
        .iter()
        .map(|w| (w.topic.as_str(), w.partition, w.offset))
        .collect();
    assert_eq!(
        watched,
        vec![("t", 0, 1)],
        "watches the last offset appended"
    );
    assert!(c.conn.is_waiting());
    assert_eq!(
        c.broker.offsets("t", 0).unwrap().log_end,
        2,
        "appended at once"
    );

    c.broker.release("t", 0);
    let out = c.wake(wait.token, false);
    assert_eq!(answered(&out, 1), vec![(0, 0, 0)]);
    assert!(out.waits.is_empty() && !c.conn.is_waiting());
}

#[test]
fn produce_with_acks_1_waits_too_and_acks_0_never_does() {
    let mut c = held(1);
    let out = send(&mut c, 1, &produce_to(&[0], batch(&["a"]), 1, 3000));
    assert!(out.write.is_empty());
    assert_eq!(out.waits.len(), 1);
    c.broker.release("t", 0);
    assert_eq!(
        answered(&c.wake(out.waits[0].token, false), 1),
        vec![(0, 0, 0)]
    );

    let out = send(&mut c, 2, &produce_to(&[0], batch(&["b"]), 0, 3000));
    assert!(out.write.is_empty() && out.waits.is_empty() && out.close.is_none());
    assert!(!c.conn.is_waiting());
}

#[test]
fn produce_to_a_topic_durable_at_once_answers_without_a_wait() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let out = send(&mut c, 1, &produce_to(&[0], batch(&["a"]), -1, 3000));
    assert!(out.waits.is_empty());
    assert_eq!(answered(&out, 1), vec![(0, 0, 0)]);
}

#[test]
fn produce_not_durable_by_its_timeout_answers_request_timed_out() {
    let mut c = held(2);
    let out = send(&mut c, 1, &produce_to(&[0, 1], batch(&["a"]), -1, 0));
    let wait = &out.waits[0];
    assert_eq!(wait.timeout_ms, 1, "a timeout of 0 still waits a little");
    assert_eq!(wait.watch.len(), 2);
    // Partition 1 made it to disk in time, partition 0 did not.
    c.broker.release("t", 1);
    let out = c.wake(wait.token, true);
    assert_eq!(answered(&out, 1), vec![(0, 7, -1), (1, 0, 0)]);
    assert!(!c.conn.is_waiting());
}

#[test]
fn produce_woken_early_rearms_for_the_partitions_still_short() {
    let mut c = held(3);
    let out = send(&mut c, 1, &produce_to(&[0, 1, 2], batch(&["a"]), -1, 3000));
    c.broker.release("t", 1);
    let out = c.wake(out.waits[0].token, false);
    assert!(out.write.is_empty(), "two partitions are not durable yet");
    let partitions: Vec<u32> = out.waits[0].watch.iter().map(|w| w.partition).collect();
    assert_eq!(partitions, vec![0, 2]);
    assert_eq!(out.waits[0].wake_on, WakeOn::All);

    c.broker.release("t", 0);
    c.broker.release("t", 2);
    let out = c.wake(out.waits[0].token, false);
    assert_eq!(answered(&out, 1), vec![(0, 0, 0), (1, 0, 0), (2, 0, 0)]);
}

#[test]
fn a_partition_that_fails_or_vanishes_while_waiting_answers_its_error() {
    let mut c = held(2);
    let out = send(&mut c, 1, &produce_to(&[0, 1], batch(&["a"]), -1, 3000));
    c.broker.fail("t", 1);
    c.broker.release("t", 0);
    let out = c.wake(out.waits[0].token, false);
    assert_eq!(answered(&out, 1), vec![(0, 0, 0), (1, 56, -1)]);

    let out = send(&mut c, 2, &produce_to(&[0], batch(&["b"]), -1, 3000));
    c.broker.delete_topic("t").unwrap();
    let out = c.wake(out.waits[0].token, false);
    assert_eq!(answered(&out, 2), vec![(0, 3, -1)]);
}

#[test]
fn a_failed_append_is_answered_with_the_others_once_they_are_durable() {
    let mut c = held(1);
    let out = send(&mut c, 1, &produce_to(&[0, 5], batch(&["a"]), -1, 3000));
    let watched: Vec<u32> = out.waits[0].watch.iter().map(|w| w.partition).collect();
    assert_eq!(watched, vec![0], "only what was appended is waited for");
    c.broker.release("t", 0);
    assert_eq!(
        answered(&c.wake(out.waits[0].token, false), 1),
        vec![(0, 0, 0), (5, 3, -1)]
    );
}

#[test]
fn pipelined_requests_behind_a_parked_produce_stay_in_order() {
    let mut c = held(1);
    // A produce, a metadata request and a second produce, in one chunk.
    let mut chunk = request(ApiKey::Produce, 9, 1, &produce("t", 0, batch(&["a"]), -1));
    chunk.extend(request(
        ApiKey::Metadata,
        12,
        2,
        &MetadataRequest::default().with_topics(None),
    ));
    chunk.extend(request(
        ApiKey::Produce,
        9,
        3,
        &produce("t", 0, batch(&["b"]), -1),
    ));
    let out = c.send(chunk).unwrap();
    assert!(
        out.write.is_empty(),
        "everything waits behind the first produce"
    );
    assert_eq!(out.waits.len(), 1, "one wait at a time");
    assert_eq!(
        c.broker.offsets("t", 0).unwrap().log_end,
        2,
        "both produces appended"
    );

    // One sync covers both produces: all three answers go, in request order.
    c.broker.release("t", 0);
    let out_first = c.wake(out.waits[0].token, false);
    let f = frames(&out_first.write);
    assert_eq!(f.len(), 3);
    let cids: Vec<i32> = vec![
        decode::<ProduceResponse>(&f[0], ApiKey::Produce, 9).0,
        decode::<MetadataResponse>(&f[1], ApiKey::Metadata, 12).0,
        decode::<ProduceResponse>(&f[2], ApiKey::Produce, 9).0,
    ];
    assert_eq!(cids, vec![1, 2, 3]);
    assert!(!c.conn.is_waiting());
}

#[test]
fn a_produce_behind_a_parked_one_parks_in_turn_when_it_is_not_durable() {
    let mut c = held(2);
    let first = send(&mut c, 1, &produce_to(&[0], batch(&["a"]), -1, 3000));
    let second = send(&mut c, 2, &produce_to(&[1], batch(&["b"]), -1, 3000));
    assert!(second.write.is_empty() && second.waits.is_empty());

    c.broker.release("t", 0);
    let out = c.wake(first.waits[0].token, false);
    assert_eq!(answered(&out, 1), vec![(0, 0, 0)]);
    assert_eq!(out.waits.len(), 1, "the second produce arms its own wait");
    assert_eq!(out.waits[0].watch[0].partition, 1);

    let out = c.wake(out.waits[0].token, true);
    assert_eq!(answered(&out, 2), vec![(1, 7, -1)]);
}

#[test]
fn a_pipelining_producer_is_paused_not_answered_early_so_no_batch_is_stored_twice() {
    let mut c = held(1);
    let first = send(&mut c, 1, &produce_to(&[0], batch(&["a"]), -1, 3000));
    assert!(
        !first.pause_input,
        "one parked produce leaves room behind it"
    );
    // librdkafka pipelines: 300 more produces in one read, more than the queue holds.
    let chunk: Vec<u8> = (2..=301)
        .flat_map(|cid| {
            request(
                ApiKey::Produce,
                9,
                cid,
                &produce_to(&[0], batch(&["b"]), -1, 3000),
            )
        })
        .collect();
    let out = c.send(chunk).unwrap();
    assert!(
        out.write.is_empty(),
        "nothing is answered before the first is durable"
    );
    assert!(out.pause_input, "input pauses while the queue is full");

    // Each fsync lets the queue move; input resumes once everything held is dispatched.
    let mut token = first.waits[0].token;
    let mut answers = Vec::new();
    for _ in 0..301 {
        c.broker.release("t", 0);
        let out = c.wake(token, false);
        for f in frames(&out.write) {
            let (cid, r): (i32, ProduceResponse) = decode(&f, ApiKey::Produce, 9);
            let p = &r.responses[0].partition_responses[0];
            answers.push((cid, p.error_code, p.base_offset));
        }
        match out.waits.first() {
            Some(w) => token = w.token,
            None => {
                assert!(!out.pause_input, "input resumes once the queue drained");
                break;
            }
        }
    }
    let expected: Vec<_> = (1..=301).map(|cid| (cid, 0, i64::from(cid - 1))).collect();
    assert_eq!(
        answers, expected,
        "every produce answered once, in order, none timed out"
    );
    assert_eq!(
        c.broker.offsets("t", 0).unwrap().log_end,
        301,
        "each batch stored once"
    );
}
