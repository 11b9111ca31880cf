//! The sparse offset index of one log: every few KiB, the base offset of a batch and where it
//! starts in the file. Built by `recovery` at open and extended by every append; a read looks
//! up the nearest entry at or below its offset and steps forward from there. Kept in memory in
//! v0; a later version keeps it in a file beside each segment (Kafka's `.index`).

/// One entry per this many bytes of log, Kafka's `index.interval.bytes` default: a lookup then
/// steps over at most ~4 KiB of batch headers, and the index costs 16 bytes per 4 KiB of log.
pub const INDEX_INTERVAL_BYTES: u64 = 4096;

/// A batch start: its base offset and its byte position in the log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Base offset of the batch.
    pub offset: i64,
    /// Byte position of the batch in the file.
    pub position: u64,
}

/// Entries in increasing offset and position order; the first batch is always present.
#[derive(Debug, Default)]
pub struct SparseIndex {
    entries: Vec<IndexEntry>,
}

impl SparseIndex {
    /// Records a batch that starts at `position` with base offset `offset`; kept only if it is
    /// the first batch or at least `INDEX_INTERVAL_BYTES` past the last entry. Batches must be
    /// noted in log order.
    pub fn note(&mut self, offset: i64, position: u64) {
        let keep = match self.entries.last() {
            None => true,
            Some(last) => {
                debug_assert!(offset > last.offset && position > last.position);
                position - last.position >= INDEX_INTERVAL_BYTES
            }
        };
        if keep {
            self.entries.push(IndexEntry { offset, position });
        }
    }

    /// The last entry whose batch starts at or below `offset`: a batch start from which a scan
    /// reaches the batch containing `offset`. `None` when the log is empty.
    pub fn floor(&self, offset: i64) -> Option<IndexEntry> {
        let after = self.entries.partition_point(|entry| entry.offset <= offset);
        // `after == 0` only when `offset` precedes the first batch, i.e. below log start; the
        // caller has refused that already, but the first batch is still the right answer.
        self.entries.get(after.saturating_sub(1)).copied()
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_interval_and_finds_the_floor() {
        let mut index = SparseIndex::default();
        assert_eq!(index.floor(0), None);
        // 1000-byte batches of 10 offsets each.
        for i in 0..20u64 {
            index.note(i as i64 * 10, i * 1000);
        }
        // Entries at positions 0, 5000, 10000, 15000 (each >= 4096 past the previous).
        assert_eq!(index.len(), 4);
        assert_eq!(
            index.floor(0),
            Some(IndexEntry {
                offset: 0,
                position: 0
            })
        );
        assert_eq!(
            index.floor(49),
            Some(IndexEntry {
                offset: 0,
                position: 0
            })
        );
        assert_eq!(
            index.floor(50),
            Some(IndexEntry {
                offset: 50,
                position: 5000
            })
        );
        assert_eq!(
            index.floor(199),
            Some(IndexEntry {
                offset: 150,
                position: 15000
            })
        );
    }
}
