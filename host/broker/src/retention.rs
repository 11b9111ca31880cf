//! The background log cleaning: every `topics.retention-check-ms`, storage rolls segments
//! that `segment.ms` says are due and deletes whole segments that `retention.ms` or
//! `retention.bytes` expire; every `topics.compaction-check-ms`, it compacts the topics whose
//! `cleanup.policy` says `compact` and whose dirty share is due. Both run on the blocking
//! pool: they read, write and unlink files.
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_storage::Storage;
use tokio::sync::watch;

/// Runs retention every `every` until `stopped` turns true.
pub async fn run(storage: Arc<Storage>, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let storage = storage.clone();
        match tokio::task::spawn_blocking(move || storage.enforce_retention(now_ms())).await {
            Ok(report) if report.segments > 0 => tracing::info!(
                segments = report.segments,
                bytes = report.bytes,
                "retention deleted segments"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention pass panicked"),
        }
    }
}

/// Compacts what is due every `every` until `stopped` turns true.
pub async fn compact(storage: Arc<Storage>, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let storage = storage.clone();
        match tokio::task::spawn_blocking(move || storage.compact(now_ms(), false)).await {
            Ok(report) if report.partitions_cleaned > 0 => tracing::info!(
                partitions = report.partitions_cleaned,
                records_removed = report.records_removed,
                bytes_freed = report.bytes_freed,
                "compaction cleaned partitions"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "compaction pass panicked"),
        }
    }
}

/// The wall clock in milliseconds since the Unix epoch, as storage's policies count time.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
