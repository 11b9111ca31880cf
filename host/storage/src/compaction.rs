//! Log compaction's pieces that need no partition state: walking the batches of a segment,
//! the key → latest offset map, the keep/drop rule per record, re-encoding what a batch keeps,
//! and removing the leftovers of a compaction cut short. The pass itself (snapshot, rewrite,
//! swap under the partition lock) is `partition/compact.rs`.
//!
//! The rule, Kafka's: a record is kept if it is the latest of its key in the log, or newer
//! than `min.compaction.lag.ms`. A latest record with a null value (a tombstone) is dropped
//! once its batch's largest timestamp is older than `delete.retention.ms` (Kafka counts from
//! when the segment was first cleaned; the batch timestamp needs no extra state and gives a
//! tombstone at least as long). Records without a key are dropped, as Kafka's cleaner does
//! (only a topic switched to `compact` can hold them: appends refuse them). Control batches
//! (transaction markers) are kept as they are.
//!
//! A batch that loses records is re-encoded uncompressed: base offset = its first kept
//! record's offset, each record keeps its offset (deltas are relative to the new base), its
//! timestamps, attributes (less the compression bits), producer id and epoch are kept, and the
//! base sequence moves with the base offset, so every kept record's sequence is unchanged (as
//! Kafka keeps them). Offsets of kept records never change, so compaction leaves gaps.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::StorageError;
use crate::batch::{self, BatchHeader, HEADER_BYTES, LEADER_EPOCH_STORED, MAGIC_V2};
use crate::error::io_error;
use crate::layout;
use crate::records::{self, COMPRESSION_MASK, Record, put_zigzag};

/// Memory the key map of one pass may use (keys plus per-entry overhead), Kafka's
/// `log.cleaner.dedupe.buffer.size` default. A log with more distinct keys is cleaned up to
/// where the map filled, and the rest on later passes.
pub const KEY_MAP_BYTES_MAX: usize = 128 << 20;
/// What one entry of the key map costs besides its key: the offset, the vector header and the
/// hash table slot, rounded up.
const KEY_ENTRY_OVERHEAD_BYTES: usize = 64;
/// Read size while walking a segment: sequential throughput without a batch-sized buffer.
const WALK_CHUNK_BYTES: usize = 64 * 1024;
/// The largest batch a segment can hold: appends accept at most the topic's
/// `max.message.bytes`, and compaction writes at most a decompressed batch. Anything larger is
/// damage, and is refused before it is allocated.
pub const STORED_BATCH_BYTES_MAX: u64 = (records::DECOMPRESSED_BYTES_MAX + HEADER_BYTES) as u64;

/// Attributes bit 3: LogAppendTime, when every record's timestamp is the batch's max timestamp.
const LOG_APPEND_TIME_FLAG: i16 = 0x08;
/// Header fields compaction reads or rewrites beyond what `batch.rs` exposes (see its table).
const FIRST_TIMESTAMP: std::ops::Range<usize> = 27..35;
const MAX_TIMESTAMP: std::ops::Range<usize> = 35..43;
const PRODUCER_ID_AND_EPOCH: std::ops::Range<usize> = 43..53;
const BASE_SEQUENCE: std::ops::Range<usize> = 53..57;

/// The latest offset of every key seen, in log order.
#[derive(Debug, Default)]
pub struct KeyMap {
    latest: HashMap<Vec<u8>, i64>,
    bytes: usize,
}

impl KeyMap {
    /// Notes the records of `batch` (stored, whole); false, noting nothing, when they would
    /// take the map past [`KEY_MAP_BYTES_MAX`].
    pub fn note_batch(&mut self, batch: &[u8], base_offset: i64) -> Result<bool, StorageError> {
        if records::is_control(batch)? {
            return Ok(true);
        }
        let (section, count) = records::records_section(batch)?;
        let mut added = Vec::new();
        let mut bytes = self.bytes;
        for record in records::iter(&section, count) {
            let record = record?;
            let Some(key) = record.key else { continue };
            let offset = base_offset + i64::from(record.offset_delta);
            if !self.latest.contains_key(key) {
                bytes += key.len() + KEY_ENTRY_OVERHEAD_BYTES;
            }
            added.push((key.to_vec(), offset));
        }
        if bytes > KEY_MAP_BYTES_MAX {
            return Ok(false);
        }
        self.bytes = bytes;
        for (key, offset) in added {
            let entry = self.latest.entry(key).or_insert(offset);
            *entry = (*entry).max(offset);
        }
        Ok(true)
    }

    /// Whether a record of `key` at `offset` is superseded by a later one.
    fn superseded(&self, key: &[u8], offset: i64) -> bool {
        self.latest.get(key).is_some_and(|&latest| latest > offset)
    }
}

