//! Segments: rolling, indexes rebuilt from the log, retention, time lookups, sealed-segment
//! damage and repair, and topics changed while live.

use std::fs;

use sluice_storage::{Storage, StorageConfig, StorageError, TopicOverrides};

use crate::kit::{self, batch_at, sized_batch, small_segments, stored};

const SEGMENT_BYTES: u64 = 4096;

/// Appends `n` batches of three ~300-byte records; returns them as stored.
fn fill(storage: &Storage, partition: u32, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..n {
        let b = sized_batch(i, 3, 300);
        let r = storage.append("t", partition, &b).unwrap();
        out.push(stored(&b, r.base_offset));
    }
    out
}

/// Reads the whole partition from offset 0, one read after another.
fn read_all(storage: &Storage, partition: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = storage.offsets("t", partition).unwrap().log_start;
    loop {
        let r = storage.read("t", partition, offset, u32::MAX).unwrap();
        if r.batches.is_empty() {
            return out;
        }
        for b in kit::split(&r.batches) {
            offset = kit::base_offset(b) + kit::offset_count(b);
        }
        out.extend_from_slice(&r.batches);
    }
}

#[test]
fn segments_roll_at_segment_bytes_and_are_named_by_base_offset() {
    let dir = tempfile::tempdir().unwrap();
    let storage = small_segments(dir.path(), SEGMENT_BYTES, 1);
    let written = fill(&storage, 0, 30);
    let logs = kit::partition_files(dir.path(), "t", 0, ".log");
    assert!(logs.len() >= 7, "{} segments", logs.len());
    let mut expected_base = 0;
    for (i, log) in logs.iter().enumerate() {
        let name = log.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, format!("{expected_base:020}.log"));
        let bytes = fs::read(log).unwrap();
        if i + 1 < logs.len() {
            assert!(
                bytes.len() as u64 <= SEGMENT_BYTES,
                "{name}: {}",
                bytes.len()
            );
        }
        for b in kit::split(&bytes) {
            expected_base = kit::base_offset(b) + kit::offset_count(b);
        }
    }
    assert_eq!(read_all(&storage, 0), written.concat());
    // Every offset, not only batch starts, is found across segment boundaries.
    for offset in 0..90 {
        let r = storage.read("t", 0, offset, 1).unwrap();
        let first = kit::split(&r.batches)[0];
        assert!(kit::base_offset(first) <= offset);
        assert!(offset < kit::base_offset(first) + kit::offset_count(first));
    }
}

#[test]
fn rebuilt_indexes_equal_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let storage = small_segments(dir.path(), 64 * 1024, 1);
    // Batches of varied sizes and timestamps so both indexes get many entries.
    for i in 0..300usize {
        let b = sized_batch(i, 1 + i % 4, 50 + (i * 37) % 700);
        storage.append("t", 0, &b).unwrap();
    }
    drop(storage);
    let originals: Vec<_> = [".index", ".timeindex"]
        .iter()
        .flat_map(|suffix| kit::partition_files(dir.path(), "t", 0, suffix))
        .map(|path| {
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    assert!(originals.len() >= 6, "{} index files", originals.len());
    for (i, (path, bytes)) in originals.iter().enumerate() {
        assert!(bytes.iter().any(|&b| b != 0), "{} is empty", path.display());
        // Some deleted, some damaged, some cut: each is rebuilt.
        match i % 3 {
            0 => fs::remove_file(path).unwrap(),
            1 => fs::write(path, vec![0xff; bytes.len()]).unwrap(),
            _ => fs::write(path, &bytes[..bytes.len() - 3]).unwrap(),
        }
    }
    let storage = small_segments(dir.path(), 64 * 1024, 1);
    for (path, bytes) in &originals {
        assert_eq!(
            &fs::read(path).unwrap(),
            bytes,
            "{} differs",
            path.display()
        );
    }
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 750);
}

