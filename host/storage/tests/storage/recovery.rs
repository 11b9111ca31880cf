//! Restart: what survives close and reopen, and how a damaged log tail is cut off.

use std::fs::{self, OpenOptions};
use std::path::Path;

use sluice_storage::{Storage, StorageError};

use crate::kit::{self, batch_n, stored};

#[test]
fn every_append_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let cluster_id = storage.cluster_id().to_owned();
    assert_eq!(cluster_id.len(), 22);
    storage.create_topic("b-topic", 2).unwrap();
    storage.create_topic("a-topic", 1).unwrap();
    let (x, y, z) = (batch_n("x", 3), batch_n("y", 1), batch_n("z", 2));
    storage.append("b-topic", 0, &x).unwrap();
    storage.append("b-topic", 0, &y).unwrap();
    storage.append("b-topic", 1, &z).unwrap();
    drop(storage);

    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.cluster_id(), cluster_id);
    assert_eq!(
        storage.list_topics(),
        vec![kit::topic_info("a-topic", 1), kit::topic_info("b-topic", 2),]
    );
    let p0 = storage.read("b-topic", 0, 0, u32::MAX).unwrap();
    assert_eq!(p0.batches, [stored(&x, 0), stored(&y, 3)].concat());
    assert_eq!(p0.offsets.log_end, 4);
    assert_eq!(
        storage.read("b-topic", 1, 1, 0).unwrap().batches,
        stored(&z, 0)
    );
    assert_eq!(storage.offsets("a-topic", 0).unwrap().log_end, 0);
    // Appends continue where the log ended, and the index rebuilt at open finds old batches.
    assert_eq!(storage.append("b-topic", 0, &x).unwrap().base_offset, 4);
    assert_eq!(
        storage.read("b-topic", 0, 3, 0).unwrap().batches,
        stored(&y, 3)
    );
}

#[test]
fn a_long_log_is_indexed_again_at_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("t", 1).unwrap();
    let batches: Vec<Vec<u8>> = (0..300).map(|i| batch_n(&format!("{i:0>50}"), 2)).collect();
    for b in &batches {
        storage.append("t", 0, b).unwrap();
    }
    storage.flush().unwrap();
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    for (i, b) in batches.iter().enumerate() {
        let offset = i as i64 * 2 + 1;
        assert_eq!(
            storage.read("t", 0, offset, 0).unwrap().batches,
            stored(b, offset - 1)
        );
    }
}

/// A log holding batches `first` (3 records) and `last` (2 records), then closed.
fn two_batch_log(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let storage = Storage::open(kit::config(dir)).unwrap();
    storage.create_topic("t", 1).unwrap();
    let (first, last) = (batch_n("first", 3), batch_n("last", 2));
    storage.append("t", 0, &first).unwrap();
    storage.append("t", 0, &last).unwrap();
    (stored(&first, 0), stored(&last, 3))
}

/// Reopens after damage and checks the log was cut back to `first` and grows again from 3.
fn assert_recovered_to_first(dir: &Path, first: &[u8], what: &str) {
    let storage = Storage::open(kit::config(dir)).unwrap();
    let read = storage.read("t", 0, 0, u32::MAX).unwrap();
    assert_eq!(read.batches, first, "{what}");
    assert_eq!(read.offsets.log_end, 3, "{what}");
    let again = batch_n("again", 1);
    assert_eq!(
        storage.append("t", 0, &again).unwrap().base_offset,
        3,
        "{what}"
    );
    assert_eq!(
        storage.read("t", 0, 3, 0).unwrap().batches,
        stored(&again, 3),
        "{what}"
    );
    assert_eq!(
        fs::metadata(kit::log_path(dir, "t", 0)).unwrap().len(),
        (first.len() + again.len()) as u64,
        "{what}: the torn bytes are gone from the file"
    );
}

#[test]
fn a_log_torn_anywhere_inside_its_last_batch_recovers_to_the_batch_before() {
    let dir = tempfile::tempdir().unwrap();
    let (first, last) = two_batch_log(dir.path());
    let pristine = fs::read(kit::log_path(dir.path(), "t", 0)).unwrap();
    for cut in 0..last.len() {
        let path = kit::log_path(dir.path(), "t", 0);
        fs::write(&path, &pristine[..first.len() + cut]).unwrap();
        assert_recovered_to_first(dir.path(), &first, &format!("cut at {cut}"));
    }
}

#[test]
fn a_bit_flip_anywhere_in_the_last_batch_is_cut_off_at_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (first, last) = two_batch_log(dir.path());
    let pristine = fs::read(kit::log_path(dir.path(), "t", 0)).unwrap();
    // Every byte, each with a different bit: covers every header field and the records.
    for byte in 0..last.len() {
        let mut damaged = pristine.clone();
        damaged[first.len() + byte] ^= 1 << (byte % 8);
        fs::write(kit::log_path(dir.path(), "t", 0), &damaged).unwrap();
        assert_recovered_to_first(dir.path(), &first, &format!("flip in byte {byte}"));
    }
}

