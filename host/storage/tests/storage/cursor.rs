//! Queue cursors: out-of-order acknowledgements, delivery counts, limits, and recovery after
//! a crash at any point of a journal append or a snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sluice_storage::{CursorLimits, CursorState, QueueCursor, StorageError};

/// Small enough that a few changes retire the journal into a snapshot.
const JOURNAL_BYTES_TINY: u64 = 64;

fn tiny() -> CursorLimits {
    CursorLimits {
        journal_bytes_max: JOURNAL_BYTES_TINY,
        ..CursorLimits::default()
    }
}

fn journal(dir: &Path) -> PathBuf {
    dir.join("cursor.journal")
}

fn snapshot(dir: &Path) -> PathBuf {
    dir.join("cursor.snapshot")
}

/// The acked ranges as pairs: clippy reads a one-range array as a mistake.
fn ranges(cursor: &QueueCursor) -> Vec<(i64, i64)> {
    cursor.acked_ranges().map(|r| (r.start, r.end)).collect()
}

fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn reopen(dir: &Path, limits: CursorLimits) -> CursorState {
    QueueCursor::open(dir, limits).unwrap().state()
}

/// Bytes of an empty journal and of one record, measured rather than assumed.
fn journal_sizes() -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    let empty = len(&journal(dir.path()));
    cursor.ack(3).unwrap();
    cursor.flush().unwrap();
    (empty, len(&journal(dir.path())) - empty)
}

#[test]
fn journaled_changes_reach_the_file_in_one_write_when_flushed_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (empty, record) = journal_sizes();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    for offset in [0, 1, 2] {
        cursor.ack(offset).unwrap();
    }
    cursor.record_delivery(5).unwrap();
    // In effect at once, on file only once flushed.
    assert_eq!(cursor.floor(), 3);
    assert_eq!(len(&journal(dir.path())), empty);
    cursor.flush().unwrap();
    assert_eq!(len(&journal(dir.path())), empty + 4 * record);
    cursor.ack(4).unwrap();
    let expected = cursor.state();
    drop(cursor);
    assert_eq!(len(&journal(dir.path())), empty + 5 * record);
    assert_eq!(reopen(dir.path(), CursorLimits::default()), expected);
}

#[test]
fn out_of_order_acks_raise_the_floor_when_the_gap_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    for offset in [2, 4, 1, 6] {
        assert!(cursor.ack(offset).unwrap());
    }
    assert_eq!(cursor.floor(), 0);
    assert_eq!(
        cursor.acked_ranges().collect::<Vec<_>>(),
        [1..3, 4..5, 6..7]
    );
    assert!(cursor.ack(0).unwrap());
    assert_eq!(cursor.floor(), 3, "the floor absorbs the range 1..3");
    assert!(cursor.ack(3).unwrap());
    assert_eq!(cursor.floor(), 5);
    assert!(cursor.ack(5).unwrap());
    assert_eq!(cursor.floor(), 7);
    assert_eq!(cursor.acked_ranges().count(), 0);
}

#[test]
fn acking_twice_is_a_no_op_that_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    assert!(cursor.ack(0).unwrap());
    assert!(cursor.ack(5).unwrap());
    let journal_bytes = len(&journal(dir.path()));
    assert!(!cursor.ack(0).unwrap());
    assert!(!cursor.ack(5).unwrap());
    cursor.ack_below(1).unwrap();
    assert_eq!(len(&journal(dir.path())), journal_bytes);
    assert_eq!(ranges(&cursor), [(5, 6)]);
}

#[test]
fn ack_below_moves_the_floor_past_every_range_it_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    for offset in [3, 4, 5, 8, 12] {
        cursor.ack(offset).unwrap();
    }
    cursor.record_delivery(7).unwrap();
    cursor.record_delivery(9).unwrap();
    cursor.ack_below(4).unwrap();
    assert_eq!(
        cursor.floor(),
        6,
        "4 lies in 3..6, so the floor goes to its end"
    );
    cursor.ack_below(8).unwrap();
    assert_eq!(
        cursor.floor(),
        9,
        "a range starting at the new floor is absorbed"
    );
    assert_eq!(ranges(&cursor), [(12, 13)]);
    assert_eq!(cursor.delivery_count(7), 0, "acknowledged by ack_below");
    assert_eq!(cursor.delivery_count(9), 1);
    cursor.ack_below(2).unwrap();
    assert_eq!(cursor.floor(), 9, "the floor never moves down");
    cursor.ack_below(i64::MAX).unwrap();
    assert_eq!(cursor.floor(), i64::MAX);
    assert!(cursor.state().acked.is_empty() && cursor.state().delivery_counts.is_empty());
}

