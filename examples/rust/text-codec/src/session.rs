//! One connection: the peer's lines in, replies and deliveries out, and the waits that bring
//! the connection back without input.
//!
//! Place in the flow: the `Connection` calls land here. Each call reads whole lines from
//! `line` and runs them (`commands`), writes the replies that are ready (`replies`), lets
//! the subscriptions deliver when no reply is owed (`subscriptions`), arms the waits still
//! needed (`waits`) and says whether input pauses.
//!
//! Invariants: one reply line per command line, in order; `MSG` and `CLOSED` lines only
//! between replies, never while one is owed, so a peer always reads `OK <n>` before the first
//! `MSG <n>`; input pauses only while a wait is armed, so it always resumes; after the closing
//! line nothing is read or written.

use sluice_sdk::codec::{Broker, BrokerError, CodecError, ConnectionInfo, Level, Output, Queues};

use crate::limits::{
    CONSUMER_WAIT_MS, DURABLE_WAIT_MS, DURABLE_WAITS_MAX, LINE_BYTES_MAX, REPLIES_OWED_MAX,
};
use crate::line::Lines;
use crate::replies::Replies;
use crate::subscriptions::{Stop, Subscriptions};
use crate::waits::{Purpose, Waits};

/// Who the peer is, as far as the codec knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Not asked yet: `auth.anonymous-allowed` is asked at the first command (the
    /// constructor may not call the host).
    Unasked,
    /// Anonymous, which the broker allows: every command runs, and `AUTH` may still name a
    /// user.
    Anonymous,
    /// Authenticated as this user.
    User(String),
    /// Anonymous, which the broker does not allow: only `AUTH`, `PING`, `HELP` and `QUIT` run.
    Required,
}

/// The state of one text-protocol connection.
pub struct TextConnection {
    /// For log lines.
    pub(crate) id: u64,
    pub(crate) input: Lines,
    /// The longest line accepted on this connection.
    pub(crate) line_limit: usize,
    pub(crate) auth: Auth,
    /// Failed `AUTH`s so far; at [`crate::limits::AUTH_FAILURES_MAX`] the connection closes.
    pub(crate) auth_failures: u32,
    pub(crate) replies: Replies,
    pub(crate) subs: Subscriptions,
    waits: Waits,
    /// `QUIT`, a line too long or too many failed `AUTH`s: no more lines are read, and the
    /// closing reply is queued.
    pub(crate) closing: bool,
    /// The closing reply is written: the host closes the connection.
    closed: bool,
}

impl TextConnection {
    /// A connection just accepted.
    pub fn accept(info: &ConnectionInfo) -> TextConnection {
        let frame_limit = usize::try_from(info.frame_bytes_max).unwrap_or(usize::MAX);
        let line_limit = LINE_BYTES_MAX.min(frame_limit);
        TextConnection {
            id: info.id,
            input: Lines::new(line_limit),
            line_limit,
            auth: Auth::Unasked,
            auth_failures: 0,
            replies: Replies::default(),
            subs: Subscriptions::default(),
            waits: Waits::default(),
            closing: false,
            closed: false,
        }
    }

    /// The peer sent `data`.
    pub fn data<B: Broker + Queues>(
        &mut self,
        broker: &B,
        data: &[u8],
    ) -> Result<Output, CodecError> {
        let mut out = empty();
        if !self.closed && !self.closing {
            self.input.push(data);
        }
        self.step(broker, &mut out);
        Ok(out)
    }

    /// Wait `token` fired.
    pub fn wake<B: Broker + Queues>(
        &mut self,
        broker: &B,
        token: u64,
        timed_out: bool,
    ) -> Result<Output, CodecError> {
        let mut out = empty();
        match self.waits.fired(token) {
            Some(Purpose::Durable) => {
                if timed_out {
                    self.log(
                        broker,
                        Level::Info,
                        "messages not durable within the wait; waiting again",
                    );
                }
                self.replies.woken(token, timed_out);
            }
            Some(Purpose::Consumers) => self.subs.woken(token),
            // Resume: the output was written; `step` delivers on. An unknown token: the wait
            // of a subscription since closed, harmless.
            Some(Purpose::Resume) | None => {}
        }
        self.step(broker, &mut out);
        Ok(out)
    }

