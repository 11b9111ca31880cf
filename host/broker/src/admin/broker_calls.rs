//! Calling the broker's own operations (`BrokerService`, the policy Kafka clients get) from
//! the admin API: off the runtime's threads, since they write and fsync, and with their
//! errors turned into the admin API's statuses.
use std::sync::Arc;

use axum::http::StatusCode;
use sluice_plugin_runtime::{BrokerError, ErrorCode, GroupError, GroupErrorCode};

use super::plugins::ApiError;
use crate::service::BrokerService;

/// Runs `call` on the service on a blocking thread: creating a topic, adding partitions and
/// committing offsets wait for the disk.
pub(super) async fn blocking<T, F>(service: &Arc<BrokerService>, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&BrokerService) -> Result<T, ApiError> + Send + 'static,
{
    let service = service.clone();
    tokio::task::spawn_blocking(move || call(&service))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("broker call failed: {e}"),
            )
        })?
}

/// A storage or topic error: 404 for what does not exist, 409 for what already does, 400
/// for a name, count or setting that is not valid, 500 for the broker's own failures.
pub(super) fn broker_refusal(e: BrokerError) -> ApiError {
    let status = match e.code {
        ErrorCode::UnknownTopic | ErrorCode::UnknownPartition => StatusCode::NOT_FOUND,
        ErrorCode::TopicExists => StatusCode::CONFLICT,
        ErrorCode::InvalidTopic
        | ErrorCode::InvalidPartitions
        | ErrorCode::InvalidConfig
        | ErrorCode::OffsetOutOfRange => StatusCode::BAD_REQUEST,
        ErrorCode::NotAuthorized => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, e.message)
}

/// A group coordinator error: 400 for a bad group id, 404 for an unknown group, topic or
/// partition, 409 for a group whose members are active, 422 for a limit, 500 for the
/// offsets journal failing.
pub(super) fn group_refusal(e: GroupError) -> ApiError {
    use GroupErrorCode as C;
    let status = match e.code {
        C::InvalidGroupId | C::OffsetMetadataTooLarge => StatusCode::BAD_REQUEST,
        C::GroupIdNotFound | C::UnknownTopicOrPartition => StatusCode::NOT_FOUND,
        C::UnknownMemberId
        | C::IllegalGeneration
        | C::RebalanceInProgress
        | C::NonEmptyGroup
        | C::FencedInstanceId => StatusCode::CONFLICT,
        C::LimitReached | C::GroupMaxSizeReached => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, e.message)
}