#[test]
fn retention_by_time_deletes_only_expired_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(
        dir.path(),
        &[
            ("segment.bytes", &SEGMENT_BYTES.to_string()),
            ("retention.ms", "60000"),
        ],
    );
    let old = 1_000_000;
    let new = old + 3_600_000;
    let value = vec![b'x'; 900];
    // Four old batches per segment, so segments hold either only old or only new records,
    // except one that holds both.
    for i in 0..10 {
        storage
            .append("t", 0, &batch_at(old + i, &[&value]))
            .unwrap();
    }
    for i in 0..10 {
        storage
            .append("t", 0, &batch_at(new + i, &[&value]))
            .unwrap();
    }
    let before = kit::partition_files(dir.path(), "t", 0, ".log");
    assert!(before.len() >= 5);

    // Nothing is old enough yet.
    assert_eq!(storage.enforce_retention(old + 30_000).segments, 0);
    // An hour later the old records are expired, the new ones are not.
    let report = storage.enforce_retention(new + 30_000);
    let after = kit::partition_files(dir.path(), "t", 0, ".log");
    assert_eq!(report.segments as usize, before.len() - after.len());
    let offsets = storage.offsets("t", 0).unwrap();
    // Offsets 0..=9 are old; whatever remains starts at a segment holding a new record
    // (or the mixed one), and every new record is still there.
    assert!(
        offsets.log_start > 0 && offsets.log_start <= 10,
        "{offsets:?}"
    );
    assert_eq!(
        kit::split(&read_all(&storage, 0)).len() as i64,
        20 - offsets.log_start
    );
    assert!(matches!(
        storage.read("t", 0, 0, 1000),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    for path in &before[..before.len() - after.len()] {
        assert!(!path.exists());
        assert!(!path.with_extension("index").exists());
        assert!(!path.with_extension("timeindex").exists());
    }

    // Much later everything is expired, but the active segment is never deleted.
    storage.enforce_retention(new + 100_000_000);
    let last = kit::partition_files(dir.path(), "t", 0, ".log");
    assert_eq!(last.len(), 1);
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 20);
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 20);
}

#[test]
fn retention_by_bytes_keeps_at_least_retention_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(
        dir.path(),
        &[
            ("segment.bytes", &SEGMENT_BYTES.to_string()),
            ("retention.bytes", "10000"),
        ],
    );
    fill(&storage, 0, 60);
    storage.enforce_retention(0);
    let sizes: Vec<u64> = kit::partition_files(dir.path(), "t", 0, ".log")
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .collect();
    let total: u64 = sizes.iter().sum();
    assert!(total >= 10_000, "{sizes:?}");
    assert!(
        total - sizes[0] < 10_000,
        "the oldest could have gone: {sizes:?}"
    );
}

#[test]
fn segment_ms_rolls_an_old_active_segment_so_retention_can_delete_it() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(
        dir.path(),
        &[("segment.ms", "1000"), ("retention.ms", "1000")],
    );
    storage.append("t", 0, &batch_at(5_000, &[b"a"])).unwrap();
    let now = kit::now_ms();
    storage.enforce_retention(now + 5_000);
    assert_eq!(kit::partition_files(dir.path(), "t", 0, ".log").len(), 1);
    let offsets = storage.offsets("t", 0).unwrap();
    assert_eq!((offsets.log_start, offsets.log_end), (1, 1));
    let r = storage.append("t", 0, &batch_at(now, &[b"b"])).unwrap();
    assert_eq!(r.base_offset, 1);
}

#[test]
fn offsets_for_timestamps_find_the_first_batch_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let storage = small_segments(dir.path(), SEGMENT_BYTES, 1);
    let value = vec![b'x'; 400];
    // Batch i has timestamps 1000 + 10 i and 1000 + 10 i + 1.
    for i in 0..40 {
        storage
            .append("t", 0, &batch_at(1000 + 10 * i, &[&value, &value]))
            .unwrap();
    }
    assert!(kit::partition_files(dir.path(), "t", 0, ".log").len() > 3);
    let at = |ts| storage.offset_for_timestamp("t", 0, ts).unwrap();
    assert_eq!(at(0).map(|t| t.offset), Some(0));
    assert_eq!(at(1001).map(|t| (t.offset, t.timestamp)), Some((0, 1001)));
    assert_eq!(at(1002).map(|t| t.offset), Some(2));
    for i in 0..40 {
        assert_eq!(
            at(1000 + 10 * i).map(|t| t.offset),
            Some(2 * i),
            "batch {i}"
        );
        assert_eq!(
            at(1000 + 10 * i + 5).map(|t| t.offset),
            Some(2 * i + 2).filter(|&o| o < 80)
        );
    }
    assert_eq!(at(1_000_000), None);
}

/// Rolls a few segments of `segment_bytes`, closes, and returns the second segment's path.
fn sealed_log(dir: &std::path::Path, segment_bytes: u64) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let storage = small_segments(dir, segment_bytes, 1);
    let written = fill(&storage, 0, (segment_bytes / 1000 * 3) as usize);
    drop(storage);
    (
        kit::partition_files(dir, "t", 0, ".log")[1].clone(),
        written,
    )
}

