//! OffsetFetch: a group's committed positions (`groups.fetch-offsets`): of the partitions
//! named, or with a null topic list (v2+) of every partition the group committed. A
//! partition with nothing committed answers offset -1 and empty metadata, as Kafka does.
//!
//! v8+ asks about several groups at once. `require_stable` (v7+) asks to wait out pending
//! transactional commits; there are no transactions, so it changes nothing. v9's member id
//! and epoch belong to KIP-848 groups and are ignored. An error for the whole group is every
//! partition's error and, from v2, also the top-level one. v0 (below kafka-protocol's floor
//! of v1) has v1's layout both ways: it is read and answered as v1.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{ApiKey, OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError, CommittedOffset, TopicPartition};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE};
use crate::frame;

/// v0 is read and answered as v1.
const LEGACY_AS: i16 = 1;
/// OffsetFetch v2 added the top-level error; v5 the leader epoch; v8 batched the groups.
const TOP_LEVEL_ERROR_VERSION: i16 = 2;
const LEADER_EPOCH_VERSION: i16 = 5;
const BATCHED_VERSION: i16 = 8;
/// Offset and leader epoch of a partition with nothing committed.
const NO_OFFSET: i64 = -1;
const NO_LEADER_EPOCH: i32 = -1;

/// One partition's answer.
struct Found {
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: StrBytes,
    error_code: i16,
}

/// One group's answer: its error code and, per topic, its partitions.
type GroupAnswer = (i16, Vec<(TopicName, Vec<Found>)>);

/// A request's topics as (name, partitions). v8+ and the earlier versions name their topics
/// in look-alike kafka-protocol types, as they do the topics and partitions of the answer
/// (`answer!`); these macros read and lay out both.
macro_rules! asked {
    ($topics:expr) => {
        $topics.map(|topics| {
            topics
                .into_iter()
                .map(|t| (t.name, t.partition_indexes))
                .collect()
        })
    };
}

/// A [`GroupAnswer`] as (error code, topics of type `$topic` with partitions of `$partition`).
macro_rules! answer {
    ($topic:ident, $partition:ident, $group_answer:expr) => {{
        let (error_code, topics): GroupAnswer = $group_answer;
        let topics: Vec<$topic> = topics
            .into_iter()
            .map(|(name, found)| {
                let partitions = found
                    .into_iter()
                    .map(|f| {
                        $partition::default()
                            .with_partition_index(f.partition)
                            .with_committed_offset(f.offset)
                            .with_committed_leader_epoch(f.leader_epoch)
                            .with_metadata(Some(f.metadata))
                            .with_error_code(f.error_code)
                    })
                    .collect();
                $topic::default()
                    .with_name(name)
                    .with_partitions(partitions)
            })
            .collect();
        (error_code, topics)
    }};
}

/// Answers an OffsetFetch request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let legacy = req.version < OffsetFetchRequest::VERSIONS.min;
    let version = if legacy { LEGACY_AS } else { req.version };
    let r: OffsetFetchRequest = req.decode_as(version)?;
    let with_epoch = version >= LEADER_EPOCH_VERSION;

    let response = if version >= BATCHED_VERSION {
        let groups = r
            .groups
            .into_iter()
            .map(|g| {
                let (error_code, topics) = answer!(
                    OffsetFetchResponseTopics,
                    OffsetFetchResponsePartitions,
                    fetch(broker, &g.group_id, asked!(g.topics), with_epoch)
                );
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id)
                    .with_topics(topics)
                    .with_error_code(error_code)
            })
            .collect();
        OffsetFetchResponse::default().with_groups(groups)
    } else {
        let (error_code, topics) = answer!(
            OffsetFetchResponseTopic,
            OffsetFetchResponsePartition,
            fetch(broker, &r.group_id, asked!(r.topics), with_epoch)
        );
        let top_level = if version >= TOP_LEVEL_ERROR_VERSION {
            error_code
        } else {
            NONE
        };
        OffsetFetchResponse::default()
            .with_topics(topics)
            .with_error_code(top_level)
    };
    frame::response(req.correlation_id, ApiKey::OffsetFetch, version, &response).map(Reply::Frame)
}

/// One group's committed offsets: of `asked` (topic, partitions) in request order, or of
/// every partition it committed (by topic name) when `asked` is `None`.
fn fetch<B: Broker>(
    broker: &B,
    group: &str,
    asked: Option<Vec<(TopicName, Vec<i32>)>>,
    with_epoch: bool,
) -> GroupAnswer {
    let found = |o: &CommittedOffset, partition: i32| Found {
        partition,
        offset: o.offset,
        leader_epoch: if with_epoch {
            o.leader_epoch
        } else {
            NO_LEADER_EPOCH
        },
        metadata: StrBytes::from_string(o.metadata.clone().unwrap_or_default()),
        error_code: NONE,
    };
    let none = |partition: i32, error_code: i16| Found {
        partition,
        offset: NO_OFFSET,
        leader_epoch: NO_LEADER_EPOCH,
        metadata: StrBytes::new(),
        error_code,
    };

    let Some(asked) = asked else {
        return match broker.fetch_offsets(group, None) {
            Err(e) => (errors::group_code(&e), Vec::new()),
            Ok(offsets) => {
                let mut topics: BTreeMap<String, Vec<Found>> = BTreeMap::new();
                for o in &offsets {
                    let Ok(partition) = i32::try_from(o.partition) else {
                        continue;
                    };
                    topics
                        .entry(o.topic.clone())
                        .or_default()
                        .push(found(o, partition));
                }
                let topics = topics
                    .into_iter()
                    .map(|(name, found)| (TopicName(StrBytes::from_string(name)), found))
                    .collect();
                (NONE, topics)
            }
        };
    };

    // Negative partitions cannot have offsets; the rest are asked about.
    let partitions: Vec<TopicPartition> = asked
        .iter()
        .flat_map(|(topic, indexes)| {
            indexes.iter().filter_map(|p| {
                Some(TopicPartition {
                    topic: topic.to_string(),
                    partition: u32::try_from(*p).ok()?,
                })
            })
        })
        .collect();
    let (error_code, offsets) = match broker.fetch_offsets(group, Some(&partitions)) {
        Ok(offsets) => (NONE, offsets),
        Err(e) => (errors::group_code(&e), Vec::new()),
    };
    let by_partition: HashMap<(&str, u32), &CommittedOffset> = offsets
        .iter()
        .map(|o| ((o.topic.as_str(), o.partition), o))
        .collect();
    let topics = asked
        .iter()
        .map(|(name, indexes)| {
            let answers = indexes
                .iter()
                .map(|&p| {
                    let stored = u32::try_from(p)
                        .ok()
                        .and_then(|index| by_partition.get(&(name.as_str(), index)));
                    match stored {
                        Some(o) => found(o, p),
                        None => none(p, error_code),
                    }
                })
                .collect();
            (name.clone(), answers)
        })
        .collect();
    (error_code, topics)
}
