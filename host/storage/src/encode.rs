//! Records as values, for callers that build messages themselves instead of passing a
//! producer's batches through (the address model in `sluice-queues`): [`encode_batch`] writes
//! one Kafka v2 record batch (magic 2, uncompressed, no producer id) that `append` accepts, and
//! [`decode_batches`] turns what `read` returns back into records, whoever wrote them
//! (compressed batches included, through `records`).
//!
//! A pure codec: no I/O. The CRC is computed here on write and checked by `append` on the way
//! in and by `read` on the way out, so an encoding fault can never reach the log unnoticed.

use crate::StorageError;
use crate::batch::{self, BatchHeader, HEADER_BYTES, LEADER_EPOCH_STORED, MAGIC_V2};
use crate::records::{self, put_zigzag};

/// Attributes bit 3: the batch's timestamps are the broker's append time (the topic's
/// `message.timestamp.type`), so every record's timestamp is the batch's max timestamp.
const LOG_APPEND_TIME_FLAG: i16 = 0x08;
/// Where the first record's timestamp lies in the header.
const FIRST_TIMESTAMP: std::ops::Range<usize> = 27..35;
/// A batch from no idempotent producer: id and epoch -1, base sequence -1 (Kafka's
/// `RecordBatch.NO_PRODUCER_ID` and friends), so storage runs no idempotence check on it.
const NO_PRODUCER_ID: i64 = -1;
const NO_PRODUCER_EPOCH: i16 = -1;
const NO_SEQUENCE: i32 = -1;

/// One record to encode, borrowing its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord<'a> {
    /// `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// `None` for a null value (a tombstone).
    pub value: Option<&'a [u8]>,
    /// Header keys and values (`None` for a null value), in order.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
    /// Create time, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

/// One record read back, owning its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its offset in the partition.
    pub offset: i64,
    /// Create time, or the append time on a topic that stamps it.
    pub timestamp_ms: i64,
    /// `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// `None` for a null value.
    pub value: Option<Vec<u8>>,
    /// Header keys and values (`None` for a null value), in order.
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// One stored batch, decoded.
#[derive(Debug)]
pub struct DecodedBatch {
    /// The offsets the batch spans, whatever it holds: a reader resumes at `last_offset + 1`
    /// even when the batch held no user record (a control batch, or records compacted away).
    pub base_offset: i64,
    /// The batch's last offset.
    pub last_offset: i64,
    /// Its records in offset order; empty for a control batch (transaction markers are not
    /// messages). An error when the records cannot be read: the CRC matched, so the producer
    /// wrote them that way, and a reader can only step over the batch.
    pub records: Result<Vec<StoredRecord>, StorageError>,
}