#[test]
fn a_corrupt_sealed_segment_stops_the_open_naming_the_file_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = sealed_log(dir.path(), SEGMENT_BYTES);
    let mut bytes = fs::read(&log).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x01;
    fs::write(&log, &bytes).unwrap();
    let before = kit::snapshot_files(dir.path());

    let err = Storage::open(kit::config(dir.path())).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, StorageError::CorruptSegment { path, .. } if *path == log),
        "{err:?}"
    );
    assert!(message.contains(log.to_str().unwrap()), "{message}");
    assert!(message.contains("sluice repair"), "{message}");
    let after = kit::snapshot_files(dir.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &before {
        if !path.ends_with("lock") {
            assert_eq!(bytes, &after[path], "{} changed", path.display());
        }
    }
}

#[test]
fn a_sealed_segment_cut_short_stops_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = sealed_log(dir.path(), SEGMENT_BYTES);
    let len = fs::metadata(&log).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(matches!(
        Storage::open(kit::config(dir.path())),
        Err(StorageError::CorruptSegment { .. })
    ));
}

#[test]
fn damage_inside_a_sealed_segment_is_refused_on_read_and_cut_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    // Segments of many index intervals, so the first batch lies before the last index entry.
    let (log, written) = sealed_log(dir.path(), 64 * 1024);
    // A record byte of the first batch of the second segment: the cheap open check does not
    // read it, the read's CRC check does.
    let mut bytes = fs::read(&log).unwrap();
    let first = kit::split(&bytes)[0].len();
    let damaged_offset = kit::base_offset(&bytes);
    bytes[first - 5] ^= 0x20;
    fs::write(&log, &bytes).unwrap();

    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let err = storage.read("t", 0, damaged_offset, 1).unwrap_err();
    assert!(err.to_string().contains("CRC-32C"), "{err}");
    let log_end = storage.offsets("t", 0).unwrap().log_end;
    drop(storage);

    let repaired = Storage::open(StorageConfig {
        repair: true,
        ..kit::config(dir.path())
    })
    .unwrap();
    let offsets = repaired.offsets("t", 0).unwrap();
    assert_eq!(offsets.log_end, damaged_offset);
    let kept = read_all(&repaired, 0);
    let expected: Vec<u8> = written
        .iter()
        .filter(|b| kit::base_offset(b) < damaged_offset)
        .flatten()
        .copied()
        .collect();
    assert_eq!(kept, expected);
    // What was cut is kept: the damaged segment's bytes from the bad batch on, and every later
    // segment.
    let lost = dir.path().join("lost+found/t/0");
    let kept_aside: u64 = fs::read_dir(&lost)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains(".log"))
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    let total: u64 = written.iter().map(|b| b.len() as u64).sum();
    assert_eq!(kept.len() as u64 + kept_aside, total);
    assert!(log_end > damaged_offset);
    // The log goes on from the cut.
    let r = repaired.append("t", 0, &kit::batch_n("after", 2)).unwrap();
    assert_eq!(r.base_offset, damaged_offset);
}

#[test]
fn partitions_added_to_a_live_topic_keep_existing_data() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("t", 2).unwrap();
    storage.append("t", 1, &kit::batch_n("x", 3)).unwrap();
    let info = storage.add_partitions("t", 5).unwrap();
    assert_eq!(info.partitions, 5);
    storage.append("t", 4, &kit::batch_n("y", 1)).unwrap();
    assert!(matches!(
        storage.add_partitions("t", 5),
        Err(StorageError::InvalidPartitions { .. })
    ));
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.topic("t").unwrap().partitions, 5);
    assert_eq!(storage.offsets("t", 1).unwrap().log_end, 3);
    assert_eq!(storage.offsets("t", 4).unwrap().log_end, 1);
}

#[test]
fn topic_settings_persist_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let mut overrides = TopicOverrides::new();
    overrides.insert("retention.ms".into(), "7200000".into());
    overrides.insert("segment.bytes".into(), "1073741824".into());
    storage.create_topic_with("k", 1, &overrides).unwrap();
    let mut bad = TopicOverrides::new();
    bad.insert("retention.ms".into(), "two hours".into());
    let err = storage.create_topic_with("bad", 1, &bad).unwrap_err();
    assert!(matches!(&err, StorageError::InvalidConfig { name, .. } if name == "retention.ms"));
    assert!(storage.topic("bad").is_none());

    let mut altered = TopicOverrides::new();
    altered.insert("retention.bytes".into(), "5000000".into());
    storage.alter_topic_config("k", &altered).unwrap();
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let info = storage.topic("k").unwrap();
    assert_eq!(info.overrides, altered);
    assert_eq!(info.config.retention_bytes, 5_000_000);
    // Dropped from the overrides: back to the default.
    assert_eq!(info.config.retention_ms, 7 * 24 * 3600 * 1000);
}
