//! Management: what an operator does to addresses and queues through the admin API, as
//! Artemis's `address` and `queue` commands do: list, create and delete addresses; create,
//! inspect, purge and delete queues.
//!
//! Everything goes through `catalog`, so a queue created here is the same as one declared in
//! the configuration: durable ones are in the registry and come back after a restart.
//! Deleting is refused while something uses what would go (an address's queues, a queue's
//! consumers, an address the address settings send dead letters or expired messages to)
//! unless the caller forces it; forced, the consumers are closed, and their connections find
//! them gone at their next call.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::counters::QueueStats;
use crate::names::{self, FQQN_SEPARATOR};
use crate::policy::{FilterRef, PolicyError};
use crate::queue::{Queue, QueueAttrs};
use crate::types::RoutingType;
use crate::{Queues, QueuesError};

/// One address as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressInfo {
    /// Its name.
    pub name: String,
    /// Its routing types, anycast first.
    pub routing_types: Vec<RoutingType>,
    /// Its queues' names, in creation order.
    pub queues: Vec<String>,
    /// Made for a dynamic consumer: deleted with its connection.
    pub temporary: bool,
}

/// A queue to create ([`Queues::add_queue`]), as Artemis's `queue create` describes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueue {
    /// The queue's name, unique on its address.
    pub name: String,
    /// Its address; `None`: the queue's name.
    pub address: Option<String>,
    /// Its routing type; `None`: the address's only one, else the address settings'
    /// `default-routing-type`.
    pub routing: Option<RoutingType>,
    /// Survives restarts.
    pub durable: bool,
    /// Purged when its last consumer leaves.
    pub purge_on_no_consumers: bool,
    /// Delivers to its oldest consumer only.
    pub exclusive: bool,
    /// Consumers at most; -1: no limit.
    pub max_consumers: i32,
    /// Its delivery filter.
    pub filter: Option<FilterRef>,
    /// A last-value queue keyed by this header (default: the address settings').
    pub last_value_key: Option<String>,
    /// A ring queue of this many messages, at least 1 (default: the address settings').
    pub ring_size: Option<u64>,
    /// Create the address if it does not exist (with the queue's routing type).
    pub auto_create_address: bool,
}

impl NewQueue {
    /// A durable queue `name` on the address of the same name, with Artemis's defaults.
    pub fn new(name: &str) -> NewQueue {
        NewQueue {
            name: name.to_owned(),
            address: None,
            routing: None,
            durable: true,
            purge_on_no_consumers: false,
            exclusive: false,
            max_consumers: -1,
            filter: None,
            last_value_key: None,
            ring_size: None,
            auto_create_address: false,
        }
    }
}

impl Queues {
    /// Every address, sorted by name, temporary ones included.
    pub fn list_addresses(&self) -> Vec<AddressInfo> {
        self.catalog_read()
            .addresses
            .values()
            .map(|e| AddressInfo {
                name: e.name.clone(),
                routing_types: e.routing_types(),
                queues: e.queues.iter().map(|q| q.name.clone()).collect(),
                temporary: e.temporary,
            })
            .collect()
    }

    /// Creates address `name` routing `routing` (empty: the address settings'
    /// `default-routing-type`). Errors: `InvalidAddress` (the name), `Exists`, `Storage`.
    pub fn add_address(
        &self,
        name: &str,
        routing: &[RoutingType],
    ) -> Result<AddressInfo, QueuesError> {
        names::validate(name)?;
        let mut routing: Vec<RoutingType> = [RoutingType::Anycast, RoutingType::Multicast]
            .into_iter()
            .filter(|r| routing.contains(r))
            .collect();
        if routing.is_empty() {
            routing.push(self.rules.resolve(name).default_routing_type);
        }
        let mut cat = self.catalog_write();
        if cat.addresses.contains_key(name) {
            return Err(QueuesError::Exists(format!("address `{name}`")));
        }
        self.create_address(&mut cat, name, &routing, false)?;
        let routing_types = cat
            .addresses
            .get(name)
            .map(|e| e.routing_types())
            .unwrap_or_default();
        Ok(AddressInfo {
            name: name.to_owned(),
            routing_types,
            queues: Vec::new(),
            temporary: false,
        })
    }

