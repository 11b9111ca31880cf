//! Idempotent producers, per partition: Kafka's `ProducerStateManager` (KIP-98) without
//! transactions. An idempotent producer numbers the records it sends per partition; storage
//! remembers, per producer id, its epoch and its last few batches, so a retried batch is
//! answered with the offsets it already got instead of being written twice, a batch that
//! skips sequence numbers is refused, and a producer fenced by a newer epoch is refused.
//!
//! The state lives in memory under the partition's lock (checked and updated in the same
//! critical section that assigns offsets) and is rebuilt at open from the batch headers of
//! the newest segments. It is a cache: a producer it does not know (expired, evicted, its
//! batches deleted or beyond what open reads) is accepted at any sequence, as Kafka (2.5 and
//! later) accepts a producer whose state expired. Deleting records never changes it (KIP-360:
//! state outlives the records it was learnt from), so deletes can make a producer unknown
//! after a restart, never wrong.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::StorageError;
use crate::batch::{BatchHeader, ProducerFields};

/// Batches remembered per producer: Kafka's `max.in.flight.requests.per.connection` limit for
/// idempotence, so every batch a producer may still retry is recognised.
pub const PRODUCER_BATCHES_CACHED: usize = 5;

/// Kafka's `producer.id.expiration.ms` default (one day): a producer idle that long is
/// forgotten, and becomes unknown.
pub const PRODUCER_ID_EXPIRATION_MS_DEFAULT: i64 = 86_400_000;

/// Producers tracked per partition, so a client cycling through producer ids cannot grow the
/// broker's memory without bound (about 400 bytes each: 40 MB per partition at worst); past
/// it the least recently active producer is forgotten.
pub const PRODUCERS_PER_PARTITION_MAX: usize = 100_000;

/// Segments whose batch headers open reads to rebuild producer state, newest first. Reading
/// headers is cheap but still one read per batch; bounding it keeps open time independent of
/// the log's length. Producers whose last batch is older are forgotten, as if expired.
pub const PRODUCER_STATE_SEGMENTS_SCANNED: usize = 8;

/// One batch a producer appended: enough to answer its retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// Sequence of its first record.
    pub first_seq: i32,
    /// Sequence of its last record.
    pub last_seq: i32,
    /// Offset of its first record.
    pub base_offset: i64,
    /// Offset of its last record.
    pub last_offset: i64,
    /// Its maxTimestamp.
    pub timestamp: i64,
}

/// What storage knows of one producer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    /// Oldest first, at most `PRODUCER_BATCHES_CACHED`, never empty.
    batches: VecDeque<BatchMetadata>,
    /// Wall clock of its last append, for expiry and eviction.
    last_active_ms: i64,
}

impl ProducerEntry {
    fn push(&mut self, batch: BatchMetadata) {
        if self.batches.len() >= PRODUCER_BATCHES_CACHED {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }
}

/// A batch of an append, as the producer check sees it.
#[derive(Debug, Clone, Copy)]
pub struct IncomingBatch {
    /// Its idempotence fields.
    pub producer: ProducerFields,
    /// lastOffsetDelta: the batch holds this many sequence numbers after the first.
    pub last_offset_delta: i32,
    /// The offset it would get.
    pub base_offset: i64,
    /// Its maxTimestamp.
    pub max_timestamp: i64,
}

/// The outcome of checking an append.
#[derive(Debug)]
pub enum Verdict {
    /// Write it, then `apply` this.
    Append(Pending),
    /// Every batch was appended before: nothing to write; these are the offsets they got.
    Duplicate {
        /// Base offset of the first batch's original append.
        base_offset: i64,
        /// Last offset of the last batch's original append.
        last_offset: i64,
    },
}

/// Producer entries an accepted append changes, to install once it is written.
#[derive(Debug, Default)]
pub struct Pending {
    entries: Vec<(i64, ProducerEntry)>,
}

/// The producers of one partition.
#[derive(Debug)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
    /// (last active, producer id): expiry and eviction take the front.
    by_activity: BTreeSet<(i64, i64)>,
    expiration_ms: i64,
}

impl ProducerStates {
    /// No producers; idle ones are forgotten after `expiration_ms`.
    pub fn new(expiration_ms: i64) -> ProducerStates {
        ProducerStates {
            producers: HashMap::new(),
            by_activity: BTreeSet::new(),
            expiration_ms,
        }
    }

