//! The records inside a Kafka v2 batch: decompression and a strict, bounds-checked iterator.
//! Only compacted topics come here (the keyless check on append, and compaction itself); every
//! other path treats a batch as opaque bytes behind its header.
//!
//! A record (all integers zigzag varints):
//!
//! ```text
//! length  attributes:i8  timestampDelta:varlong  offsetDelta:varint
//! keyLength key  valueLength value  headerCount [headerKeyLength headerKey headerValueLength headerValue]
//! ```
//!
//! A length of -1 is null (keys, values, header values). Every length is checked against what
//! is left before anything is sliced, so hostile bytes give `InvalidRecord`, never a panic.

use std::borrow::Cow;
use std::io::Read;

use crate::StorageError;
use crate::batch::HEADER_BYTES;

/// The most bytes one batch may decompress to. Kafka bounds nothing here, but a broker that
/// decompresses what producers send must not let a small compressed batch ask for gigabytes
/// (a decompression bomb); 64 MiB is 64 times Kafka's default `max.message.bytes`, far above
/// what real compression ratios reach for a batch producers are allowed to send.
pub const DECOMPRESSED_BYTES_MAX: usize = 64 << 20;

/// Attributes bits 0-2: the compression codec of the records section.
pub const COMPRESSION_MASK: i16 = 0x07;
/// Attributes bit 5: a control batch (transaction markers), whose records are not user data.
pub const CONTROL_FLAG: i16 = 0x20;

/// Where the batch fields the iterator needs lie (see `batch.rs` for the whole header).
const ATTRIBUTES_AT: usize = 21;
const RECORD_COUNT_AT: usize = 57;

/// The magic of xerial's snappy framing (Java clients): 8 bytes, then two 4-byte versions.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic plus the version and compatible-version fields.
const XERIAL_HEADER_BYTES: usize = 16;
/// Longest varint (i32) and varlong (i64) encodings.
const VARINT_BYTES_MAX: usize = 5;
const VARLONG_BYTES_MAX: usize = 10;

/// One record, borrowing from the (decompressed) records section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Record attributes (unused by Kafka today, kept as found).
    pub attributes: i8,
    /// Added to the batch's first timestamp.
    pub timestamp_delta: i64,
    /// Added to the batch's base offset.
    pub offset_delta: i32,
    /// `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// `None` for a null value: a tombstone.
    pub value: Option<&'a [u8]>,
    /// The header section as found, count included, to copy on re-encoding.
    pub headers: &'a [u8],
}

/// A batch's attributes field; the batch must hold a whole header.
pub fn attributes(batch: &[u8]) -> Result<i16, StorageError> {
    batch
        .get(ATTRIBUTES_AT..ATTRIBUTES_AT + 2)
        .and_then(|b| b.try_into().ok())
        .map(i16::from_be_bytes)
        .ok_or_else(|| invalid("batch shorter than its header"))
}

/// Whether the batch is a control batch (transaction markers).
pub fn is_control(batch: &[u8]) -> Result<bool, StorageError> {
    Ok(attributes(batch)? & CONTROL_FLAG != 0)
}

/// The records of one whole batch, decompressed when needed (bounded by
/// [`DECOMPRESSED_BYTES_MAX`]). The iterator yields an error, then stops, at the first fault.
pub fn records_section(batch: &[u8]) -> Result<(Cow<'_, [u8]>, i32), StorageError> {
    let codec = attributes(batch)? & COMPRESSION_MASK;
    let count = batch
        .get(RECORD_COUNT_AT..RECORD_COUNT_AT + 4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_be_bytes)
        .ok_or_else(|| invalid("batch shorter than its header"))?;
    let body = batch
        .get(HEADER_BYTES..)
        .ok_or_else(|| invalid("batch shorter than its header"))?;
    let section = match codec {
        0 => Cow::Borrowed(body),
        1 => Cow::Owned(read_bounded(
            flate2::read::MultiGzDecoder::new(body),
            "gzip",
        )?),
        2 => Cow::Owned(snappy(body)?),
        3 => Cow::Owned(read_bounded(
            lz4_flex::frame::FrameDecoder::new(body),
            "lz4",
        )?),
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(body)
                .map_err(|e| invalid(&format!("zstd: {e}")))?;
            Cow::Owned(read_bounded(decoder, "zstd")?)
        }
        other => return Err(invalid(&format!("unknown compression codec {other}"))),
    };
    Ok((section, count))
}

/// Iterates `count` records of a records section; the section must hold exactly those.
pub fn iter(section: &[u8], count: i32) -> Records<'_> {
    Records {
        buf: section,
        at: 0,
        left: count,
        done: false,
    }
}

