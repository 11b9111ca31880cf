//! Consumer groups over the admin API: what `kafka-consumer-groups` shows and does, through
//! the same group coordinator calls Kafka clients' requests go through.
//!
//! - `GET /api/groups`: every group, by id: state, protocol type, member count.
//! - `GET /api/groups/{group}`: its members (with the partitions each is assigned, for Kafka
//!   consumers), and per partition the committed offset, the log's end (the high watermark:
//!   the end of what consumers can read) and the lag, with the total. The partitions shown are
//!   every partition of each topic the group committed to, and every partition assigned to a
//!   member; one with nothing committed shows `committed: null` and lags by its whole log.
//!   404 for a group that neither exists nor has offsets.
//! - `POST /api/groups/{group}/reset-offsets` `{"topic"?, "partitions"?, "to", "dry_run"?}`:
//!   `kafka-consumer-groups --reset-offsets` (see [`ResetTo`]). Without `topic`, every
//!   partition the group has committed; with it, all its partitions or those listed. New
//!   offsets are clamped to the partition's `[log start, log end]`. Refused with 409 unless the
//!   group is Empty or Dead, as Kafka refuses. `dry_run` (the default, as Kafka's tool plans
//!   unless told `--execute`) answers the plan and commits nothing; otherwise the offsets are
//!   committed through the coordinator, durably, before the answer.
use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_plugin_runtime::{
    CommitAuthor, CommittedOffset, GroupDescription, GroupErrorCode, GroupState, HostBroker,
    HostGroups, PartitionOffsets,
};

use super::Admin;
use super::assignment::{self, Assigned, CONSUMER_PROTOCOL_TYPE};
use super::broker_calls::{blocking, broker_refusal, group_refusal};
use super::plugins::{ApiError, parse_body};
use crate::service::BrokerService;

/// A line of `GET /api/groups`.
#[derive(Debug, Serialize)]
pub(super) struct GroupSummary {
    group: String,
    state: &'static str,
    protocol_type: String,
    members: usize,
}

/// `GET /api/groups/{group}`.
#[derive(Debug, Serialize)]
pub(super) struct GroupView {
    group: String,
    state: &'static str,
    protocol_type: String,
    /// The assignor chosen for the current generation; empty between generations.
    protocol: String,
    generation: i32,
    leader: String,
    members: Vec<MemberView>,
    offsets: Vec<OffsetView>,
    /// The sum of every partition's lag.
    lag: i64,
}

#[derive(Debug, Serialize)]
struct MemberView {
    member_id: String,
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    /// Decoded for Kafka consumers; empty otherwise, and between generations.
    assignment: Vec<Assigned>,
}

/// One partition's position.
#[derive(Debug, Serialize)]
struct OffsetView {
    topic: String,
    partition: u32,
    /// The next offset the group reads; `null` when nothing is committed.
    committed: Option<i64>,
    /// `null` (as the two below) when the topic no longer exists.
    log_start: Option<i64>,
    /// The high watermark.
    log_end: Option<i64>,
    /// Records between the group's position (the log start when it committed nothing, or
    /// committed below it) and `log_end`.
    lag: Option<i64>,
    /// The member assigned the partition, if any.
    member_id: Option<String>,
}

/// Where `reset-offsets` moves each partition.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ResetTo {
    /// The log start.
    Earliest,
    /// The high watermark: only records produced from now on are read.
    Latest,
    /// This offset.
    Offset(i64),
    /// The first record at or after this time (ms since the epoch); the high watermark when
    /// every record is older.
    TimestampMs(i64),
    /// The committed offset moved by this much (negative: back); refused for a partition with
    /// nothing committed, as Kafka refuses.
    ShiftBy(i64),
}

/// `POST /api/groups/{group}/reset-offsets`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    topic: Option<String>,
    partitions: Option<Vec<u32>>,
    to: ResetTo,
    #[serde(default = "plan_only")]
    dry_run: bool,
}

fn plan_only() -> bool {
    true
}

/// What `reset-offsets` did, or would do.
#[derive(Debug, Serialize)]
pub(super) struct ResetView {
    group: String,
    state: &'static str,
    dry_run: bool,
    offsets: Vec<ResetOffset>,
}

#[derive(Debug, Serialize)]
struct ResetOffset {
    topic: String,
    partition: u32,
    /// What was committed before; `null` when nothing was.
    previous: Option<i64>,
    new_offset: i64,
}

