//! Opening the model over storage: the registry is loaded, what non-durable and temporary
//! queues left behind in storage (logs, cursors) is deleted, durable queues reopen their
//! cursors where they were, and the configured addresses and queues are declared.
//!
//! Declaring is idempotent: an existing address or queue is kept, gaining the routing types
//! and taking the attributes the configuration gives it. A configured queue whose routing type
//! differs from the existing one's keeps the existing one (its messages live in a different
//! place), with a warning: a configuration change never drops messages.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};

use sluice_storage::TopicOverrides;

use crate::catalog::{AddressEntry, AddressLog, Catalog, internal_overrides};
use crate::config::AddressConfig;
use crate::names::{self, Internal, anycast_log, parse_internal};
use crate::queue::{Part, Queue, QueueAttrs};
use crate::registry::RegistryFile;
use crate::types::RoutingType;
use crate::{Queues, QueuesError};

impl Queues {
    /// Deletes the logs and cursors of queues and addresses the registry does not hold.
    /// Returns an id above every id met, so none is reused.
    pub(crate) fn remove_leftovers(&self, file: &RegistryFile) -> u64 {
        let ids = |routing: RoutingType| -> HashSet<u64> {
            file.queues
                .iter()
                .filter(|q| q.routing == routing)
                .map(|q| q.id)
                .collect()
        };
        let (anycast, multicast) = (ids(RoutingType::Anycast), ids(RoutingType::Multicast));
        let logs: HashSet<&str> = file
            .addresses
            .iter()
            .filter_map(|a| a.log.as_deref())
            .collect();
        let mut above = 0u64;
        for topic in self.storage.list_topics() {
            let Some(internal) = parse_internal(&topic.name) else {
                continue;
            };
            above = above.max(internal.id().saturating_add(1));
            let keep = match internal {
                Internal::AnycastQueue(id) => anycast.contains(&id),
                Internal::AddressLog(_) => logs.contains(topic.name.as_str()),
                Internal::Subscription(_) => false,
            };
            if !keep {
                tracing::info!(topic = %topic.name, "removing the log of a queue that is gone");
                self.remove_storage(&topic.name, &[]);
            }
        }
        let Ok(entries) = std::fs::read_dir(self.registry.cursors_dir()) else {
            return above;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(internal) = parse_internal(&name) else {
                continue;
            };
            above = above.max(internal.id().saturating_add(1));
            let keep = match internal {
                Internal::AnycastQueue(id) => anycast.contains(&id),
                Internal::Subscription(id) => multicast.contains(&id),
                Internal::AddressLog(_) => false,
            };
            if !keep {
                tracing::info!(cursor = %name, "removing the cursor of a queue that is gone");
                self.remove_storage("", &[name]);
            }
        }
        above
    }

    /// Rebuilds the catalog from the registry.
    pub(crate) fn load(&self, file: RegistryFile, id_floor: u64) -> Result<(), QueuesError> {
        let mut cat = self.catalog_write();
        let ids = file
            .addresses
            .iter()
            .map(|a| a.id)
            .chain(file.queues.iter().map(|q| q.id))
            .max()
            .map_or(0, |id| id.saturating_add(1));
        cat.next_id = file.next_id.max(id_floor).max(ids);
        for record in file.addresses {
            if let Err(e) = names::validate(&record.name) {
                tracing::warn!(error = %e, "skipping an address of the registry");
                continue;
            }
            let multicast = record.routing.contains(&RoutingType::Multicast);
            let log = match (multicast, record.log) {
                (false, _) => None,
                (true, Some(topic)) => Some(self.reopen_log(&record.name, topic)?),
                (true, None) => Some(self.reopen_log(&record.name, names::address_log(record.id))?),
            };
            cat.addresses.insert(
                record.name.clone(),
                AddressEntry {
                    settings: Arc::new(self.rules.resolve(&record.name)),
                    anycast: record.routing.contains(&RoutingType::Anycast),
                    multicast,
                    log,
                    queues: Vec::new(),
                    temporary: false,
                    anycast_next: AtomicUsize::new(0),
                    keyless_next: AtomicU32::new(0),
                    sequence: Arc::new(AtomicU64::new(0)),
                    name: record.name,
                    id: record.id,
                },
            );
        }
        for record in file.queues {
            let Some(entry) = cat.addresses.get(&record.address) else {
                tracing::warn!(
                    queue = %record.name, address = %record.address,
                    "skipping a queue whose address is not in the registry"
                );
                continue;
            };
            let (log, parts) = match record.routing {
                RoutingType::Anycast => {
                    let log = anycast_log(record.id);
                    (log.clone(), self.reopen_anycast(&log)?)
                }
                RoutingType::Multicast => {
                    let Some(address_log) = &entry.log else {
                        tracing::warn!(queue = %record.name, "skipping a subscription of an address without a log");
                        continue;
                    };
                    let partitions = address_log
                        .partitions
                        .load(std::sync::atomic::Ordering::Acquire);
                    let parts = self.open_subscription(
                        record.id,
                        &address_log.topic,
                        0..partitions,
                        false,
                    )?;
                    (address_log.topic.clone(), parts)
                }
            };
            let queue = Arc::new(Queue::new(
                record.name,
                record.address.clone(),
                record.routing,
                record.id,
                false,
                log,
                entry.settings.clone(),
                QueueAttrs {
                    durable: true,
                    exclusive: record.exclusive,
                    max_consumers: record.max_consumers,
                    purge_on_no_consumers: record.purge_on_no_consumers,
                    filter: record.filter,
                    last_value_key: record.last_value_key,
                    ring_size: record.ring_size,
                },
                parts,
            ));
            cat.queue_count += 1;
            if let Some(entry) = cat.addresses.get_mut(&record.address) {
                entry.queues.push(queue);
            }
        }
        Ok(())
    }

