//! The durability policies, group commit, failure points, torn tails that must not cost an
//! acknowledged write, and queue cursors opened through storage.

use std::time::Duration;

use sluice_storage::{CursorLimits, FailAction, Storage, StorageError, TopicOverrides};

use crate::kit::{self, sized_batch, stored};

fn open_fsync(dir: &std::path::Path) -> Storage {
    Storage::open(kit::fsync_config(dir)).unwrap()
}

#[test]
fn under_fsync_a_write_becomes_visible_only_once_fsynced() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_fsync(dir.path());
    storage.create_topic("t", 1).unwrap();
    storage.fail_points().arm(
        "fsync",
        FailAction::Sleep(Duration::from_millis(300)),
        Some(1),
    );
    let b = kit::batch_n("x", 3);
    let r = storage.append("t", 0, &b).unwrap();
    assert_eq!((r.base_offset, r.last_offset), (0, 2));
    assert!(r.high_watermark <= r.last_offset);
    // Written but not on disk yet: readers do not see it.
    let offsets = storage.offsets("t", 0).unwrap();
    assert_eq!((offsets.log_end, offsets.high_watermark), (3, 0));
    assert!(storage.read("t", 0, 0, 1000).unwrap().batches.is_empty());

    kit::wait_durable(&storage, "t", 0, r.last_offset);
    assert_eq!(
        storage.read("t", 0, 0, 1000).unwrap().batches,
        stored(&b, 0)
    );
    assert!(storage.stats().log_fsyncs >= 1);
}

#[test]
fn concurrent_writers_share_fsyncs() {
    const WRITERS: usize = 8;
    const APPENDS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let storage = open_fsync(dir.path());
    storage.create_topic("t", 1).unwrap();
    // Slow fsyncs, as on a busy disk: while one runs, the other writers queue behind it.
    storage
        .fail_points()
        .arm("fsync", FailAction::Sleep(Duration::from_millis(5)), None);
    let before = storage.stats();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let storage = &storage;
            scope.spawn(move || {
                for i in 0..APPENDS {
                    let r = storage
                        .append("t", 0, &sized_batch(w * 1000 + i, 1, 100))
                        .unwrap();
                    // Like a producer with acks=all and one request in flight.
                    kit::wait_durable(storage, "t", 0, r.last_offset);
                }
            });
        }
    });
    let after = storage.stats();
    let appends = after.appends - before.appends;
    let fsyncs = after.log_fsyncs - before.log_fsyncs;
    assert_eq!(appends, (WRITERS * APPENDS) as u64);
    assert!(
        fsyncs * 3 <= appends,
        "{fsyncs} fsyncs for {appends} appends: group commit is not sharing"
    );
    assert_eq!(
        storage.offsets("t", 0).unwrap().high_watermark,
        appends as i64
    );
}

#[test]
fn a_failed_fsync_stops_the_partition_and_a_restart_recovers_it() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_fsync(dir.path());
    storage.create_topic("t", 2).unwrap();
    let mut watch = storage.watch("t", 0).unwrap();
    storage
        .fail_points()
        .arm("fsync", FailAction::Error, Some(1));
    storage.append("t", 0, &kit::batch_n("x", 1)).unwrap();
    // The waiter is woken (the sender is dropped) rather than left to time out.
    let woke = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), watch.changed()).await });
    assert!(matches!(woke, Ok(Err(_))), "{woke:?}");
    let err = storage.append("t", 0, &kit::batch_n("y", 1)).unwrap_err();
    assert!(err.to_string().contains("fsync failed"), "{err}");
    assert!(storage.offsets("t", 0).is_err());
    // Other partitions carry on.
    let r = storage.append("t", 1, &kit::batch_n("z", 1)).unwrap();
    kit::wait_durable(&storage, "t", 1, r.last_offset);
    drop(storage);

    let storage = open_fsync(dir.path());
    let r = storage.append("t", 0, &kit::batch_n("w", 1)).unwrap();
    kit::wait_durable(&storage, "t", 0, r.last_offset);
}

