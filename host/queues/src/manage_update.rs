//! Changes to what exists, for declarative resources (the broker's `resources`): routing types
//! added to an address, and the queue attributes Artemis lets change in place (exclusive,
//! max-consumers, purge-on-no-consumers, filter, last-value key, ring size). A queue's routing
//! type and durability are what its storage is; they change only by deleting and creating.

use crate::manage::find_queue;
use crate::policy::FilterRef;
use crate::types::RoutingType;
use crate::{Queues, QueuesError};

/// The attributes of an existing queue that may change (see [`Queues::update_queue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUpdate {
    /// Purged when its last consumer leaves.
    pub purge_on_no_consumers: bool,
    /// Delivers to its oldest consumer only.
    pub exclusive: bool,
    /// Consumers at most; -1: no limit. Consumers already open stay.
    pub max_consumers: i32,
    /// Its delivery filter: what it does not select from now on is dropped as it is taken.
    pub filter: Option<FilterRef>,
    /// A last-value queue keyed by this header (default: the address settings').
    pub last_value_key: Option<String>,
    /// A ring queue of this many messages, at least 1 (default: the address settings').
    pub ring_size: Option<u64>,
}

impl Queues {
    /// Adds the routing types in `routing` that address `name` lacks. Removing one is not a
    /// change made in place (it would strand the queues of that type): refused. Errors:
    /// `NotFound`, `InUse` (a routing type to remove), `Storage`.
    pub fn add_routing_types(
        &self,
        name: &str,
        routing: &[RoutingType],
    ) -> Result<(), QueuesError> {
        let mut cat = self.catalog_write();
        let Some(entry) = cat.addresses.get(name) else {
            return Err(QueuesError::NotFound(format!(
                "address `{name}` does not exist"
            )));
        };
        if let Some(gone) = entry
            .routing_types()
            .into_iter()
            .find(|r| !routing.contains(r))
        {
            return Err(QueuesError::InUse(format!(
                "address `{name}` routes {}: a routing type is removed by deleting the address",
                gone.as_str()
            )));
        }
        for r in routing {
            self.add_routing(&mut cat, name, *r)?;
        }
        Ok(())
    }

    /// Sets the changeable attributes of queue `address::name`, written to the registry if it
    /// is durable. Errors: `NotFound`, `InvalidAddress` (max-consumers below -1, a ring size
    /// of 0), `InvalidFilter`, `Storage`.
    pub fn update_queue(
        &self,
        address: &str,
        name: &str,
        update: QueueUpdate,
    ) -> Result<(), QueuesError> {
        self.check_attributes(
            &format!("{address}::{name}"),
            update.max_consumers,
            update.ring_size,
            update.filter.as_ref(),
        )?;
        let cat = self.catalog_write();
        let queue = find_queue(&cat, &format!("{address}::{name}"))?;
        let durable = {
            let mut locked = queue.lock(&self.storage);
            let mut attrs = locked.st.attrs.clone();
            attrs.purge_on_no_consumers = update.purge_on_no_consumers;
            attrs.exclusive = update.exclusive;
            attrs.max_consumers = update.max_consumers;
            attrs.filter = update.filter;
            attrs.last_value_key = update.last_value_key;
            attrs.ring_size = update.ring_size;
            let attrs = attrs.with_defaults(&queue.settings);
            if locked.st.attrs != attrs {
                tracing::info!(queue = %queue.fqqn(), ?attrs, "queue attributes updated");
                locked.st.attrs = attrs;
            }
            locked.st.attrs.durable
        };
        queue.bump();
        if durable && !queue.temporary {
            self.persist(&cat)?;
        }
        Ok(())
    }
}
