//! KIP-345: static members keep their place across restarts.

mod common;

use std::time::Instant;

use common::*;
use sluice_groups::{
    Coordinator, GroupErrorCode, GroupState, JoinRequest, MemberIdentity, SyncOutcome, SyncRequest,
};

/// Static members run with sessions longer than a restart takes, and than a rebalance.
const STATIC_SESSION_MS: u32 = 60_000;

fn static_request(client: &str, instance: &str) -> JoinRequest {
    JoinRequest {
        instance_id: Some(instance.to_owned()),
        session_timeout_ms: STATIC_SESSION_MS,
        require_known_member_id: true,
        ..request("g", client)
    }
}

/// A stable group of two static members, `i-a` (leader) and `i-b`.
fn static_group(c: &Coordinator, t0: Instant) -> (String, String, i32) {
    let a = joined(c.join(static_request("a", "i-a"), t0).unwrap());
    let out_b = c.join(static_request("b", "i-b"), t0).unwrap();
    assert!(waiting(&out_b), "static members skip KIP-394: {out_b:?}");
    let leader = joined(rejoin(c, &static_request("a", "i-a"), &a.member_id, t0));
    let b_id = leader
        .members
        .iter()
        .find(|m| m.instance_id.as_deref() == Some("i-b"))
        .map(|m| m.member_id.clone())
        .unwrap();
    let b = joined(c.join_poll("g", &b_id, t0).unwrap());
    sync(
        c,
        "g",
        &leader.member_id,
        leader.generation,
        vec![
            (leader.member_id.clone(), b"pa".to_vec()),
            (b.member_id.clone(), b"pb".to_vec()),
        ],
        t0,
    );
    (leader.member_id, b.member_id, leader.generation)
}

#[test]
fn a_static_member_rejoining_a_stable_group_takes_its_place_without_a_rebalance() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (a, b, generation) = static_group(&c, t0);
    let version = *c.watch("g").unwrap().borrow();

    // b restarts: it joins with its instance id and no member id.
    let back = joined(c.join(static_request("b", "i-b"), t0 + ms(5000)).unwrap());
    assert_ne!(back.member_id, b);
    assert_eq!(back.generation, generation);
    assert_eq!(back.leader, a);
    assert_eq!(c.describe("g").unwrap().state, GroupState::Stable);
    assert!(*c.watch("g").unwrap().borrow() > version);

    let assigned = c
        .sync(
            SyncRequest {
                group: "g".to_owned(),
                member_id: back.member_id.clone(),
                instance_id: Some("i-b".to_owned()),
                generation,
                assignments: vec![],
            },
            t0 + ms(5000),
        )
        .unwrap();
    assert_eq!(assigned, SyncOutcome::Assigned(b"pb".to_vec()));
}

#[test]
fn the_replaced_member_id_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (_, old_b, generation) = static_group(&c, t0);
    joined(c.join(static_request("b", "i-b"), t0).unwrap());

    let with_instance = MemberIdentity {
        member_id: old_b.clone(),
        instance_id: Some("i-b".to_owned()),
    };
    let e = c
        .heartbeat("g", with_instance.clone(), generation, t0)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::FencedInstanceId);
    let e = c
        .heartbeat("g", identity(&old_b), generation, t0)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::FencedInstanceId);
    let e = c.sync_poll("g", &old_b, generation, t0).unwrap_err();
    assert_eq!(e.code, GroupErrorCode::FencedInstanceId);
    let results = c.leave("g", vec![with_instance], t0).unwrap();
    assert_eq!(
        results[0].as_ref().unwrap_err().code,
        GroupErrorCode::FencedInstanceId
    );
    let e = c
        .join(
            JoinRequest {
                member_id: old_b,
                ..static_request("b", "i-b")
            },
            t0,
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::FencedInstanceId);
    assert_eq!(c.describe("g").unwrap().state, GroupState::Stable);
}

#[test]
fn a_static_member_with_new_protocols_rejoins_through_a_rebalance() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    static_group(&c, t0);
    let changed = JoinRequest {
        protocols: protocols(&[("range", b"new subscription")]),
        ..static_request("b", "i-b")
    };
    assert!(waiting(&c.join(changed, t0).unwrap()));
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::PreparingRebalance
    );
}

#[test]
fn a_leave_by_member_id_does_not_remove_a_static_member_but_a_leave_by_instance_does() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (_, b, _) = static_group(&c, t0);
    assert_eq!(c.leave("g", vec![identity(&b)], t0).unwrap(), vec![Ok(())]);
    assert_eq!(c.describe("g").unwrap().members.len(), 2);
    assert_eq!(c.describe("g").unwrap().state, GroupState::Stable);

    let by_instance = MemberIdentity {
        member_id: String::new(),
        instance_id: Some("i-b".to_owned()),
    };
    assert_eq!(c.leave("g", vec![by_instance], t0).unwrap(), vec![Ok(())]);
    let described = c.describe("g").unwrap();
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.state, GroupState::PreparingRebalance);
}

#[test]
fn a_static_member_that_misses_a_rebalance_keeps_its_place_until_its_session_expires() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (a, b, generation) = static_group(&c, t0);
    // A dynamic newcomer starts a rebalance; a rejoins, b (restarting) does not.
    let (_, out) = join_new(&c, request("g", "c"), t0);
    assert!(waiting(&out));
    assert!(waiting(&rejoin(&c, &static_request("a", "i-a"), &a, t0)));
    c.tick(t0 + ms(REBALANCE_MS as u64));
    let described = c.describe("g").unwrap();
    assert_eq!(described.generation, generation + 1);
    assert!(described.members.iter().any(|m| m.member_id == b));
    // Its session (refreshed when the rebalance completed) then runs out.
    c.tick(t0 + ms((REBALANCE_MS + STATIC_SESSION_MS) as u64));
    let described = c.describe("g").unwrap();
    assert!(described.members.iter().all(|m| m.member_id != b));
}
