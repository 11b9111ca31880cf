//! Client deliveries that are stored but not durable yet: accepted only once the log positions
//! `queues.send` returned have passed.
//!
//! Place in the flow: `link::incoming` parks a group here for each send whose `sent.pending` is
//! not empty; the connection arms one wait per group (`wake-on all`) and, when it fires,
//! writes the `accepted` dispositions. A wait that times out is armed again: a delivery is
//! never accepted before it is durable.
//!
//! Bounds: the number of deliveries parked is what pauses the connection's input
//! (`limits::AWAITING_DURABLE_MAX`); groups not armed yet (no wait slot was free) are merged
//! into one before arming, so the waits they need stay few however many sends parked.

use std::collections::BTreeMap;

use sluice_sdk::codec::{LogPosition, WakeOn};

use crate::context::Out;
use crate::limits::DURABLE_WAIT_MS;
use crate::waits::{Purpose, Request, Waits};

/// A client delivery waiting for durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaiting {
    /// The session's id (not its channel: channels are reused).
    pub session: u64,
    /// The link's id (not its handle: handles are reused).
    pub link: u64,
    /// The delivery, as the session numbers it.
    pub delivery_id: u32,
}

/// Deliveries waiting on the same positions.
struct Group {
    positions: Vec<LogPosition>,
    deliveries: Vec<Awaiting>,
    /// Whether its wait is out.
    armed: bool,
}

/// The groups of one connection.
#[derive(Default)]
pub struct Durability {
    groups: BTreeMap<u64, Group>,
    next_group: u64,
    /// Deliveries in all groups.
    count: usize,
}

impl Durability {
    /// Parks `deliveries` until every one of `positions` has passed.
    pub fn park(&mut self, positions: Vec<LogPosition>, deliveries: Vec<Awaiting>) {
        self.count += deliveries.len();
        self.next_group = self.next_group.wrapping_add(1);
        self.groups.insert(
            self.next_group,
            Group {
                positions,
                deliveries,
                armed: false,
            },
        );
    }

    /// Arms a wait for the groups that have none: one wait, for all of them merged.
    pub fn arm(&mut self, waits: &mut Waits, out: &mut Out) {
        let unarmed: Vec<u64> = self
            .groups
            .iter()
            .filter(|(_, g)| !g.armed)
            .map(|(id, _)| *id)
            .collect();
        let Some(&first) = unarmed.first() else {
            return;
        };
        let id = if unarmed.len() == 1 {
            first
        } else {
            self.merge(&unarmed)
        };
        let Some(group) = self.groups.get_mut(&id) else {
            return;
        };
        let armed = waits.arm(
            out,
            Request {
                purpose: Purpose::Durable(id),
                timeout_ms: DURABLE_WAIT_MS,
                watch: group.positions.clone(),
                consumers: Vec::new(),
                wake_on: WakeOn::All,
            },
        );
        group.armed = armed.is_some();
    }

    /// The wait of group `id` fired. Returns its deliveries once its positions passed; after a
    /// timeout the group waits again.
    pub fn woken(&mut self, id: u64, timed_out: bool) -> Vec<Awaiting> {
        if timed_out {
            if let Some(group) = self.groups.get_mut(&id) {
                group.armed = false;
            }
            return Vec::new();
        }
        let Some(group) = self.groups.remove(&id) else {
            return Vec::new();
        };
        self.count = self.count.saturating_sub(group.deliveries.len());
        group.deliveries
    }

    /// Deliveries waiting.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Forgets every group (the connection closed).
    pub fn clear(&mut self) {
        self.groups.clear();
        self.count = 0;
    }

    /// Replaces the groups `ids` by one waiting for all their positions (per partition, the
    /// highest); returns its id.
    fn merge(&mut self, ids: &[u64]) -> u64 {
        let mut highest: BTreeMap<(String, u32), i64> = BTreeMap::new();
        let mut deliveries = Vec::new();
        for id in ids {
            let Some(group) = self.groups.remove(id) else {
                continue;
            };
            for p in group.positions {
                let offset = highest.entry((p.topic, p.partition)).or_insert(p.offset);
                *offset = (*offset).max(p.offset);
            }
            deliveries.extend(group.deliveries);
        }
        let positions = highest
            .into_iter()
            .map(|((topic, partition), offset)| LogPosition {
                topic,
                partition,
                offset,
            })
            .collect();
        // `park` counts the deliveries again; they were counted when first parked.
        self.count = self.count.saturating_sub(deliveries.len());
        self.park(positions, deliveries);
        self.next_group
    }
}
