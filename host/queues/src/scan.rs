//! Reading new messages: the part of a queue's log no consumer has been handed yet, read
//! ahead a chunk at a time into each partition's buffer. Only what storage's `read` returns is
//! seen, so only records below the high watermark: nothing a crash could take back is ever
//! delivered.
//!
//! Offsets without a record (a Kafka transaction marker, records compaction removed, a batch
//! whose records cannot be read) are acknowledged as the read steps over them, so they never
//! hold the cursor's floor back.
//!
//! A receive takes messages off the buffer's front a batch at a time, to judge them together;
//! those it does not hand over or set elsewhere go back to the front (`unpop`), in order.

use sluice_storage::{StorageError, decode_batches};

use crate::counters::unacked_between;
use crate::message::{Message, from_record};
use crate::queue::{BUFFER_BYTES_MAX, Locked, READ_CHUNK_BYTES};

/// Offsets without a record acknowledged one by one at most, when they cannot be folded into
/// the floor (a message before them is still unacknowledged): a compacted Kafka topic can
/// leave millions of such offsets, and each costs a journal record. Larger gaps stay
/// unacknowledged (they count in `message_count`) until the floor reaches them.
const GAP_ACKS_MAX: i64 = 4096;

impl Locked<'_> {
    /// The offset of partition `p`'s next new message, reading ahead if needed; it stays at
    /// the front of the buffer until [`Locked::pop_new`] takes it. `None`: nothing new is
    /// visible yet.
    pub fn peek_new(&mut self, p: u32) -> Result<Option<i64>, StorageError> {
        let index = p as usize;
        loop {
            while let Some(offset) = self
                .st
                .parts
                .get(index)
                .and_then(|part| part.buffer.front())
                .map(|(offset, _)| *offset)
            {
                if self.is_new((p, offset)) {
                    return Ok(Some(offset));
                }
                // Acknowledged or taken elsewhere meanwhile (expiry, a purge): step over it.
                self.pop_new(p);
            }
            let Some(part) = self.st.parts.get_mut(index) else {
                return Ok(None);
            };
            part.next = part.next.max(part.read_to);
            if part.read_to >= *part.hw.borrow() {
                return Ok(None);
            }
            if !self.fill(p)? {
                return Ok(None);
            }
        }
    }

    /// The front of partition `p`'s buffer, taken: the read position passes it.
    pub fn pop_new(&mut self, p: u32) -> Option<(i64, Message)> {
        let part = self.st.parts.get_mut(p as usize)?;
        let (offset, message) = part.buffer.pop_front()?;
        part.buffer_bytes = part.buffer_bytes.saturating_sub(message.body_bytes());
        part.next = part.next.max(offset + 1);
        Some((offset, message))
    }

    /// Puts messages taken off partition `p`'s buffer and not handed out back at its front:
    /// `taken` in offset order, each below what the buffer holds.
    pub fn unpop(&mut self, p: u32, taken: Vec<(i64, Message)>) {
        let Some(part) = self.st.parts.get_mut(p as usize) else {
            return;
        };
        for (offset, message) in taken.into_iter().rev() {
            part.buffer_bytes += message.body_bytes();
            part.next = part.next.min(offset);
            part.buffer.push_front((offset, message));
        }
    }

    /// The front of partition `p`'s buffer, to look at before taking it.
    pub fn front_new(&self, p: u32) -> Option<&Message> {
        self.st
            .parts
            .get(p as usize)
            .and_then(|part| part.buffer.front())
            .map(|(_, m)| m)
    }

    /// Reads one chunk of partition `p` from `read_to` into the buffer. Whether the read
    /// position moved (so calling again may find more).
    fn fill(&mut self, p: u32) -> Result<bool, StorageError> {
        let index = p as usize;
        let Some(from) = self.st.parts.get(index).map(|part| part.read_to) else {
            return Ok(false);
        };
        let read = match self.storage.read(&self.q.log, p, from, READ_CHUNK_BYTES) {
            Ok(read) => read,
            Err(StorageError::OffsetOutOfRange { log_start, .. }) if from < log_start => {
                self.skip_to(p, log_start)?;
                return Ok(true);
            }
            Err(StorageError::OffsetOutOfRange { log_end, .. }) => {
                tracing::warn!(
                    queue = %self.q.fqqn(), partition = p, from, log_end,
                    "the queue's log ends before the queue's read position; was it recreated?"
                );
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let mut expected = from;
        for batch in decode_batches(&read.batches) {
            if batch.last_offset < expected {
                continue;
            }
            self.ack_gap(p, expected, batch.base_offset)?;
            expected = expected.max(batch.base_offset);
            match batch.records {
                Ok(records) => {
                    for record in records {
                        if record.offset < expected {
                            continue;
                        }
                        let Some(part) = self.st.parts.get(index) else {
                            return Ok(false);
                        };
                        if part.buffer_bytes >= BUFFER_BYTES_MAX && !part.buffer.is_empty() {
                            // Full: the rest is read again when the buffer drains.
                            if let Some(part) = self.st.parts.get_mut(index) {
                                part.read_to = expected;
                            }
                            return Ok(true);
                        }
                        self.ack_gap(p, expected, record.offset)?;
                        expected = record.offset + 1;
                        let offset = record.offset;
                        let message = from_record(record);
                        if let Some(part) = self.st.parts.get_mut(index) {
                            part.buffer_bytes += message.body_bytes();
                            part.buffer.push_back((offset, message));
                        }
                    }
                }
                Err(e) => tracing::warn!(
                    queue = %self.q.fqqn(), partition = p, base_offset = batch.base_offset,
                    error = %e, "stepping over a batch whose records cannot be read"
                ),
            }
            let end = batch.last_offset.saturating_add(1);
            self.ack_gap(p, expected, end)?;
            expected = expected.max(end);
        }
        let Some(part) = self.st.parts.get_mut(index) else {
            return Ok(false);
        };
        part.read_to = expected;
        Ok(expected > from)
    }

    /// Acknowledges `from..to`, offsets the log holds no record for.
    fn ack_gap(&mut self, p: u32, from: i64, to: i64) -> Result<(), StorageError> {
        if to <= from {
            return Ok(());
        }
        let st = &mut *self.st;
        let Some(part) = st.parts.get_mut(p as usize) else {
            return Ok(());
        };
        if part.cursor.floor() >= from {
            part.cursor.ack_below(to)?;
        } else if to - from <= GAP_ACKS_MAX {
            for offset in from..to {
                part.cursor.ack(offset)?;
            }
        } else {
            return Ok(());
        }
        st.dirty = true;
        Ok(())
    }

    /// Retention removed partition `p`'s log below `log_start` before the queue consumed it:
    /// the queue moves on, counting what it lost as expired.
    pub fn skip_to(&mut self, p: u32, log_start: i64) -> Result<(), StorageError> {
        let st = &mut *self.st;
        let Some(part) = st.parts.get_mut(p as usize) else {
            return Ok(());
        };
        let lost = unacked_between(&part.cursor, part.cursor.floor(), log_start);
        part.cursor.ack_below(log_start)?;
        part.restart_at(log_start);
        st.dirty = true;
        let kept = |pos: crate::queue::Pos| pos.0 != p || pos.1 >= log_start;
        st.returned.retain(|pos, _| kept(*pos));
        st.skipped.retain(kept);
        st.schedule.retain(kept);
        st.pins.retain(kept);
        st.excluded.retain(|pos, _| kept(*pos));
        st.counters.messages_expired += lost;
        if lost > 0 {
            tracing::warn!(
                queue = %self.q.fqqn(), partition = p, lost, log_start,
                "retention removed messages the queue had not consumed"
            );
        }
        Ok(())
    }
}
