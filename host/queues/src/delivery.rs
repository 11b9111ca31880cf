//! Handing messages to a consumer (`receive`): first the queue's due redeliveries in offset
//! order, then new messages from the log, each held by the consumer until settled (or
//! acknowledged on the spot when taken settled). Expired messages met on the way leave for the
//! expiry address instead.

use crate::QueuesError;
use crate::message::Message;
use crate::moves::PendingMove;
use crate::queue::{Disposal, Locked, Pos};
use crate::types::{Delivery, Received};

/// One receive under way: who takes, how, and what it may still take.
struct Take {
    /// The consumer taking.
    consumer: u64,
    /// Whether what it takes is acknowledged on the spot.
    settled: bool,
    /// The time of the call, for expiry and redelivery.
    now_ms: i64,
    /// Deliveries at most.
    max: usize,
    /// Body bytes at most (the first delivery excepted).
    max_bytes: u64,
    /// Body bytes taken so far.
    bytes: u64,
    /// What was taken, in order.
    out: Vec<Delivery>,
}

impl Take {
    fn full(&self) -> bool {
        self.out.len() >= self.max
    }

    /// Whether `message` fits under `max_bytes`; the first always does.
    fn fits(&self, message: &Message) -> bool {
        self.out.is_empty() || self.bytes.saturating_add(message.body_bytes()) <= self.max_bytes
    }
}

impl Locked<'_> {
    /// Takes up to `max` messages for `consumer`. Moves it starts are added to `moves`.
    pub fn receive(
        &mut self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
        now_ms: i64,
        moves: &mut Vec<PendingMove>,
    ) -> Result<Received, QueuesError> {
        // Taken before anything is read: whatever arrives during the call moves the version
        // past it, so a waiter is never put to sleep on a message it did not get.
        let version = self.version();
        if self.st.deleted || !self.st.consumers.contains_key(&consumer) {
            return Err(QueuesError::UnknownConsumer(consumer));
        }
        let mut take = Take {
            consumer,
            settled,
            now_ms,
            max: max as usize,
            max_bytes: u64::from(max_bytes),
            bytes: 0,
            out: Vec::new(),
        };
        let standby = self.st.attrs.exclusive && self.st.consumers.keys().next() != Some(&consumer);
        if !standby && !take.full() {
            let taken = self
                .take_returned(&mut take, moves)
                .and_then(|()| self.take_new(&mut take, moves));
            match taken {
                Ok(()) => {}
                Err(e) if take.out.is_empty() => return Err(e),
                // What was taken is the consumer's now: hand it over, the fault is logged.
                Err(e) => tracing::error!(queue = %self.q.fqqn(), error = %e, "receive cut short"),
            }
        }
        Ok(Received {
            deliveries: take.out,
            version,
        })
    }

    /// Takes the redeliveries that are due, in offset order, skipping those `take.consumer`
    /// refused (`undeliverable-here`).
    fn take_returned(
        &mut self,
        take: &mut Take,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        let (consumer, now_ms) = (take.consumer, take.now_ms);
        let excluded = &self.st.excluded;
        let due: Vec<Pos> = self
            .st
            .returned
            .iter()
            .filter(|(pos, due)| {
                **due <= now_ms && excluded.get(pos).is_none_or(|c| !c.contains(&consumer))
            })
            .map(|(pos, _)| *pos)
            .take(take.max)
            .collect();
        for pos in due {
            if take.full() {
                break;
            }
            let Some(message) = self.read_at(pos)? else {
                // The log lost it (retention): nothing left to deliver.
                self.ack(pos)?;
                continue;
            };
            if message.expired(now_ms) {
                moves.extend(self.dispose(pos, message, Disposal::Expire));
                continue;
            }
            if !take.fits(&message) {
                break;
            }
            self.st.returned.remove(&pos);
            self.deliver(pos, message, take)?;
        }
        Ok(())
    }

    /// Takes new messages from the log, one partition after another, starting one partition
    /// further at each receive.
    fn take_new(
        &mut self,
        take: &mut Take,
        moves: &mut Vec<PendingMove>,
    ) -> Result<(), QueuesError> {
        let partitions = self.st.parts.len();
        let start = self.st.scan_from;
        self.st.scan_from = (start + 1) % partitions.max(1);
        for k in 0..partitions {
            let Ok(p) = u32::try_from((start + k) % partitions) else {
                break;
            };
            while !take.full() {
                let Some(offset) = self.peek_new(p)? else {
                    break;
                };
                let Some(front) = self.front_new(p) else {
                    break;
                };
                let expired = front.expired(take.now_ms);
                if !expired && !take.fits(front) {
                    return Ok(());
                }
                let Some((_, message)) = self.pop_new(p) else {
                    break;
                };
                if expired {
                    moves.extend(self.dispose((p, offset), message, Disposal::Expire));
                } else {
                    self.deliver((p, offset), message, take)?;
                }
            }
        }
        Ok(())
    }

    /// Hands the message at `pos` (in no other state) to `take.consumer`.
    fn deliver(&mut self, pos: Pos, message: Message, take: &mut Take) -> Result<(), QueuesError> {
        let (consumer, now_ms) = (take.consumer, take.now_ms);
        let st = &mut *self.st;
        let delivery_count = st
            .parts
            .get(pos.0 as usize)
            .map_or(0, |part| part.cursor.delivery_count(pos.1));
        let Some(slot) = st.consumers.get_mut(&consumer) else {
            st.returned.insert(pos, now_ms);
            return Err(QueuesError::UnknownConsumer(consumer));
        };
        let tag = slot.next_tag;
        slot.next_tag += 1;
        if take.settled {
            self.accept(pos, now_ms)?;
        } else {
            slot.unsettled.insert(tag, pos);
            st.delivering.insert(pos, (consumer, tag));
        }
        take.bytes = take.bytes.saturating_add(message.body_bytes());
        take.out.push(Delivery {
            tag,
            message,
            delivery_count,
        });
        Ok(())
    }
}
