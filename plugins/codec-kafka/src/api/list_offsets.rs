//! ListOffsets: where a partition's log starts (`timestamp` -2, "earliest"), where what
//! consumers may read ends (-1, "latest": the high watermark), and which offset a time
//! corresponds to (a timestamp of 0 or more: `broker.offset-for-timestamp`, the base offset of
//! the first visible batch whose largest timestamp is at least that, or offset and timestamp
//! -1 when every record is older, as Kafka answers). This is how consumers without a committed
//! offset pick where to begin, and how `offsets_for_times` works.
//!
//! -3 ("max timestamp") and the other negative values are answered
//! UNSUPPORTED_FOR_MESSAGE_FORMAT, the code Kafka gives for a log that cannot answer a time
//! query and that clients treat as "no offset" rather than retrying. v0 (below
//! kafka-protocol's floor of v1) is read and answered by hand; its answer is a list of offsets
//! (`old_style_offsets`) instead of one offset.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::Message;
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE, UNKNOWN_TOPIC_OR_PARTITION, UNSUPPORTED_FOR_MESSAGE_FORMAT};
use crate::frame;
use crate::wire::{Reader, WireError};

/// The special timestamp asking for the next offset to be written.
const LATEST: i64 = -1;
/// The special timestamp asking for the first offset still stored.
const EARLIEST: i64 = -2;
/// Offset and timestamp of an answer that has none.
const NONE_FOUND: i64 = -1;
/// ListOffsets v4 added leader epochs; every partition's is 0 on a single broker.
const LEADER_EPOCH_VERSION: i16 = 4;
const LEADER_EPOCH: i32 = 0;

/// The partitions asked about, per topic: (partition, timestamp).
type Asked = Vec<(TopicName, Vec<(i32, i64)>)>;

/// One partition's answer, independent of the response version.
struct Answer {
    partition: i32,
    error_code: i16,
    offset: i64,
    /// The found batch's largest timestamp, for a lookup by time; -1 otherwise.
    timestamp: i64,
}

/// Answers a ListOffsets request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let legacy = req.version < ListOffsetsRequest::VERSIONS.min;
    let asked: Asked = if legacy {
        read_v0(req)?
    } else {
        let request: ListOffsetsRequest = req.decode()?;
        request
            .topics
            .into_iter()
            .map(|t| {
                (
                    t.name,
                    t.partitions
                        .iter()
                        .map(|p| (p.partition_index, p.timestamp))
                        .collect(),
                )
            })
            .collect()
    };
    let answers: Vec<(TopicName, Vec<Answer>)> = asked
        .into_iter()
        .map(|(name, partitions)| {
            let answers = partitions
                .into_iter()
                .map(|(p, ts)| lookup(broker, &name, p, ts))
                .collect();
            (name, answers)
        })
        .collect();
    if legacy {
        return write_v0(req.correlation_id, &answers);
    }

    let with_epoch = req.version >= LEADER_EPOCH_VERSION;
    let topics = answers
        .into_iter()
        .map(|(name, answers)| {
            let partitions = answers
                .into_iter()
                .map(|a| {
                    let found = a.error_code == NONE;
                    ListOffsetsPartitionResponse::default()
                        .with_partition_index(a.partition)
                        .with_error_code(a.error_code)
                        .with_timestamp(a.timestamp)
                        .with_offset(a.offset)
                        .with_leader_epoch(if found && a.offset != NONE_FOUND && with_epoch {
                            LEADER_EPOCH
                        } else {
                            -1
                        })
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(name)
                .with_partitions(partitions)
        })
        .collect();
    req.respond(&ListOffsetsResponse::default().with_topics(topics))
}

fn lookup<B: Broker>(broker: &B, topic: &str, partition: i32, timestamp: i64) -> Answer {
    let answer = |error_code, offset, timestamp| Answer {
        partition,
        error_code,
        offset,
        timestamp,
    };
    let Ok(index) = u32::try_from(partition) else {
        return answer(UNKNOWN_TOPIC_OR_PARTITION, NONE_FOUND, NONE_FOUND);
    };
    if timestamp >= 0 {
        return match broker.offset_for_timestamp(topic, index, timestamp) {
            Ok(Some(found)) => answer(NONE, found.offset, found.timestamp),
            Ok(None) => answer(NONE, NONE_FOUND, NONE_FOUND),
            Err(e) => answer(errors::code(&e), NONE_FOUND, NONE_FOUND),
        };
    }
    match broker.offsets(topic, index) {
        Err(e) => answer(errors::code(&e), NONE_FOUND, NONE_FOUND),
        Ok(o) if timestamp == EARLIEST => answer(NONE, o.log_start, NONE_FOUND),
        Ok(o) if timestamp == LATEST => answer(NONE, o.high_watermark, NONE_FOUND),
        Ok(_) => answer(UNSUPPORTED_FOR_MESSAGE_FORMAT, NONE_FOUND, NONE_FOUND),
    }
}

/// ListOffsets v0: replica id, then topics of (partition, timestamp, max_num_offsets).
fn read_v0(req: &Request) -> Result<Asked, CodecError> {
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<_, WireError> {
        let _replica_id = r.i32()?;
        r.array(|r| {
            let name = TopicName(r.str()?);
            let partitions = r.array(|r| {
                let partition = r.i32()?;
                let timestamp = r.i64()?;
                // At most one offset is ever answered, so the cap does not matter.
                let _max_num_offsets = r.i32()?;
                Ok((partition, timestamp))
            })?;
            Ok((name, partitions))
        })
    };
    read(&mut r).map_err(|e| req.malformed(&e))
}

/// The v0 response: per partition an error code and a list holding the one offset found.
fn write_v0(
    correlation_id: i32,
    answers: &[(TopicName, Vec<Answer>)],
) -> Result<Reply, CodecError> {
    frame::legacy_response(correlation_id, |w| {
        w.array(answers, |w, (name, partitions)| {
            w.str(name)?;
            w.array(partitions, |w, a| {
                w.i32(a.partition);
                w.i16(a.error_code);
                // No offset for an error, nor for a time after every record.
                let offsets: &[i64] = if a.error_code == NONE && a.offset != NONE_FOUND {
                    &[a.offset]
                } else {
                    &[]
                };
                w.array(offsets, |w, offset| {
                    w.i64(*offset);
                    Ok(())
                })
            })
        })
    })
    .map(Reply::Frame)
}
