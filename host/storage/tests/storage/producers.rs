//! Idempotent producers: retries answered with their original offsets, gaps and stale epochs
//! refused, state rebuilt at open, and producer ids unique across restarts.

use std::collections::HashSet;

use sluice_storage::{PRODUCER_ID_BLOCK_SIZE, Storage, StorageError};

use crate::kit::{self, producer_batch, small_segments};

fn log_end(storage: &Storage) -> i64 {
    storage.offsets("t", 0).unwrap().log_end
}

fn open_with_topic() -> (tempfile::TempDir, Storage) {
    let (dir, storage) = kit::open_temp();
    storage.create_topic("t", 1).unwrap();
    (dir, storage)
}

#[test]
fn a_retried_batch_gets_its_original_offsets_and_appends_nothing() {
    let (_dir, storage) = open_with_topic();
    let first = producer_batch(7, 0, 0, &[b"a", b"b", b"c"]);
    let original = storage.append("t", 0, &first).unwrap();
    assert!(!original.duplicate);
    storage.append("t", 0, &kit::batch(&[b"other"])).unwrap();
    let end = log_end(&storage);

    let retry = storage.append("t", 0, &first).unwrap();
    assert!(retry.duplicate);
    assert_eq!((retry.base_offset, retry.last_offset), (0, 2));
    assert_eq!(retry.high_watermark, end);
    assert_eq!(log_end(&storage), end, "nothing appended");
    let read = storage.read("t", 0, 0, u32::MAX).unwrap();
    assert_eq!(kit::split(&read.batches).len(), 2);
}

#[test]
fn each_of_the_last_five_batches_is_recognised_when_retried() {
    let (_dir, storage) = open_with_topic();
    let batches: Vec<Vec<u8>> = (0..5)
        .map(|i| producer_batch(7, 0, i * 2, &[b"x", b"y"]))
        .collect();
    for b in &batches {
        storage.append("t", 0, b).unwrap();
    }
    for (i, b) in batches.iter().enumerate() {
        let retry = storage.append("t", 0, b).unwrap();
        assert!(retry.duplicate);
        assert_eq!(retry.base_offset, i as i64 * 2);
    }
    assert_eq!(log_end(&storage), 10);
}

#[test]
fn a_sequence_gap_is_refused_as_out_of_order() {
    let (_dir, storage) = open_with_topic();
    storage
        .append("t", 0, &producer_batch(7, 0, 0, &[b"a", b"b"]))
        .unwrap();
    let gap = storage.append("t", 0, &producer_batch(7, 0, 5, &[b"c"]));
    assert!(
        matches!(
            gap,
            Err(StorageError::OutOfOrderSequence {
                producer_id: 7,
                first_sequence: 5,
                ..
            })
        ),
        "{gap:?}"
    );
    assert_eq!(log_end(&storage), 2, "nothing appended");
    let next = storage
        .append("t", 0, &producer_batch(7, 0, 2, &[b"c"]))
        .unwrap();
    assert_eq!(next.base_offset, 2);
}

#[test]
fn a_stale_epoch_is_fenced() {
    let (_dir, storage) = open_with_topic();
    storage
        .append("t", 0, &producer_batch(7, 1, 0, &[b"a"]))
        .unwrap();
    let stale = storage.append("t", 0, &producer_batch(7, 0, 1, &[b"b"]));
    assert!(
        matches!(
            stale,
            Err(StorageError::InvalidProducerEpoch {
                producer_id: 7,
                epoch: 0,
                current: 1
            })
        ),
        "{stale:?}"
    );
    assert_eq!(log_end(&storage), 1);
}

#[test]
fn a_new_epoch_must_start_at_sequence_zero_and_fences_the_old_one() {
    let (_dir, storage) = open_with_topic();
    let old = producer_batch(7, 0, 0, &[b"a"]);
    storage.append("t", 0, &old).unwrap();
    let not_zero = storage.append("t", 0, &producer_batch(7, 1, 3, &[b"b"]));
    assert!(matches!(
        not_zero,
        Err(StorageError::OutOfOrderSequence { .. })
    ));
    storage
        .append("t", 0, &producer_batch(7, 1, 0, &[b"b"]))
        .unwrap();
    assert!(matches!(
        storage.append("t", 0, &old),
        Err(StorageError::InvalidProducerEpoch { .. })
    ));
    assert_eq!(log_end(&storage), 2);
}

#[test]
fn an_unknown_producer_is_accepted_at_any_sequence() {
    let (_dir, storage) = open_with_topic();
    let first = storage
        .append("t", 0, &producer_batch(9, 3, 42, &[b"a", b"b"]))
        .unwrap();
    assert!(!first.duplicate);
    storage
        .append("t", 0, &producer_batch(9, 3, 44, &[b"c"]))
        .unwrap();
    assert_eq!(log_end(&storage), 3);
}

#[test]
fn batches_without_a_producer_id_are_never_deduplicated() {
    let (_dir, storage) = open_with_topic();
    let b = kit::batch(&[b"a"]);
    storage.append("t", 0, &b).unwrap();
    let again = storage.append("t", 0, &b).unwrap();
    assert!(!again.duplicate);
    assert_eq!(log_end(&storage), 2);
}

