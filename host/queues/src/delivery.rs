//! Handing messages to a consumer (`receive`): first the queue's due returned messages
//! (redeliveries, and messages other consumers skipped) in offset order, then new messages
//! from the log, each held by the consumer until settled (or acknowledged on the spot when
//! taken settled). On the way:
//! - expired messages leave for the expiry address;
//! - messages early for their delivery time are set aside (`schedule`);
//! - messages the consumer may not take (`eligibility`) are left for the others (`skipped`);
//! - a last-value queue's replaced values are acknowledged (`last_value`);
//! - the rest go through the delivery filters and the consumer's selector (`filtering`), one
//!   filter call for as many messages as the receive may still take.
//!
//! A receive examines (reads or judges) at most [`SKIP_SCAN_MAX`] messages it does not
//! deliver; returned positions its bookkeeping already rules out (not due, refused by this
//! consumer, pinned to or grouped with another) are stepped over without counting, and are
//! bounded by what the queue holds (`SKIPPED_MAX` skipped ones, plus redeliveries). Cut short
//! after changing something, it wakes the queue's consumers at once (a retry gets further);
//! cut short without (everything it met is someone else's, the skipped positions are full),
//! or held by a filter, it leaves waking them to `tick`.

use std::ops::Bound;

use crate::QueuesError;
use crate::message::Message;
use crate::moves::PendingMove;
use crate::policy::{FilterRef, Policies};
use crate::queue::{Disposal, Locked, Pos};
use crate::skipped::SKIP_SCAN_MAX;
use crate::types::{Delivery, Received};

/// One receive under way: who takes, how, and what it may still take.
pub(crate) struct Take<'a> {
    /// The consumer taking.
    pub(crate) consumer: u64,
    /// Its selector.
    pub(crate) selector: Option<FilterRef>,
    /// The filters.
    pub(crate) policies: &'a dyn Policies,
    /// Whether what it takes is acknowledged on the spot.
    pub(crate) settled: bool,
    /// The time of the call, for expiry and redelivery.
    pub(crate) now_ms: i64,
    /// Deliveries at most.
    pub(crate) max: usize,
    /// Body bytes at most (the first delivery excepted).
    pub(crate) max_bytes: u64,
    /// Body bytes taken so far.
    pub(crate) bytes: u64,
    /// What was taken, in order.
    pub(crate) out: Vec<Delivery>,
    /// Messages passed over without being delivered.
    pub(crate) passed: usize,
    /// Something changed on the way (a message skipped, dropped, replaced, set aside...).
    pub(crate) progressed: bool,
    /// Stopped with messages left that a retry may take.
    pub(crate) cut: bool,
    /// A filter held what it was to judge.
    pub(crate) held: bool,
    /// The next message would pass `max_bytes`.
    pub(crate) no_room: bool,
}

impl Take<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.max
    }

    /// Messages the next batch may hold: as many as it may still take, and no more than it
    /// may still pass over, since the filters may refuse them all.
    fn room(&self) -> usize {
        self.max
            .saturating_sub(self.out.len())
            .min(SKIP_SCAN_MAX.saturating_sub(self.passed))
    }

    /// Whether it passed over as many messages as a receive may.
    fn spent(&self) -> bool {
        self.passed >= SKIP_SCAN_MAX
    }

    fn done(&self) -> bool {
        self.full() || self.held || self.no_room
    }

    /// Whether `message` fits under `max_bytes` after `planned` more deliveries of
    /// `planned_bytes` in all (counted from the start); the first always does.
    pub(crate) fn fits(&self, planned: usize, planned_bytes: u64, message: &Message) -> bool {
        (self.out.is_empty() && planned == 0)
            || planned_bytes.saturating_add(message.body_bytes()) <= self.max_bytes
    }

    pub(crate) fn pass(&mut self, changed: bool) {
        self.passed += 1;
        self.progressed |= changed;
    }
}

/// Messages gathered for one filter call, as stored.
pub(crate) type Batch = Vec<(Pos, Message)>;

