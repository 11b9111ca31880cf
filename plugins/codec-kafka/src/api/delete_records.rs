//! DeleteRecords: moves each partition's log start up to the offset asked
//! (`broker.delete-records`; -1 means the high watermark) and answers the new low watermark.
//!
//! Per partition, as Kafka: a negative offset other than -1 is OFFSET_OUT_OF_RANGE, an
//! offset above the high watermark too (the host's check), and a failure answers low
//! watermark -1. The host makes the move durable before it returns, so there is nothing to
//! wait for and `timeout_ms` is not used. v0–v2 are all within kafka-protocol's range.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE, OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION};

/// The offset meaning "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;
/// The low watermark of a partition that failed.
const INVALID_LOW_WATERMARK: i64 = -1;

/// Answers a DeleteRecords request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let request: DeleteRecordsRequest = req.decode()?;
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let (error_code, low_watermark) =
                        delete(broker, &t.name, p.partition_index, p.offset);
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error_code)
                        .with_low_watermark(low_watermark)
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    req.respond(&DeleteRecordsResponse::default().with_topics(topics))
}

fn delete<B: Broker>(broker: &B, topic: &str, partition: i32, offset: i64) -> (i16, i64) {
    let Ok(index) = u32::try_from(partition) else {
        return (UNKNOWN_TOPIC_OR_PARTITION, INVALID_LOW_WATERMARK);
    };
    if offset < 0 && offset != HIGH_WATERMARK {
        return (OFFSET_OUT_OF_RANGE, INVALID_LOW_WATERMARK);
    }
    match broker.delete_records(topic, index, offset) {
        Ok(log_start) => (NONE, log_start),
        Err(e) => (errors::code(&e), INVALID_LOW_WATERMARK),
    }
}
