//! Errors, both ways out of a handler.
//!
//! Place in the flow: the `api/*` handlers turn each [`BrokerError`] the host returns into the
//! Kafka error code of one topic or partition (the client sees it, the connection carries on);
//! anything wrong with the connection itself (framing, an undecodable request, an unsupported
//! version) becomes a [`CodecError`], and the host closes that connection and logs the reason.

use kafka_protocol::ResponseError;
use sluice_sdk::codec::{BrokerError, CodecError, ErrorCode, GroupError, GroupErrorCode};

/// Kafka's "no error".
pub const NONE: i16 = 0;
/// Error 1: the fetch offset is outside the log.
pub const OFFSET_OUT_OF_RANGE: i16 = ResponseError::OffsetOutOfRange.code();
/// Error 2: bytes that are not a valid record batch.
pub const CORRUPT_MESSAGE: i16 = ResponseError::CorruptMessage.code();
/// Error 3: no such topic or partition.
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = ResponseError::UnknownTopicOrPartition.code();
/// Error 7: the records were appended but not confirmed durable within the request's timeout.
pub const REQUEST_TIMED_OUT: i16 = ResponseError::RequestTimedOut.code();
/// Error 10: a batch above the topic's size limit.
pub const MESSAGE_TOO_LARGE: i16 = ResponseError::MessageTooLarge.code();
/// Error 17: a topic name that breaks Kafka's naming rule.
pub const INVALID_TOPIC_EXCEPTION: i16 = ResponseError::InvalidTopicException.code();
/// Error 21: produce `acks` other than -1, 0 or 1.
pub const INVALID_REQUIRED_ACKS: i16 = ResponseError::InvalidRequiredAcks.code();
/// Error 29: the principal may not use this topic.
pub const TOPIC_AUTHORIZATION_FAILED: i16 = ResponseError::TopicAuthorizationFailed.code();
/// Error 35: a version of an API (or, per partition, a message format) this broker does not
/// serve.
pub const UNSUPPORTED_VERSION: i16 = ResponseError::UnsupportedVersion.code();
/// Error 36: `create-topic` on an existing topic.
pub const TOPIC_ALREADY_EXISTS: i16 = ResponseError::TopicAlreadyExists.code();
/// Error 37: a partition count of zero or above the broker's limit.
pub const INVALID_PARTITIONS: i16 = ResponseError::InvalidPartitions.code();
/// Error 38: a replication factor a single broker cannot provide.
pub const INVALID_REPLICATION_FACTOR: i16 = ResponseError::InvalidReplicationFactor.code();
/// Error 39: a manual replica assignment naming brokers other than this one.
pub const INVALID_REPLICA_ASSIGNMENT: i16 = ResponseError::InvalidReplicaAssignment.code();
/// Error 40: a topic setting with an unknown name or a bad value.
pub const INVALID_CONFIG: i16 = ResponseError::InvalidConfig.code();
/// Error 42: a request whose fields contradict each other.
pub const INVALID_REQUEST: i16 = ResponseError::InvalidRequest.code();
/// Error 43: the stored message format cannot answer this (old produce versions, the
/// max-timestamp lookup).
pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: i16 = ResponseError::UnsupportedForMessageFormat.code();
/// Error 56: the host could not complete a storage operation; retrying may help.
pub const KAFKA_STORAGE_ERROR: i16 = ResponseError::KafkaStorageError.code();
/// Error 70: a fetch session this broker never created (it only serves sessionless fetches).
pub const FETCH_SESSION_ID_NOT_FOUND: i16 = ResponseError::FetchSessionIdNotFound.code();
/// Error 45: an idempotent producer's batch out of sequence.
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = ResponseError::OutOfOrderSequenceNumber.code();
/// Error 47: an idempotent producer fenced by a newer epoch of its id.
pub const INVALID_PRODUCER_EPOCH: i16 = ResponseError::InvalidProducerEpoch.code();
/// Error 87: a record the topic refuses (a keyless record on a compacted topic).
pub const INVALID_RECORD: i16 = ResponseError::InvalidRecord.code();
/// Error 100: a topic named only by id; topic ids are not assigned yet.
pub const UNKNOWN_TOPIC_ID: i16 = ResponseError::UnknownTopicId.code();
/// Error 14: InitProducerId could not get an id from the host; the client retries.
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = ResponseError::CoordinatorLoadInProgress.code();
/// Error 31: the principal may not use the cluster this way (idempotent writes).
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = ResponseError::ClusterAuthorizationFailed.code();
/// Error 53: InitProducerId with a transactional id; Sluice has no transactions.
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 =
    ResponseError::TransactionalIdAuthorizationFailed.code();
