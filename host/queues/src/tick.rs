//! The periodic pass, driven by the broker's clock (`tick(now)`, every 100 ms or so):
//!
//! - durability: a durable queue's cursors are fsynced every `sync_interval_ms` when they
//!   changed; then an anycast queue's log is truncated below what the synced cursor
//!   acknowledges (never below an acknowledgement a power loss could take back), and an
//!   internal multicast log below what every subscription acknowledged;
//! - expiry: messages tracked since `send` whose time came move to the expiry address, even
//!   when nobody consumes;
//! - moves whose destination became durable are acknowledged at their source, and moves a
//!   destination's policy held are routed again;
//! - redeliveries and scheduled messages coming due, retention or new partitions on a
//!   multicast log, and a receive left unfinished (a filter held, the skip bounds cut it
//!   short) wake the queue's consumers;
//! - ring queues whose deliveries kept them above their size are trimmed.
//!
//! Durability contract: an acknowledgement is in the page cache at once (a process crash
//! keeps it) and on disk after the next sync. A power loss can forget the last interval's
//! acknowledgements: those messages are delivered again. It never loses a message: logs are
//! only truncated below synced floors, and a moved message leaves its source only once its
//! destination holds it durably.

use std::cmp::Reverse;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sluice_storage::StorageError;

use crate::moves::PendingMove;
use crate::names::INTERNAL_PREFIX;
use crate::queue::{Disposal, Locked, Move, Part, Queue};
use crate::types::RoutingType;
use crate::{Queues, QueuesError};

impl Queues {
    /// `tick`.
    pub(crate) fn tick_inner(&self, now_ms: i64) {
        self.grow_subscriptions();
        for queue in self.all_queues() {
            let mut moves = Vec::new();
            {
                let mut locked = queue.lock(&self.storage);
                if locked.st.deleted {
                    continue;
                }
                locked.tick(now_ms, self.sync_interval_ms, &mut moves);
            }
            self.perform_moves(&queue, moves, now_ms);
        }
        self.truncate_address_logs();
    }

