//! Sluice's address model, ActiveMQ Artemis's: addresses, anycast and multicast queues,
//! consumers, acknowledgement, redelivery, dead letters, expiry and counters, over storage's
//! logs and queue cursors. It implements `wit/queues.wit`; the broker converts the WIT types
//! to these one to one.
//!
//! **Architecture Invariant:** every message is one Kafka record in a storage log, so Kafka
//! clients and queue consumers see the same data: a multicast address's log *is* a topic
//! (the topic of the address's name when that is a valid topic name), and a Kafka topic is a
//! multicast address. An anycast queue has its own internal log (`__sluice.q.<id>`); a
//! multicast queue (a subscription) is a cursor per partition over its address's log. A queue
//! holds no message in memory beyond a small read-ahead: its state is offsets.
//!
//! **Architecture Invariant:** nothing here waits or reads a clock: calls take `now_ms`, the
//! broker's `tick` drives time, and consumers wait outside through [`QueueWatch`].
//!
//! **Architecture Invariant:** routing and filtering are policies the broker supplies
//! ([`Policies`], backed by Wasm plugins); this crate calls them with no queue locked for a
//! route and at most one for a filter, never with the catalog locked for writing. A policy
//! that cannot answer holds messages (the call reports `Unavailable`, nothing is stored or
//! taken) and never loses one. Delivery policies (scheduled delivery, message groups,
//! last-value and ring queues) are the host's own, read from reserved headers and queue
//! attributes.
//!
//! Codemap, in the order a message flows:
//!
//! - `names` (address and queue names, `address::queue`, internal names), `wildcard` and
//!   `settings` (address settings by wildcard match, merged most specific last);
//! - `resolve` (from a name to an address or queue, creating it when the settings allow) →
//!   `catalog` (the addresses and queues that exist; the only code that creates and deletes
//!   them with their storage) → `registry` (the durable ones, in `registry.toml`);
//! - `policy` (the contract with the router and filter plugins) → `publish` (a send's
//!   publish filter, default expiry, delay headers) → `policy_routing` (the router's
//!   placements, checked, or the host's own: `partitioner` and round robin) → `routing` (one
//!   append per log partition and per anycast queue, pins, last values, rings) → `message` (a
//!   message as a record; storage's `encode` makes the batch);
//! - `queue` (one queue's state: cursors, read-ahead, delivering, returned, scheduled,
//!   moving) → `scan` (new messages from the log, below the high watermark only) →
//!   `delivery` (receive: `schedule` for messages early, `eligibility` with `groups` and
//!   pins for who may take what, `skipped` for what is left to others, `last_value` for
//!   replaced values, `filtering` for delivery filters and selectors, `handover` for what
//!   their verdicts make of each message) → `settle` (outcomes, consumers leaving, purges)
//!   → `moves` (to dead-letter and expiry addresses, in two steps); `ring` trims ring
//!   queues;
//! - `consumers` (consumers and the connections owning them, selectors checked), `watch`
//!   (waiting past a version), `counters` (statistics), `tick` (syncs, truncation, expiry,
//!   redeliveries and schedules coming due, held moves, rings, held filters retried), `open`
//!   (load, leftovers, configured declarations), `manage` (what an operator creates, inspects,
//!   purges and deletes through the admin API), `manage_update` (changes in place, for
//!   declared resources).
//!
//! Memory the delivery policies hold is bounded per queue, each bound a constant with its
//! reasons: [`SKIPPED_MAX`] skipped positions (with [`SKIPPED_CACHE_BYTES_MAX`] of their
//! messages), [`SKIP_SCAN_MAX`] messages examined per receive, [`SCHEDULED_MAX`] messages
//! set aside for their time, [`GROUPS_MAX`] group owners, [`PINS_MAX`] consumer pins,
//! [`LVQ_KEYS_MAX`] last-value keys, [`RING_SCAN_MAX`] offsets stepped over per ring trim.
//!
//! Invariants kept throughout:
//! - a message is delivered only once stored (below its log's high watermark), and to at
//!   most one consumer of a queue at a time;
//! - a message leaves a queue only acknowledged: by a consumer, by a purge, by retention
//!   (counted expired), after its destination holds it durably (dead letters, expiry), or by
//!   policy: a delivery filter dropped it (counted filtered), a newer value replaced it in a
//!   last-value queue (counted replaced), a ring queue over its size removed it (counted
//!   removed by ring);
//! - a policy that cannot answer loses nothing: a held send stores nothing and says so, a
//!   held filter leaves its messages on the queue, a held move stays in its queue;
//! - an acknowledgement a power loss forgets becomes a redelivery, never a loss: logs are
//!   truncated only below cursors already synced (see `tick`);
//! - locks are taken catalog first, then a queue, one queue at a time; a move to another
//!   address happens with no queue locked.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![warn(missing_docs)]