    /// How many producers are known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Checks `batches`, in order, each against the state the previous ones leave. All
    /// duplicates: `Duplicate`. Duplicates mixed with new batches are refused with
    /// `OutOfOrderSequence`: Kafka clients send one batch per partition per request, so a
    /// mix is not a retry storage could answer with one set of offsets.
    pub fn check(&self, batches: &[IncomingBatch]) -> Result<Verdict, StorageError> {
        let mut pending = Pending::default();
        let mut duplicates: Option<(i64, i64)> = None;
        let mut fresh = 0usize;
        let mut mixed_at = None;
        for batch in batches {
            let fields = batch.producer;
            if !fields.is_idempotent() {
                fresh += 1;
                continue;
            }
            let current = pending
                .entries
                .iter()
                .rev()
                .find(|(id, _)| *id == fields.id)
                .map(|(_, e)| e)
                .or_else(|| self.producers.get(&fields.id));
            match judge(current, batch)? {
                Judged::Duplicate(original) => {
                    let (base, _) = duplicates.unwrap_or((original.base_offset, 0));
                    duplicates = Some((base, original.last_offset));
                    mixed_at.get_or_insert(fields);
                }
                Judged::Accept(entry) => {
                    fresh += 1;
                    pending.entries.retain(|(id, _)| *id != fields.id);
                    pending.entries.push((fields.id, entry));
                }
            }
        }
        match (duplicates, mixed_at) {
            (Some((base_offset, last_offset)), _) if fresh == 0 => Ok(Verdict::Duplicate {
                base_offset,
                last_offset,
            }),
            (Some(_), Some(fields)) => Err(out_of_order(
                fields,
                "repeats a batch already appended, in an append that also holds new batches"
                    .to_owned(),
            )),
            _ => Ok(Verdict::Append(pending)),
        }
    }

    /// Installs what an accepted append changed, then forgets producers idle for longer than
    /// the expiration and the least recently active beyond `PRODUCERS_PER_PARTITION_MAX`.
    pub fn apply(&mut self, pending: Pending, now_ms: i64) {
        for (id, mut entry) in pending.entries {
            entry.last_active_ms = now_ms;
            self.insert(id, entry);
        }
        self.expire(now_ms);
    }

    /// Forgets producers idle for at least the expiration, as of `now_ms`.
    pub fn expire(&mut self, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(self.expiration_ms);
        while let Some(&(active, id)) = self.by_activity.first() {
            if active > cutoff && self.producers.len() <= PRODUCERS_PER_PARTITION_MAX {
                break;
            }
            self.by_activity.pop_first();
            self.producers.remove(&id);
        }
    }

    /// Rebuild at open: records a stored batch as Kafka's loader does, without checks (it was
    /// checked when appended). `active_ms` stands for its append time.
    pub fn load(&mut self, header: &BatchHeader, active_ms: i64) {
        let fields = header.producer;
        if !fields.is_idempotent() {
            return;
        }
        let batch = IncomingBatch {
            producer: fields,
            last_offset_delta: header.last_offset_delta,
            base_offset: header.base_offset,
            max_timestamp: header.max_timestamp,
        };
        let mut entry = match self.producers.get(&fields.id) {
            Some(entry) if entry.epoch == fields.epoch => entry.clone(),
            _ => ProducerEntry {
                epoch: fields.epoch,
                batches: VecDeque::new(),
                last_active_ms: active_ms,
            },
        };
        entry.push(metadata(&batch));
        entry.last_active_ms = entry.last_active_ms.max(active_ms);
        self.insert(fields.id, entry);
    }

    fn insert(&mut self, id: i64, entry: ProducerEntry) {
        if let Some(old) = self.producers.get(&id) {
            self.by_activity.remove(&(old.last_active_ms, id));
        }
        self.by_activity.insert((entry.last_active_ms, id));
        self.producers.insert(id, entry);
    }
}

enum Judged {
    Duplicate(BatchMetadata),
    /// The producer's entry once the batch is appended.
    Accept(ProducerEntry),
}

/// Kafka's checks for one batch of a known or unknown producer.
fn judge(current: Option<&ProducerEntry>, batch: &IncomingBatch) -> Result<Judged, StorageError> {
    let fields = batch.producer;
    if fields.base_sequence < 0 {
        return Err(out_of_order(fields, "is negative".to_owned()));
    }
    let meta = metadata(batch);
    let fresh_entry = || ProducerEntry {
        epoch: fields.epoch,
        batches: VecDeque::from([meta]),
        last_active_ms: 0,
    };
    let Some(current) = current else {
        // Unknown: its state expired or was never seen here; any sequence starts it.
        return Ok(Judged::Accept(fresh_entry()));
    };
    if fields.epoch < current.epoch {
        return Err(StorageError::InvalidProducerEpoch {
            producer_id: fields.id,
            epoch: fields.epoch,
            current: current.epoch,
        });
    }
    if fields.epoch > current.epoch {
        if fields.base_sequence != 0 {
            return Err(out_of_order(
                fields,
                format!(
                    "opens epoch {} (after {}) but a new epoch starts at sequence 0",
                    fields.epoch, current.epoch
                ),
            ));
        }
        return Ok(Judged::Accept(fresh_entry()));
    }
    if let Some(original) = current
        .batches
        .iter()
        .find(|b| b.first_seq == meta.first_seq && b.last_seq == meta.last_seq)
    {
        return Ok(Judged::Duplicate(*original));
    }
    let expected = current
        .batches
        .back()
        .map_or(fields.base_sequence, |b| next_sequence(b.last_seq));
    if fields.base_sequence != expected {
        return Err(out_of_order(
            fields,
            format!("where {expected} was expected"),
        ));
    }
    let mut entry = current.clone();
    entry.push(meta);
    Ok(Judged::Accept(entry))
}

