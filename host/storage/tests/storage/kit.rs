//! Test helpers: a hand-written Kafka v2 batch builder (uncompressed records) and storage
//! opened in a temporary directory.

use std::path::{Path, PathBuf};

use sluice_storage::{Storage, StorageConfig};

/// Timestamps of built batches; any fixed value will do.
const BASE_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// A producer-style batch holding one record per value: base offset 0 as producers send it,
/// leader epoch -1, no producer id.
pub fn batch(values: &[&[u8]]) -> Vec<u8> {
    assert!(!values.is_empty(), "a batch holds at least one record");
    let mut records = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let mut body = Vec::new();
        body.push(0u8); // record attributes
        varint(&mut body, i as i64); // timestamp delta
        varint(&mut body, i as i64); // offset delta
        varint(&mut body, -1); // null key
        varint(&mut body, value.len() as i64);
        body.extend_from_slice(value);
        varint(&mut body, 0); // no headers
        varint(&mut records, body.len() as i64);
        records.extend(body);
    }
    let count = values.len() as i32;
    let mut b = Vec::new();
    b.extend(0i64.to_be_bytes()); // base offset
    b.extend(0i32.to_be_bytes()); // batch length, patched below
    b.extend((-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend(0u32.to_be_bytes()); // crc, patched below
    b.extend(0i16.to_be_bytes()); // attributes: no compression, create time
    b.extend((count - 1).to_be_bytes()); // last offset delta
    b.extend(BASE_TIMESTAMP_MS.to_be_bytes());
    b.extend((BASE_TIMESTAMP_MS + i64::from(count) - 1).to_be_bytes());
    b.extend((-1i64).to_be_bytes()); // producer id
    b.extend((-1i16).to_be_bytes()); // producer epoch
    b.extend((-1i32).to_be_bytes()); // base sequence
    b.extend(count.to_be_bytes());
    b.extend(records);
    let length = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&length.to_be_bytes());
    fix_crc(&mut b);
    b
}

/// A batch of `n` records with values `prefix-0`, `prefix-1`, ...
pub fn batch_n(prefix: &str, n: usize) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{prefix}-{i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    batch(&refs)
}

/// Recomputes the CRC-32C of a single batch after a test edited it.
pub fn fix_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// `b` as storage keeps it once appended at `base_offset`.
pub fn stored(b: &[u8], base_offset: i64) -> Vec<u8> {
    let mut s = b.to_vec();
    s[0..8].copy_from_slice(&base_offset.to_be_bytes());
    s[12..16].copy_from_slice(&0i32.to_be_bytes());
    s
}

/// Offsets one batch takes.
pub fn offset_count(b: &[u8]) -> i64 {
    i64::from(i32::from_be_bytes(b[23..27].try_into().unwrap())) + 1
}

/// Base offset written in a stored batch.
pub fn base_offset(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[0..8].try_into().unwrap())
}

/// Splits back-to-back batches.
pub fn split(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let total = 12 + i32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let (first, rest) = bytes.split_at(total);
        out.push(first);
        bytes = rest;
    }
    out
}

fn varint(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    loop {
        if zigzag < 0x80 {
            out.push(zigzag as u8);
            return;
        }
        out.push((zigzag as u8 & 0x7f) | 0x80);
        zigzag >>= 7;
    }
}

/// Default limits, data under `dir`.
pub fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        dir: dir.to_owned(),
        ..StorageConfig::default()
    }
}

/// Storage in a fresh temporary directory; keep the guard alive as long as the storage.
pub fn open_temp() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(config(dir.path())).unwrap();
    (dir, storage)
}

/// The log file of one partition, for tests that damage it.
pub fn log_path(dir: &Path, topic: &str, partition: u32) -> PathBuf {
    dir.join("topics")
        .join(topic)
        .join(partition.to_string())
        .join("00000000000000000000.log")
}