    /// Deletes address `name`. Refused (`InUse`) while it has queues or the address settings
    /// send dead letters or expired messages to it, unless `force`: then its queues go too,
    /// their consumers closed. A multicast address's log that is the Kafka topic of its name
    /// stays a topic. What was deleted. Errors: `NotFound`, `InUse`.
    pub fn remove_address(&self, name: &str, force: bool) -> Result<AddressInfo, QueuesError> {
        let mut cat = self.catalog_write();
        let Some(entry) = cat.addresses.get(name) else {
            return Err(not_found(format!("address `{name}`")));
        };
        let info = AddressInfo {
            name: entry.name.clone(),
            routing_types: entry.routing_types(),
            queues: entry.queues.iter().map(|q| q.name.clone()).collect(),
            temporary: entry.temporary,
        };
        if !force {
            if !info.queues.is_empty() {
                return Err(QueuesError::InUse(format!(
                    "address `{name}` has queues ({}); delete them first, or force",
                    info.queues.join(", ")
                )));
            }
            if let Some((pattern, what)) = self.rules.destination(name) {
                return Err(QueuesError::InUse(format!(
                    "address `{name}` receives the {what} of addresses matching `{pattern}`; \
                     force to delete it anyway"
                )));
            }
        }
        let queues: Vec<Arc<Queue>> = entry.queues.clone();
        self.delete_address(&mut cat, name);
        drop(cat);
        for queue in &queues {
            self.close_consumers_of(queue);
        }
        for owned in self.consumer_table().connections.values_mut() {
            owned.temporary_addresses.retain(|a| a != name);
        }
        Ok(info)
    }

    /// Creates a queue (Artemis's `queue create`). The address must exist (a Kafka topic of
    /// that name is a multicast address) unless `auto_create_address`, and route the queue's
    /// routing type. Errors: `InvalidAddress` (a name, `max_consumers` below -1, a ring size
    /// of 0), `InvalidFilter`, `NotFound` (the address), `InvalidRouting` (the address lacks
    /// the routing type), `Exists`, `ResourceLimit` (queues in total), `Storage`.
    pub fn add_queue(&self, new: NewQueue) -> Result<QueueStats, QueuesError> {
        let address = new.address.clone().unwrap_or_else(|| new.name.clone());
        names::validate(&new.name)?;
        names::validate(&address)?;
        let fqqn = format!("{address}{FQQN_SEPARATOR}{}", new.name);
        self.check_attributes(&fqqn, new.max_consumers, new.ring_size, new.filter.as_ref())?;
        let mut cat = self.catalog_write();
        let created_address = self.address_for_queue(&mut cat, &address, &new)?;
        let queue = self.create_managed(&mut cat, &address, &new);
        if queue.is_err() && created_address {
            self.delete_address(&mut cat, &address);
        }
        let queue = queue?;
        drop(cat);
        let stats = queue.lock(&self.storage).stats();
        Ok(stats)
    }

    /// Makes sure `address` exists for `new`: found, a Kafka topic taken as a multicast
    /// address, or created if `auto_create_address`. Whether it was created here.
    fn address_for_queue(
        &self,
        cat: &mut Catalog,
        address: &str,
        new: &NewQueue,
    ) -> Result<bool, QueuesError> {
        if cat.addresses.contains_key(address) {
            return Ok(false);
        }
        let is_topic = sluice_storage::validate_topic_name(address).is_ok()
            && self.storage.topic(address).is_some();
        let routing = if is_topic {
            RoutingType::Multicast
        } else if new.auto_create_address {
            new.routing
                .unwrap_or(self.rules.resolve(address).default_routing_type)
        } else {
            return Err(QueuesError::NotFound(format!(
                "address `{address}` does not exist: create it first, or auto-create it"
            )));
        };
        self.create_address(cat, address, &[routing], false)?;
        Ok(true)
    }

    /// Creates `new` on existing `address`.
    fn create_managed(
        &self,
        cat: &mut Catalog,
        address: &str,
        new: &NewQueue,
    ) -> Result<Arc<Queue>, QueuesError> {
        let Some(entry) = cat.addresses.get(address) else {
            return Err(not_found(format!("address `{address}`")));
        };
        if entry.queue(&new.name).is_some() {
            return Err(QueuesError::Exists(format!(
                "queue `{address}{FQQN_SEPARATOR}{}`",
                new.name
            )));
        }
        let routing = match (new.routing, entry.anycast, entry.multicast) {
            (Some(routing), ..) => routing,
            (None, true, false) => RoutingType::Anycast,
            (None, false, true) => RoutingType::Multicast,
            (None, ..) => entry.settings.default_routing_type,
        };
        // Artemis refuses too: adding a routing type changes where every send goes.
        if !entry.has(routing) {
            let has: Vec<&str> = entry
                .routing_types()
                .into_iter()
                .map(RoutingType::as_str)
                .collect();
            return Err(QueuesError::InvalidRouting(format!(
                "address `{address}` routes {} only, not {}",
                has.join(" and "),
                routing.as_str()
            )));
        }
        let attrs = QueueAttrs {
            durable: new.durable,
            exclusive: new.exclusive,
            max_consumers: new.max_consumers,
            purge_on_no_consumers: new.purge_on_no_consumers,
            filter: new.filter.clone(),
            last_value_key: new.last_value_key.clone(),
            ring_size: new.ring_size,
        };
        self.create_queue(cat, address, &new.name, routing, attrs, false)
    }

