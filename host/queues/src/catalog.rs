//! The addresses and queues that exist, in memory, and the only code that creates and deletes
//! them (with their logs and cursors in storage) and writes the registry.
//!
//! Every change happens under the catalog's write lock; sends hold its read lock while they
//! append, so a subscription created meanwhile starts exactly at the end of what was sent
//! before it. Lock order: catalog, then queue, never the other way.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use sluice_storage::{StorageError, TopicOverrides, validate_topic_name};

use crate::names::{self, anycast_log, subscription_cursor};
use crate::queue::{Part, Queue, QueueAttrs};
use crate::registry::{AddressRecord, QueueRecord, RegistryFile};
use crate::settings::AddressSettings;
use crate::types::RoutingType;
use crate::{Queues, QueuesError};

/// The log a multicast address appends to.
#[derive(Debug)]
pub struct AddressLog {
    /// The storage topic.
    pub topic: String,
    /// Its partitions as last seen; a Kafka client may add some (`tick` notices).
    pub partitions: AtomicU32,
}

/// One address.
#[derive(Debug)]
pub struct AddressEntry {
    /// Its name.
    pub name: String,
    /// Its id, naming its internal log if it has one.
    pub id: u64,
    /// Its settings, resolved when it was created.
    pub settings: Arc<AddressSettings>,
    /// Routes to one of its anycast queues.
    pub anycast: bool,
    /// Routes to its log, read by every multicast queue.
    pub multicast: bool,
    /// Its multicast log, once it has multicast routing.
    pub log: Option<AddressLog>,
    /// Its queues, in creation order.
    pub queues: Vec<Arc<Queue>>,
    /// A dynamic consumer's address: deleted with its connection, never in the registry.
    pub temporary: bool,
    /// Round robin over anycast queues.
    pub anycast_next: AtomicUsize,
    /// Round robin of keyless messages over the log's partitions.
    pub keyless_next: AtomicU32,
    /// Messages routed on the address since the broker started: the router's `sequence`.
    /// Shared so a send can advance it with the catalog unlocked.
    pub sequence: Arc<AtomicU64>,
}

impl AddressEntry {
    /// Whether it routes `routing`.
    pub fn has(&self, routing: RoutingType) -> bool {
        match routing {
            RoutingType::Anycast => self.anycast,
            RoutingType::Multicast => self.multicast,
        }
    }

    /// Its routing types, anycast first.
    pub fn routing_types(&self) -> Vec<RoutingType> {
        let mut types = Vec::new();
        if self.anycast {
            types.push(RoutingType::Anycast);
        }
        if self.multicast {
            types.push(RoutingType::Multicast);
        }
        types
    }

    /// Its queue named `name`.
    pub fn queue(&self, name: &str) -> Option<&Arc<Queue>> {
        self.queues.iter().find(|q| q.name == name)
    }
}

/// Every address, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Addresses by name.
    pub addresses: BTreeMap<String, AddressEntry>,
    /// The next id for a queue or address.
    pub next_id: u64,
    /// Queues on all addresses.
    pub queue_count: usize,
}