/// When records may be dropped, as of one pass.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Records with a timestamp above this are newer than `min.compaction.lag.ms`: kept.
    pub lag_floor_ms: i64,
    /// Tombstones in a batch whose max timestamp is below this are past
    /// `delete.retention.ms`: dropped.
    pub tombstone_floor_ms: i64,
    /// `min.compaction.lag.ms`, to tell when a record kept for its age stops being young.
    pub lag_ms: i64,
    /// `delete.retention.ms`, to tell when a kept tombstone may go.
    pub tombstone_ms: i64,
}

/// The earliest of two optional times.
pub fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What cleaning does to one batch.
#[derive(Debug)]
pub enum CleanedBatch {
    /// Every record stays: the batch is copied as it is.
    Unchanged,
    /// No record stays: the batch is dropped, leaving a gap of this many records.
    Dropped(u64),
    /// Some stay: the new batch and how many records were removed.
    Rewritten(Vec<u8>, u64),
}

/// Applies the rule to the records of `batch` (stored, whole). Also says when, at the
/// earliest, a record this pass kept could go (a tombstone reaching `delete.retention.ms`, a
/// superseded record leaving `min.compaction.lag.ms`): the cleaner passes again then, even if
/// nothing new was written.
pub fn clean_batch(
    batch: &[u8],
    map: &KeyMap,
    rules: Rules,
) -> Result<(CleanedBatch, Option<i64>), StorageError> {
    if records::is_control(batch)? {
        return Ok((CleanedBatch::Unchanged, None));
    }
    let header = header_of(batch)?;
    let attributes = records::attributes(batch)?;
    let first_timestamp = be_i64(batch, FIRST_TIMESTAMP)?;
    let (section, count) = records::records_section(batch)?;
    let mut kept: Vec<(Record<'_>, i64)> = Vec::new();
    let mut removed = 0u64;
    let mut due = None;
    for record in records::iter(&section, count) {
        let record = record?;
        let offset = header.base_offset + i64::from(record.offset_delta);
        let timestamp = if attributes & LOG_APPEND_TIME_FLAG != 0 {
            header.max_timestamp
        } else {
            first_timestamp.saturating_add(record.timestamp_delta)
        };
        let superseded = record.key.is_none_or(|key| map.superseded(key, offset));
        let keep = match record.key {
            _ if timestamp > rules.lag_floor_ms => {
                if superseded || record.value.is_none() {
                    due = earliest(due, Some(timestamp.saturating_add(rules.lag_ms)));
                }
                true
            }
            _ if superseded => false,
            _ if record.value.is_some() => true,
            _ if header.max_timestamp >= rules.tombstone_floor_ms => {
                let at = header.max_timestamp.saturating_add(rules.tombstone_ms);
                due = earliest(due, Some(at.saturating_add(1)));
                true
            }
            _ => false,
        };
        if keep {
            kept.push((record, offset));
        } else {
            removed += 1;
        }
    }
    let cleaned = match (kept.is_empty(), removed) {
        (_, 0) => CleanedBatch::Unchanged,
        (true, removed) => CleanedBatch::Dropped(removed),
        (false, removed) => CleanedBatch::Rewritten(encode(batch, &header, &kept)?, removed),
    };
    Ok((cleaned, due))
}

/// A new uncompressed batch of `kept` records, in order, from the `original` batch.
fn encode(
    original: &[u8],
    header: &BatchHeader,
    kept: &[(Record<'_>, i64)],
) -> Result<Vec<u8>, StorageError> {
    let (Some((_, base)), Some((_, last))) = (kept.first(), kept.last()) else {
        return Err(StorageError::InvalidRecord("nothing to encode".to_owned()));
    };
    let (base, last) = (*base, *last);
    let mut records = Vec::new();
    for (record, offset) in kept {
        let mut body = vec![record.attributes.to_be_bytes()[0]];
        put_zigzag(&mut body, record.timestamp_delta);
        put_zigzag(&mut body, offset - base);
        for field in [record.key, record.value] {
            match field {
                Some(bytes) => {
                    put_zigzag(&mut body, bytes.len() as i64);
                    body.extend_from_slice(bytes);
                }
                None => put_zigzag(&mut body, -1),
            }
        }
        body.extend_from_slice(record.headers);
        put_zigzag(&mut records, body.len() as i64);
        records.extend(body);
    }
    let fixed = |range: std::ops::Range<usize>| {
        original
            .get(range)
            .ok_or_else(|| StorageError::InvalidRecord("batch shorter than its header".to_owned()))
    };
    let attributes = records::attributes(original)? & !COMPRESSION_MASK;
    let base_sequence = shift_sequence(be_i32(original, BASE_SEQUENCE)?, base - header.base_offset);
    let count = i32::try_from(kept.len()).unwrap_or(i32::MAX);
    let last_delta = i32::try_from(last - base).unwrap_or(i32::MAX);
    let mut out = Vec::with_capacity(HEADER_BYTES + records.len());
    out.extend(base.to_be_bytes());
    out.extend(0i32.to_be_bytes()); // batch length, set below
    out.extend(LEADER_EPOCH_STORED.to_be_bytes());
    out.push(MAGIC_V2.to_be_bytes()[0]);
    out.extend(0u32.to_be_bytes()); // CRC, set below
    out.extend(attributes.to_be_bytes());
    out.extend(last_delta.to_be_bytes());
    out.extend_from_slice(fixed(FIRST_TIMESTAMP)?);
    out.extend_from_slice(fixed(MAX_TIMESTAMP)?);
    out.extend_from_slice(fixed(PRODUCER_ID_AND_EPOCH)?);
    out.extend(base_sequence.to_be_bytes());
    out.extend(count.to_be_bytes());
    out.extend(records);
    let length = i32::try_from(out.len() - batch::LOG_OVERHEAD_BYTES)
        .map_err(|_| StorageError::InvalidRecord("re-encoded batch too large".to_owned()))?;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = batch::crc_of(&out);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Kafka's sequence arithmetic: sequences wrap from `i32::MAX` to 0; -1 (none) stays.
fn shift_sequence(sequence: i32, by: i64) -> i32 {
    if sequence < 0 {
        return sequence;
    }
    let wrapped = (i64::from(sequence) + by) % (i64::from(i32::MAX) + 1);
    i32::try_from(wrapped).unwrap_or(sequence)
}

fn be_i64(bytes: &[u8], at: std::ops::Range<usize>) -> Result<i64, StorageError> {
    bytes
        .get(at)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| StorageError::InvalidRecord("batch shorter than its header".to_owned()))
}

fn be_i32(bytes: &[u8], at: std::ops::Range<usize>) -> Result<i32, StorageError> {
    bytes
        .get(at)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_be_bytes)
        .ok_or_else(|| StorageError::InvalidRecord("batch shorter than its header".to_owned()))
}

fn header_of(batch: &[u8]) -> Result<BatchHeader, StorageError> {
    batch
        .first_chunk::<HEADER_BYTES>()
        .map(BatchHeader::parse)
        .ok_or_else(|| StorageError::InvalidRecord("batch shorter than its header".to_owned()))
}

/// Calls `visit(position, batch)` for every whole batch of `file` below byte `limit`, each
/// checked (length, CRC) before it is handed out; `visit` returns false to stop. Damage is an
/// error: compaction never rewrites what it cannot read.
pub fn walk_batches(
    file: &File,
    path: &Path,
    limit: u64,
    mut visit: impl FnMut(u64, &[u8]) -> Result<bool, StorageError>,
) -> Result<(), StorageError> {
    let mut reader = BufReader::with_capacity(WALK_CHUNK_BYTES, file);
    reader
        .seek(SeekFrom::Start(0))
        .map_err(io_error("seek", path))?;
    let damaged = |position: u64, why: &str| StorageError::Io {
        context: format!("compact {} at byte {position}", path.display()),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned()),
    };
    let mut position = 0u64;
    let mut batch = Vec::new();
    while position < limit {
        let mut header = [0u8; HEADER_BYTES];
        reader
            .read_exact(&mut header)
            .map_err(io_error("read", path))?;
        let fields = BatchHeader::parse(&header);
        let total = fields.total_bytes();
        if fields.check().is_err() || total > STORED_BATCH_BYTES_MAX || position + total > limit {
            return Err(damaged(position, "not a whole batch"));
        }
        batch.clear();
        batch.extend_from_slice(&header);
        batch.resize(usize::try_from(total).unwrap_or(0), 0);
        reader
            .read_exact(batch.get_mut(HEADER_BYTES..).unwrap_or_default())
            .map_err(io_error("read", path))?;
        if batch::crc_of(&batch) != fields.crc {
            return Err(damaged(position, "CRC-32C mismatch"));
        }
        if !visit(position, &batch)? {
            break;
        }
        position += total;
    }
    Ok(())
}

/// Removes compaction output that was never swapped in (a crash or an error mid-pass). The
/// segment it was meant to replace is still whole: the swap renames the log last.
pub fn remove_leftovers(dir: &Path) -> Result<(), StorageError> {
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let leftover = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(layout::CLEANED_SUFFIX));
        if leftover {
            let path = entry.path();
            tracing::info!(file = %path.display(), "removing an unfinished compaction's file");
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_shift_with_the_base_and_wrap_like_kafka() {
        assert_eq!(shift_sequence(-1, 5), -1);
        assert_eq!(shift_sequence(10, 5), 15);
        assert_eq!(shift_sequence(i32::MAX, 1), 0);
        assert_eq!(shift_sequence(i32::MAX - 1, 3), 1);
    }
}
