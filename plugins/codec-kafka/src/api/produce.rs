//! Produce: appends each partition's record batches, as sent, with `broker.append`.
//!
//! The batches are never decoded or decompressed here: the host validates them (magic 2,
//! CRC-32C) and assigns offsets. Transactional and idempotent fields are accepted and ignored
//! (the producer id travels inside the batch). A produce never auto-creates a topic: Kafka
//! does that only on Metadata, so a missing topic answers UNKNOWN_TOPIC_OR_PARTITION.
//!
//! `acks=0` gets no response; if such a produce fails, the connection is closed, which is how
//! Kafka tells a producer that is not listening for responses.
//!
//! v0–v2 (message format v0/v1, below kafka-protocol's floor of v3) are read by hand and every
//! partition is answered UNSUPPORTED_FOR_MESSAGE_FORMAT: the log stores magic-2 batches only.

use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{
    self, CORRUPT_MESSAGE, INVALID_REQUIRED_ACKS, NONE, UNKNOWN_TOPIC_OR_PARTITION,
    UNSUPPORTED_FOR_MESSAGE_FORMAT,
};
use crate::frame;
use crate::wire::{Reader, WireError};

/// `acks` values Kafka accepts: all in-sync replicas, none (no response), the leader.
const VALID_ACKS: [i16; 3] = [-1, 0, 1];
/// The `acks` value that asks for no response.
const ACKS_NONE: i16 = 0;
/// Offsets reported for a partition that was not appended to.
const NO_OFFSET: i64 = -1;
/// Produce v1 added the throttle time; v2 the log append time.
const THROTTLE_TIME_VERSION: i16 = 1;
const LOG_APPEND_TIME_VERSION: i16 = 2;

/// Answers a Produce request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    if req.version < ProduceRequest::VERSIONS.min {
        return legacy(req);
    }
    let request: ProduceRequest = req.decode()?;
    let mut first_failure = None;
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic in &request.topic_data {
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in &topic.partition_data {
            let result = append(broker, &topic.name, data, request.acks);
            if result.error_code != NONE && first_failure.is_none() {
                first_failure = Some(format!(
                    "produce with acks=0 to {}-{} failed with error {}: {}",
                    topic.name.as_str(),
                    data.index,
                    result.error_code,
                    result.error_message.as_deref().unwrap_or("")
                ));
            }
            partitions.push(result);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name.clone())
                .with_partition_responses(partitions),
        );
    }
    if request.acks == ACKS_NONE {
        return Ok(first_failure.map_or(Reply::Silent, Reply::Close));
    }
    req.respond(&ProduceResponse::default().with_responses(responses))
}

/// Appends one partition's batches and reports the outcome.
fn append<B: Broker>(
    broker: &B,
    topic: &str,
    data: &PartitionProduceData,
    acks: i16,
) -> PartitionProduceResponse {
    let result = PartitionProduceResponse::default().with_index(data.index);
    if !VALID_ACKS.contains(&acks) {
        return failed(
            result,
            INVALID_REQUIRED_ACKS,
            format!("acks={acks}: must be -1, 0 or 1"),
        );
    }
    let Ok(partition) = u32::try_from(data.index) else {
        return failed(
            result,
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("no partition {}", data.index),
        );
    };
    let batches = match &data.records {
        Some(batches) if !batches.is_empty() => batches,
        _ => return failed(result, CORRUPT_MESSAGE, "no record batch".into()),
    };
    match broker.append(topic, partition, batches) {
        // log_append_time_ms stays -1: timestamps are the producer's (CreateTime).
        Ok(appended) => result
            .with_error_code(NONE)
            .with_base_offset(appended.base_offset)
            .with_log_start_offset(appended.log_start),
        Err(e) => failed(result, errors::code(&e), e.message),
    }
}

fn failed(
    result: PartitionProduceResponse,
    code: i16,
    message: String,
) -> PartitionProduceResponse {
    result
        .with_error_code(code)
        .with_base_offset(NO_OFFSET)
        .with_log_start_offset(NO_OFFSET)
        .with_error_message(Some(StrBytes::from_string(message)))
}

/// Produce v0–v2: same layout as v3 without the transactional id. Answered without appending.
fn legacy(req: &Request) -> Result<Reply, CodecError> {
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<_, WireError> {
        let acks = r.i16()?;
        let _timeout_ms = r.i32()?;
        let topics = r.array(|r| {
            let name = r.str()?;
            let indexes = r.array(|r| {
                let index = r.i32()?;
                let records = r.bytes_len(false)?.unwrap_or(0);
                r.take(records)?;
                Ok(index)
            })?;
            Ok((name, indexes))
        })?;
        Ok((acks, topics))
    };
    let (acks, topics) = read(&mut r).map_err(|e| req.malformed(&e))?;
    if acks == ACKS_NONE {
        return Ok(Reply::Close(format!(
            "produce v{} with acks=0: message format v0/v1 is not supported",
            req.version
        )));
    }
    let version = req.version;
    frame::legacy_response(req.correlation_id, |w| {
        w.array(&topics, |w, (name, indexes)| {
            w.str(name)?;
            w.array(indexes, |w, index| {
                w.i32(*index);
                w.i16(UNSUPPORTED_FOR_MESSAGE_FORMAT);
                w.i64(NO_OFFSET); // base_offset
                if version >= LOG_APPEND_TIME_VERSION {
                    w.i64(NO_OFFSET); // log_append_time_ms
                }
                Ok(())
            })
        })?;
        if version >= THROTTLE_TIME_VERSION {
            w.i32(0);
        }
        Ok(())
    })
    .map(Reply::Frame)
}
