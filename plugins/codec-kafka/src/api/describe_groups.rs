//! DescribeGroups: each group's state, protocol and members with their metadata and
//! assignments (`groups.describe-group`).
//!
//! A group that does not exist is described as `Dead` with no members, as Kafka does; from v6
//! (KIP-1043) it is also GROUP_ID_NOT_FOUND. Sluice has no ACLs, so when the client asks for
//! authorized operations every group operation is allowed.

use bytes::Bytes;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError, GroupState};

use crate::api::list_groups::state_name;
use crate::dispatch::{Reply, Request};
use crate::errors::{self, GROUP_ID_NOT_FOUND, NONE};

/// DescribeGroups v3 added authorized operations; v6 errors and their messages for unknown
/// groups.
const AUTHORIZED_OPERATIONS_VERSION: i16 = 3;
const NOT_FOUND_VERSION: i16 = 6;
/// "Not asked for" in `authorized_operations`.
const OPERATIONS_OMITTED: i32 = i32::MIN;
/// Every operation Kafka defines on a group: READ (3), DELETE (6), DESCRIBE (8), as a bit set.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// Answers a DescribeGroups request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: DescribeGroupsRequest = req.decode()?;
    let v = req.version;
    let operations = if v >= AUTHORIZED_OPERATIONS_VERSION && r.include_authorized_operations {
        GROUP_OPERATIONS
    } else {
        OPERATIONS_OMITTED
    };
    let message = |text: String| (v >= NOT_FOUND_VERSION).then(|| StrBytes::from_string(text));
    let groups = r
        .groups
        .into_iter()
        .map(|group| match broker.group_describe(&group) {
            Err(e) => DescribedGroup::default()
                .with_group_id(group)
                .with_error_code(errors::group_code(&e))
                .with_error_message(message(e.message))
                .with_group_state(StrBytes::from_static_str(state_name(GroupState::Dead)))
                .with_authorized_operations(operations),
            Ok(d) => {
                let missing =
                    v >= NOT_FOUND_VERSION && d.state == GroupState::Dead && d.members.is_empty();
                let (error_code, error_message) = if missing {
                    (
                        GROUP_ID_NOT_FOUND,
                        message(format!("group {} not found", d.group)),
                    )
                } else {
                    (NONE, None)
                };
                let members = d
                    .members
                    .into_iter()
                    .map(|m| {
                        DescribedGroupMember::default()
                            .with_member_id(StrBytes::from_string(m.member_id))
                            .with_group_instance_id(m.instance_id.map(StrBytes::from_string))
                            .with_client_id(StrBytes::from_string(m.client_id))
                            .with_client_host(StrBytes::from_string(m.client_host))
                            .with_member_metadata(Bytes::from(m.metadata))
                            .with_member_assignment(Bytes::from(m.assignment))
                    })
                    .collect();
                DescribedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(d.group)))
                    .with_error_code(error_code)
                    .with_error_message(error_message)
                    .with_group_state(StrBytes::from_static_str(state_name(d.state)))
                    .with_protocol_type(StrBytes::from_string(d.protocol_type))
                    .with_protocol_data(StrBytes::from_string(d.protocol_name))
                    .with_members(members)
                    .with_authorized_operations(operations)
            }
        })
        .collect();
    req.respond(&DescribeGroupsResponse::default().with_groups(groups))
}
