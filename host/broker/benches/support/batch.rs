//! The record batch both benchmarks send: `count` uncompressed records as a producer builds
//! them (base offset 0, no producer id). Storage rewrites only the base offset, outside the CRC,
//! so the same bytes can be appended again and again.
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// A v2 batch of `count` records with `value` and the key `key(i)`.
pub fn record_batch(
    count: usize,
    key: impl Fn(usize) -> Option<Bytes>,
    value: &Bytes,
) -> anyhow::Result<Bytes> {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: 1_700_000_000_000,
            key: key(i),
            value: Some(value.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut batch = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut batch,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )?;
    Ok(batch.freeze())
}
