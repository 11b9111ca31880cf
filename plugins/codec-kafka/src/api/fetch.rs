//! Fetch: serves stored batches exactly as they were produced, and long-polls.
//!
//! [`handle`] only turns the request into a [`FetchPlan`]; `pending` decides when to [`run`]
//! it (now, or once the requests ahead of it are answered) and parks it when [`run`] says the
//! data is short of `min_bytes`. A parked plan holds copies of the topic names, never the
//! request's buffer, so a long-polling consumer's idle connection stays small.
//!
//! Only what is below a partition's high watermark is served (the host reads nothing above
//! it), and the high watermark is what the response reports: under `fsync`, what is on disk.
//! A parked fetch watches each partition's high watermark with `wake-on any`. Woken by data
//! that is still short of `min_bytes`, it parks again, up to [`FETCH_WAKES_MAX`] times; woken
//! by its timeout, it answers with what there is.
//!
//! Size limits follow KIP-74: partitions are filled in request order until the response holds
//! `max_bytes` (clamped to [`FETCH_RESPONSE_BYTES_MAX`]), each partition up to its own
//! `partition_max_bytes`, but the first batch of the first partition that has data is always
//! included whole, however large, so a consumer never stalls on a big batch.
//!
//! Sessions (v7+) are not kept: every answer says session 0, which tells the client no session
//! was created and it keeps sending full fetches. v0–v3 (message format v0/v1, below
//! kafka-protocol's floor of v4) are answered UNSUPPORTED_VERSION per partition, as Kafka does
//! for such consumers when down-conversion is disabled.

use std::mem::size_of;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError, LogPosition, PartitionOffsets, WakeOn};

use crate::dispatch::{Reply, Request};
use crate::errors::{
    self, FETCH_SESSION_ID_NOT_FOUND, NONE, OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION,
    UNSUPPORTED_VERSION,
};
use crate::frame;
use crate::job::{Job, Outcome, Park, Run};
use crate::wire::{Reader, WireError};

/// A fetch woken by data still short of `min_bytes` parks again at most this many times. The
/// codec has no clock, so each new park waits `max_wait_ms` afresh; the bound keeps a trickle of
/// data from holding a fetch longer than `(1 + FETCH_WAKES_MAX) * max_wait_ms`.
pub const FETCH_WAKES_MAX: u8 = 8;

/// The most record bytes one fetch response carries (beyond the first batch, which is always
/// whole). Matches the host's default `read-bytes-max`; Kafka's consumers ask for 50 MiB by
/// default, which would make a single response the size of many connections' budgets.
pub const FETCH_RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// `isolation_level` asking for committed records only.
const READ_COMMITTED: i8 = 1;
/// The "no fetch session" id.
const NO_SESSION: i32 = 0;
/// Offsets reported for a partition that could not be read.
const NO_OFFSET: i64 = -1;
/// A record batch starts with its base offset (8 bytes) and its length (4 bytes), which counts
/// the bytes after those 12.
const BATCH_LENGTH_AT: usize = 8;
const BATCH_PREFIX_BYTES: usize = 12;
/// Fetch v1 added the throttle time (first in the response); v3 added `max_bytes`.
const THROTTLE_TIME_VERSION: i16 = 1;
const MAX_BYTES_VERSION: i16 = 3;

/// A fetch reduced to what answering it needs.
#[derive(Debug)]
pub struct FetchPlan {
    /// Echoed in the response.
    correlation_id: i32,
    /// Request (and response) version, 4..=12.
    version: i16,
    /// How long the client lets the broker wait for `min_bytes`.
    max_wait_ms: i32,
    /// Record bytes worth answering for; fewer parks the fetch.
    min_bytes: i32,
    /// The client's cap on the response's record bytes.
    max_bytes: i32,
    /// `isolation_level` = read committed. Nothing is transactional yet, so this only
    /// changes how `aborted_transactions` is written.
    read_committed: bool,
    /// What to read, in request order.
    topics: Vec<TopicPlan>,
    /// Wakes by data that left it short of `min_bytes`, so far.
    wakes: u8,
}

#[derive(Debug)]
struct TopicPlan {
    /// Owned copy of the name, so a parked plan does not pin the request frame.
    name: StrBytes,
    partitions: Vec<PartitionPlan>,
}

#[derive(Debug)]
struct PartitionPlan {
    partition: i32,
    fetch_offset: i64,
    max_bytes: i32,
}

impl FetchPlan {
    /// Rough memory held by this plan while it waits, for `pending`'s bound.
    pub fn held_bytes(&self) -> usize {
        self.topics.iter().fold(size_of::<Self>(), |sum, t| {
            sum + size_of::<TopicPlan>()
                + t.name.len()
                + t.partitions.len() * size_of::<PartitionPlan>()
        })
    }
}

