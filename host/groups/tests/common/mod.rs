//! Helpers shared by the integration tests: a coordinator in a temporary directory, join
//! requests, and the KIP-394 two-step join every modern client makes.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use sluice_groups::{
    Coordinator, GroupLimits, JoinOutcome, JoinRequest, JoinResult, MemberIdentity, Protocol,
    SyncOutcome, SyncRequest,
};

pub const SESSION_MS: u32 = 10_000;
pub const REBALANCE_MS: u32 = 30_000;

/// Default limits, but no initial rebalance delay, so a lone member's join completes at once.
pub fn limits() -> GroupLimits {
    GroupLimits {
        initial_rebalance_delay_ms: 0,
        ..GroupLimits::default()
    }
}

pub fn open(dir: &Path) -> Coordinator {
    Coordinator::open(dir, limits()).unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn protocols(list: &[(&str, &[u8])]) -> Vec<Protocol> {
    list.iter()
        .map(|(name, metadata)| Protocol {
            name: (*name).to_owned(),
            metadata: metadata.to_vec(),
        })
        .collect()
}

/// A first join by `client`, speaking `range` with its name as metadata.
pub fn request(group: &str, client: &str) -> JoinRequest {
    JoinRequest {
        group: group.to_owned(),
        member_id: String::new(),
        instance_id: None,
        client_id: client.to_owned(),
        client_host: format!("/10.0.0.1:{}", client.len()),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        protocol_type: "consumer".to_owned(),
        protocols: protocols(&[("range", client.as_bytes())]),
        require_known_member_id: true,
    }
}

/// KIP-394: asks for a member id, then joins with it. Returns the id and the second answer.
pub fn join_new(c: &Coordinator, req: JoinRequest, now: Instant) -> (String, JoinOutcome) {
    let id = match c.join(req.clone(), now).unwrap() {
        JoinOutcome::MemberIdRequired(id) => id,
        other => panic!("expected member-id-required, got {other:?}"),
    };
    let outcome = c
        .join(
            JoinRequest {
                member_id: id.clone(),
                ..req
            },
            now,
        )
        .unwrap();
    (id, outcome)
}

/// Joins again with `member_id`.
pub fn rejoin(c: &Coordinator, req: &JoinRequest, member_id: &str, now: Instant) -> JoinOutcome {
    c.join(
        JoinRequest {
            member_id: member_id.to_owned(),
            ..req.clone()
        },
        now,
    )
    .unwrap()
}

pub fn joined(outcome: JoinOutcome) -> JoinResult {
    match outcome {
        JoinOutcome::Joined(result) => result,
        other => panic!("expected joined, got {other:?}"),
    }
}

pub fn waiting(outcome: &JoinOutcome) -> bool {
    matches!(outcome, JoinOutcome::Waiting { .. })
}

pub fn identity(member_id: &str) -> MemberIdentity {
    MemberIdentity {
        member_id: member_id.to_owned(),
        instance_id: None,
    }
}

pub fn sync(
    c: &Coordinator,
    group: &str,
    member_id: &str,
    generation: i32,
    assignments: Vec<(String, Vec<u8>)>,
    now: Instant,
) -> SyncOutcome {
    c.sync(
        SyncRequest {
            group: group.to_owned(),
            member_id: member_id.to_owned(),
            instance_id: None,
            generation,
            assignments,
        },
        now,
    )
    .unwrap()
}

/// A stable group of `clients` (the first leads), formed the way it happens with no initial
/// delay: the first member's generation completes alone, the others' joins start a second
/// rebalance, and the first member's rejoin completes it. Returns member ids, in `clients`
/// order, and the generation.
pub fn stable_group(
    c: &Coordinator,
    group: &str,
    clients: &[&str],
    now: Instant,
) -> (Vec<String>, i32) {
    let mut ids = Vec::new();
    let (first, outcome) = join_new(c, request(group, clients[0]), now);
    joined(outcome);
    ids.push(first.clone());
    for client in &clients[1..] {
        let (id, outcome) = join_new(c, request(group, client), now);
        assert!(waiting(&outcome), "{outcome:?}");
        ids.push(id);
    }
    let generation = if clients.len() > 1 {
        joined(rejoin(c, &request(group, clients[0]), &first, now)).generation
    } else {
        1
    };
    let assignments = ids
        .iter()
        .map(|id| (id.clone(), format!("assigned to {id}").into_bytes()))
        .collect();
    sync(c, group, &first, generation, assignments, now);
    (ids, generation)
}
