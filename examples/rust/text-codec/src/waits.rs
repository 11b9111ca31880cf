//! The waits a connection has armed with the host, and what each is for.
//!
//! Place in the flow: `session` arms them at the end of every call (durable `PUB`s, idle
//! subscriptions, output to resume) and looks up the purpose of each one the host wakes.
//! Tokens only need to be unique within the connection.

use std::collections::BTreeMap;

use sluice_sdk::codec::{ConsumerWatch, LogPosition, Wait, WakeOn};

/// What an armed wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Durable replies waiting for their log positions.
    Durable,
    /// Subscriptions whose queues had nothing, waiting past their versions.
    Consumers,
    /// Deliveries stopped at the output bound; go on once the host has written it.
    Resume,
}

/// The armed waits of one connection.
#[derive(Default)]
pub struct Waits {
    armed: BTreeMap<u64, Purpose>,
    next_token: u64,
}

impl Waits {
    /// Arms a wait and returns its token.
    pub fn arm(
        &mut self,
        out: &mut Vec<Wait>,
        purpose: Purpose,
        timeout_ms: u32,
        watch: Vec<LogPosition>,
        consumers: Vec<ConsumerWatch>,
    ) -> u64 {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        self.armed.insert(token, purpose);
        out.push(Wait {
            token,
            timeout_ms,
            // Durability needs every position (`wake-on all`); a consumer wait has none, and
            // any one of its consumers moving is enough.
            wake_on: if watch.is_empty() {
                WakeOn::Any
            } else {
                WakeOn::All
            },
            watch,
            groups: Vec::new(),
            consumers,
        });
        token
    }

    /// The purpose of a wait that fired; `None` for a token not armed (or already seen).
    pub fn fired(&mut self, token: u64) -> Option<Purpose> {
        self.armed.remove(&token)
    }

    /// How many waits for `purpose` are armed.
    pub fn count(&self, purpose: Purpose) -> usize {
        self.armed.values().filter(|p| **p == purpose).count()
    }

    /// Whether any wait is armed: whether the host will call again without input.
    pub fn any(&self) -> bool {
        !self.armed.is_empty()
    }
}