/// Turns a Fetch request into a plan (or answers it at once when it cannot wait).
pub fn handle(req: &Request) -> Result<Reply, CodecError> {
    if req.version < FetchRequest::VERSIONS.min {
        return legacy(req);
    }
    let request: FetchRequest = req.decode()?;
    if request.session_id != NO_SESSION {
        // Only sessionless fetches are served, so any session id is one we never handed out;
        // the client answers by starting over with a full fetch.
        return req.respond(&FetchResponse::default().with_error_code(FETCH_SESSION_ID_NOT_FOUND));
    }
    let topics = request
        .topics
        .iter()
        .map(|t| TopicPlan {
            name: StrBytes::from_string(t.topic.as_str().to_owned()),
            partitions: t
                .partitions
                .iter()
                .map(|p| PartitionPlan {
                    partition: p.partition,
                    fetch_offset: p.fetch_offset,
                    max_bytes: p.partition_max_bytes,
                })
                .collect(),
        })
        .collect();
    Ok(Reply::Job(Job::Fetch(FetchPlan {
        correlation_id: req.correlation_id,
        version: req.version,
        max_wait_ms: request.max_wait_ms,
        min_bytes: request.min_bytes,
        max_bytes: request.max_bytes,
        read_committed: request.isolation_level == READ_COMMITTED,
        topics,
        wakes: 0,
    })))
}

/// Reads every partition of `plan`. Parks (returns [`Outcome::Park`]) when the records are
/// short of `min_bytes`, the client allows a wait, and no partition failed, unless the run
/// must answer: its timeout fired or it was woken too often.
pub fn run<B: Broker>(plan: &mut FetchPlan, broker: &B, run: Run) -> Result<Outcome, CodecError> {
    let must_answer = match run {
        Run::First => false,
        Run::Woken { timed_out: true } => true,
        Run::Woken { timed_out: false } => {
            plan.wakes = plan.wakes.saturating_add(1);
            plan.wakes > FETCH_WAKES_MAX
        }
    };
    let budget = usize::try_from(plan.max_bytes)
        .unwrap_or(0)
        .min(FETCH_RESPONSE_BYTES_MAX);
    let mut used = 0usize;
    let mut failed = false;
    let mut watch = Vec::new();
    let mut responses = Vec::with_capacity(plan.topics.len());
    for topic in &plan.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let room = budget.saturating_sub(used);
            let (data, high_watermark) =
                read_partition(broker, &topic.name, p, room, used == 0, plan.read_committed);
            used = used.saturating_add(data.records.as_ref().map_or(0, Bytes::len));
            match (data.error_code, u32::try_from(p.partition)) {
                // Watch from the current high watermark, not the fetch offset: data already
                // there but short of min_bytes must not wake the fetch at once. A fetch offset
                // above it (appended, not yet durable) has data only once it passes that.
                (NONE, Ok(partition)) => watch.push(LogPosition {
                    topic: topic.name.to_string(),
                    partition,
                    offset: high_watermark.max(p.fetch_offset),
                }),
                _ => failed = true,
            }
            partitions.push(data);
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(TopicName(topic.name.clone()))
                .with_partitions(partitions),
        );
    }

    let min_bytes = usize::try_from(plan.min_bytes).unwrap_or(0);
    if !must_answer
        && used < min_bytes
        && !failed
        && !watch.is_empty()
        && let Ok(timeout_ms @ 1..) = u32::try_from(plan.max_wait_ms)
    {
        return Ok(Outcome::Park(Park {
            timeout_ms,
            watch,
            groups: Vec::new(),
            wake_on: WakeOn::Any,
        }));
    }
    let response = FetchResponse::default()
        .with_session_id(NO_SESSION)
        .with_responses(responses);
    frame::response(plan.correlation_id, ApiKey::Fetch, plan.version, &response)
        .map(Outcome::Answer)
}

