//! The cursor journal: every change since the last snapshot, appended as a fixed-size record
//! with positional writes to the page cache. Appends collect in memory (at most
//! [`PENDING_BYTES_MAX`]) until `flush`, so a burst of acknowledgements costs one write, not
//! one per record. `sync` is its only fsync; a crash before it may keep any prefix of the
//! unsynced records, and replay stops at the first invalid one.
//!
//! ```text
//! header  magic "SLCJ" | format version u32 | generation u64 | CRC-32C u32 of the 16 before
//! record  kind u8 (1 ack, 2 ack-below, 3 deliver) | offset i64 | CRC-32C u32
//! ```
//! Integers are big-endian. A record's CRC covers the journal's generation, then its kind and
//! offset, so a record can only be valid in the journal it was written to.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::state::Change;
use super::{FORMAT_VERSION, corrupt, replace_durably};
use crate::StorageError;
use crate::error::io_error;

const MAGIC: [u8; 4] = *b"SLCJ";
/// Magic, version, generation, CRC.
pub const HEADER_BYTES: u64 = 4 + 4 + 8 + 4;
/// Kind, offset, CRC. Fixed, so a failed write is always overwritten whole by the next one.
pub const RECORD_BYTES: usize = 1 + 8 + 4;

/// Records appended and not yet written are written once they reach this many bytes
/// (about 5000 records), whether or not the owner flushed.
pub const PENDING_BYTES_MAX: usize = 64 * 1024;

const KIND_ACK: u8 = 1;
const KIND_ACK_BELOW: u8 = 2;
const KIND_DELIVER: u8 = 3;

/// An open journal, appended to at its end.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Matches the snapshot this journal follows.
    generation: u64,
    /// Bytes of header and valid records written; the pending records go here.
    written: u64,
    /// Records appended since the last write, in order.
    pending: Vec<u8>,
}

/// What [`Journal::open`] found.
#[derive(Debug)]
pub enum Opened {
    /// The journal that follows the snapshot, replayed and ready for appends.
    Current(Journal),
    /// No journal file.
    Missing,
    /// A journal older than the snapshot: a crash came between writing the snapshot and
    /// replacing the journal, so every record in it is in the snapshot already.
    Stale {
        /// Its generation.
        generation: u64,
    },
    /// A journal newer than the snapshot, which no crash leaves behind: damage.
    Ahead {
        /// Its generation.
        generation: u64,
    },
}

impl Journal {
    /// Replaces the journal at `path` with an empty one of `generation`, durably.
    pub fn create(path: &Path, generation: u64) -> Result<Journal, StorageError> {
        let file = replace_durably(path, &header(generation))?;
        Ok(Journal {
            file,
            path: path.to_owned(),
            generation,
            written: HEADER_BYTES,
            pending: Vec::new(),
        })
    }

    /// Opens the journal at `path` for a snapshot of `generation` and feeds its changes to
    /// `replay` in order, then cuts the file after its last valid record (a torn tail).
    pub fn open(
        path: &Path,
        generation: u64,
        mut replay: impl FnMut(Change),
    ) -> Result<Opened, StorageError> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Opened::Missing),
            Err(e) => return Err(io_error("open", path)(e)),
        };
        let file_len = file.metadata().map_err(io_error("stat", path))?.len();
        let mut reader = BufReader::new(&file);
        let mut head = [0u8; HEADER_BYTES as usize];
        // Journals appear whole through a rename, so a bad header is damage, not a crash.
        if file_len < HEADER_BYTES {
            return Err(corrupt(path, "shorter than a journal header"));
        }
        reader
            .read_exact(&mut head)
            .map_err(io_error("read", path))?;
        let found = parse_header(&head).map_err(|reason| corrupt(path, reason))?;
        if found < generation {
            return Ok(Opened::Stale { generation: found });
        }
        if found > generation {
            return Ok(Opened::Ahead { generation: found });
        }

        let mut len = HEADER_BYTES;
        let mut fault = None;
        let mut record = [0u8; RECORD_BYTES];
        while file_len - len >= RECORD_BYTES as u64 {
            reader
                .read_exact(&mut record)
                .map_err(io_error("read", path))?;
            match decode(generation, &record) {
                Ok(change) => replay(change),
                Err(reason) => {
                    fault = Some(reason);
                    break;
                }
            }
            len += RECORD_BYTES as u64;
        }
        if len < file_len {
            let reason = fault.unwrap_or("partial record");
            tracing::warn!(
                file = %path.display(),
                position = len,
                bytes_dropped = file_len - len,
                reason,
                "truncating cursor journal after its last valid record"
            );
            file.set_len(len).map_err(io_error("truncate", path))?;
            file.sync_all().map_err(io_error("fsync", path))?;
        }
        Ok(Opened::Current(Journal {
            file,
            path: path.to_owned(),
            generation,
            written: len,
            pending: Vec::new(),
        }))
    }

    /// Bytes in the journal, header and pending records included.
    pub fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    /// Appends `change`: kept in memory until the next [`Journal::flush`], or written at once
    /// when [`PENDING_BYTES_MAX`] is reached.
    pub fn append(&mut self, change: Change) -> Result<(), StorageError> {
        // Written before this record joins them: a failed write fails this change alone.
        if self.pending.len() >= PENDING_BYTES_MAX {
            self.flush()?;
        }
        self.pending
            .extend_from_slice(&encode(self.generation, change));
        Ok(())
    }

    /// Writes the pending records to the page cache, in one positional write.
    pub fn flush(&mut self) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // Kept on failure and written again at the same place by the next flush, over any
        // torn part.
        self.file
            .write_all_at(&self.pending, self.written)
            .map_err(io_error("write", &self.path))?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        if self.pending.capacity() > PENDING_BYTES_MAX {
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.flush()?;
        self.file.sync_data().map_err(io_error("fsync", &self.path))
    }
}

