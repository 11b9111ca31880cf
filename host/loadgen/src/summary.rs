//! What a `produce` or `consume` run reports: messages, bytes, elapsed time and rate, in all
//! and per thread, as sentences or as JSON.
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::destination::Protocol;

/// How results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Sentences and tables.
    #[default]
    Human,
    /// JSON.
    Json,
}

/// What one thread did.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadSummary {
    /// Its index.
    pub thread: usize,
    /// Messages the broker acknowledged (produce) or that were received and acknowledged
    /// (consume).
    pub messages: u64,
    /// Their body bytes.
    pub bytes: u64,
    /// From its first send (or its attach, for a consumer) to its last acknowledgement.
    pub elapsed_s: f64,
    /// `messages / elapsed_s`.
    pub msg_per_s: f64,
    /// Kafka consumers: the next offset to read, per partition, where it stopped (what a
    /// `--group` commits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positions: Option<BTreeMap<i32, i64>>,
    #[serde(skip)]
    started: Option<Instant>,
    #[serde(skip)]
    ended: Option<Instant>,
}

impl ThreadSummary {
    /// A thread's figures over `started..ended`.
    pub fn new(thread: usize, messages: u64, bytes: u64, started: Instant, ended: Instant) -> Self {
        let elapsed_s = ended.saturating_duration_since(started).as_secs_f64();
        ThreadSummary {
            thread,
            messages,
            bytes,
            elapsed_s,
            msg_per_s: rate(messages as f64, elapsed_s),
            positions: None,
            started: Some(started),
            ended: Some(ended),
        }
    }
}

/// What a whole run did.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// `produce` or `consume`.
    pub command: &'static str,
    /// The protocol spoken.
    pub protocol: Protocol,
    /// The destination, as given.
    pub destination: String,
    /// Messages, all threads together.
    pub messages: u64,
    /// Body bytes, all threads together.
    pub bytes: u64,
    /// From the first thread's start to the last one's end.
    pub elapsed_s: f64,
    /// `messages / elapsed_s`.
    pub msg_per_s: f64,
    /// `bytes / elapsed_s`, in megabytes (10^6) per second.
    pub mb_per_s: f64,
    /// Per thread.
    pub threads: Vec<ThreadSummary>,
}

impl Summary {
    /// The totals over `threads`.
    pub fn new(
        command: &'static str,
        protocol: Protocol,
        destination: String,
        threads: Vec<ThreadSummary>,
    ) -> Summary {
        let messages = threads.iter().map(|t| t.messages).sum();
        let bytes = threads.iter().map(|t| t.bytes).sum();
        let first = threads.iter().filter_map(|t| t.started).min();
        let last = threads.iter().filter_map(|t| t.ended).max();
        let elapsed = match (first, last) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        let elapsed_s = elapsed.as_secs_f64();
        Summary {
            command,
            protocol,
            destination,
            messages,
            bytes,
            elapsed_s,
            msg_per_s: rate(messages as f64, elapsed_s),
            mb_per_s: rate(bytes as f64 / 1e6, elapsed_s),
            threads,
        }
    }

    /// Prints the summary on `out`.
    pub fn print(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Json => {
                let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
                writeln!(out, "{text}")
            }
            Format::Human => {
                let (verb, preposition) = match self.command {
                    "produce" => ("produced", "to"),
                    _ => ("consumed", "from"),
                };
                writeln!(
                    out,
                    "{verb} {} messages ({} bytes) {preposition} {} over {} in {:.3} s: {:.1} msg/s, {:.3} MB/s",
                    self.messages,
                    self.bytes,
                    self.destination,
                    self.protocol.as_str(),
                    self.elapsed_s,
                    self.msg_per_s,
                    self.mb_per_s,
                )?;
                for t in &self.threads {
                    write!(
                        out,
                        "  thread {}: {} messages ({} bytes) in {:.3} s, {:.1} msg/s",
                        t.thread, t.messages, t.bytes, t.elapsed_s, t.msg_per_s
                    )?;
                    if let Some(positions) = &t.positions {
                        let list: Vec<String> =
                            positions.iter().map(|(p, o)| format!("{p}:{o}")).collect();
                        write!(out, "; next offsets {}", list.join(" "))?;
                    }
                    writeln!(out)?;
                }
                Ok(())
            }
        }
    }
}

/// `amount / seconds`, 0 over no time.
pub fn rate(amount: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { amount / seconds } else { 0.0 }
}

/// Prints one received body on a line of `out`: as text with control characters escaped, or
/// as a JSON string (`--verbose`).
pub fn print_body(format: Format, body: &[u8], out: &mut dyn Write) -> std::io::Result<()> {
    let text = String::from_utf8_lossy(body);
    match format {
        Format::Json => {
            let line = serde_json::to_string(&text).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")
        }
        Format::Human => writeln!(out, "{}", text.escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_threads_and_span_from_first_start_to_last_end() {
        let t0 = Instant::now();
        let a = ThreadSummary::new(0, 10, 100, t0, t0 + Duration::from_secs(2));
        let b = ThreadSummary::new(
            1,
            30,
            300,
            t0 + Duration::from_secs(1),
            t0 + Duration::from_secs(4),
        );
        let s = Summary::new("produce", Protocol::Amqp, "queue://q".into(), vec![a, b]);
        assert_eq!((s.messages, s.bytes), (40, 400));
        assert!((s.elapsed_s - 4.0).abs() < 1e-9);
        assert!((s.msg_per_s - 10.0).abs() < 1e-9);
        assert!((s.threads[1].msg_per_s - 10.0).abs() < 1e-9);
    }

    #[test]
    fn json_output_names_every_figure() {
        let t0 = Instant::now();
        let s = Summary::new(
            "consume",
            Protocol::Kafka,
            "t".into(),
            vec![ThreadSummary::new(0, 0, 0, t0, t0)],
        );
        let mut out = Vec::new();
        s.print(Format::Json, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["protocol"], "kafka");
        assert_eq!(v["messages"], 0);
        assert_eq!(v["msg_per_s"], 0.0);
        assert_eq!(v["threads"][0]["thread"], 0);
        assert!(v["threads"][0].get("positions").is_none());
    }

    #[test]
    fn bodies_print_one_per_line() {
        let mut out = Vec::new();
        print_body(Format::Human, b"a\nb", &mut out).unwrap();
        print_body(Format::Json, b"c\"", &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\\nb\n\"c\\\"\"\n");
    }
}
