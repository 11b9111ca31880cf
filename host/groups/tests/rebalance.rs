//! Members joining, leaving and expiring, and the rebalances that follow.

mod common;

use std::time::Instant;

use common::*;
use sluice_groups::{
    Coordinator, GroupErrorCode, GroupLimits, GroupState, JoinOutcome, SyncOutcome,
};

#[test]
fn two_members_joining_during_the_initial_delay_share_one_generation_and_the_leader_sees_both() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(dir.path(), GroupLimits::default()).unwrap();
    let t0 = Instant::now();
    let (a, out) = join_new(&c, request("g", "a"), t0);
    assert!(waiting(&out));
    let (b, out) = join_new(&c, request("g", "b"), t0 + ms(1000));
    assert!(waiting(&out));

    // b arrived during the delay, so the group waits one delay more.
    c.tick(t0 + ms(3000));
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::PreparingRebalance
    );
    c.tick(t0 + ms(6000));
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::CompletingRebalance
    );

    let leader = joined(c.join_poll("g", &a, t0 + ms(6000)).unwrap());
    assert_eq!(leader.generation, 1);
    assert_eq!(leader.leader, a);
    assert_eq!(leader.protocol_name, "range");
    let mut seen: Vec<(String, Vec<u8>)> = leader
        .members
        .iter()
        .map(|m| (m.member_id.clone(), m.metadata.clone()))
        .collect();
    seen.sort();
    let mut expected = vec![(a.clone(), b"a".to_vec()), (b.clone(), b"b".to_vec())];
    expected.sort();
    assert_eq!(seen, expected);

    let follower = joined(c.join_poll("g", &b, t0 + ms(6000)).unwrap());
    assert_eq!(follower.generation, 1);
    assert_eq!(follower.leader, a);
    assert!(follower.members.is_empty());

    // The follower asks first and waits for the leader.
    assert!(matches!(
        sync(&c, "g", &b, 1, vec![], t0 + ms(6100)),
        SyncOutcome::Waiting(_)
    ));
    assert!(matches!(
        c.sync_poll("g", &b, 1, t0 + ms(6100)).unwrap(),
        SyncOutcome::Waiting(_)
    ));
    let assigned = sync(
        &c,
        "g",
        &a,
        1,
        vec![(a.clone(), b"p0".to_vec()), (b.clone(), b"p1".to_vec())],
        t0 + ms(6200),
    );
    assert_eq!(assigned, SyncOutcome::Assigned(b"p0".to_vec()));
    assert_eq!(
        c.sync_poll("g", &b, 1, t0 + ms(6300)).unwrap(),
        SyncOutcome::Assigned(b"p1".to_vec())
    );
    let described = c.describe("g").unwrap();
    assert_eq!(described.state, GroupState::Stable);
    assert_eq!(described.members.len(), 2);
}

#[test]
fn an_empty_groups_first_rebalance_waits_the_initial_delay() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(dir.path(), GroupLimits::default()).unwrap();
    let t0 = Instant::now();
    let (a, out) = join_new(&c, request("g", "a"), t0);
    assert!(waiting(&out));
    c.tick(t0 + ms(2999));
    assert!(waiting(&c.join_poll("g", &a, t0 + ms(2999)).unwrap()));
    c.tick(t0 + ms(3000));
    let result = joined(c.join_poll("g", &a, t0 + ms(3000)).unwrap());
    assert_eq!((result.generation, result.leader), (1, a));
}

#[test]
fn the_initial_delay_is_capped_by_the_rebalance_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(dir.path(), GroupLimits::default()).unwrap();
    let t0 = Instant::now();
    let short = |client: &str| sluice_groups::JoinRequest {
        rebalance_timeout_ms: 5_000,
        ..request("g", client)
    };
    join_new(&c, short("a"), t0);
    // A new member arrives during every delay; the delays stop once 5 s are used up.
    let mut t = t0;
    for (i, step) in [1000u64, 3000, 3000].iter().enumerate() {
        t += ms(*step);
        join_new(&c, short(&format!("m{i}")), t - ms(500));
        c.tick(t);
    }
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::CompletingRebalance
    );
}

