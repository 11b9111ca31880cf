//! Scanning a segment's log file from a known batch start, validating every batch the way
//! append did (length, magic, CRC-32C) plus what only the log can show (offsets strictly
//! increasing, the leader epoch storage writes). Offsets may skip: compaction leaves gaps. The scan only reads; what to do with a fault is the caller's
//! choice: cut the active segment's torn tail, refuse to start on a sealed segment.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::StorageError;
use crate::batch::{self, BatchFault, BatchHeader, HEADER_BYTES, LEADER_EPOCH_STORED};
use crate::error::io_error;

/// Read size while scanning: large enough for sequential throughput, small enough that a
/// scan's memory does not depend on batch sizes (the CRC is computed in chunks).
const SCAN_CHUNK_BYTES: usize = 64 * 1024;

/// One valid batch, as the scan met it.
#[derive(Debug, Clone, Copy)]
pub struct ScannedBatch {
    /// Base offset.
    pub offset: i64,
    /// Byte position in the file.
    pub position: u64,
    /// Its maxTimestamp.
    pub max_timestamp: i64,
}

/// What a scan found.
#[derive(Debug)]
pub struct Scan {
    /// End of the last valid batch.
    pub end_position: u64,
    /// The offset after the last valid batch.
    pub next_offset: i64,
    /// Why the scan stopped before the end of the file, if it did.
    pub fault: Option<BatchFault>,
    /// The file's length when scanned.
    pub file_len: u64,
}

/// Scans `file` from the batch at `position`, whose base offset is `offset` (at least `offset`
/// with `gaps`), to the end, calling `visit` for every valid batch. Each later batch must start
/// right after the one before it, or anywhere after it with `gaps` (compaction's). I/O errors
/// abort the scan (a failing disk never causes data to be cut).
pub fn scan(
    file: &File,
    path: &Path,
    mut position: u64,
    mut offset: i64,
    gaps: bool,
    mut visit: impl FnMut(ScannedBatch),
) -> Result<Scan, StorageError> {
    let file_len = file.metadata().map_err(io_error("stat", path))?.len();
    let mut reader = BufReader::with_capacity(SCAN_CHUNK_BYTES, file);
    reader
        .seek(SeekFrom::Start(position))
        .map_err(io_error("seek", path))?;
    let mut chunk = vec![0u8; SCAN_CHUNK_BYTES];

    let fault = loop {
        let remaining = file_len.saturating_sub(position);
        if remaining == 0 {
            break None;
        }
        let mut header = [0u8; HEADER_BYTES];
        if remaining < HEADER_BYTES as u64 {
            break Some(BatchFault::PartialHeader { have: remaining });
        }
        reader
            .read_exact(&mut header)
            .map_err(io_error("read", path))?;
        let fields = BatchHeader::parse(&header);
        if let Err(fault) = fields.check() {
            break Some(fault);
        }
        let total = fields.total_bytes();
        if total > remaining {
            break Some(BatchFault::Partial {
                need: total,
                have: remaining,
            });
        }
        if fields.base_offset < offset || (!gaps && fields.base_offset != offset) {
            break Some(BatchFault::NotContiguous {
                expected: offset,
                found: fields.base_offset,
            });
        }
        if fields.leader_epoch != LEADER_EPOCH_STORED {
            break Some(BatchFault::LeaderEpoch(fields.leader_epoch));
        }
        let mut crc = crc32c::crc32c(&header[batch::CRC_START..]);
        let mut left = total - HEADER_BYTES as u64;
        while left > 0 {
            let n = usize::try_from(left).map_or(chunk.len(), |left| left.min(chunk.len()));
            reader
                .read_exact(&mut chunk[..n])
                .map_err(io_error("read", path))?;
            crc = crc32c::crc32c_append(crc, &chunk[..n]);
            left -= n as u64;
        }
        if crc != fields.crc {
            break Some(BatchFault::Crc {
                stored: fields.crc,
                computed: crc,
            });
        }
        offset = fields.base_offset;
        let Some(next) = offset.checked_add(i64::from(fields.last_offset_delta) + 1) else {
            break Some(BatchFault::OffsetOverflow);
        };
        visit(ScannedBatch {
            offset,
            position,
            max_timestamp: fields.max_timestamp,
        });
        position += total;
        offset = next;
    };
    Ok(Scan {
        end_position: position,
        next_offset: offset,
        fault,
        file_len,
    })
}
