//! Recovery at open: scan one log file from the start, validating every batch the way append
//! did (length, magic, CRC-32C) plus what only the log can show (contiguous offsets, the
//! leader epoch storage writes), and cut the file at the first batch that fails: the torn tail
//! of a crash. Builds the sparse index on the way.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::StorageError;
use crate::batch::{self, BatchFault, BatchHeader, HEADER_BYTES, LEADER_EPOCH_STORED};
use crate::error::io_error;
use crate::index::SparseIndex;

/// Read size while scanning: large enough for sequential throughput, small enough that a
/// scan's memory does not depend on batch sizes (the CRC is computed in chunks).
const SCAN_CHUNK_BYTES: usize = 64 * 1024;

/// What a scan found.
#[derive(Debug)]
pub struct Recovered {
    /// Bytes of valid batches; the file's length after any truncation.
    pub end_position: u64,
    /// The offset after the last valid batch.
    pub log_end: i64,
    /// Entries for the valid batches.
    pub index: SparseIndex,
}

/// Scans `file` (opened read-write at `path`, first offset `base_offset`) and truncates it
/// after its last valid batch. I/O errors abort the scan without touching the file, so a
/// failing disk never causes data to be cut.
pub fn recover(file: &File, path: &Path, base_offset: i64) -> Result<Recovered, StorageError> {
    let file_len = file.metadata().map_err(io_error("stat", path))?.len();
    let mut reader = BufReader::with_capacity(SCAN_CHUNK_BYTES, file);
    let mut chunk = vec![0u8; SCAN_CHUNK_BYTES];
    let mut index = SparseIndex::default();
    let mut position = 0u64;
    let mut log_end = base_offset;

    let fault = loop {
        let remaining = file_len - position;
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
        if fields.base_offset != log_end {
            break Some(BatchFault::NotContiguous {
                expected: log_end,
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
        let Some(next) = log_end.checked_add(i64::from(fields.last_offset_delta) + 1) else {
            break Some(BatchFault::OffsetOverflow);
        };
        index.note(log_end, position);
        position += total;
        log_end = next;
    };

    if let Some(reason) = fault {
        tracing::warn!(
            file = %path.display(),
            position,
            bytes_dropped = file_len - position,
            %reason,
            "truncating log after its last valid batch"
        );
        file.set_len(position).map_err(io_error("truncate", path))?;
        file.sync_all().map_err(io_error("fsync", path))?;
    }
    Ok(Recovered {
        end_position: position,
        log_end,
        index,
    })
}
