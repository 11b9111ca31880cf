//! Produce: appends each partition's record batches, as sent, with `broker.append`.
//!
//! The batches are never decompressed here: the host validates them (magic 2, CRC-32C) and
//! assigns offsets. Idempotent producers need nothing from the codec: the producer id, epoch
//! and sequence travel inside the batch, the host checks them, and a duplicate (a retry after
//! a lost response) answers the offsets it got the first time. A batch the host refuses
//! answers its Kafka code per partition (`errors`): MESSAGE_TOO_LARGE, INVALID_RECORD (with,
//! v8+, the keyless records listed by `record_errors`), OUT_OF_ORDER_SEQUENCE_NUMBER,
//! INVALID_PRODUCER_EPOCH, each with the host's message (v8+). The transactional id is
//! ignored: InitProducerId never hands out a transactional producer id. A produce never auto-creates a topic: Kafka
//! does that only on Metadata, so a missing topic answers UNKNOWN_TOPIC_OR_PARTITION.
//!
//! Durability: `acks=1` and `acks=-1` are answered only once every partition written is
//! durable, that is once its high watermark is above the last offset appended. When an append
//! returns before that (a topic under `fsync`), the answer is kept in a [`ProduceWait`] that
//! `pending` parks behind one host wait, `wake-on all`, watching every such partition, for the
//! request's `timeout_ms`. On the wake [`check`] looks again: a durable partition gets its
//! normal answer, one still short when the timeout fired gets REQUEST_TIMED_OUT, one that
//! failed meanwhile its error. The wait is a host wait, not a pause in the codec, so other
//! connections' produces go on meanwhile and share the fsync.
//!
//! `acks=0` gets no response and no wait; if such a produce fails, the connection is closed,
//! which is how Kafka tells a producer that is not listening for responses.
//!
//! v0–v2 (message format v0/v1, below kafka-protocol's floor of v3) are read by hand and every
//! partition is answered UNSUPPORTED_FOR_MESSAGE_FORMAT: the log stores magic-2 batches only.

use std::mem::size_of;

use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError, ErrorCode, LogPosition, WakeOn};

use crate::api::record_errors;
use crate::dispatch::{Reply, Request};
use crate::errors::{
    self, CORRUPT_MESSAGE, INVALID_REQUIRED_ACKS, NONE, REQUEST_TIMED_OUT,
    UNKNOWN_TOPIC_OR_PARTITION, UNSUPPORTED_FOR_MESSAGE_FORMAT,
};
use crate::frame;
use crate::job::{Job, Outcome, Park, Run};
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
/// A produce woken without its timeout and still not durable waits again at most this many
/// times. The host wakes a `wake-on all` wait early only when every partition passed or is
/// gone, so this takes a topic deleted and recreated under the wait; each new wait lasts the
/// request's timeout afresh, so the bound caps the total at `(1 + this) * timeout_ms`.
const PRODUCE_WAKES_MAX: u8 = 8;

/// A produce whose batches are appended but whose answer waits for them to be durable.
pub struct ProduceWait {
    correlation_id: i32,
    version: i16,
    /// The request's `timeout_ms`, at least 1: how long to wait for durability.
    timeout_ms: u32,
    /// Wakes without the timeout that still found a partition short, so far.
    wakes: u8,
    /// The answer, in request order; names are owned copies, so a parked produce does not pin
    /// the request's buffer (which holds every batch it carried).
    topics: Vec<TopicAnswer>,
}

struct TopicAnswer {
    name: TopicName,
    partitions: Vec<PartitionAnswer>,
}

struct PartitionAnswer {
    response: PartitionProduceResponse,
    /// The last offset appended, while the partition's high watermark has not passed it.
    awaiting: Option<i64>,
}

impl ProduceWait {
    /// Rough memory held while it waits, for `pending`'s bound.
    pub fn held_bytes(&self) -> usize {
        self.topics.iter().fold(size_of::<Self>(), |sum, t| {
            let messages: usize = t
                .partitions
                .iter()
                .map(|p| p.response.error_message.as_ref().map_or(0, |m| m.len()))
                .sum();
            sum + size_of::<TopicAnswer>()
                + t.name.len()
                + t.partitions.len() * size_of::<PartitionAnswer>()
                + messages
        })
    }
}

/// Answers a Produce request, or hands `pending` the answer to keep until it is durable.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    if req.version < ProduceRequest::VERSIONS.min {
        return legacy(req);
    }
    let request: ProduceRequest = req.decode()?;
    let mut first_failure = None;
    let mut awaiting = false;
    let mut topics = Vec::with_capacity(request.topic_data.len());
    for topic in &request.topic_data {
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in &topic.partition_data {
            let answer = append(broker, &topic.name, data, request.acks);
            let response = &answer.response;
            if response.error_code != NONE && first_failure.is_none() {
                first_failure = Some(format!(
                    "produce with acks=0 to {}-{} failed with error {}: {}",
                    topic.name.as_str(),
                    data.index,
                    response.error_code,
                    response.error_message.as_deref().unwrap_or("")
                ));
            }
            awaiting |= answer.awaiting.is_some();
            partitions.push(answer);
        }
        topics.push(TopicAnswer {
            name: topic.name.clone(),
            partitions,
        });
    }
    if request.acks == ACKS_NONE {
        return Ok(first_failure.map_or(Reply::Silent, Reply::Close));
    }
    if !awaiting {
        return req.respond(&response(topics));
    }
    for topic in &mut topics {
        topic.name = TopicName(StrBytes::from_string(topic.name.as_str().to_owned()));
    }
    Ok(Reply::Job(Job::Produce(ProduceWait {
        correlation_id: req.correlation_id,
        version: req.version,
        timeout_ms: u32::try_from(request.timeout_ms).unwrap_or(0).max(1),
        wakes: 0,
        topics,
    })))
}

