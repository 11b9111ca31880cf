//! What the broker configures: addresses and queues declared at open, the address-settings
//! rules, and the limits. Plain data; the three declaration types are read straight from the
//! broker's TOML.

use serde::{Deserialize, Serialize};
use sluice_storage::CursorLimits;

use crate::policy::FilterRef;
use crate::settings::AddressSettingsRule;
use crate::types::RoutingType;

/// Partitions of a multicast address's new log, as Kafka's `num.partitions` default: one
/// partition keeps every subscriber's order the send order.
pub const PARTITIONS_DEFAULT: u32 = 1;

/// How often `tick` makes durable queues' acknowledgements durable (fsyncs their cursors). A
/// power loss forgets at most this much of acknowledgements, which become redeliveries.
pub const SYNC_INTERVAL_MS_DEFAULT: u64 = 100;

/// Consumers one connection may hold open: an AMQP session opening links in a loop would
/// otherwise grow the consumer table without bound. Artemis has no such limit; a client
/// needing a thousand receivers on one connection is already unusual.
pub const CONSUMERS_PER_CONNECTION_MAX_DEFAULT: usize = 1024;

/// Messages whose expiry each queue remembers from `send`, so `tick` can move them to the
/// expiry address while nobody consumes: 100 000 entries are 2.4 MiB per queue. Beyond it an
/// expired message is found when a consumer reaches it.
pub const EXPIRY_TRACKED_MAX_DEFAULT: usize = 100_000;

/// Queues the broker holds, durable or not: each has at least one cursor directory and
/// (anycast) a log, so this bounds open files and memory against auto-creation run wild.
pub const QUEUES_MAX_DEFAULT: usize = 10_000;

/// How the address model is set up. Changing it between runs never loses a durable queue's
/// messages: declared queues are added or updated, never removed.
#[derive(Debug, Clone)]
pub struct QueuesConfig {
    /// Addresses (and their queues) that exist from the start, as Artemis's `<addresses>`.
    pub addresses: Vec<AddressConfig>,
    /// Settings by wildcard match on the address name, as Artemis's `<address-settings>`.
    pub address_settings: Vec<AddressSettingsRule>,
    /// Partitions of the log of a multicast address created here (an existing topic keeps its
    /// own count).
    pub partitions: u32,
    /// How often `tick` syncs durable queues' cursors.
    pub sync_interval_ms: u64,
    /// Bounds on what clients can make the model hold.
    pub limits: QueueLimits,
}

impl Default for QueuesConfig {
    fn default() -> QueuesConfig {
        QueuesConfig {
            addresses: Vec::new(),
            address_settings: Vec::new(),
            partitions: PARTITIONS_DEFAULT,
            sync_interval_ms: SYNC_INTERVAL_MS_DEFAULT,
            limits: QueueLimits::default(),
        }
    }
}

/// An address declared in the broker's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressConfig {
    /// The address name.
    pub name: String,
    /// Its routing types (`routing = ["anycast"]`). Those its queues need are added; empty
    /// with no queue means the settings' `default-routing-type`.
    #[serde(default)]
    pub routing: Vec<RoutingType>,
    /// Queues on it.
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
}

/// A queue declared in the broker's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueueConfig {
    /// The queue name, unique on its address.
    pub name: String,
    /// Anycast (its own log, competing consumers) or multicast (a subscription to the
    /// address's log).
    pub routing: RoutingType,
    /// Whether it survives a restart.
    #[serde(default = "yes")]
    pub durable: bool,
    /// Deliver only to the oldest consumer; the others wait as standbys.
    #[serde(default)]
    pub exclusive: bool,
    /// Consumers it accepts at once; -1 for no limit.
    #[serde(default = "unlimited")]
    pub max_consumers: i32,
    /// Drop its messages when its last consumer leaves, and take none while it has no
    /// consumer.
    #[serde(default)]
    pub purge_on_no_consumers: bool,
    /// Applied as messages are taken for delivery (Artemis's queue `filter-string`): what it
    /// drops is acknowledged and counted filtered. A string is a selector; a table
    /// `{ plugin, config }` names a filter plugin.
    #[serde(default)]
    pub filter: Option<FilterRef>,
    /// A last-value queue keyed by this header: a message replaces the queue's previous one
    /// with the same value (default: the address settings' `last-value-key`).
    #[serde(default)]
    pub last_value_key: Option<String>,
    /// A ring queue holding at most this many messages, at least 1: the oldest not being
    /// delivered goes when a new one arrives (default: the address settings' `ring-size`).
    #[serde(default, deserialize_with = "crate::settings::ring_size")]
    pub ring_size: Option<u64>,
}

/// An unnamed durable anycast queue with Artemis's default attributes, to fill in with
/// `..QueueConfig::default()` (a name at least).
impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig::new("", RoutingType::Anycast)
    }
}

impl QueueConfig {
    /// A durable queue with Artemis's default attributes.
    pub fn new(name: &str, routing: RoutingType) -> QueueConfig {
        QueueConfig {
            name: name.to_owned(),
            routing,
            durable: true,
            exclusive: false,
            max_consumers: -1,
            purge_on_no_consumers: false,
            filter: None,
            last_value_key: None,
            ring_size: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn unlimited() -> i32 {
    -1
}

/// Bounds on the model's memory and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLimits {
    /// Bounds of each queue cursor (acknowledged ranges, delivery counts, journal size).
    pub cursor: CursorLimits,
    /// Consumers one connection may hold open.
    pub consumers_per_connection_max: usize,
    /// Expiry entries each queue keeps for `tick`.
    pub expiry_tracked_max: usize,
    /// Queues in total.
    pub queues_max: usize,
}

impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            cursor: CursorLimits::default(),
            consumers_per_connection_max: CONSUMERS_PER_CONNECTION_MAX_DEFAULT,
            expiry_tracked_max: EXPIRY_TRACKED_MAX_DEFAULT,
            queues_max: QUEUES_MAX_DEFAULT,
        }
    }
}

/// Refuses declared queues no queue may be: a ring size of 0 (built in code; TOML refuses it
/// on reading).
pub(crate) fn validate_addresses(addresses: &[AddressConfig]) -> Result<(), String> {
    for address in addresses {
        for queue in &address.queues {
            if queue.ring_size == Some(0) {
                return Err(format!(
                    "queue `{}::{}`: ring-size must be at least 1",
                    address.name, queue.name
                ));
            }
        }
    }
    Ok(())
}
