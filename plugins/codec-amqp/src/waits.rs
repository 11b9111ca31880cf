//! The waits a connection has armed with the host, and what each is for.
//!
//! Place in the flow: the connection arms waits at the end of every call (durability of
//! accepted-to-be messages, consumers with nothing to deliver, the heartbeat, resuming after a
//! full output, sending again what the host was unavailable for) and looks up the [`Purpose`] of each one the host wakes.
//!
//! Invariant: at most [`WAITS_ARMED_MAX`] are armed at once, below the host's `waits-max`.
//! Durability and consumer waits share all but [`RESERVED`] of them, so the heartbeat, the
//! resume wait and the retry of held deliveries (at most one each) can always be armed. A purpose that finds no slot is armed
//! at the end of a later call: every slot in use is a wait that will fire.

use std::collections::BTreeMap;

use sluice_sdk::codec::{ConsumerWatch, LogPosition, Wait, WakeOn};

use crate::context::Out;
use crate::limits::WAITS_ARMED_MAX;

/// Slots kept for the heartbeat, the resume wait and the retry of held deliveries.
const RESERVED: usize = 3;

/// What an armed wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A group of client deliveries waiting for durability (see `durable`).
    Durable(u64),
    /// Consumers with nothing to deliver, each waiting past its queue's version.
    Consumers,
    /// Time to send the peer an empty frame, so its idle timeout does not fire.
    Heartbeat,
    /// Deliveries stopped at the output bound; deliver on once the host has written it.
    Resume,
    /// Client deliveries held while the host was unavailable: time to send them again.
    Retry,
}

/// A wait to arm, without its token.
pub struct Request {
    /// Why.
    pub purpose: Purpose,
    /// Wake no later than this.
    pub timeout_ms: u32,
    /// Log positions to watch.
    pub watch: Vec<LogPosition>,
    /// Consumers to watch.
    pub consumers: Vec<ConsumerWatch>,
    /// Whether one passing is enough.
    pub wake_on: WakeOn,
}

impl Request {
    /// A wait on time alone.
    pub fn timer(purpose: Purpose, timeout_ms: u32) -> Self {
        Request {
            purpose,
            timeout_ms,
            watch: Vec::new(),
            consumers: Vec::new(),
            wake_on: WakeOn::Any,
        }
    }
}

/// The armed waits of one connection.
#[derive(Default)]
pub struct Waits {
    /// By token.
    armed: BTreeMap<u64, Purpose>,
    /// Next token; tokens only need to be unique within the connection.
    next_token: u64,
}

impl Waits {
    /// Arms `request` unless its kind has no slot left; returns its token.
    pub fn arm(&mut self, out: &mut Out, request: Request) -> Option<u64> {
        let cap = match request.purpose {
            Purpose::Durable(_) | Purpose::Consumers => WAITS_ARMED_MAX - RESERVED,
            Purpose::Heartbeat | Purpose::Resume | Purpose::Retry => WAITS_ARMED_MAX,
        };
        if self.armed.len() >= cap {
            return None;
        }
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        self.armed.insert(token, request.purpose);
        out.waits.push(Wait {
            token,
            timeout_ms: request.timeout_ms,
            watch: request.watch,
            groups: Vec::new(),
            consumers: request.consumers,
            wake_on: request.wake_on,
        });
        Some(token)
    }

    /// The purpose of a wait that fired; `None` for a token we did not arm (or already saw).
    pub fn fired(&mut self, token: u64) -> Option<Purpose> {
        self.armed.remove(&token)
    }

    /// Whether a wait for `purpose` is armed.
    pub fn has(&self, purpose: Purpose) -> bool {
        self.armed.values().any(|p| *p == purpose)
    }

    /// Whether any wait is armed, that is, whether the host will call again without input.
    pub fn any(&self) -> bool {
        !self.armed.is_empty()
    }

    /// Forgets every wait (the connection closed; their wakes will find nothing).
    pub fn clear(&mut self) {
        self.armed.clear();
    }
}
