//! The plain values of the public API, one-to-one with `wit/queues.wit`: the broker glue
//! converts each field as it is.

use crate::message::Message;

/// How an address hands a message to its queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingType {
    /// To one queue: point to point.
    Anycast,
    /// To every queue: publish/subscribe.
    Multicast,
}

impl RoutingType {
    /// The name Artemis and the configuration use.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingType::Anycast => "anycast",
            RoutingType::Multicast => "multicast",
        }
    }
}

/// What `send` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Queues the messages were routed to, summed over messages.
    pub routed: u32,
    /// One per (topic, partition) written with a durable message: the last offset written
    /// there, listed only while the high watermark has not passed it. The messages are durable
    /// once every position has passed.
    pub pending: Vec<LogPosition>,
}

/// A position in one partition's log; it passes when the high watermark is above `offset`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogPosition {
    /// The storage topic.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// The offset.
    pub offset: i64,
}

/// What a consumer reads from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// An address, or `address::queue`. Ignored when `dynamic`.
    pub source: String,
    /// The routing type asked for, if any.
    pub routing: Option<RoutingType>,
    /// On a multicast address, the subscription queue to read (created if missing); `None`
    /// makes a temporary one deleted when the consumer closes.
    pub subscription: Option<String>,
    /// Whether a subscription queue created for this consumer survives restarts.
    pub durable: bool,
    /// Read a new temporary anycast address and queue, deleted when the connection closes.
    pub dynamic: bool,
    /// A selector (JMS / Artemis syntax), evaluated by the selector filter plugin. On a
    /// temporary queue (a subscription without a name, or `dynamic`) it is the queue's filter:
    /// what it drops is acknowledged there. Otherwise the consumer is handed only what it
    /// keeps, and the rest stays for the queue's other consumers.
    pub selector: Option<String>,
}

/// An open consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerInfo {
    /// Unique for the life of the process.
    pub id: u64,
    /// The address it reads.
    pub address: String,
    /// The queue it reads.
    pub queue: String,
    /// The queue's routing type.
    pub routing: RoutingType,
}

/// A message handed to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Names the delivery in `settle`; unique within the consumer.
    pub tag: u64,
    /// The message as sent (its expiry included).
    pub message: Message,
    /// Failed deliveries before this one.
    pub delivery_count: u32,
    /// Where the message sits in its address's log, as (topic, partition, offset): for a
    /// multicast queue, which reads that log; `None` for an anycast queue's copy.
    pub position: Option<(String, u32, i64)>,
}

/// What `receive` took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// In the order taken: due redeliveries first, then new messages.
    pub deliveries: Vec<Delivery>,
    /// The consumer's version as of the start of the call: wait until it is passed.
    pub version: u64,
}

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Processed: acknowledged.
    Accepted,
    /// Back to the queue as it was, redelivered at once.
    Released,
    /// To the dead-letter address.
    Rejected,
    /// AMQP's `modified`.
    Modified {
        /// Counts as a failed delivery (redelivery delay, dead-lettering at the maximum).
        delivery_failed: bool,
        /// Never deliver the message to this consumer again.
        undeliverable_here: bool,
    },
}
