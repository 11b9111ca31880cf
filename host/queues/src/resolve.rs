//! From a name a client gives to the address or queue it means, creating what is missing when
//! the address settings allow it (Artemis's auto-create rules):
//!
//! - an unknown address that is a storage topic is that topic, as a multicast address;
//! - else it is created with the routing type asked for, or the settings' default, if
//!   `auto-create-addresses`; a routing type an address lacks is added on the same condition;
//! - a missing queue is created if `auto-create-queues`: on an anycast send or consume, the
//!   queue named like the address; on `address::queue`, that queue. Subscription queues are
//!   the consumer's own and always created.
//!
//! Lookups run under the catalog's read lock; only a miss takes the write lock, and checks
//! again under it, so two clients racing to create a queue create it once.
//!
//! A queue created here takes the address settings' `last-value-key` and `ring-size` (see
//! `catalog`); a temporary subscription takes its consumer's selector as its filter.

use std::sync::Arc;

use crate::catalog::{AddressEntry, Catalog};
use crate::names::{self, Target};
use crate::policy::FilterRef;
use crate::queue::{Queue, QueueAttrs};
use crate::types::{ConsumerOptions, RoutingType};
use crate::{Queues, QueuesError};

/// Attributes of a queue created on first use.
const AUTO_CREATED: QueueAttrs = QueueAttrs {
    durable: true,
    exclusive: false,
    max_consumers: -1,
    purge_on_no_consumers: false,
    filter: None,
    last_value_key: None,
    ring_size: None,
};

/// The queue a consumer reads, and whether it goes when the consumer closes.
pub struct ConsumerQueue {
    /// The queue.
    pub queue: Arc<Queue>,
    /// A temporary subscription: deleted with its consumer.
    pub delete_on_close: bool,
}

impl Queues {
    /// Makes sure address `name` exists and routes `routing` (if given), creating or adding
    /// what the settings allow.
    fn ensure_address(
        &self,
        cat: &mut Catalog,
        name: &str,
        routing: Option<RoutingType>,
    ) -> Result<(), QueuesError> {
        if !cat.addresses.contains_key(name) {
            let settings = self.rules.resolve(name);
            let is_topic = sluice_storage::validate_topic_name(name).is_ok()
                && self.storage.topic(name).is_some();
            if is_topic {
                self.create_address(cat, name, &[RoutingType::Multicast], false)?;
            } else if settings.auto_create_addresses {
                let routing = routing.unwrap_or(settings.default_routing_type);
                self.create_address(cat, name, &[routing], false)?;
            } else {
                return Err(QueuesError::UnknownAddress(name.to_owned()));
            }
        }
        let Some(entry) = cat.addresses.get(name) else {
            return Err(QueuesError::UnknownAddress(name.to_owned()));
        };
        if let Some(routing) = routing
            && !entry.has(routing)
        {
            if !entry.settings.auto_create_addresses {
                return Err(QueuesError::InvalidRouting(format!(
                    "address `{name}` has no {} routing",
                    routing.as_str()
                )));
            }
            self.add_routing(cat, name, routing)?;
        }
        Ok(())
    }

    /// Whether the catalog already holds what a send to `target` needs, so the write lock can
    /// be skipped.
    fn ready_for_send(cat: &Catalog, target: &Target<'_>, routing: Option<RoutingType>) -> bool {
        let Some(entry) = cat.addresses.get(target.address()) else {
            return false;
        };
        match target {
            Target::Queue { queue, .. } => entry.queue(queue).is_some(),
            Target::Address(_) => {
                if routing.is_some_and(|r| !entry.has(r)) {
                    return false;
                }
                let anycast = routing.map_or(entry.anycast, |r| r == RoutingType::Anycast);
                let needs_queue = anycast
                    && entry.settings.auto_create_queues
                    && !entry
                        .queues
                        .iter()
                        .any(|q| q.routing == RoutingType::Anycast);
                !needs_queue
            }
        }
    }

