//! Compacted topics: keys required on append, the latest record per key kept, tombstones,
//! offset gaps on read and at reopen, crash leftovers; and the topic settings behind them
//! (parse, describe, alter).

use std::io::Write;
use std::path::Path;

use sluice_storage::{
    CleanupPolicy, CompactionReport, ConfigChange, ConfigOp, ConfigSource, Storage, StorageConfig,
    StorageError, TopicConfig, TopicInfo, TopicOverrides,
};

use crate::kit::{self, Rec};

/// Timestamps of the records built here.
const T0: i64 = 1_700_000_000_000;
/// Values big enough that a 4 KiB segment holds a dozen single-record batches.
const VALUE_BYTES: usize = 250;

/// A producer-style batch of keyed records (timestamps `first_ts`, +1, ...), its records
/// section compressed with `codec` (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
fn keyed_batch(first_ts: i64, records: &[Rec<'_>], codec: i16) -> Vec<u8> {
    let section = compress(codec, &kit::records_section(records));
    kit::batch_around(first_ts, codec, &section, records.len())
}

fn compress(codec: i16, data: &[u8]) -> Vec<u8> {
    match codec {
        0 => data.to_vec(),
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        2 => snap::raw::Encoder::new().compress_vec(data).unwrap(),
        3 => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        4 => zstd::encode_all(data, 3).unwrap(),
        _ => unreachable!(),
    }
}

fn read_varint(buf: &[u8], at: &mut usize) -> i64 {
    let (mut raw, mut shift) = (0u64, 0);
    loop {
        let b = buf[*at];
        *at += 1;
        raw |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return ((raw >> 1) as i64) ^ -((raw & 1) as i64);
        }
    }
}

fn read_field(buf: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let len = read_varint(buf, at);
    if len < 0 {
        return None;
    }
    let v = buf[*at..*at + len as usize].to_vec();
    *at += len as usize;
    Some(v)
}

/// One record as read back: offset, key, value.
type Read = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// Decodes uncompressed stored batches (what compaction writes, and what these tests append).
fn decode(batches: &[u8]) -> Vec<Read> {
    let mut out = Vec::new();
    for b in kit::split(batches) {
        assert_eq!(
            i16::from_be_bytes([b[21], b[22]]) & 7,
            0,
            "test batches are uncompressed"
        );
        let base = kit::base_offset(b);
        let count = i32::from_be_bytes(b[57..61].try_into().unwrap());
        let mut at = 61;
        for _ in 0..count {
            let len = read_varint(b, &mut at) as usize;
            let end = at + len;
            at += 1;
            read_varint(b, &mut at);
            let delta = read_varint(b, &mut at);
            let key = read_field(b, &mut at);
            let value = read_field(b, &mut at);
            at = end;
            out.push((base + delta, key, value));
        }
    }
    out
}

/// Every record of partition 0 of `t`, read batch after batch as a consumer does.
fn read_all(storage: &Storage) -> Vec<Read> {
    let mut offset = storage.offsets("t", 0).unwrap().log_start;
    let mut out = Vec::new();
    loop {
        let read = storage.read("t", 0, offset, 1 << 20).unwrap();
        if read.batches.is_empty() {
            return out;
        }
        let batches = kit::split(&read.batches);
        let last = batches.last().unwrap();
        offset = kit::base_offset(last) + kit::offset_count(last);
        out.extend(decode(&read.batches));
    }
}

fn value(i: usize) -> Vec<u8> {
    let mut v = format!("v{i}-").into_bytes();
    v.resize(VALUE_BYTES, b'.');
    v
}

/// Storage (test defaults) with a compacted topic `t` of 4 KiB segments and these settings.
fn compacted(dir: &Path, settings: &[(&str, &str)]) -> Storage {
    let mut all = vec![("cleanup.policy", "compact"), ("segment.bytes", "4096")];
    all.extend_from_slice(settings);
    kit::topic_with(dir, &all)
}

/// Appends `n` single-record batches, record `i` keyed `k{i % keys}` with [`value`]`(i)`.
fn append_keyed(storage: &Storage, n: usize, keys: usize) {
    for i in 0..n {
        let key = format!("k{}", i % keys).into_bytes();
        let v = value(i);
        let b = keyed_batch(T0 + i as i64, &[(Some(&key), Some(&v))], 0);
        storage.append("t", 0, &b).unwrap();
    }
}

