//! Which consumer may take a message: one check for everything that makes a message someone
//! else's without anything being wrong with it. A message is not for `consumer` when
//! - `consumer` refused it (`undeliverable-here`) or its selector dropped it (`excluded`);
//! - a router pinned it to another consumer of the queue that is still open (`pins`);
//! - its group is owned by another consumer that is still open (`groups`).
//!
//! A consumer's selector is the one check that needs a filter call; it runs on the messages
//! that pass this one, in batches (see `filtering`), and what it drops joins `excluded`.

use std::collections::HashMap;

use crate::queue::{Pos, QueueState};

/// Consumer pins one queue keeps: an entry is about 40 bytes, so 100 000 cost about 4 MiB.
/// Beyond it a pin the router asks for is not kept and the message goes to any consumer, as
/// the router contract allows when its consumer is gone.
pub const PINS_MAX: usize = 100_000;

/// Positions a router pinned to a consumer, for as long as it is open.
#[derive(Debug, Default)]
pub struct Pins {
    by_pos: HashMap<Pos, u64>,
}

impl Pins {
    /// Pins `pos` to `consumer`, within [`PINS_MAX`].
    pub fn insert(&mut self, pos: Pos, consumer: u64) {
        if self.by_pos.len() < PINS_MAX {
            self.by_pos.insert(pos, consumer);
        }
    }

    /// The consumer `pos` is pinned to.
    pub fn get(&self, pos: Pos) -> Option<u64> {
        self.by_pos.get(&pos).copied()
    }

    /// Unpins `pos`.
    pub fn remove(&mut self, pos: Pos) {
        self.by_pos.remove(&pos);
    }

    /// `consumer` closed: what was pinned to it goes to anyone.
    pub fn release(&mut self, consumer: u64) {
        self.by_pos.retain(|_, c| *c != consumer);
    }

    /// Keeps only the positions `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(Pos) -> bool) {
        self.by_pos.retain(|pos, _| keep(*pos));
    }
}

impl QueueState {
    /// Whether `consumer` may take the message at `pos`, of `group`, as far as the queue
    /// knows without a filter call.
    pub fn eligible(&self, pos: Pos, group: Option<&[u8]>, consumer: u64) -> bool {
        if self
            .excluded
            .get(&pos)
            .is_some_and(|c| c.contains(&consumer))
        {
            return false;
        }
        let taken_by_other = |other: Option<u64>| {
            other.is_some_and(|c| c != consumer && self.consumers.contains_key(&c))
        };
        if taken_by_other(self.pins.get(pos)) {
            return false;
        }
        !taken_by_other(group.and_then(|g| self.groups.owner(g)))
    }

    /// Whether `consumer` may take a message of `group` read as new: also no older message
    /// of the group may wait skipped, or the group's order would break.
    pub fn eligible_new(&self, pos: Pos, group: Option<&[u8]>, consumer: u64) -> bool {
        self.eligible(pos, group, consumer) && !group.is_some_and(|g| self.skipped.group_waiting(g))
    }
}

impl QueueState {
    /// [`QueueState::eligible`] for a returned position, with its group as known when it was
    /// skipped (a redelivery's group is only known once its message is read).
    pub fn eligible_returned(&self, pos: Pos, consumer: u64) -> bool {
        let group = self.skipped.group_of(pos).flatten();
        self.eligible(pos, group, consumer)
    }
}
