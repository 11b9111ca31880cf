//! InitProducerId, and Produce from idempotent producers: sequence and epoch checks, duplicates
//! answered with their original offsets, and the host's refusals as Kafka error codes.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProduceResponse, ProducerId,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::Broker;

use crate::client::{Client, Producer, batch, producer_batch, request};
use crate::produce_fetch::produce;

/// A magic-2 batch from producer `id` at `epoch`, its first record at sequence `seq`; each
/// record keyed when `keyed`.
fn idempotent(values: &[&str], id: i64, epoch: i16, seq: i32, keyed: bool) -> Bytes {
    let producer = Producer {
        id,
        epoch,
        first_sequence: seq,
        keyed,
    };
    producer_batch(values, 1_700_000_000_000, producer)
}

fn init(transactional_id: Option<&str>, current: (i64, i16)) -> InitProducerIdRequest {
    InitProducerIdRequest::default()
        .with_transactional_id(
            transactional_id.map(|t| TransactionalId(StrBytes::from_string(t.to_owned()))),
        )
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(current.0))
        .with_producer_epoch(current.1)
}

/// The (error, base offset) a produce of `records` to t-0 answers at `version`.
fn send(c: &mut Client, version: i16, records: Bytes) -> (i16, i64) {
    let r: ProduceResponse = c.call(ApiKey::Produce, version, &produce("t", 0, records, -1));
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Idempotence seeds for the fuzz loop.
pub fn seeds() -> Vec<Vec<u8>> {
    vec![
        request(ApiKey::InitProducerId, 5, 1, &init(None, (-1, -1))),
        request(ApiKey::InitProducerId, 1, 1, &init(Some("tx"), (-1, -1))),
        request(
            ApiKey::Produce,
            9,
            1,
            &produce("t", 0, idempotent(&["a"], 1000, 0, 0, true), -1),
        ),
    ]
}

#[test]
fn init_producer_id_hands_out_fresh_ids_at_every_version() {
    let mut c = Client::new();
    let mut ids = Vec::new();
    for v in 0..=5 {
        let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, v, &init(None, (-1, -1)));
        assert_eq!((r.error_code, r.producer_epoch), (0, 0), "v{v}");
        ids.push(r.producer_id.0);
    }
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique, ids, "every id is fresh");
}

#[test]
fn init_producer_id_with_the_current_identity_bumps_the_epoch() {
    let mut c = Client::new();
    let first: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init(None, (-1, -1)));
    let id = first.producer_id.0;
    for v in 3..=5 {
        let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, v, &init(None, (id, 0)));
        assert_eq!(
            (r.error_code, r.producer_id.0, r.producer_epoch),
            (0, id, 1),
            "v{v}"
        );
    }
    let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 3, &init(None, (id, -1)));
    assert_eq!(
        (r.error_code, r.producer_id.0, r.producer_epoch),
        (42, -1, -1)
    );
}

#[test]
fn init_producer_id_for_a_transactional_producer_is_refused() {
    let mut c = Client::new();
    for v in [0, 2, 5] {
        let r: InitProducerIdResponse =
            c.call(ApiKey::InitProducerId, v, &init(Some("tx-1"), (-1, -1)));
        assert_eq!(
            (r.error_code, r.producer_id.0, r.producer_epoch),
            (53, -1, -1),
            "v{v}"
        );
    }
}

#[test]
fn idempotent_produce_in_sequence_duplicates_and_gaps() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init(None, (-1, -1)));
    let id = r.producer_id.0;
    for v in [3, 7, 9] {
        c.broker.delete_topic("t").unwrap();
        c.broker.create_topic("t", 1, &[], false).unwrap();
        assert_eq!(
            send(&mut c, v, idempotent(&["a", "b"], id, 0, 0, false)),
            (0, 0)
        );
        assert_eq!(send(&mut c, v, idempotent(&["c"], id, 0, 2, false)), (0, 2));
        // A retry of the last batch: stored once, answered with its first offsets.
        assert_eq!(
            send(&mut c, v, idempotent(&["c"], id, 0, 2, false)),
            (0, 2),
            "v{v}"
        );
        assert_eq!(c.broker.offsets("t", 0).unwrap().log_end, 3);
        // A gap.
        assert_eq!(
            send(&mut c, v, idempotent(&["e"], id, 0, 7, false)).0,
            45,
            "v{v}"
        );
        // A newer epoch takes over at sequence 0; the old one is fenced.
        assert_eq!(send(&mut c, v, idempotent(&["f"], id, 1, 0, false)), (0, 3));
        assert_eq!(
            send(&mut c, v, idempotent(&["g"], id, 0, 3, false)).0,
            47,
            "v{v}"
        );
        assert_eq!(c.broker.offsets("t", 0).unwrap().log_end, 4);
    }
}

#[test]
fn produce_above_max_message_bytes_answers_message_too_large() {
    let mut c = Client::new();
    c.broker
        .create_topic("t", 1, &[("max.message.bytes".into(), "100".into())], false)
        .unwrap();
    let big = "x".repeat(200);
    for v in [3, 8, 9] {
        let r: ProduceResponse = c.call(ApiKey::Produce, v, &produce("t", 0, batch(&[&big]), -1));
        let p = &r.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (10, -1), "v{v}");
        if v >= 8 {
            assert!(p.error_message.is_some());
            assert!(p.record_errors.is_empty());
        }
    }
    assert_eq!(c.broker.offsets("t", 0).unwrap().log_end, 0);
}

#[test]
fn keyless_records_on_a_compacted_topic_answer_invalid_record_with_their_indexes() {
    let mut c = Client::new();
    c.broker
        .create_topic(
            "t",
            1,
            &[("cleanup.policy".into(), "compact".into())],
            false,
        )
        .unwrap();
    // Records 0 and 2 keyless: one keyed batch and one keyless batch of the same producer id
    // would need two batches; build a mixed batch by hand instead.
    let mixed = {
        let keyed = idempotent(&["a", "b", "c"], -1, -1, -1, true);
        let keyless = batch(&["a", "b", "c"]);
        (keyed, keyless)
    };
    for v in [7, 8, 9] {
        let r: ProduceResponse = c.call(ApiKey::Produce, v, &produce("t", 0, mixed.1.clone(), -1));
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 87, "v{v}");
        if v >= 8 {
            let message = p.error_message.as_deref().unwrap();
            assert!(message.contains("key"), "{message}");
            let indexes: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
            assert_eq!(indexes, vec![0, 1, 2], "v{v}");
        }
        let r: ProduceResponse = c.call(ApiKey::Produce, v, &produce("t", 0, mixed.0.clone(), -1));
        assert_eq!(
            r.responses[0].partition_responses[0].error_code, 0,
            "v{v}: keyed"
        );
    }
}

#[test]
fn acks_0_produce_refused_by_the_host_still_closes_the_connection() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let out = c
        .send(request(
            ApiKey::Produce,
            9,
            1,
            &produce("t", 0, idempotent(&["a"], 5, 0, 3, false), 0),
        ))
        .unwrap();
    assert!(out.write.is_empty());
    let reason = out.close.expect("closed");
    assert!(reason.contains("error 45"), "{reason}");
}
