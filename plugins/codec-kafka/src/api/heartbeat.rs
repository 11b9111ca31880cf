//! Heartbeat: keeps a member's session alive (`groups.heartbeat`). REBALANCE_IN_PROGRESS
//! tells the member to join again; the other errors (unknown member, illegal generation,
//! fenced instance) make it rejoin from scratch.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};
use sluice_sdk::codec::{Broker, CodecError, MemberIdentity};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE};

/// Answers a Heartbeat request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: HeartbeatRequest = req.decode()?;
    let member = MemberIdentity {
        member_id: r.member_id.to_string(),
        instance_id: r.group_instance_id.map(|i| i.to_string()),
    };
    let error_code = match broker.group_heartbeat(&r.group_id, &member, r.generation_id) {
        Ok(()) => NONE,
        Err(e) => errors::group_code(&e),
    };
    req.respond(&HeartbeatResponse::default().with_error_code(error_code))
}