/// Compacts topic `t` at the current time; the tests that call this expect it to succeed.
fn compact_now(storage: &Storage) -> CompactionReport {
    storage.compact_topic("t", kit::now_ms()).unwrap()
}

fn log_files(dir: &Path) -> usize {
    kit::partition_files(dir, "t", 0, ".log").len()
}

#[test]
fn a_forced_compaction_keeps_the_latest_value_of_each_key_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[]);
    append_keyed(&storage, 60, 5);
    assert!(log_files(dir.path()) >= 4, "several segments rolled");
    let before = storage.offsets("t", 0).unwrap();

    let report = compact_now(&storage);
    assert_eq!(report.partitions_cleaned, 1);
    assert!(report.records_removed > 40, "{report:?}");
    assert!(report.bytes_freed > 0, "{report:?}");
    assert_eq!(
        storage.offsets("t", 0).unwrap(),
        before,
        "log start and end stay"
    );

    let records = read_all(&storage);
    // Every record kept is at the offset it was appended at, with its own value.
    for (offset, key, v) in &records {
        assert_eq!(v.as_deref(), Some(&value(*offset as usize)[..]));
        assert_eq!(key.as_deref(), Some(format!("k{}", offset % 5).as_bytes()));
    }
    // The latest of every key is there; nothing older survives outside the active segment.
    for k in 0..5 {
        assert!(
            records.iter().any(|(o, _, _)| *o == 55 + k),
            "latest of k{k}"
        );
    }
    let offsets: Vec<i64> = records.iter().map(|(o, _, _)| *o).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    assert!(offsets.len() < 30, "{offsets:?}");
    // A second pass finds nothing more to remove in the sealed segments.
    let again = compact_now(&storage);
    assert_eq!(again.records_removed, 0);
}

#[test]
fn reading_a_compacted_away_offset_returns_the_next_batch_kept() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[]);
    append_keyed(&storage, 60, 5);
    compact_now(&storage);
    let kept: Vec<i64> = read_all(&storage).iter().map(|r| r.0).collect();
    for offset in 0..60 {
        let read = storage.read("t", 0, offset, 1).unwrap();
        let first = kit::split(&read.batches)[0];
        let expected = *kept.iter().find(|&&k| k >= offset).unwrap();
        assert_eq!(kit::base_offset(first), expected, "read at {offset}");
    }
    assert!(storage.read("t", 0, 60, 1).unwrap().batches.is_empty());
}

/// A value of key `gone`, then its tombstone (whose offset is returned), then filler with
/// other keys that rolls both into a sealed segment.
fn value_then_tombstone(storage: &Storage) -> i64 {
    let v = value(0);
    storage
        .append("t", 0, &keyed_batch(T0, &[(Some(b"gone"), Some(&v))], 0))
        .unwrap();
    let tombstone = storage
        .append("t", 0, &keyed_batch(T0, &[(Some(b"gone"), None)], 0))
        .unwrap()
        .base_offset;
    for i in 0..30 {
        let key = format!("f{i}").into_bytes();
        let b = keyed_batch(T0, &[(Some(&key), Some(&v))], 0);
        storage.append("t", 0, &b).unwrap();
    }
    tombstone
}

#[test]
fn tombstones_are_kept_until_delete_retention_passes_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[("delete.retention.ms", "1000")]);
    let tombstone = value_then_tombstone(&storage);
    let find = |storage: &Storage| {
        read_all(storage)
            .into_iter()
            .filter(|(_, k, _)| k.as_deref() == Some(b"gone"))
            .collect::<Vec<_>>()
    };

    storage.compact_topic("t", T0 + 500).unwrap();
    assert_eq!(
        find(&storage),
        vec![(tombstone, Some(b"gone".to_vec()), None)]
    );

    let report = storage.compact_topic("t", T0 + 5000).unwrap();
    assert_eq!(report.records_removed, 1);
    assert!(find(&storage).is_empty());
}

