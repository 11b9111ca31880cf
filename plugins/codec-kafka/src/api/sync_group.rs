//! SyncGroup: the leader hands in the generation's assignments and every member gets its own,
//! through the host's `groups.sync`.
//!
//! A follower that syncs before the leader gets `waiting(version)`; [`handle`] then hands
//! `pending` a [`SyncWait`], parked on the group (`wake-on any`, timeout [`SYNC_WAIT_MS`]).
//! Each wake polls `groups.sync-poll`; one that finds no assignment yet parks again on the
//! version the poll answered. A timed-out wake or [`SYNC_WAKES_MAX`] wakes that
//! found no assignment answer REBALANCE_IN_PROGRESS, on which the member joins again.
//!
//! v5 responses echo the request's protocol type and name: the client only checks that they
//! match what it joined with, and looking up the group's on every sync would copy every
//! member's metadata.

use std::mem::size_of;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError, SyncOutcome, SyncRequest};

use crate::api::group_wait::{GroupWait, member_bytes};
use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE, REBALANCE_IN_PROGRESS};
use crate::frame;
use crate::job::{Job, Outcome, Run};

/// How long a follower waits for the leader's assignments. SyncGroup carries no timeout
/// (nor does the codec know the member's session timeout, which came with its JoinGroup);
/// Kafka bounds this wait by the rebalance, and so does the host: a leader that does not sync
/// in time is dropped, the group moves on and the wait wakes. This is the backstop, below the
/// Java client's default `request.timeout.ms` (30 s), past which it would drop the connection.
pub const SYNC_WAIT_MS: u32 = 25_000;

/// Wakes that find no assignment yet before the sync gives up (see [`JOIN_WAKES_MAX`]).
///
/// [`JOIN_WAKES_MAX`]: crate::api::join_group::JOIN_WAKES_MAX
pub const SYNC_WAKES_MAX: u16 = 4096;

/// A follower's sync waiting for the leader's assignments.
pub struct SyncWait {
    /// Echoed in the response.
    correlation_id: i32,
    /// Request (and response) version.
    version: i16,
    /// The sync as sent to the host.
    request: SyncRequest,
    /// v5+: echoed in the response.
    protocol_type: Option<StrBytes>,
    protocol_name: Option<StrBytes>,
    /// The group version to wait past, and the wakes that found no assignment yet (against
    /// [`SYNC_WAKES_MAX`]).
    group: GroupWait,
}

impl SyncWait {
    /// Rough memory held while it waits, for `pending`'s bound.
    pub fn held_bytes(&self) -> usize {
        let r = &self.request;
        size_of::<Self>()
            + member_bytes(&r.group, &r.member_id, r.instance_id.as_deref())
            + r.assignments
                .iter()
                .map(|(m, a)| size_of::<(String, Vec<u8>)>() + m.len() + a.len())
                .sum::<usize>()
    }
}

/// Hands the sync to the host; answers at once, or hands back a job to park.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: SyncGroupRequest = req.decode()?;
    let mut wait = SyncWait {
        correlation_id: req.correlation_id,
        version: req.version,
        request: SyncRequest {
            group: r.group_id.to_string(),
            member_id: r.member_id.to_string(),
            instance_id: r.group_instance_id.map(|i| i.to_string()),
            generation: r.generation_id,
            assignments: r
                .assignments
                .into_iter()
                .map(|a| (a.member_id.to_string(), a.assignment.to_vec()))
                .collect(),
        },
        protocol_type: r.protocol_type,
        protocol_name: r.protocol_name,
        group: GroupWait::at(0),
    };
    match sync(&mut wait, broker) {
        Ok(None) => Ok(Reply::Job(Job::Sync(wait))),
        Ok(Some(assignment)) => respond(&wait, NONE, assignment).map(Reply::Frame),
        Err(code) => respond(&wait, code, Vec::new()).map(Reply::Frame),
    }
}

/// Runs a parked sync: see the module comment.
pub fn run<B: Broker>(wait: &mut SyncWait, broker: &B, run: Run) -> Result<Outcome, CodecError> {
    let r = &wait.request;
    let polled = broker.group_sync_poll(&r.group, &r.member_id, r.generation);
    let (code, assignment) = match polled {
        Ok(SyncOutcome::Assigned(assignment)) => (NONE, assignment),
        Err(e) => (errors::group_code(&e), Vec::new()),
        Ok(SyncOutcome::Waiting(version)) => {
            match wait
                .group
                .again(&r.group, version, run, SYNC_WAIT_MS, SYNC_WAKES_MAX)
            {
                Some(park) => return Ok(Outcome::Park(park)),
                None => (REBALANCE_IN_PROGRESS, Vec::new()),
            }
        }
    };
    respond(wait, code, assignment).map(Outcome::Answer)
}

/// Sends the sync to the host: the assignment, `None` to wait (recording the version to
/// watch), or the Kafka error code.
fn sync<B: Broker>(wait: &mut SyncWait, broker: &B) -> Result<Option<Vec<u8>>, i16> {
    match broker.group_sync(&wait.request) {
        Ok(SyncOutcome::Assigned(assignment)) => Ok(Some(assignment)),
        Ok(SyncOutcome::Waiting(version)) => {
            wait.group = GroupWait::at(version);
            Ok(None)
        }
        Err(e) => Err(errors::group_code(&e)),
    }
}

fn respond(wait: &SyncWait, error_code: i16, assignment: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    let response = SyncGroupResponse::default()
        .with_error_code(error_code)
        .with_protocol_type(wait.protocol_type.clone())
        .with_protocol_name(wait.protocol_name.clone())
        .with_assignment(Bytes::from(assignment));
    frame::response(
        wait.correlation_id,
        ApiKey::SyncGroup,
        wait.version,
        &response,
    )
}