mod catalog;
mod config;
mod consumers;
mod counters;
mod delivery;
mod eligibility;
mod error;
mod filtering;
mod groups;
mod handover;
mod last_value;
mod manage;
mod manage_update;
mod message;
mod moves;
mod names;
mod open;
mod partitioner;
mod policy;
mod policy_routing;
mod publish;
mod queue;
mod registry;
mod resolve;
mod ring;
mod routing;
mod scan;
mod schedule;
mod settings;
mod settle;
mod skipped;
mod tick;
mod types;
mod watch;
mod wildcard;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sluice_storage::Storage;

pub use config::{
    AddressConfig, CONSUMERS_PER_CONNECTION_MAX_DEFAULT, EXPIRY_TRACKED_MAX_DEFAULT,
    PARTITIONS_DEFAULT, QUEUES_MAX_DEFAULT, QueueConfig, QueueLimits, QueuesConfig,
    SYNC_INTERVAL_MS_DEFAULT,
};
pub use counters::QueueStats;
pub use eligibility::PINS_MAX;
pub use error::QueuesError;
pub use groups::GROUPS_MAX;
pub use last_value::LVQ_KEYS_MAX;
pub use manage::{AddressInfo, NewQueue};
pub use manage_update::QueueUpdate;
pub use message::{
    DELIVERY_DELAY_HEADER, DELIVERY_TIME_HEADER, EXPIRY_HEADER, GROUP_ID_HEADER, Message,
    ORIGINAL_ADDRESS_HEADER, ORIGINAL_QUEUE_HEADER,
};
pub use names::{ADDRESS_BYTES_MAX, FQQN_SEPARATOR, INTERNAL_PREFIX, validate as validate_name};
pub use policy::{
    AddressView, ConsumerView, DEFAULT_ROUTER, FilterRef, NoPlugins, Placement, Policies,
    PolicyError, QueueTarget, QueueView, SELECTOR_PLUGIN, Verdict,
};
pub use ring::RING_SCAN_MAX;
pub use schedule::SCHEDULED_MAX;
pub use settings::{AddressSettingsRule, MAX_DELIVERY_ATTEMPTS_DEFAULT};
pub use skipped::{SKIP_SCAN_MAX, SKIPPED_CACHE_BYTES_MAX, SKIPPED_MAX};
pub use types::{
    ConsumerInfo, ConsumerOptions, Delivery, LogPosition, Outcome, Received, RoutingType, Sent,
};
pub use watch::QueueWatch;

use catalog::Catalog;
use consumers::ConsumerTable;
use registry::RegistryPath;
use settings::SettingsRules;

/// The address model. `Send + Sync`: share it as `Arc<Queues>`.
///
/// Calls on different queues run in parallel; calls on one queue are serialised by its lock,
/// held across page-cache reads and writes of storage but never across an fsync a client call
/// waits for.
#[derive(Debug)]
pub struct Queues {
    storage: Arc<Storage>,
    rules: SettingsRules,
    /// Partitions of a new multicast log.
    partitions: u32,
    sync_interval_ms: u64,
    limits: QueueLimits,
    registry: RegistryPath,
    /// Addresses and queues; read by every send and lookup, written by creations.
    catalog: RwLock<Catalog>,
    consumers: Mutex<ConsumerTable>,
    /// Consumer ids, unique for the process.
    next_consumer: AtomicU64,
    /// The routers and filters.
    policies: Arc<dyn Policies>,
}

// The broker shares one model across its connection tasks.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Queues>();
};

