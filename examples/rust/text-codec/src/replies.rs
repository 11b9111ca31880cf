//! Replies owed to the peer, in command order: every command line gets exactly one reply line,
//! and a reply is written only once every reply before it is.
//!
//! Place in the flow: `session` pushes one reply per command it runs. Most are ready at once;
//! a `PUB` whose message is stored but not yet durable owes `OK` until the log positions
//! `queues.send` returned have passed (a wait with `wake-on all`), so the replies behind it
//! wait too. [`Replies::flush`] writes the ready ones from the front.

use std::collections::{BTreeMap, VecDeque};

use sluice_sdk::codec::LogPosition;

/// One reply owed.
enum Reply {
    /// Ready: the line, without its line end.
    Line(Vec<u8>),
    /// `OK` for a `PUB`, once `positions` have passed.
    Durable {
        positions: Vec<LogPosition>,
        /// The wait covering it, while one is out.
        wait: Option<u64>,
    },
    /// The last line; the connection closes after it, for `reason` (logged by the host).
    Close { line: Vec<u8>, reason: String },
}

/// The replies of one connection.
#[derive(Default)]
pub struct Replies {
    owed: VecDeque<Reply>,
}

/// The line end of every line we write: `\r\n`, as line protocols (SMTP, Redis, NATS) and
/// telnet expect; clients that split on `\n` see a `\r` to strip.
pub const LINE_END: &[u8] = b"\r\n";

impl Replies {
    /// A reply ready now.
    pub fn line(&mut self, line: impl Into<Vec<u8>>) {
        self.owed.push_back(Reply::Line(line.into()));
    }

    /// `OK` once `positions` have passed.
    pub fn durable(&mut self, positions: Vec<LogPosition>) {
        self.owed.push_back(Reply::Durable {
            positions,
            wait: None,
        });
    }

    /// A last reply, after which the connection closes.
    pub fn close(&mut self, line: impl Into<Vec<u8>>, reason: impl Into<String>) {
        self.owed.push_back(Reply::Close {
            line: line.into(),
            reason: reason.into(),
        });
    }

    /// Replies owed.
    pub fn len(&self) -> usize {
        self.owed.len()
    }

    /// Whether every reply is written.
    pub fn is_empty(&self) -> bool {
        self.owed.is_empty()
    }

    /// Writes the ready replies from the front to `out`; returns the close reason if the last
    /// reply was among them (nothing after it is written).
    pub fn flush(&mut self, out: &mut Vec<u8>) -> Option<String> {
        while let Some(front) = self.owed.front() {
            if matches!(front, Reply::Durable { .. }) {
                return None;
            }
            match self.owed.pop_front() {
                Some(Reply::Line(line)) => {
                    out.extend_from_slice(&line);
                    out.extend_from_slice(LINE_END);
                }
                Some(Reply::Close { line, reason }) => {
                    out.extend_from_slice(&line);
                    out.extend_from_slice(LINE_END);
                    self.owed.clear();
                    return Some(reason);
                }
                Some(Reply::Durable { .. }) | None => return None,
            }
        }
        None
    }

    /// The positions a new wait must watch for the durable replies no wait covers: per
    /// partition the highest; `None` when every one is covered.
    pub fn unwatched(&self) -> Option<Vec<LogPosition>> {
        let mut highest: BTreeMap<(&str, u32), i64> = BTreeMap::new();
        for reply in &self.owed {
            if let Reply::Durable {
                positions,
                wait: None,
            } = reply
            {
                for p in positions {
                    let offset = highest
                        .entry((p.topic.as_str(), p.partition))
                        .or_insert(p.offset);
                    *offset = (*offset).max(p.offset);
                }
            }
        }
        if highest.is_empty() {
            return None;
        }
        Some(
            highest
                .into_iter()
                .map(|((topic, partition), offset)| LogPosition {
                    topic: topic.to_owned(),
                    partition,
                    offset,
                })
                .collect(),
        )
    }

    /// The durable replies no wait covered are covered by wait `token` now.
    pub fn watched_by(&mut self, token: u64) {
        for reply in &mut self.owed {
            if let Reply::Durable {
                wait: wait @ None, ..
            } = reply
            {
                *wait = Some(token);
            }
        }
    }

    /// Wait `token` fired: its replies become `OK`, or, after a timeout, need a wait again.
    pub fn woken(&mut self, token: u64, timed_out: bool) {
        for reply in &mut self.owed {
            if let Reply::Durable { wait, .. } = reply
                && *wait == Some(token)
            {
                if timed_out {
                    *wait = None;
                } else {
                    *reply = Reply::Line(b"OK".to_vec());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(topic: &str, partition: u32, offset: i64) -> LogPosition {
        LogPosition {
            topic: topic.to_owned(),
            partition,
            offset,
        }
    }

    /// Generated WIT records have no `PartialEq`; their debug form compares as well.
    fn positions(list: Option<Vec<LogPosition>>) -> String {
        format!("{list:?}")
    }

    fn flushed(replies: &mut Replies) -> (String, Option<String>) {
        let mut out = Vec::new();
        let closed = replies.flush(&mut out);
        (String::from_utf8(out).unwrap(), closed)
    }

    #[test]
    fn a_reply_waits_for_the_durable_one_before_it() {
        let mut r = Replies::default();
        r.line("PONG");
        r.durable(vec![at("t", 0, 5)]);
        r.line("PONG");
        assert_eq!(flushed(&mut r), ("PONG\r\n".to_owned(), None));
        assert_eq!(r.len(), 2);
        r.watched_by(7);
        r.woken(7, false);
        assert_eq!(flushed(&mut r), ("OK\r\nPONG\r\n".to_owned(), None));
        assert!(r.is_empty());
    }

    #[test]
    fn a_timed_out_wait_leaves_its_replies_to_be_watched_again() {
        let mut r = Replies::default();
        r.durable(vec![at("t", 0, 5)]);
        r.watched_by(1);
        assert_eq!(positions(r.unwatched()), "None");
        r.woken(1, true);
        assert_eq!(
            positions(r.unwatched()),
            positions(Some(vec![at("t", 0, 5)]))
        );
        assert_eq!(flushed(&mut r).0, "");
    }

    #[test]
    fn unwatched_positions_merge_to_the_highest_per_partition() {
        let mut r = Replies::default();
        r.durable(vec![at("t", 0, 5), at("q", 0, 1)]);
        r.durable(vec![at("t", 0, 9)]);
        assert_eq!(
            positions(r.unwatched()),
            positions(Some(vec![at("q", 0, 1), at("t", 0, 9)]))
        );
    }

    #[test]
    fn nothing_is_written_after_the_closing_line() {
        let mut r = Replies::default();
        r.line("OK");
        r.close("BYE", "the client quit");
        r.line("never");
        assert_eq!(
            flushed(&mut r),
            (
                "OK\r\nBYE\r\n".to_owned(),
                Some("the client quit".to_owned())
            )
        );
        assert!(r.is_empty());
    }
}
