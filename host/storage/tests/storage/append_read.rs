//! Appending batches and reading them back.

use sluice_storage::{PartitionOffsets, Storage, StorageConfig, StorageError};

use crate::kit::{self, batch_n, stored};

#[test]
fn appended_batches_read_back_identical_apart_from_base_offset_and_epoch() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let first = batch_n("a", 3);
    let second = batch_n("b", 2);

    let r1 = storage.append("t", 0, &first).unwrap();
    let r2 = storage.append("t", 0, &second).unwrap();
    assert_eq!((r1.base_offset, r1.last_offset, r1.log_start), (0, 2, 0));
    assert_eq!((r2.base_offset, r2.last_offset), (3, 4));
    assert!(r2.append_time_ms >= r1.append_time_ms && r1.append_time_ms > 0);

    let read = storage.read("t", 0, 0, u32::MAX).unwrap();
    let mut expected = stored(&first, 0);
    expected.extend(stored(&second, 3));
    assert_eq!(&read.batches[..], &expected[..]);
    assert_eq!(
        read.offsets,
        PartitionOffsets {
            log_start: 0,
            log_end: 5,
            high_watermark: 5,
        }
    );
}

#[test]
fn producer_base_offsets_are_ignored_and_offsets_stay_contiguous() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let mut expected_base = 0;
    for n in 1..=20 {
        let mut b = batch_n("x", n);
        // What a producer puts there is irrelevant; it is outside the CRC.
        b[0..8].copy_from_slice(&(9_999 * n as i64).to_be_bytes());
        let r = storage.append("t", 0, &b).unwrap();
        assert_eq!(r.base_offset, expected_base);
        assert_eq!(r.last_offset, expected_base + n as i64 - 1);
        expected_base += n as i64;
    }
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, expected_base);
}

#[test]
fn several_batches_in_one_append_get_consecutive_offsets() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let (a, b, c) = (batch_n("a", 2), batch_n("b", 1), batch_n("c", 4));
    let input = [a.clone(), b.clone(), c.clone()].concat();
    let r = storage.append("t", 0, &input).unwrap();
    assert_eq!((r.base_offset, r.last_offset), (0, 6));
    let read = storage.read("t", 0, 0, u32::MAX).unwrap();
    assert_eq!(
        read.batches,
        [stored(&a, 0), stored(&b, 2), stored(&c, 3)].concat()
    );
}

#[test]
fn partitions_are_independent() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 3).unwrap();
    storage.append("t", 0, &batch_n("p0", 5)).unwrap();
    let r = storage.append("t", 2, &batch_n("p2", 1)).unwrap();
    assert_eq!(r.base_offset, 0);
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 5);
    assert_eq!(storage.offsets("t", 1).unwrap().log_end, 0);
    assert_eq!(storage.offsets("t", 2).unwrap().log_end, 1);
    assert_eq!(
        storage.read("t", 2, 0, u32::MAX).unwrap().batches,
        stored(&batch_n("p2", 1), 0)
    );
}

fn assert_refused(storage: &Storage, input: &[u8], what: &str) {
    let before = storage.offsets("t", 0).unwrap();
    let err = storage.append("t", 0, input).unwrap_err();
    assert!(
        matches!(err, StorageError::CorruptBatch(_)),
        "{what}: {err:?}"
    );
    assert_eq!(
        storage.offsets("t", 0).unwrap(),
        before,
        "{what}: nothing appended"
    );
    let read = storage.read("t", 0, 0, u32::MAX).unwrap();
    assert_eq!(
        read.batches,
        stored(&batch_n("ok", 2), 0),
        "{what}: log unchanged"
    );
}