    /// The statistics of queue `name` (`address::queue`, or a queue name found on one
    /// address only). Errors: `InvalidAddress`, `NotFound`, `Ambiguous`.
    pub fn queue_stats(&self, name: &str) -> Result<QueueStats, QueuesError> {
        let queue = find_queue(&self.catalog_read(), name)?;
        let stats = queue.lock(&self.storage).stats();
        Ok(stats)
    }

    /// Drops every message of queue `name` (see [`Queues::queue_stats`] for the name), those
    /// being delivered included, counted as killed; how many. Errors: those of `queue_stats`,
    /// `Storage`.
    pub fn purge_queue(&self, name: &str) -> Result<u64, QueuesError> {
        let queue = find_queue(&self.catalog_read(), name)?;
        let mut locked = queue.lock(&self.storage);
        if locked.st.deleted {
            return Err(not_found(format!("queue `{}`", queue.fqqn())));
        }
        let purged = locked.purge()?;
        drop(locked);
        tracing::info!(queue = %queue.fqqn(), purged, "queue purged");
        Ok(purged)
    }

    /// Deletes queue `name` (see [`Queues::queue_stats`] for the name) with its messages.
    /// Refused (`InUse`) while it has consumers unless `remove_consumers`: then they are
    /// closed. Its statistics as it went.
    pub fn remove_queue(
        &self,
        name: &str,
        remove_consumers: bool,
    ) -> Result<QueueStats, QueuesError> {
        let mut cat = self.catalog_write();
        let queue = find_queue(&cat, name)?;
        let stats = queue.lock(&self.storage).stats();
        if stats.consumer_count > 0 && !remove_consumers {
            let s = if stats.consumer_count == 1 { "" } else { "s" };
            return Err(QueuesError::InUse(format!(
                "queue `{}` has {} consumer{s}; remove consumers to delete it anyway",
                queue.fqqn(),
                stats.consumer_count
            )));
        }
        self.delete_queue(&mut cat, &queue.address, &queue.name);
        drop(cat);
        self.close_consumers_of(&queue);
        Ok(stats)
    }

    /// Checks the attributes a queue is created or updated with: `max_consumers` at least -1,
    /// a ring size of at least 1, a filter the policies accept.
    pub(crate) fn check_attributes(
        &self,
        fqqn: &str,
        max_consumers: i32,
        ring_size: Option<u64>,
        filter: Option<&FilterRef>,
    ) -> Result<(), QueuesError> {
        if max_consumers < -1 {
            return Err(QueuesError::InvalidAddress(format!(
                "queue `{fqqn}`: max-consumers must be -1 (no limit) or more"
            )));
        }
        if ring_size == Some(0) {
            return Err(QueuesError::InvalidAddress(format!(
                "queue `{fqqn}`: ring-size must be at least 1"
            )));
        }
        if let Some(filter) = filter
            && let Err(PolicyError::Invalid(why)) = self.policies.check_filter(filter)
        {
            return Err(QueuesError::InvalidFilter(why));
        }
        Ok(())
    }

    /// Closes the consumers of deleted `queue`: out of the consumer table, their watchers
    /// woken. Their deliveries went with the queue.
    fn close_consumers_of(&self, queue: &Arc<Queue>) {
        let mut table = self.consumer_table();
        let ids: Vec<u64> = table
            .by_id
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.queue, queue))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(consumer) = table.by_id.remove(&id) else {
                continue;
            };
            consumer.live.store(false, Ordering::Release);
            if let Some(owned) = table.connections.get_mut(&consumer.connection) {
                owned.consumers.remove(&id);
            }
            tracing::info!(consumer = id, connection = consumer.connection, queue = %queue.fqqn(), "consumer closed: its queue was deleted");
        }
    }
}

/// Queue `name`: `address::queue`, or a queue name found on exactly one address.
pub(crate) fn find_queue(cat: &Catalog, name: &str) -> Result<Arc<Queue>, QueuesError> {
    if let Some((address, queue)) = name.split_once(FQQN_SEPARATOR) {
        names::parse_target(name)?;
        return cat
            .addresses
            .get(address)
            .and_then(|e| e.queue(queue))
            .cloned()
            .ok_or_else(|| not_found(format!("queue `{name}`")));
    }
    names::validate(name)?;
    let mut found = cat
        .addresses
        .values()
        .filter_map(|e| e.queue(name))
        .cloned();
    let Some(first) = found.next() else {
        return Err(not_found(format!("queue `{name}`")));
    };
    let others: Vec<Arc<Queue>> = found.collect();
    if others.is_empty() {
        return Ok(first);
    }
    let addresses: Vec<&str> = std::iter::once(&first)
        .chain(&others)
        .map(|q| q.address.as_str())
        .collect();
    Err(QueuesError::Ambiguous(format!(
        "queue `{name}` is on several addresses ({}): name one as `address::queue`",
        addresses.join(", ")
    )))
}

fn not_found(what: String) -> QueuesError {
    QueuesError::NotFound(format!("{what} does not exist"))
}
