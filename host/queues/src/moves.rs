//! Messages leaving a queue unconsumed: dead-lettered (rejected, or out of delivery attempts)
//! or expired. With a destination address the message is sent there, marked with where it
//! was; without one it is dropped, as Artemis does, with a warning once per queue.
//!
//! A move runs in two steps so that no queue lock is held while another queue's is taken
//! (two queues dead-lettering into each other would deadlock): under the source's lock the
//! message is marked *moving*; the lock released, it is routed to its destination; under the
//! lock again it is acknowledged at the source, once the destination holds it durably (at
//! once when it already does, else by `tick` when the high watermarks pass). A crash between
//! the steps leaves the message in both places, never in neither.
//!
//! The destination routes the message as any send (its publish filter, its router). When a
//! policy there holds (`Unavailable`), the message stays in its queue, marked held, and `tick`
//! routes it again: a plugin restarting never loses a dead letter.

use std::sync::Arc;

use sluice_storage::StorageError;

use crate::message::Message;
use crate::queue::{Disposal, Locked, Move, Pos, Queue};
use crate::types::Sent;
use crate::{Queues, QueuesError};

/// A message marked moving, to route once the source queue is unlocked.
#[derive(Debug)]
pub struct PendingMove {
    /// Where it is in the source queue.
    pub pos: Pos,
    /// The message as read.
    pub message: Message,
    /// The destination address.
    pub to: String,
    /// Why it moves.
    pub disposal: Disposal,
}

impl Locked<'_> {
    /// Takes the message at `pos` out of the queue for `disposal`: marked moving when it has
    /// somewhere to go (returned for routing), dropped otherwise. A queue's own address is no
    /// destination: dead-lettering into it would loop.
    pub fn dispose(
        &mut self,
        pos: Pos,
        message: Message,
        disposal: Disposal,
    ) -> Option<PendingMove> {
        let settings = &self.q.settings;
        let to = match disposal {
            Disposal::Kill => settings.dead_letter_address.as_ref(),
            Disposal::Expire => settings.expiry_address.as_ref(),
        }
        .filter(|to| **to != self.q.address)
        .cloned();
        self.st.unreturn(pos);
        self.st.schedule.remove(pos);
        match to {
            Some(to) => {
                self.st.moving.insert(pos, Move::Routing(disposal));
                Some(PendingMove {
                    pos,
                    message,
                    to,
                    disposal,
                })
            }
            None => {
                self.drop_message(pos, disposal);
                None
            }
        }
    }

    /// Acknowledges a message that leaves for nowhere, counting and warning once.
    fn drop_message(&mut self, pos: Pos, disposal: Disposal) {
        if let Err(e) = self.ack_gone(pos, disposal) {
            tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot drop a message");
            // Kept, so it is not lost: it is met again at its next delivery.
            self.st.returned.insert(pos, i64::MIN);
            return;
        }
        let warned = &mut self.st.warned;
        let first = match disposal {
            Disposal::Kill => !std::mem::replace(&mut warned.kill_dropped, true),
            Disposal::Expire => !std::mem::replace(&mut warned.expiry_dropped, true),
        };
        if first {
            let what = match disposal {
                Disposal::Kill => "dead-letter address; dropping dead letters",
                Disposal::Expire => "expiry address; dropping expired messages",
            };
            tracing::warn!(queue = %self.q.fqqn(), "queue has no {what}");
        }
    }

    /// Acknowledges a message that left the queue by `disposal`, counted once.
    fn ack_gone(&mut self, pos: Pos, disposal: Disposal) -> Result<(), StorageError> {
        if self.ack(pos)? {
            let counters = &mut self.st.counters;
            match disposal {
                Disposal::Kill => counters.messages_killed += 1,
                Disposal::Expire => counters.messages_expired += 1,
            }
        }
        Ok(())
    }

    /// Records how routing a moving message went.
    pub fn finish_move(&mut self, pos: Pos, disposal: Disposal, routed: Result<Sent, QueuesError>) {
        if self.st.deleted {
            return;
        }
        if routed.is_ok() && std::mem::take(&mut self.st.warned.move_held) {
            tracing::info!(queue = %self.q.fqqn(), "destinations take moved messages again");
        }
        match routed {
            Ok(sent) if sent.pending.is_empty() => self.complete_move(pos, disposal),
            Ok(sent) => {
                self.st
                    .moving
                    .insert(pos, Move::Durable(disposal, sent.pending));
            }
            Err(QueuesError::Storage(e)) => {
                tracing::error!(
                    queue = %self.q.fqqn(), error = %e,
                    "cannot move a message to its destination; it stays in the queue"
                );
                self.st.moving.remove(&pos);
                self.st.returned.insert(pos, i64::MIN);
            }
            Err(QueuesError::Unavailable(why)) => {
                if !std::mem::replace(&mut self.st.warned.move_held, true) {
                    tracing::warn!(
                        queue = %self.q.fqqn(), error = %why,
                        "the destination holds messages; moves are tried again at every tick"
                    );
                }
                self.st.moving.insert(pos, Move::Held(disposal));
            }
            Err(e) => {
                tracing::warn!(
                    queue = %self.q.fqqn(), error = %e,
                    "the destination refuses the message; dropping it"
                );
                self.st.moving.remove(&pos);
                self.drop_message(pos, disposal);
            }
        }
    }

    /// The destination holds the message durably: it leaves the source.
    pub fn complete_move(&mut self, pos: Pos, disposal: Disposal) {
        self.st.moving.remove(&pos);
        if let Err(e) = self.ack_gone(pos, disposal) {
            // Already at its destination: a later redelivery here is a duplicate, not a loss.
            tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot acknowledge a moved message");
            self.st.returned.insert(pos, i64::MIN);
        }
    }
}

impl Locked<'_> {
    /// The moves a destination held, marked routing again and read for `tick` to retry.
    pub fn retry_held_moves(&mut self) -> Vec<PendingMove> {
        let held: Vec<(Pos, Disposal)> = self
            .st
            .moving
            .iter()
            .filter_map(|(pos, m)| match m {
                Move::Held(disposal) => Some((*pos, *disposal)),
                _ => None,
            })
            .collect();
        let mut moves = Vec::new();
        for (pos, disposal) in held {
            match self.read_at(pos) {
                Ok(Some(message)) => {
                    self.st.moving.remove(&pos);
                    moves.extend(self.dispose(pos, message, disposal));
                }
                Ok(None) => {
                    // The log lost it (retention): nothing left to move.
                    self.st.moving.remove(&pos);
                    if let Err(e) = self.ack(pos) {
                        tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot acknowledge a lost message");
                    }
                }
                Err(e) => {
                    tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot read a held move");
                }
            }
        }
        moves
    }
}

impl Queues {
    /// Routes moves taken out of `queue` (whose lock the caller no longer holds) and records
    /// the outcome in it.
    pub(crate) fn perform_moves(&self, queue: &Arc<Queue>, moves: Vec<PendingMove>, now_ms: i64) {
        for PendingMove {
            pos,
            message,
            to,
            disposal,
        } in moves
        {
            let message = message.moved_from(&queue.address, &queue.name);
            let routed = self.send_inner(&to, None, vec![message], now_ms);
            queue.lock(&self.storage).finish_move(pos, disposal, routed);
        }
    }
}
