//! Storage metrics, read at scrape time from storage's own counters (`Storage::stats`): what
//! appends wrote and how long the fsyncs that made them durable took.
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use sluice_storage::{FSYNC_BUCKETS_US, Storage};

use super::family::{self, BYTES, SECONDS, single_counter};

/// `sluice_storage_*`.
#[derive(Debug)]
pub struct StorageCollector {
    /// The logs.
    pub storage: Arc<Storage>,
}

impl Collector for StorageCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let stats = self.storage.stats();
        single_counter(
            &mut encoder,
            "sluice_storage_appends",
            "Appends to partition logs that succeeded (one per partition a produce or a send \
             wrote).",
            None,
            stats.appends,
        )?;
        single_counter(
            &mut encoder,
            "sluice_storage_written",
            "Bytes of record batches appended to partition logs (indexes, queue cursors and \
             the group journal not included).",
            Some(&BYTES),
            stats.bytes_appended,
        )?;
        let bounds = FSYNC_BUCKETS_US
            .iter()
            .map(|&us| us as f64 / 1e6)
            .chain([f64::MAX]);
        let buckets: Vec<(f64, u64)> = bounds.zip(stats.log_fsync_buckets).collect();
        // The count from the buckets themselves, so it always equals the +Inf bucket even when
        // the snapshot caught an fsync between two counters.
        let count = stats.log_fsync_buckets.iter().sum();
        family::describe(
            &mut encoder,
            "sluice_storage_fsync_duration",
            "How long fsyncs of segment logs took (group commit and segment rolls).",
            Some(&SECONDS),
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(
            stats.log_fsync_time.as_secs_f64(),
            count,
            &buckets,
            None,
        )
    }
}
