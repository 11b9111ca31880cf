//! Which records of a produce the host refused as invalid, for Produce v8+'s
//! `record_errors` (KIP-467), so a client can tell its caller which sends failed.
//!
//! The host's only invalid record is a keyless one on a compacted topic, and it says so
//! without an index, so the index is found here: each uncompressed batch's records are
//! walked far enough to see whether the key is null. Indexes count records from the first
//! batch of the partition's data (Kafka's clients send one batch per partition, where this is
//! Kafka's index within the batch). Compressed batches are not decompressed: their records
//! are not listed, and the partition's error message alone says what was wrong. Every read
//! is bounds-checked; bytes that do not parse end the walk with what was found so far.

use crate::wire::Reader;

/// Magic-2 batch header: where the length, the attributes and the record count sit.
const BATCH_LENGTH_AT: usize = 8;
const LENGTH_FIELD_END: usize = 12;
const ATTRIBUTES_AT: usize = 21;
const RECORDS_COUNT_AT: usize = 57;
const BATCH_HEADER_BYTES: usize = 61;
/// The compression codec bits of the batch attributes.
const COMPRESSION_MASK: i16 = 0x07;
/// The longest zigzag varint (a 64-bit varlong).
const VARLONG_BYTES_MAX: usize = 10;

/// Indexes of the records without a key in the uncompressed batches of `batches`.
pub fn keyless(batches: &[u8]) -> Vec<i32> {
    let mut found = Vec::new();
    let mut index: i32 = 0;
    let mut rest = batches;
    while let Some(batch) = next_batch(&mut rest) {
        let header = |at: usize, len: usize| batch.get(at..at.saturating_add(len));
        let (Some(attributes), Some(count)) =
            (header(ATTRIBUTES_AT, 2), header(RECORDS_COUNT_AT, 4))
        else {
            break;
        };
        let attributes = Reader::new(attributes).i16().unwrap_or(0);
        let count = Reader::new(count).i32().unwrap_or(0).max(0);
        if attributes & COMPRESSION_MASK != 0 {
            index = index.saturating_add(count);
            continue;
        }
        let mut records = Reader::new(batch.get(BATCH_HEADER_BYTES..).unwrap_or_default());
        for _ in 0..count {
            match record_is_keyless(&mut records) {
                Some(true) => found.push(index),
                Some(false) => {}
                None => return found,
            }
            index = index.saturating_add(1);
        }
    }
    found
}

/// The next whole batch, advancing `rest` past it; `None` when none is left whole.
fn next_batch<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let length = rest.get(BATCH_LENGTH_AT..LENGTH_FIELD_END)?;
    let length = usize::try_from(Reader::new(length).i32().ok()?).ok()?;
    let total = length.checked_add(LENGTH_FIELD_END)?;
    let (batch, tail) = rest.split_at_checked(total)?;
    *rest = tail;
    Some(batch)
}

/// Reads one record, saying whether its key is null; `None` when it does not parse.
fn record_is_keyless(r: &mut Reader<'_>) -> Option<bool> {
    let length = usize::try_from(varint(r)?).ok()?;
    let body = r.take(length).ok()?;
    let mut body = Reader::new(body);
    body.take(1).ok()?; // attributes
    varint(&mut body)?; // timestamp delta
    varint(&mut body)?; // offset delta
    Some(varint(&mut body)? == -1)
}

/// A zigzag varint or varlong.
fn varint(r: &mut Reader<'_>) -> Option<i64> {
    let mut raw: u64 = 0;
    for i in 0..VARLONG_BYTES_MAX {
        let [b] = r.take(1).ok()?.first_chunk::<1>().copied()?;
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints_decode() {
        assert_eq!(varint(&mut Reader::new(&[0x01])), Some(-1));
        assert_eq!(varint(&mut Reader::new(&[0x02])), Some(1));
        assert_eq!(varint(&mut Reader::new(&[0xff; 11])), None);
    }

    #[test]
    fn garbage_finds_nothing() {
        assert!(keyless(&[]).is_empty());
        assert!(keyless(&[0xff; 100]).is_empty());
    }
}
