//! The Kafka v2 record batch header: parse, validate, rewrite. A pure codec over byte slices,
//! no I/O; `partition` and `recovery` call it on the write path and the read path so a batch
//! is checksummed both when it goes in and when it is loaded again.
//!
//! Layout of the 61-byte header (big-endian):
//!
//! | bytes  | field                | notes                                               |
//! |--------|----------------------|-----------------------------------------------------|
//! | 0..8   | baseOffset           | rewritten by the broker; outside the CRC            |
//! | 8..12  | batchLength          | bytes after this field: total = 12 + batchLength    |
//! | 12..16 | partitionLeaderEpoch | set to 0 by the broker; outside the CRC             |
//! | 16     | magic                | 2                                                   |
//! | 17..21 | crc                  | CRC-32C of bytes 21.. (attributes to the end)       |
//! | 21..23 | attributes           | compression, timestamp type, transactional, control |
//! | 23..27 | lastOffsetDelta      | the batch holds lastOffsetDelta + 1 offsets         |
//! | 27..61 | timestamps, producer id/epoch, base sequence, record count                 |

use std::ops::Range;

use crate::StorageError;

/// Size of the fixed header; the records (possibly compressed) follow it.
pub const HEADER_BYTES: usize = 61;
/// baseOffset and batchLength: the part of a batch not counted by batchLength.
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// The prefix a reader needs to locate a batch: up to and including lastOffsetDelta.
pub const LOCATE_BYTES: usize = 27;
/// The only record format stored; older message sets are refused, never converted.
pub const MAGIC_V2: i8 = 2;
/// The leader epoch storage writes into every batch, and expects back at recovery, since a
/// single broker has no leader elections.
pub const LEADER_EPOCH_STORED: i32 = 0;

const BASE_OFFSET: Range<usize> = 0..8;
const BATCH_LENGTH: Range<usize> = 8..12;
const LEADER_EPOCH: Range<usize> = 12..16;
const MAGIC: usize = 16;
const CRC: Range<usize> = 17..21;
/// First byte the CRC covers (attributes); everything before it may be rewritten freely.
pub const CRC_START: usize = 21;
const LAST_OFFSET_DELTA: Range<usize> = 23..27;
const MAX_TIMESTAMP: Range<usize> = 35..43;
const PRODUCER_ID: Range<usize> = 43..51;
const PRODUCER_EPOCH: Range<usize> = 51..53;
const BASE_SEQUENCE: Range<usize> = 53..57;
const RECORD_COUNT: Range<usize> = 57..61;

/// The header fields storage relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the batchLength field.
    pub batch_length: i32,
    /// What the producer (or storage, once stored) wrote there.
    pub leader_epoch: i32,
    /// Record format version.
    pub magic: i8,
    /// CRC-32C stored in the batch.
    pub crc: u32,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Records in the batch (may be fewer than the offsets it spans, after compaction).
    pub record_count: i32,
    /// The largest record timestamp, as the producer (or LogAppendTime) set it.
    pub max_timestamp: i64,
    /// Who wrote the batch, for idempotence checks.
    pub producer: ProducerFields,
}

/// The idempotence fields of a batch header: an idempotent producer numbers its batches so a
/// retried one can be recognised (KIP-98).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerFields {
    /// Negative when the producer is not idempotent.
    pub id: i64,
    /// Bumped when a producer restarts with the same id; older epochs are fenced.
    pub epoch: i16,
    /// Sequence number of the first record; the others follow it.
    pub base_sequence: i32,
}

impl ProducerFields {
    /// Whether the batch takes part in idempotence checks.
    pub fn is_idempotent(&self) -> bool {
        self.id >= 0
    }
}

fn be_i16(bytes: &[u8], at: Range<usize>) -> i16 {
    let mut b = [0u8; 2];
    b.copy_from_slice(&bytes[at]);
    i16::from_be_bytes(b)
}

