//! DeleteRecords: the log start raised durably, reads below it refused, whole segments below
//! it deleted.

use sluice_storage::{DELETE_TO_HIGH_WATERMARK, Storage, StorageError};

use crate::kit::{self, sized_batch, small_segments};

/// Appends `n` one-record batches to `t`-0.
fn fill(storage: &Storage, n: usize) {
    for i in 0..n {
        storage.append("t", 0, &sized_batch(i, 1, 300)).unwrap();
    }
}

#[test]
fn delete_records_moves_the_log_start_and_reads_below_it_fail() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    fill(&storage, 10);
    assert_eq!(storage.delete_records("t", 0, 4).unwrap(), 4);
    let offsets = storage.offsets("t", 0).unwrap();
    assert_eq!((offsets.log_start, offsets.log_end), (4, 10));
    assert!(matches!(
        storage.read("t", 0, 3, u32::MAX),
        Err(StorageError::OffsetOutOfRange {
            offset: 3,
            log_start: 4,
            ..
        })
    ));
    let read = storage.read("t", 0, 4, u32::MAX).unwrap();
    assert_eq!(kit::base_offset(&read.batches), 4);
    let appended = storage.append("t", 0, &kit::batch(&[b"x"])).unwrap();
    assert_eq!(appended.log_start, 4);
}

#[test]
fn delete_records_never_lowers_the_log_start() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    fill(&storage, 10);
    storage.delete_records("t", 0, 6).unwrap();
    assert_eq!(storage.delete_records("t", 0, 2).unwrap(), 6);
    assert_eq!(storage.offsets("t", 0).unwrap().log_start, 6);
}

#[test]
fn delete_records_above_the_high_watermark_is_refused() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    fill(&storage, 3);
    assert!(matches!(
        storage.delete_records("t", 0, 4),
        Err(StorageError::OffsetOutOfRange { offset: 4, .. })
    ));
    assert!(matches!(
        storage.delete_records("t", 0, -2),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert_eq!(storage.offsets("t", 0).unwrap().log_start, 0);
}

#[test]
fn minus_one_deletes_up_to_the_high_watermark_and_keeps_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let storage = small_segments(dir.path(), 4096, 1);
    fill(&storage, 40);
    let high_watermark = storage.offsets("t", 0).unwrap().high_watermark;
    assert_eq!(
        storage
            .delete_records("t", 0, DELETE_TO_HIGH_WATERMARK)
            .unwrap(),
        high_watermark
    );
    assert_eq!(kit::partition_files(dir.path(), "t", 0, ".log").len(), 1);
    let read = storage.read("t", 0, high_watermark, u32::MAX).unwrap();
    assert!(read.batches.is_empty());
    let appended = storage.append("t", 0, &kit::batch(&[b"x"])).unwrap();
    assert_eq!(appended.base_offset, high_watermark);
}

#[test]
fn delete_records_deletes_only_whole_segments_below_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let storage = small_segments(dir.path(), 4096, 1);
    fill(&storage, 60);
    let before = kit::partition_files(dir.path(), "t", 0, ".log");
    assert!(before.len() > 4, "{} segments", before.len());
    // An offset inside the third segment: the first two go, the third stays.
    let third_base: i64 = before[2]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    storage.delete_records("t", 0, third_base + 1).unwrap();
    let after = kit::partition_files(dir.path(), "t", 0, ".log");
    assert_eq!(after, before[2..].to_vec());
    assert!(kit::partition_files(dir.path(), "t", 0, ".index").len() == after.len());
    let read = storage.read("t", 0, third_base + 1, u32::MAX).unwrap();
    assert_eq!(kit::base_offset(&read.batches), third_base + 1);
}

#[test]
fn the_log_start_persists_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(kit::config(dir.path())).unwrap();
        storage.create_topic("t", 1).unwrap();
        fill(&storage, 10);
        storage.delete_records("t", 0, 7).unwrap();
    }
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.offsets("t", 0).unwrap().log_start, 7);
    assert!(matches!(
        storage.read("t", 0, 6, u32::MAX),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn retention_and_delete_records_both_only_raise_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let storage = small_segments(dir.path(), 4096, 1);
    fill(&storage, 40);
    storage.delete_records("t", 0, 1).unwrap();
    let mut overrides = sluice_storage::TopicOverrides::new();
    overrides.insert("segment.bytes".into(), "4096".into());
    overrides.insert("retention.bytes".into(), "5000".into());
    storage.alter_topic_config("t", &overrides).unwrap();
    storage.enforce_retention(kit::now_ms());
    let after_retention = storage.offsets("t", 0).unwrap().log_start;
    assert!(after_retention > 1);
    assert_eq!(
        storage.delete_records("t", 0, 1).unwrap(),
        after_retention,
        "an older DeleteRecords offset does not lower it"
    );
    drop(storage);
    let storage = small_segments(dir.path(), 4096, 1);
    assert_eq!(storage.offsets("t", 0).unwrap().log_start, after_retention);
}

#[test]
fn time_lookups_skip_deleted_records() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    for i in 0..5 {
        storage
            .append("t", 0, &kit::batch_at(1000 + i, &[b"a"]))
            .unwrap();
    }
    storage.delete_records("t", 0, 3).unwrap();
    let found = storage.offset_for_timestamp("t", 0, 0).unwrap().unwrap();
    assert_eq!(found.offset, 3);
}

#[test]
fn delete_records_is_refused_on_a_compact_only_topic() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(dir.path(), &[("cleanup.policy", "compact")]);
    assert!(matches!(
        storage.delete_records("t", 0, 0),
        Err(StorageError::InvalidConfig { .. })
    ));
}