/// Iterator over a records section; see [`iter`].
#[derive(Debug)]
pub struct Records<'a> {
    buf: &'a [u8],
    at: usize,
    left: i32,
    done: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.left <= 0 {
            self.done = true;
            return (self.at != self.buf.len() || self.left < 0)
                .then(|| Err(invalid("bytes left over after the batch's records")));
        }
        self.left -= 1;
        let record = self.parse_one();
        if record.is_err() {
            self.done = true;
        }
        Some(record)
    }
}

impl<'a> Records<'a> {
    fn parse_one(&mut self) -> Result<Record<'a>, StorageError> {
        let length = varint(self.buf, &mut self.at)?;
        let body = take(self.buf, &mut self.at, length, "record")?;
        let mut at = 0usize;
        let attributes = body
            .first()
            .map(|&b| i8::from_be_bytes([b]))
            .ok_or_else(|| invalid("empty record"))?;
        at += 1;
        let timestamp_delta = varlong(body, &mut at)?;
        let offset_delta = varint(body, &mut at)?;
        let key = nullable(body, &mut at, "key")?;
        let value = nullable(body, &mut at, "value")?;
        let headers_start = at;
        let header_count = varint(body, &mut at)?;
        if header_count < 0 {
            return Err(invalid("negative header count"));
        }
        for _ in 0..header_count {
            let key_length = varint(body, &mut at)?;
            take(body, &mut at, key_length, "header key")?;
            nullable(body, &mut at, "header value")?;
        }
        if at != body.len() {
            return Err(invalid("record longer than its fields"));
        }
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers: body.get(headers_start..).unwrap_or_default(),
        })
    }
}

/// A record header: its key, and its value (`None` for null).
pub type Header<'a> = (&'a [u8], Option<&'a [u8]>);

/// The headers of one record, from its header section ([`Record::headers`], count included):
/// each key and value (`None` for a null value), in order. Hostile counts and lengths give
/// `InvalidRecord`, never a panic or an allocation sized by the input.
pub fn headers(section: &[u8]) -> Result<Vec<Header<'_>>, StorageError> {
    let mut at = 0usize;
    let count = varint(section, &mut at)?;
    if count < 0 {
        return Err(invalid("negative header count"));
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let key_length = varint(section, &mut at)?;
        let key = take(section, &mut at, key_length, "header key")?;
        let value = nullable(section, &mut at, "header value")?;
        out.push((key, value));
    }
    if at != section.len() {
        return Err(invalid("header section longer than its headers"));
    }
    Ok(out)
}

fn invalid(reason: &str) -> StorageError {
    StorageError::InvalidRecord(reason.to_owned())
}

/// A length-prefixed field that may be null (-1).
fn nullable<'a>(
    buf: &'a [u8],
    at: &mut usize,
    what: &str,
) -> Result<Option<&'a [u8]>, StorageError> {
    let length = varint(buf, at)?;
    if length == -1 {
        return Ok(None);
    }
    take(buf, at, length, what).map(Some)
}

/// The next `length` bytes; a negative length or one past the end is refused.
fn take<'a>(
    buf: &'a [u8],
    at: &mut usize,
    length: i32,
    what: &str,
) -> Result<&'a [u8], StorageError> {
    let length =
        usize::try_from(length).map_err(|_| invalid(&format!("negative {what} length")))?;
    let end = at
        .checked_add(length)
        .filter(|&end| end <= buf.len())
        .ok_or_else(|| invalid(&format!("{what} runs past the end of its record")))?;
    let bytes = buf
        .get(*at..end)
        .ok_or_else(|| invalid("truncated record"))?;
    *at = end;
    Ok(bytes)
}

/// A zigzag varlong of at most 10 bytes.
fn varlong(buf: &[u8], at: &mut usize) -> Result<i64, StorageError> {
    read_zigzag(buf, at, VARLONG_BYTES_MAX)
}

/// A zigzag varint of at most 5 bytes, within i32.
fn varint(buf: &[u8], at: &mut usize) -> Result<i32, StorageError> {
    let value = read_zigzag(buf, at, VARINT_BYTES_MAX)?;
    i32::try_from(value).map_err(|_| invalid("varint out of range"))
}