#[test]
fn append_and_roll_failure_points_fail_one_append_and_leave_the_log_usable() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::small_segments(dir.path(), 4096, 1);
    storage
        .fail_points()
        .arm("append", FailAction::Error, Some(1));
    assert!(matches!(
        storage.append("t", 0, &sized_batch(0, 1, 100)),
        Err(StorageError::Io { .. })
    ));
    let mut next = 0;
    for i in 0..3 {
        let r = storage.append("t", 0, &sized_batch(i, 3, 300)).unwrap();
        assert_eq!(r.base_offset, next);
        next = r.last_offset + 1;
    }
    // The next append needs a roll.
    storage
        .fail_points()
        .arm("roll", FailAction::Error, Some(1));
    let big = sized_batch(9, 3, 900);
    assert!(storage.append("t", 0, &big).is_err());
    let r = storage.append("t", 0, &big).unwrap();
    assert_eq!(r.base_offset, next);
    assert_eq!(kit::partition_files(dir.path(), "t", 0, ".log").len(), 2);
    assert_eq!(
        storage.read("t", 0, next, 100_000).unwrap().batches,
        stored(&big, next)
    );
}

#[test]
fn a_truncate_failure_point_stops_the_open_before_anything_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("t", 1).unwrap();
    storage.append("t", 0, &kit::batch_n("x", 2)).unwrap();
    drop(storage);
    let log = kit::log_path(dir.path(), "t", 0);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"torn tail");
    std::fs::write(&log, &bytes).unwrap();

    let config = kit::config(dir.path());
    config.fail_points.arm("truncate", FailAction::Error, None);
    assert!(Storage::open(config).is_err());
    assert_eq!(std::fs::read(&log).unwrap(), bytes);
    // Without the failure the tail is cut.
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 2);
}

#[test]
fn relaxed_writes_are_visible_at_once_and_flushed_within_flush_ms() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kit::topic_with(dir.path(), &[("flush.ms", "50")]);
    let before = storage.stats().log_fsyncs;
    let r = storage.append("t", 0, &kit::batch_n("x", 1)).unwrap();
    assert!(r.high_watermark > r.last_offset);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while storage.stats().log_fsyncs == before {
        assert!(std::time::Instant::now() < deadline, "never flushed");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The heart of the durability claim: whatever a crash does to bytes that were never
/// acknowledged (cut anywhere, bits flipped anywhere), every acknowledged write survives and
/// the log recovers to its last valid batch.
#[test]
fn a_torn_or_bit_flipped_tail_never_loses_an_acknowledged_write() {
    let frozen = tempfile::tempdir().unwrap();
    let storage = open_fsync(frozen.path());
    let overrides = TopicOverrides::from([("segment.bytes".to_owned(), "8192".to_owned())]);
    storage.create_topic_with("t", 1, &overrides).unwrap();
    let mut acked = Vec::new();
    for i in 0..20 {
        let b = sized_batch(i, 2, 200);
        let r = storage.append("t", 0, &b).unwrap();
        kit::wait_durable(&storage, "t", 0, r.last_offset);
        acked.push(stored(&b, r.base_offset));
    }
    let acked_end = storage.offsets("t", 0).unwrap().log_end;
    let active = kit::partition_files(frozen.path(), "t", 0, ".log")
        .last()
        .unwrap()
        .clone();
    let acked_len = std::fs::metadata(&active).unwrap().len();
    // Written, never acknowledged: what a crash may tear.
    let mut unacked = Vec::new();
    for i in 20..24 {
        let b = sized_batch(i, 2, 200);
        let r = storage.append("t", 0, &b).unwrap();
        unacked.push(stored(&b, r.base_offset));
    }
    drop(storage);
    let full_len = std::fs::metadata(&active).unwrap().len();
    assert!(full_len > acked_len);
    let relative = active.strip_prefix(frozen.path()).unwrap().to_owned();

    // A fixed-seed generator: the same damages every run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for trial in 0..60 {
        let dir = tempfile::tempdir().unwrap();
        kit::copy_dir(frozen.path(), dir.path());
        let log = dir.path().join(&relative);
        let mut bytes = std::fs::read(&log).unwrap();
        let span = full_len - acked_len;
        if trial % 2 == 0 {
            bytes.truncate((acked_len + next() % (span + 1)) as usize);
        } else {
            for _ in 0..1 + next() % 3 {
                let at = (acked_len + next() % span) as usize;
                bytes[at] ^= 1 << (next() % 8);
            }
        }
        std::fs::write(&log, &bytes).unwrap();

        let storage = Storage::open(kit::fsync_config(dir.path())).unwrap();
        let offsets = storage.offsets("t", 0).unwrap();
        assert!(offsets.log_end >= acked_end, "trial {trial}: {offsets:?}");
        // Everything there is what was written, acknowledged first.
        let mut expected = acked.concat();
        let mut log_end = acked_end;
        for b in &unacked {
            if kit::base_offset(b) < offsets.log_end {
                expected.extend_from_slice(b);
                log_end = kit::base_offset(b) + kit::offset_count(b);
            }
        }
        assert_eq!(
            offsets.log_end, log_end,
            "trial {trial}: not at a batch boundary"
        );
        let mut read = Vec::new();
        let mut offset = 0;
        while offset < offsets.log_end {
            let r = storage.read("t", 0, offset, u32::MAX).unwrap();
            for b in kit::split(&r.batches) {
                offset = kit::base_offset(b) + kit::offset_count(b);
            }
            read.extend_from_slice(&r.batches);
        }
        assert_eq!(read, expected, "trial {trial}");
    }
}