/// Looks at every partition still short of durable: answers once none is, else asks to wait
/// for all of them (`wake-on all`) for the request's timeout.
pub fn check<B: Broker>(
    wait: &mut ProduceWait,
    broker: &B,
    run: Run,
) -> Result<Outcome, CodecError> {
    let (expired, why) = match run {
        Run::First => (false, ""),
        Run::Woken { timed_out: true } => (true, "within the request's timeout"),
        Run::Woken { timed_out: false } => {
            wait.wakes = wait.wakes.saturating_add(1);
            (wait.wakes > PRODUCE_WAKES_MAX, "after repeated wakes")
        }
    };
    let mut watch = Vec::new();
    for topic in &mut wait.topics {
        for p in &mut topic.partitions {
            let Some(last_offset) = p.awaiting else {
                continue;
            };
            let looked = u32::try_from(p.response.index)
                .map_err(|_| (UNKNOWN_TOPIC_OR_PARTITION, "no such partition".to_owned()))
                .and_then(|index| {
                    broker
                        .offsets(topic.name.as_str(), index)
                        .map(|o| (index, o.high_watermark))
                        .map_err(|e| (errors::code(&e), e.message))
                });
            let failure = match looked {
                Ok((_, high_watermark)) if high_watermark > last_offset => None,
                Ok((index, _)) if !expired => {
                    watch.push(LogPosition {
                        topic: topic.name.as_str().to_owned(),
                        partition: index,
                        offset: last_offset,
                    });
                    continue;
                }
                Ok(_) => Some((
                    REQUEST_TIMED_OUT,
                    format!("offset {last_offset} appended but not confirmed durable {why}"),
                )),
                Err(failure) => Some(failure),
            };
            p.awaiting = None;
            if let Some((code, message)) = failure {
                p.response = failed(std::mem::take(&mut p.response), code, message);
            }
        }
    }
    if !watch.is_empty() {
        return Ok(Outcome::Park(Park {
            timeout_ms: wait.timeout_ms,
            watch,
            groups: Vec::new(),
            wake_on: WakeOn::All,
        }));
    }
    let topics = std::mem::take(&mut wait.topics);
    frame::response(
        wait.correlation_id,
        ApiKey::Produce,
        wait.version,
        &response(topics),
    )
    .map(Outcome::Answer)
}

fn response(topics: Vec<TopicAnswer>) -> ProduceResponse {
    let responses = topics
        .into_iter()
        .map(|t| {
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_partition_responses(t.partitions.into_iter().map(|p| p.response).collect())
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

/// Appends one partition's batches and reports the outcome, and whether it is durable yet.
fn append<B: Broker>(
    broker: &B,
    topic: &str,
    data: &PartitionProduceData,
    acks: i16,
) -> PartitionAnswer {
    let result = PartitionProduceResponse::default().with_index(data.index);
    let refused = |code, message| PartitionAnswer {
        response: failed(result.clone(), code, message),
        awaiting: None,
    };
    if !VALID_ACKS.contains(&acks) {
        return refused(
            INVALID_REQUIRED_ACKS,
            format!("acks={acks}: must be -1, 0 or 1"),
        );
    }
    let Ok(partition) = u32::try_from(data.index) else {
        return refused(
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("no partition {}", data.index),
        );
    };
    let batches = match &data.records {
        Some(batches) if !batches.is_empty() => batches,
        _ => return refused(CORRUPT_MESSAGE, "no record batch".into()),
    };
    match broker.append(topic, partition, batches) {
        // log_append_time_ms stays -1: timestamps are the producer's (CreateTime).
        Ok(appended) => PartitionAnswer {
            response: result
                .clone()
                .with_error_code(NONE)
                .with_base_offset(appended.base_offset)
                .with_log_start_offset(appended.log_start),
            awaiting: (acks != ACKS_NONE && appended.high_watermark <= appended.last_offset)
                .then_some(appended.last_offset),
        },
        Err(e) => {
            // v8+ name the records refused (KIP-467); older versions drop the list.
            let keyless = match e.code {
                ErrorCode::InvalidRecord => record_errors::keyless(batches),
                _ => Vec::new(),
            };
            let mut answer = refused(errors::code(&e), e.message);
            answer.response.record_errors = keyless
                .into_iter()
                .map(|index| BatchIndexAndErrorMessage::default().with_batch_index(index))
                .collect();
            answer
        }
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