#[test]
fn the_periodic_pass_comes_back_for_tombstones_once_delete_retention_passes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[("delete.retention.ms", "1000")]);
    value_then_tombstone(&storage);
    let gone = |storage: &Storage| {
        read_all(storage)
            .iter()
            .filter(|(_, k, _)| k.as_deref() == Some(b"gone"))
            .count()
    };
    // The first periodic pass removes the shadowed value and keeps the young tombstone.
    assert_eq!(storage.compact(T0 + 500, false).records_removed, 1);
    assert_eq!(gone(&storage), 1);
    // Nothing was written since: the log is clean, yet the tombstone's time has come.
    assert_eq!(storage.compact(T0 + 900, false).records_removed, 0);
    assert_eq!(storage.compact(T0 + 5000, false).records_removed, 1);
    assert_eq!(gone(&storage), 0);
    // And with nothing left to expire, a clean log is left alone.
    assert_eq!(storage.compact(T0 + 10_000, false).partitions_cleaned, 0);
}

#[test]
fn records_newer_than_the_compaction_lag_are_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[("min.compaction.lag.ms", "10000")]);
    append_keyed(&storage, 40, 2);
    let all = read_all(&storage).len();
    assert_eq!(
        storage
            .compact_topic("t", T0 + 5000)
            .unwrap()
            .records_removed,
        0
    );
    assert_eq!(read_all(&storage).len(), all);
    assert!(
        storage
            .compact_topic("t", T0 + 20_000)
            .unwrap()
            .records_removed
            > 0
    );
}

#[test]
fn keyless_records_are_invalid_on_a_compacted_topic_compressed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[]);
    for codec in [0, 1] {
        let b = keyed_batch(T0, &[(Some(b"k"), Some(b"v")), (None, Some(b"v"))], codec);
        let err = storage.append("t", 0, &b).unwrap_err();
        assert!(
            matches!(&err, StorageError::InvalidRecord(why) if why.contains("no key")),
            "codec {codec}: {err:?}"
        );
    }
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 0);
    // The same batches are fine where nothing is compacted.
    storage.create_topic("plain", 1).unwrap();
    for codec in [0, 1] {
        let b = keyed_batch(T0, &[(None, Some(b"v"))], codec);
        storage.append("plain", 0, &b).unwrap();
    }
}

#[test]
fn keyed_batches_of_every_codec_are_accepted_on_a_compacted_topic() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[]);
    for codec in 0..=4 {
        let b = keyed_batch(T0, &[(Some(b"a"), Some(b"1")), (Some(b"b"), None)], codec);
        storage.append("t", 0, &b).unwrap();
    }
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 10);
    // A compressed payload that is not what it claims is refused, not a panic.
    let mut bad = keyed_batch(T0, &[(Some(b"a"), Some(b"1"))], 1);
    let at = bad.len() - 12;
    bad[at] ^= 0xff;
    kit::fix_crc(&mut bad);
    assert!(matches!(
        storage.append("t", 0, &bad),
        Err(StorageError::InvalidRecord(_))
    ));
}

#[test]
fn compaction_rewrites_compressed_batches_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[]);
    for i in 0..40 {
        let (v, unique) = (value(i), format!("u{i}").into_bytes());
        let b = keyed_batch(
            T0,
            &[(Some(b"same"), Some(&v)), (Some(&unique), Some(&v))],
            4,
        );
        storage.append("t", 0, &b).unwrap();
    }
    assert!(compact_now(&storage).records_removed > 0);
    // The first batch lost its `same` record and keeps its unique one, now uncompressed, at
    // its own offset (1); its producer fields and timestamps are those of the original.
    let read = storage.read("t", 0, 0, 1).unwrap();
    let first = kit::split(&read.batches)[0];
    assert_eq!(i16::from_be_bytes([first[21], first[22]]) & 7, 0);
    assert_eq!(
        decode(first),
        vec![(1, Some(b"u0".to_vec()), Some(value(0)))]
    );
    assert_eq!(
        first[27..57],
        keyed_batch(T0, &[(Some(b"a"), None), (Some(b"b"), None)], 4)[27..57]
    );
}

