//! A group's version moves on every observable change, so waiters on it wake.

mod common;

use std::time::Instant;

use common::*;
use sluice_groups::{JoinOutcome, SyncOutcome};

#[test]
fn every_membership_change_moves_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    assert!(c.watch("g").is_none());
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    let mut rx = c.watch("g").unwrap();
    rx.borrow_and_update();

    let (_, out) = join_new(&c, request("g", "c"), t0);
    assert!(waiting(&out));
    assert!(rx.has_changed().unwrap(), "a join moves it");
    rx.borrow_and_update();

    c.leave("g", vec![identity(&ids[1])], t0).unwrap();
    assert!(rx.has_changed().unwrap(), "a leave moves it");
    rx.borrow_and_update();

    c.heartbeat("g", identity(&ids[0]), generation, t0)
        .unwrap_err();
    assert!(!rx.has_changed().unwrap(), "a heartbeat changes nothing");

    c.tick(t0 + ms(SESSION_MS as u64 + REBALANCE_MS as u64));
    assert!(rx.has_changed().unwrap(), "expiry and completion move it");
}

#[test]
fn a_waiting_join_is_woken_when_the_rebalance_completes() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, _) = stable_group(&c, "g", &["a"], t0);
    let rx = c.watch("g").unwrap();
    let (b, out) = join_new(&c, request("g", "b"), t0);
    let JoinOutcome::Waiting { version, member_id } = out else {
        panic!("expected waiting, got {out:?}");
    };
    assert_eq!(member_id, b, "waiting names the member to poll as");
    assert_eq!(
        *rx.borrow(),
        version,
        "waiting carries the version after its own change"
    );
    assert_eq!(
        c.join_poll("g", &b, t0).unwrap(),
        JoinOutcome::Waiting {
            member_id: b.clone(),
            version
        },
        "a poll that finds nothing new answers the version to wait past"
    );

    let leader = joined(rejoin(&c, &request("g", "a"), &ids[0], t0));
    assert!(*rx.borrow() > version);
    let result = joined(c.join_poll("g", &b, t0).unwrap());
    assert_eq!(result.generation, leader.generation);

    // The same for a sync waiting for the leader.
    let SyncOutcome::Waiting(version) = sync(&c, "g", &b, result.generation, vec![], t0) else {
        panic!("expected waiting");
    };
    sync(
        &c,
        "g",
        &ids[0],
        leader.generation,
        vec![(b.clone(), b"x".to_vec())],
        t0,
    );
    assert!(*rx.borrow() > version);
    assert_eq!(
        c.sync_poll("g", &b, result.generation, t0).unwrap(),
        SyncOutcome::Assigned(b"x".to_vec())
    );
}

#[test]
fn a_deleted_groups_watchers_see_the_channel_closed() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, _) = stable_group(&c, "g", &["a"], t0);
    let rx = c.watch("g").unwrap();
    c.leave("g", vec![identity(&ids[0])], t0).unwrap();
    c.delete("g").unwrap();
    assert!(rx.has_changed().is_err());
    assert!(c.watch("g").is_none());
}
