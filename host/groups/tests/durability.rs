//! Committed offsets on disk: they survive restarts, a torn tail is cut, the journal is
//! rewritten when it grows, and deletions are durable too.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use common::*;
use sluice_groups::{CommitAuthor, CommittedOffset, Coordinator, GroupState, GroupsError};

fn outsider() -> CommitAuthor {
    CommitAuthor {
        member_id: String::new(),
        instance_id: None,
        generation: -1,
    }
}

fn offset(topic: &str, partition: u32, offset: i64) -> CommittedOffset {
    CommittedOffset {
        topic: topic.to_owned(),
        partition,
        offset,
        leader_epoch: 3,
        metadata: Some(format!("at {offset}")),
    }
}

fn any(_: &str, _: u32) -> bool {
    true
}

fn commit(c: &Coordinator, group: &str, offsets: Vec<CommittedOffset>) {
    let results = c
        .commit_offsets(group, outsider(), offsets, &any, Instant::now())
        .unwrap();
    assert!(results.iter().all(Result::is_ok));
}

fn journal(dir: &Path) -> std::path::PathBuf {
    dir.join("offsets.journal")
}

#[test]
fn committed_offsets_survive_reopen_and_their_group_comes_back_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = open(dir.path());
        commit(&c, "g", vec![offset("t", 0, 10), offset("t", 1, 11)]);
        commit(&c, "h", vec![offset("u", 0, 5)]);
        commit(&c, "g", vec![offset("t", 0, 12)]);
        // A group with members but no offsets does not come back.
        stable_group(&c, "members-only", &["a"], Instant::now());
    }
    let c = open(dir.path());
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![offset("t", 0, 12), offset("t", 1, 11)]
    );
    assert_eq!(c.fetch_offsets("h", None).unwrap(), vec![offset("u", 0, 5)]);
    let listed: Vec<(String, GroupState)> =
        c.list().into_iter().map(|g| (g.group, g.state)).collect();
    assert_eq!(
        listed,
        vec![
            ("g".to_owned(), GroupState::Empty),
            ("h".to_owned(), GroupState::Empty)
        ]
    );
}

#[test]
fn a_torn_journal_tail_is_cut_and_earlier_commits_survive() {
    let dir = tempfile::tempdir().unwrap();
    let whole;
    {
        let c = open(dir.path());
        commit(&c, "g", vec![offset("t", 0, 1)]);
        whole = std::fs::metadata(journal(dir.path())).unwrap().len();
        commit(&c, "g", vec![offset("t", 0, 2)]);
    }
    // A crash cut the second record short, after which stray bytes follow.
    let file = OpenOptions::new()
        .write(true)
        .open(journal(dir.path()))
        .unwrap();
    file.set_len(whole + 7).unwrap();
    drop(file);
    {
        let c = open(dir.path());
        assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![offset("t", 0, 1)]);
        assert_eq!(std::fs::metadata(journal(dir.path())).unwrap().len(), whole);
        commit(&c, "g", vec![offset("t", 0, 3)]);
    }
    // Garbage appended after the last record goes too; what was appended after the cut stays.
    let mut file = OpenOptions::new()
        .append(true)
        .open(journal(dir.path()))
        .unwrap();
    file.write_all(&[0xff; 40]).unwrap();
    drop(file);
    let c = open(dir.path());
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![offset("t", 0, 3)]);
}

#[test]
fn a_journal_with_a_bad_header_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    std::fs::write(journal(dir.path()), b"NOPE\0\0\0\x01\0\0\0\0").unwrap();
    let e = Coordinator::open(dir.path(), limits()).unwrap_err();
    assert!(matches!(e, GroupsError::Corrupt { .. }), "{e}");
}

#[test]
fn a_journal_rewritten_as_a_snapshot_keeps_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let big = |partition: u32, n: i64| CommittedOffset {
        metadata: Some("m".repeat(4000)),
        ..offset("t", partition, n)
    };
    {
        let c = open(dir.path());
        commit(&c, "keep", vec![offset("u", 0, 77)]);
        for n in 0..400 {
            commit(&c, "g", vec![big((n % 3) as u32, n)]);
        }
        // 400 records of 4 kB would be 1.6 MB; the rewrite keeps only the live ones.
        let len = std::fs::metadata(journal(dir.path())).unwrap().len();
        assert!(len < 1 << 20, "journal is {len} bytes");
        assert_eq!(
            c.fetch_offsets("g", None).unwrap(),
            vec![big(0, 399), big(1, 397), big(2, 398)]
        );
    }
    let c = open(dir.path());
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![big(0, 399), big(1, 397), big(2, 398)]
    );
    assert_eq!(
        c.fetch_offsets("keep", None).unwrap(),
        vec![offset("u", 0, 77)]
    );
    assert!(!dir.path().join("offsets.journal.tmp").exists());
}

#[test]
fn deleting_a_group_deletes_its_offsets_durably() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = open(dir.path());
        commit(&c, "g", vec![offset("t", 0, 1)]);
        commit(&c, "h", vec![offset("t", 0, 2)]);
        c.delete("g").unwrap();
        assert_eq!(c.describe("g").unwrap().state, GroupState::Dead);
        assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![]);
    }
    let c = open(dir.path());
    assert_eq!(c.describe("g").unwrap().state, GroupState::Dead);
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![]);
    assert_eq!(c.fetch_offsets("h", None).unwrap(), vec![offset("t", 0, 2)]);
}

#[test]
fn deleted_offsets_and_forgotten_topics_stay_gone_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = open(dir.path());
        commit(
            &c,
            "g",
            vec![offset("t", 0, 1), offset("t", 1, 1), offset("u", 0, 1)],
        );
        commit(&c, "h", vec![offset("u", 0, 2), offset("v", 0, 2)]);
        c.delete_offsets(
            "g",
            vec![sluice_groups::TopicPartition {
                topic: "t".to_owned(),
                partition: 1,
            }],
        )
        .unwrap();
        c.forget_topic("u").unwrap();
    }
    let c = open(dir.path());
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![offset("t", 0, 1)]);
    assert_eq!(c.fetch_offsets("h", None).unwrap(), vec![offset("v", 0, 2)]);
}

#[test]
fn a_second_coordinator_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    assert!(Coordinator::open(dir.path(), limits()).is_err());
}

#[test]
fn concurrent_commits_are_all_durable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = std::sync::Arc::new(open(dir.path()));
        let threads: Vec<_> = (0..8u32)
            .map(|p| {
                let c = std::sync::Arc::clone(&c);
                std::thread::spawn(move || {
                    for n in 0..50 {
                        commit(&c, "g", vec![offset("t", p, n)]);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    let c = open(dir.path());
    let expected: Vec<CommittedOffset> = (0..8).map(|p| offset("t", p, 49)).collect();
    assert_eq!(c.fetch_offsets("g", None).unwrap(), expected);
}
