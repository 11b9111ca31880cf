//! Consumers and the connections that own them. A consumer id is unique for the process and
//! belongs to one connection: a call naming another connection's consumer is refused as if the
//! consumer did not exist. A connection closing closes its consumers and deletes its temporary
//! addresses (dynamic nodes).
//!
//! A consumer's selector is checked by the selector filter before anything is resolved or
//! created, so a refused one leaves nothing behind. On a queue made for the consumer alone (a
//! temporary subscription, a dynamic queue) it is the queue's filter, as Artemis makes it;
//! on a shared queue it is the consumer's, judged as it takes messages (see `delivery`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::policy::{FilterRef, PolicyError};
use crate::queue::Queue;
use crate::types::{ConsumerInfo, ConsumerOptions};
use crate::{Queues, QueuesError};

/// An open consumer.
#[derive(Debug)]
pub struct Consumer {
    /// The connection it belongs to.
    pub connection: u64,
    /// The queue it reads.
    pub queue: Arc<Queue>,
    /// Cleared when it closes, so its watchers wake and stop waiting.
    pub live: Arc<AtomicBool>,
    /// A temporary subscription, deleted when the consumer closes.
    pub delete_queue: bool,
}

/// What a connection owns.
#[derive(Debug, Default)]
pub struct Connection {
    /// Its open consumers.
    pub consumers: BTreeSet<u64>,
    /// Its temporary addresses.
    pub temporary_addresses: Vec<String>,
}

/// Every open consumer, and who owns what.
#[derive(Debug, Default)]
pub struct ConsumerTable {
    /// Consumers by id.
    pub by_id: HashMap<u64, Consumer>,
    /// Connections by id.
    pub connections: HashMap<u64, Connection>,
}

impl ConsumerTable {
    /// The queue of `connection`'s consumer `id`.
    pub fn queue(&self, connection: u64, id: u64) -> Result<Arc<Queue>, QueuesError> {
        match self.by_id.get(&id) {
            Some(c) if c.connection == connection => Ok(c.queue.clone()),
            _ => Err(QueuesError::UnknownConsumer(id)),
        }
    }

    fn count(&self, connection: u64) -> usize {
        self.connections
            .get(&connection)
            .map_or(0, |c| c.consumers.len())
    }

    /// Takes `connection`'s consumer `id` out of the table.
    fn remove(&mut self, connection: u64, id: u64) -> Option<Consumer> {
        if self.by_id.get(&id)?.connection != connection {
            return None;
        }
        let consumer = self.by_id.remove(&id)?;
        if let Some(c) = self.connections.get_mut(&connection) {
            c.consumers.remove(&id);
            if c.consumers.is_empty() && c.temporary_addresses.is_empty() {
                self.connections.remove(&connection);
            }
        }
        Some(consumer)
    }
}

impl Queues {
    /// `open_consumer`.
    pub(crate) fn open_consumer_inner(
        &self,
        connection: u64,
        options: ConsumerOptions,
    ) -> Result<ConsumerInfo, QueuesError> {
        let max = self.limits.consumers_per_connection_max;
        if self.consumer_table().count(connection) >= max {
            return Err(per_connection_limit(max));
        }
        let selector = options.selector.as_deref().map(FilterRef::selector);
        if let Some(selector) = &selector {
            // Before anything is created: a selector refused leaves no queue behind.
            match self.policies.check_filter(selector) {
                Ok(()) | Err(PolicyError::Bypass) => {}
                Err(PolicyError::Invalid(why)) => return Err(QueuesError::InvalidFilter(why)),
                Err(PolicyError::Unavailable(why)) => {
                    return Err(QueuesError::Unavailable(format!("selector filter: {why}")));
                }
            }
        }
        let (queue, delete_queue) = if options.dynamic {
            let queue = self.create_dynamic(selector.clone())?;
            self.consumer_table()
                .connections
                .entry(connection)
                .or_default()
                .temporary_addresses
                .push(queue.address.clone());
            (queue, false)
        } else {
            let resolved = self.resolve_consumer(&options)?;
            (resolved.queue, resolved.delete_on_close)
        };
        // On a queue of its own (dynamic, or a subscription made for it) the selector is the
        // queue's filter already; on a shared queue it is the consumer's.
        let own_queue = options.dynamic || delete_queue;
        let selector = selector.filter(|_| !own_queue);
        let id = self.next_consumer.fetch_add(1, Ordering::Relaxed);
        let added = queue.lock(&self.storage).add_consumer(id, selector);
        let inserted = added.and_then(|()| {
            let mut table = self.consumer_table();
            if table.count(connection) >= max {
                return Err(per_connection_limit(max));
            }
            table
                .connections
                .entry(connection)
                .or_default()
                .consumers
                .insert(id);
            table.by_id.insert(
                id,
                Consumer {
                    connection,
                    queue: queue.clone(),
                    live: Arc::new(AtomicBool::new(true)),
                    delete_queue,
                },
            );
            Ok(())
        });
        if let Err(e) = inserted {
            let mut moves = Vec::new();
            queue.lock(&self.storage).remove_consumer(id, 0, &mut moves);
            if delete_queue {
                self.delete_queue(&mut self.catalog_write(), &queue.address, &queue.name);
            }
            return Err(e);
        }
        tracing::debug!(connection, consumer = id, queue = %queue.fqqn(), "consumer opened");
        Ok(ConsumerInfo {
            id,
            address: queue.address.clone(),
            queue: queue.name.clone(),
            routing: queue.routing,
        })
    }

    /// `close_consumer`.
    pub(crate) fn close_consumer_inner(&self, connection: u64, id: u64, now_ms: i64) {
        let Some(consumer) = self.consumer_table().remove(connection, id) else {
            return;
        };
        consumer.live.store(false, Ordering::Release);
        let mut moves = Vec::new();
        consumer
            .queue
            .lock(&self.storage)
            .remove_consumer(id, now_ms, &mut moves);
        self.perform_moves(&consumer.queue, moves, now_ms);
        if consumer.delete_queue {
            let queue = &consumer.queue;
            self.delete_queue(&mut self.catalog_write(), &queue.address, &queue.name);
        }
        tracing::debug!(connection, consumer = id, "consumer closed");
    }

    /// `connection_closed`.
    pub(crate) fn connection_closed_inner(&self, connection: u64, now_ms: i64) {
        let (consumers, temporary_addresses) = {
            let mut table = self.consumer_table();
            let Some(owned) = table.connections.get_mut(&connection) else {
                return;
            };
            (
                owned.consumers.clone(),
                std::mem::take(&mut owned.temporary_addresses),
            )
        };
        for id in consumers {
            self.close_consumer_inner(connection, id, now_ms);
        }
        self.consumer_table().connections.remove(&connection);
        if !temporary_addresses.is_empty() {
            let mut cat = self.catalog_write();
            for address in temporary_addresses {
                self.delete_address(&mut cat, &address);
            }
        }
    }
}

fn per_connection_limit(max: usize) -> QueuesError {
    QueuesError::ResourceLimit(format!("a connection may hold at most {max} consumers"))
}
