//! JoinGroup: a member joins (or rejoins) a group through the host's `groups.join`.
//!
//! A join usually has to wait for the other members to join too, so the host answers
//! `waiting` (the member's id and the group's version) and [`handle`] hands `pending` a
//! [`JoinWait`]. Parked, it watches the group (`wake-on any`, timeout = the member's rebalance
//! timeout); each wake polls `groups.join-poll`, which answers the result or `waiting` with
//! the version to wait past now. A timed-out wake or [`JOIN_WAKES_MAX`] wakes that found the rebalance still open answer
//! REBALANCE_IN_PROGRESS, on which Kafka clients join again.
//!
//! KIP-394: from v4 a new dynamic member is answered MEMBER_ID_REQUIRED with its new id and
//! joins again with it. v0–v3 clients do not know that error, so their joins do not ask for it
//! (`require-known-member-id` false): the host adds them at once, and `waiting` names the id
//! it gave them.

use std::mem::size_of;

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{
    Broker, CodecError, GroupError, JoinOutcome, JoinRequest, JoinResult, Protocol,
};

use crate::Advertised;
use crate::api::group_wait::{GroupWait, member_bytes};
use crate::dispatch::{Reply, Request};
use crate::errors::{self, MEMBER_ID_REQUIRED, NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID};
use crate::frame;
use crate::job::{Job, Outcome, Run};

/// A parked join woken by group changes that do not complete the rebalance parks again at most
/// this many times, so a group that keeps changing cannot hold a request forever (each park
/// waits a whole rebalance timeout afresh, the codec having no clock). Every member joining or
/// leaving is a change, so the bound is well above a wake per member of a large group.
pub const JOIN_WAKES_MAX: u16 = 4096;

/// JoinGroup v1 added the rebalance timeout; v0 members use their session timeout for both.
const REBALANCE_TIMEOUT_VERSION: i16 = 1;
/// JoinGroup v4 is the first whose clients know MEMBER_ID_REQUIRED (KIP-394).
const MEMBER_ID_REQUIRED_VERSION: i16 = 4;
/// JoinGroup v7 made the response's protocol name nullable (null on errors, as Kafka sends).
const NULLABLE_PROTOCOL_VERSION: i16 = 7;
/// Generation of an answer without one.
const NO_GENERATION: i32 = -1;

/// A join waiting for its group's rebalance.
pub struct JoinWait {
    /// Echoed in the response.
    correlation_id: i32,
    /// Request (and response) version.
    version: i16,
    /// The join as sent to the host, with the member id the host assigned.
    request: JoinRequest,
    /// The group version to wait past, and the wakes that found the rebalance still open
    /// (against [`JOIN_WAKES_MAX`]).
    group: GroupWait,
}

impl JoinWait {
    /// Rough memory held while it waits, for `pending`'s bound.
    pub fn held_bytes(&self) -> usize {
        let r = &self.request;
        size_of::<Self>()
            + member_bytes(&r.group, &r.member_id, r.instance_id.as_deref())
            + r.client_id.len()
            + r.client_host.len()
            + r.protocol_type.len()
            + r.protocols
                .iter()
                .map(|p| size_of::<Protocol>() + p.name.len() + p.metadata.len())
                .sum::<usize>()
    }
}

/// The answer to a join, short of the response's encoding.
enum Answer {
    Joined(JoinResult),
    /// KIP-394 (v4+): join again with this id.
    MemberIdRequired(String),
    /// An error code; the response echoes the request's member id.
    Failed(i16),
}

/// Joins the group; answers at once, or hands back a job to park.
pub fn handle<B: Broker>(
    req: &Request,
    listener: &Advertised,
    broker: &B,
) -> Result<Reply, CodecError> {
    let r: JoinGroupRequest = req.decode()?;
    let session_timeout_ms = timeout_ms(r.session_timeout_ms);
    let request = JoinRequest {
        group: r.group_id.to_string(),
        member_id: r.member_id.to_string(),
        instance_id: r.group_instance_id.map(|i| i.to_string()),
        client_id: req
            .client_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        client_host: listener.client_host.clone(),
        session_timeout_ms,
        rebalance_timeout_ms: if req.version >= REBALANCE_TIMEOUT_VERSION {
            timeout_ms(r.rebalance_timeout_ms)
        } else {
            session_timeout_ms
        },
        protocol_type: r.protocol_type.to_string(),
        protocols: r
            .protocols
            .into_iter()
            .map(|p| Protocol {
                name: p.name.to_string(),
                metadata: p.metadata.to_vec(),
            })
            .collect(),
        require_known_member_id: req.version >= MEMBER_ID_REQUIRED_VERSION,
    };
    let mut wait = JoinWait {
        correlation_id: req.correlation_id,
        version: req.version,
        request,
        group: GroupWait::at(0),
    };
    let answer = match join(&mut wait, broker) {
        Ok(None) => return Ok(Reply::Job(Job::Join(wait))),
        Ok(Some(answer)) => answer,
        Err(e) => Answer::Failed(errors::group_code(&e)),
    };
    respond(&wait, answer).map(Reply::Frame)
}