/// Reads one partition with at most `room` record bytes (unless `first`, when one whole batch
/// is always included). Returns the response entry and the partition's high watermark.
fn read_partition<B: Broker>(
    broker: &B,
    topic: &str,
    p: &PartitionPlan,
    room: usize,
    first: bool,
    read_committed: bool,
) -> (PartitionData, i64) {
    let entry = PartitionData::default()
        .with_partition_index(p.partition)
        // Kafka writes null for read-uncommitted fetches, an empty list for read-committed.
        .with_aborted_transactions(read_committed.then(Vec::new));
    let failed = |code: i16| (fail(entry.clone(), code), NO_OFFSET);
    let Ok(partition) = u32::try_from(p.partition) else {
        return failed(UNKNOWN_TOPIC_OR_PARTITION);
    };
    let allowance = usize::try_from(p.max_bytes).unwrap_or(0).min(room);
    if allowance == 0 && !first {
        // Nothing more fits: report the partition's bounds without reading it.
        return match broker.offsets(topic, partition) {
            Ok(o) if p.fetch_offset < o.log_start || p.fetch_offset > o.log_end => {
                failed(OFFSET_OUT_OF_RANGE)
            }
            Ok(o) => (served(entry, o, Bytes::new()), o.high_watermark),
            Err(e) => failed(errors::code(&e)),
        };
    }
    let max_bytes = u32::try_from(allowance).unwrap_or(u32::MAX);
    match broker.read(topic, partition, p.fetch_offset, max_bytes) {
        Ok(read) => {
            let mut batches = Bytes::from(read.batches);
            if !first && batches.len() > allowance {
                // The host returns at least one whole batch; past the first partition with
                // data, one that does not fit waits for the next fetch.
                batches.truncate(whole_batches_within(&batches, allowance));
            }
            (
                served(entry, read.offsets, batches),
                read.offsets.high_watermark,
            )
        }
        Err(e) => failed(errors::code(&e)),
    }
}

fn served(entry: PartitionData, offsets: PartitionOffsets, batches: Bytes) -> PartitionData {
    entry
        .with_error_code(NONE)
        .with_high_watermark(offsets.high_watermark)
        // No transactions yet: everything visible is stable.
        .with_last_stable_offset(offsets.high_watermark)
        .with_log_start_offset(offsets.log_start)
        .with_records(Some(batches))
}

fn fail(entry: PartitionData, code: i16) -> PartitionData {
    entry
        .with_error_code(code)
        .with_high_watermark(NO_OFFSET)
        .with_last_stable_offset(NO_OFFSET)
        .with_log_start_offset(NO_OFFSET)
        .with_records(Some(Bytes::new()))
}

/// The length of the longest run of whole batches at the start of `batches` that fits in
/// `limit` bytes.
fn whole_batches_within(batches: &[u8], limit: usize) -> usize {
    let mut end = 0usize;
    loop {
        let length = batches
            .get(end..)
            .and_then(|rest| rest.get(BATCH_LENGTH_AT..BATCH_PREFIX_BYTES))
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_be_bytes)
            .and_then(|len| usize::try_from(len).ok());
        let next = length.and_then(|len| end.checked_add(BATCH_PREFIX_BYTES)?.checked_add(len));
        match next {
            Some(next) if next <= limit && next <= batches.len() => end = next,
            _ => return end,
        }
    }
}

/// Fetch v0–v3: read by hand, every partition answered UNSUPPORTED_VERSION without records.
fn legacy(req: &Request) -> Result<Reply, CodecError> {
    let version = req.version;
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<_, WireError> {
        let _replica_id = r.i32()?;
        let _max_wait_ms = r.i32()?;
        let _min_bytes = r.i32()?;
        if version >= MAX_BYTES_VERSION {
            let _max_bytes = r.i32()?;
        }
        r.array(|r| {
            let topic = r.str()?;
            let partitions = r.array(|r| {
                let partition = r.i32()?;
                let _fetch_offset = r.i64()?;
                let _partition_max_bytes = r.i32()?;
                Ok(partition)
            })?;
            Ok((topic, partitions))
        })
    };
    let topics = read(&mut r).map_err(|e| req.malformed(&e))?;
    frame::legacy_response(req.correlation_id, |w| {
        if version >= THROTTLE_TIME_VERSION {
            w.i32(0);
        }
        w.array(&topics, |w, (topic, partitions)| {
            w.str(topic)?;
            w.array(partitions, |w, partition| {
                w.i32(*partition);
                w.i16(UNSUPPORTED_VERSION);
                w.i64(NO_OFFSET); // high_watermark
                w.i32(0); // records: none
                Ok(())
            })
        })
    })
    .map(Reply::Frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; BATCH_PREFIX_BYTES + len];
        b[BATCH_LENGTH_AT..BATCH_PREFIX_BYTES].copy_from_slice(&(len as i32).to_be_bytes());
        b
    }

    #[test]
    fn whole_batches_within_stops_at_the_first_batch_that_does_not_fit() {
        let mut bytes = batch(50);
        bytes.extend(batch(50));
        bytes.extend(batch(50));
        assert_eq!(whole_batches_within(&bytes, 61), 0);
        assert_eq!(whole_batches_within(&bytes, 62), 62);
        assert_eq!(whole_batches_within(&bytes, 130), 124);
        assert_eq!(whole_batches_within(&bytes, 10_000), 186);
        assert_eq!(whole_batches_within(&bytes[..70], 10_000), 62);
        assert_eq!(whole_batches_within(&[0; 5], 10_000), 0);
    }
}
