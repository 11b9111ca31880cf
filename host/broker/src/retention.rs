//! The background retention pass: every `topics.retention-check-ms`, storage rolls segments
//! that `segment.ms` says are due and deletes whole segments that `retention.ms` or
//! `retention.bytes` expire. Runs on the blocking pool: it unlinks files.
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