/// Why bytes are not a valid batch. Becomes `CorruptBatch` on append and a truncation reason
/// at recovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchFault {
    /// An append with no bytes at all.
    #[error("no record batch")]
    Empty,
    /// Fewer bytes left than a header needs.
    #[error("partial batch header: {have} bytes where {HEADER_BYTES} are needed")]
    PartialHeader {
        /// Bytes left.
        have: u64,
    },
    /// batchLength too small to hold the rest of the header.
    #[error("batch length {0} is below the header's {min}", min = HEADER_BYTES - LOG_OVERHEAD_BYTES)]
    LengthTooSmall(i32),
    /// The batch runs past the end of the input or file.
    #[error("partial batch: {need} bytes announced, {have} present")]
    Partial {
        /// Total size from the header.
        need: u64,
        /// Bytes left.
        have: u64,
    },
    /// Not a v2 batch.
    #[error("magic {0}, only 2 is supported")]
    Magic(i8),
    /// The records or header were altered after the producer computed the checksum.
    #[error("CRC-32C mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Crc {
        /// From the header.
        stored: u32,
        /// Over bytes 21.. as found.
        computed: u32,
    },
    /// A batch must span at least one offset.
    #[error("negative last offset delta {0}")]
    LastOffsetDelta(i32),
    /// Cannot be produced by any Kafka client.
    #[error("negative record count {0}")]
    RecordCount(i32),
    /// At recovery: the leader epoch is not the one storage writes, so the bytes were damaged.
    #[error("leader epoch {0} where storage writes {LEADER_EPOCH_STORED}")]
    LeaderEpoch(i32),
    /// At recovery: offsets going backwards (an overlap), or a gap where compaction cannot have
    /// left one (the active segment).
    #[error("base offset {found} where {expected} was expected")]
    NotContiguous {
        /// The previous batch's last offset + 1 (or the segment's base offset).
        expected: i64,
        /// From the header.
        found: i64,
    },
    /// Offsets past `i64::MAX`; only reachable through corruption or an absurd workload.
    #[error("offsets would overflow i64")]
    OffsetOverflow,
}

fn be_i32(bytes: &[u8], at: Range<usize>) -> i32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at]);
    i32::from_be_bytes(b)
}

fn be_i64(bytes: &[u8], at: Range<usize>) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at]);
    i64::from_be_bytes(b)
}

/// Total size of a batch given its batchLength field; a negative length counts as zero.
pub fn total_bytes(batch_length: i32) -> u64 {
    LOG_OVERHEAD_BYTES as u64 + u64::try_from(batch_length.max(0)).unwrap_or(0)
}

/// Reads baseOffset, batchLength and lastOffsetDelta from the first `LOCATE_BYTES` of a batch:
/// enough to step from batch to batch and find the one holding an offset.
pub fn locate(prefix: &[u8; LOCATE_BYTES]) -> (i64, i32, i32) {
    (
        be_i64(prefix, BASE_OFFSET),
        be_i32(prefix, BATCH_LENGTH),
        be_i32(prefix, LAST_OFFSET_DELTA),
    )
}

impl BatchHeader {
    /// Reads the header fields; checks nothing.
    pub fn parse(header: &[u8; HEADER_BYTES]) -> BatchHeader {
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&header[CRC]);
        BatchHeader {
            base_offset: be_i64(header, BASE_OFFSET),
            batch_length: be_i32(header, BATCH_LENGTH),
            leader_epoch: be_i32(header, LEADER_EPOCH),
            magic: i8::from_be_bytes([header[MAGIC]]),
            crc: u32::from_be_bytes(crc),
            last_offset_delta: be_i32(header, LAST_OFFSET_DELTA),
            record_count: be_i32(header, RECORD_COUNT),
            max_timestamp: be_i64(header, MAX_TIMESTAMP),
            producer: ProducerFields {
                id: be_i64(header, PRODUCER_ID),
                epoch: be_i16(header, PRODUCER_EPOCH),
                base_sequence: be_i32(header, BASE_SEQUENCE),
            },
        }
    }

    /// Checks every field that does not need the records: length, magic, counts.
    pub fn check(&self) -> Result<(), BatchFault> {
        if total_bytes(self.batch_length) < HEADER_BYTES as u64 {
            return Err(BatchFault::LengthTooSmall(self.batch_length));
        }
        if self.magic != MAGIC_V2 {
            return Err(BatchFault::Magic(self.magic));
        }
        if self.last_offset_delta < 0 {
            return Err(BatchFault::LastOffsetDelta(self.last_offset_delta));
        }
        if self.record_count < 0 {
            return Err(BatchFault::RecordCount(self.record_count));
        }
        Ok(())
    }

    /// Size of the whole batch.
    pub fn total_bytes(&self) -> u64 {
        total_bytes(self.batch_length)
    }
}

/// Checksum of a whole batch as Kafka defines it (bytes 21..).
pub fn crc_of(batch: &[u8]) -> u32 {
    crc32c::crc32c(batch.get(CRC_START..).unwrap_or_default())
}

/// One validated batch inside an append's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Where it lies in the input.
    pub range: Range<usize>,
    /// How many offsets it takes: lastOffsetDelta + 1.
    pub offset_count: i64,
    /// Its maxTimestamp, for the time index.
    pub max_timestamp: i64,
    /// Its idempotence fields, checked against the partition's producer state.
    pub producer: ProducerFields,
}