    /// The work of every call: run what was read, write what is ready, deliver, arm waits.
    fn step<B: Broker + Queues>(&mut self, broker: &B, out: &mut Output) {
        if self.closed {
            return;
        }
        // Writing replies makes room for more commands: read and write until the lines run
        // out, or replies owed for durability hold the rest back.
        let mut held_back;
        loop {
            held_back = self.read_lines(broker);
            if let Some(reason) = self.replies.flush(&mut out.write) {
                self.closed = true;
                self.input.clear();
                out.close = Some(reason);
                return;
            }
            if !held_back || self.replies.len() >= REPLIES_OWED_MAX {
                break;
            }
        }
        if self.closing {
            self.input.clear();
        } else {
            self.input.compact();
        }
        let mut full = false;
        if self.replies.is_empty() && !self.closing {
            full = self.subs.deliver(broker, &mut out.write) == Stop::Full;
        }
        self.arm(out, full);
        out.pause_input = (held_back || self.closing) && self.waits.any();
    }

    /// Runs the whole lines read, until none is left or [`REPLIES_OWED_MAX`] replies are
    /// owed; returns whether it stopped at that bound (input waits for replies to go out).
    fn read_lines<B: Broker + Queues>(&mut self, broker: &B) -> bool {
        while !self.closing {
            if self.replies.len() >= REPLIES_OWED_MAX {
                return true;
            }
            match self.input.next_line() {
                None => return false,
                Some(Ok(line)) => self.execute(broker, &line),
                Some(Err(_)) => {
                    let limit = self.line_limit;
                    self.replies.close(
                        format!("ERR line too long (more than {limit} bytes)"),
                        format!("a line of more than {limit} bytes"),
                    );
                    self.closing = true;
                }
            }
        }
        false
    }

    /// Arms the waits still needed: one for durable replies no wait covers (while fewer than
    /// [`DURABLE_WAITS_MAX`] are out), one for parked subscriptions no wait covers, and one
    /// to resume a full output.
    fn arm(&mut self, out: &mut Output, full: bool) {
        if self.waits.count(Purpose::Durable) < DURABLE_WAITS_MAX
            && let Some(positions) = self.replies.unwatched()
        {
            let token = self.waits.arm(
                &mut out.waits,
                Purpose::Durable,
                DURABLE_WAIT_MS,
                positions,
                Vec::new(),
            );
            self.replies.watched_by(token);
        }
        let parked = self.subs.parked();
        if !parked.is_empty() {
            let token = self.waits.arm(
                &mut out.waits,
                Purpose::Consumers,
                CONSUMER_WAIT_MS,
                Vec::new(),
                parked,
            );
            self.subs.watched_by(token);
        }
        if full && self.waits.count(Purpose::Resume) == 0 {
            self.waits
                .arm(&mut out.waits, Purpose::Resume, 0, Vec::new(), Vec::new());
        }
    }

    /// Logs a line about this connection.
    pub(crate) fn log<B: Broker + Queues>(&self, broker: &B, level: Level, message: &str) {
        broker.log(level, &format!("connection {}: {message}", self.id));
    }
}

/// An output with nothing in it yet.
fn empty() -> Output {
    Output {
        write: Vec::new(),
        waits: Vec::new(),
        close: None,
        pause_input: false,
    }
}

/// A broker error as the peer reads it after `ERR`: its code, kebab-case as in the WIT, and
/// its message, on one line.
pub fn describe(e: &BrokerError) -> String {
    // The generated enum prints as `ErrorCode::UnknownAddress`; the WIT says
    // `unknown-address`, which is what a reader looks up.
    let debug = format!("{:?}", e.code);
    let case = debug.rsplit("::").next().unwrap_or(&debug);
    let mut code = String::new();
    for (i, c) in case.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            code.push('-');
        }
        code.push(c.to_ascii_lowercase());
    }
    let message: String = e
        .message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("{code}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::codec::ErrorCode;

    #[test]
    fn broker_errors_read_as_their_wit_code_and_one_line() {
        let e = BrokerError {
            code: ErrorCode::UnknownAddress,
            message: "no such\naddress".to_owned(),
        };
        assert_eq!(describe(&e), "unknown-address: no such address");
    }
}