impl Queues {
    /// Opens the model over `storage`: loads the registry (in `<data dir>/queues/`), deletes
    /// what non-durable and temporary queues left behind, and declares the configured
    /// addresses and queues (existing ones are kept, their configured attributes updated).
    /// Without plugins ([`NoPlugins`]): routing is the host's own, and filters and selectors
    /// are refused.
    pub fn open(storage: Arc<Storage>, config: QueuesConfig) -> Result<Queues, QueuesError> {
        Queues::open_with_policies(storage, config, Arc::new(NoPlugins))
    }

    /// [`Queues::open`], routing and filtering with `policies`. A configuration refused
    /// outright (a ring size of 0) fails the open with `InvalidAddress`; a configured filter
    /// `policies` refuses is logged, and holds the messages it would judge until it is fixed.
    pub fn open_with_policies(
        storage: Arc<Storage>,
        config: QueuesConfig,
        policies: Arc<dyn Policies>,
    ) -> Result<Queues, QueuesError> {
        let rules = SettingsRules::new(&config.address_settings);
        rules.validate().map_err(QueuesError::InvalidAddress)?;
        config::validate_addresses(&config.addresses).map_err(QueuesError::InvalidAddress)?;
        check_configured_filters(&*policies, &rules, &config.addresses);
        let registry = RegistryPath::new(&storage.config().dir);
        let file = registry.load()?;
        let queues = Queues {
            storage,
            rules,
            partitions: config.partitions.max(1),
            sync_interval_ms: config.sync_interval_ms,
            limits: config.limits,
            registry,
            catalog: RwLock::new(Catalog::default()),
            consumers: Mutex::new(ConsumerTable::default()),
            next_consumer: AtomicU64::new(1),
            policies,
        };
        let id_floor = queues.remove_leftovers(&file);
        queues.load(file, id_floor)?;
        queues.declare(&config.addresses)?;
        tracing::info!(
            queues = queues.catalog_read().queue_count,
            "address model open"
        );
        Ok(queues)
    }

    /// Sends `messages` to `address` (an address, or `address::queue` for that anycast queue
    /// alone), for `connection`. The address's publish filter, if any, keeps, drops or
    /// rewrites each message first; then its router places them (`address::queue` is not
    /// routed). A message without an expiry gets the address settings' default; a delivery
    /// delay header becomes a delivery time. An empty `messages` only resolves the address
    /// (creating it if allowed). Errors: `UnknownAddress`, `InvalidRouting`,
    /// `InvalidAddress`, `ResourceLimit` (queues in total), `Unavailable` (the router or
    /// publish filter holds messages: nothing was stored), `Storage`.
    pub fn send(
        &self,
        connection: u64,
        address: &str,
        routing: Option<RoutingType>,
        messages: Vec<Message>,
        now_ms: i64,
    ) -> Result<Sent, QueuesError> {
        let sent = self.send_inner(address, routing, messages, now_ms)?;
        tracing::trace!(connection, address, routed = sent.routed, "sent");
        Ok(sent)
    }

    /// Opens a consumer for `connection`, with its selector if it has one. Errors:
    /// `UnknownAddress`, `InvalidRouting`, `InvalidAddress`, `ResourceLimit` (the queue's
    /// `max_consumers`, consumers per connection, queues in total), `InvalidFilter` (the
    /// selector filter refuses the selector), `Unavailable` (the selector filter is
    /// restarting), `Storage`.
    pub fn open_consumer(
        &self,
        connection: u64,
        options: ConsumerOptions,
    ) -> Result<ConsumerInfo, QueuesError> {
        self.open_consumer_inner(connection, options)
    }

    /// Takes up to `max` messages for the consumer, stopping before `max_bytes` of bodies
    /// would be exceeded (but taking at least one); with `settled` they are acknowledged on
    /// the spot. Messages go through the delivery filters and the consumer's selector; a
    /// filter that holds stops the receive with what it took (the rest stays, and `tick`
    /// wakes the consumer to try again). Errors: `UnknownConsumer` (not open, or another
    /// connection's), `Storage` (only when nothing was taken).
    pub fn receive(
        &self,
        connection: u64,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
        now_ms: i64,
    ) -> Result<Received, QueuesError> {
        let queue = self.consumer_table().queue(connection, consumer)?;
        let mut moves = Vec::new();
        let received = queue.lock(&self.storage).receive(
            consumer,
            max,
            max_bytes,
            settled,
            now_ms,
            &*self.policies,
            &mut moves,
        );
        self.perform_moves(&queue, moves, now_ms);
        received
    }