pub(super) async fn list(State(admin): State<Admin>) -> Result<Json<Vec<GroupSummary>>, ApiError> {
    blocking(&admin.service, |service| {
        service
            .list_groups()
            .into_iter()
            .map(|o| {
                let members = service
                    .describe_group(&o.group)
                    .map(|d| d.members.len())
                    .map_err(group_refusal)?;
                Ok(GroupSummary {
                    group: o.group,
                    state: state_name(o.state),
                    protocol_type: o.protocol_type,
                    members,
                })
            })
            .collect()
    })
    .await
    .map(Json)
}

pub(super) async fn show(
    State(admin): State<Admin>,
    Path(group): Path<String>,
) -> Result<Json<GroupView>, ApiError> {
    blocking(&admin.service, move |service| describe(service, &group))
        .await
        .map(Json)
}

pub(super) async fn reset_offsets(
    State(admin): State<Admin>,
    Path(group): Path<String>,
    body: Bytes,
) -> Result<Json<ResetView>, ApiError> {
    let request: ResetRequest = parse_body(&body)?.ok_or_else(|| {
        ApiError::bad(
            "a JSON body is required: {\"to\": \"earliest\"|\"latest\"|{\"offset\": n}|\
             {\"timestamp_ms\": n}|{\"shift_by\": n}, \"topic\"?, \"dry_run\"?}"
                .to_owned(),
        )
    })?;
    if request.partitions.is_some() && request.topic.is_none() {
        return Err(ApiError::bad("`partitions` needs a `topic`".to_owned()));
    }
    blocking(&admin.service, move |service| {
        reset(service, &group, request)
    })
    .await
    .map(Json)
}

fn describe(service: &BrokerService, group: &str) -> Result<GroupView, ApiError> {
    let d = service.describe_group(group).map_err(group_refusal)?;
    let committed = committed(service, group)?;
    if d.state == GroupState::Dead && committed.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no consumer group `{group}`"),
        ));
    }
    let members = members(&d);
    // Which member reads which partition, and every partition worth showing.
    let mut readers: BTreeMap<(String, u32), String> = BTreeMap::new();
    for m in &members {
        for a in &m.assignment {
            for &p in &a.partitions {
                readers.insert((a.topic.clone(), p), m.member_id.clone());
            }
        }
    }
    let mut shown: BTreeSet<(String, u32)> = readers.keys().cloned().collect();
    let topics: BTreeSet<&str> = committed.keys().map(|(t, _)| t.as_str()).collect();
    for topic in topics {
        if let Ok(t) = service.describe_topic(topic, false) {
            shown.extend((0..t.partitions).map(|p| (topic.to_owned(), p)));
        }
    }
    shown.extend(committed.keys().cloned());
    let offsets: Vec<OffsetView> = shown
        .into_iter()
        .map(|(topic, partition)| {
            let position = committed.get(&(topic.clone(), partition)).copied();
            let log = service.offsets(&topic, partition).ok();
            OffsetView {
                member_id: readers.get(&(topic.clone(), partition)).cloned(),
                committed: position,
                log_start: log.as_ref().map(|o| o.log_start),
                log_end: log.as_ref().map(|o| o.high_watermark),
                lag: log.as_ref().map(|o| lag(position, o)),
                topic,
                partition,
            }
        })
        .collect();
    Ok(GroupView {
        group: d.group,
        state: state_name(d.state),
        protocol_type: d.protocol_type,
        protocol: d.protocol_name,
        generation: d.generation,
        leader: d.leader,
        lag: offsets.iter().filter_map(|o| o.lag).sum(),
        members,
        offsets,
    })
}

