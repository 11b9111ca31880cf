//! What a perf run measures while it runs: counters the producers and consumers add to, and
//! latency histograms they merge their own into once per read (so no lock is taken per
//! message), which the sampler empties once per interval.
//!
//! Bounded: a histogram covers [`LATENCY_US_MAX`] at 3 significant digits in a fixed amount
//! of memory (HdrHistogram), and a value above its range is recorded as its maximum.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency told apart: a minute. Anything slower is recorded as a minute.
pub const LATENCY_US_MAX: u64 = 60_000_000;
/// Significant digits kept: every percentile is exact to 0.1%.
const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram, in microseconds.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(
        1,
        LATENCY_US_MAX,
        SIGNIFICANT_DIGITS,
    )?)
}

/// Records `elapsed` in `histogram`, clamped to its range.
pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(us.clamp(1, LATENCY_US_MAX));
}

/// The shared state of one run.
pub struct Recorder {
    /// The run's clock: payload stamps are nanoseconds since this.
    pub clock: Instant,
    /// Messages the broker acknowledged to producers, and their bytes.
    pub produced: AtomicU64,
    /// Body bytes of `produced`.
    pub produced_bytes: AtomicU64,
    /// Messages of this run consumers received, and their bytes.
    pub consumed: AtomicU64,
    /// Body bytes of `consumed`.
    pub consumed_bytes: AtomicU64,
    /// Messages consumers received that this run did not send (left on a queue before).
    pub other: AtomicU64,
    /// When the last message of this run was consumed (ns since `clock`).
    pub last_consumed_ns: AtomicU64,
    /// When the last acknowledgement reached a producer (ns since `clock`).
    pub last_acked_ns: AtomicU64,
    /// End-to-end latency (send to receive) since the sampler last took it.
    e2e: Mutex<Histogram<u64>>,
    /// Acknowledgement latency (hand-over to the broker's answer) since the sampler last
    /// took it.
    ack: Mutex<Histogram<u64>>,
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> anyhow::Result<Recorder> {
        Ok(Recorder {
            clock: Instant::now(),
            produced: AtomicU64::new(0),
            produced_bytes: AtomicU64::new(0),
            consumed: AtomicU64::new(0),
            consumed_bytes: AtomicU64::new(0),
            other: AtomicU64::new(0),
            last_consumed_ns: AtomicU64::new(0),
            last_acked_ns: AtomicU64::new(0),
            e2e: Mutex::new(histogram()?),
            ack: Mutex::new(histogram()?),
        })
    }

    /// Nanoseconds since the run's clock started.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Adds a consumer's end-to-end latencies and empties them.
    pub fn merge_e2e(&self, local: &mut Histogram<u64>) {
        merge(&self.e2e, local);
    }

    /// Adds a producer's acknowledgement latencies and empties them.
    pub fn merge_ack(&self, local: &mut Histogram<u64>) {
        merge(&self.ack, local);
    }

    /// Takes the latencies recorded since the last call: (end to end, acknowledgement).
    pub fn take(&self) -> (Histogram<u64>, Histogram<u64>) {
        (take(&self.e2e), take(&self.ack))
    }
}

fn merge(shared: &Mutex<Histogram<u64>>, local: &mut Histogram<u64>) {
    if local.is_empty() {
        return;
    }
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    // Same bounds on both sides: adding cannot fail.
    let _ = shared.add(&*local);
    local.reset();
}

fn take(shared: &Mutex<Histogram<u64>>) -> Histogram<u64> {
    let mut h = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let out = h.clone();
    h.reset();
    out
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// The largest.
    pub max: f64,
    /// The mean.
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of `h` (microseconds) in milliseconds; all 0 when it is empty.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// Adds `n` to `counter` and keeps `at_ns` as the latest time in `latest`.
pub fn count(counter: &AtomicU64, n: u64, latest: &AtomicU64, at_ns: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
    latest.fetch_max(at_ns, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_to_three_digits() {
        let mut h = histogram().unwrap();
        for us in 1..=10_000u64 {
            h.record(us * 10).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 10_000);
        assert!((p.p50 - 50.0).abs() / 50.0 < 0.001, "{p:?}");
        assert!((p.p99 - 99.0).abs() / 99.0 < 0.001, "{p:?}");
        assert!((p.p99_9 - 99.9).abs() / 99.9 < 0.001, "{p:?}");
        assert!((p.max - 100.0).abs() / 100.0 < 0.001, "{p:?}");
    }

    #[test]
    fn latencies_beyond_the_range_are_clamped_not_lost() {
        let mut h = histogram().unwrap();
        record(&mut h, Duration::from_secs(3600));
        record(&mut h, Duration::ZERO);
        assert_eq!(h.len(), 2);
        assert!(h.max() >= LATENCY_US_MAX && h.max() <= LATENCY_US_MAX + LATENCY_US_MAX / 1000);
        assert_eq!(h.min(), 1);
    }

    #[test]
    fn merged_latencies_are_taken_once() {
        let r = Recorder::new().unwrap();
        let mut local = histogram().unwrap();
        record(&mut local, Duration::from_millis(2));
        r.merge_e2e(&mut local);
        assert!(local.is_empty());
        let (e2e, ack) = r.take();
        assert_eq!((e2e.len(), ack.len()), (1, 0));
        assert!(r.take().0.is_empty());
    }

    #[test]
    fn an_empty_histogram_reports_zeros() {
        assert_eq!(
            Percentiles::of(&histogram().unwrap()),
            Percentiles::default()
        );
    }
}
