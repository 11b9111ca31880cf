//! Every limit refuses with the code a client understands.

mod common;

use std::time::Instant;

use common::*;
use sluice_groups::{
    CommitAuthor, CommittedOffset, Coordinator, GroupErrorCode, GroupLimits, JoinOutcome,
    JoinRequest,
};

fn outsider() -> CommitAuthor {
    CommitAuthor {
        member_id: String::new(),
        instance_id: None,
        generation: -1,
    }
}

fn offset(partition: u32) -> CommittedOffset {
    CommittedOffset {
        topic: "t".to_owned(),
        partition,
        offset: 1,
        leader_epoch: -1,
        metadata: None,
    }
}

#[test]
fn invalid_group_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    for bad in [String::new(), "g".repeat(256)] {
        let e = c.join(request(&bad, "a"), now).unwrap_err();
        assert_eq!(e.code, GroupErrorCode::InvalidGroupId);
        assert_eq!(
            c.describe(&bad).unwrap_err().code,
            GroupErrorCode::InvalidGroupId
        );
        let e = c.fetch_offsets(&bad, None).unwrap_err();
        assert_eq!(e.code, GroupErrorCode::InvalidGroupId);
    }
    assert!(c.join(request(&"g".repeat(255), "a"), now).is_ok());
}

#[test]
fn session_timeouts_outside_the_bounds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    for (ms, ok) in [
        (5_999, false),
        (6_000, true),
        (1_800_000, true),
        (1_800_001, false),
    ] {
        let req = JoinRequest {
            session_timeout_ms: ms,
            ..request("g", "a")
        };
        match c.join(req, now) {
            Ok(_) => assert!(ok, "{ms} accepted"),
            Err(e) => {
                assert!(!ok, "{ms} refused");
                assert_eq!(e.code, GroupErrorCode::InvalidSessionTimeout);
            }
        }
    }
}

#[test]
fn a_full_group_refuses_new_members() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(
        dir.path(),
        GroupLimits {
            members_max: 2,
            ..limits()
        },
    )
    .unwrap();
    let now = Instant::now();
    join_new(&c, request("g", "a"), now);
    // A member id handed out counts: the group has room for it when it comes back.
    assert!(matches!(
        c.join(request("g", "b"), now).unwrap(),
        JoinOutcome::MemberIdRequired(_)
    ));
    let e = c.join(request("g", "c"), now).unwrap_err();
    assert_eq!(e.code, GroupErrorCode::GroupMaxSizeReached);
}

#[test]
fn the_group_limit_refuses_new_groups() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(
        dir.path(),
        GroupLimits {
            groups_max: 1,
            ..limits()
        },
    )
    .unwrap();
    let now = Instant::now();
    c.join(request("g", "a"), now).unwrap();
    let e = c.join(request("h", "a"), now).unwrap_err();
    assert_eq!(e.code, GroupErrorCode::LimitReached);
    let e = c
        .commit_offsets("h", outsider(), vec![offset(0)], &|_, _| true, now)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::LimitReached);
}

#[test]
fn the_offset_limit_refuses_new_offsets_but_not_updates() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(
        dir.path(),
        GroupLimits {
            offsets_max: 2,
            ..limits()
        },
    )
    .unwrap();
    let now = Instant::now();
    let results = c
        .commit_offsets(
            "g",
            outsider(),
            vec![offset(0), offset(1), offset(2)],
            &|_, _| true,
            now,
        )
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(
        results[2].as_ref().unwrap_err().code,
        GroupErrorCode::LimitReached
    );
    let results = c
        .commit_offsets("g", outsider(), vec![offset(1)], &|_, _| true, now)
        .unwrap();
    assert_eq!(results, vec![Ok(())]);
}

#[test]
fn deleting_a_group_with_members_or_none_at_all_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let now = Instant::now();
    stable_group(&c, "g", &["a"], now);
    assert_eq!(
        c.delete("g").unwrap_err().code,
        GroupErrorCode::NonEmptyGroup
    );
    assert_eq!(
        c.delete("nope").unwrap_err().code,
        GroupErrorCode::GroupIdNotFound
    );
}
