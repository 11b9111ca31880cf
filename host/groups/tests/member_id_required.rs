//! KIP-394: a new dynamic member is told its id before it counts as a member.

mod common;

use std::time::Instant;

use common::*;
use sluice_groups::{GroupState, JoinOutcome, JoinRequest};

#[test]
fn a_new_member_asked_for_a_known_id_gets_one_and_joins_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let JoinOutcome::MemberIdRequired(id) = c.join(request("g", "client-1"), t0).unwrap() else {
        panic!("expected member-id-required");
    };
    assert!(id.starts_with("client-1-"), "{id}");
    // Not a member yet: describing shows none.
    assert!(c.describe("g").unwrap().members.is_empty());
    let result = joined(rejoin(&c, &request("g", "client-1"), &id, t0));
    assert_eq!((result.member_id, result.generation), (id.clone(), 1));

    let JoinOutcome::MemberIdRequired(other) = c.join(request("g", "client-1"), t0).unwrap() else {
        panic!("expected member-id-required");
    };
    assert_ne!(other, id, "ids are unique");
}

#[test]
fn an_id_handed_out_but_never_used_lapses_after_the_session_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, _) = stable_group(&c, "g", &["a"], t0);
    let JoinOutcome::MemberIdRequired(id) = c.join(request("g", "b"), t0).unwrap() else {
        panic!("expected member-id-required");
    };
    c.heartbeat("g", identity(&ids[0]), 1, t0 + ms(9000))
        .unwrap();
    c.tick(t0 + ms(SESSION_MS as u64));
    let e = c
        .join(
            JoinRequest {
                member_id: id,
                ..request("g", "b")
            },
            t0 + ms(10_001),
        )
        .unwrap_err();
    assert_eq!(e.code, sluice_groups::GroupErrorCode::UnknownMemberId);
    assert_eq!(c.describe("g").unwrap().state, GroupState::Stable);
}

#[test]
fn an_old_client_without_kip_394_is_added_directly() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let old = JoinRequest {
        require_known_member_id: false,
        ..request("g", "legacy")
    };
    let result = joined(c.join(old, t0).unwrap());
    assert!(result.member_id.starts_with("legacy-"));
    assert_eq!(result.leader, result.member_id);
    assert_eq!(c.describe("g").unwrap().members.len(), 1);
}
