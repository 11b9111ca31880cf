//! What becomes of a delivery: the consumer's outcome (`settle`), or its leaving (a consumer
//! closed with unsettled deliveries fails them), and what a queue does as consumers come and
//! go (`max_consumers`, purge-on-no-consumers, the exclusive consumer).

use crate::QueuesError;
use crate::counters::unacked_between;
use crate::moves::PendingMove;
use crate::policy::FilterRef;
use crate::queue::{ConsumerSlot, Disposal, Locked, Pos};
use crate::types::{Outcome, RoutingType};

impl Locked<'_> {
    /// Settles `consumer`'s deliveries `tags` with `outcome`. Unknown and settled tags are
    /// skipped; a storage fault on one tag leaves that message in the queue and is returned
    /// after the others are settled.
    pub fn settle(
        &mut self,
        consumer: u64,
        tags: &[u64],
        outcome: Outcome,
        now_ms: i64,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        if self.st.deleted || !self.st.consumers.contains_key(&consumer) {
            return Err(QueuesError::UnknownConsumer(consumer));
        }
        let mut first_error = None;
        let mut returned = false;
        for tag in tags {
            let Some(pos) = self
                .st
                .consumers
                .get_mut(&consumer)
                .and_then(|slot| slot.unsettled.remove(tag))
            else {
                continue;
            };
            self.st.delivering.remove(&pos);
            let settled = match outcome {
                Outcome::Accepted => self.accept(pos, now_ms),
                Outcome::Rejected => self.kill(pos, now_ms, moves),
                Outcome::Released
                | Outcome::Modified {
                    delivery_failed: false,
                    undeliverable_here: false,
                } => {
                    self.st.returned.insert(pos, now_ms);
                    returned = true;
                    Ok(())
                }
                Outcome::Modified {
                    delivery_failed,
                    undeliverable_here,
                } => {
                    if undeliverable_here {
                        self.st.excluded.entry(pos).or_default().push(consumer);
                    }
                    returned = true;
                    if delivery_failed {
                        self.fail(pos, now_ms, moves)
                    } else {
                        self.st.returned.insert(pos, now_ms);
                        Ok(())
                    }
                }
            };
            if let Err(e) = settled {
                first_error.get_or_insert(e);
            }
        }
        if returned {
            self.q.bump();
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Acknowledges the message at `pos`, counted once. On a storage fault it is not lost: it
    /// goes back to the queue, due at `now_ms`.
    pub(crate) fn accept(&mut self, pos: Pos, now_ms: i64) -> Result<(), QueuesError> {
        match self.ack(pos) {
            Ok(true) => {
                self.st.counters.messages_acknowledged += 1;
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => {
                self.st.returned.insert(pos, now_ms);
                Err(e.into())
            }
        }
    }

    /// Dead-letters the message at `pos`.
    fn kill(
        &mut self,
        pos: Pos,
        now_ms: i64,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        match self.read_at(pos) {
            Ok(Some(message)) => {
                moves.extend(self.dispose(pos, message, Disposal::Kill));
                Ok(())
            }
            Ok(None) => {
                self.ack(pos)?;
                Ok(())
            }
            Err(e) => {
                self.st.returned.insert(pos, now_ms);
                Err(e.into())
            }
        }
    }

    /// A failed delivery of the message at `pos`: its count goes up (durably), and it is
    /// dead-lettered at `max-delivery-attempts` or else redelivered after the redelivery delay.
    pub fn fail(
        &mut self,
        pos: Pos,
        now_ms: i64,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        let st = &mut *self.st;
        let Some(part) = st.parts.get_mut(pos.0 as usize) else {
            return Ok(());
        };
        let count = match part.cursor.record_delivery(pos.1) {
            Ok(count) => count,
            Err(e) => {
                st.returned.insert(pos, now_ms);
                return Err(e.into());
            }
        };
        st.dirty = true;
        if count == 0 {
            return Ok(()); // acknowledged meanwhile
        }
        if self.q.settings.exhausted(count) {
            return self.kill(pos, now_ms, moves);
        }
        let delay = self.q.settings.redelivery_delay(count);
        let due = now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
        self.st.returned.insert(pos, due);
        Ok(())
    }

    /// Adds a consumer, with its selector, within `max_consumers`. A subscription purged on
    /// no consumers is purged as its first consumer arrives: what was published while nobody
    /// listened is not for it.
    pub fn add_consumer(
        &mut self,
        consumer: u64,
        selector: Option<FilterRef>,
    ) -> Result<(), QueuesError> {
        if self.st.deleted {
            return Err(QueuesError::UnknownAddress(self.q.fqqn()));
        }
        let max = self.st.attrs.max_consumers;
        if max >= 0 && self.st.consumers.len() >= max as usize {
            return Err(QueuesError::ResourceLimit(format!(
                "queue `{}` accepts at most {max} consumers",
                self.q.fqqn()
            )));
        }
        if self.st.consumers.is_empty()
            && self.st.attrs.purge_on_no_consumers
            && self.q.routing == RoutingType::Multicast
        {
            self.purge()?;
        }
        self.st.consumers.insert(
            consumer,
            ConsumerSlot {
                selector,
                ..ConsumerSlot::default()
            },
        );
        Ok(())
    }

    /// Removes a consumer: its unsettled deliveries fail (counted, redelivered or
    /// dead-lettered), its groups and pinned messages go to whoever takes them next, and a
    /// queue purged on no consumers that loses its last one is purged. Whether the consumer
    /// was there.
    pub fn remove_consumer(
        &mut self,
        consumer: u64,
        now_ms: i64,
        moves: &mut Vec<PendingMove>,
    ) -> bool {
        let Some(slot) = self.st.consumers.remove(&consumer) else {
            return false;
        };
        for pos in slot.unsettled.into_values() {
            self.st.delivering.remove(&pos);
            if let Err(e) = self.fail(pos, now_ms, moves) {
                tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot count a failed delivery");
            }
        }
        for consumers in self.st.excluded.values_mut() {
            consumers.retain(|c| *c != consumer);
        }
        self.st
            .excluded
            .retain(|_, consumers| !consumers.is_empty());
        self.st.groups.release(consumer);
        self.st.pins.release(consumer);
        if self.st.consumers.is_empty()
            && self.st.attrs.purge_on_no_consumers
            && let Err(e) = self.purge()
        {
            tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot purge the queue");
        }
        // Returned deliveries, or a standby of an exclusive queue now first in line.
        self.q.bump();
        true
    }

    /// Drops every message up to the log end (counted as killed, as Artemis counts a purge);
    /// how many it dropped. Those being delivered go too: their consumers' settlements are
    /// then ignored, so a purged message released afterwards is never delivered again.
    pub fn purge(&mut self) -> Result<u64, QueuesError> {
        let mut purged = 0u64;
        for p in 0..self.st.parts.len() {
            let Ok(partition) = u32::try_from(p) else {
                break;
            };
            let end = self.storage.offsets(&self.q.log, partition)?.log_end;
            let st = &mut *self.st;
            let Some(part) = st.parts.get_mut(p) else {
                break;
            };
            purged += unacked_between(&part.cursor, part.cursor.floor(), end);
            part.cursor.ack_below(end)?;
            part.restart_at(end);
            st.dirty = true;
        }
        let st = &mut *self.st;
        st.delivering.clear();
        for slot in st.consumers.values_mut() {
            slot.unsettled.clear();
        }
        st.returned.clear();
        st.skipped.clear();
        st.schedule.clear();
        st.pins = Default::default();
        st.last_values.clear();
        st.excluded.clear();
        st.expiry.clear();
        st.counters.messages_killed += purged;
        Ok(purged)
    }
}