/// Encodes `records` (at least one) as one batch with offsets 0, 1, ... as a producer sends
/// it; `append` assigns the real ones. `InvalidRecord` when there is none or a field is longer
/// than the format can say (`i32::MAX` bytes).
pub fn encode_batch(records: &[NewRecord<'_>]) -> Result<Vec<u8>, StorageError> {
    let first = records
        .first()
        .ok_or_else(|| invalid("a batch holds at least one record"))?;
    let first_timestamp = first.timestamp_ms;
    let max_timestamp = records
        .iter()
        .map(|r| r.timestamp_ms)
        .max()
        .unwrap_or(first_timestamp);
    let mut section = Vec::new();
    for (delta, record) in records.iter().enumerate() {
        let delta = i64::try_from(delta).map_err(|_| invalid("too many records"))?;
        let mut body = vec![0u8]; // record attributes: unused by Kafka
        put_zigzag(
            &mut body,
            record.timestamp_ms.saturating_sub(first_timestamp),
        );
        put_zigzag(&mut body, delta);
        put_nullable(&mut body, record.key)?;
        put_nullable(&mut body, record.value)?;
        put_zigzag(&mut body, length(record.headers.len())?);
        for (key, value) in &record.headers {
            put_zigzag(&mut body, length(key.len())?);
            body.extend_from_slice(key);
            put_nullable(&mut body, *value)?;
        }
        put_zigzag(&mut section, length(body.len())?);
        section.extend(body);
    }
    let count = i32::try_from(records.len()).map_err(|_| invalid("too many records"))?;
    let mut out = Vec::with_capacity(HEADER_BYTES + section.len());
    out.extend(0i64.to_be_bytes()); // base offset: assigned by append
    out.extend(0i32.to_be_bytes()); // batch length, set below
    out.extend(LEADER_EPOCH_STORED.to_be_bytes());
    out.extend(MAGIC_V2.to_be_bytes());
    out.extend(0u32.to_be_bytes()); // CRC, set below
    out.extend(0i16.to_be_bytes()); // attributes: uncompressed, create time
    out.extend((count - 1).to_be_bytes()); // last offset delta
    out.extend(first_timestamp.to_be_bytes());
    out.extend(max_timestamp.to_be_bytes());
    out.extend(NO_PRODUCER_ID.to_be_bytes());
    out.extend(NO_PRODUCER_EPOCH.to_be_bytes());
    out.extend(NO_SEQUENCE.to_be_bytes());
    out.extend(count.to_be_bytes());
    out.extend(section);
    let batch_length = i32::try_from(out.len() - batch::LOG_OVERHEAD_BYTES)
        .map_err(|_| invalid("batch longer than i32::MAX bytes"))?;
    out[8..12].copy_from_slice(&batch_length.to_be_bytes());
    let crc = batch::crc_of(&out);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Decodes whole batches as `read` returns them, back to back. Bytes that do not frame a
/// whole batch end the walk (a read never returns such a tail); a batch whose records cannot
/// be read is returned with the error so the caller can step over its offsets.
pub fn decode_batches(bytes: &[u8]) -> Vec<DecodedBatch> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(header) = rest.first_chunk::<HEADER_BYTES>() {
        let header = BatchHeader::parse(header);
        let Ok(total) = usize::try_from(header.total_bytes()) else {
            break;
        };
        if header.check().is_err() || total > rest.len() {
            break;
        }
        let (batch, tail) = rest.split_at(total);
        rest = tail;
        out.push(DecodedBatch {
            base_offset: header.base_offset,
            last_offset: header
                .base_offset
                .saturating_add(i64::from(header.last_offset_delta)),
            records: decode_one(batch, &header),
        });
    }
    out
}

fn decode_one(batch: &[u8], header: &BatchHeader) -> Result<Vec<StoredRecord>, StorageError> {
    if records::is_control(batch)? {
        return Ok(Vec::new());
    }
    let append_time = records::attributes(batch)? & LOG_APPEND_TIME_FLAG != 0;
    let first_timestamp = batch
        .get(FIRST_TIMESTAMP)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| invalid("batch shorter than its header"))?;
    let (section, count) = records::records_section(batch)?;
    let mut out = Vec::new();
    for record in records::iter(&section, count) {
        let record = record?;
        let headers = records::headers(record.headers)?
            .into_iter()
            .map(|(key, value)| (key.to_vec(), value.map(<[u8]>::to_vec)))
            .collect();
        out.push(StoredRecord {
            offset: header
                .base_offset
                .saturating_add(i64::from(record.offset_delta)),
            timestamp_ms: if append_time {
                header.max_timestamp
            } else {
                first_timestamp.saturating_add(record.timestamp_delta)
            },
            key: record.key.map(<[u8]>::to_vec),
            value: record.value.map(<[u8]>::to_vec),
            headers,
        });
    }
    Ok(out)
}

fn put_nullable(out: &mut Vec<u8>, field: Option<&[u8]>) -> Result<(), StorageError> {
    match field {
        Some(bytes) => {
            put_zigzag(out, length(bytes.len())?);
            out.extend_from_slice(bytes);
        }
        None => put_zigzag(out, -1),
    }
    Ok(())
}

