//! The few requests around producing and fetching: a topic's partitions (Metadata), the
//! earliest or latest offsets (ListOffsets), a group's committed offsets (OffsetFetch) and a
//! commit outside any generation (OffsetCommit with generation -1 and no member id, as a
//! Kafka consumer using `assign()` commits; no group membership is joined).
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    GroupId, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetFetchRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::connection::Connection;

const METADATA_VERSION: i16 = 12;
const LIST_OFFSETS_VERSION: i16 = 7;
const OFFSET_FETCH_VERSION: i16 = 7;
const OFFSET_COMMIT_VERSION: i16 = 8;
/// Kafka's LEADER_NOT_AVAILABLE: a topic being created; asked again.
const LEADER_NOT_AVAILABLE: i16 = 5;
/// Metadata asked again this many times while a new topic gets its leaders.
const METADATA_TRIES: usize = 20;
/// Between two such tries.
const METADATA_RETRY: Duration = Duration::from_millis(100);

/// Where a consumer starts in a partition with no committed offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The log start (`--from-beginning`).
    Earliest,
    /// The log end: only what is produced from now on.
    Latest,
}

pub(crate) fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

fn refused(what: &str, code: i16) -> anyhow::Error {
    let name = code
        .err()
        .map_or_else(|| code.to_string(), |e| format!("{e:?}"));
    anyhow::anyhow!("refused by the broker: {what}: {name} (error {code})")
}

/// The partitions of `topic`, sorted; with `auto_create`, the broker may create it (as a
/// producer's metadata request does).
pub async fn partitions(
    conn: &mut Connection,
    topic: &str,
    auto_create: bool,
) -> anyhow::Result<Vec<i32>> {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name(topic))),
        ]))
        .with_allow_auto_topic_creation(auto_create);
    for _ in 0..METADATA_TRIES {
        let response = conn.call(METADATA_VERSION, &request).await?;
        let found = response
            .topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
            .with_context(|| format!("metadata without topic {topic}"))?;
        match found.error_code {
            0 if !found.partitions.is_empty() => {
                let mut partitions: Vec<i32> =
                    found.partitions.iter().map(|p| p.partition_index).collect();
                partitions.sort_unstable();
                return Ok(partitions);
            }
            0 | LEADER_NOT_AVAILABLE => tokio::time::sleep(METADATA_RETRY).await,
            code => return Err(refused(&format!("topic {topic}"), code)),
        }
    }
    bail!("topic {topic} has no partitions ready")
}

/// The earliest or latest offset of each of `partitions`.
pub async fn list_offsets(
    conn: &mut Connection,
    topic: &str,
    partitions: &[i32],
    start: Start,
) -> anyhow::Result<BTreeMap<i32, i64>> {
    let timestamp = match start {
        Start::Earliest => -2,
        Start::Latest => -1,
    };
    let request = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&p| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_current_leader_epoch(-1)
                                .with_timestamp(timestamp)
                        })
                        .collect(),
                ),
        ]);
    let response = conn.call(LIST_OFFSETS_VERSION, &request).await?;
    let mut offsets = BTreeMap::new();
    for p in response.topics.iter().flat_map(|t| &t.partitions) {
        if p.error_code != 0 {
            return Err(refused(
                &format!("offsets of {topic}/{}", p.partition_index),
                p.error_code,
            ));
        }
        offsets.insert(p.partition_index, p.offset);
    }
    Ok(offsets)
}

/// Group `group`'s committed offset for each of `partitions`; `None` where it has none.
pub async fn committed(
    conn: &mut Connection,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> anyhow::Result<BTreeMap<i32, Option<i64>>> {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(Some(vec![
            OffsetFetchRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partition_indexes(partitions.to_vec()),
        ]));
    let response = conn.call(OFFSET_FETCH_VERSION, &request).await?;
    if response.error_code != 0 {
        return Err(refused(
            &format!("offsets of group {group}"),
            response.error_code,
        ));
    }
    let mut offsets = BTreeMap::new();
    for p in response.topics.iter().flat_map(|t| &t.partitions) {
        if p.error_code != 0 {
            return Err(refused(
                &format!("group {group}'s offset of {topic}/{}", p.partition_index),
                p.error_code,
            ));
        }
        offsets.insert(
            p.partition_index,
            (p.committed_offset >= 0).then_some(p.committed_offset),
        );
    }
    Ok(offsets)
}

/// Commits `offsets` (the next offset to read, per partition) for `group`, outside any
/// generation.
pub async fn commit(
    conn: &mut Connection,
    group: &str,
    topic: &str,
    offsets: &BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(StrBytes::from_static_str(""))
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(
                    offsets
                        .iter()
                        .map(|(&p, &offset)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(-1)
                        })
                        .collect(),
                ),
        ]);
    let response = conn.call(OFFSET_COMMIT_VERSION, &request).await?;
    for p in response.topics.iter().flat_map(|t| &t.partitions) {
        if p.error_code != 0 {
            return Err(refused(
                &format!("commit of {topic}/{} for group {group}", p.partition_index),
                p.error_code,
            ));
        }
    }
    Ok(())
}
