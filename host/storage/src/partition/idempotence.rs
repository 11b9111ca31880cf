//! The partition's side of idempotent producers (the rules are in `producers.rs`): what an
//! append's batches look like to the check, and the state rebuilt from the log at open.

use std::time::UNIX_EPOCH;

use super::Partition;
use crate::batch::Span;
use crate::producers::{
    IncomingBatch, PRODUCER_ID_EXPIRATION_MS_DEFAULT, PRODUCER_STATE_SEGMENTS_SCANNED,
    ProducerStates,
};
use crate::segment::Segment;
use crate::{AppendResult, StorageError};

impl Partition {
    /// At open: learns the producers of the newest `PRODUCER_STATE_SEGMENTS_SCANNED` segments
    /// from their batch headers, then forgets those idle past the expiration.
    pub(super) fn rebuild_producers(&self, now_ms: i64) -> Result<(), StorageError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut producers = ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        let skip = state
            .segments
            .len()
            .saturating_sub(PRODUCER_STATE_SEGMENTS_SCANNED);
        for segment in state.segments.values().skip(skip) {
            let active_ms = modified_ms(segment).map_or(now_ms, |ms| ms.min(now_ms));
            segment.for_each_header(|header| producers.load(header, active_ms))?;
        }
        producers.expire(now_ms);
        if producers.len() > 0 {
            tracing::debug!(topic = %self.topic, partition = self.id,
                producers = producers.len(), "producer state rebuilt");
        }
        state.producers = producers;
        Ok(())
    }
}

/// The batches of an append as the producer check sees them, the first at `base_offset`.
pub(super) fn incoming(spans: &[Span], base_offset: i64) -> Vec<IncomingBatch> {
    let mut offset = base_offset;
    spans
        .iter()
        .map(|span| {
            let batch = IncomingBatch {
                producer: span.producer,
                last_offset_delta: i32::try_from(span.offset_count - 1).unwrap_or(i32::MAX),
                base_offset: offset,
                max_timestamp: span.max_timestamp,
            };
            offset = offset.saturating_add(span.offset_count);
            batch
        })
        .collect()
}

/// The answer to a retried append: the original offsets, the partition's current bounds.
pub(super) fn duplicate_result(
    base_offset: i64,
    last_offset: i64,
    log_start: i64,
    high_watermark: i64,
    now_ms: i64,
) -> AppendResult {
    AppendResult {
        base_offset,
        last_offset,
        log_start,
        append_time_ms: now_ms,
        high_watermark,
        duplicate: true,
    }
}

/// When the segment's file was last written: no earlier than its batches were appended, so
/// producers rebuilt from it expire no sooner than they would have without the restart.
/// (Batch timestamps are the producer's clock, and may be far in the past.)
fn modified_ms(segment: &Segment) -> Option<i64> {
    let modified = segment.file().metadata().ok()?.modified().ok()?;
    let since = modified.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok()
}
