//! DeleteGroups: deletes groups without members, with their committed offsets
//! (`groups.delete-group`), one result per group. A group with members is NON_EMPTY_GROUP,
//! an unknown one GROUP_ID_NOT_FOUND.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE};

/// Answers a DeleteGroups request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: DeleteGroupsRequest = req.decode()?;
    let results = r
        .groups_names
        .into_iter()
        .map(|group| {
            let error_code = match broker.group_delete(&group) {
                Ok(()) => NONE,
                Err(e) => errors::group_code(&e),
            };
            DeletableGroupResult::default()
                .with_group_id(group)
                .with_error_code(error_code)
        })
        .collect();
    req.respond(&DeleteGroupsResponse::default().with_results(results))
}