impl Catalog {
    fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// Settings of the topics behind queues: no retention by time or size (a queue's messages
/// leave when acknowledged, and the queue truncates its log itself), deletable records.
/// A non-durable queue's log need not be fsynced: it is deleted at the next start anyway.
pub(crate) fn internal_overrides(durable: bool) -> TopicOverrides {
    let mut overrides = TopicOverrides::new();
    overrides.insert("retention.ms".to_owned(), "-1".to_owned());
    overrides.insert("retention.bytes".to_owned(), "-1".to_owned());
    overrides.insert("cleanup.policy".to_owned(), "delete".to_owned());
    if !durable {
        overrides.insert("durability".to_owned(), "relaxed".to_owned());
    }
    overrides
}

impl Queues {
    /// Creates address `name` with `routing` (its multicast log included). The name must be
    /// valid and unused.
    pub(crate) fn create_address(
        &self,
        cat: &mut Catalog,
        name: &str,
        routing: &[RoutingType],
        temporary: bool,
    ) -> Result<(), QueuesError> {
        if cat.addresses.contains_key(name) {
            return Err(QueuesError::InvalidAddress(format!(
                "address `{name}` exists"
            )));
        }
        let id = cat.allocate_id();
        let multicast = routing.contains(&RoutingType::Multicast);
        let log = if multicast {
            Some(self.multicast_log(name, id)?)
        } else {
            None
        };
        cat.addresses.insert(
            name.to_owned(),
            AddressEntry {
                name: name.to_owned(),
                id,
                settings: Arc::new(self.rules.resolve(name)),
                anycast: routing.contains(&RoutingType::Anycast),
                multicast,
                log,
                queues: Vec::new(),
                temporary,
                anycast_next: AtomicUsize::new(0),
                keyless_next: AtomicU32::new(0),
                sequence: Arc::new(AtomicU64::new(0)),
            },
        );
        tracing::info!(address = name, ?routing, temporary, "address created");
        if !temporary {
            self.persist(cat)?;
        }
        Ok(())
    }

    /// Adds `routing` to an existing address.
    pub(crate) fn add_routing(
        &self,
        cat: &mut Catalog,
        name: &str,
        routing: RoutingType,
    ) -> Result<(), QueuesError> {
        let Some(entry) = cat.addresses.get_mut(name) else {
            return Err(QueuesError::UnknownAddress(name.to_owned()));
        };
        if entry.has(routing) {
            return Ok(());
        }
        match routing {
            RoutingType::Anycast => entry.anycast = true,
            RoutingType::Multicast => {
                if entry.log.is_none() {
                    entry.log = Some(self.multicast_log(name, entry.id)?);
                }
                entry.multicast = true;
            }
        }
        let temporary = entry.temporary;
        tracing::info!(
            address = name,
            routing = routing.as_str(),
            "routing type added"
        );
        if !temporary {
            self.persist(cat)?;
        }
        Ok(())
    }

    /// The log of multicast address `name`: the topic of that name (existing, so a Kafka topic
    /// is the address's log, or created), or an internal one when the name is no topic name.
    fn multicast_log(&self, name: &str, id: u64) -> Result<AddressLog, QueuesError> {
        let topic = if validate_topic_name(name).is_ok() {
            name.to_owned()
        } else {
            names::address_log(id)
        };
        if let Some(info) = self.storage.topic(&topic) {
            return Ok(AddressLog {
                topic,
                partitions: AtomicU32::new(info.partitions),
            });
        }
        let overrides = if topic == name {
            TopicOverrides::new()
        } else {
            internal_overrides(true)
        };
        let partitions = match self
            .storage
            .create_topic_with(&topic, self.partitions, &overrides)
        {
            Ok(info) => info.partitions,
            // A Kafka client created it in between: it is the log all the same.
            Err(StorageError::TopicExists(_)) => self
                .storage
                .topic(&topic)
                .map_or(self.partitions, |info| info.partitions),
            Err(e) => return Err(e.into()),
        };
        Ok(AddressLog {
            topic,
            partitions: AtomicU32::new(partitions),
        })
    }

