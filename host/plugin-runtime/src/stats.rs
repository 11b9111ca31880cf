//! The host's figures for one loaded plugin, of any kind: what it was asked, what it answered,
//! how long that took, how it failed, and the memory its live instances hold.
//!
//! Counted with relaxed atomics by whoever makes the call, so counting never serialises calls;
//! a snapshot may be a call or two out of step between counters, never torn within one.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::bindings::PluginInfo;
use crate::error::FailureCause;

/// Upper bounds of the latency buckets, in microseconds; a last bucket (+Inf) takes the rest.
/// From a cheap filter's tens of microseconds to the one-second default codec deadline.
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000, 1_000_000,
];

/// Live counters, shared by a plugin and its instances' memory limiters.
#[derive(Debug)]
pub(crate) struct PluginStats {
    pub(crate) calls: AtomicU64,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) errors: AtomicU64,
    traps: AtomicU64,
    deadline_misses: AtomicU64,
    memory_exhaustions: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) instances_started: AtomicU64,
    /// Linear memory held by live instances, summed (kept by [`crate::limits::MemoryLimiter`]).
    pub(crate) memory_bytes: AtomicU64,
    latency: Histogram,
    loaded_at_ms: u64,
}

impl PluginStats {
    pub(crate) fn new() -> Self {
        PluginStats {
            calls: AtomicU64::new(0),
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            traps: AtomicU64::new(0),
            deadline_misses: AtomicU64::new(0),
            memory_exhaustions: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            instances_started: AtomicU64::new(0),
            memory_bytes: AtomicU64::new(0),
            latency: Histogram::default(),
            loaded_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// One call made into the plugin, whatever its outcome.
    pub(crate) fn record_call(&self, took: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.latency.record(took);
    }

    /// An instance discarded for `cause`.
    pub(crate) fn record_failure(&self, cause: FailureCause) {
        let counter = match cause {
            FailureCause::Deadline => &self.deadline_misses,
            FailureCause::Memory => &self.memory_exhaustions,
            FailureCause::Trap => &self.traps,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The figures as plain data, with who the plugin says it is.
    pub(crate) fn snapshot(&self, info: &PluginInfo, sha256: &str) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            name: info.name.clone(),
            version: info.version.clone(),
            sha256: sha256.to_owned(),
            loaded_at_ms: self.loaded_at_ms,
            calls: get(&self.calls),
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            errors: get(&self.errors),
            traps: get(&self.traps),
            deadline_misses: get(&self.deadline_misses),
            memory_exhaustions: get(&self.memory_exhaustions),
            restarts: get(&self.restarts),
            instances_started: get(&self.instances_started),
            memory_bytes: get(&self.memory_bytes),
            latency: self.latency.snapshot(),
        }
    }
}

/// The host's figures for one plugin at one moment. Every counter counts since the plugin was
/// loaded (a hot swap starts a new plugin, and new figures).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// The name the plugin reports.
    pub name: String,
    /// The version the plugin reports.
    pub version: String,
    /// SHA-256 of the component's bytes, lowercase hex.
    pub sha256: String,
    /// When it was loaded, in milliseconds since the Unix epoch.
    pub loaded_at_ms: u64,
    /// Calls made into the plugin, whatever their outcome: for a codec every call (`info` at
    /// load, constructors, `on-data`, `on-wake`, drops); for a router or filter the broker's
    /// (`route`, `check`, `apply`), not those answered [`crate::CallError::Unavailable`],
    /// which never reach it.
    pub calls: u64,
    /// Messages handed to it: routed (router), judged (filter). Codecs: 0.
    pub messages_in: u64,
    /// Messages it placed (router), kept or rewrote (filter). Codecs: 0.
    pub messages_out: u64,
    /// Codecs: bytes read from peers and handed to `on-data`. Routers and filters: 0.
    pub bytes_in: u64,
    /// Codecs: bytes the codec asked to write to peers. Routers and filters: 0.
    pub bytes_out: u64,
    /// Calls the plugin answered with an error, or with an answer the host refused (a list of
    /// the wrong length, an index out of range).
    pub errors: u64,
    /// Instances discarded after a trap other than the two below.
    pub traps: u64,
    /// Instances discarded after a call ran past its deadline.
    pub deadline_misses: u64,
    /// Instances discarded after growing past the memory cap.
    pub memory_exhaustions: u64,
    /// Instances started to replace one that failed.
    pub restarts: u64,
    /// Instances started, the first included.
    pub instances_started: u64,
    /// Linear memory held by the live instances, summed, in bytes.
    pub memory_bytes: u64,
    /// How long calls took.
    pub latency: LatencySnapshot,
}

/// Call durations as a Prometheus-style histogram: cumulative counts per upper bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LatencySnapshot {
    /// One per bound of [`LATENCY_BUCKETS_US`], then +Inf; each counts the calls that took at
    /// most its bound (so the counts never decrease, and the last equals `count`).
    pub buckets: Vec<LatencyBucket>,
    /// Calls measured.
    pub count: u64,
    /// Their durations added up, in microseconds.
    pub sum_us: u64,
}

/// One bucket of a [`LatencySnapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LatencyBucket {
    /// The bucket's upper bound in microseconds; `None` is +Inf.
    pub le_us: Option<u64>,
    /// Calls that took at most `le_us`.
    pub count: u64,
}

/// Per-bucket counts (not cumulative: one increment per call), made cumulative on snapshot.
#[derive(Debug, Default)]
struct Histogram {
    counts: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|&bound| us <= bound)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        if let Some(count) = self.counts.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LatencySnapshot {
        let mut cumulative = 0;
        let bounds = LATENCY_BUCKETS_US.iter().map(|&b| Some(b)).chain([None]);
        let buckets: Vec<LatencyBucket> = bounds
            .zip(&self.counts)
            .map(|(le_us, count)| {
                cumulative += count.load(Ordering::Relaxed);
                LatencyBucket {
                    le_us,
                    count: cumulative,
                }
            })
            .collect();
        LatencySnapshot {
            buckets,
            count: cumulative,
            sum_us: self.sum_us.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative_and_end_at_the_count() {
        let histogram = Histogram::default();
        for us in [5, 10, 11, 900, 2_000_000] {
            histogram.record(Duration::from_micros(us));
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 5);
        assert_eq!(snapshot.sum_us, 5 + 10 + 11 + 900 + 2_000_000);
        let count_at = |le: Option<u64>| {
            snapshot
                .buckets
                .iter()
                .find(|b| b.le_us == le)
                .map(|b| b.count)
        };
        assert_eq!(count_at(Some(10)), Some(2));
        assert_eq!(count_at(Some(50)), Some(3));
        assert_eq!(count_at(Some(1_000)), Some(4));
        assert_eq!(count_at(Some(1_000_000)), Some(4));
        assert_eq!(count_at(None), Some(5));
        assert!(
            snapshot
                .buckets
                .windows(2)
                .all(|w| w[0].count <= w[1].count)
        );
    }
}
