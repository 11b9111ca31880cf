//! Scheduled delivery: a message whose delivery time (`sluice-delivery-time`, or a
//! `sluice-delivery-delay` turned into one at send) is later than now is not delivered yet.
//! A receive that meets one before its time sets it aside here, with no failed delivery
//! counted; when its time comes (`tick`, or a receive at a later `now`) it joins the returned
//! messages, due at its time, and is delivered in offset order with them.
//!
//! Only the log holds the schedule: after a restart the message is read again, its header
//! with it, and set aside again if still early. A queue sets aside at most [`SCHEDULED_MAX`]
//! messages; a receive meeting one more stops reading that partition until the earliest
//! comes due, so order and memory are kept at the cost of the messages behind it.

use std::collections::{BTreeSet, HashMap};

use crate::queue::{Locked, Pos};

/// Messages one queue sets aside for their delivery time. An entry costs about 100 bytes in
/// the two indexes, so a queue holds at most about 10 MiB of them; a queue scheduling more
/// than this at once is better served by a topic read at the right time.
pub const SCHEDULED_MAX: usize = 100_000;

/// The messages set aside, by position and by time.
#[derive(Debug, Default)]
pub struct Schedule {
    by_pos: HashMap<Pos, i64>,
    by_time: BTreeSet<(i64, Pos)>,
}

impl Schedule {
    /// Messages waiting for their time.
    pub fn len(&self) -> usize {
        self.by_pos.len()
    }

    /// Whether another may be set aside.
    pub fn is_full(&self) -> bool {
        self.by_pos.len() >= SCHEDULED_MAX
    }

    /// Whether `pos` waits here.
    pub fn contains(&self, pos: Pos) -> bool {
        self.by_pos.contains_key(&pos)
    }

    /// Sets `pos` aside until `at`.
    pub fn insert(&mut self, pos: Pos, at: i64) {
        if let Some(old) = self.by_pos.insert(pos, at) {
            self.by_time.remove(&(old, pos));
        }
        self.by_time.insert((at, pos));
    }

    /// Takes `pos` out; its time, if it was here.
    pub fn remove(&mut self, pos: Pos) -> Option<i64> {
        let at = self.by_pos.remove(&pos)?;
        self.by_time.remove(&(at, pos));
        Some(at)
    }

    /// Takes out every entry due at `now_ms`, earliest first.
    fn take_due(&mut self, now_ms: i64) -> Vec<(Pos, i64)> {
        let mut due = Vec::new();
        while let Some(&(at, pos)) = self.by_time.first() {
            if at > now_ms {
                break;
            }
            self.by_time.pop_first();
            self.by_pos.remove(&pos);
            due.push((pos, at));
        }
        due
    }

    /// Keeps only the positions `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(Pos) -> bool) {
        self.by_pos.retain(|pos, _| keep(*pos));
        self.by_time.retain(|(_, pos)| keep(*pos));
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.by_pos.clear();
        self.by_time.clear();
    }
}

impl Locked<'_> {
    /// Moves the scheduled messages due at `now_ms` to the returned ones; whether any came
    /// due (their consumers are to be woken).
    pub fn promote_due(&mut self, now_ms: i64) -> bool {
        let due = self.st.schedule.take_due(now_ms);
        let any = !due.is_empty();
        for (pos, at) in due {
            self.st.returned.insert(pos, at);
        }
        any
    }

    /// Sets aside the message at `pos` (in no other state) until `at`; false when the
    /// schedule is full and it must stay where it is.
    pub fn schedule(&mut self, pos: Pos, at: i64) -> bool {
        if self.st.schedule.is_full() {
            return false;
        }
        self.st.schedule.insert(pos, at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_come_out_earliest_first_and_once() {
        let mut s = Schedule::default();
        s.insert((0, 5), 30);
        s.insert((0, 1), 10);
        s.insert((0, 9), 20);
        s.insert((0, 9), 40);
        assert_eq!(s.take_due(25), vec![((0, 1), 10)]);
        assert_eq!(s.remove((0, 5)), Some(30));
        assert_eq!(s.take_due(100), vec![((0, 9), 40)]);
        assert_eq!(s.len(), 0);
    }
}
