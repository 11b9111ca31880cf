//! Long polls: a fetch short of `min_bytes` parks behind a host wait, and everything after it
//! waits its turn.

use kafka_protocol::messages::{
    ApiKey, FetchResponse, MetadataRequest, MetadataResponse, ProduceResponse,
};
use sluice_sdk::codec::{Broker, Output, WakeOn};

use crate::client::{Client, batch, decode, frames, request};
use crate::produce_fetch::{fetch, produce};

fn topic(c: &Client, partitions: u32) {
    c.broker.create_topic("t", partitions, &[], false).unwrap();
}

fn send_fetch(c: &mut Client, cid: i32, part: i32, offset: i64, min_bytes: i32) -> Output {
    c.send(request(
        ApiKey::Fetch,
        12,
        cid,
        &fetch(&[("t", part, offset)], min_bytes, 500),
    ))
    .unwrap()
}

fn fetched(frame: &bytes::Bytes, cid: i32) -> usize {
    let (got, r): (i32, FetchResponse) = decode(frame, ApiKey::Fetch, 12);
    assert_eq!(got, cid);
    r.responses[0].partitions[0].records.as_ref().unwrap().len()
}

#[test]
fn fetch_short_of_min_bytes_parks_and_answers_when_data_arrives() {
    let mut c = Client::new();
    topic(&c, 1);
    let out = send_fetch(&mut c, 1, 0, 0, 1);
    assert!(out.write.is_empty());
    assert_eq!(out.waits.len(), 1);
    let wait = &out.waits[0];
    assert_eq!(wait.timeout_ms, 500);
    assert_eq!(wait.watch.len(), 1);
    assert_eq!(
        (
            wait.watch[0].topic.as_str(),
            wait.watch[0].partition,
            wait.watch[0].offset
        ),
        ("t", 0, 0)
    );
    assert!(c.conn.is_waiting());

    let b = batch(&["late"]);
    c.broker.append("t", 0, &b).unwrap();
    let out = c.wake(wait.token, false);
    let frames = frames(&out.write);
    assert_eq!(frames.len(), 1);
    assert_eq!(fetched(&frames[0], 1), b.len());
    assert!(out.waits.is_empty());
    assert!(!c.conn.is_waiting());
}

#[test]
fn parked_fetch_woken_at_its_timeout_answers_with_what_there_is() {
    let mut c = Client::new();
    topic(&c, 1);
    let out = send_fetch(&mut c, 1, 0, 0, 1);
    let out = c.wake(out.waits[0].token, true);
    let frames = frames(&out.write);
    assert_eq!(fetched(&frames[0], 1), 0);
    assert!(out.waits.is_empty());
}

#[test]
fn fetch_with_enough_data_or_no_wait_answers_at_once() {
    let mut c = Client::new();
    topic(&c, 1);
    let out = c
        .send(request(ApiKey::Fetch, 12, 1, &fetch(&[("t", 0, 0)], 1, 0)))
        .unwrap();
    assert!(out.waits.is_empty());
    assert_eq!(fetched(&frames(&out.write)[0], 1), 0);

    c.broker.append("t", 0, &batch(&["x"])).unwrap();
    let out = send_fetch(&mut c, 2, 0, 0, 1);
    assert!(out.waits.is_empty());
    assert!(fetched(&frames(&out.write)[0], 2) > 0);
}

#[test]
fn fetch_short_of_min_bytes_watches_from_the_log_end_not_the_fetch_offset() {
    let mut c = Client::new();
    topic(&c, 1);
    c.broker.append("t", 0, &batch(&["x"])).unwrap();
    let out = send_fetch(&mut c, 1, 0, 0, 1024 * 1024);
    assert!(out.write.is_empty());
    // Data at offset 0 is already there; waking "when the log passes 0" would wake at once.
    assert_eq!(out.waits[0].watch[0].offset, 1);
}

#[test]
fn responses_stay_in_request_order_behind_a_parked_fetch() {
    let mut c = Client::new();
    topic(&c, 1);
    let token = send_fetch(&mut c, 1, 0, 0, 1).waits[0].token;

    let out = c
        .send(request(
            ApiKey::Metadata,
            12,
            2,
            &MetadataRequest::default().with_topics(None),
        ))
        .unwrap();
    assert!(out.write.is_empty() && out.waits.is_empty());
    let b = batch(&["behind"]);
    let out = c
        .send(request(
            ApiKey::Produce,
            9,
            3,
            &produce("t", 0, b.clone(), -1),
        ))
        .unwrap();
    assert!(out.write.is_empty() && out.waits.is_empty());

    let out = c.wake(token, false);
    let frames = frames(&out.write);
    assert_eq!(frames.len(), 3);
    assert_eq!(
        fetched(&frames[0], 1),
        b.len(),
        "the produce behind it already ran"
    );
    let (cid, _): (i32, MetadataResponse) = decode(&frames[1], ApiKey::Metadata, 12);
    assert_eq!(cid, 2);
    let (cid, p): (i32, ProduceResponse) = decode(&frames[2], ApiKey::Produce, 9);
    assert_eq!(
        (cid, p.responses[0].partition_responses[0].base_offset),
        (3, 0)
    );
}

#[test]
fn pipelined_requests_in_one_chunk_queue_behind_the_fetch() {
    let mut c = Client::new();
    topic(&c, 1);
    let mut chunk = request(ApiKey::Fetch, 12, 1, &fetch(&[("t", 0, 0)], 1, 500));
    chunk.extend(request(
        ApiKey::Metadata,
        12,
        2,
        &MetadataRequest::default(),
    ));
    let out = c.send(chunk).unwrap();
    assert!(out.write.is_empty());
    let out = c.wake(out.waits[0].token, true);
    assert_eq!(frames(&out.write).len(), 2);
}

