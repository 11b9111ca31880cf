//! OffsetCommit: stores a group's positions durably (`groups.commit-offsets`); the answer
//! comes once they are on disk.
//!
//! The author is the member and generation the request names; v0 (and any request with
//! generation -1 and no member id) commits from outside any generation, which the host allows
//! only while the group has no members. The committed metadata and (v6+) leader epoch are
//! stored as sent; `retention_time_ms` (v2–v4) and `commit_timestamp` (v1) are ignored, as
//! Kafka does since 2.1. An error for the whole call is every partition's error. v0–v1 (below
//! kafka-protocol's floor of v2) are read by hand; their responses are laid out as v2's.

use std::collections::HashMap;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetCommitResponse, TopicName};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError, CommitAuthor, CommittedOffset};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE, UNKNOWN_TOPIC_OR_PARTITION};
use crate::frame;
use crate::wire::{Reader, WireError};

/// OffsetCommit v1 added the generation and member id, and a per-partition timestamp.
const V1: i16 = 1;
/// The response layout of v0–v1 is v2's (v3 added the throttle time).
const LEGACY_RESPONSE_VERSION: i16 = 2;
/// OffsetCommit v6 added the leader epoch; before it, unknown.
const LEADER_EPOCH_VERSION: i16 = 6;
const NO_LEADER_EPOCH: i32 = -1;
/// The generation of a commit from outside any generation.
const NO_GENERATION: i32 = -1;

/// One partition to commit, independent of the request version.
struct Commit {
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: Option<StrBytes>,
}

/// A commit request, independent of its version.
struct Asked {
    group: StrBytes,
    author: CommitAuthor,
    topics: Vec<(TopicName, Vec<Commit>)>,
}

/// Answers an OffsetCommit request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let legacy = req.version < OffsetCommitRequest::VERSIONS.min;
    let asked = if legacy {
        read_legacy(req)?
    } else {
        let r: OffsetCommitRequest = req.decode()?;
        let with_epoch = req.version >= LEADER_EPOCH_VERSION;
        Asked {
            group: r.group_id.0,
            author: CommitAuthor {
                member_id: r.member_id.to_string(),
                instance_id: r.group_instance_id.map(|i| i.to_string()),
                generation: r.generation_id_or_member_epoch,
            },
            topics: r
                .topics
                .into_iter()
                .map(|t| {
                    let commits = t
                        .partitions
                        .into_iter()
                        .map(|p| Commit {
                            partition: p.partition_index,
                            offset: p.committed_offset,
                            leader_epoch: if with_epoch {
                                p.committed_leader_epoch
                            } else {
                                NO_LEADER_EPOCH
                            },
                            metadata: p.committed_metadata,
                        })
                        .collect();
                    (t.name, commits)
                })
                .collect(),
        }
    };

    // Partitions no log can have are refused here; the others go to the host in order.
    let offsets: Vec<CommittedOffset> = asked
        .topics
        .iter()
        .flat_map(|(topic, commits)| {
            commits.iter().filter_map(|c| {
                Some(CommittedOffset {
                    topic: topic.to_string(),
                    partition: u32::try_from(c.partition).ok()?,
                    offset: c.offset,
                    leader_epoch: c.leader_epoch,
                    metadata: c.metadata.as_ref().map(ToString::to_string),
                })
            })
        })
        .collect();
    let results = broker.commit_offsets(&asked.group, &asked.author, &offsets);
    let mut codes: HashMap<(&str, u32), i16> = HashMap::new();
    match &results {
        Ok(results) => {
            for (o, result) in offsets.iter().zip(results) {
                let code = result.as_ref().map_or_else(errors::group_code, |()| NONE);
                codes.insert((o.topic.as_str(), o.partition), code);
            }
        }
        Err(e) => {
            let code = errors::group_code(e);
            for o in &offsets {
                codes.insert((o.topic.as_str(), o.partition), code);
            }
        }
    }

    let topics = asked
        .topics
        .iter()
        .map(|(name, commits)| {
            let partitions = commits
                .iter()
                .map(|c| {
                    let code = u32::try_from(c.partition)
                        .ok()
                        .and_then(|p| codes.get(&(name.as_str(), p)).copied())
                        // Negative partitions, and any the host left unanswered.
                        .unwrap_or(UNKNOWN_TOPIC_OR_PARTITION);
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(c.partition)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(name.clone())
                .with_partitions(partitions)
        })
        .collect();
    let response = OffsetCommitResponse::default().with_topics(topics);
    if legacy {
        return frame::response(
            req.correlation_id,
            ApiKey::OffsetCommit,
            LEGACY_RESPONSE_VERSION,
            &response,
        )
        .map(Reply::Frame);
    }
    req.respond(&response)
}

/// OffsetCommit v0: group, then topics of (partition, offset, metadata). v1 adds the
/// generation and member id after the group, and a timestamp after each offset.
fn read_legacy(req: &Request) -> Result<Asked, CodecError> {
    let v1 = req.version >= V1;
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<Asked, WireError> {
        let group = r.str()?;
        let (generation, member_id) = if v1 {
            (r.i32()?, r.str()?.to_string())
        } else {
            (NO_GENERATION, String::new())
        };
        let topics = r.array(|r| {
            let name = TopicName(r.str()?);
            let commits = r.array(|r| {
                let partition = r.i32()?;
                let offset = r.i64()?;
                if v1 {
                    let _commit_timestamp = r.i64()?;
                }
                Ok(Commit {
                    partition,
                    offset,
                    leader_epoch: NO_LEADER_EPOCH,
                    metadata: r.nullable_str()?,
                })
            })?;
            Ok((name, commits))
        })?;
        Ok(Asked {
            group,
            author: CommitAuthor {
                member_id,
                instance_id: None,
                generation,
            },
            topics,
        })
    };
    read(&mut r).map_err(|e| req.malformed(&e))
}
