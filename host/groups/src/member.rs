//! One member of a group, as the coordinator keeps it between calls.

use std::time::{Duration, Instant};

use crate::types::{JoinRequest, JoinResult, Protocol};

/// `now` plus `ms`. An `Instant` this far ahead cannot overflow on any real clock, but the
/// fallback keeps a hostile timeout from panicking: the deadline is then `now`.
pub(crate) fn after(now: Instant, ms: u32) -> Instant {
    now.checked_add(Duration::from_millis(u64::from(ms)))
        .unwrap_or(now)
}

/// A member of a group.
#[derive(Debug)]
pub(crate) struct Member {
    pub id: String,
    /// Static membership: the member keeps its place across restarts under this id.
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: u32,
    pub rebalance_timeout_ms: u32,
    /// In the member's order of preference.
    pub protocols: Vec<Protocol>,
    /// The member is dropped if nothing from it arrives by then.
    pub session_deadline: Instant,
    /// Its place in the join order of the rebalance under way, once it joined in it. The
    /// first to join leads when the old leader did not come back.
    pub joined: Option<u64>,
    /// It asked for its assignment and waits for the leader's (its session does not run out
    /// meanwhile, as in Kafka: the leader's delay is not its fault).
    pub awaiting_sync: bool,
    /// What its last join resolved to, kept for `join_poll`.
    pub join_result: Option<JoinResult>,
    /// What the leader assigned it in the current generation.
    pub assignment: Vec<u8>,
}

impl Member {
    pub(crate) fn new(id: String, req: &JoinRequest, now: Instant) -> Member {
        Member {
            id,
            instance_id: req.instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout_ms: req.session_timeout_ms,
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            protocols: req.protocols.clone(),
            session_deadline: after(now, req.session_timeout_ms),
            joined: None,
            awaiting_sync: false,
            join_result: None,
            assignment: Vec::new(),
        }
    }

    /// Takes what a join may change: protocols and timeouts (Kafka's `updateMember`).
    pub(crate) fn update(&mut self, req: &JoinRequest, now: Instant) {
        self.protocols = req.protocols.clone();
        self.session_timeout_ms = req.session_timeout_ms;
        self.rebalance_timeout_ms = req.rebalance_timeout_ms;
        self.refresh(now);
    }

    /// The member was heard from: its session starts over.
    pub(crate) fn refresh(&mut self, now: Instant) {
        self.session_deadline = after(now, self.session_timeout_ms);
    }

    /// Its metadata for `protocol`; empty when it does not speak it.
    pub(crate) fn metadata_for(&self, protocol: &str) -> Vec<u8> {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }
}