#[test]
fn next_unacked_skips_the_floor_and_every_acked_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    assert_eq!(cursor.next_unacked(0), 0);
    for offset in [0, 1, 3, 4, 6] {
        cursor.ack(offset).unwrap();
    }
    assert_eq!(cursor.next_unacked(0), 2);
    assert_eq!(cursor.next_unacked(-5), 2);
    assert_eq!(cursor.next_unacked(3), 5);
    assert_eq!(cursor.next_unacked(5), 5);
    assert_eq!(cursor.next_unacked(6), 7);
    assert!(cursor.is_acked(-1) && cursor.is_acked(4) && !cursor.is_acked(5));
}

#[test]
fn delivery_counts_grow_survive_reopen_and_vanish_on_ack() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    assert_eq!(cursor.record_delivery(4).unwrap(), 1);
    assert_eq!(cursor.record_delivery(4).unwrap(), 2);
    assert_eq!(cursor.record_delivery(9).unwrap(), 1);
    cursor.sync().unwrap();
    drop(cursor);

    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    assert_eq!((cursor.delivery_count(4), cursor.delivery_count(9)), (2, 1));
    assert_eq!(cursor.record_delivery(4).unwrap(), 3);
    cursor.ack(4).unwrap();
    assert_eq!(cursor.delivery_count(4), 0);
    assert_eq!(
        cursor.record_delivery(4).unwrap(),
        0,
        "an acked offset is not delivered"
    );
    drop(cursor);
    let state = reopen(dir.path(), CursorLimits::default());
    assert_eq!(state.delivery_counts, BTreeMap::from([(9, 1)]));
}

#[test]
fn offsets_a_log_cannot_hold_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    for result in [
        cursor.ack(-1).map(|_| ()),
        cursor.ack(i64::MAX).map(|_| ()),
        cursor.record_delivery(-3).map(|_| ()),
        cursor.record_delivery(i64::MAX).map(|_| ()),
        cursor.ack_below(-1),
    ] {
        assert!(
            matches!(result, Err(StorageError::OffsetOutOfRange { .. })),
            "{result:?}"
        );
    }
    assert_eq!(cursor.state(), CursorState::default());
    assert!(cursor.ack(i64::MAX - 1).unwrap());
}

#[test]
fn too_many_ranges_fail_with_cursor_full_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = CursorLimits {
        ranges_max: 2,
        ..CursorLimits::default()
    };
    let mut cursor = QueueCursor::open(dir.path(), limits).unwrap();
    cursor.ack(2).unwrap();
    cursor.ack(4).unwrap();
    let before = cursor.state();
    let err = cursor.ack(6).unwrap_err();
    assert!(
        matches!(err, StorageError::CursorFull { max: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("acknowledged ranges"), "{err}");
    assert_eq!(cursor.state(), before);
    // Acks that extend, merge or reach the floor need no new range.
    assert!(cursor.ack(5).unwrap());
    assert!(cursor.ack(3).unwrap());
    assert!(cursor.ack(0).unwrap());
    assert!(cursor.ack(9).unwrap());
    assert_eq!(cursor.state().acked, [2..6, 9..10]);
}

#[test]
fn too_many_delivery_counts_fail_with_cursor_full_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = CursorLimits {
        counted_max: 2,
        ..CursorLimits::default()
    };
    let mut cursor = QueueCursor::open(dir.path(), limits).unwrap();
    cursor.record_delivery(0).unwrap();
    cursor.record_delivery(1).unwrap();
    let before = cursor.state();
    let err = cursor.record_delivery(2).unwrap_err();
    assert!(
        matches!(err, StorageError::CursorFull { max: 2, .. }),
        "{err:?}"
    );
    assert_eq!(cursor.state(), before);
    assert_eq!(cursor.record_delivery(1).unwrap(), 2);
    cursor.ack(0).unwrap();
    assert_eq!(cursor.record_delivery(2).unwrap(), 1);
}

#[test]
fn a_state_above_lowered_limits_still_opens_and_can_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
    for offset in [1, 3, 5, 7] {
        cursor.ack(offset).unwrap();
        cursor.record_delivery(offset + 1).unwrap();
    }
    let before = cursor.state();
    drop(cursor);
    let lowered = CursorLimits {
        ranges_max: 1,
        counted_max: 1,
        ..tiny()
    };
    let mut cursor = QueueCursor::open(dir.path(), lowered).unwrap();
    assert_eq!(cursor.state(), before);
    assert!(matches!(
        cursor.ack(10),
        Err(StorageError::CursorFull { .. })
    ));
    assert!(matches!(
        cursor.record_delivery(20),
        Err(StorageError::CursorFull { .. })
    ));
    cursor.ack(2).unwrap();
    assert_eq!(cursor.record_delivery(4).unwrap(), 2);
}