    /// Creates queue `name` on existing `address`, adding the routing type to the address if
    /// it lacks it. An anycast queue gets its own log; a multicast one reads the address's
    /// log from its current end.
    pub(crate) fn create_queue(
        &self,
        cat: &mut Catalog,
        address: &str,
        name: &str,
        routing: RoutingType,
        attrs: QueueAttrs,
        temporary: bool,
    ) -> Result<Arc<Queue>, QueuesError> {
        if cat.queue_count >= self.limits.queues_max {
            return Err(QueuesError::ResourceLimit(format!(
                "the broker holds {} queues already",
                self.limits.queues_max
            )));
        }
        if cat
            .addresses
            .get(address)
            .is_some_and(|e| e.queue(name).is_some())
        {
            return Err(QueuesError::InvalidAddress(format!(
                "queue `{address}::{name}` exists"
            )));
        }
        self.add_routing(cat, address, routing)?;
        let id = cat.allocate_id();
        let Some(entry) = cat.addresses.get_mut(address) else {
            return Err(QueuesError::UnknownAddress(address.to_owned()));
        };
        // Artemis's `default-last-value-key` and `default-ring-size`: for queues created here.
        let attrs = attrs.with_defaults(&entry.settings);
        let (log, parts) = match routing {
            RoutingType::Anycast => {
                let log = anycast_log(id);
                let parts = self.create_anycast_log(&log, attrs.durable)?;
                (log, parts)
            }
            RoutingType::Multicast => {
                let Some(address_log) = &entry.log else {
                    return Err(QueuesError::InvalidRouting(format!(
                        "address `{address}` has no multicast log"
                    )));
                };
                let partitions = address_log.partitions.load(Ordering::Acquire);
                let parts = self.open_subscription(id, &address_log.topic, 0..partitions, true)?;
                (address_log.topic.clone(), parts)
            }
        };
        let queue = Arc::new(Queue::new(
            name.to_owned(),
            address.to_owned(),
            routing,
            id,
            temporary,
            log,
            entry.settings.clone(),
            attrs.clone(),
            parts,
        ));
        entry.queues.push(queue.clone());
        cat.queue_count += 1;
        tracing::info!(
            queue = %queue.fqqn(), routing = routing.as_str(), durable = attrs.durable,
            temporary, "queue created"
        );
        if attrs.durable && !temporary {
            self.persist(cat)?;
        }
        Ok(queue)
    }

    /// A new anycast queue's log and cursor.
    fn create_anycast_log(&self, log: &str, durable: bool) -> Result<Vec<Part>, QueuesError> {
        self.storage
            .create_topic_with(log, 1, &internal_overrides(durable))?;
        let opened = self.open_anycast(log);
        if opened.is_err() {
            self.remove_storage(log, &[log.to_owned()]);
        }
        opened
    }

    /// An anycast queue's cursor over its log.
    pub(crate) fn open_anycast(&self, log: &str) -> Result<Vec<Part>, QueuesError> {
        let cursor = self.storage.queue_cursor(log, self.limits.cursor.clone())?;
        let hw = self.storage.watch(log, 0)?;
        Ok(vec![Part::new(cursor, hw)])
    }