#[test]
fn a_leftover_of_a_compaction_cut_short_is_removed_and_the_log_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let storage = compacted(dir.path(), &[]);
        append_keyed(&storage, 40, 3);
        read_all(&storage)
    };
    // A crash after the cleaned files were written, before the swap.
    let part = dir.path().join("topics/t/0");
    let base = "00000000000000000000";
    std::fs::write(part.join(format!("{base}.log.cleaned")), b"half written").unwrap();
    std::fs::write(part.join(format!("{base}.index.cleaned")), [0u8; 8]).unwrap();
    // ... or after the old indexes were removed and the log renamed.
    std::fs::remove_file(part.join(format!("{base}.index"))).unwrap();

    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert!(kit::partition_files(dir.path(), "t", 0, ".cleaned").is_empty());
    assert_eq!(read_all(&storage), expected);
    assert!(compact_now(&storage).records_removed > 0);
}

#[test]
fn a_compacted_log_reopens_with_the_same_records_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (records, offsets) = {
        let storage = compacted(dir.path(), &[]);
        append_keyed(&storage, 60, 4);
        compact_now(&storage);
        (read_all(&storage), storage.offsets("t", 0).unwrap())
    };
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(read_all(&storage), records);
    assert_eq!(storage.offsets("t", 0).unwrap(), offsets);
    let next = storage
        .append("t", 0, &keyed_batch(T0, &[(Some(b"k0"), Some(b"new"))], 0))
        .unwrap();
    assert_eq!(next.base_offset, offsets.log_end);
    // Repair mode reads every batch of the sealed segments: gaps are not damage.
    drop(storage);
    let storage = Storage::open(StorageConfig {
        repair: true,
        ..kit::config(dir.path())
    })
    .unwrap();
    assert_eq!(read_all(&storage).len(), records.len() + 1);
}

#[test]
fn a_first_segment_compacted_to_nothing_keeps_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = compacted(dir.path(), &[]);
        // The first segment holds keys that later segments all overwrite.
        append_keyed(&storage, 45, 3);
        let report = compact_now(&storage);
        assert!(report.records_removed > 0);
        assert_eq!(storage.offsets("t", 0).unwrap().log_start, 0);
        let first_log = &kit::partition_files(dir.path(), "t", 0, ".log")[0];
        assert_eq!(
            std::fs::metadata(first_log).unwrap().len(),
            0,
            "emptied, kept"
        );
        let first = kit::split(&storage.read("t", 0, 0, 1).unwrap().batches)[0].to_vec();
        assert!(kit::base_offset(&first) > 0);
    }
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.offsets("t", 0).unwrap().log_start, 0);
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 45);
    assert!(!read_all(&storage).is_empty());
}

#[test]
fn the_dirty_ratio_gates_the_periodic_pass_but_not_the_forced_one() {
    let dir = tempfile::tempdir().unwrap();
    let storage = compacted(dir.path(), &[("min.cleanable.dirty.ratio", "0.9")]);
    append_keyed(&storage, 60, 60);
    // Everything is dirty at first.
    assert_eq!(storage.compact(kit::now_ms(), false).partitions_cleaned, 1);
    append_keyed(&storage, 15, 60);
    assert_eq!(storage.compact(kit::now_ms(), false).partitions_cleaned, 0);
    assert_eq!(storage.compact(kit::now_ms(), true).partitions_cleaned, 1);
}

#[test]
fn compacting_a_topic_that_is_not_compacted_is_invalid_config() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    assert!(matches!(
        storage.compact_topic("t", kit::now_ms()),
        Err(StorageError::InvalidConfig { name, .. }) if name == "cleanup.policy"
    ));
    assert!(matches!(
        storage.compact_topic("nope", 0),
        Err(StorageError::UnknownTopic(_))
    ));
}

#[test]
fn retention_deletes_nothing_on_a_compact_only_topic_and_applies_with_both_policies() {
    for (policy, deleted) in [("compact", false), ("delete,compact", true)] {
        let dir = tempfile::tempdir().unwrap();
        let storage = compacted(
            dir.path(),
            &[("cleanup.policy", policy), ("retention.ms", "1")],
        );
        append_keyed(&storage, 40, 40);
        let report = storage.enforce_retention(kit::now_ms());
        assert_eq!(report.segments > 0, deleted, "{policy}");
        assert_eq!(storage.offsets("t", 0).unwrap().log_start > 0, deleted);
    }
}

