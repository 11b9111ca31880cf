//! Handing over a batch a receive gathered: the filters judge it (see `filtering`), and each
//! message is delivered (as stored or rewritten), acknowledged as filtered, left for the
//! other consumers (skipped), or left where it was (a filter held it). New messages left
//! where they were go back to the front of the read-ahead, in order.

use crate::QueuesError;
use crate::delivery::{Batch, Take};
use crate::filtering::Judged;
use crate::message::Message;
use crate::queue::{Locked, Pos};
use crate::types::{Delivery, RoutingType};

impl Locked<'_> {
    /// Judges `batch` under the filters and hands over what they let through. New messages
    /// (`from_new`, taken off the read-ahead) that stay where they were are returned, to be
    /// put back; a fault stops the hand-over, the rest staying where they were.
    pub(crate) fn hand_over(
        &mut self,
        batch: Batch,
        from_new: bool,
        take: &mut Take<'_>,
    ) -> (Vec<(i64, Message)>, Option<QueuesError>) {
        let (positions, messages): (Vec<Pos>, Vec<Message>) = batch.into_iter().unzip();
        let judged = self.judge(&messages, take.selector.as_ref(), take.policies);
        let mut leftovers = Vec::new();
        let mut error = None;
        for ((pos, message), judged) in positions.into_iter().zip(messages).zip(judged) {
            if error.is_some() {
                if from_new {
                    leftovers.push((pos.1, message));
                }
                continue;
            }
            let handled = match judged {
                Judged::Deliver(rewritten) => {
                    if !from_new {
                        self.st.unreturn(pos);
                    }
                    self.deliver(pos, message, rewritten, take)
                }
                Judged::Dropped => {
                    take.pass(true);
                    self.drop_filtered(pos, take.now_ms, from_new)
                }
                Judged::NotForConsumer => {
                    self.st.excluded.entry(pos).or_default().push(take.consumer);
                    if !from_new {
                        take.pass(false);
                    } else if self.st.skipped.is_full() {
                        take.cut = true;
                        leftovers.push((pos.1, message));
                    } else {
                        self.skip(pos, message, take.now_ms);
                        take.pass(true);
                    }
                    Ok(())
                }
                Judged::Held => {
                    take.held = true;
                    if from_new {
                        leftovers.push((pos.1, message));
                    }
                    Ok(())
                }
            };
            if let Err(e) = handled {
                error = Some(e);
            }
        }
        (leftovers, error)
    }

    /// Acknowledges the message at `pos` a queue filter dropped, counted once. On a storage
    /// fault it is not lost: a new message joins the returned ones.
    fn drop_filtered(&mut self, pos: Pos, now_ms: i64, from_new: bool) -> Result<(), QueuesError> {
        match self.ack(pos) {
            Ok(true) => {
                self.st.counters.messages_filtered += 1;
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => {
                if from_new {
                    self.st.returned.insert(pos, now_ms);
                }
                Err(e.into())
            }
        }
    }

    /// Hands the message at `pos` (in no other state), or its rewritten form, to
    /// `take.consumer`, which owns the message's group from now on.
    fn deliver(
        &mut self,
        pos: Pos,
        stored: Message,
        rewritten: Option<Message>,
        take: &mut Take<'_>,
    ) -> Result<(), QueuesError> {
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
        if let Some(group) = &stored.group_id {
            self.st.groups.claim(group, consumer);
        }
        let message = rewritten.unwrap_or(stored);
        take.bytes = take.bytes.saturating_add(message.body_bytes());
        let position =
            (self.q.routing == RoutingType::Multicast).then(|| (self.q.log.clone(), pos.0, pos.1));
        take.out.push(Delivery {
            tag,
            message,
            delivery_count,
            position,
        });
        Ok(())
    }
}
