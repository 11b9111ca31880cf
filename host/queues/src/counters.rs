//! A queue's statistics, Artemis's names: counters kept in memory since the broker started,
//! and a message count recomputed from the cursors and logs, so it is right after a restart.
//!
//! Every message that leaves a queue is acknowledged and counted once, by why it left:
//! acknowledged by a consumer, expired, killed, filtered (a delivery filter dropped it),
//! replaced (a last-value queue got a newer value) or removed by a ring queue.

use serde::Serialize;
use sluice_storage::QueueCursor;

use crate::policy::FilterRef;
use crate::queue::Locked;
use crate::types::RoutingType;

/// What a queue counted since the broker started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages routed to the queue.
    pub messages_added: u64,
    /// Messages acknowledged by consumers (accepted, or taken settled).
    pub messages_acknowledged: u64,
    /// Messages that expired (moved to the expiry address or dropped), retention's included.
    pub messages_expired: u64,
    /// Messages dead-lettered or dropped: rejected, out of delivery attempts, purged.
    pub messages_killed: u64,
    /// Messages a delivery filter (the address's or the queue's) dropped.
    pub messages_filtered: u64,
    /// Messages of a last-value queue replaced by a newer one with their key.
    pub messages_replaced: u64,
    /// Messages a ring queue removed to stay within its size.
    pub messages_removed_by_ring: u64,
}

/// One queue's statistics, as the admin API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// The queue.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its routing type.
    pub routing: RoutingType,
    /// Survives restarts.
    pub durable: bool,
    /// Deleted with its consumer or connection.
    pub temporary: bool,
    /// Delivers to its oldest consumer only.
    pub exclusive: bool,
    /// Consumers at most; -1: no limit.
    pub max_consumers: i32,
    /// Purged when its last consumer leaves.
    pub purge_on_no_consumers: bool,
    /// Its own delivery filter, if any.
    pub filter: Option<FilterRef>,
    /// The header it is a last-value queue by, if it is one.
    pub last_value_key: Option<String>,
    /// Its ring size, if it is a ring queue.
    pub ring_size: Option<u64>,
    /// Open consumers.
    pub consumer_count: u64,
    /// Unacknowledged messages, those being delivered included.
    pub message_count: u64,
    /// Messages routed to it since the broker started.
    pub messages_added: u64,
    /// Messages acknowledged since the broker started.
    pub messages_acknowledged: u64,
    /// Messages held by consumers, unsettled.
    pub delivering_count: u64,
    /// Messages expired since the broker started.
    pub messages_expired: u64,
    /// Messages dead-lettered or dropped since the broker started.
    pub messages_killed: u64,
    /// Messages a delivery filter dropped since the broker started (acknowledged by policy).
    pub messages_filtered: u64,
    /// Messages replaced by a newer value of their last-value key since the broker started
    /// (acknowledged by policy).
    pub messages_replaced: u64,
    /// Messages removed to keep a ring queue within its size since the broker started
    /// (acknowledged by policy).
    pub messages_removed_by_ring: u64,
    /// Messages waiting for their delivery time now (Artemis's `ScheduledCount`): those a
    /// receive met early; unread ones are not known yet.
    pub scheduled_count: u64,
    /// Messages some consumer passed over as not its own (selector, group, pin) that wait
    /// for another: at most `SKIPPED_MAX`.
    pub skipped_count: u64,
    /// Message groups with an owner now: at most `GROUPS_MAX`.
    pub group_count: u64,
}

/// Offsets in `from..to` the cursor has not acknowledged.
pub fn unacked_between(cursor: &QueueCursor, from: i64, to: i64) -> u64 {
    let from = from.max(cursor.floor());
    if to <= from {
        return 0;
    }
    let mut acked = 0i64;
    for range in cursor.acked_ranges() {
        if range.start >= to {
            break;
        }
        let (start, end) = (range.start.max(from), range.end.min(to));
        if end > start {
            acked += end - start;
        }
    }
    u64::try_from(to - from - acked).unwrap_or(0)
}

impl Locked<'_> {
    /// Unacknowledged messages: every partition's unacknowledged offsets between its log
    /// start and log end. Offsets the log holds no record for (compaction, transaction
    /// markers) count until a consumer's read steps over them.
    pub fn message_count(&self) -> u64 {
        let mut count = 0u64;
        for (p, part) in self.st.parts.iter().enumerate() {
            let Ok(p) = u32::try_from(p) else { break };
            let Ok(offsets) = self.storage.offsets(&self.q.log, p) else {
                continue;
            };
            count += unacked_between(&part.cursor, offsets.log_start, offsets.log_end);
        }
        count
    }

    /// Unacknowledged messages below the high watermarks (those a consumer could be handed):
    /// from the cursors alone, with no call on storage, for a router's view on every send.
    pub fn visible_count(&self) -> u64 {
        self.st
            .parts
            .iter()
            .map(|part| {
                let hw = *part.hw.borrow();
                unacked_between(&part.cursor, part.cursor.floor(), hw)
            })
            .sum()
    }

    /// The queue's statistics now.
    pub fn stats(&self) -> QueueStats {
        let st = &*self.st;
        QueueStats {
            name: self.q.name.clone(),
            address: self.q.address.clone(),
            routing: self.q.routing,
            durable: st.attrs.durable,
            temporary: self.q.temporary,
            exclusive: st.attrs.exclusive,
            max_consumers: st.attrs.max_consumers,
            purge_on_no_consumers: st.attrs.purge_on_no_consumers,
            filter: st.attrs.filter.clone(),
            last_value_key: st.attrs.last_value_key.clone(),
            ring_size: st.attrs.ring_size,
            consumer_count: st.consumers.len() as u64,
            message_count: self.message_count(),
            messages_added: st.counters.messages_added,
            messages_acknowledged: st.counters.messages_acknowledged,
            delivering_count: st.delivering.len() as u64,
            messages_expired: st.counters.messages_expired,
            messages_killed: st.counters.messages_killed,
            messages_filtered: st.counters.messages_filtered,
            messages_replaced: st.counters.messages_replaced,
            messages_removed_by_ring: st.counters.messages_removed_by_ring,
            scheduled_count: st.schedule.len() as u64,
            skipped_count: st.skipped.len() as u64,
            group_count: st.groups.len() as u64,
        }
    }
}
