//! DeleteTopics: `broker.delete_topic` per topic name.
//!
//! v6 may name a topic by id only; ids are not assigned yet, so such a topic is answered
//! UNKNOWN_TOPIC_ID. v0 (below kafka-protocol's floor of v1) has v1's request layout and a
//! response without the throttle time, written by hand.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE, UNKNOWN_TOPIC_ID};
use crate::frame;

/// The first version that names topics in `topics` (name or id) instead of `topic_names`.
const TOPICS_BY_STATE_VERSION: i16 = 6;

/// Answers a DeleteTopics request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let legacy = req.version < DeleteTopicsRequest::VERSIONS.min;
    let request: DeleteTopicsRequest = if legacy {
        req.decode_as(DeleteTopicsRequest::VERSIONS.min)?
    } else {
        req.decode()?
    };

    let results: Vec<DeletableTopicResult> = if req.version >= TOPICS_BY_STATE_VERSION {
        request
            .topics
            .into_iter()
            .map(|t| match t.name {
                Some(name) => delete(broker, name),
                None => DeletableTopicResult::default()
                    .with_name(None)
                    .with_topic_id(t.topic_id)
                    .with_error_code(UNKNOWN_TOPIC_ID)
                    .with_error_message(Some(StrBytes::from_static_str(
                        "topic ids are not supported",
                    ))),
            })
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|name| delete(broker, name))
            .collect()
    };

    if legacy {
        return frame::legacy_response(req.correlation_id, |w| {
            w.array(&results, |w, r| {
                w.str(r.name.as_deref().map_or("", |n| n.as_str()))?;
                w.i16(r.error_code);
                Ok(())
            })
        })
        .map(Reply::Frame);
    }
    req.respond(&DeleteTopicsResponse::default().with_responses(results))
}

fn delete<B: Broker>(broker: &B, name: TopicName) -> DeletableTopicResult {
    let result = DeletableTopicResult::default();
    match broker.delete_topic(&name) {
        Ok(()) => result.with_name(Some(name)).with_error_code(NONE),
        Err(e) => result
            .with_name(Some(name))
            .with_error_code(errors::code(&e))
            .with_error_message(Some(StrBytes::from_string(e.message))),
    }
}
