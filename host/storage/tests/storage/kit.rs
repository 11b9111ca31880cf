//! Test helpers: a hand-written Kafka v2 batch builder (uncompressed records) and storage
//! opened in a temporary directory.

use std::path::{Path, PathBuf};

use sluice_storage::{Durability, Storage, StorageConfig, TopicConfig};

/// Timestamps of built batches; any fixed value will do.
const BASE_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// A producer-style batch holding one record per value: base offset 0 as producers send it,
/// leader epoch -1, no producer id.
pub fn batch(values: &[&[u8]]) -> Vec<u8> {
    batch_at(BASE_TIMESTAMP_MS, values)
}

/// Like [`batch`], with record timestamps `first_timestamp_ms`, +1, +2, ...
pub fn batch_at(first_timestamp_ms: i64, values: &[&[u8]]) -> Vec<u8> {
    assert!(!values.is_empty(), "a batch holds at least one record");
    let records: Vec<Rec<'_>> = values.iter().map(|value| (None, Some(*value))).collect();
    batch_around(
        first_timestamp_ms,
        0,
        &records_section(&records),
        records.len(),
    )
}

/// A record's key and value, either of them null.
pub type Rec<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// The records section of a batch, uncompressed: one record per (key, value), timestamp and
/// offset deltas 0, 1, 2, ..., no headers.
pub fn records_section(records: &[Rec<'_>]) -> Vec<u8> {
    let mut section = Vec::new();
    for (i, (key, value)) in records.iter().enumerate() {
        let mut body = Vec::new();
        body.push(0u8); // record attributes
        varint(&mut body, i as i64); // timestamp delta
        varint(&mut body, i as i64); // offset delta
        for field in [key, value] {
            match field {
                Some(b) => {
                    varint(&mut body, b.len() as i64);
                    body.extend_from_slice(b);
                }
                None => varint(&mut body, -1),
            }
        }
        varint(&mut body, 0); // no headers
        varint(&mut section, body.len() as i64);
        section.extend(body);
    }
    section
}

/// A producer-style batch of `count` records around `section` (as compressed as `attributes`
/// says): base offset 0, leader epoch -1, no producer id, timestamps from `first_timestamp_ms`.
pub fn batch_around(
    first_timestamp_ms: i64,
    attributes: i16,
    section: &[u8],
    count: usize,
) -> Vec<u8> {
    let count = count as i32;
    let mut b = Vec::new();
    b.extend(0i64.to_be_bytes()); // base offset
    b.extend(0i32.to_be_bytes()); // batch length, patched below
    b.extend((-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend(0u32.to_be_bytes()); // crc, patched below
    b.extend(attributes.to_be_bytes()); // compression codec, create time
    b.extend((count - 1).to_be_bytes()); // last offset delta
    b.extend(first_timestamp_ms.to_be_bytes());
    b.extend((first_timestamp_ms + i64::from(count) - 1).to_be_bytes());
    b.extend((-1i64).to_be_bytes()); // producer id
    b.extend((-1i16).to_be_bytes()); // producer epoch
    b.extend((-1i32).to_be_bytes()); // base sequence
    b.extend(count.to_be_bytes());
    b.extend(section);
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

/// Default limits, data under `dir`, and the `relaxed` policy so that what is appended is
/// readable at once (tests of the `fsync` policy ask for it with [`fsync_config`]).
pub fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        dir: dir.to_owned(),
        topic_defaults: TopicConfig {
            durability: Durability::Relaxed,
            ..TopicConfig::default()
        },
        ..StorageConfig::default()
    }
}

/// Default limits and settings, `fsync` policy included.
pub fn fsync_config(dir: &Path) -> StorageConfig {
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

/// What `create_topic` reports for a topic with the test defaults and no overrides.
pub fn topic_info(name: &str, partitions: u32) -> sluice_storage::TopicInfo {
    sluice_storage::TopicInfo {
        name: name.to_owned(),
        partitions,
        config: config(Path::new("")).topic_defaults,
        overrides: Default::default(),
    }
}

/// Polls until the high watermark of a partition passes `last_offset` (the write is durable),
/// failing after a few seconds.
pub fn wait_durable(storage: &Storage, topic: &str, partition: u32, last_offset: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while storage.offsets(topic, partition).unwrap().high_watermark <= last_offset {
        assert!(
            std::time::Instant::now() < deadline,
            "offset {last_offset} of {topic}-{partition} never became durable"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
pub fn snapshot_files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_owned(), bytes);
            }
        }
    }
    out
}

/// Copies a directory tree (a data directory frozen at a crash, replayed many times).
pub fn copy_dir(from: &Path, to: &Path) {
    for (relative, bytes) in snapshot_files(from) {
        let path = to.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The files of one partition directory whose names end with `suffix`, sorted.
pub fn partition_files(dir: &Path, topic: &str, partition: u32, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir.join("topics").join(topic).join(partition.to_string()))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_str().unwrap().ends_with(suffix))
            .collect();
    files.sort();
    files
}

/// Storage with `segment.bytes` set small on topic `t` of `partitions` partitions.
pub fn small_segments(dir: &Path, segment_bytes: u64, partitions: u32) -> Storage {
    let storage = Storage::open(config(dir)).unwrap();
    if storage.topic("t").is_none() {
        let mut overrides = sluice_storage::TopicOverrides::new();
        overrides.insert("segment.bytes".into(), segment_bytes.to_string());
        storage
            .create_topic_with("t", partitions, &overrides)
            .unwrap();
    }
    storage
}

/// A batch of `n` records of about `value_bytes` bytes each, distinct per `serial`.
pub fn sized_batch(serial: usize, n: usize, value_bytes: usize) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut v = format!("{serial}-{i}-").into_bytes();
            v.resize(value_bytes.max(v.len()), b'v');
            v
        })
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    batch(&refs)
}

/// Wall clock in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Storage (test defaults) with topic `t` of one partition and these settings.
pub fn topic_with(dir: &Path, settings: &[(&str, &str)]) -> Storage {
    let storage = Storage::open(config(dir)).unwrap();
    let overrides = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    storage.create_topic_with("t", 1, &overrides).unwrap();
    storage
}

/// An idempotent producer's batch: [`batch`] with producer id, epoch and base sequence set.
pub fn producer_batch(
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    values: &[&[u8]],
) -> Vec<u8> {
    let mut b = batch(values);
    b[43..51].copy_from_slice(&producer_id.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    fix_crc(&mut b);
    b
}