#[test]
fn cleanup_policy_is_a_list_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    for (i, (value, policy)) in [
        ("delete", CleanupPolicy::Delete),
        ("compact", CleanupPolicy::Compact),
        ("compact,delete", CleanupPolicy::CompactDelete),
        ("delete, compact", CleanupPolicy::CompactDelete),
    ]
    .into_iter()
    .enumerate()
    {
        let overrides = TopicOverrides::from([("cleanup.policy".into(), value.into())]);
        let info = storage
            .create_topic_with(&format!("p{i}"), 1, &overrides)
            .unwrap();
        assert_eq!(info.config.cleanup_policy, policy, "{value}");
    }
    for bad in ["", "shred", "compact,shred"] {
        let overrides = TopicOverrides::from([("cleanup.policy".into(), bad.into())]);
        assert!(invalid_config(
            &storage.create_topic_with("bad", 1, &overrides)
        ));
    }
}

fn change(name: &str, op: ConfigOp, value: Option<&str>) -> ConfigChange {
    ConfigChange {
        name: name.to_owned(),
        op,
        value: value.map(str::to_owned),
    }
}

/// Whether `result` is the refusal of a setting.
fn invalid_config<T>(result: &Result<T, StorageError>) -> bool {
    matches!(result, Err(StorageError::InvalidConfig { .. }))
}

/// Alters topic `t` by `changes` for real (not validate-only); `replace` drops the overrides
/// they do not name.
fn alter(
    storage: &Storage,
    changes: &[ConfigChange],
    replace: bool,
) -> Result<TopicInfo, StorageError> {
    storage.alter_topic_configs("t", changes, replace, false)
}

#[test]
fn describe_reports_value_source_default_and_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = kit::config(dir.path());
    config.topic_defaults.retention_ms = 1000;
    let storage = Storage::open(config).unwrap();
    let overrides = TopicOverrides::from([("cleanup.policy".into(), "compact".into())]);
    storage.create_topic_with("t", 1, &overrides).unwrap();
    let entries = storage.describe_topic_config("t").unwrap();
    assert_eq!(entries.len(), sluice_storage::TOPIC_CONFIG_NAMES.len());
    let entry = |name: &str| entries.iter().find(|e| e.name == name).unwrap().clone();

    let policy = entry("cleanup.policy");
    assert_eq!(policy.value, "compact");
    assert_eq!(policy.source, ConfigSource::Topic);
    assert_eq!(policy.default_value, "delete");
    let retention = entry("retention.ms");
    assert_eq!(
        (retention.value.as_str(), retention.source),
        ("1000", ConfigSource::Broker)
    );
    let max = entry("max.message.bytes");
    assert_eq!(
        (max.value.as_str(), max.source),
        ("1048588", ConfigSource::Default)
    );
    assert_eq!(entry("delete.retention.ms").value, "86400000");
    assert_eq!(entry("min.compaction.lag.ms").value, "0");
    assert_eq!(entry("min.cleanable.dirty.ratio").value, "0.5");
    for e in &entries {
        assert!(!e.read_only, "{}", e.name);
        assert!(e.documentation.ends_with('.'), "{}", e.name);
    }
    assert!(matches!(
        storage.describe_topic_config("nope"),
        Err(StorageError::UnknownTopic(_))
    ));
}

#[test]
fn incremental_alter_sets_deletes_appends_and_subtracts() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let incremental = |changes: &[ConfigChange]| alter(&storage, changes, false);

    let info = incremental(&[
        change("retention.ms", ConfigOp::Set, Some("5000")),
        change("cleanup.policy", ConfigOp::Append, Some("compact")),
    ])
    .unwrap();
    assert_eq!(info.config.retention_ms, 5000);
    assert_eq!(info.config.cleanup_policy, CleanupPolicy::CompactDelete);

    let info =
        incremental(&[change("cleanup.policy", ConfigOp::Subtract, Some("delete"))]).unwrap();
    assert_eq!(info.config.cleanup_policy, CleanupPolicy::Compact);
    assert_eq!(info.config.retention_ms, 5000, "incremental keeps the rest");

    let info = incremental(&[change("retention.ms", ConfigOp::Delete, None)]).unwrap();
    assert_eq!(
        info.config.retention_ms,
        kit::config(Path::new("")).topic_defaults.retention_ms
    );
    assert_eq!(storage.topic("t").unwrap(), info);

    for bad in [
        change("retention.ms", ConfigOp::Append, Some("1")),
        change("segment.bytes", ConfigOp::Subtract, Some("4096")),
        change("retention.ms", ConfigOp::Set, None),
        change("colour", ConfigOp::Set, Some("red")),
        change("cleanup.policy", ConfigOp::Subtract, Some("compact")),
    ] {
        assert!(
            invalid_config(&incremental(std::slice::from_ref(&bad))),
            "{bad:?}"
        );
    }
    assert_eq!(storage.topic("t").unwrap(), info);
}

