//! Batches from an independent Kafka implementation (kafka-protocol) go in unchanged, and what
//! comes out decodes there with the offsets storage assigned.

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::kit;

fn records(prefix: &str, n: i64) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: -1,
            timestamp: 1_700_000_000_000 + i,
            key: Some(format!("key-{i}").into_bytes().into()),
            value: Some(format!("{prefix}-{i}").into_bytes().into()),
            headers: Default::default(),
        })
        .collect()
}

fn encode(records: &[Record]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, records, &options).unwrap();
    buf.to_vec()
}

#[test]
fn batches_encoded_by_kafka_protocol_round_trip_with_assigned_offsets() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    storage
        .append("t", 0, &kit::batch_n("hand-built", 2))
        .unwrap();
    let first = encode(&records("a", 3));
    let second = encode(&records("b", 4));
    let r = storage.append("t", 0, &[first, second].concat()).unwrap();
    assert_eq!((r.base_offset, r.last_offset), (2, 8));

    let mut read = storage.read("t", 0, 2, u32::MAX).unwrap().batches;
    let sets = RecordBatchDecoder::decode_all(&mut read).unwrap();
    let decoded: Vec<(i64, Vec<u8>)> = sets
        .iter()
        .flat_map(|set| &set.records)
        .map(|record| (record.offset, record.value.clone().unwrap().to_vec()))
        .collect();
    let expected: Vec<(i64, Vec<u8>)> = (0..3)
        .map(|i| (2 + i, format!("a-{i}").into_bytes()))
        .chain((0..4).map(|i| (5 + i, format!("b-{i}").into_bytes())))
        .collect();
    assert_eq!(decoded, expected);
    assert!(
        sets.iter()
            .all(|set| set.records.iter().all(|r| r.partition_leader_epoch == 0))
    );
}