fn metadata(batch: &IncomingBatch) -> BatchMetadata {
    BatchMetadata {
        first_seq: batch.producer.base_sequence,
        last_seq: last_sequence(batch.producer.base_sequence, batch.last_offset_delta),
        base_offset: batch.base_offset,
        last_offset: batch
            .base_offset
            .saturating_add(i64::from(batch.last_offset_delta)),
        timestamp: batch.max_timestamp,
    }
}

/// The sequence of a batch's last record: sequences wrap from `i32::MAX` to 0 (Kafka's
/// `DefaultRecordBatch.incrementSequence`).
pub fn last_sequence(base_sequence: i32, last_offset_delta: i32) -> i32 {
    let base = i64::from(base_sequence.max(0));
    let last = base + i64::from(last_offset_delta.max(0));
    let modulus = i64::from(i32::MAX) + 1;
    // In 0..=i32::MAX by construction.
    i32::try_from(last % modulus).unwrap_or(0)
}

/// The sequence that follows `last_seq`.
fn next_sequence(last_seq: i32) -> i32 {
    last_sequence(last_seq, 1)
}

fn out_of_order(fields: ProducerFields, reason: String) -> StorageError {
    StorageError::OutOfOrderSequence {
        producer_id: fields.id,
        epoch: fields.epoch,
        first_sequence: fields.base_sequence,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(id: i64, epoch: i16, seq: i32, delta: i32, offset: i64) -> IncomingBatch {
        IncomingBatch {
            producer: ProducerFields {
                id,
                epoch,
                base_sequence: seq,
            },
            last_offset_delta: delta,
            base_offset: offset,
            max_timestamp: 0,
        }
    }

    fn accept(states: &mut ProducerStates, batches: &[IncomingBatch], now_ms: i64) {
        match states.check(batches).unwrap() {
            Verdict::Append(pending) => states.apply(pending, now_ms),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sequences_wrap_from_i32_max_to_zero() {
        assert_eq!(last_sequence(i32::MAX, 0), i32::MAX);
        assert_eq!(last_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(next_sequence(i32::MAX), 0);
        assert_eq!(last_sequence(5, 4), 9);
    }

    #[test]
    fn only_the_last_five_batches_are_recognised_as_duplicates() {
        let mut states = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        for i in 0..6 {
            accept(&mut states, &[incoming(1, 0, i, 0, i64::from(i))], 0);
        }
        let verdict = states.check(&[incoming(1, 0, 1, 0, 99)]).unwrap();
        assert!(matches!(
            verdict,
            Verdict::Duplicate {
                base_offset: 1,
                last_offset: 1
            }
        ));
        assert!(matches!(
            states.check(&[incoming(1, 0, 0, 0, 99)]),
            Err(StorageError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn batches_of_one_append_are_checked_against_each_other() {
        let states = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        let ok = states.check(&[incoming(1, 0, 0, 2, 0), incoming(1, 0, 3, 0, 3)]);
        assert!(matches!(ok, Ok(Verdict::Append(_))));
        let gap = states.check(&[incoming(1, 0, 0, 2, 0), incoming(1, 0, 4, 0, 3)]);
        assert!(matches!(gap, Err(StorageError::OutOfOrderSequence { .. })));
    }

    #[test]
    fn a_duplicate_mixed_with_new_batches_is_refused() {
        let mut states = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        accept(&mut states, &[incoming(1, 0, 0, 0, 0)], 0);
        let mixed = states.check(&[incoming(1, 0, 0, 0, 1), incoming(1, 0, 1, 0, 2)]);
        assert!(matches!(
            mixed,
            Err(StorageError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn idle_producers_expire_and_the_least_recent_is_evicted_at_the_limit() {
        let mut states = ProducerStates::new(1000);
        accept(&mut states, &[incoming(1, 0, 0, 0, 0)], 0);
        accept(&mut states, &[incoming(2, 0, 0, 0, 1)], 500);
        assert_eq!(states.len(), 2);
        states.expire(1000);
        assert_eq!(states.len(), 1);
        assert!(states.producers.contains_key(&2));

        let mut states = ProducerStates::new(i64::MAX);
        for id in 0..=PRODUCERS_PER_PARTITION_MAX as i64 {
            accept(&mut states, &[incoming(id, 0, 0, 0, id)], id);
        }
        assert_eq!(states.len(), PRODUCERS_PER_PARTITION_MAX);
        assert!(!states.producers.contains_key(&0));
    }
}