#[test]
fn a_bad_change_applies_none_of_the_changes_and_validate_only_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(dir.path(), &[]);
    let before = storage.topic("t").unwrap();
    let err = alter(
        &storage,
        &[
            change("retention.ms", ConfigOp::Set, Some("5000")),
            change("segment.bytes", ConfigOp::Set, Some("12")),
        ],
        false,
    );
    assert!(
        matches!(err, Err(StorageError::InvalidConfig { name, .. }) if name == "segment.bytes")
    );
    assert_eq!(storage.topic("t").unwrap(), before);

    let would = storage
        .alter_topic_configs(
            "t",
            &[change("retention.ms", ConfigOp::Set, Some("5000"))],
            false,
            true,
        )
        .unwrap();
    assert_eq!(would.config.retention_ms, 5000);
    assert_eq!(storage.topic("t").unwrap(), before);
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.topic("t").unwrap(), before);
}

#[test]
fn replace_drops_the_overrides_it_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(
        dir.path(),
        &[("retention.ms", "5000"), ("segment.bytes", "8192")],
    );
    let info = alter(
        &storage,
        &[change("segment.bytes", ConfigOp::Set, Some("4096"))],
        true,
    )
    .unwrap();
    assert_eq!(
        info.overrides,
        TopicOverrides::from([("segment.bytes".into(), "4096".into())])
    );
    assert!(invalid_config(&alter(
        &storage,
        &[change("cleanup.policy", ConfigOp::Append, Some("compact"))],
        true
    )));
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.topic("t").unwrap().overrides, info.overrides);
}

#[test]
fn a_batch_above_max_message_bytes_is_record_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(dir.path(), &[("max.message.bytes", "200")]);
    let big = kit::batch(&[&[7u8; 200]]);
    assert!(matches!(
        storage.append("t", 0, &big),
        Err(StorageError::RecordTooLarge { max: 200, .. })
    ));
    storage.append("t", 0, &kit::batch_n("small", 1)).unwrap();
    // Raised again by an alter, the same batch fits.
    alter(
        &storage,
        &[change("max.message.bytes", ConfigOp::Delete, None)],
        false,
    )
    .unwrap();
    storage.append("t", 0, &big).unwrap();
}

#[test]
fn max_message_bytes_above_the_broker_ceiling_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(StorageConfig {
        batch_bytes_max: 10_000,
        ..kit::config(dir.path())
    })
    .unwrap();
    // The broker default is capped at the ceiling.
    assert_eq!(storage.config().topic_defaults.max_message_bytes, 10_000);
    let over = TopicOverrides::from([("max.message.bytes".into(), "10001".into())]);
    assert!(matches!(
        storage.create_topic_with("t", 1, &over),
        Err(StorageError::InvalidConfig { name, .. }) if name == "max.message.bytes"
    ));
    storage.create_topic("t", 1).unwrap();
    assert!(invalid_config(&alter(
        &storage,
        &[change("max.message.bytes", ConfigOp::Set, Some("20000"))],
        false
    )));
    assert!(storage.alter_topic_config("t", &over).is_err());
    let ok = TopicOverrides::from([("max.message.bytes".into(), "5000".into())]);
    assert_eq!(
        storage
            .alter_topic_config("t", &ok)
            .unwrap()
            .config
            .max_message_bytes,
        5000
    );
    assert_eq!(TopicConfig::default().max_message_bytes, 1_048_588);
}