    /// Resolves a send's target, creating what is missing and allowed.
    pub(crate) fn resolve_send(
        &self,
        target: &Target<'_>,
        routing: Option<RoutingType>,
    ) -> Result<(), QueuesError> {
        if Self::ready_for_send(&self.catalog_read(), target, routing) {
            return Ok(());
        }
        let mut cat = self.catalog_write();
        match *target {
            Target::Queue { address, queue } => {
                self.ensure_address(&mut cat, address, Some(RoutingType::Anycast))?;
                self.ensure_queue(
                    &mut cat,
                    address,
                    queue,
                    RoutingType::Anycast,
                    AUTO_CREATED,
                    true,
                )?;
            }
            Target::Address(address) => {
                self.ensure_address(&mut cat, address, routing)?;
                let Some(entry) = cat.addresses.get(address) else {
                    return Err(QueuesError::UnknownAddress(address.to_owned()));
                };
                let anycast = routing.map_or(entry.anycast, |r| r == RoutingType::Anycast);
                let has_anycast_queue = entry
                    .queues
                    .iter()
                    .any(|q| q.routing == RoutingType::Anycast);
                if anycast && !has_anycast_queue && entry.settings.auto_create_queues {
                    self.ensure_queue(
                        &mut cat,
                        address,
                        address,
                        RoutingType::Anycast,
                        AUTO_CREATED,
                        true,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Queue `queue` of existing address `address`: found, or created with `routing` and
    /// `attrs` when the settings allow (`auto` says whether the settings decide; subscriptions
    /// pass false).
    fn ensure_queue(
        &self,
        cat: &mut Catalog,
        address: &str,
        queue: &str,
        routing: RoutingType,
        attrs: QueueAttrs,
        auto: bool,
    ) -> Result<Arc<Queue>, QueuesError> {
        let Some(entry) = cat.addresses.get(address) else {
            return Err(QueuesError::UnknownAddress(address.to_owned()));
        };
        if let Some(found) = entry.queue(queue) {
            return Ok(found.clone());
        }
        if auto && !entry.settings.auto_create_queues {
            return Err(QueuesError::UnknownAddress(format!("{address}::{queue}")));
        }
        self.create_queue(cat, address, queue, routing, attrs, false)
    }

    /// The queue a consumer reads when it exists already and nothing needs creating: the
    /// common case, served under the read lock so sends are not held up.
    fn existing_queue(
        cat: &Catalog,
        target: &Target<'_>,
        options: &ConsumerOptions,
    ) -> Option<Arc<Queue>> {
        let entry = cat.addresses.get(target.address())?;
        if let Target::Queue { queue, .. } = target {
            return entry.queue(queue).cloned();
        }
        let routing = consumer_routing(entry, options.routing);
        if !entry.has(routing) {
            return None;
        }
        let (name, routing) = match routing {
            RoutingType::Anycast => (entry.name.as_str(), RoutingType::Anycast),
            RoutingType::Multicast => (options.subscription.as_deref()?, RoutingType::Multicast),
        };
        entry.queue(name).filter(|q| q.routing == routing).cloned()
    }

    /// Makes sure address `name` exists for a consumer that asked for routing type `asked`
    /// (see [`Self::ensure_address`]); the routing type it consumes with.
    fn ensure_consumer_address(
        &self,
        cat: &mut Catalog,
        name: &str,
        asked: Option<RoutingType>,
    ) -> Result<RoutingType, QueuesError> {
        self.ensure_address(cat, name, asked)?;
        let Some(entry) = cat.addresses.get(name) else {
            return Err(QueuesError::UnknownAddress(name.to_owned()));
        };
        Ok(consumer_routing(entry, asked))
    }

    /// The queue a consumer with `options` reads (not dynamic).
    pub(crate) fn resolve_consumer(
        &self,
        options: &ConsumerOptions,
    ) -> Result<ConsumerQueue, QueuesError> {
        let target = names::parse_target(&options.source)?;
        if let Some(queue) = Self::existing_queue(&self.catalog_read(), &target, options) {
            return Ok(ConsumerQueue {
                queue,
                delete_on_close: false,
            });
        }
        let mut cat = self.catalog_write();
        match target {
            Target::Queue { address, queue } => {
                // An existing queue is read whatever its routing type.
                if let Some(found) = cat.addresses.get(address).and_then(|e| e.queue(queue)) {
                    return Ok(ConsumerQueue {
                        queue: found.clone(),
                        delete_on_close: false,
                    });
                }
                let routing = self.ensure_consumer_address(&mut cat, address, options.routing)?;
                let attrs = QueueAttrs {
                    durable: options.durable || routing == RoutingType::Anycast,
                    ..AUTO_CREATED
                };
                let queue = self.ensure_queue(&mut cat, address, queue, routing, attrs, true)?;
                Ok(ConsumerQueue {
                    queue,
                    delete_on_close: false,
                })
            }
            Target::Address(address) => {
                let routing = self.ensure_consumer_address(&mut cat, address, options.routing)?;
                self.ensure_address(&mut cat, address, Some(routing))?;
                match routing {
                    RoutingType::Anycast => self.anycast_consumer_queue(&mut cat, address),
                    RoutingType::Multicast => self.subscription_queue(&mut cat, address, options),
                }
            }
        }
    }

    /// Anycast consume from `address`: the queue named like it (created if allowed), else its
    /// first anycast queue.
    fn anycast_consumer_queue(
        &self,
        cat: &mut Catalog,
        address: &str,
    ) -> Result<ConsumerQueue, QueuesError> {
        let Some(entry) = cat.addresses.get(address) else {
            return Err(QueuesError::UnknownAddress(address.to_owned()));
        };
        let named = entry
            .queue(address)
            .filter(|q| q.routing == RoutingType::Anycast)
            .cloned();
        let first = entry
            .queues
            .iter()
            .find(|q| q.routing == RoutingType::Anycast)
            .cloned();
        let can_create = entry.settings.auto_create_queues && entry.queue(address).is_none();
        let queue = match (named, first) {
            (Some(named), _) => named,
            (None, _) if can_create => self.create_queue(
                cat,
                address,
                address,
                RoutingType::Anycast,
                AUTO_CREATED,
                false,
            )?,
            (None, Some(first)) => first,
            (None, None) => return Err(QueuesError::UnknownAddress(address.to_owned())),
        };
        Ok(ConsumerQueue {
            queue,
            delete_on_close: false,
        })
    }

    /// Multicast consume from `address`: the named subscription queue (created if missing),
    /// or a new temporary one.
    fn subscription_queue(
        &self,
        cat: &mut Catalog,
        address: &str,
        options: &ConsumerOptions,
    ) -> Result<ConsumerQueue, QueuesError> {
        let attrs = QueueAttrs {
            durable: options.durable,
            ..AUTO_CREATED
        };
        let Some(name) = &options.subscription else {
            let taken = |cat: &Catalog, name: &str| {
                cat.addresses
                    .get(address)
                    .is_some_and(|e| e.queue(name).is_some())
            };
            let mut name = names::temporary_subscription(cat.next_id);
            while taken(cat, &name) {
                cat.next_id += 1;
                name = names::temporary_subscription(cat.next_id);
            }
            // The subscription is the consumer's own: its selector is the queue's filter, so
            // what it does not select never waits in it.
            let queue = self.create_queue(
                cat,
                address,
                &name,
                RoutingType::Multicast,
                QueueAttrs {
                    durable: false,
                    filter: options.selector.as_deref().map(FilterRef::selector),
                    ..attrs
                },
                true,
            )?;
            return Ok(ConsumerQueue {
                queue,
                delete_on_close: true,
            });
        };
        names::validate(name)?;
        let queue = self.ensure_queue(cat, address, name, RoutingType::Multicast, attrs, false)?;
        if queue.routing != RoutingType::Multicast {
            return Err(QueuesError::InvalidRouting(format!(
                "`{}` is an anycast queue, not a subscription",
                queue.fqqn()
            )));
        }
        Ok(ConsumerQueue {
            queue,
            delete_on_close: false,
        })
    }

    /// A dynamic consumer's new temporary address and queue, filtered by `filter` (the
    /// consumer's selector: the queue is its own).
    pub(crate) fn create_dynamic(
        &self,
        filter: Option<FilterRef>,
    ) -> Result<Arc<Queue>, QueuesError> {
        let mut cat = self.catalog_write();
        // A client may have taken the name for an address of its own.
        let mut name = names::temporary_address(cat.next_id);
        while cat.addresses.contains_key(&name) {
            cat.next_id += 1;
            name = names::temporary_address(cat.next_id);
        }
        self.create_address(&mut cat, &name, &[RoutingType::Anycast], true)?;
        let created = self.create_queue(
            &mut cat,
            &name,
            &name,
            RoutingType::Anycast,
            QueueAttrs {
                durable: false,
                filter,
                ..AUTO_CREATED
            },
            true,
        );
        if created.is_err() {
            self.delete_address(&mut cat, &name);
        }
        created
    }
}

/// The routing type a consumer of `entry` uses: the one it asked for; if none, the address's
/// only one, else the settings' default.
fn consumer_routing(entry: &AddressEntry, asked: Option<RoutingType>) -> RoutingType {
    asked.unwrap_or(match (entry.anycast, entry.multicast) {
        (true, false) => RoutingType::Anycast,
        (false, true) => RoutingType::Multicast,
        _ => entry.settings.default_routing_type,
    })
}