fn reset(
    service: &BrokerService,
    group: &str,
    request: ResetRequest,
) -> Result<ResetView, ApiError> {
    let d = service.describe_group(group).map_err(group_refusal)?;
    if !matches!(d.state, GroupState::Empty | GroupState::Dead) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "offsets of group `{group}` can be reset only while it is inactive; it is {} \
                 with {} member{} (stop its consumers first)",
                state_name(d.state),
                d.members.len(),
                if d.members.len() == 1 { "" } else { "s" },
            ),
        ));
    }
    let committed = committed(service, group)?;
    let targets: Vec<(String, u32)> = match &request.topic {
        Some(topic) => {
            let count = service
                .describe_topic(topic, false)
                .map_err(broker_refusal)?
                .partitions;
            match &request.partitions {
                None => (0..count).map(|p| (topic.clone(), p)).collect(),
                Some(listed) => {
                    if let Some(p) = listed.iter().find(|&&p| p >= count) {
                        return Err(ApiError::new(
                            StatusCode::NOT_FOUND,
                            format!("topic `{topic}` has no partition {p} (it has {count})"),
                        ));
                    }
                    let listed: BTreeSet<u32> = listed.iter().copied().collect();
                    listed.into_iter().map(|p| (topic.clone(), p)).collect()
                }
            }
        }
        None if committed.is_empty() => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("group `{group}` has no committed offsets; name a topic to set some"),
            ));
        }
        None => committed.keys().cloned().collect(),
    };
    let mut planned = Vec::with_capacity(targets.len());
    for (topic, partition) in targets {
        let log = service.offsets(&topic, partition).map_err(broker_refusal)?;
        let previous = committed.get(&(topic.clone(), partition)).copied();
        let wanted = match request.to {
            ResetTo::Earliest => log.log_start,
            ResetTo::Latest => log.high_watermark,
            ResetTo::Offset(n) => n,
            ResetTo::TimestampMs(t) => service
                .offset_for_timestamp(&topic, partition, t)
                .map_err(broker_refusal)?
                .map_or(log.high_watermark, |found| found.offset),
            ResetTo::ShiftBy(n) => previous
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!(
                            "cannot shift partition {topic}-{partition}: group `{group}` has \
                             no committed offset there"
                        ),
                    )
                })?
                .saturating_add(n),
        };
        planned.push(ResetOffset {
            new_offset: wanted.clamp(log.log_start, log.log_end),
            topic,
            partition,
            previous,
        });
    }
    if !request.dry_run {
        commit(service, group, &planned)?;
        tracing::info!(
            group,
            partitions = planned.len(),
            "committed offsets reset by the admin API"
        );
    }
    Ok(ResetView {
        group: group.to_owned(),
        state: state_name(d.state),
        dry_run: request.dry_run,
        offsets: planned,
    })
}

/// Commits `planned` as a client outside any generation, which the coordinator accepts only
/// while the group has no members: a consumer joining since the state was checked makes the
/// commit fail rather than move offsets under it.
fn commit(service: &BrokerService, group: &str, planned: &[ResetOffset]) -> Result<(), ApiError> {
    let author = CommitAuthor {
        member_id: String::new(),
        instance_id: None,
        generation: -1,
    };
    let offsets = planned
        .iter()
        .map(|o| CommittedOffset {
            topic: o.topic.clone(),
            partition: o.partition,
            offset: o.new_offset,
            leader_epoch: -1,
            metadata: None,
        })
        .collect();
    let results = service
        .commit_offsets(group, author, offsets)
        .map_err(|e| match e.code {
            GroupErrorCode::UnknownMemberId
            | GroupErrorCode::IllegalGeneration
            | GroupErrorCode::RebalanceInProgress => ApiError::new(
                StatusCode::CONFLICT,
                format!("group `{group}` became active during the reset; nothing was committed"),
            ),
            _ => group_refusal(e),
        })?;
    results
        .into_iter()
        .find_map(Result::err)
        .map_or(Ok(()), |e| Err(group_refusal(e)))
}

/// The group's committed offsets by partition.
fn committed(
    service: &BrokerService,
    group: &str,
) -> Result<BTreeMap<(String, u32), i64>, ApiError> {
    Ok(service
        .fetch_offsets(group, None)
        .map_err(group_refusal)?
        .into_iter()
        .filter(|o| o.offset >= 0)
        .map(|o| ((o.topic, o.partition), o.offset))
        .collect())
}

fn members(d: &GroupDescription) -> Vec<MemberView> {
    d.members
        .iter()
        .map(|m| MemberView {
            member_id: m.member_id.clone(),
            instance_id: m.instance_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            assignment: if d.protocol_type == CONSUMER_PROTOCOL_TYPE && !m.assignment.is_empty() {
                assignment::decode(&m.assignment).unwrap_or_default()
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// Records left to read from `committed` (or the log start) to the high watermark.
fn lag(committed: Option<i64>, log: &PartitionOffsets) -> i64 {
    let position = committed.map_or(log.log_start, |c| c.max(log.log_start));
    (log.high_watermark - position).max(0)
}

/// Kafka's spelling of a group state, as `kafka-consumer-groups` prints it.
fn state_name(state: GroupState) -> &'static str {
    match state {
        GroupState::Empty => "Empty",
        GroupState::PreparingRebalance => "PreparingRebalance",
        GroupState::CompletingRebalance => "CompletingRebalance",
        GroupState::Stable => "Stable",
        GroupState::Dead => "Dead",
    }
}
