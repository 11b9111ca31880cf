//! Ring queues (Artemis's `ring-size`): a queue that holds at most so many messages. After an
//! append, while its message count exceeds the size, its oldest message that no consumer holds
//! (delivering) and that is not moving is acknowledged, counted `messages_removed_by_ring`.
//!
//! Messages being delivered are never removed: while deliveries keep the count above the size
//! the queue stays above it, and is trimmed again at the next append or `tick` once they are
//! settled (accepted ones leave anyway; released ones count again). Over a multicast log of
//! several partitions, whose messages have no order across partitions, the oldest of each
//! partition goes in turn.

use crate::queue::Locked;

/// Offsets one trim steps over (acknowledged, delivering or moving ones) looking for messages
/// to remove: bounds the work of one append; what is left is trimmed at the next one or at
/// `tick`.
pub const RING_SCAN_MAX: i64 = 10_000;

impl Locked<'_> {
    /// Removes the oldest messages beyond the queue's ring size, if it is a ring queue.
    pub fn trim_ring(&mut self) {
        let Some(size) = self.st.attrs.ring_size else {
            return;
        };
        let count = self.message_count();
        if count <= size {
            return;
        }
        let mut excess = count - size;
        let mut spans = Vec::with_capacity(self.st.parts.len());
        for (p, part) in self.st.parts.iter().enumerate() {
            let Ok(p) = u32::try_from(p) else { break };
            let Ok(offsets) = self.storage.offsets(&self.q.log, p) else {
                continue;
            };
            spans.push((
                p,
                part.cursor.floor().max(offsets.log_start),
                offsets.log_end,
            ));
        }
        let mut budget = RING_SCAN_MAX;
        while excess > 0 && budget > 0 && !spans.is_empty() {
            let mut i = 0;
            while i < spans.len() && excess > 0 {
                let (p, from, end) = spans[i];
                match self.remove_oldest(p, from, end, &mut budget) {
                    Ok(Some(next)) => {
                        spans[i].1 = next;
                        excess -= 1;
                        i += 1;
                    }
                    Ok(None) => {
                        spans.remove(i);
                    }
                    Err(e) => {
                        tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot trim a ring queue");
                        return;
                    }
                }
            }
        }
    }

    /// Acknowledges the first message of partition `p` in `from..end` that may go; the
    /// offset after it, or `None` when there is none within the budget.
    fn remove_oldest(
        &mut self,
        p: u32,
        from: i64,
        end: i64,
        budget: &mut i64,
    ) -> Result<Option<i64>, sluice_storage::StorageError> {
        let mut offset = from;
        while offset < end && *budget > 0 {
            *budget -= 1;
            let pos = (p, offset);
            offset += 1;
            let st = &*self.st;
            let acked = st
                .parts
                .get(p as usize)
                .is_none_or(|part| part.cursor.is_acked(pos.1));
            if acked || st.delivering.contains_key(&pos) || st.moving.contains_key(&pos) {
                continue;
            }
            if self.ack(pos)? {
                self.st.counters.messages_removed_by_ring += 1;
                return Ok(Some(offset));
            }
        }
        Ok(None)
    }
}
