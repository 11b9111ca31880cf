//! LeaveGroup: members leave a group (`groups.leave`), which starts a rebalance for the rest.
//!
//! v0–v2 name one member by id; v3+ (KIP-345) name several, each by member id or, for static
//! members, by instance id, and get one result per member. The top-level error is the whole
//! call's; in v0–v2 it is the one member's.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use sluice_sdk::codec::{Broker, CodecError, MemberIdentity};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE};

/// LeaveGroup v3 batched the members.
const BATCHED_VERSION: i16 = 3;

/// Answers a LeaveGroup request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: LeaveGroupRequest = req.decode()?;
    let members: Vec<MemberIdentity> = if req.version < BATCHED_VERSION {
        vec![MemberIdentity {
            member_id: r.member_id.to_string(),
            instance_id: None,
        }]
    } else {
        r.members
            .iter()
            .map(|m| MemberIdentity {
                member_id: m.member_id.to_string(),
                instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
            })
            .collect()
    };
    let codes: Vec<i16> = match broker.group_leave(&r.group_id, &members) {
        Ok(results) => members
            .iter()
            .enumerate()
            .map(|(i, _)| match results.get(i) {
                Some(Ok(())) => NONE,
                Some(Err(e)) => errors::group_code(e),
                // The host answers one result per member; a missing one did not leave.
                None => errors::UNKNOWN_MEMBER_ID,
            })
            .collect(),
        Err(e) => {
            let code = errors::group_code(&e);
            let response = LeaveGroupResponse::default().with_error_code(code);
            return req.respond(&response);
        }
    };
    if req.version < BATCHED_VERSION {
        let code = codes.first().copied().unwrap_or(NONE);
        return req.respond(&LeaveGroupResponse::default().with_error_code(code));
    }
    let responses = r
        .members
        .into_iter()
        .zip(codes)
        .map(|(m, code)| {
            MemberResponse::default()
                .with_member_id(m.member_id)
                .with_group_instance_id(m.group_instance_id)
                .with_error_code(code)
        })
        .collect();
    req.respond(
        &LeaveGroupResponse::default()
            .with_error_code(NONE)
            .with_members(responses),
    )
}