    /// Settles deliveries of the consumer; unknown and already settled tags are ignored.
    /// Errors: `UnknownConsumer`, `Storage` (those messages stay in the queue).
    pub fn settle(
        &self,
        connection: u64,
        consumer: u64,
        tags: &[u64],
        outcome: Outcome,
        now_ms: i64,
    ) -> Result<(), QueuesError> {
        let queue = self.consumer_table().queue(connection, consumer)?;
        let mut moves = Vec::new();
        let settled = queue
            .lock(&self.storage)
            .settle(consumer, tags, outcome, now_ms, &mut moves);
        self.perform_moves(&queue, moves, now_ms);
        settled
    }

    /// Closes a consumer: its unsettled deliveries fail (counted, redelivered or
    /// dead-lettered); a temporary subscription goes with it; a purge-on-no-consumers queue
    /// losing its last consumer is purged. Unknown consumers are ignored.
    pub fn close_consumer(&self, connection: u64, consumer: u64, now_ms: i64) {
        self.close_consumer_inner(connection, consumer, now_ms);
    }

    /// The connection closed: its consumers close and its temporary addresses go.
    pub fn connection_closed(&self, connection: u64, now_ms: i64) {
        self.connection_closed_inner(connection, now_ms);
    }

    /// What to wait on for the consumer's next change; `None` if it is not open.
    pub fn watch(&self, consumer: u64) -> Option<QueueWatch> {
        let (queue, live) = {
            let table = self.consumer_table();
            let c = table.by_id.get(&consumer)?;
            (c.queue.clone(), c.live.clone())
        };
        let watermarks = {
            let locked = queue.lock(&self.storage);
            locked.st.parts.iter().map(|p| p.hw.clone()).collect()
        };
        Some(QueueWatch::new(queue.subscribe(), watermarks, live))
    }

    /// The periodic pass: cursor syncs every `sync_interval_ms`, log truncation, expiry of
    /// tracked messages, redeliveries and scheduled messages coming due, moves a policy held,
    /// ring queues trimmed, consumers of queues a filter held woken. Call it every 100 ms or
    /// so.
    pub fn tick(&self, now_ms: i64) {
        self.tick_inner(now_ms);
    }

    /// Every queue's statistics, sorted by address then queue.
    pub fn stats(&self) -> Vec<QueueStats> {
        self.all_queues()
            .iter()
            .map(|q| q.lock(&self.storage).stats())
            .collect()
    }

    /// Syncs every durable cursor and writes the registry: at shutdown, after which nothing
    /// acknowledged is delivered again.
    pub fn flush(&self) -> Result<(), QueuesError> {
        self.flush_inner()
    }

    /// Creations hold the write lock only for what they change; a panic in one cannot leave
    /// the maps half-updated, so a poisoned lock still guards a consistent catalog.
    fn catalog_read(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn catalog_write(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn consumer_table(&self) -> MutexGuard<'_, ConsumerTable> {
        self.consumers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Logs the configured filters `policies` refuses: they would hold every message they judge.
/// Not fatal: the plugins may be loaded after the model opens.
fn check_configured_filters(
    policies: &dyn Policies,
    rules: &SettingsRules,
    addresses: &[AddressConfig],
) {
    let queues = addresses.iter().flat_map(|a| {
        a.queues
            .iter()
            .filter_map(move |q| q.filter.as_ref().map(|f| (a.name.as_str(), f)))
    });
    for (at, filter) in rules.filters().chain(queues) {
        if let Err(PolicyError::Invalid(why)) = policies.check_filter(filter) {
            tracing::warn!(
                at, plugin = %filter.plugin, error = %why,
                "a configured filter is refused; it will hold the messages it judges"
            );
        }
    }
}