#[test]
fn invalid_batches_are_refused_and_nothing_is_appended() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    storage.append("t", 0, &batch_n("ok", 2)).unwrap();
    let good = batch_n("good", 3);

    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x01;
    assert_refused(&storage, &bad_crc, "bad crc");

    let mut bad_magic = good.clone();
    bad_magic[16] = 1;
    assert_refused(&storage, &bad_magic, "magic 1");

    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage");
    assert_refused(&storage, &trailing, "trailing garbage");

    assert_refused(&storage, &good[..good.len() - 1], "truncated batch");
    assert_refused(&storage, &good[..30], "partial header");
    assert_refused(&storage, &[], "empty input");

    let mut short_length = good.clone();
    short_length[8..12].copy_from_slice(&48i32.to_be_bytes());
    assert_refused(&storage, &short_length, "length below header");

    let mut negative_delta = good.clone();
    negative_delta[23..27].copy_from_slice(&(-1i32).to_be_bytes());
    kit::fix_crc(&mut negative_delta);
    assert_refused(&storage, &negative_delta, "negative last offset delta");

    // A bad batch after a good one refuses the good one too: all or nothing.
    assert_refused(&storage, &[good.clone(), bad_crc].concat(), "good then bad");
}

#[test]
fn a_batch_above_the_limit_is_record_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        batch_bytes_max: 100,
        ..kit::config(dir.path())
    };
    let storage = Storage::open(config).unwrap();
    storage.create_topic("t", 1).unwrap();
    let big = kit::batch(&[&[7u8; 100]]);
    let err = storage.append("t", 0, &big).unwrap_err();
    assert!(
        matches!(err, StorageError::RecordTooLarge { bytes, max: 100 } if bytes == big.len() as u64),
        "{err:?}"
    );
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 0);
    // Each batch is measured alone: two small ones above the limit together are fine.
    let small = batch_n("s", 1);
    assert!(2 * small.len() > 100 && small.len() <= 100);
    storage
        .append("t", 0, &[small.clone(), small].concat())
        .unwrap();
}

/// Five batches of three records each: offsets 0..15.
fn five_batches(storage: &Storage) -> Vec<Vec<u8>> {
    storage.create_topic("t", 1).unwrap();
    (0..5)
        .map(|i| {
            let b = batch_n(&format!("batch{i}"), 3);
            storage.append("t", 0, &b).unwrap();
            stored(&b, i * 3)
        })
        .collect()
}

#[test]
fn read_returns_one_whole_batch_when_max_bytes_is_smaller() {
    let (_dir, storage) = kit::open_temp();
    let batches = five_batches(&storage);
    for max_bytes in [
        0,
        1,
        61,
        batches[1].len() as u32 - 1,
        batches[1].len() as u32,
    ] {
        let read = storage.read("t", 0, 3, max_bytes).unwrap();
        assert_eq!(read.batches, batches[1], "max_bytes {max_bytes}");
    }
}

#[test]
fn read_returns_as_many_whole_batches_as_fit() {
    let (_dir, storage) = kit::open_temp();
    let batches = five_batches(&storage);
    let two = (batches[0].len() + batches[1].len()) as u32;
    assert_eq!(
        storage.read("t", 0, 0, two).unwrap().batches,
        batches[..2].concat()
    );
    assert_eq!(
        storage.read("t", 0, 0, two + 50).unwrap().batches,
        batches[..2].concat()
    );
    assert_eq!(
        storage.read("t", 0, 9, u32::MAX).unwrap().batches,
        batches[3..].concat()
    );
}

#[test]
fn read_at_an_offset_inside_a_batch_returns_that_batch() {
    let (_dir, storage) = kit::open_temp();
    let batches = five_batches(&storage);
    for offset in 0..15 {
        let read = storage.read("t", 0, offset, 1).unwrap();
        assert_eq!(
            read.batches,
            batches[offset as usize / 3],
            "offset {offset}"
        );
    }
}