#[test]
fn snapshots_keep_the_journal_small() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
    let (_, record) = journal_sizes();
    for offset in (0..400).rev() {
        cursor.record_delivery(offset).unwrap();
        cursor.ack(offset).unwrap();
        let snapshot_bytes = fs::metadata(snapshot(dir.path())).map_or(0, |m| m.len());
        let bound = JOURNAL_BYTES_TINY.max(snapshot_bytes) + record;
        assert!(len(&journal(dir.path())) <= bound, "offset {offset}");
    }
    assert_eq!(cursor.floor(), 400);
    drop(cursor);
    assert_eq!(reopen(dir.path(), tiny()).floor, 400);
}

/// A cursor in `dir` after a mix of changes, then one more `last` change. Returns the state
/// before and after `last`; `last` added exactly one record to the journal.
fn state_around_last_change(
    dir: &Path,
    limits: CursorLimits,
    last: fn(&mut QueueCursor),
) -> (CursorState, CursorState) {
    let mut cursor = QueueCursor::open(dir, limits).unwrap();
    for offset in [5, 1, 0, 9, 7] {
        cursor.record_delivery(offset + 1).unwrap();
        cursor.ack(offset).unwrap();
    }
    cursor.ack_below(3).unwrap();
    cursor.sync().unwrap();
    let before = cursor.state();
    let journal_before = len(&journal(dir));
    last(&mut cursor);
    cursor.flush().unwrap();
    let (empty, record) = journal_sizes();
    let journal_after = len(&journal(dir));
    // A change that retired the journal first is the only record of a fresh one.
    assert!(journal_after == journal_before + record || journal_after == empty + record);
    let after = cursor.state();
    assert_ne!(before, after);
    (before, after)
}

const LAST_CHANGES: [fn(&mut QueueCursor); 3] = [
    |c| assert!(c.ack(20).unwrap()),
    |c| c.ack_below(8).unwrap(),
    |c| assert_eq!(c.record_delivery(4).unwrap(), 1),
];

#[test]
fn a_torn_last_record_is_cut_off_at_every_byte_position() {
    let (_, record) = journal_sizes();
    for limits in [CursorLimits::default(), tiny()] {
        for last in LAST_CHANGES {
            let dir = tempfile::tempdir().unwrap();
            let (before, after) = state_around_last_change(dir.path(), limits.clone(), last);
            let bytes = fs::read(journal(dir.path())).unwrap();
            let record_start = bytes.len() - record as usize;
            for cut in record_start..bytes.len() {
                fs::write(journal(dir.path()), &bytes[..cut]).unwrap();
                assert_eq!(reopen(dir.path(), limits.clone()), before, "cut at {cut}");
                assert_eq!(len(&journal(dir.path())), record_start as u64);
            }
            fs::write(journal(dir.path()), &bytes).unwrap();
            assert_eq!(reopen(dir.path(), limits.clone()), after);
        }
    }
}

#[test]
fn a_bit_flip_in_the_last_record_drops_that_record_alone() {
    let (_, record) = journal_sizes();
    for last in LAST_CHANGES {
        let dir = tempfile::tempdir().unwrap();
        let (before, _) = state_around_last_change(dir.path(), CursorLimits::default(), last);
        let bytes = fs::read(journal(dir.path())).unwrap();
        let record_start = bytes.len() - record as usize;
        for bit in record_start * 8..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            fs::write(journal(dir.path()), &flipped).unwrap();
            assert_eq!(
                reopen(dir.path(), CursorLimits::default()),
                before,
                "bit {bit}"
            );
        }
    }
}

#[test]
fn a_damaged_record_in_the_middle_ends_the_journal_there() {
    let dir = tempfile::tempdir().unwrap();
    let (empty, record) = journal_sizes();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    let mut states = vec![cursor.state()];
    for offset in [4, 2, 0, 1, 3] {
        cursor.ack(offset).unwrap();
        states.push(cursor.state());
    }
    drop(cursor);
    let mut bytes = fs::read(journal(dir.path())).unwrap();
    bytes[(empty + 2 * record + 5) as usize] ^= 0x40;
    fs::write(journal(dir.path()), &bytes).unwrap();
    let mut cursor = QueueCursor::open(dir.path(), CursorLimits::default()).unwrap();
    assert_eq!(cursor.state(), states[2]);
    // The journal continues after the records kept.
    cursor.ack(0).unwrap();
    drop(cursor);
    assert_eq!(
        reopen(dir.path(), CursorLimits::default()).acked,
        [2..3, 4..5]
    );
}