#[test]
fn garbage_after_the_last_batch_is_cut_off_at_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (first, last) = two_batch_log(dir.path());
    let path = kit::log_path(dir.path(), "t", 0);
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, &[0xab; 100]).unwrap();
    drop(file);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(
        storage.read("t", 0, 0, u32::MAX).unwrap().batches,
        [first, last].concat()
    );
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 5);
}

#[test]
fn a_batch_repeating_earlier_offsets_is_cut_off_at_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (first, last) = two_batch_log(dir.path());
    let path = kit::log_path(dir.path(), "t", 0);
    // A valid batch, but claiming offset 0 again: a log must never go backwards.
    fs::write(&path, [first.clone(), last, first.clone()].concat()).unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.offsets("t", 0).unwrap().log_end, 5);
}

#[test]
fn a_topic_whose_creation_did_not_finish_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("half", 2).unwrap();
    drop(storage);
    // A crash before topic.toml was renamed into place.
    fs::remove_file(dir.path().join("topics/half/topic.toml")).unwrap();
    fs::write(dir.path().join("topics/half/topic.toml.tmp"), "partit").unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert!(storage.topic("half").is_none());
    assert!(!dir.path().join("topics/half").exists());
    storage.create_topic("half", 1).unwrap();
}

#[test]
fn remains_of_a_delete_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("gone", 1).unwrap();
    storage.append("gone", 0, &batch_n("x", 1)).unwrap();
    drop(storage);
    // A crash after the rename into deleted/ and before the removal.
    fs::rename(
        dir.path().join("topics/gone"),
        dir.path().join("deleted/gone.1.deleted"),
    )
    .unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert!(storage.list_topics().is_empty());
    assert_eq!(fs::read_dir(dir.path().join("deleted")).unwrap().count(), 0);
}

#[test]
fn a_deleted_topic_stays_deleted_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("gone", 1).unwrap();
    storage.create_topic("kept", 1).unwrap();
    storage.delete_topic("gone").unwrap();
    drop(storage);
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert_eq!(storage.list_topics(), vec![kit::topic_info("kept", 1)]);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    let err = Storage::open(kit::config(dir.path())).unwrap_err();
    assert!(
        matches!(&err, StorageError::Io { source, .. } if source.kind() == std::io::ErrorKind::WouldBlock),
        "{err:?}"
    );
    drop(storage);
    Storage::open(kit::config(dir.path())).unwrap();
}

#[test]
fn damaged_metadata_is_refused_rather_than_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    storage.create_topic("t", 1).unwrap();
    drop(storage);
    let meta = dir.path().join("meta.toml");
    let original = fs::read_to_string(&meta).unwrap();

    fs::write(
        &meta,
        original.replace("format-version = 1", "format-version = 99"),
    )
    .unwrap();
    let err = Storage::open(kit::config(dir.path())).unwrap_err();
    assert!(
        matches!(&err, StorageError::CorruptMeta { reason, .. } if reason.contains("99")),
        "{err:?}"
    );

    fs::write(&meta, "cluster-id = [").unwrap();
    assert!(matches!(
        Storage::open(kit::config(dir.path())),
        Err(StorageError::CorruptMeta { .. })
    ));

    fs::write(&meta, original).unwrap();
    fs::write(dir.path().join("topics/t/topic.toml"), "partitions = 0\n").unwrap();
    assert!(matches!(
        Storage::open(kit::config(dir.path())),
        Err(StorageError::CorruptMeta { .. })
    ));

    fs::write(dir.path().join("topics/t/topic.toml"), "partitions = 2\n").unwrap();
    let err = Storage::open(kit::config(dir.path())).unwrap_err();
    assert!(
        matches!(&err, StorageError::CorruptMeta { reason, .. } if reason.contains("missing")),
        "{err:?}"
    );
}

#[test]
fn entries_in_topics_that_are_not_topics_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(kit::config(dir.path())).unwrap());
    fs::write(dir.path().join("topics/stray file"), "x").unwrap();
    fs::write(dir.path().join("topics/notadir"), "x").unwrap();
    let storage = Storage::open(kit::config(dir.path())).unwrap();
    assert!(storage.list_topics().is_empty());
}

#[test]
fn flush_succeeds_with_topics_and_after_a_delete() {
    let (_dir, storage) = kit::open_temp();
    storage.create_topic("a", 3).unwrap();
    storage.create_topic("b", 1).unwrap();
    storage.append("a", 1, &batch_n("x", 1)).unwrap();
    storage.flush().unwrap();
    storage.delete_topic("b").unwrap();
    storage.flush().unwrap();
}