/// Error 74: a current leader epoch older than the partition's (0).
pub const FENCED_LEADER_EPOCH: i16 = ResponseError::FencedLeaderEpoch.code();
/// Error 75: a current leader epoch newer than the partition's (0).
pub const UNKNOWN_LEADER_EPOCH: i16 = ResponseError::UnknownLeaderEpoch.code();
/// Error 114: DescribeCluster asking a broker endpoint for controllers.
pub const MISMATCHED_ENDPOINT_TYPE: i16 = ResponseError::MismatchedEndpointType.code();

/// Error 5: retriable; what a client sees while a router or filter plugin restarts.
pub const LEADER_NOT_AVAILABLE: i16 = ResponseError::LeaderNotAvailable.code();

/// The Kafka error code a client should see for a failed broker operation.
pub fn code(error: &BrokerError) -> i16 {
    match error.code {
        ErrorCode::UnknownTopic | ErrorCode::UnknownPartition => UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode::TopicExists => TOPIC_ALREADY_EXISTS,
        ErrorCode::InvalidTopic => INVALID_TOPIC_EXCEPTION,
        ErrorCode::InvalidPartitions => INVALID_PARTITIONS,
        ErrorCode::InvalidConfig => INVALID_CONFIG,
        ErrorCode::OffsetOutOfRange => OFFSET_OUT_OF_RANGE,
        ErrorCode::RecordTooLarge => MESSAGE_TOO_LARGE,
        ErrorCode::CorruptBatch => CORRUPT_MESSAGE,
        ErrorCode::InvalidRecord => INVALID_RECORD,
        ErrorCode::OutOfOrderSequence => OUT_OF_ORDER_SEQUENCE_NUMBER,
        ErrorCode::InvalidProducerEpoch => INVALID_PRODUCER_EPOCH,
        ErrorCode::NotAuthorized => TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::Storage => KAFKA_STORAGE_ERROR,
        // Queue errors: no Kafka API calls `queues`, but a topic is an address.
        ErrorCode::UnknownAddress => UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode::InvalidAddress => INVALID_TOPIC_EXCEPTION,
        ErrorCode::InvalidRouting
        | ErrorCode::ResourceLimit
        | ErrorCode::UnknownConsumer
        | ErrorCode::InvalidFilter => INVALID_REQUEST,
        // A policy plugin restarting: retriable, as a leader that is not available yet is.
        ErrorCode::Unavailable => LEADER_NOT_AVAILABLE,
    }
}

/// A connection-level failure: the host closes the connection and logs `reason`.
pub fn refuse(reason: impl Into<String>) -> CodecError {
    CodecError {
        reason: reason.into(),
    }
}

/// Error 12: committed metadata longer than the host's `offset-metadata-bytes-max`.
pub const OFFSET_METADATA_TOO_LARGE: i16 = ResponseError::OffsetMetadataTooLarge.code();
/// Error 15: the group service could not write; clients retry (after FindCoordinator).
pub const COORDINATOR_NOT_AVAILABLE: i16 = ResponseError::CoordinatorNotAvailable.code();
/// Error 22: a generation that is not the group's current one.
pub const ILLEGAL_GENERATION: i16 = ResponseError::IllegalGeneration.code();
/// Error 23: protocol type or protocols that do not match the group's.
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = ResponseError::InconsistentGroupProtocol.code();
/// Error 24: an empty or over-long group id.
pub const INVALID_GROUP_ID: i16 = ResponseError::InvalidGroupId.code();
/// Error 25: a member id the group does not know.
pub const UNKNOWN_MEMBER_ID: i16 = ResponseError::UnknownMemberId.code();
/// Error 26: a session timeout outside the host's bounds.
pub const INVALID_SESSION_TIMEOUT: i16 = ResponseError::InvalidSessionTimeout.code();
/// Error 27: the group is rebalancing; the member must join again.
pub const REBALANCE_IN_PROGRESS: i16 = ResponseError::RebalanceInProgress.code();
/// Error 68: a group with members cannot be deleted.
pub const NON_EMPTY_GROUP: i16 = ResponseError::NonEmptyGroup.code();
/// Error 69: no such group.
pub const GROUP_ID_NOT_FOUND: i16 = ResponseError::GroupIdNotFound.code();
/// Error 79 (KIP-394): join again with the member id in this answer.
pub const MEMBER_ID_REQUIRED: i16 = ResponseError::MemberIdRequired.code();
/// Error 81: the group (or the host's group or offset store) is full.
pub const GROUP_MAX_SIZE_REACHED: i16 = ResponseError::GroupMaxSizeReached.code();
/// Error 82: another member holds this static instance id now.
pub const FENCED_INSTANCE_ID: i16 = ResponseError::FencedInstanceId.code();
/// Error 86: OffsetDelete of a topic the group's members are subscribed to.
pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = ResponseError::GroupSubscribedToTopic.code();

