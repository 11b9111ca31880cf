//! The `groups` imports (`wit/groups.wit`), forwarded to the host's group coordinator.
//!
//! The coordinator (`sluice-groups`) speaks plain Rust types so that it stays free of the
//! plugin runtime; this module only converts between its types and the WIT's, and supplies
//! what the coordinator does not own: the clock, and whether a committed partition exists.
use std::time::Instant;

use sluice_groups as g;
use sluice_plugin_runtime::{
    CommitAuthor, CommittedOffset, GroupDescription, GroupError, GroupErrorCode, GroupOverview,
    GroupResults, GroupState, HostGroups, JoinOutcome, JoinRequest, JoinResult, JoinWait,
    MemberDescription, MemberIdentity, MemberMetadata, SyncOutcome, SyncRequest, TopicPartition,
};

use super::BrokerService;

impl HostGroups for BrokerService {
    fn join(&self, r: JoinRequest) -> Result<JoinOutcome, GroupError> {
        let request = g::JoinRequest {
            group: r.group,
            member_id: r.member_id,
            instance_id: r.instance_id,
            client_id: r.client_id,
            client_host: r.client_host,
            session_timeout_ms: r.session_timeout_ms,
            rebalance_timeout_ms: r.rebalance_timeout_ms,
            protocol_type: r.protocol_type,
            protocols: r
                .protocols
                .into_iter()
                .map(|p| g::Protocol {
                    name: p.name,
                    metadata: p.metadata,
                })
                .collect(),
            require_known_member_id: r.require_known_member_id,
        };
        let outcome = self.groups.join(request, Instant::now()).map_err(error)?;
        Ok(join_outcome(outcome))
    }

    fn join_poll(&self, group: &str, member_id: &str) -> Result<JoinOutcome, GroupError> {
        let outcome = self.groups.join_poll(group, member_id, Instant::now());
        Ok(join_outcome(outcome.map_err(error)?))
    }

    fn sync(&self, r: SyncRequest) -> Result<SyncOutcome, GroupError> {
        let request = g::SyncRequest {
            group: r.group,
            member_id: r.member_id,
            instance_id: r.instance_id,
            generation: r.generation,
            assignments: r.assignments,
        };
        let outcome = self.groups.sync(request, Instant::now());
        Ok(sync_outcome(outcome.map_err(error)?))
    }

    fn sync_poll(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<SyncOutcome, GroupError> {
        let outcome = self
            .groups
            .sync_poll(group, member_id, generation, Instant::now());
        Ok(sync_outcome(outcome.map_err(error)?))
    }

    fn heartbeat(
        &self,
        group: &str,
        member: MemberIdentity,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.groups
            .heartbeat(group, identity(member), generation, Instant::now())
            .map_err(error)
    }

    fn leave(&self, group: &str, members: Vec<MemberIdentity>) -> GroupResults {
        let members = members.into_iter().map(identity).collect();
        results(self.groups.leave(group, members, Instant::now()))
    }

    fn list_groups(&self) -> Vec<GroupOverview> {
        self.groups
            .list()
            .into_iter()
            .map(|o| GroupOverview {
                group: o.group,
                protocol_type: o.protocol_type,
                state: state(o.state),
            })
            .collect()
    }

    fn describe_group(&self, group: &str) -> Result<GroupDescription, GroupError> {
        let d = self.groups.describe(group).map_err(error)?;
        Ok(GroupDescription {
            group: d.group,
            state: state(d.state),
            protocol_type: d.protocol_type,
            protocol_name: d.protocol_name,
            generation: d.generation,
            leader: d.leader,
            members: d
                .members
                .into_iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id,
                    instance_id: m.instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    metadata: m.metadata,
                    assignment: m.assignment,
                })
                .collect(),
        })
    }

    fn delete_group(&self, group: &str) -> Result<(), GroupError> {
        self.groups.delete(group).map_err(error)?;
        tracing::info!(group, "group deleted");
        Ok(())
    }

    fn commit_offsets(
        &self,
        group: &str,
        author: CommitAuthor,
        offsets: Vec<CommittedOffset>,
    ) -> GroupResults {
        let author = g::CommitAuthor {
            member_id: author.member_id,
            instance_id: author.instance_id,
            generation: author.generation,
        };
        let offsets = offsets.into_iter().map(to_committed).collect();
        let exists = |topic: &str, partition: u32| {
            self.storage
                .topic(topic)
                .is_some_and(|t| partition < t.partitions)
        };
        results(
            self.groups
                .commit_offsets(group, author, offsets, &exists, Instant::now()),
        )
    }

    fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        let partitions = partitions.map(|ps| ps.into_iter().map(to_partition).collect());
        let found = self
            .groups
            .fetch_offsets(group, partitions)
            .map_err(error)?;
        Ok(found.into_iter().map(from_committed).collect())
    }

    fn delete_offsets(&self, group: &str, partitions: Vec<TopicPartition>) -> GroupResults {
        let partitions = partitions.into_iter().map(to_partition).collect();
        results(self.groups.delete_offsets(group, partitions))
    }
}

