//! Skipped messages: a new message a consumer may not take (its selector drops it, its group
//! belongs to another consumer, a router pinned it to another consumer) is left for the
//! others without counting as a failed delivery: it joins the returned messages, due at once,
//! which every receive serves first in offset order, and its decoded message is kept here (up
//! to [`SKIPPED_CACHE_BYTES_MAX`]) so the consumer that takes it needs no read of the log.
//!
//! Bounds, so that a selective consumer cannot make a queue hold unbounded memory or make a
//! receive unbounded work:
//! - a queue holds at most [`SKIPPED_MAX`] skipped positions: beyond it a consumer meeting a
//!   message it may not take stops there, and gets nothing more from that partition until
//!   other consumers take what was skipped;
//! - a receive examines at most [`SKIP_SCAN_MAX`] messages it does not deliver; a receive
//!   cut short that changed nothing asks `tick` to wake its consumer again.

use std::collections::HashMap;

use sluice_storage::StorageError;

use crate::message::Message;
use crate::queue::{Locked, Pos};

/// Skipped positions one queue holds. Each is an entry in `returned` and here (about 100
/// bytes with its group), so 10 000 cost about 1 MiB; and every receive may have to step over
/// them, which [`SKIP_SCAN_MAX`] bounds. A workload with more messages waiting for one
/// selective consumer than this wants a queue of its own (a subscription with a filter).
pub const SKIPPED_MAX: usize = 10_000;

/// Bytes of skipped messages kept decoded per queue: enough for a few thousand typical
/// messages, so that the consumer taking them reads none from the log again; beyond it they
/// are read again (a page-cache read of their batch) when taken.
pub const SKIPPED_CACHE_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// Messages one receive examines (reads or judges) without delivering them: ineligible,
/// filtered out, expired, replaced, set aside. Bounds the time a queue is locked by one
/// receive to about a millisecond of work even when most of the queue is for someone else.
/// Returned positions ruled out by bookkeeping alone do not count (see `delivery`).
pub const SKIP_SCAN_MAX: usize = 1024;

/// The skipped positions of a queue, with their groups and, within bounds, their messages.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Each skipped position's group, if it has one.
    groups_of: HashMap<Pos, Option<Vec<u8>>>,
    /// Skipped positions per group, so that a group's newer messages wait behind them.
    per_group: HashMap<Vec<u8>, usize>,
    /// Decoded messages of skipped positions.
    cache: HashMap<Pos, Message>,
    /// Their bytes, as [`approximate_bytes`] counts them.
    cache_bytes: u64,
}

impl Skipped {
    /// Skipped positions.
    pub fn len(&self) -> usize {
        self.groups_of.len()
    }

    /// Whether one more may be skipped.
    pub fn is_full(&self) -> bool {
        self.groups_of.len() >= SKIPPED_MAX
    }

    /// Whether `pos` was skipped; its group if so.
    pub fn group_of(&self, pos: Pos) -> Option<Option<&[u8]>> {
        self.groups_of.get(&pos).map(Option::as_deref)
    }

    /// Whether some message of `group` was skipped and waits to be taken.
    pub fn group_waiting(&self, group: &[u8]) -> bool {
        self.per_group.contains_key(group)
    }

    /// The message skipped at `pos`, if kept.
    pub fn cached(&self, pos: Pos) -> Option<&Message> {
        self.cache.get(&pos)
    }

    /// Records `pos` as skipped (the caller puts it in `returned`).
    fn insert(&mut self, pos: Pos, message: Message) {
        let group = message.group_id.clone();
        if let Some(group) = &group {
            *self.per_group.entry(group.clone()).or_default() += 1;
        }
        if let Some(old) = self.groups_of.insert(pos, group) {
            self.forget_group(old);
        }
        let bytes = approximate_bytes(&message);
        if self.cache_bytes.saturating_add(bytes) <= SKIPPED_CACHE_BYTES_MAX {
            self.cache_bytes += bytes;
            if let Some(old) = self.cache.insert(pos, message) {
                self.cache_bytes = self.cache_bytes.saturating_sub(approximate_bytes(&old));
            }
        }
    }

    /// Forgets `pos`; its message, if kept.
    pub fn remove(&mut self, pos: Pos) -> Option<Message> {
        let group = self.groups_of.remove(&pos)?;
        self.forget_group(group);
        let message = self.cache.remove(&pos)?;
        self.cache_bytes = self.cache_bytes.saturating_sub(approximate_bytes(&message));
        Some(message)
    }

    fn forget_group(&mut self, group: Option<Vec<u8>>) {
        let Some(group) = group else { return };
        if let Some(n) = self.per_group.get_mut(&group) {
            *n -= 1;
            if *n == 0 {
                self.per_group.remove(&group);
            }
        }
    }

    /// Keeps only the positions `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(Pos) -> bool) {
        let gone: Vec<Pos> = self
            .groups_of
            .keys()
            .copied()
            .filter(|pos| !keep(*pos))
            .collect();
        for pos in gone {
            self.remove(pos);
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = Skipped::default();
    }
}

impl Locked<'_> {
    /// Leaves the new message at `pos` (taken off the read-ahead) for other consumers:
    /// returned, due at `now_ms`. False, leaving it to the caller, when the queue holds
    /// [`SKIPPED_MAX`] skipped positions already.
    pub fn skip(&mut self, pos: Pos, message: Message, now_ms: i64) -> bool {
        if self.st.skipped.is_full() {
            return false;
        }
        self.st.returned.insert(pos, now_ms);
        self.st.skipped.insert(pos, message);
        true
    }

    /// The message at `pos`: kept from when it was skipped, else read.
    pub fn message_at(&mut self, pos: Pos) -> Result<Option<Message>, StorageError> {
        if let Some(message) = self.st.skipped.cached(pos) {
            return Ok(Some(message.clone()));
        }
        self.read_at(pos)
    }
}

/// A message's share of memory, near enough to bound a cache by.
pub fn approximate_bytes(message: &Message) -> u64 {
    let headers: usize = message
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 48)
        .sum();
    (message.key.as_ref().map_or(0, Vec::len)
        + message.value.as_ref().map_or(0, Vec::len)
        + headers
        + 160) as u64
}