#[test]
fn fetch_behind_a_parked_fetch_runs_when_its_turn_comes() {
    let mut c = Client::new();
    topic(&c, 2);
    let first = send_fetch(&mut c, 1, 0, 0, 1).waits[0].token;
    let out = send_fetch(&mut c, 2, 1, 0, 1);
    assert!(
        out.write.is_empty() && out.waits.is_empty(),
        "one wait at a time"
    );

    // The first times out empty; the second runs, finds nothing, and parks with its own wait.
    let out = c.wake(first, true);
    let f = frames(&out.write);
    assert_eq!(f.len(), 1);
    assert_eq!(fetched(&f[0], 1), 0);
    assert_eq!(out.waits.len(), 1);
    assert_eq!(out.waits[0].watch[0].partition, 1);

    let b = batch(&["p1"]);
    c.broker.append("t", 1, &b).unwrap();
    let out = c.wake(out.waits[0].token, false);
    assert_eq!(fetched(&frames(&out.write)[0], 2), b.len());
}

#[test]
fn wake_for_an_unknown_token_is_harmless() {
    let mut c = Client::new();
    topic(&c, 1);
    let token = send_fetch(&mut c, 1, 0, 0, 1).waits[0].token;
    let out = c.wake(token.wrapping_add(99), true);
    assert!(out.write.is_empty() && out.waits.is_empty());
    assert!(c.conn.is_waiting());
    assert_eq!(frames(&c.wake(token, true).write).len(), 1);
}

#[test]
fn a_full_queue_behind_a_parked_fetch_pauses_input_until_the_fetch_answers() {
    let mut c = Client::new();
    topic(&c, 1);
    let token = send_fetch(&mut c, 1, 0, 0, 1).waits[0].token;
    // One read carrying more requests than the queue holds.
    let chunk: Vec<u8> = (2..=400)
        .flat_map(|cid| request(ApiKey::Metadata, 12, cid, &MetadataRequest::default()))
        .collect();
    let out = c.send(chunk).unwrap();
    assert!(out.write.is_empty() && out.waits.is_empty());
    assert!(out.pause_input, "input pauses while the queue is full");
    assert!(c.conn.is_waiting());

    // The fetch answers at its timeout; everything behind it follows in order, and input
    // resumes.
    let out = c.wake(token, true);
    let written = frames(&out.write);
    assert_eq!(written.len(), 400);
    assert_eq!(fetched(&written[0], 1), 0);
    for (i, frame) in written.iter().enumerate().skip(1) {
        let (cid, _): (i32, MetadataResponse) = decode(frame, ApiKey::Metadata, 12);
        assert_eq!(cid, i32::try_from(i).unwrap() + 1);
    }
    assert!(!out.pause_input && !c.conn.is_waiting());
}

#[test]
fn fetch_serves_only_what_is_below_the_high_watermark_and_reports_it() {
    let mut c = Client::new();
    topic(&c, 1);
    c.broker.hold_high_watermark();
    let b = batch(&["not yet durable"]);
    c.broker.append("t", 0, &b).unwrap();
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&[("t", 0, 0)], 0, 0));
    let p = &r.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.high_watermark, p.last_stable_offset),
        (0, 0, 0)
    );
    assert_eq!(p.records.as_ref().unwrap().len(), 0);

    c.broker.release("t", 0);
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&[("t", 0, 0)], 0, 0));
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.high_watermark, p.last_stable_offset), (1, 1));
    assert_eq!(p.records.as_ref().unwrap().len(), b.len());
}

#[test]
fn fetch_at_an_offset_not_yet_durable_watches_that_offset() {
    let mut c = Client::new();
    topic(&c, 1);
    c.broker.hold_high_watermark();
    c.broker.append("t", 0, &batch(&["a", "b", "c"])).unwrap();
    let out = send_fetch(&mut c, 1, 0, 2, 1);
    assert_eq!(out.waits[0].watch[0].offset, 2);
    assert_eq!(out.waits[0].wake_on, WakeOn::Any);
}

#[test]
fn fetch_woken_by_data_short_of_min_bytes_parks_again_until_its_timeout() {
    let mut c = Client::new();
    topic(&c, 1);
    let out = send_fetch(&mut c, 1, 0, 0, 1024 * 1024);
    let b = batch(&["small"]);
    c.broker.append("t", 0, &b).unwrap();
    let out = c.wake(out.waits[0].token, false);
    assert!(out.write.is_empty(), "still short of min_bytes");
    assert_eq!(out.waits.len(), 1);
    assert_eq!(
        out.waits[0].watch[0].offset, 1,
        "watches from the new high watermark"
    );
    assert_eq!(out.waits[0].timeout_ms, 500);

    let out = c.wake(out.waits[0].token, true);
    assert_eq!(fetched(&frames(&out.write)[0], 1), b.len());
    assert!(out.waits.is_empty());
}

#[test]
fn fetch_woken_early_again_and_again_answers_after_a_bounded_number_of_waits() {
    let mut c = Client::new();
    topic(&c, 1);
    let mut out = send_fetch(&mut c, 1, 0, 0, 1024 * 1024);
    let mut waits = 1;
    while out.write.is_empty() {
        assert!(waits < 100, "the fetch never answered");
        c.broker.append("t", 0, &batch(&["drip"])).unwrap();
        out = c.wake(out.waits[0].token, false);
        waits += 1;
    }
    assert_eq!(waits, 1 + 1 + sluice_codec_kafka::FETCH_WAKES_MAX as usize);
    assert!(fetched(&frames(&out.write)[0], 1) > 0);
    assert!(out.waits.is_empty());
}