    /// A multicast address's log as the registry names it; recreated (empty) if it vanished
    /// while the broker was down (a Kafka client deleted the topic).
    fn reopen_log(&self, name: &str, topic: String) -> Result<AddressLog, QueuesError> {
        if let Some(info) = self.storage.topic(&topic) {
            return Ok(AddressLog {
                topic,
                partitions: AtomicU32::new(info.partitions),
            });
        }
        tracing::warn!(address = name, %topic, "the address's log is gone; creating it empty");
        let overrides = if topic == name {
            TopicOverrides::new()
        } else {
            internal_overrides(true)
        };
        let info = self
            .storage
            .create_topic_with(&topic, self.partitions, &overrides)?;
        Ok(AddressLog {
            topic,
            partitions: AtomicU32::new(info.partitions),
        })
    }

    /// A durable anycast queue's cursor, and its log (recreated empty, loudly, if gone).
    fn reopen_anycast(&self, log: &str) -> Result<Vec<Part>, QueuesError> {
        if self.storage.topic(log).is_none() {
            tracing::error!(
                topic = log,
                "a durable queue's log is gone; recreating it empty"
            );
            self.storage
                .create_topic_with(log, 1, &internal_overrides(true))?;
        }
        let mut parts = self.open_anycast(log)?;
        if let Some(part) = parts.first_mut() {
            part.truncated_to = self.storage.offsets(log, 0)?.log_start;
        }
        Ok(parts)
    }

    /// Declares the configured addresses and queues.
    pub(crate) fn declare(&self, addresses: &[AddressConfig]) -> Result<(), QueuesError> {
        let mut cat = self.catalog_write();
        for address in addresses {
            self.declare_one(&mut cat, address)?;
        }
        self.persist(&cat)
    }

    fn declare_one(&self, cat: &mut Catalog, config: &AddressConfig) -> Result<(), QueuesError> {
        let name = config.name.as_str();
        names::validate(name)?;
        let mut routing = config.routing.clone();
        routing.extend(config.queues.iter().map(|q| q.routing));
        if routing.is_empty() {
            routing.push(self.rules.resolve(name).default_routing_type);
        }
        let mut unique = Vec::new();
        for r in routing {
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        let routing = unique;
        if cat.addresses.contains_key(name) {
            for r in &routing {
                self.add_routing(cat, name, *r)?;
            }
        } else {
            self.create_address(cat, name, &routing, false)?;
        }
        for queue in &config.queues {
            names::validate(&queue.name)?;
            let attrs = QueueAttrs {
                durable: queue.durable,
                exclusive: queue.exclusive,
                max_consumers: queue.max_consumers,
                purge_on_no_consumers: queue.purge_on_no_consumers,
                filter: queue.filter.clone(),
                last_value_key: queue.last_value_key.clone(),
                ring_size: queue.ring_size,
            };
            let existing = cat
                .addresses
                .get(name)
                .and_then(|e| e.queue(&queue.name))
                .cloned();
            match existing {
                None => {
                    self.create_queue(cat, name, &queue.name, queue.routing, attrs, false)?;
                }
                Some(existing) if existing.routing != queue.routing => tracing::warn!(
                    queue = %existing.fqqn(), configured = queue.routing.as_str(),
                    existing = existing.routing.as_str(),
                    "the configured routing type differs from the queue's; keeping the queue's"
                ),
                Some(existing) => {
                    let attrs = attrs.with_defaults(&existing.settings);
                    let mut locked = existing.lock(&self.storage);
                    if locked.st.attrs != attrs {
                        tracing::info!(queue = %existing.fqqn(), ?attrs, "queue attributes updated");
                        locked.st.attrs = attrs;
                    }
                }
            }
        }
        Ok(())
    }
}