#[test]
fn a_third_member_starts_a_rebalance_and_the_others_learn_of_it_by_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    assert_eq!(
        c.heartbeat("g", identity(&ids[1]), generation, t0)
            .map(|_| ()),
        Ok(())
    );

    let (third, out) = join_new(&c, request("g", "c"), t0 + ms(100));
    assert!(waiting(&out));
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::PreparingRebalance
    );
    for id in &ids {
        let e = c
            .heartbeat("g", identity(id), generation, t0 + ms(200))
            .unwrap_err();
        assert_eq!(e.code, GroupErrorCode::RebalanceInProgress);
    }
    // A sync in the old generation is refused too.
    let e = c
        .sync(
            sluice_groups::SyncRequest {
                group: "g".to_owned(),
                member_id: ids[1].clone(),
                instance_id: None,
                generation,
                assignments: vec![],
            },
            t0 + ms(200),
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::RebalanceInProgress);

    assert!(waiting(&rejoin(
        &c,
        &request("g", "b"),
        &ids[1],
        t0 + ms(300)
    )));
    let leader = joined(rejoin(&c, &request("g", "a"), &ids[0], t0 + ms(400)));
    assert_eq!(leader.generation, generation + 1);
    assert_eq!(leader.leader, ids[0]);
    assert_eq!(leader.members.len(), 3);
    let third_result = joined(c.join_poll("g", &third, t0 + ms(400)).unwrap());
    assert_eq!(third_result.generation, generation + 1);
}

#[test]
fn a_leave_starts_a_rebalance_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b", "c"], t0);
    let results = c
        .leave("g", vec![identity(&ids[2]), identity("nobody")], t0)
        .unwrap();
    assert_eq!(results[0], Ok(()));
    assert_eq!(
        results[1].as_ref().unwrap_err().code,
        GroupErrorCode::UnknownMemberId
    );
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::PreparingRebalance
    );

    assert!(waiting(&rejoin(&c, &request("g", "b"), &ids[1], t0)));
    let leader = joined(rejoin(&c, &request("g", "a"), &ids[0], t0));
    assert_eq!(leader.generation, generation + 1);
    assert_eq!(leader.members.len(), 2);
    let e = c
        .heartbeat("g", identity(&ids[2]), generation, t0)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::UnknownMemberId);
}

#[test]
fn a_member_whose_session_expires_is_removed_and_the_rest_rebalance() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    // a keeps heartbeating, b falls silent.
    for s in 1..=3u64 {
        c.heartbeat("g", identity(&ids[0]), generation, t0 + ms(s * 3000))
            .unwrap();
        c.tick(t0 + ms(s * 3000));
    }
    assert_eq!(c.describe("g").unwrap().members.len(), 2);
    c.tick(t0 + ms(SESSION_MS as u64));
    let described = c.describe("g").unwrap();
    assert_eq!(described.state, GroupState::PreparingRebalance);
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].member_id, ids[0]);

    let result = joined(rejoin(&c, &request("g", "a"), &ids[0], t0 + ms(12_100)));
    assert_eq!(result.generation, generation + 1);
    assert_eq!(result.members.len(), 1);
}

#[test]
fn a_member_that_does_not_rejoin_before_the_deadline_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    let (_, out) = join_new(&c, request("g", "c"), t0);
    assert!(waiting(&out));
    // a rejoins and keeps its session; b only heartbeats (and is told to rejoin).
    assert!(waiting(&rejoin(
        &c,
        &request("g", "a"),
        &ids[0],
        t0 + ms(100)
    )));
    for s in 1..10u64 {
        let t = t0 + ms(s * 3000);
        let _ = c.heartbeat("g", identity(&ids[1]), generation, t);
        c.tick(t);
    }
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::PreparingRebalance
    );
    c.tick(t0 + ms(REBALANCE_MS as u64));
    let described = c.describe("g").unwrap();
    assert_eq!(described.state, GroupState::CompletingRebalance);
    assert_eq!(described.generation, generation + 1);
    assert_eq!(described.members.len(), 2);
    assert!(described.members.iter().all(|m| m.member_id != ids[1]));
    let result = joined(c.join_poll("g", &ids[0], t0 + ms(30_000)).unwrap());
    assert_eq!(result.members.len(), 2);
}