/// The cursor files of `dir`: the snapshot (if any) and the journal.
fn files(dir: &Path) -> (Option<Vec<u8>>, Vec<u8>) {
    (
        fs::read(snapshot(dir)).ok(),
        fs::read(journal(dir)).unwrap(),
    )
}

/// A fresh directory holding exactly `files`.
fn restore(
    snapshot_bytes: Option<&[u8]>,
    journal_bytes: &[u8],
    temps: &[(&str, &[u8])],
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(bytes) = snapshot_bytes {
        fs::write(snapshot(dir.path()), bytes).unwrap();
    }
    fs::write(journal(dir.path()), journal_bytes).unwrap();
    for (name, bytes) in temps {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

#[test]
fn a_crash_at_any_step_of_a_snapshot_recovers_the_state_before_or_after_it() {
    let (empty, _) = journal_sizes();
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
    let mut rotations = 0;
    for offset in (0..60).rev() {
        let (old_snapshot, old_journal) = files(dir.path());
        let before = cursor.state();
        // One change per step, so the rotation happened right before it.
        if offset % 3 == 0 {
            cursor.ack(offset).unwrap();
        } else {
            cursor.record_delivery(offset).unwrap();
        }
        cursor.flush().unwrap();
        let (new_snapshot, new_journal) = files(dir.path());
        if new_snapshot == old_snapshot {
            continue;
        }
        rotations += 1;
        let after = cursor.state();
        let new_snapshot = new_snapshot.unwrap();
        let fresh_journal = &new_journal[..empty as usize];
        let crashes = [
            // While writing the temporary snapshot: the old pair stands.
            (
                "snapshot temp written",
                restore(
                    old_snapshot.as_deref(),
                    &old_journal,
                    &[(
                        "cursor.snapshot.tmp",
                        &new_snapshot[..new_snapshot.len() / 2],
                    )],
                ),
                &before,
            ),
            // After the snapshot's rename: the old journal is stale.
            (
                "snapshot renamed",
                restore(
                    Some(&new_snapshot),
                    &old_journal,
                    &[("cursor.journal.tmp", fresh_journal)],
                ),
                &before,
            ),
            // After the journal's rename, before the change that triggered the rotation.
            (
                "journal renamed",
                restore(Some(&new_snapshot), fresh_journal, &[]),
                &before,
            ),
            (
                "done",
                restore(Some(&new_snapshot), &new_journal, &[]),
                &after,
            ),
        ];
        for (step, crashed, expected) in crashes {
            let mut recovered = QueueCursor::open(crashed.path(), tiny()).unwrap();
            assert_eq!(&recovered.state(), expected, "crash after: {step}");
            for temp in ["cursor.snapshot.tmp", "cursor.journal.tmp"] {
                assert!(!crashed.path().join(temp).exists(), "{step}: {temp} left");
            }
            // The recovered cursor keeps working across further snapshots.
            for offset in 100..110 {
                recovered.ack(offset).unwrap();
            }
            let state = recovered.state();
            drop(recovered);
            assert_eq!(reopen(crashed.path(), tiny()), state, "{step}: reopen");
        }
    }
    assert!(rotations >= 3, "only {rotations} snapshots written");
}

#[test]
fn a_corrupt_snapshot_fails_open_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
    for offset in 0..20 {
        cursor.ack(offset * 2).unwrap();
    }
    drop(cursor);
    let path = snapshot(dir.path());
    let good = fs::read(&path).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 1;
    for damaged in [flipped, good[..good.len() - 1].to_vec(), Vec::new()] {
        fs::write(&path, &damaged).unwrap();
        match QueueCursor::open(dir.path(), tiny()) {
            Err(e @ StorageError::CorruptMeta { .. }) => {
                let StorageError::CorruptMeta { path: named, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(named, &path);
                assert!(e.to_string().contains("cursor.snapshot"), "{e}");
            }
            other => panic!("expected CorruptMeta, got {other:?}"),
        }
    }
    fs::write(&path, &good).unwrap();
    assert_eq!(reopen(dir.path(), tiny()).acked.len(), 19);
}

#[test]
fn a_damaged_journal_header_or_a_missing_file_fails_open_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
    for offset in 0..20 {
        cursor.ack(offset * 2).unwrap();
    }
    drop(cursor);
    let (snapshot_bytes, journal_bytes) = files(dir.path());
    let snapshot_bytes = snapshot_bytes.expect("a snapshot was written");
    let corrupt_path = |dir: &Path| match QueueCursor::open(dir, tiny()) {
        Err(StorageError::CorruptMeta { path, .. }) => path,
        other => panic!("expected CorruptMeta, got {other:?}"),
    };

    let mut header_flipped = journal_bytes.clone();
    header_flipped[6] ^= 1;
    let damaged = restore(Some(&snapshot_bytes), &header_flipped, &[]);
    assert_eq!(corrupt_path(damaged.path()), journal(damaged.path()));

    let no_journal = restore(Some(&snapshot_bytes), &journal_bytes, &[]);
    fs::remove_file(journal(no_journal.path())).unwrap();
    assert_eq!(corrupt_path(no_journal.path()), journal(no_journal.path()));

    let no_snapshot = restore(None, &journal_bytes, &[]);
    assert_eq!(
        corrupt_path(no_snapshot.path()),
        snapshot(no_snapshot.path())
    );
}

#[test]
fn open_creates_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let queue = dir.path().join("queues").join("orders");
    let mut cursor = QueueCursor::open(&queue, CursorLimits::default()).unwrap();
    cursor.ack(0).unwrap();
    cursor.sync().unwrap();
    drop(cursor);
    assert_eq!(reopen(&queue, CursorLimits::default()).floor, 1);
}

