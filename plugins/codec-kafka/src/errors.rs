//! Errors, both ways out of a handler.
//!
//! Place in the flow: the `api/*` handlers turn each [`BrokerError`] the host returns into the
//! Kafka error code of one topic or partition (the client sees it, the connection carries on);
//! anything wrong with the connection itself (framing, an undecodable request, an unsupported
//! version) becomes a [`CodecError`], and the host closes that connection and logs the reason.

use kafka_protocol::ResponseError;
use sluice_sdk::codec::{BrokerError, CodecError, ErrorCode};

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
/// Error 100: a topic named only by id; topic ids are not assigned yet.
pub const UNKNOWN_TOPIC_ID: i16 = ResponseError::UnknownTopicId.code();

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
        ErrorCode::NotAuthorized => TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::Storage => KAFKA_STORAGE_ERROR,
    }
}

/// A connection-level failure: the host closes the connection and logs `reason`.
pub fn refuse(reason: impl Into<String>) -> CodecError {
    CodecError {
        reason: reason.into(),
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
}
