//! What a handler works with: the host, the output of the call being served, and the state
//! shared by every session of the connection.
//!
//! Place in the flow: the connection builds a [`Cx`] for each call and lends it down to the
//! sessions and links it dispatches to.

use std::collections::BTreeMap;

use sluice_sdk::codec::{Broker, Level, Output, Wait};

use crate::durable::Durability;
use crate::link::outgoing::Settle;

/// The output of one call, accumulated as handlers run.
#[derive(Default)]
pub struct Out {
    /// Bytes for the peer, in order.
    pub write: Vec<u8>,
    /// Waits to arm.
    pub waits: Vec<Wait>,
    /// Set once the connection is to close after `write`.
    pub close: Option<String>,
}

impl Out {
    /// The host's view of it.
    pub fn into_output(self, pause_input: bool) -> Output {
        Output {
            write: self.write,
            waits: self.waits,
            close: self.close,
            pause_input,
        }
    }
}

/// Connection-wide state the sessions and links need.
pub struct Shared {
    /// The peer's container id (`open.container-id`): names durable subscriptions.
    pub container_id: String,
    /// The largest frame the peer accepts; what we send is cut to fit.
    pub peer_max_frame: u32,
    /// The largest message a client may send us, and the most bytes being assembled at once
    /// on the connection (see `limits::MESSAGE_BYTES_MAX`).
    pub message_bytes_max: usize,
    /// Bytes of messages being assembled from multi-frame transfers, all links together.
    pub assembling_bytes: usize,
    /// Links attached, all sessions together.
    pub links: usize,
    /// Next link id; ids are never reused, so a late wake cannot reach a link that replaced
    /// a detached one under the same handle.
    pub next_link_id: u64,
    /// Deliveries sent to the peer and not settled yet, all sessions together.
    pub unsettled_out: usize,
    /// Client deliveries stored but waiting for durability before we accept them.
    pub durable: Durability,
    /// Client deliveries held because the host was unavailable, all links together; while
    /// any are, the connection's input pauses (see `link::incoming`).
    pub held: usize,
    /// Settlements the client made during this call, by consumer and outcome, for one
    /// `queues.settle` each at its end (see `session::disposition`). At most the
    /// deliveries unsettled, `UNSETTLED_OUT_MAX`.
    pub settles: BTreeMap<(u64, Settle), Vec<u64>>,
}

impl Shared {
    /// State for a new connection, whose messages are bounded by `message_bytes_max`.
    pub fn new(message_bytes_max: usize) -> Self {
        Shared {
            container_id: String::new(),
            peer_max_frame: crate::limits::MIN_MAX_FRAME_BYTES,
            message_bytes_max,
            assembling_bytes: 0,
            links: 0,
            next_link_id: 0,
            unsettled_out: 0,
            durable: Durability::default(),
            held: 0,
            settles: BTreeMap::new(),
        }
    }

    /// A fresh link id.
    pub fn link_id(&mut self) -> u64 {
        self.next_link_id = self.next_link_id.wrapping_add(1);
        self.next_link_id
    }
}

/// What a handler is lent for one call.
pub struct Cx<'a, B> {
    /// The host.
    pub broker: &'a B,
    /// The call's output.
    pub out: &'a mut Out,
    /// Connection-wide state.
    pub shared: &'a mut Shared,
}

impl<B: Broker> Cx<'_, B> {
    /// Logs through the host, tagged as ours.
    pub fn log(&self, level: Level, message: &str) {
        self.broker.log(level, &format!("amqp: {message}"));
    }
}