/// Runs a parked join: see the module comment.
pub fn run<B: Broker>(wait: &mut JoinWait, broker: &B, run: Run) -> Result<Outcome, CodecError> {
    let polled = broker.group_join_poll(&wait.request.group, &wait.request.member_id);
    let answer = match polled {
        Ok(JoinOutcome::Joined(result)) => Answer::Joined(result),
        Err(e) => Answer::Failed(errors::group_code(&e)),
        // Not an answer `join-poll` gives; the client starts over.
        Ok(JoinOutcome::MemberIdRequired(_)) => Answer::Failed(UNKNOWN_MEMBER_ID),
        Ok(JoinOutcome::Waiting(now)) => {
            let r = &wait.request;
            let timeout_ms = r.rebalance_timeout_ms;
            match wait
                .group
                .again(&r.group, now.version, run, timeout_ms, JOIN_WAKES_MAX)
            {
                Some(park) => return Ok(Outcome::Park(park)),
                None => Answer::Failed(REBALANCE_IN_PROGRESS),
            }
        }
    };
    respond(wait, answer).map(Outcome::Answer)
}

/// Sends the join to the host. `None` when it has to wait (then `wait` holds the member id
/// and the group version to watch).
fn join<B: Broker>(wait: &mut JoinWait, broker: &B) -> Result<Option<Answer>, GroupError> {
    match broker.group_join(&wait.request)? {
        JoinOutcome::Joined(result) => Ok(Some(Answer::Joined(result))),
        JoinOutcome::MemberIdRequired(id) if wait.version >= MEMBER_ID_REQUIRED_VERSION => {
            Ok(Some(Answer::MemberIdRequired(id)))
        }
        // Not asked for (see the module comment); the client starts over.
        JoinOutcome::MemberIdRequired(_) => Ok(Some(Answer::Failed(UNKNOWN_MEMBER_ID))),
        JoinOutcome::Waiting(waiting) => {
            wait.request.member_id = waiting.member_id;
            wait.group = GroupWait::at(waiting.version);
            Ok(None)
        }
    }
}

/// A timeout the peer sent as a signed number; a negative one becomes 0, which the host
/// refuses as INVALID_SESSION_TIMEOUT (or, as a wait, clamps up).
fn timeout_ms(ms: i32) -> u32 {
    u32::try_from(ms).unwrap_or(0)
}

fn respond(wait: &JoinWait, answer: Answer) -> Result<Vec<u8>, CodecError> {
    let v = wait.version;
    let text = |s: &str| StrBytes::from_string(s.to_owned());
    let response = match answer {
        Answer::Joined(r) => JoinGroupResponse::default()
            .with_error_code(NONE)
            .with_generation_id(r.generation)
            .with_protocol_type(Some(text(&r.protocol_type)))
            .with_protocol_name(Some(text(&r.protocol_name)))
            .with_leader(text(&r.leader))
            .with_member_id(text(&r.member_id))
            .with_members(
                r.members
                    .into_iter()
                    .map(|m| {
                        JoinGroupResponseMember::default()
                            .with_member_id(StrBytes::from_string(m.member_id))
                            .with_group_instance_id(m.instance_id.map(StrBytes::from_string))
                            .with_metadata(Bytes::from(m.metadata))
                    })
                    .collect(),
            ),
        Answer::MemberIdRequired(id) => failed(v, MEMBER_ID_REQUIRED, StrBytes::from_string(id)),
        Answer::Failed(code) => failed(v, code, text(&wait.request.member_id)),
    };
    frame::response(wait.correlation_id, ApiKey::JoinGroup, v, &response)
}

fn failed(version: i16, error_code: i16, member_id: StrBytes) -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_error_code(error_code)
        .with_generation_id(NO_GENERATION)
        .with_protocol_name(if version >= NULLABLE_PROTOCOL_VERSION {
            None
        } else {
            Some(StrBytes::new())
        })
        .with_member_id(member_id)
}