    /// `flush`: every durable cursor synced, the registry written.
    pub(crate) fn flush_inner(&self) -> Result<(), QueuesError> {
        let mut first_error = None;
        for queue in self.all_queues() {
            let mut locked = queue.lock(&self.storage);
            if locked.st.attrs.durable
                && let Err(e) = locked.sync()
            {
                tracing::error!(queue = %queue.fqqn(), error = %e, "cannot sync a queue cursor");
                first_error.get_or_insert(QueuesError::from(e));
            }
        }
        if let Err(e) = self.persist(&self.catalog_read()) {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Every queue, in address then name order.
    pub(crate) fn all_queues(&self) -> Vec<Arc<Queue>> {
        let cat = self.catalog_read();
        let mut queues: Vec<Arc<Queue>> = cat
            .addresses
            .values()
            .flat_map(|e| e.queues.iter().cloned())
            .collect();
        queues.sort_by(|a, b| (&a.address, &a.name).cmp(&(&b.address, &b.name)));
        queues
    }

    /// A Kafka client may add partitions to a multicast address's log: subscriptions read the
    /// new ones from their start.
    fn grow_subscriptions(&self) {
        let cat = self.catalog_read();
        for entry in cat.addresses.values() {
            let Some(log) = &entry.log else { continue };
            let Some(info) = self.storage.topic(&log.topic) else {
                continue;
            };
            let known = log.partitions.load(Ordering::Acquire);
            if info.partitions <= known {
                continue;
            }
            for queue in entry
                .queues
                .iter()
                .filter(|q| q.routing == RoutingType::Multicast)
            {
                let mut locked = queue.lock(&self.storage);
                let have = u32::try_from(locked.st.parts.len()).unwrap_or(u32::MAX);
                match self.open_subscription(queue.id, &log.topic, have..info.partitions, false) {
                    Ok(parts) => locked.st.parts.extend(parts),
                    Err(e) => {
                        tracing::error!(queue = %queue.fqqn(), error = %e, "cannot follow new partitions");
                    }
                }
                drop(locked);
                queue.bump();
            }
            log.partitions.store(info.partitions, Ordering::Release);
            tracing::info!(address = %entry.name, partitions = info.partitions, "log grew");
        }
    }

    /// Truncates internal multicast logs (no Kafka client reads them) below every
    /// subscription's synced floor; with no subscription, nobody can ever read what is there.
    fn truncate_address_logs(&self) {
        let cat = self.catalog_read();
        for entry in cat.addresses.values() {
            let Some(log) = &entry.log else { continue };
            if !log.topic.starts_with(INTERNAL_PREFIX) {
                continue;
            }
            for p in 0..log.partitions.load(Ordering::Acquire) {
                let Ok(offsets) = self.storage.offsets(&log.topic, p) else {
                    continue;
                };
                let mut to = offsets.high_watermark;
                for queue in entry
                    .queues
                    .iter()
                    .filter(|q| q.routing == RoutingType::Multicast)
                {
                    let locked = queue.lock(&self.storage);
                    if let Some(part) = locked.st.parts.get(p as usize) {
                        to = to.min(part.synced_floor);
                    }
                }
                if to > offsets.log_start
                    && let Err(e) = self.storage.delete_records(&log.topic, p, to)
                {
                    tracing::warn!(topic = %log.topic, error = %e, "cannot truncate a log");
                }
            }
        }
    }
}

impl Locked<'_> {
    fn tick(&mut self, now_ms: i64, sync_interval_ms: u64, moves: &mut Vec<PendingMove>) {
        let last = std::mem::replace(&mut self.st.last_tick_ms, now_ms);
        let scheduled_due = self.promote_due(now_ms);
        let retry = std::mem::take(&mut self.st.retry_on_tick);
        if scheduled_due
            || retry
            || self
                .st
                .returned
                .values()
                .any(|&due| due > last && due <= now_ms)
        {
            self.q.bump();
        }
        self.trim_ring();
        moves.extend(self.retry_held_moves());
        if self.q.routing == RoutingType::Multicast {
            self.follow_retention();
        }
        self.expire(now_ms, moves);
        self.complete_durable_moves();
        let interval = i64::try_from(sync_interval_ms).unwrap_or(i64::MAX);
        if self.st.dirty && now_ms.saturating_sub(self.st.last_sync_ms) >= interval {
            let synced = if self.st.attrs.durable {
                self.sync()
            } else {
                // Nothing to make durable: the queue goes at the next start.
                for part in &mut self.st.parts {
                    part.synced_floor = part.cursor.floor();
                }
                self.st.dirty = false;
                Ok(())
            };
            self.st.last_sync_ms = now_ms;
            match synced {
                Ok(()) if self.q.routing == RoutingType::Anycast => self.truncate(),
                Ok(()) => {}
                Err(e) => {
                    tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot sync the queue cursor");
                }
            }
        }
    }

    /// Fsyncs every cursor of the queue.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        for part in &mut self.st.parts {
            part.cursor.sync()?;
            part.synced_floor = part.cursor.floor();
        }
        self.st.dirty = false;
        Ok(())
    }

    /// An anycast queue's log below its synced floor holds only acknowledged messages.
    fn truncate(&mut self) {
        let log = &self.q.log;
        let Some(part) = self.st.parts.first_mut() else {
            return;
        };
        let hw = *part.hw.borrow();
        let to = part.synced_floor.min(hw);
        if to <= part.truncated_to {
            return;
        }
        match self.storage.delete_records(log, 0, to) {
            Ok(start) => part.truncated_to = start,
            Err(e) => tracing::warn!(topic = %log, error = %e, "cannot truncate a queue's log"),
        }
    }

    /// Skips what retention removed from a multicast log before the subscription read it.
    fn follow_retention(&mut self) {
        for p in 0..self.st.parts.len() {
            let Ok(p) = u32::try_from(p) else { break };
            let Ok(offsets) = self.storage.offsets(&self.q.log, p) else {
                continue;
            };
            let behind = self
                .st
                .parts
                .get(p as usize)
                .is_some_and(|part: &Part| part.cursor.floor() < offsets.log_start);
            if behind {
                if let Err(e) = self.skip_to(p, offsets.log_start) {
                    tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot skip past retention");
                }
                self.q.bump();
            }
        }
    }

    /// Moves tracked messages whose expiry passed, unless consumed or in a consumer's hands.
    fn expire(&mut self, now_ms: i64, moves: &mut Vec<PendingMove>) {
        // Not yet readable (below the high watermark): tried again at the next tick.
        let mut not_durable = Vec::new();
        while let Some(&Reverse((at, p, offset))) = self.st.expiry.peek() {
            if at > now_ms {
                break;
            }
            self.st.expiry.pop();
            let pos = (p, offset);
            let Some(part) = self.st.parts.get(p as usize) else {
                continue;
            };
            if offset >= *part.hw.borrow() {
                not_durable.push(Reverse((at, p, offset)));
                continue;
            }
            let acked = part.cursor.is_acked(offset);
            if acked || self.st.delivering.contains_key(&pos) || self.st.moving.contains_key(&pos) {
                continue;
            }
            match self.read_at(pos) {
                Ok(Some(message)) if message.expired(now_ms) => {
                    moves.extend(self.dispose(pos, message, Disposal::Expire));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot read an expired message");
                }
            }
        }
        self.st.expiry.extend(not_durable);
    }

    /// Acknowledges moved messages whose destination holds them durably now.
    fn complete_durable_moves(&mut self) {
        let done: Vec<_> = self
            .st
            .moving
            .iter()
            .filter_map(|(pos, m)| match m {
                Move::Durable(disposal, positions)
                    if positions.iter().all(|at| {
                        self.storage
                            .offsets(&at.topic, at.partition)
                            .map_or(true, |o| o.high_watermark > at.offset)
                    }) =>
                {
                    Some((*pos, *disposal))
                }
                _ => None,
            })
            .collect();
        for (pos, disposal) in done {
            self.complete_move(pos, disposal);
        }
    }
}
