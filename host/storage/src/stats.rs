//! Counters storage keeps for operators (the metrics endpoint reads them) and for tests that
//! prove group commit shares fsyncs. Relaxed atomics: each counter is monotonic on its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the fsync latency buckets, in microseconds; a last bucket (+Inf) takes the
/// rest. From a flush an NVMe drive's cache absorbs (tens of microseconds) through a spinning
/// disk's (tens of milliseconds) to a stalled device (seconds): a fixed set, so recording one
/// fsync costs two atomic adds and the histogram never grows.
pub const FSYNC_BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000,
];

/// Buckets of the fsync histogram: one per bound of [`FSYNC_BUCKETS_US`], then +Inf.
pub const FSYNC_BUCKETS: usize = FSYNC_BUCKETS_US.len() + 1;

/// Live counters, shared by every partition of one storage.
#[derive(Debug, Default)]
pub struct Stats {
    appends: AtomicU64,
    bytes_appended: AtomicU64,
    log_fsyncs: AtomicU64,
    log_fsync_nanos: AtomicU64,
    /// Fsyncs per latency bucket (not cumulative: one increment per fsync).
    log_fsync_buckets: [AtomicU64; FSYNC_BUCKETS],
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStats {
    /// Appends that succeeded.
    pub appends: u64,
    /// Bytes of batches they wrote.
    pub bytes_appended: u64,
    /// Fsyncs of segment logs done to make appends durable (group commit and rolls).
    pub log_fsyncs: u64,
    /// Time those fsyncs took, in total.
    pub log_fsync_time: Duration,
    /// Those fsyncs by how long each took: `[i]` counts the ones that took at most
    /// `FSYNC_BUCKETS_US[i]` microseconds and more than the bound before it; the last counts
    /// the rest. Not cumulative; the counts add up to `log_fsyncs` (a snapshot may be an fsync
    /// or two out of step, never torn within one counter).
    pub log_fsync_buckets: [u64; FSYNC_BUCKETS],
}

/// One topic's share of the disk and how far its partitions' logs reach: what the metrics
/// endpoint reports per topic. Read at scrape time, a partition at a time, so two partitions
/// may be read an append apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicUsage {
    /// The topic.
    pub name: String,
    /// Its partitions.
    pub partitions: u32,
    /// Bytes of its segment logs, every partition's added up (indexes not included).
    pub log_bytes: u64,
    /// Its partitions' log start offsets, added up.
    pub log_start_sum: i64,
    /// Its partitions' log end offsets, added up: records ever appended, less any lost to
    /// truncation by recovery.
    pub log_end_sum: i64,
}

impl Stats {
    pub(crate) fn appended(&self, bytes: u64) {
        self.appends.fetch_add(1, Ordering::Relaxed);
        self.bytes_appended.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn fsynced(&self, took: Duration) {
        self.log_fsyncs.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.log_fsync_nanos.fetch_add(nanos, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = FSYNC_BUCKETS_US
            .iter()
            .position(|&bound| us <= bound)
            .unwrap_or(FSYNC_BUCKETS_US.len());
        if let Some(count) = self.log_fsync_buckets.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> StorageStats {
        StorageStats {
            appends: self.appends.load(Ordering::Relaxed),
            bytes_appended: self.bytes_appended.load(Ordering::Relaxed),
            log_fsyncs: self.log_fsyncs.load(Ordering::Relaxed),
            log_fsync_time: Duration::from_nanos(self.log_fsync_nanos.load(Ordering::Relaxed)),
            log_fsync_buckets: self
                .log_fsync_buckets
                .each_ref()
                .map(|count| count.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fsync_lands_in_the_first_bucket_its_duration_fits() {
        let stats = Stats::default();
        for us in [10, 50, 51, 2_000, 1_000_000, 5_000_000] {
            stats.fsynced(Duration::from_micros(us));
        }
        let snapshot = stats.snapshot();
        let bucket_of = |bound_us: u64| {
            FSYNC_BUCKETS_US
                .iter()
                .position(|&b| b == bound_us)
                .map(|i| snapshot.log_fsync_buckets[i])
        };
        assert_eq!(bucket_of(50), Some(2), "10 µs and 50 µs");
        assert_eq!(bucket_of(100), Some(1), "51 µs");
        assert_eq!(bucket_of(2_500), Some(1), "2 ms");
        assert_eq!(bucket_of(1_000_000), Some(1), "exactly one second");
        assert_eq!(
            snapshot.log_fsync_buckets[FSYNC_BUCKETS - 1],
            1,
            "5 s: +Inf"
        );
        assert_eq!(
            snapshot.log_fsync_buckets.iter().sum::<u64>(),
            snapshot.log_fsyncs
        );
        assert_eq!(
            snapshot.log_fsync_time,
            Duration::from_micros(10 + 50 + 51 + 2_000 + 1_000_000 + 5_000_000)
        );
    }

    #[test]
    fn bucket_bounds_only_grow() {
        assert!(FSYNC_BUCKETS_US.windows(2).all(|w| w[0] < w[1]));
    }
}