/// A length as the format writes it: a varint, so at most `i32::MAX`.
fn length(len: usize) -> Result<i64, StorageError> {
    i32::try_from(len)
        .map(i64::from)
        .map_err(|_| invalid("field longer than i32::MAX bytes"))
}

fn invalid(reason: &str) -> StorageError {
    StorageError::InvalidRecord(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<NewRecord<'static>> {
        vec![
            NewRecord {
                key: Some(b"k1"),
                value: Some(b"first"),
                headers: vec![(b"h", Some(b"v")), (b"empty", None)],
                timestamp_ms: 1_700_000_000_000,
            },
            NewRecord {
                key: None,
                value: None,
                headers: vec![],
                timestamp_ms: 1_699_999_999_000,
            },
            NewRecord {
                key: Some(b""),
                value: Some(&[0xff; 300]),
                headers: vec![(b"x", Some(b""))],
                timestamp_ms: 1_700_000_000_500,
            },
        ]
    }

    #[test]
    fn storage_reads_back_what_it_encodes() {
        let records = sample();
        let batch = encode_batch(&records).unwrap();
        let spans = batch::split(&batch, 1 << 20).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].offset_count, 3);
        assert_eq!(spans[0].max_timestamp, 1_700_000_000_500);
        assert!(!spans[0].producer.is_idempotent());

        let (section, count) = records::records_section(&batch).unwrap();
        let read: Vec<records::Record<'_>> = records::iter(&section, count)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read.len(), 3);
        for (i, (got, want)) in read.iter().zip(&records).enumerate() {
            assert_eq!(got.offset_delta, i as i32);
            assert_eq!(got.key, want.key);
            assert_eq!(got.value, want.value);
            assert_eq!(
                got.timestamp_delta,
                want.timestamp_ms - records[0].timestamp_ms
            );
            assert_eq!(records::headers(got.headers).unwrap(), want.headers);
        }
    }

    #[test]
    fn decoded_records_carry_offsets_from_the_stamped_base() {
        let records = sample();
        let mut stored = encode_batch(&records).unwrap();
        batch::rewrite(&mut stored, 40);
        let mut two = stored.clone();
        let mut second = encode_batch(&records[..1]).unwrap();
        batch::rewrite(&mut second, 43);
        two.extend(&second);
        two.extend(&second[..20]); // a partial tail is not a batch
        let batches = decode_batches(&two);
        assert_eq!(batches.len(), 2);
        assert_eq!((batches[0].base_offset, batches[0].last_offset), (40, 42));
        let first = batches[0].records.as_ref().unwrap();
        assert_eq!(
            first.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [40, 41, 42]
        );
        assert_eq!(first[1].timestamp_ms, 1_699_999_999_000);
        assert_eq!(first[0].headers[1], (b"empty".to_vec(), None));
        assert_eq!(first[2].value.as_deref(), Some(&[0xff; 300][..]));
        let second = batches[1].records.as_ref().unwrap();
        assert_eq!(
            (second[0].offset, second[0].key.as_deref()),
            (43, Some(&b"k1"[..]))
        );
    }

    #[test]
    fn an_empty_batch_is_refused() {
        assert!(matches!(
            encode_batch(&[]),
            Err(StorageError::InvalidRecord(_))
        ));
    }

    #[test]
    fn hostile_header_sections_are_errors() {
        let mut section = Vec::new();
        put_zigzag(&mut section, 1_000_000);
        assert!(records::headers(&section).is_err());
        put_zigzag(&mut section, -5);
        assert!(records::headers(&section).is_err());
        assert!(records::headers(&[]).is_err());
        let mut extra = Vec::new();
        put_zigzag(&mut extra, 0);
        extra.push(1);
        assert!(records::headers(&extra).is_err());
    }
}
