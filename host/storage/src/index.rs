//! A segment's two sparse indexes, in Kafka's file formats (big-endian):
//!
//! - `.index`: 8-byte entries, offset relative to the segment base (u32) and byte position
//!   (u32) of a batch start;
//! - `.timeindex`: 12-byte entries, the largest timestamp seen so far in the segment (i64) and
//!   the relative offset (u32) of the batch at which it was recorded.
//!
//! **Invariant:** entries depend only on the sequence of batches, never on how they were
//! grouped into appends: one entry per batch that starts at least `INDEX_INTERVAL_BYTES` after
//! the previous entry (and for the first batch). So an index rebuilt from the log at open is
//! byte for byte the index that appends wrote.

use std::path::Path;

use crate::StorageError;
use crate::index_file::IndexFile;

/// One entry per this many bytes of log, Kafka's `index.interval.bytes` default: a lookup then
/// steps over at most ~4 KiB of batch headers.
pub const INDEX_INTERVAL_BYTES: u64 = 4096;
const OFFSET_ENTRY_BYTES: usize = 8;
const TIME_ENTRY_BYTES: usize = 12;

/// A batch start: its base offset and its byte position in the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Base offset of the batch.
    pub offset: i64,
    /// Byte position of the batch in the segment's log file.
    pub position: u64,
}

/// Why a sealed index cannot be trusted; the segment is then re-scanned.
#[derive(Debug)]
pub struct IndexMismatch(pub String);

/// Both indexes of one segment.
#[derive(Debug)]
pub struct SegmentIndex {
    base_offset: i64,
    offsets: IndexFile,
    times: IndexFile,
    /// Position of the last offset entry; `None` before the first batch.
    last_position: Option<u64>,
    /// Largest timestamp of any batch noted so far (-1 before any).
    max_timestamp: i64,
    /// Timestamp of the last time entry (-1 before any).
    last_time_entry: i64,
}

impl SegmentIndex {
    /// Fresh, empty index files with room for a segment of `segment_bytes`.
    pub fn create(
        offset_path: &Path,
        time_path: &Path,
        base_offset: i64,
        segment_bytes: u64,
    ) -> Result<Self, StorageError> {
        // One entry per interval, plus the first batch, plus a batch that overshoots the end.
        let capacity = usize::try_from(segment_bytes / INDEX_INTERVAL_BYTES + 2).unwrap_or(0);
        Ok(SegmentIndex {
            base_offset,
            offsets: IndexFile::create(offset_path, OFFSET_ENTRY_BYTES, capacity)?,
            times: IndexFile::create(time_path, TIME_ENTRY_BYTES, capacity)?,
            last_position: None,
            max_timestamp: -1,
            last_time_entry: -1,
        })
    }

    /// Opens the sealed index files of a segment of `log_bytes` bytes and checks that their
    /// entries are well-formed. `Ok(Err(_))` says why they cannot be used.
    pub fn open_sealed(
        offset_path: &Path,
        time_path: &Path,
        base_offset: i64,
        log_bytes: u64,
    ) -> Result<Result<Self, IndexMismatch>, StorageError> {
        let Some(offsets) = IndexFile::open_sealed(offset_path, OFFSET_ENTRY_BYTES)? else {
            return Ok(Err(IndexMismatch("offset index missing or torn".into())));
        };
        let Some(times) = IndexFile::open_sealed(time_path, TIME_ENTRY_BYTES)? else {
            return Ok(Err(IndexMismatch("time index missing or torn".into())));
        };
        let mut index = SegmentIndex {
            base_offset,
            offsets,
            times,
            last_position: None,
            max_timestamp: -1,
            last_time_entry: -1,
        };
        if let Err(m) = index.check(log_bytes) {
            return Ok(Err(m));
        }
        index.last_position = index.last().map(|e| e.position);
        if let Some((ts, _)) = index.time_entry(index.times.len().wrapping_sub(1)) {
            index.max_timestamp = ts;
            index.last_time_entry = ts;
        }
        Ok(Ok(index))
    }

    fn check(&self, log_bytes: u64) -> Result<(), IndexMismatch> {
        let n = self.offsets.len();
        if n == 0 && log_bytes > 0 {
            return Err(IndexMismatch("offset index empty".into()));
        }
        let mut previous: Option<IndexEntry> = None;
        for i in 0..n {
            let e = self.offset_entry(i);
            let ok = match previous {
                // Compaction may have removed the segment's first records: its first batch
                // then starts above the base offset the file is named after.
                None => e.offset >= self.base_offset && e.position == 0,
                Some(p) => e.offset > p.offset && e.position >= p.position + INDEX_INTERVAL_BYTES,
            };
            if !ok || e.position >= log_bytes {
                return Err(IndexMismatch(format!(
                    "offset index entry {i} out of order"
                )));
            }
            previous = Some(e);
        }
        let mut last_ts = -1;
        for i in 0..self.times.len() {
            if let Some((ts, offset)) = self.time_entry(i)
                && (ts <= last_ts || offset < self.base_offset)
            {
                return Err(IndexMismatch(format!("time index entry {i} out of order")));
            }
            last_ts = self.time_entry(i).map_or(last_ts, |(ts, _)| ts);
        }
        Ok(())
    }

