//! A queue's statistics, Artemis's names: counters kept in memory since the broker started,
//! and a message count recomputed from the cursors and logs, so it is right after a restart.

use serde::Serialize;
use sluice_storage::QueueCursor;

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
            consumer_count: st.consumers.len() as u64,
            message_count: self.message_count(),
            messages_added: st.counters.messages_added,
            messages_acknowledged: st.counters.messages_acknowledged,
            delivering_count: st.delivering.len() as u64,
            messages_expired: st.counters.messages_expired,
            messages_killed: st.counters.messages_killed,
        }
    }
}
