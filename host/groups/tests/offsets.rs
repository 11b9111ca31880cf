//! Committing, fetching and deleting offsets, and who may commit when.

mod common;

use std::time::Instant;

use common::*;
use sluice_groups::{CommitAuthor, CommittedOffset, GroupErrorCode, TopicPartition};

fn offset(topic: &str, partition: u32, offset: i64) -> CommittedOffset {
    CommittedOffset {
        topic: topic.to_owned(),
        partition,
        offset,
        leader_epoch: -1,
        metadata: None,
    }
}

fn tp(topic: &str, partition: u32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_owned(),
        partition,
    }
}

fn outsider() -> CommitAuthor {
    CommitAuthor {
        member_id: String::new(),
        instance_id: None,
        generation: -1,
    }
}

fn member(member_id: &str, generation: i32) -> CommitAuthor {
    CommitAuthor {
        member_id: member_id.to_owned(),
        instance_id: None,
        generation,
    }
}

/// Topics `t` and `u`, partitions 0..4.
fn exists(topic: &str, partition: u32) -> bool {
    (topic == "t" || topic == "u") && partition < 4
}

#[test]
fn committed_offsets_are_fetched_back_with_their_epoch_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    let with_meta = CommittedOffset {
        leader_epoch: 7,
        metadata: Some("checkpoint 12".to_owned()),
        ..offset("t", 1, 120)
    };
    let results = c
        .commit_offsets(
            "g",
            outsider(),
            vec![with_meta.clone(), offset("t", 0, 5)],
            &exists,
            now,
        )
        .unwrap();
    assert_eq!(results, vec![Ok(()), Ok(())]);
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![offset("t", 0, 5), with_meta.clone()]
    );
    assert_eq!(
        c.fetch_offsets("g", Some(vec![tp("t", 1), tp("t", 3)]))
            .unwrap(),
        vec![with_meta, offset("t", 3, -1)]
    );
    assert_eq!(
        c.fetch_offsets("other", Some(vec![tp("t", 0)])).unwrap(),
        vec![offset("t", 0, -1)]
    );
    assert!(c.fetch_offsets("other", None).unwrap().is_empty());
    // The commit created the group, empty.
    assert_eq!(
        c.describe("g").unwrap().state,
        sluice_groups::GroupState::Empty
    );
}

#[test]
fn a_later_commit_replaces_an_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    c.commit_offsets("g", outsider(), vec![offset("t", 0, 5)], &exists, now)
        .unwrap();
    c.commit_offsets("g", outsider(), vec![offset("t", 0, 9)], &exists, now)
        .unwrap();
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![offset("t", 0, 9)]);
}

#[test]
fn deleted_offsets_are_gone_and_the_rest_stay() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    c.commit_offsets(
        "g",
        outsider(),
        vec![offset("t", 0, 1), offset("t", 1, 2), offset("u", 0, 3)],
        &exists,
        now,
    )
    .unwrap();
    let results = c.delete_offsets("g", vec![tp("t", 1), tp("t", 2)]).unwrap();
    assert_eq!(results, vec![Ok(()), Ok(())]);
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![offset("t", 0, 1), offset("u", 0, 3)]
    );
    let e = c.delete_offsets("nope", vec![tp("t", 0)]).unwrap_err();
    assert_eq!(e.code, GroupErrorCode::GroupIdNotFound);
}

#[test]
fn unknown_partitions_and_oversized_metadata_are_refused_per_offset() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    let too_long = CommittedOffset {
        metadata: Some("x".repeat(4097)),
        ..offset("t", 2, 1)
    };
    let just_fits = CommittedOffset {
        metadata: Some("x".repeat(4096)),
        ..offset("t", 3, 1)
    };
    let results = c
        .commit_offsets(
            "g",
            outsider(),
            vec![
                offset("t", 9, 1),
                offset("gone", 0, 1),
                too_long,
                just_fits.clone(),
            ],
            &exists,
            now,
        )
        .unwrap();
    let codes: Vec<Option<GroupErrorCode>> = results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.code))
        .collect();
    assert_eq!(
        codes,
        vec![
            Some(GroupErrorCode::UnknownTopicOrPartition),
            Some(GroupErrorCode::UnknownTopicOrPartition),
            Some(GroupErrorCode::OffsetMetadataTooLarge),
            None
        ]
    );
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![just_fits]);
}

#[test]
fn a_commit_outside_any_generation_is_refused_while_the_group_has_members() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    stable_group(&c, "g", &["a"], now);
    let e = c
        .commit_offsets("g", outsider(), vec![offset("t", 0, 1)], &exists, now)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::UnknownMemberId);
}

#[test]
fn a_member_commits_with_its_generation_and_a_stale_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    c.commit_offsets(
        "g",
        member(&ids[1], generation),
        vec![offset("t", 0, 1)],
        &exists,
        t0,
    )
    .unwrap();
    let e = c
        .commit_offsets(
            "g",
            member(&ids[1], generation - 1),
            vec![offset("t", 0, 2)],
            &exists,
            t0,
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::IllegalGeneration);
    let e = c
        .commit_offsets(
            "g",
            member("stranger", generation),
            vec![offset("t", 0, 2)],
            &exists,
            t0,
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::UnknownMemberId);

    // A commit counts as a sign of life: b commits instead of heartbeating.
    for s in 1..=5u64 {
        let t = t0 + ms(s * 4000);
        c.commit_offsets(
            "g",
            member(&ids[1], generation),
            vec![offset("t", 0, s as i64)],
            &exists,
            t,
        )
        .unwrap();
        c.heartbeat("g", identity(&ids[0]), generation, t).unwrap();
        c.tick(t);
    }
    assert_eq!(c.describe("g").unwrap().members.len(), 2);

    // During a rebalance members may still commit what they processed.
    join_new(&c, request("g", "c"), t0 + ms(20_000));
    c.commit_offsets(
        "g",
        member(&ids[0], generation),
        vec![offset("t", 1, 1)],
        &exists,
        t0 + ms(20_000),
    )
    .unwrap();
}

#[test]
fn a_commit_while_the_leader_assigns_is_refused_as_rebalance_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (id, out) = join_new(&c, request("g", "a"), t0);
    let generation = joined(out).generation;
    let e = c
        .commit_offsets(
            "g",
            member(&id, generation),
            vec![offset("t", 0, 1)],
            &exists,
            t0,
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::RebalanceInProgress);
}

#[test]
fn a_commit_with_a_generation_to_an_unknown_group_is_illegal() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let e = c
        .commit_offsets(
            "g",
            member("m", 3),
            vec![offset("t", 0, 1)],
            &exists,
            Instant::now(),
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::IllegalGeneration);
    assert!(c.list().is_empty());
}
