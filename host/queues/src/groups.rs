//! Message groups (`sluice-group-id`, Artemis's `_AMQ_GROUP_ID`): the first consumer to take
//! a message of a group owns the group until it closes; the queue's other consumers pass over
//! the group's messages (see `skipped`), and the owner gets them in offset order: the returned
//! ones first, and no newer one while an older one of the group waits skipped. When the owner
//! closes, the next consumer to take a message of the group owns it.
//!
//! Ownership is memory only (after a restart groups are claimed afresh, as in Artemis) and
//! bounded: a queue remembers at most [`GROUPS_MAX`] owners; a group met beyond that is not
//! pinned to anyone (its messages go to whoever takes them, as if it had no group) until
//! owners leave. Order within a group is kept within one partition of the queue's log (an
//! anycast queue has one); across a multicast log's partitions there is no order to keep.

use std::collections::HashMap;

/// Group owners one queue remembers: an entry is the group id and a consumer id (about 100
/// bytes), so 100 000 groups cost about 10 MiB, and are far more than the consumers that could
/// share them usefully.
pub const GROUPS_MAX: usize = 100_000;

/// Each group's owner.
#[derive(Debug, Default)]
pub struct Groups {
    owners: HashMap<Vec<u8>, u64>,
}

impl Groups {
    /// The consumer that owns `group`, if any (it may have closed; see [`Groups::release`]).
    pub fn owner(&self, group: &[u8]) -> Option<u64> {
        self.owners.get(group).copied()
    }

    /// `consumer` takes a message of `group`: it owns the group unless another does, or the
    /// bound is reached.
    pub fn claim(&mut self, group: &[u8], consumer: u64) {
        if let Some(owner) = self.owners.get_mut(group) {
            *owner = consumer;
        } else if self.owners.len() < GROUPS_MAX {
            self.owners.insert(group.to_vec(), consumer);
        }
    }

    /// `consumer` closed: its groups are free.
    pub fn release(&mut self, consumer: u64) {
        self.owners.retain(|_, owner| *owner != consumer);
    }

    /// Groups owned.
    pub fn len(&self) -> usize {
        self.owners.len()
    }
}
