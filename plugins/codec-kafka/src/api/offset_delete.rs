//! OffsetDelete: forgets some of a group's committed offsets (`groups.delete-offsets`).
//!
//! As in Kafka, the offsets of a topic the group is still consuming are kept: when the group
//! has members and its protocol type is `consumer`, each member's subscription (the
//! ConsumerProtocolSubscription in its metadata for the chosen protocol) is read, and a
//! partition of a subscribed topic is answered GROUP_SUBSCRIBED_TO_TOPIC. A member whose
//! metadata cannot be read counts as subscribed to everything, so nothing it may be using is
//! deleted. A group with members of any other protocol type is NON_EMPTY_GROUP, and one that
//! does not exist GROUP_ID_NOT_FOUND.

use std::collections::{HashMap, HashSet};

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use sluice_sdk::codec::{Broker, CodecError, GroupDescription, GroupState, TopicPartition};

use crate::dispatch::{Reply, Request};
use crate::errors::{
    self, GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC, NON_EMPTY_GROUP, NONE,
    UNKNOWN_TOPIC_OR_PARTITION,
};
use crate::wire::{Reader, WireError};

/// The protocol type of Kafka consumers, whose member metadata is a subscription.
const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The topics a group's members subscribe to.
enum Subscribed {
    /// Nothing: the group has no members.
    Nothing,
    /// These topics.
    Topics(HashSet<String>),
    /// Possibly anything (a member's metadata could not be read).
    Everything,
}

impl Subscribed {
    fn contains(&self, topic: &str) -> bool {
        match self {
            Subscribed::Nothing => false,
            Subscribed::Topics(topics) => topics.contains(topic),
            Subscribed::Everything => true,
        }
    }
}

/// Answers an OffsetDelete request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let r: OffsetDeleteRequest = req.decode()?;
    let failed = |code: i16| req.respond(&OffsetDeleteResponse::default().with_error_code(code));
    let group = match broker.group_describe(&r.group_id) {
        Ok(group) => group,
        Err(e) => return failed(errors::group_code(&e)),
    };
    if group.state == GroupState::Dead {
        return failed(GROUP_ID_NOT_FOUND);
    }
    let subscribed = if group.members.is_empty() {
        Subscribed::Nothing
    } else if group.protocol_type == CONSUMER_PROTOCOL_TYPE {
        subscriptions(&group)
    } else {
        return failed(NON_EMPTY_GROUP);
    };

    // Partitions of subscribed topics, and negative ones, are answered here; the rest go to
    // the host in order.
    let deletable: Vec<TopicPartition> = r
        .topics
        .iter()
        .filter(|t| !subscribed.contains(t.name.as_str()))
        .flat_map(|t| {
            t.partitions.iter().filter_map(|p| {
                Some(TopicPartition {
                    topic: t.name.to_string(),
                    partition: u32::try_from(p.partition_index).ok()?,
                })
            })
        })
        .collect();
    let mut codes: HashMap<(&str, u32), i16> = HashMap::new();
    match broker.delete_offsets(&r.group_id, &deletable) {
        Ok(results) => {
            for (tp, result) in deletable.iter().zip(&results) {
                let code = result.as_ref().map_or_else(errors::group_code, |()| NONE);
                codes.insert((tp.topic.as_str(), tp.partition), code);
            }
        }
        Err(e) => return failed(errors::group_code(&e)),
    }
    let topics = r
        .topics
        .iter()
        .map(|t| {
            let topic_subscribed = subscribed.contains(t.name.as_str());
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = if topic_subscribed {
                        GROUP_SUBSCRIBED_TO_TOPIC
                    } else {
                        u32::try_from(p.partition_index)
                            .ok()
                            .and_then(|i| codes.get(&(t.name.as_str(), i)).copied())
                            .unwrap_or(UNKNOWN_TOPIC_OR_PARTITION)
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    req.respond(
        &OffsetDeleteResponse::default()
            .with_error_code(NONE)
            .with_topics(topics),
    )
}

/// The union of the members' subscribed topics.
fn subscriptions(group: &GroupDescription) -> Subscribed {
    let mut topics = HashSet::new();
    for member in &group.members {
        match subscribed_topics(&member.metadata) {
            Ok(subscribed) => topics.extend(subscribed),
            Err(_) => return Subscribed::Everything,
        }
    }
    Subscribed::Topics(topics)
}

/// The topic list at the head of a ConsumerProtocolSubscription: a version, then the topics,
/// in every version (later versions only append fields). Read by hand rather than with
/// kafka-protocol, whose decoder would trust the member's array counts (see `shape`): the
/// metadata is whatever a member sent.
fn subscribed_topics(metadata: &[u8]) -> Result<Vec<String>, WireError> {
    let mut r = Reader::new(metadata);
    let _version = r.i16()?;
    r.array(|r| Ok(r.str()?.to_string()))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::messages::ConsumerProtocolSubscription;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;

    #[test]
    fn subscription_topics_are_read_in_every_version() {
        for v in 0..=3i16 {
            let mut out = BytesMut::new();
            out.extend_from_slice(&v.to_be_bytes());
            ConsumerProtocolSubscription::default()
                .with_topics(vec![StrBytes::from_static_str("a"), "bb".into()])
                .encode(&mut out, v)
                .unwrap();
            assert_eq!(subscribed_topics(&out).unwrap(), ["a", "bb"], "v{v}");
        }
        assert!(subscribed_topics(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_err());
        assert!(subscribed_topics(&[]).is_err());
    }
}
