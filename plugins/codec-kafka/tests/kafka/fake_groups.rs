//! The host's real group coordinator (`sluice-groups`) behind the fake broker's group
//! methods, with a clock the test drives, and the conversions between the SDK's (WIT) types
//! and the coordinator's, which mirror each other field by field.

use std::cell::Cell;
use std::time::{Duration, Instant};

use sluice_groups as host;
use sluice_groups::{Coordinator, GroupLimits};
use sluice_sdk::codec as sdk;
use sluice_sdk::codec::GroupResults;
use tempfile::TempDir;

/// A coordinator in a temporary directory, on a test clock.
pub struct FakeGroups {
    coordinator: Coordinator,
    _dir: TempDir,
    start: Instant,
    elapsed: Cell<Duration>,
}

/// The test limits: Kafka's, without the initial rebalance delay (tests step time instead).
pub fn limits() -> GroupLimits {
    GroupLimits {
        initial_rebalance_delay_ms: 0,
        ..GroupLimits::default()
    }
}

impl FakeGroups {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let coordinator = Coordinator::open(dir.path(), limits()).unwrap();
        FakeGroups {
            coordinator,
            _dir: dir,
            start: Instant::now(),
            elapsed: Cell::new(Duration::ZERO),
        }
    }

    fn now(&self) -> Instant {
        self.start + self.elapsed.get()
    }

    /// Moves the clock on and lets the coordinator act on it (expire sessions, end
    /// rebalances), as the host's ticker does.
    pub fn advance(&self, ms: u64) {
        self.elapsed
            .set(self.elapsed.get() + Duration::from_millis(ms));
        self.coordinator.tick(self.now());
    }

    /// The group's current version, as a host wait compares it.
    pub fn version(&self, group: &str) -> Option<u64> {
        self.coordinator.watch(group).map(|rx| *rx.borrow())
    }

    pub fn join(&self, r: &sdk::JoinRequest) -> Result<sdk::JoinOutcome, sdk::GroupError> {
        let request = host::JoinRequest {
            group: r.group.clone(),
            member_id: r.member_id.clone(),
            instance_id: r.instance_id.clone(),
            client_id: r.client_id.clone(),
            client_host: r.client_host.clone(),
            session_timeout_ms: r.session_timeout_ms,
            rebalance_timeout_ms: r.rebalance_timeout_ms,
            protocol_type: r.protocol_type.clone(),
            protocols: r
                .protocols
                .iter()
                .map(|p| host::Protocol {
                    name: p.name.clone(),
                    metadata: p.metadata.clone(),
                })
                .collect(),
            require_known_member_id: r.require_known_member_id,
        };
        self.coordinator
            .join(request, self.now())
            .map(join_outcome)
            .map_err(error)
    }

    pub fn join_poll(
        &self,
        group: &str,
        member_id: &str,
    ) -> Result<sdk::JoinOutcome, sdk::GroupError> {
        self.coordinator
            .join_poll(group, member_id, self.now())
            .map(join_outcome)
            .map_err(error)
    }

    pub fn sync(&self, r: &sdk::SyncRequest) -> Result<sdk::SyncOutcome, sdk::GroupError> {
        let request = host::SyncRequest {
            group: r.group.clone(),
            member_id: r.member_id.clone(),
            instance_id: r.instance_id.clone(),
            generation: r.generation,
            assignments: r.assignments.clone(),
        };
        self.coordinator
            .sync(request, self.now())
            .map(sync_outcome)
            .map_err(error)
    }

    pub fn sync_poll(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<sdk::SyncOutcome, sdk::GroupError> {
        self.coordinator
            .sync_poll(group, member_id, generation, self.now())
            .map(sync_outcome)
            .map_err(error)
    }

    pub fn heartbeat(
        &self,
        group: &str,
        member: &sdk::MemberIdentity,
        generation: i32,
    ) -> Result<(), sdk::GroupError> {
        self.coordinator
            .heartbeat(group, identity(member), generation, self.now())
            .map_err(error)
    }

    pub fn leave(&self, group: &str, members: &[sdk::MemberIdentity]) -> GroupResults {
        results(
            self.coordinator
                .leave(group, members.iter().map(identity).collect(), self.now()),
        )
    }

    pub fn list(&self) -> Vec<sdk::GroupOverview> {
        self.coordinator
            .list()
            .into_iter()
            .map(|g| sdk::GroupOverview {
                group: g.group,
                protocol_type: g.protocol_type,
                state: state(g.state),
            })
            .collect()
    }

    pub fn describe(&self, group: &str) -> Result<sdk::GroupDescription, sdk::GroupError> {
        self.coordinator
            .describe(group)
            .map(|d| sdk::GroupDescription {
                group: d.group,
                state: state(d.state),
                protocol_type: d.protocol_type,
                protocol_name: d.protocol_name,
                generation: d.generation,
                leader: d.leader,
                members: d
                    .members
                    .into_iter()
                    .map(|m| sdk::MemberDescription {
                        member_id: m.member_id,
                        instance_id: m.instance_id,
                        client_id: m.client_id,
                        client_host: m.client_host,
                        metadata: m.metadata,
                        assignment: m.assignment,
                    })
                    .collect(),
            })
            .map_err(error)
    }

    pub fn delete(&self, group: &str) -> Result<(), sdk::GroupError> {
        self.coordinator.delete(group).map_err(error)
    }

    pub fn commit_offsets(
        &self,
        group: &str,
        author: &sdk::CommitAuthor,
        offsets: &[sdk::CommittedOffset],
        exists: &dyn Fn(&str, u32) -> bool,
    ) -> GroupResults {
        let author = host::CommitAuthor {
            member_id: author.member_id.clone(),
            instance_id: author.instance_id.clone(),
            generation: author.generation,
        };
        let offsets = offsets
            .iter()
            .map(|o| host::CommittedOffset {
                topic: o.topic.clone(),
                partition: o.partition,
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata: o.metadata.clone(),
            })
            .collect();
        results(
            self.coordinator
                .commit_offsets(group, author, offsets, exists, self.now()),
        )
    }

    pub fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[sdk::TopicPartition]>,
    ) -> Result<Vec<sdk::CommittedOffset>, sdk::GroupError> {
        self.coordinator
            .fetch_offsets(group, partitions.map(|p| p.iter().map(partition).collect()))
            .map(|offsets| {
                offsets
                    .into_iter()
                    .map(|o| sdk::CommittedOffset {
                        topic: o.topic,
                        partition: o.partition,
                        offset: o.offset,
                        leader_epoch: o.leader_epoch,
                        metadata: o.metadata,
                    })
                    .collect()
            })
            .map_err(error)
    }

    pub fn delete_offsets(&self, group: &str, partitions: &[sdk::TopicPartition]) -> GroupResults {
        results(
            self.coordinator
                .delete_offsets(group, partitions.iter().map(partition).collect()),
        )
    }
}