#[test]
fn read_at_the_log_end_is_empty_and_beyond_is_out_of_range() {
    let (_dir, storage) = kit::open_temp();
    five_batches(&storage);
    let read = storage.read("t", 0, 15, u32::MAX).unwrap();
    assert!(read.batches.is_empty());
    assert_eq!(
        read.offsets,
        PartitionOffsets {
            log_start: 0,
            log_end: 15,
            high_watermark: 15,
        }
    );
    for offset in [16, -1, i64::MAX, i64::MIN] {
        let err = storage.read("t", 0, offset, u32::MAX).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::OffsetOutOfRange {
                    log_start: 0,
                    log_end: 15,
                    ..
                }
            ),
            "{offset}: {err:?}"
        );
    }
    storage.create_topic("empty", 1).unwrap();
    assert!(storage.read("empty", 0, 0, 100).unwrap().batches.is_empty());
}

#[test]
fn read_is_capped_by_read_bytes_max() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(StorageConfig {
        read_bytes_max: 1,
        ..kit::config(dir.path())
    })
    .unwrap();
    let batches = five_batches(&storage);
    // Capped to one byte, so exactly one batch: the minimum that still makes progress.
    assert_eq!(
        storage.read("t", 0, 0, u32::MAX).unwrap().batches,
        batches[0]
    );
}

#[test]
fn reads_anywhere_in_a_long_log_find_the_right_batch() {
    // Enough data for many sparse index entries (one per 4 KiB).
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let mut batches = Vec::new();
    let mut base = 0;
    for i in 0..400 {
        let b = batch_n(&format!("{i:0>40}"), 1 + i % 7);
        batches.push((base, stored(&b, base)));
        base = storage.append("t", 0, &b).unwrap().last_offset + 1;
    }
    for (i, (base, expected)) in batches.iter().enumerate() {
        let last = base + kit::offset_count(expected) - 1;
        for offset in [*base, last] {
            let read = storage.read("t", 0, offset, 0).unwrap();
            assert_eq!(
                &read.batches[..],
                &expected[..],
                "batch {i} offset {offset}"
            );
        }
    }
    let all = storage.read("t", 0, 0, u32::MAX).unwrap().batches;
    let all_expected: Vec<u8> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(all, all_expected);
}

#[test]
fn unknown_topics_and_partitions_are_errors() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 2).unwrap();
    let b = batch_n("x", 1);
    assert!(
        matches!(storage.append("nope", 0, &b), Err(StorageError::UnknownTopic(t)) if t == "nope")
    );
    assert!(matches!(
        storage.append("t", 2, &b),
        Err(StorageError::UnknownPartition { partition: 2, .. })
    ));
    assert!(matches!(
        storage.read("t", 7, 0, 1),
        Err(StorageError::UnknownPartition { .. })
    ));
    assert!(matches!(
        storage.offsets("nope", 0),
        Err(StorageError::UnknownTopic(_))
    ));
    assert!(matches!(
        storage.watch("t", 9),
        Err(StorageError::UnknownPartition { .. })
    ));
}

#[test]
fn watchers_see_the_log_end_after_each_append() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    let mut rx = storage.watch("t", 0).unwrap();
    assert_eq!(*rx.borrow_and_update(), 0);
    storage.append("t", 0, &batch_n("x", 4)).unwrap();
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), 4);
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn concurrent_appends_get_distinct_contiguous_offsets() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("t", 2).unwrap();
    let storage = std::sync::Arc::new(storage);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let storage = storage.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        let b = batch_n(&format!("t{t}-{i}"), 1 + i % 3);
                        (storage.append("t", t % 2, &b).unwrap(), b)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    for partition in 0..2 {
        let all = storage.read("t", partition, 0, u32::MAX).unwrap().batches;
        let stored_batches = kit::split(&all);
        let mut expected = 0;
        for b in &stored_batches {
            assert_eq!(kit::base_offset(b), expected);
            expected += kit::offset_count(b);
        }
        assert_eq!(storage.offsets("t", partition).unwrap().log_end, expected);
        // Every append is there, at the offset it was told, byte-identical.
        for (t, (r, b)) in results.iter().enumerate() {
            if (t / 50) as u32 % 2 != partition {
                continue;
            }
            let read = storage.read("t", partition, r.base_offset, 0).unwrap();
            assert_eq!(read.batches, stored(b, r.base_offset));
        }
    }
}
