//! ListGroups: every group the host keeps (`groups.list-groups`), dead ones aside.
//!
//! v4 filters by state (Kafka's state names, matched case-insensitively); v5 by group type,
//! and every group here is a `classic` one (the JoinGroup/SyncGroup protocol; KIP-848's
//! `consumer` groups and KIP-932's `share` groups do not exist in Sluice).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError, GroupState};

use crate::dispatch::{Reply, Request};
use crate::errors::NONE;

/// The type of every group (ListGroups v5, KIP-848's name for the classic protocol).
pub const CLASSIC: &str = "classic";

/// Answers a ListGroups request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: ListGroupsRequest = req.decode()?;
    let type_listed = r.types_filter.is_empty()
        || r.types_filter
            .iter()
            .any(|t| t.as_str().eq_ignore_ascii_case(CLASSIC));
    let groups = if type_listed {
        broker
            .group_list()
            .into_iter()
            .filter(|g| g.state != GroupState::Dead)
            .filter(|g| {
                r.states_filter.is_empty()
                    || r.states_filter
                        .iter()
                        .any(|s| s.as_str().eq_ignore_ascii_case(state_name(g.state)))
            })
            .map(|g| {
                ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(g.group)))
                    .with_protocol_type(StrBytes::from_string(g.protocol_type))
                    .with_group_state(StrBytes::from_static_str(state_name(g.state)))
                    .with_group_type(StrBytes::from_static_str(CLASSIC))
            })
            .collect()
    } else {
        Vec::new()
    };
    req.respond(
        &ListGroupsResponse::default()
            .with_error_code(NONE)
            .with_groups(groups),
    )
}

/// A group state as Kafka names it (ListGroups, DescribeGroups).
pub fn state_name(state: GroupState) -> &'static str {
    match state {
        GroupState::Empty => "Empty",
        GroupState::PreparingRebalance => "PreparingRebalance",
        GroupState::CompletingRebalance => "CompletingRebalance",
        GroupState::Stable => "Stable",
        GroupState::Dead => "Dead",
    }
}
