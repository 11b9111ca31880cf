//! Counters storage keeps for operators (the metrics endpoint reads them) and for tests that
//! prove group commit shares fsyncs. Relaxed atomics: each counter is monotonic on its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Live counters, shared by every partition of one storage.
#[derive(Debug, Default)]
pub struct Stats {
    appends: AtomicU64,
    bytes_appended: AtomicU64,
    log_fsyncs: AtomicU64,
    log_fsync_nanos: AtomicU64,
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
    }

    /// The counters now.
    pub fn snapshot(&self) -> StorageStats {
        StorageStats {
            appends: self.appends.load(Ordering::Relaxed),
            bytes_appended: self.bytes_appended.load(Ordering::Relaxed),
            log_fsyncs: self.log_fsyncs.load(Ordering::Relaxed),
            log_fsync_time: Duration::from_nanos(self.log_fsync_nanos.load(Ordering::Relaxed)),
        }
    }
}