#[test]
fn queue_cursors_opened_through_storage_recover_their_state() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let mut cursor = storage
        .queue_cursor("orders", CursorLimits::default())
        .unwrap();
    cursor.ack(0).unwrap();
    cursor.ack(2).unwrap();
    cursor.record_delivery(1).unwrap();
    cursor.sync().unwrap();
    let state = cursor.state();
    drop(cursor);
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let cursor = storage
        .queue_cursor("orders", CursorLimits::default())
        .unwrap();
    assert_eq!(cursor.state(), state);
    assert_eq!(cursor.delivery_count(1), 1);
    assert!(
        storage
            .queue_cursor("../escape", CursorLimits::default())
            .is_err()
    );
}

#[test]
fn fsync_histogram_counts_every_log_fsync_by_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_fsync(dir.path());
    storage.create_topic("t", 1).unwrap();
    // One fsync stalls for 30 ms: it must land in a bucket above 25 ms.
    storage.fail_points().arm(
        "fsync",
        FailAction::Sleep(Duration::from_millis(30)),
        Some(1),
    );
    let r = storage.append("t", 0, &kit::batch_n("x", 2)).unwrap();
    kit::wait_durable(&storage, "t", 0, r.last_offset);
    let stats = storage.stats();
    assert!(stats.log_fsyncs >= 1);
    assert_eq!(
        stats.log_fsync_buckets.iter().sum::<u64>(),
        stats.log_fsyncs
    );
    let slow: u64 = sluice_storage::FSYNC_BUCKETS_US
        .iter()
        .zip(&stats.log_fsync_buckets)
        .filter(|(bound, _)| **bound > 25_000)
        .map(|(_, count)| count)
        .sum::<u64>()
        + stats.log_fsync_buckets[sluice_storage::FSYNC_BUCKETS - 1];
    assert!(
        slow >= 1,
        "the stalled fsync is in no slow bucket: {stats:?}"
    );
    assert!(stats.log_fsync_time >= Duration::from_millis(30));
}
