//! Kafka's DeleteRecords: raising a partition's log start. The new log start is made durable
//! in the partition's `log-start` file before anything is deleted or acknowledged; whole
//! segments below it are then deleted, the active one never. At open the file is reconciled
//! with the segments (the effective log start is the larger of the two), so retention and
//! DeleteRecords both only ever raise it.

use super::{Partition, State};
use crate::{StorageError, meta, segment};

/// The offset DeleteRecords takes to mean "up to the high watermark" (Kafka's `-1`).
pub const DELETE_TO_HIGH_WATERMARK: i64 = -1;

impl Partition {
    /// Raises the log start to `offset` (`DELETE_TO_HIGH_WATERMARK`: the high watermark),
    /// durably, and deletes the segments entirely below it. Never lowers it; above the high
    /// watermark is `OffsetOutOfRange`. Returns the log start. The file is written under the
    /// partition lock (a few milliseconds of fsync, for a rare admin call) so concurrent
    /// deletes persist in the order they take effect.
    pub fn delete_records(&self, offset: i64) -> Result<i64, StorageError> {
        let (log_start, doomed) = {
            let mut guard = self.lock();
            let state = &mut *guard;
            self.check_writable(state)?;
            let high_watermark = state.visible.offset;
            let target = if offset == DELETE_TO_HIGH_WATERMARK {
                high_watermark
            } else {
                offset
            };
            if target < 0 || target > high_watermark {
                return Err(StorageError::OffsetOutOfRange {
                    offset,
                    log_start: state.log_start,
                    log_end: high_watermark,
                });
            }
            if target <= state.log_start {
                return Ok(state.log_start);
            }
            meta::write_log_start(&self.dir, target)?;
            state.log_start = target;
            (target, take_segments_below(state, target))
        };
        self.remove_segments(&doomed, "DeleteRecords")?;
        tracing::info!(topic = %self.topic, partition = self.id, log_start, "records deleted");
        Ok(log_start)
    }

    /// At open: applies the log start DeleteRecords persisted, finishing a delete a crash cut
    /// short. Under `relaxed` a crash can lose records DeleteRecords had already passed; the
    /// log start then stops at the log end, and those offsets are given out again.
    pub(super) fn restore_log_start(&self) -> Result<(), StorageError> {
        let Some(persisted) = meta::read_log_start(&self.dir)? else {
            return Ok(());
        };
        let doomed = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let mut start = state.log_start.max(persisted);
            if start > state.log_end {
                tracing::warn!(topic = %self.topic, partition = self.id, persisted,
                    log_end = state.log_end, "log start past the recovered log end; lowered to it");
                start = state.log_end;
            }
            state.log_start = start;
            take_segments_below(state, start)
        };
        self.remove_segments(&doomed, "a DeleteRecords finished at open")
    }

    fn remove_segments(&self, bases: &[(i64, u64)], why: &str) -> Result<(), StorageError> {
        for &(base, bytes) in bases {
            // Readers holding the file keep reading it: unlinking does not close it.
            segment::remove_files(&self.dir, base)?;
            tracing::info!(topic = %self.topic, partition = self.id, base_offset = base, bytes,
                "segment deleted by {why}");
        }
        Ok(())
    }
}

/// Takes out of the map the sealed segments whose every offset is below `log_start`; returns
/// their base offsets and sizes.
fn take_segments_below(state: &mut State, log_start: i64) -> Vec<(i64, u64)> {
    let sealed = state.segments.len().saturating_sub(1);
    let doomed: Vec<(i64, u64)> = state
        .segments
        .values()
        .take(sealed)
        .take_while(|s| s.next_offset() <= log_start)
        .map(|s| (s.base_offset(), s.size()))
        .collect();
    for (base, _) in &doomed {
        state.segments.remove(base);
    }
    doomed
}