fn join_outcome(o: g::JoinOutcome) -> JoinOutcome {
    match o {
        g::JoinOutcome::Waiting { member_id, version } => {
            JoinOutcome::Waiting(JoinWait { member_id, version })
        }
        g::JoinOutcome::Joined(r) => JoinOutcome::Joined(join_result(r)),
        g::JoinOutcome::MemberIdRequired(id) => JoinOutcome::MemberIdRequired(id),
    }
}

fn sync_outcome(o: g::SyncOutcome) -> SyncOutcome {
    match o {
        g::SyncOutcome::Waiting(v) => SyncOutcome::Waiting(v),
        g::SyncOutcome::Assigned(a) => SyncOutcome::Assigned(a),
    }
}

fn join_result(r: g::JoinResult) -> JoinResult {
    JoinResult {
        generation: r.generation,
        protocol_type: r.protocol_type,
        protocol_name: r.protocol_name,
        leader: r.leader,
        member_id: r.member_id,
        members: r
            .members
            .into_iter()
            .map(|m| MemberMetadata {
                member_id: m.member_id,
                instance_id: m.instance_id,
                metadata: m.metadata,
            })
            .collect(),
    }
}

fn identity(m: MemberIdentity) -> g::MemberIdentity {
    g::MemberIdentity {
        member_id: m.member_id,
        instance_id: m.instance_id,
    }
}

fn to_partition(p: TopicPartition) -> g::TopicPartition {
    g::TopicPartition {
        topic: p.topic,
        partition: p.partition,
    }
}

fn to_committed(o: CommittedOffset) -> g::CommittedOffset {
    g::CommittedOffset {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        leader_epoch: o.leader_epoch,
        metadata: o.metadata,
    }
}

fn from_committed(o: g::CommittedOffset) -> CommittedOffset {
    CommittedOffset {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        leader_epoch: o.leader_epoch,
        metadata: o.metadata,
    }
}

fn results(r: Result<Vec<Result<(), g::GroupError>>, g::GroupError>) -> GroupResults {
    Ok(r.map_err(error)?
        .into_iter()
        .map(|one| one.map_err(error))
        .collect())
}

fn state(s: g::GroupState) -> GroupState {
    match s {
        g::GroupState::Empty => GroupState::Empty,
        g::GroupState::PreparingRebalance => GroupState::PreparingRebalance,
        g::GroupState::CompletingRebalance => GroupState::CompletingRebalance,
        g::GroupState::Stable => GroupState::Stable,
        g::GroupState::Dead => GroupState::Dead,
    }
}

/// The coordinator's error as the WIT's; storage failures are also logged here, where the
/// operator looks for them.
fn error(e: g::GroupError) -> GroupError {
    use g::GroupErrorCode as C;
    let code = match e.code {
        C::InvalidGroupId => GroupErrorCode::InvalidGroupId,
        C::GroupIdNotFound => GroupErrorCode::GroupIdNotFound,
        C::UnknownMemberId => GroupErrorCode::UnknownMemberId,
        C::IllegalGeneration => GroupErrorCode::IllegalGeneration,
        C::RebalanceInProgress => GroupErrorCode::RebalanceInProgress,
        C::InvalidSessionTimeout => GroupErrorCode::InvalidSessionTimeout,
        C::InconsistentGroupProtocol => GroupErrorCode::InconsistentGroupProtocol,
        C::GroupMaxSizeReached => GroupErrorCode::GroupMaxSizeReached,
        C::FencedInstanceId => GroupErrorCode::FencedInstanceId,
        C::NonEmptyGroup => GroupErrorCode::NonEmptyGroup,
        C::UnknownTopicOrPartition => GroupErrorCode::UnknownTopicOrPartition,
        C::OffsetMetadataTooLarge => GroupErrorCode::OffsetMetadataTooLarge,
        C::LimitReached => GroupErrorCode::LimitReached,
        C::Storage => {
            tracing::error!(error = %e.message, "group offsets storage failure");
            GroupErrorCode::Storage
        }
    };
    GroupError {
        code,
        message: e.message,
    }
}
