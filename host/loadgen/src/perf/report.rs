//! What `perf` reports: throughput of both sides, end-to-end and acknowledgement latency
//! percentiles, the per-interval samples, as a table or as JSON.
use std::io::Write;

use serde::Serialize;

use super::samples::Sample;
use super::stats::Percentiles;
use crate::destination::Protocol;
use crate::summary::{Format, rate};

/// One side's throughput.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Side {
    /// Messages: acknowledged to producers, or received by consumers (this run's only).
    pub messages: u64,
    /// Their body bytes.
    pub bytes: u64,
    /// From the start to this side's last message.
    pub elapsed_s: f64,
    /// `messages / elapsed_s`.
    pub msg_per_s: f64,
    /// `bytes / elapsed_s` in megabytes (10^6).
    pub mb_per_s: f64,
}

impl Side {
    /// The figures of `messages` and `bytes` over `elapsed_s`.
    pub fn new(messages: u64, bytes: u64, elapsed_s: f64) -> Side {
        Side {
            messages,
            bytes,
            elapsed_s,
            msg_per_s: rate(messages as f64, elapsed_s),
            mb_per_s: rate(bytes as f64 / 1e6, elapsed_s),
        }
    }
}

/// The report of a perf run.
#[derive(Clone, Debug, Serialize)]
pub struct PerfReport {
    /// The protocol spoken.
    pub protocol: Protocol,
    /// The destination, as given.
    pub destination: String,
    /// Producer connections.
    pub producers: usize,
    /// Consumer connections.
    pub consumers: usize,
    /// Body bytes of each message.
    pub message_size: usize,
    /// The `--rate` asked for, all producers together.
    pub rate_limit_msg_per_s: Option<f64>,
    /// From the start of producing to the consumers' stop.
    pub elapsed_s: f64,
    /// What producers had acknowledged.
    pub produced: Side,
    /// What consumers received of this run.
    pub consumed: Side,
    /// Messages consumers should have received: those produced, times the consumers for a
    /// multicast (`topic://`) AMQP destination, where each has a subscription of its own.
    pub expected: u64,
    /// `expected` less `consumed`, if positive: not received when the consumers stopped.
    pub missing: u64,
    /// Messages received that this run did not send (left on a queue before it).
    pub other_messages: u64,
    /// Send to receive.
    pub latency_ms: Percentiles,
    /// Hand-over to the broker's acknowledgement (AMQP accepted, Kafka acks=all).
    pub ack_latency_ms: Percentiles,
    /// Per-interval figures, oldest first.
    pub samples: Vec<Sample>,
    /// Where the chart was written, if asked.
    pub chart: Option<String>,
}

impl PerfReport {
    /// Prints the report on `out`.
    pub fn print(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        if format == Format::Json {
            let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
            return writeln!(out, "{text}");
        }
        writeln!(
            out,
            "perf over {} with {}: {} producers, {} consumers, {}-byte messages, {:.3} s",
            self.protocol.as_str(),
            self.destination,
            self.producers,
            self.consumers,
            self.message_size,
            self.elapsed_s
        )?;
        for (name, side) in [("produced", &self.produced), ("consumed", &self.consumed)] {
            writeln!(
                out,
                "{name:<10} {:>10} msg {:>12.1} msg/s {:>9.3} MB/s",
                side.messages, side.msg_per_s, side.mb_per_s
            )?;
        }
        if self.missing > 0 || self.other_messages > 0 {
            writeln!(
                out,
                "expected {}, missing {}, other messages {}",
                self.expected, self.missing, self.other_messages
            )?;
        }
        writeln!(
            out,
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "latency ms", "p50", "p90", "p99", "p99.9", "max", "count"
        )?;
        for (name, p) in [
            ("end-to-end", &self.latency_ms),
            ("ack", &self.ack_latency_ms),
        ] {
            writeln!(
                out,
                "{name:<12} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>10}",
                p.p50, p.p90, p.p99, p.p99_9, p.max, p.count
            )?;
        }
        if let Some(chart) = &self.chart {
            writeln!(out, "chart: {chart}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> PerfReport {
        PerfReport {
            protocol: Protocol::Amqp,
            destination: "queue://perf".into(),
            producers: 1,
            consumers: 2,
            message_size: 100,
            rate_limit_msg_per_s: Some(50.0),
            elapsed_s: 2.0,
            produced: Side::new(100, 10_000, 2.0),
            consumed: Side::new(100, 10_000, 2.0),
            expected: 100,
            missing: 0,
            other_messages: 0,
            latency_ms: Percentiles::default(),
            ack_latency_ms: Percentiles::default(),
            samples: Vec::new(),
            chart: None,
        }
    }

    #[test]
    fn json_has_both_sides_and_the_percentiles() {
        let mut out = Vec::new();
        report().print(Format::Json, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["produced"]["msg_per_s"], 50.0);
        assert_eq!(v["consumed"]["mb_per_s"], 0.005);
        for key in ["p50", "p90", "p99", "p99_9", "max", "count"] {
            assert!(v["latency_ms"].get(key).is_some(), "{key}");
            assert!(v["ack_latency_ms"].get(key).is_some(), "{key}");
        }
        assert_eq!(v["rate_limit_msg_per_s"], 50.0);
    }

    #[test]
    fn the_human_report_is_a_small_table() {
        let mut out = Vec::new();
        report().print(Format::Human, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("produced"), "{text}");
        assert!(text.contains("p99.9"), "{text}");
        assert!(!text.contains("missing"), "{text}");
    }
}