/// What stops a gathering of new messages early.
enum Step {
    Expired,
    Early(i64),
    Ineligible,
    TooBig,
    Take,
}

impl Locked<'_> {
    /// Takes up to `max` messages for `consumer`. Moves it starts are added to `moves`.
    #[allow(clippy::too_many_arguments)]
    pub fn receive(
        &mut self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
        now_ms: i64,
        policies: &dyn Policies,
        moves: &mut Vec<PendingMove>,
    ) -> Result<Received, QueuesError> {
        // Taken before anything is read: whatever arrives during the call moves the version
        // past it, so a waiter is never put to sleep on a message it did not get.
        let version = self.version();
        let Some(slot) = self
            .st
            .consumers
            .get(&consumer)
            .filter(|_| !self.st.deleted)
        else {
            return Err(QueuesError::UnknownConsumer(consumer));
        };
        let selector = slot.selector.clone();
        self.promote_due(now_ms);
        let mut take = Take {
            consumer,
            selector,
            policies,
            settled,
            now_ms,
            max: max as usize,
            max_bytes: u64::from(max_bytes),
            bytes: 0,
            out: Vec::new(),
            passed: 0,
            progressed: false,
            cut: false,
            held: false,
            no_room: false,
        };
        let standby = self.st.attrs.exclusive && self.st.consumers.keys().next() != Some(&consumer);
        if !standby && !take.full() {
            let taken = self.take_returned(&mut take, moves).and_then(|()| {
                if take.done() {
                    Ok(())
                } else {
                    self.take_new(&mut take, moves)
                }
            });
            match taken {
                Ok(()) => {}
                Err(e) if take.out.is_empty() => return Err(e),
                // What was taken is the consumer's now: hand it over, the fault is logged.
                Err(e) => tracing::error!(queue = %self.q.fqqn(), error = %e, "receive cut short"),
            }
        }
        if take.held {
            self.st.retry_on_tick = true;
        } else if !take.full() && (take.cut || take.spent()) {
            if take.progressed {
                self.q.bump();
            } else {
                self.st.retry_on_tick = true;
            }
        }
        Ok(Received {
            deliveries: take.out,
            version,
        })
    }

    /// Takes the returned messages that are due and the consumer may take, in offset order.
    fn take_returned(
        &mut self,
        take: &mut Take<'_>,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        let mut after = None;
        loop {
            if take.done() {
                return Ok(());
            }
            if take.spent() {
                take.cut = true;
                return Ok(());
            }
            let (batch, more) = self.gather_returned(&mut after, take, moves)?;
            if batch.is_empty() {
                return Ok(());
            }
            let (_, error) = self.hand_over(batch, false, take);
            if let Some(e) = error {
                return Err(e);
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// Returned messages after `after` the consumer may take now, as many as it may still
    /// take; whether more may follow.
    fn gather_returned(
        &mut self,
        after: &mut Option<Pos>,
        take: &mut Take<'_>,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(Batch, bool), QueuesError> {
        let (consumer, now_ms) = (take.consumer, take.now_ms);
        let mut batch = Vec::new();
        let mut bytes = take.bytes;
        while batch.len() < take.room() && !take.spent() {
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            let Some((pos, due)) = self
                .st
                .returned
                .range((from, Bound::Unbounded))
                .next()
                .map(|(pos, due)| (*pos, *due))
            else {
                return Ok((batch, false));
            };
            *after = Some(pos);
            // Bookkeeping alone rules these out: stepping over them is not examining them.
            if due > now_ms || !self.st.eligible_returned(pos, consumer) {
                continue;
            }
            let Some(message) = self.message_at(pos)? else {
                // The log lost it (retention): nothing left to deliver.
                self.ack(pos)?;
                take.pass(true);
                continue;
            };
            if message.expired(now_ms) {
                moves.extend(self.dispose(pos, message, Disposal::Expire));
                take.pass(true);
                continue;
            }
            if let Some(at) = message.delivery_time_ms.filter(|&at| at > now_ms) {
                self.st.unreturn(pos);
                if !self.schedule(pos, at) {
                    self.st.returned.insert(pos, at);
                }
                take.pass(true);
                continue;
            }
            if !self.st.eligible(pos, message.group_id.as_deref(), consumer) {
                take.pass(false);
                continue;
            }
            if self.superseded(pos, &message) {
                take.pass(true);
                continue;
            }
            if !take.fits(batch.len(), bytes, &message) {
                return Ok((batch, false));
            }
            bytes = bytes.saturating_add(message.body_bytes());
            batch.push((pos, message));
        }
        Ok((batch, true))
    }

    /// Takes new messages from the log, one partition after another, starting one partition
    /// further at each receive.
    fn take_new(
        &mut self,
        take: &mut Take<'_>,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        let partitions = self.st.parts.len();
        let start = self.st.scan_from;
        self.st.scan_from = (start + 1) % partitions.max(1);
        for k in 0..partitions {
            let Ok(p) = u32::try_from((start + k) % partitions) else {
                break;
            };
            self.take_new_from(p, take, moves)?;
            if take.done() {
                return Ok(());
            }
            if take.spent() {
                take.cut = true;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Takes new messages of partition `p`, a batch at a time.
    fn take_new_from(
        &mut self,
        p: u32,
        take: &mut Take<'_>,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        while !take.done() && !take.spent() {
            let (batch, stopped) = self.gather_new(p, take, moves)?;
            if batch.is_empty() {
                return Ok(());
            }
            let (leftovers, error) = self.hand_over(batch, true, take);
            self.unpop(p, leftovers);
            if let Some(e) = error {
                return Err(e);
            }
            if stopped {
                return Ok(());
            }
        }
        Ok(())
    }

    /// New messages of partition `p` the consumer may take, taken off the read-ahead, as
    /// many as it may still take; whether the partition has nothing more for now.
    fn gather_new(
        &mut self,
        p: u32,
        take: &mut Take<'_>,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(Batch, bool), QueuesError> {
        let (consumer, now_ms) = (take.consumer, take.now_ms);
        let mut batch = Vec::new();
        let mut bytes = take.bytes;
        while batch.len() < take.room() && !take.spent() {
            let Some(offset) = self.peek_new(p)? else {
                return Ok((batch, true));
            };
            let pos = (p, offset);
            let Some(front) = self.front_new(p) else {
                return Ok((batch, true));
            };
            let step = if front.expired(now_ms) {
                Step::Expired
            } else if let Some(at) = front.delivery_time_ms.filter(|&at| at > now_ms) {
                Step::Early(at)
            } else if !self
                .st
                .eligible_new(pos, front.group_id.as_deref(), consumer)
            {
                Step::Ineligible
            } else if !take.fits(batch.len(), bytes, front) {
                Step::TooBig
            } else {
                Step::Take
            };
            let full = match step {
                Step::TooBig => {
                    take.no_room = true;
                    true
                }
                Step::Early(_) => self.st.schedule.is_full(),
                Step::Ineligible => self.st.skipped.is_full(),
                Step::Expired | Step::Take => false,
            };
            if full {
                // It stays first in line; what is behind it waits with it, in order.
                take.cut |= !take.no_room;
                return Ok((batch, true));
            }
            let Some((_, message)) = self.pop_new(p) else {
                return Ok((batch, true));
            };
            match step {
                Step::Expired => {
                    moves.extend(self.dispose(pos, message, Disposal::Expire));
                    take.pass(true);
                }
                Step::Early(at) => {
                    self.schedule(pos, at);
                    take.pass(true);
                }
                Step::Ineligible => {
                    self.skip(pos, message, now_ms);
                    take.pass(true);
                }
                Step::Take | Step::TooBig => {
                    if self.superseded(pos, &message) {
                        take.pass(true);
                    } else {
                        bytes = bytes.saturating_add(message.body_bytes());
                        batch.push((pos, message));
                    }
                }
            }
        }
        Ok((batch, false))
    }
}
