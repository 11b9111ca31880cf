//! Delivery filters and selectors, as messages are taken for delivery: the address's
//! `delivery-filter`, then the queue's own `filter`, then the taking consumer's selector, each
//! called once for a batch of messages so a filter costs little per message.
//!
//! - A queue's filters (the address's and its own) judge for the queue: `drop` takes the
//!   message off it (acknowledged, counted filtered), `rewrite` hands the consumer the
//!   rewritten message (the stored one is kept, so a redelivery is judged afresh).
//! - A selector judges for its consumer: `drop` means "not for this consumer", and the
//!   message stays for the others (see `skipped`).
//! - A filter that cannot answer (restarting, refused, an answer of the wrong length) holds
//!   what it was asked to judge: it stays on the queue, the receive stops with what it took,
//!   and `tick` wakes the consumer to try again. `Bypass` keeps everything.

use crate::message::Message;
use crate::policy::{FilterRef, Policies, PolicyError, Verdict};
use crate::queue::Locked;

/// What becomes of one message taken for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Hand it over: as stored, or rewritten.
    Deliver(Option<Message>),
    /// A queue filter dropped it: acknowledge it as filtered.
    Dropped,
    /// The consumer's selector dropped it: leave it for the others.
    NotForConsumer,
    /// A filter held it: leave it where it is.
    Held,
}

/// Whom a filter judges for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Queue,
    Consumer,
}

impl Locked<'_> {
    /// Whether a message taken by a consumer with `selector` goes through any filter.
    pub fn filtered(&self, selector: Option<&FilterRef>) -> bool {
        self.q.settings.delivery_filter.is_some()
            || self.st.attrs.filter.is_some()
            || selector.is_some()
    }

    /// Judges `messages`, in order, under the queue's filters and then `selector`.
    pub fn judge(
        &mut self,
        messages: &[Message],
        selector: Option<&FilterRef>,
        policies: &dyn Policies,
    ) -> Vec<Judged> {
        let mut judged = vec![Judged::Deliver(None); messages.len()];
        if !self.filtered(selector) {
            return judged;
        }
        let address = self.q.settings.delivery_filter.clone();
        let queue = self.st.attrs.filter.clone();
        let stages = [
            (address.as_ref(), Scope::Queue),
            (queue.as_ref(), Scope::Queue),
            (selector, Scope::Consumer),
        ];
        let mut alive: Vec<usize> = (0..messages.len()).collect();
        let mut current: Vec<Message> = messages.to_vec();
        let mut rewritten = vec![false; messages.len()];
        for (filter, scope) in stages {
            let Some(filter) = filter else { continue };
            if alive.is_empty() {
                break;
            }
            let verdicts = match policies.filter(filter, &current) {
                Ok(verdicts) if verdicts.len() == current.len() => verdicts,
                Ok(verdicts) => {
                    let why = format!("judged {} messages of {}", verdicts.len(), current.len());
                    self.filter_held(filter, &why);
                    return hold(judged, &alive);
                }
                Err(PolicyError::Bypass) => continue,
                Err(e) => {
                    self.filter_held(filter, &e.to_string());
                    return hold(judged, &alive);
                }
            };
            let mut next_alive = Vec::with_capacity(alive.len());
            let mut next = Vec::with_capacity(alive.len());
            for ((i, message), verdict) in alive.into_iter().zip(current).zip(verdicts) {
                match verdict {
                    Verdict::Keep => {
                        next_alive.push(i);
                        next.push(message);
                    }
                    Verdict::Drop => {
                        if let Some(j) = judged.get_mut(i) {
                            *j = match scope {
                                Scope::Queue => Judged::Dropped,
                                Scope::Consumer => Judged::NotForConsumer,
                            };
                        }
                    }
                    Verdict::Rewrite(replacement) => {
                        if let Some(r) = rewritten.get_mut(i) {
                            *r = true;
                        }
                        next_alive.push(i);
                        next.push(replacement);
                    }
                }
            }
            alive = next_alive;
            current = next;
        }
        if std::mem::take(&mut self.st.warned.filter_held) {
            tracing::info!(queue = %self.q.fqqn(), "delivery filters answer again");
        }
        for (i, message) in alive.into_iter().zip(current) {
            if let (Some(j), Some(true)) = (judged.get_mut(i), rewritten.get(i)) {
                *j = Judged::Deliver(Some(message));
            }
        }
        judged
    }

    /// Logs, once until filters answer again, that `filter` holds the queue's messages.
    fn filter_held(&mut self, filter: &FilterRef, why: &str) {
        self.st.retry_on_tick = true;
        if !std::mem::replace(&mut self.st.warned.filter_held, true) {
            tracing::warn!(
                queue = %self.q.fqqn(), plugin = %filter.plugin, error = why,
                "a delivery filter holds messages; they stay in the queue"
            );
        }
    }
}

/// `judged` with every message still `alive` held.
fn hold(mut judged: Vec<Judged>, alive: &[usize]) -> Vec<Judged> {
    for &i in alive {
        if let Some(j) = judged.get_mut(i) {
            *j = Judged::Held;
        }
    }
    judged
}