#[derive(Debug, Clone)]
enum Op {
    Ack(i64),
    AckBelow(i64),
    Deliver(i64),
    Sync,
    /// Close and open again; unsynced changes survive, as in a process crash.
    Reopen,
}

/// Offsets close together, so acks often touch, merge and reach the floor.
const OFFSETS: i64 = 48;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..OFFSETS).prop_map(Op::Ack),
        1 => (0..OFFSETS).prop_map(Op::AckBelow),
        5 => (0..OFFSETS).prop_map(Op::Deliver),
        1 => Just(Op::Sync),
        1 => Just(Op::Reopen),
    ]
}

/// The cursor as a set of acknowledged offsets and a map of counts.
#[derive(Default)]
struct Model {
    acked: BTreeSet<i64>,
    counts: BTreeMap<i64, u32>,
}

impl Model {
    fn state(&self) -> CursorState {
        let floor = (0..).find(|o| !self.acked.contains(o)).unwrap();
        let mut acked: Vec<std::ops::Range<i64>> = Vec::new();
        for &offset in self.acked.range(floor..) {
            match acked.last_mut() {
                Some(range) if range.end == offset => range.end += 1,
                _ => acked.push(offset..offset + 1),
            }
        }
        CursorState {
            floor,
            acked,
            delivery_counts: self.counts.clone(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn queue_cursors_recover_exactly(ops in prop::collection::vec(op(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let mut cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Ack(offset) => {
                    let new = model.acked.insert(offset);
                    model.counts.remove(&offset);
                    prop_assert_eq!(cursor.ack(offset).unwrap(), new);
                }
                Op::AckBelow(offset) => {
                    model.acked.extend(0..offset);
                    model.counts.retain(|o, _| !model.acked.contains(o));
                    cursor.ack_below(offset).unwrap();
                }
                Op::Deliver(offset) => {
                    let expected = if model.acked.contains(&offset) {
                        0
                    } else {
                        let count = model.counts.entry(offset).or_insert(0);
                        *count += 1;
                        *count
                    };
                    prop_assert_eq!(cursor.record_delivery(offset).unwrap(), expected);
                }
                Op::Sync => cursor.sync().unwrap(),
                Op::Reopen => {
                    drop(cursor);
                    cursor = QueueCursor::open(dir.path(), tiny()).unwrap();
                }
            }
            let expected = model.state();
            prop_assert_eq!(cursor.state(), expected.clone());
            prop_assert_eq!(cursor.floor(), expected.floor);
            prop_assert_eq!(cursor.acked_ranges().collect::<Vec<_>>(), expected.acked);
            for offset in 0..OFFSETS + 2 {
                prop_assert_eq!(cursor.is_acked(offset), model.acked.contains(&offset));
                let next = (offset..).find(|o| !model.acked.contains(o)).unwrap();
                prop_assert_eq!(cursor.next_unacked(offset), next);
                prop_assert_eq!(
                    cursor.delivery_count(offset),
                    model.counts.get(&offset).copied().unwrap_or(0)
                );
            }
        }
        cursor.sync().unwrap();
        let closed = cursor.state();
        drop(cursor);
        prop_assert_eq!(reopen(dir.path(), tiny()), closed);
    }
}