/// Validates an append's input, which must be one or more whole batches back to back, and
/// returns where each lies. Any fault refuses the whole input.
pub fn split(input: &[u8], batch_bytes_max: u32) -> Result<Vec<Span>, StorageError> {
    if input.is_empty() {
        return Err(corrupt(0, 0, BatchFault::Empty));
    }
    let mut spans = Vec::new();
    let mut at = 0usize;
    while at < input.len() {
        let rest = &input[at..];
        let Some(header) = rest.first_chunk::<HEADER_BYTES>() else {
            let fault = BatchFault::PartialHeader {
                have: rest.len() as u64,
            };
            return Err(corrupt(spans.len(), at, fault));
        };
        let header_fields = BatchHeader::parse(header);
        let total = header_fields.total_bytes();
        // Size first, as Kafka does, so an oversized batch is reported as such even when the
        // caller sent only part of it.
        if total > u64::from(batch_bytes_max) {
            return Err(StorageError::RecordTooLarge {
                bytes: total,
                max: batch_bytes_max,
            });
        }
        header_fields
            .check()
            .map_err(|fault| corrupt(spans.len(), at, fault))?;
        if total > rest.len() as u64 {
            let fault = BatchFault::Partial {
                need: total,
                have: rest.len() as u64,
            };
            return Err(corrupt(spans.len(), at, fault));
        }
        // `total` fits in the input, hence in usize.
        let end = at + total as usize;
        let computed = crc_of(&input[at..end]);
        if computed != header_fields.crc {
            let fault = BatchFault::Crc {
                stored: header_fields.crc,
                computed,
            };
            return Err(corrupt(spans.len(), at, fault));
        }
        spans.push(Span {
            range: at..end,
            offset_count: i64::from(header_fields.last_offset_delta) + 1,
            max_timestamp: header_fields.max_timestamp,
            producer: header_fields.producer,
        });
        at = end;
    }
    Ok(spans)
}

fn corrupt(index: usize, at: usize, fault: BatchFault) -> StorageError {
    StorageError::CorruptBatch(format!("batch {index} at byte {at}: {fault}"))
}

/// Stamps the fields storage owns, both outside the CRC: the assigned base offset, and the
/// leader epoch every stored batch carries.
pub fn rewrite(batch: &mut [u8], base_offset: i64) {
    batch[BASE_OFFSET].copy_from_slice(&base_offset.to_be_bytes());
    batch[LEADER_EPOCH].copy_from_slice(&LEADER_EPOCH_STORED.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `bare` batches carry: zeroes.
    const NO_PRODUCER: ProducerFields = ProducerFields {
        id: 0,
        epoch: 0,
        base_sequence: 0,
    };

    /// Smallest valid batch: a header spanning `deltas + 1` offsets and no record bytes.
    fn bare(deltas: i32) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_BYTES];
        b[BATCH_LENGTH]
            .copy_from_slice(&((HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32).to_be_bytes());
        b[MAGIC] = 2;
        b[LAST_OFFSET_DELTA].copy_from_slice(&deltas.to_be_bytes());
        let crc = crc_of(&b);
        b[CRC].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn back_to_back_batches_split_into_spans() {
        let mut input = bare(0);
        input.extend(bare(4));
        let spans = split(&input, 1000).unwrap();
        assert_eq!(
            spans,
            vec![
                Span {
                    range: 0..61,
                    offset_count: 1,
                    max_timestamp: 0,
                    producer: NO_PRODUCER,
                },
                Span {
                    range: 61..122,
                    offset_count: 5,
                    max_timestamp: 0,
                    producer: NO_PRODUCER,
                }
            ]
        );
    }

    #[test]
    fn rewriting_base_offset_and_epoch_keeps_the_crc_valid() {
        let mut b = bare(2);
        b[LEADER_EPOCH].copy_from_slice(&7i32.to_be_bytes());
        rewrite(&mut b, 1234);
        let header = BatchHeader::parse(b.first_chunk().unwrap());
        assert_eq!(header.base_offset, 1234);
        assert_eq!(header.leader_epoch, 0);
        assert_eq!(crc_of(&b), header.crc);
        assert!(split(&b, 1000).is_ok());
    }

    #[test]
    fn faults_are_named_in_the_error() {
        let mut b = bare(0);
        b[MAGIC] = 1;
        let err = split(&b, 1000).unwrap_err().to_string();
        assert!(err.contains("magic 1"), "{err}");

        let mut b = bare(0);
        b[BATCH_LENGTH].copy_from_slice(&10i32.to_be_bytes());
        let err = split(&b, 1000).unwrap_err().to_string();
        assert!(err.contains("below the header"), "{err}");

        let mut b = bare(0);
        b[LAST_OFFSET_DELTA].copy_from_slice(&(-1i32).to_be_bytes());
        let crc = crc_of(&b);
        b[CRC].copy_from_slice(&crc.to_be_bytes());
        let err = split(&b, 1000).unwrap_err().to_string();
        assert!(err.contains("negative last offset delta"), "{err}");
    }

    #[test]
    fn oversized_batch_is_too_large_even_when_cut_short() {
        let mut b = bare(0);
        b[BATCH_LENGTH].copy_from_slice(&5000i32.to_be_bytes());
        assert!(matches!(
            split(&b, 1000),
            Err(StorageError::RecordTooLarge {
                bytes: 5012,
                max: 1000
            })
        ));
    }
}
