//! Per-interval figures of a perf run, for the chart and the JSON report. At most
//! [`SAMPLES_MAX`] are kept: when full, neighbours are folded in pairs, so a long run keeps
//! its whole span at a coarser grain instead of growing or forgetting its start.
use serde::Serialize;

/// Samples kept at most: an hour at one per second before the first fold.
pub const SAMPLES_MAX: usize = 3600;

/// One interval's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// The interval's end, in seconds since the run started.
    pub t_s: f64,
    /// Its length in seconds.
    pub interval_s: f64,
    /// Messages acknowledged to producers per second.
    pub produced_msg_per_s: f64,
    /// Messages received by consumers per second.
    pub consumed_msg_per_s: f64,
    /// Body megabytes (10^6) acknowledged per second.
    pub produced_mb_per_s: f64,
    /// Body megabytes received per second.
    pub consumed_mb_per_s: f64,
    /// Median end-to-end latency, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile end-to-end latency, ms.
    pub latency_p99_ms: f64,
    /// Largest end-to-end latency, ms.
    pub latency_max_ms: f64,
    /// 99th percentile acknowledgement latency, ms.
    pub ack_p99_ms: f64,
}

impl Sample {
    /// `self` and the sample after it as one. Rates are weighted by time; a fold cannot
    /// recompute a percentile from two percentiles, so it keeps the larger (an upper bound).
    fn fold(&self, next: &Sample) -> Sample {
        let total = self.interval_s + next.interval_s;
        let weighted = |a: f64, b: f64| {
            if total > 0.0 {
                (a * self.interval_s + b * next.interval_s) / total
            } else {
                0.0
            }
        };
        Sample {
            t_s: next.t_s,
            interval_s: total,
            produced_msg_per_s: weighted(self.produced_msg_per_s, next.produced_msg_per_s),
            consumed_msg_per_s: weighted(self.consumed_msg_per_s, next.consumed_msg_per_s),
            produced_mb_per_s: weighted(self.produced_mb_per_s, next.produced_mb_per_s),
            consumed_mb_per_s: weighted(self.consumed_mb_per_s, next.consumed_mb_per_s),
            latency_p50_ms: self.latency_p50_ms.max(next.latency_p50_ms),
            latency_p99_ms: self.latency_p99_ms.max(next.latency_p99_ms),
            latency_max_ms: self.latency_max_ms.max(next.latency_max_ms),
            ack_p99_ms: self.ack_p99_ms.max(next.ack_p99_ms),
        }
    }
}

/// The samples of a run, bounded.
#[derive(Debug)]
pub struct Samples {
    kept: Vec<Sample>,
    max: usize,
}

impl Samples {
    /// At most `max` (at least 2) samples.
    pub fn new(max: usize) -> Samples {
        Samples {
            kept: Vec::new(),
            max: max.max(2),
        }
    }

    /// Adds the next sample, folding pairs first when full.
    pub fn push(&mut self, sample: Sample) {
        if self.kept.len() >= self.max {
            self.kept = self
                .kept
                .chunks(2)
                .filter_map(|pair| pair.iter().cloned().reduce(|a, b| a.fold(&b)))
                .collect();
        }
        self.kept.push(sample);
    }

    /// The samples, oldest first.
    pub fn as_slice(&self) -> &[Sample] {
        &self.kept
    }
}

#[cfg(test)]
pub(crate) fn sample(t_s: f64, rate: f64, p99: f64) -> Sample {
    Sample {
        t_s,
        interval_s: 1.0,
        produced_msg_per_s: rate,
        consumed_msg_per_s: rate,
        produced_mb_per_s: rate / 1000.0,
        consumed_mb_per_s: rate / 1000.0,
        latency_p50_ms: p99 / 2.0,
        latency_p99_ms: p99,
        latency_max_ms: p99 * 2.0,
        ack_p99_ms: p99 / 4.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_set_folds_in_pairs_and_keeps_the_whole_span() {
        let mut samples = Samples::new(4);
        for i in 1..=5 {
            samples.push(sample(f64::from(i), f64::from(i) * 100.0, f64::from(i)));
        }
        let kept = samples.as_slice();
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].t_s, 2.0);
        assert_eq!(kept[0].interval_s, 2.0);
        assert_eq!(kept[0].produced_msg_per_s, 150.0);
        assert_eq!(kept[0].latency_p99_ms, 2.0);
        assert_eq!(kept[2].t_s, 5.0);
    }

    #[test]
    fn samples_never_exceed_their_bound() {
        let mut samples = Samples::new(10);
        for i in 0..10_000 {
            samples.push(sample(f64::from(i), 1.0, 1.0));
            assert!(samples.as_slice().len() <= 10);
        }
        assert_eq!(samples.as_slice().last().map(|s| s.t_s), Some(9999.0));
    }
}
