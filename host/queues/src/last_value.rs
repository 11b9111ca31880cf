//! Last-value queues (Artemis's `last-value-key`): a queue keyed by a header keeps only the
//! latest message per value of it. When a message with value K is appended to the queue, the
//! previous one with K is acknowledged (counted `messages_replaced`) unless a consumer holds
//! it (delivering) or it is moving; a held one is settled as usual, and should it come back
//! (released, or its consumer gone) it is acknowledged as replaced instead of delivered
//! again. So a consumer never gets an older value after a newer one was stored.
//!
//! The latest position per key is memory only: after a restart it is rebuilt as messages are
//! read, a message older than the latest known for its key being acknowledged instead of
//! delivered. Replacements acknowledged before the restart stay acknowledged, so only a
//! message that was being delivered when the broker stopped can be delivered once more
//! before the newer value behind it. Across the partitions of a multicast log, "older" is the
//! order the queue met the messages in. At most [`LVQ_KEYS_MAX`] keys are tracked per queue;
//! beyond it (after dropping keys whose latest message is acknowledged) a new key's messages
//! replace nothing until room is made.

use std::collections::HashMap;

use crate::message::Message;
use crate::queue::{Locked, Pos};

/// Keys one last-value queue tracks: an entry is the key and a position (about 100 bytes), so
/// 100 000 keys cost about 10 MiB, well above the instruments, sensors or stock items a
/// last-value queue typically follows.
pub const LVQ_KEYS_MAX: usize = 100_000;

/// The latest position of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Latest {
    pos: Pos,
    /// Recorded as it was appended: nothing of the key appended before it is newer.
    appended: bool,
}

/// A last-value queue's latest position per key.
#[derive(Debug, Default)]
pub struct LastValues {
    latest: HashMap<Vec<u8>, Latest>,
}

impl LastValues {
    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.latest.clear();
    }
}

impl Locked<'_> {
    /// The value of the queue's last-value key on `message`, if it is a last-value queue and
    /// the message has one.
    fn last_value_of(&self, message: &Message) -> Option<Vec<u8>> {
        let key = self.st.attrs.last_value_key.as_deref()?;
        message.header(key).map(<[u8]>::to_vec)
    }

    /// `message` was appended at `pos`: the latest of its key, replacing the previous one.
    pub fn record_last_value(&mut self, pos: Pos, message: &Message) {
        let Some(key) = self.last_value_of(message) else {
            return;
        };
        let latest = Latest {
            pos,
            appended: true,
        };
        if let Some(previous) = self.set_latest(key, latest)
            && previous.pos != pos
        {
            self.replace(previous.pos);
        }
    }

    /// Whether the message at `pos`, about to be handed out, was replaced by a newer one of
    /// its key: then it is acknowledged as replaced. A message newer than the latest known
    /// (read after a restart) becomes the latest, replacing that one.
    pub fn superseded(&mut self, pos: Pos, message: &Message) -> bool {
        let Some(key) = self.last_value_of(message) else {
            return false;
        };
        let read = Latest {
            pos,
            appended: false,
        };
        let Some(&known) = self.st.last_values.latest.get(&key) else {
            self.set_latest(key, read);
            return false;
        };
        if known.pos == pos {
            return false;
        }
        let newer_known = if known.pos.0 == pos.0 {
            known.pos.1 > pos.1
        } else {
            known.appended
        };
        if newer_known {
            self.replace(pos);
            return true;
        }
        self.set_latest(key, read);
        self.replace(known.pos);
        false
    }

    /// Records `latest` for `key`, within [`LVQ_KEYS_MAX`]; the entry it replaces.
    fn set_latest(&mut self, key: Vec<u8>, latest: Latest) -> Option<Latest> {
        let st = &mut *self.st;
        if !st.last_values.latest.contains_key(&key) && st.last_values.len() >= LVQ_KEYS_MAX {
            // Keys whose latest message is gone hold nothing back.
            let parts = &st.parts;
            st.last_values.latest.retain(|_, l| {
                parts
                    .get(l.pos.0 as usize)
                    .is_some_and(|p| !p.cursor.is_acked(l.pos.1))
            });
            if st.last_values.len() >= LVQ_KEYS_MAX {
                return None;
            }
        }
        st.last_values.latest.insert(key, latest)
    }

    /// Acknowledges the replaced message at `pos`, unless a consumer holds it or it is
    /// moving (then it is settled, or moved, as usual).
    fn replace(&mut self, pos: Pos) {
        if self.st.delivering.contains_key(&pos) || self.st.moving.contains_key(&pos) {
            return;
        }
        match self.ack(pos) {
            Ok(true) => self.st.counters.messages_replaced += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::error!(queue = %self.q.fqqn(), error = %e, "cannot acknowledge a replaced message");
            }
        }
    }
}
