//! OffsetForLeaderEpoch: where a leader epoch ended, so a consumer (KIP-320) or a follower
//! can tell whether its position was truncated away.
//!
//! A Sluice partition has one leader epoch, 0, for its whole life, starting at the log start
//! (leadership never moves on a single broker). Answers follow Kafka's
//! `LeaderEpochFileCache.endOffsetFor` with that one epoch:
//! - requested epoch 0 (the current one): epoch 0 and the log end (`partition-offsets
//!   log-end`, not the high watermark, as Kafka answers for the epoch still being written);
//! - -1 (undefined) or above 0 (no such epoch): epoch -1 and offset -1, no error;
//! - below -1 (before every epoch): the epoch asked and the log start.
//!
//! `current_leader_epoch` (v2+), when not -1, is checked first as Kafka's leader does:
//! above 0 is UNKNOWN_LEADER_EPOCH, below 0 FENCED_LEADER_EPOCH. A missing topic or partition
//! is UNKNOWN_TOPIC_OR_PARTITION. v0–v1 (below kafka-protocol's floor of v2) are read and
//! answered by hand: no current epoch in the request, and v0 answers no epoch either.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{
    self, FENCED_LEADER_EPOCH, NONE, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION,
};
use crate::frame;
use crate::wire::{Reader, WireError};

/// Every partition's one leader epoch.
const LEADER_EPOCH: i32 = 0;
/// Kafka's "no epoch" and "no offset".
const UNDEFINED_EPOCH: i32 = -1;
const UNDEFINED_OFFSET: i64 = -1;
/// v1 added the leader epoch to the response.
const EPOCH_IN_RESPONSE_VERSION: i16 = 1;

/// The partitions asked about, per topic: (partition, current leader epoch, epoch asked).
type Asked = Vec<(StrBytes, Vec<(i32, i32, i32)>)>;

/// Answers an OffsetForLeaderEpoch request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let legacy = req.version < OffsetForLeaderEpochRequest::VERSIONS.min;
    let asked: Asked = if legacy {
        read_legacy(req)?
    } else {
        let request: OffsetForLeaderEpochRequest = req.decode()?;
        request
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| (p.partition, p.current_leader_epoch, p.leader_epoch))
                    .collect();
                (t.topic.0, partitions)
            })
            .collect()
    };
    let answers: Vec<(StrBytes, Vec<EpochEndOffset>)> = asked
        .into_iter()
        .map(|(topic, partitions)| {
            let answers = partitions
                .into_iter()
                .map(|(p, current, epoch)| end_offset(broker, &topic, p, current, epoch))
                .collect();
            (topic, answers)
        })
        .collect();
    if legacy {
        return write_legacy(req, &answers);
    }
    let topics = answers
        .into_iter()
        .map(|(topic, partitions)| {
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.into())
                .with_partitions(partitions)
        })
        .collect();
    req.respond(&OffsetForLeaderEpochResponse::default().with_topics(topics))
}

fn end_offset<B: Broker>(
    broker: &B,
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> EpochEndOffset {
    let answer = |error_code, leader_epoch, end_offset| {
        EpochEndOffset::default()
            .with_error_code(error_code)
            .with_partition(partition)
            .with_leader_epoch(leader_epoch)
            .with_end_offset(end_offset)
    };
    let undefined = |error_code| answer(error_code, UNDEFINED_EPOCH, UNDEFINED_OFFSET);
    let Ok(index) = u32::try_from(partition) else {
        return undefined(UNKNOWN_TOPIC_OR_PARTITION);
    };
    let offsets = match broker.offsets(topic, index) {
        Ok(offsets) => offsets,
        Err(e) => return undefined(errors::code(&e)),
    };
    match current_leader_epoch {
        UNDEFINED_EPOCH | LEADER_EPOCH => {}
        c if c > LEADER_EPOCH => return undefined(UNKNOWN_LEADER_EPOCH),
        _ => return undefined(FENCED_LEADER_EPOCH),
    }
    match leader_epoch {
        LEADER_EPOCH => answer(NONE, LEADER_EPOCH, offsets.log_end),
        e if e < UNDEFINED_EPOCH => answer(NONE, e, offsets.log_start),
        _ => undefined(NONE),
    }
}

/// OffsetForLeaderEpoch v0–v1: topics of (partition, leader epoch).
fn read_legacy(req: &Request) -> Result<Asked, CodecError> {
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<_, WireError> {
        r.array(|r| {
            let topic = r.str()?;
            let partitions = r.array(|r| Ok((r.i32()?, UNDEFINED_EPOCH, r.i32()?)))?;
            Ok((topic, partitions))
        })
    };
    read(&mut r).map_err(|e| req.malformed(&e))
}

/// The v0–v1 response: no throttle time; per partition error, partition, (v1) epoch, offset.
fn write_legacy(
    req: &Request,
    answers: &[(StrBytes, Vec<EpochEndOffset>)],
) -> Result<Reply, CodecError> {
    let with_epoch = req.version >= EPOCH_IN_RESPONSE_VERSION;
    frame::legacy_response(req.correlation_id, |w| {
        w.array(answers, |w, (topic, partitions)| {
            w.str(topic)?;
            w.array(partitions, |w, p| {
                w.i16(p.error_code);
                w.i32(p.partition);
                if with_epoch {
                    w.i32(p.leader_epoch);
                }
                w.i64(p.end_offset);
                Ok(())
            })
        })
    })
    .map(Reply::Frame)
}
