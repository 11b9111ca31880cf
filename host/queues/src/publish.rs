//! What a send's messages go through before they are routed: the address's publish filter
//! (keep, drop: never stored, rewrite: stored rewritten), then the defaults the address gives
//! them (its expiry) and the delivery policies' headers made consistent (a delay becomes a
//! delivery time). A filter that cannot answer holds the whole send: nothing is stored.

use crate::error::unavailable;
use crate::message::Message;
use crate::policy::{FilterRef, PolicyError, Verdict};
use crate::settings::AddressSettings;
use crate::{Queues, QueuesError};

impl Queues {
    /// The messages `filter` lets through, rewritten as it says, in order.
    pub(crate) fn publish_filter(
        &self,
        filter: Option<&FilterRef>,
        messages: Vec<Message>,
    ) -> Result<Vec<Message>, QueuesError> {
        let Some(filter) = filter else {
            return Ok(messages);
        };
        let what = || format!("publish filter `{}`", filter.plugin);
        let verdicts = match self.policies.filter(filter, &messages) {
            Ok(verdicts) if verdicts.len() == messages.len() => verdicts,
            Ok(verdicts) => {
                return Err(QueuesError::Unavailable(format!(
                    "{}: judged {} messages of {}",
                    what(),
                    verdicts.len(),
                    messages.len()
                )));
            }
            Err(PolicyError::Bypass) => return Ok(messages),
            Err(e) => return Err(unavailable(&what(), e)),
        };
        Ok(messages
            .into_iter()
            .zip(verdicts)
            .filter_map(|(message, verdict)| match verdict {
                Verdict::Keep => Some(message),
                Verdict::Drop => None,
                // Whether the sender waits for it to be durable is the sender's to say.
                Verdict::Rewrite(rewritten) => Some(Message {
                    durable: message.durable,
                    ..rewritten
                }),
            })
            .collect())
    }
}

/// Gives each message the address's default expiry and makes its delivery headers agree with
/// its fields (see [`Message::normalize_for_send`]).
pub(crate) fn prepare(messages: &mut [Message], settings: &AddressSettings, now_ms: i64) {
    for message in messages {
        message.normalize_for_send(now_ms);
        message.expiry_ms = settings.expiry_for(message.expiry_ms, now_ms);
    }
}