    /// Notes a batch at `position`; batches must be noted in log order, each exactly once.
    /// Returns false if an index file is full (cannot happen for a segment within the size
    /// the index was created for).
    pub fn note(&mut self, offset: i64, position: u64, max_timestamp: i64) -> bool {
        self.max_timestamp = self.max_timestamp.max(max_timestamp);
        let due = match self.last_position {
            None => true,
            Some(last) => position >= last + INDEX_INTERVAL_BYTES,
        };
        if !due {
            return true;
        }
        let relative = (offset - self.base_offset) as u32;
        let mut entry = [0u8; OFFSET_ENTRY_BYTES];
        entry[..4].copy_from_slice(&relative.to_be_bytes());
        entry[4..].copy_from_slice(&(position as u32).to_be_bytes());
        if !self.offsets.push(&entry) {
            return false;
        }
        self.last_position = Some(position);
        if self.max_timestamp > self.last_time_entry {
            let mut entry = [0u8; TIME_ENTRY_BYTES];
            entry[..8].copy_from_slice(&self.max_timestamp.to_be_bytes());
            entry[8..].copy_from_slice(&relative.to_be_bytes());
            if !self.times.push(&entry) {
                return false;
            }
            self.last_time_entry = self.max_timestamp;
        }
        true
    }

    /// Takes note of a batch's timestamp without indexing it: for batches after the last entry
    /// of a sealed index, walked at open to learn the segment's largest timestamp.
    pub fn observe_timestamp(&mut self, max_timestamp: i64) {
        self.max_timestamp = self.max_timestamp.max(max_timestamp);
    }

    /// The largest batch timestamp in the segment, -1 when empty.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The last entry at or below `offset`; the first entry when `offset` precedes it.
    pub fn floor(&self, offset: i64) -> Option<IndexEntry> {
        let n = self.offsets.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.offset_entry(mid).offset <= offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (n > 0).then(|| self.offset_entry(lo.saturating_sub(1)))
    }

    /// An entry from which a forward scan finds the first batch whose max timestamp is at least
    /// `timestamp`: the entry of the last time entry below `timestamp`, or the first entry.
    pub fn time_floor(&self, timestamp: i64) -> Option<IndexEntry> {
        let n = self.times.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.time_entry(mid).is_some_and(|(ts, _)| ts < timestamp) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match lo.checked_sub(1).and_then(|i| self.time_entry(i)) {
            Some((_, offset)) => self.floor(offset),
            None => self.floor(self.base_offset),
        }
    }

    /// The last offset entry.
    pub fn last(&self) -> Option<IndexEntry> {
        let n = self.offsets.len();
        (n > 0).then(|| self.offset_entry(n - 1))
    }

    /// Trims and syncs both files: the segment is sealed.
    pub fn seal(&mut self) -> Result<(), StorageError> {
        self.offsets.seal()?;
        self.times.seal()
    }

    fn offset_entry(&self, i: usize) -> IndexEntry {
        let e = self.offsets.entry(i);
        let relative = e
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let position = e
            .get(4..8)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        IndexEntry {
            offset: self.base_offset + i64::from(relative),
            position: u64::from(position),
        }
    }

    fn time_entry(&self, i: usize) -> Option<(i64, i64)> {
        if i >= self.times.len() {
            return None;
        }
        let e = self.times.entry(i);
        let ts = i64::from_be_bytes(e.get(..8)?.try_into().ok()?);
        let relative = u32::from_be_bytes(e.get(8..12)?.try_into().ok()?);
        Some((ts, self.base_offset + i64::from(relative)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_interval_and_finds_floors_by_offset_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let (o, t) = (dir.path().join("i"), dir.path().join("t"));
        let mut index = SegmentIndex::create(&o, &t, 100, 1 << 20).unwrap();
        assert_eq!(index.floor(100), None);
        // 1000-byte batches of 10 offsets each, timestamps rising by 10 per batch.
        for i in 0..20u64 {
            assert!(index.note(100 + i as i64 * 10, i * 1000, 1000 + i as i64 * 10));
        }
        // Entries at positions 0, 5000, 10000, 15000 (each >= 4096 past the previous).
        let e = |offset, position| Some(IndexEntry { offset, position });
        assert_eq!(index.floor(100), e(100, 0));
        assert_eq!(index.floor(149), e(100, 0));
        assert_eq!(index.floor(150), e(150, 5000));
        assert_eq!(index.floor(299), e(250, 15000));
        assert_eq!(index.time_floor(0), e(100, 0));
        assert_eq!(index.time_floor(1055), e(150, 5000));
        assert_eq!(index.max_timestamp(), 1190);

        index.seal().unwrap();
        let reopened = SegmentIndex::open_sealed(&o, &t, 100, 20_000)
            .unwrap()
            .unwrap();
        assert_eq!(reopened.floor(299), e(250, 15000));
        assert_eq!(reopened.time_floor(1055), e(150, 5000));
        assert!(
            SegmentIndex::open_sealed(&o, &t, 100, 12_000)
                .unwrap()
                .is_err()
        );
    }
}