/// Appends `value` as a zigzag varlong: the writing side of [`varlong`], for compaction's
/// rewritten batches (and the tests' hand-built ones).
pub(crate) fn put_zigzag(out: &mut Vec<u8>, value: i64) {
    let mut z = ((value << 1) ^ (value >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn read_zigzag(buf: &[u8], at: &mut usize, max_bytes: usize) -> Result<i64, StorageError> {
    let mut raw: u64 = 0;
    for i in 0..max_bytes {
        let byte = *buf.get(*at).ok_or_else(|| invalid("truncated varint"))?;
        *at += 1;
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err(invalid("varint too long"))
}

/// Reads all of `reader`, refusing more than [`DECOMPRESSED_BYTES_MAX`] bytes.
fn read_bounded(reader: impl Read, codec: &str) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::new();
    let limit = DECOMPRESSED_BYTES_MAX as u64 + 1;
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| invalid(&format!("{codec}: {e}")))?;
    if out.len() > DECOMPRESSED_BYTES_MAX {
        return Err(too_big());
    }
    Ok(out)
}

fn too_big() -> StorageError {
    invalid(&format!(
        "records decompress to more than {DECOMPRESSED_BYTES_MAX} bytes"
    ))
}

/// Snappy as Kafka clients send it: xerial-framed (Java) or a raw block (librdkafka and
/// others).
fn snappy(body: &[u8]) -> Result<Vec<u8>, StorageError> {
    if !body.starts_with(&XERIAL_MAGIC) {
        return snappy_block(body, 0);
    }
    let mut out = Vec::new();
    let mut at = XERIAL_HEADER_BYTES;
    while at < body.len() {
        let length = body
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| invalid("snappy: truncated xerial block length"))?;
        at += 4;
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&end| end <= body.len())
            .ok_or_else(|| invalid("snappy: xerial block runs past the end"))?;
        let block = snappy_block(body.get(at..end).unwrap_or_default(), out.len())?;
        out.extend_from_slice(&block);
        at = end;
    }
    Ok(out)
}

/// One raw snappy block, refused before decoding if it would take the output past the limit.
fn snappy_block(block: &[u8], already: usize) -> Result<Vec<u8>, StorageError> {
    let length = snap::raw::decompress_len(block).map_err(|e| invalid(&format!("snappy: {e}")))?;
    if already.saturating_add(length) > DECOMPRESSED_BYTES_MAX {
        return Err(too_big());
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|e| invalid(&format!("snappy: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
        let mut body = vec![0u8];
        put_zigzag(&mut body, 3);
        put_zigzag(&mut body, 1);
        for field in [key, value] {
            match field {
                Some(b) => {
                    put_zigzag(&mut body, b.len() as i64);
                    body.extend_from_slice(b);
                }
                None => put_zigzag(&mut body, -1),
            }
        }
        put_zigzag(&mut body, 1);
        put_zigzag(&mut body, 1);
        body.push(b'h');
        put_zigzag(&mut body, -1);
        let mut out = Vec::new();
        put_zigzag(&mut out, body.len() as i64);
        out.extend(body);
        out
    }

    #[test]
    fn records_are_read_with_keys_values_and_headers() {
        let mut section = record(Some(b"k"), Some(b"v"));
        section.extend(record(None, None));
        let got: Vec<Record<'_>> = iter(&section, 2).collect::<Result<_, _>>().unwrap();
        assert_eq!(got[0].key, Some(&b"k"[..]));
        assert_eq!(got[0].value, Some(&b"v"[..]));
        assert_eq!((got[0].timestamp_delta, got[0].offset_delta), (3, 1));
        assert_eq!(got[1].key, None);
        assert_eq!(got[1].value, None);
        assert_eq!(got[1].headers, &[2, 2, b'h', 1][..]);
    }

    #[test]
    fn hostile_bytes_are_invalid_records_never_panics() {
        let good = record(Some(b"key"), Some(b"value"));
        assert!(
            iter(&good, 2).any(|r| r.is_err()),
            "count above the records"
        );
        assert!(iter(&good, 0).any(|r| r.is_err()), "bytes left over");
        for cut in 0..good.len() {
            assert!(iter(&good[..cut], 1).any(|r| r.is_err()), "cut at {cut}");
        }
        for i in 0..good.len() {
            for byte in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = byte;
                let _ = iter(&bad, 1).count();
            }
        }
        let ten_continuations = [0xffu8; 12];
        assert!(iter(&ten_continuations, 1).any(|r| r.is_err()));
    }

    #[test]
    fn snappy_is_read_raw_or_xerial_framed() {
        let data = b"hello hello hello hello".repeat(10);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(snappy(&raw).unwrap(), data);
        let mut xerial = XERIAL_MAGIC.to_vec();
        xerial.extend(1i32.to_be_bytes());
        xerial.extend(1i32.to_be_bytes());
        for half in [&data[..100], &data[100..]] {
            let block = snap::raw::Encoder::new().compress_vec(half).unwrap();
            xerial.extend((block.len() as u32).to_be_bytes());
            xerial.extend(block);
        }
        assert_eq!(snappy(&xerial).unwrap(), data);
        assert!(snappy(&xerial[..xerial.len() - 1]).is_err());
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let zeros = vec![0u8; DECOMPRESSED_BYTES_MAX + 1];
        let packed = lz4_flex::frame::FrameEncoder::new(Vec::new());
        let mut packed = packed;
        std::io::Write::write_all(&mut packed, &zeros).unwrap();
        let packed = packed.finish().unwrap();
        let err = read_bounded(lz4_flex::frame::FrameDecoder::new(&packed[..]), "lz4")
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than"), "{err}");
    }
}