#[test]
fn the_protocol_most_members_prefer_among_those_all_support_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinator::open(dir.path(), GroupLimits::default()).unwrap();
    let t0 = Instant::now();
    let speaking = |client: &str, list: &[(&str, &[u8])]| sluice_groups::JoinRequest {
        protocols: protocols(list),
        ..request("g", client)
    };
    let (a, _) = join_new(&c, speaking("a", &[("sticky", b"s"), ("range", b"r")]), t0);
    join_new(
        &c,
        speaking("b", &[("roundrobin", b"x"), ("range", b"r")]),
        t0,
    );
    join_new(
        &c,
        speaking(
            "c",
            &[("roundrobin", b"x"), ("sticky", b"s"), ("range", b"r")],
        ),
        t0,
    );
    // roundrobin is b's and c's first choice, but a does not speak it.
    c.tick(t0 + ms(3000));
    c.tick(t0 + ms(6000));
    let result = joined(c.join_poll("g", &a, t0 + ms(6000)).unwrap());
    assert_eq!(result.protocol_name, "range");
    assert!(result.members.iter().all(|m| m.metadata == b"r"));

    let e = c
        .join(speaking("d", &[("roundrobin", b"x")]), t0 + ms(6000))
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::InconsistentGroupProtocol);
    let e = c
        .join(
            sluice_groups::JoinRequest {
                protocol_type: "connect".to_owned(),
                ..request("g", "e")
            },
            t0 + ms(6000),
        )
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::InconsistentGroupProtocol);
}

#[test]
fn the_leader_rejoining_a_stable_group_rebalances_but_a_follower_gets_its_result_back() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    let again = joined(rejoin(&c, &request("g", "b"), &ids[1], t0));
    assert_eq!(
        (again.generation, again.leader.as_str()),
        (generation, ids[0].as_str())
    );
    assert_eq!(c.describe("g").unwrap().state, GroupState::Stable);

    assert!(waiting(&rejoin(&c, &request("g", "a"), &ids[0], t0)));
    assert_eq!(
        c.describe("g").unwrap().state,
        GroupState::PreparingRebalance
    );
}

#[test]
fn stale_generations_and_strangers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a", "b"], t0);
    let e = c
        .heartbeat("g", identity(&ids[1]), generation - 1, t0)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::IllegalGeneration);
    let e = c.sync_poll("g", &ids[1], generation + 1, t0).unwrap_err();
    assert_eq!(e.code, GroupErrorCode::IllegalGeneration);
    let e = c
        .heartbeat("g", identity("stranger"), generation, t0)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::UnknownMemberId);
    let e = c
        .heartbeat("nogroup", identity(&ids[0]), generation, t0)
        .unwrap_err();
    assert_eq!(e.code, GroupErrorCode::UnknownMemberId);
    let e = c.join(
        sluice_groups::JoinRequest {
            member_id: "made-up".to_owned(),
            ..request("g", "x")
        },
        t0,
    );
    assert_eq!(e.unwrap_err().code, GroupErrorCode::UnknownMemberId);
}

#[test]
fn the_last_member_leaving_empties_the_group_and_tick_forgets_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let t0 = Instant::now();
    let (ids, generation) = stable_group(&c, "g", &["a"], t0);
    c.leave("g", vec![identity(&ids[0])], t0).unwrap();
    let described = c.describe("g").unwrap();
    assert_eq!(described.state, GroupState::Empty);
    assert_eq!(described.generation, generation + 1);
    c.tick(t0 + ms(100));
    assert_eq!(c.describe("g").unwrap().state, GroupState::Dead);
    assert!(c.list().is_empty());
    assert!(matches!(
        c.join(request("g", "a"), t0).unwrap(),
        JoinOutcome::MemberIdRequired(_)
    ));
}