/// The Kafka error code a client should see for a failed group operation.
///
/// `limit-reached` has no exact Kafka counterpart when the limit is the host's count of groups
/// or offsets; GROUP_MAX_SIZE_REACHED (a hard limit, not retried) is the nearest. `storage` is
/// COORDINATOR_NOT_AVAILABLE so clients retry, as they do when Kafka's offsets topic is
/// unavailable.
pub fn group_code(error: &GroupError) -> i16 {
    match error.code {
        GroupErrorCode::InvalidGroupId => INVALID_GROUP_ID,
        GroupErrorCode::GroupIdNotFound => GROUP_ID_NOT_FOUND,
        GroupErrorCode::UnknownMemberId => UNKNOWN_MEMBER_ID,
        GroupErrorCode::IllegalGeneration => ILLEGAL_GENERATION,
        GroupErrorCode::RebalanceInProgress => REBALANCE_IN_PROGRESS,
        GroupErrorCode::InvalidSessionTimeout => INVALID_SESSION_TIMEOUT,
        GroupErrorCode::InconsistentGroupProtocol => INCONSISTENT_GROUP_PROTOCOL,
        GroupErrorCode::GroupMaxSizeReached | GroupErrorCode::LimitReached => {
            GROUP_MAX_SIZE_REACHED
        }
        GroupErrorCode::FencedInstanceId => FENCED_INSTANCE_ID,
        GroupErrorCode::NonEmptyGroup => NON_EMPTY_GROUP,
        GroupErrorCode::UnknownTopicOrPartition => UNKNOWN_TOPIC_OR_PARTITION,
        GroupErrorCode::OffsetMetadataTooLarge => OFFSET_METADATA_TOO_LARGE,
        GroupErrorCode::Storage => COORDINATOR_NOT_AVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        let cases = [
            (ErrorCode::UnknownTopic, 3),
            (ErrorCode::UnknownPartition, 3),
            (ErrorCode::TopicExists, 36),
            (ErrorCode::InvalidTopic, 17),
            (ErrorCode::InvalidPartitions, 37),
            (ErrorCode::InvalidConfig, 40),
            (ErrorCode::OffsetOutOfRange, 1),
            (ErrorCode::RecordTooLarge, 10),
            (ErrorCode::CorruptBatch, 2),
            (ErrorCode::InvalidRecord, 87),
            (ErrorCode::OutOfOrderSequence, 45),
            (ErrorCode::InvalidProducerEpoch, 47),
            (ErrorCode::NotAuthorized, 29),
            (ErrorCode::Storage, 56),
        ];
        for (code_in, expected) in cases {
            assert_eq!(
                code(&BrokerError {
                    code: code_in,
                    message: String::new()
                }),
                expected
            );
        }
        assert_eq!(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43);
        assert_eq!(REQUEST_TIMED_OUT, 7);
        assert_eq!(UNKNOWN_TOPIC_ID, 100);
    }

    #[test]
    fn group_codes_match_kafka() {
        let cases = [
            (GroupErrorCode::InvalidGroupId, 24),
            (GroupErrorCode::GroupIdNotFound, 69),
            (GroupErrorCode::UnknownMemberId, 25),
            (GroupErrorCode::IllegalGeneration, 22),
            (GroupErrorCode::RebalanceInProgress, 27),
            (GroupErrorCode::InvalidSessionTimeout, 26),
            (GroupErrorCode::InconsistentGroupProtocol, 23),
            (GroupErrorCode::GroupMaxSizeReached, 81),
            (GroupErrorCode::FencedInstanceId, 82),
            (GroupErrorCode::NonEmptyGroup, 68),
            (GroupErrorCode::UnknownTopicOrPartition, 3),
            (GroupErrorCode::OffsetMetadataTooLarge, 12),
            (GroupErrorCode::LimitReached, 81),
            (GroupErrorCode::Storage, 15),
        ];
        for (code_in, expected) in cases {
            let error = GroupError {
                code: code_in,
                message: String::new(),
            };
            assert_eq!(group_code(&error), expected, "{code_in:?}");
        }
        assert_eq!(MEMBER_ID_REQUIRED, 79);
        assert_eq!(GROUP_SUBSCRIBED_TO_TOPIC, 86);
    }
}