fn partition(tp: &sdk::TopicPartition) -> host::TopicPartition {
    host::TopicPartition {
        topic: tp.topic.clone(),
        partition: tp.partition,
    }
}

fn identity(m: &sdk::MemberIdentity) -> host::MemberIdentity {
    host::MemberIdentity {
        member_id: m.member_id.clone(),
        instance_id: m.instance_id.clone(),
    }
}

fn join_outcome(o: host::JoinOutcome) -> sdk::JoinOutcome {
    match o {
        host::JoinOutcome::Waiting { member_id, version } => {
            sdk::JoinOutcome::Waiting(sdk::JoinWait { member_id, version })
        }
        host::JoinOutcome::Joined(r) => sdk::JoinOutcome::Joined(join_result(r)),
        host::JoinOutcome::MemberIdRequired(id) => sdk::JoinOutcome::MemberIdRequired(id),
    }
}

fn sync_outcome(o: host::SyncOutcome) -> sdk::SyncOutcome {
    match o {
        host::SyncOutcome::Waiting(v) => sdk::SyncOutcome::Waiting(v),
        host::SyncOutcome::Assigned(a) => sdk::SyncOutcome::Assigned(a),
    }
}

fn join_result(r: host::JoinResult) -> sdk::JoinResult {
    sdk::JoinResult {
        generation: r.generation,
        protocol_type: r.protocol_type,
        protocol_name: r.protocol_name,
        leader: r.leader,
        member_id: r.member_id,
        members: r
            .members
            .into_iter()
            .map(|m| sdk::MemberMetadata {
                member_id: m.member_id,
                instance_id: m.instance_id,
                metadata: m.metadata,
            })
            .collect(),
    }
}

fn results(r: Result<Vec<Result<(), host::GroupError>>, host::GroupError>) -> GroupResults {
    r.map(|each| each.into_iter().map(|r| r.map_err(error)).collect())
        .map_err(error)
}

fn state(s: host::GroupState) -> sdk::GroupState {
    match s {
        host::GroupState::Empty => sdk::GroupState::Empty,
        host::GroupState::PreparingRebalance => sdk::GroupState::PreparingRebalance,
        host::GroupState::CompletingRebalance => sdk::GroupState::CompletingRebalance,
        host::GroupState::Stable => sdk::GroupState::Stable,
        host::GroupState::Dead => sdk::GroupState::Dead,
    }
}

fn error(e: host::GroupError) -> sdk::GroupError {
    use host::GroupErrorCode as H;
    use sdk::GroupErrorCode as S;
    let code = match e.code {
        H::InvalidGroupId => S::InvalidGroupId,
        H::GroupIdNotFound => S::GroupIdNotFound,
        H::UnknownMemberId => S::UnknownMemberId,
        H::IllegalGeneration => S::IllegalGeneration,
        H::RebalanceInProgress => S::RebalanceInProgress,
        H::InvalidSessionTimeout => S::InvalidSessionTimeout,
        H::InconsistentGroupProtocol => S::InconsistentGroupProtocol,
        H::GroupMaxSizeReached => S::GroupMaxSizeReached,
        H::FencedInstanceId => S::FencedInstanceId,
        H::NonEmptyGroup => S::NonEmptyGroup,
        H::UnknownTopicOrPartition => S::UnknownTopicOrPartition,
        H::OffsetMetadataTooLarge => S::OffsetMetadataTooLarge,
        H::LimitReached => S::LimitReached,
        H::Storage => S::Storage,
    };
    sdk::GroupError {
        code,
        message: e.message,
    }
}