    /// A subscription's cursors over `partitions` of `log`; a new subscription (`at_end`)
    /// starts at each partition's log end, an existing one where its cursor is (a new cursor
    /// at the partition's start).
    pub(crate) fn open_subscription(
        &self,
        id: u64,
        log: &str,
        partitions: std::ops::Range<u32>,
        at_end: bool,
    ) -> Result<Vec<Part>, QueuesError> {
        let first = partitions.start;
        let mut parts = Vec::new();
        for p in partitions {
            let name = subscription_cursor(id, p);
            let opened = (|| {
                let mut cursor = self
                    .storage
                    .queue_cursor(&name, self.limits.cursor.clone())?;
                if at_end {
                    cursor.ack_below(self.storage.offsets(log, p)?.log_end)?;
                }
                let hw = self.storage.watch(log, p)?;
                Ok::<Part, StorageError>(Part::new(cursor, hw))
            })();
            match opened {
                Ok(part) => parts.push(part),
                Err(e) => {
                    if at_end {
                        drop(parts);
                        let cursors: Vec<String> =
                            (first..=p).map(|p| subscription_cursor(id, p)).collect();
                        self.remove_storage("", &cursors);
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(parts)
    }

    /// Deletes queue `name` of `address` with its log and cursors.
    pub(crate) fn delete_queue(&self, cat: &mut Catalog, address: &str, name: &str) {
        let Some(entry) = cat.addresses.get_mut(address) else {
            return;
        };
        let Some(index) = entry.queues.iter().position(|q| q.name == name) else {
            return;
        };
        let queue = entry.queues.remove(index);
        cat.queue_count = cat.queue_count.saturating_sub(1);
        let (parts, durable) = {
            let mut locked = queue.lock(&self.storage);
            locked.st.deleted = true;
            let parts = std::mem::take(&mut locked.st.parts);
            (parts, locked.st.attrs.durable)
        };
        queue.bump();
        // The registry first: a crash after it leaves storage behind for the next open to
        // remove, never a registered queue without its log.
        if durable
            && !queue.temporary
            && let Err(e) = self.persist(cat)
        {
            tracing::error!(error = %e, "cannot write the queue registry");
        }
        let partitions = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        // The cursors must be closed before their directories go.
        drop(parts);
        match queue.routing {
            RoutingType::Anycast => {
                self.remove_storage(&queue.log, std::slice::from_ref(&queue.log));
            }
            RoutingType::Multicast => {
                let cursors: Vec<String> = (0..partitions)
                    .map(|p| subscription_cursor(queue.id, p))
                    .collect();
                self.remove_storage("", &cursors);
            }
        }
        tracing::info!(queue = %queue.fqqn(), "queue deleted");
    }

    /// Deletes an address and its queues. A multicast address's log goes with it unless it is
    /// the Kafka topic of the address's name, which stays a topic.
    pub(crate) fn delete_address(&self, cat: &mut Catalog, name: &str) {
        let queues: Vec<String> = cat
            .addresses
            .get(name)
            .map(|e| e.queues.iter().map(|q| q.name.clone()).collect())
            .unwrap_or_default();
        for queue in queues {
            self.delete_queue(cat, name, &queue);
        }
        let Some(entry) = cat.addresses.remove(name) else {
            return;
        };
        // The registry first, as for a queue: a crash after it leaves a log behind for the
        // next open to remove, never a registered address without its log.
        if !entry.temporary
            && let Err(e) = self.persist(cat)
        {
            tracing::error!(error = %e, "cannot write the queue registry");
        }
        if let Some(log) = entry.log
            && log.topic != name
        {
            self.remove_storage(&log.topic, &[]);
        }
        tracing::info!(address = name, "address deleted");
    }

    /// Removes topic `topic` (unless empty) and the cursors named, logging failures: what is
    /// left is removed at the next open.
    pub(crate) fn remove_storage(&self, topic: &str, cursors: &[String]) {
        if !topic.is_empty()
            && let Err(e) = self.storage.delete_topic(topic)
            && !matches!(e, StorageError::UnknownTopic(_))
        {
            tracing::warn!(topic, error = %e, "cannot delete a queue's log");
        }
        for cursor in cursors {
            // Storage keeps a cursor in `<data dir>/queues/<name>/` and has no call to remove
            // one; the name is ours and validated, so it is one path component.
            let dir = self.registry.cursors_dir().join(cursor);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a cursor")
                }
            }
        }
    }

    /// Writes the registry: every address but temporary ones, every durable queue.
    pub(crate) fn persist(&self, cat: &Catalog) -> Result<(), QueuesError> {
        let mut file = RegistryFile::new(cat.next_id);
        for entry in cat.addresses.values().filter(|e| !e.temporary) {
            file.addresses.push(AddressRecord {
                name: entry.name.clone(),
                id: entry.id,
                routing: entry.routing_types(),
                log: entry.log.as_ref().map(|l| l.topic.clone()),
            });
            for queue in entry.queues.iter().filter(|q| !q.temporary) {
                let attrs = queue.lock(&self.storage).st.attrs.clone();
                if attrs.durable {
                    file.queues.push(QueueRecord {
                        address: entry.name.clone(),
                        name: queue.name.clone(),
                        id: queue.id,
                        routing: queue.routing,
                        exclusive: attrs.exclusive,
                        max_consumers: attrs.max_consumers,
                        purge_on_no_consumers: attrs.purge_on_no_consumers,
                        filter: attrs.filter,
                        last_value_key: attrs.last_value_key,
                        ring_size: attrs.ring_size,
                    });
                }
            }
        }
        self.registry.save(&file)
    }
}