fn header(generation: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES as usize);
    bytes.extend(MAGIC);
    bytes.extend(FORMAT_VERSION.to_be_bytes());
    bytes.extend(generation.to_be_bytes());
    bytes.extend(crc32c::crc32c(&bytes).to_be_bytes());
    bytes
}

/// The generation of a valid header, or why it is not one.
fn parse_header(head: &[u8; HEADER_BYTES as usize]) -> Result<u64, String> {
    let (body, crc) = head.split_at(HEADER_BYTES as usize - 4);
    if head[..4] != MAGIC {
        return Err("not a cursor journal (bad magic)".to_owned());
    }
    if crc32c::crc32c(body).to_be_bytes() != crc {
        return Err("header CRC mismatch".to_owned());
    }
    let version = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, this build reads {FORMAT_VERSION}"
        ));
    }
    let mut generation = [0u8; 8];
    generation.copy_from_slice(&head[8..16]);
    Ok(u64::from_be_bytes(generation))
}

fn encode(generation: u64, change: Change) -> [u8; RECORD_BYTES] {
    let (kind, offset) = match change {
        Change::Ack(offset) => (KIND_ACK, offset),
        Change::AckBelow(offset) => (KIND_ACK_BELOW, offset),
        Change::Deliver(offset) => (KIND_DELIVER, offset),
    };
    let mut record = [0u8; RECORD_BYTES];
    record[0] = kind;
    record[1..9].copy_from_slice(&offset.to_be_bytes());
    let crc = record_crc(generation, &record[..9]);
    record[9..].copy_from_slice(&crc.to_be_bytes());
    record
}

/// The change in a valid record, or why it is not one. Checks what the live path checked
/// before writing it (offset bounds), pairing the assertion across write and read.
fn decode(generation: u64, record: &[u8; RECORD_BYTES]) -> Result<Change, &'static str> {
    if record_crc(generation, &record[..9]).to_be_bytes() != record[9..] {
        return Err("record CRC mismatch");
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&record[1..9]);
    let offset = i64::from_be_bytes(offset);
    let change = match record[0] {
        KIND_ACK => Change::Ack(offset),
        KIND_ACK_BELOW => Change::AckBelow(offset),
        KIND_DELIVER => Change::Deliver(offset),
        _ => return Err("unknown record kind"),
    };
    if !super::offset_valid(change) {
        return Err("offset out of range");
    }
    Ok(change)
}

fn record_crc(generation: u64, kind_and_offset: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&generation.to_be_bytes()), kind_and_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_to_what_was_encoded() {
        for change in [
            Change::Ack(0),
            Change::AckBelow(i64::MAX),
            Change::Deliver(42),
        ] {
            assert_eq!(decode(7, &encode(7, change)), Ok(change));
        }
    }

    #[test]
    fn a_record_is_invalid_in_another_generation_zeroed_or_bit_flipped() {
        let record = encode(7, Change::Ack(5));
        assert!(decode(8, &record).is_err());
        assert!(decode(7, &[0; RECORD_BYTES]).is_err());
        for bit in 0..RECORD_BYTES * 8 {
            let mut flipped = record;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(7, &flipped).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn out_of_range_offsets_are_invalid_records() {
        assert!(decode(1, &encode(1, Change::Ack(-1))).is_err());
        assert!(decode(1, &encode(1, Change::Deliver(i64::MAX))).is_err());
    }

    #[test]
    fn headers_carry_their_generation() {
        let head: [u8; HEADER_BYTES as usize] = header(9).try_into().unwrap();
        assert_eq!(parse_header(&head), Ok(9));
        let mut bad = head;
        bad[10] ^= 1;
        assert!(parse_header(&bad).is_err());
    }
}