#[test]
fn batches_of_one_append_are_checked_in_order() {
    let (_dir, storage) = open_with_topic();
    let mut two = producer_batch(7, 0, 0, &[b"a", b"b"]);
    two.extend(producer_batch(7, 0, 2, &[b"c"]));
    storage.append("t", 0, &two).unwrap();
    let mut gap = producer_batch(7, 0, 3, &[b"d"]);
    gap.extend(producer_batch(7, 0, 9, &[b"e"]));
    assert!(matches!(
        storage.append("t", 0, &gap),
        Err(StorageError::OutOfOrderSequence { .. })
    ));
    assert_eq!(
        log_end(&storage),
        3,
        "a refused append writes none of its batches"
    );
}

#[test]
fn a_retry_mixed_with_new_batches_is_refused() {
    let (_dir, storage) = open_with_topic();
    let first = producer_batch(7, 0, 0, &[b"a"]);
    storage.append("t", 0, &first).unwrap();
    let mut mixed = first.clone();
    mixed.extend(producer_batch(7, 0, 1, &[b"b"]));
    assert!(matches!(
        storage.append("t", 0, &mixed),
        Err(StorageError::OutOfOrderSequence { .. })
    ));
    assert_eq!(log_end(&storage), 1);
}

#[test]
fn a_retry_is_recognised_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = producer_batch(7, 0, 0, &[b"a", b"b"]);
    {
        let storage = Storage::open(kit::config(dir.path())).unwrap();
        storage.create_topic("t", 1).unwrap();
        storage.append("t", 0, &kit::batch(&[b"before"])).unwrap();
        storage.append("t", 0, &first).unwrap();
    }
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let retry = storage.append("t", 0, &first).unwrap();
    assert!(retry.duplicate);
    assert_eq!((retry.base_offset, retry.last_offset), (1, 2));
    assert!(matches!(
        storage.append("t", 0, &producer_batch(7, 0, 5, &[b"c"])),
        Err(StorageError::OutOfOrderSequence { .. })
    ));
    storage
        .append("t", 0, &producer_batch(7, 0, 2, &[b"c"]))
        .unwrap();
    assert_eq!(log_end(&storage), 4);
}

#[test]
fn producer_state_is_rebuilt_from_sealed_segments_too() {
    let dir = tempfile::tempdir().unwrap();
    let first = producer_batch(7, 0, 0, &[b"a"]);
    {
        let storage = small_segments(dir.path(), 4096, 1);
        storage.append("t", 0, &first).unwrap();
        // Another producer fills more segments; producer 7's batch ends up sealed.
        for i in 0..10 {
            storage
                .append("t", 0, &producer_batch(8, 0, i, &[&[b'v'; 1000]]))
                .unwrap();
        }
        assert!(kit::partition_files(dir.path(), "t", 0, ".log").len() > 2);
    }
    let storage = small_segments(dir.path(), 4096, 1);
    let retry = storage.append("t", 0, &first).unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.base_offset, 0);
}

#[test]
fn producer_ids_are_unique_across_restarts_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = HashSet::new();
    for _ in 0..2 {
        let storage = Storage::open(kit::config(dir.path())).unwrap();
        for _ in 0..(PRODUCER_ID_BLOCK_SIZE + 5) {
            let (id, epoch) = storage.init_producer_id(None).unwrap();
            assert_eq!(epoch, 0);
            assert!(seen.insert(id), "id {id} handed out twice");
        }
    }
}

#[test]
fn init_producer_id_bumps_the_epoch_and_moves_to_a_new_id_at_the_limit() {
    let (_dir, storage) = kit::open_temp();
    let (id, epoch) = storage.init_producer_id(None).unwrap();
    assert_eq!(
        storage.init_producer_id(Some((id, epoch))).unwrap(),
        (id, 1)
    );
    assert_eq!(
        storage.init_producer_id(Some((id, i16::MAX - 1))).unwrap(),
        (id, i16::MAX)
    );
    let (fresh, fresh_epoch) = storage.init_producer_id(Some((id, i16::MAX))).unwrap();
    assert_ne!(fresh, id);
    assert_eq!(fresh_epoch, 0);
    assert_eq!(storage.init_producer_id(Some((-1, -1))).unwrap().1, 0);
}

#[test]
fn an_id_never_allocated_cannot_have_its_epoch_bumped() {
    let (_dir, storage) = kit::open_temp();
    assert!(matches!(
        storage.init_producer_id(Some((5_000_000, 0))),
        Err(StorageError::InvalidProducerIdMapping(5_000_000))
    ));
}

#[test]
fn a_producer_older_than_the_segments_read_at_open_is_unknown_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = producer_batch(7, 0, 0, &[b"a"]);
    let segments = sluice_storage::PRODUCER_STATE_SEGMENTS_SCANNED + 2;
    {
        let storage = small_segments(dir.path(), 4096, 1);
        storage.append("t", 0, &first).unwrap();
        let mut seq = 0;
        while kit::partition_files(dir.path(), "t", 0, ".log").len() <= segments {
            storage
                .append("t", 0, &producer_batch(8, 0, seq, &[&[b'v'; 1000]]))
                .unwrap();
            seq += 1;
        }
    }
    let storage = small_segments(dir.path(), 4096, 1);
    // Forgotten as if expired: accepted again, at any sequence.
    let again = storage.append("t", 0, &first).unwrap();
    assert!(!again.duplicate);
    storage
        .append("t", 0, &producer_batch(7, 0, 1, &[b"b"]))
        .unwrap();
}
