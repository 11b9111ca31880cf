//! What the host offers plugins: the `broker`, `groups` and `log` imports.
//!
//! The runtime does not know what a topic is. It forwards each import to a [`HostBroker`]
//! that the broker crate implements over storage, so this crate stays free of storage and the
//! storage crate stays free of plugins.
use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, WasmList};

use crate::bindings::sluice::plugin::{broker, groups, log, types};
use crate::bindings::{
    AppendResult, BrokerError, ClusterInfo, CommitAuthor, CommittedOffset, ConfigChange,
    ConfigEntry, GroupDescription, GroupError, GroupOverview, JoinOutcome, JoinRequest, LogLevel,
    MemberIdentity, PartitionOffsets, ProducerIdentity, ReadResult, SyncOutcome, SyncRequest,
    TimestampOffset, TopicInfo, TopicPartition,
};
use crate::host_queues::{HostAuth, HostQueues};
use crate::sandbox::StoreState;

/// Broker operations, as the `broker` interface of `wit/broker.wit` documents them, with the
/// group service of `wit/groups.wit` and the queues and users of `wit/queues.wit` and
/// `wit/auth.wit`. Called on the thread running the plugin, inside a plugin
/// call: implementations must not block for long.
pub trait HostBroker: HostGroups + HostQueues + HostAuth + Send + Sync + 'static {
    /// `broker.cluster`.
    fn cluster(&self) -> ClusterInfo;
    /// `broker.list-topics`.
    fn list_topics(&self) -> Vec<TopicInfo>;
    /// `broker.describe-topic`.
    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError>;
    /// `broker.create-topic`; `configs` are (setting, value) pairs in the order sent.
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError>;
    /// `broker.delete-topic`.
    fn delete_topic(&self, name: &str) -> Result<(), BrokerError>;
    /// `broker.append`.
    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError>;
    /// `broker.read`.
    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError>;
    /// `broker.offsets`.
    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError>;
    /// `broker.offset-for-timestamp`.
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError>;
    /// `broker.create-partitions`.
    fn create_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError>;
    /// `broker.describe-topic-configs`.
    fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>, BrokerError>;
    /// `broker.describe-broker-configs`.
    fn describe_broker_configs(&self) -> Vec<ConfigEntry>;
    /// `broker.alter-topic-configs`.
    fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[ConfigChange],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), BrokerError>;
    /// `broker.delete-records`.
    fn delete_records(&self, topic: &str, partition: u32, offset: i64) -> Result<i64, BrokerError>;
    /// `broker.init-producer-id`.
    fn init_producer_id(
        &self,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError>;
}

/// One result per item of a group call, or one error for the whole call.
pub type GroupResults = Result<Vec<Result<(), GroupError>>, GroupError>;

/// The `groups` interface of `wit/groups.wit`.
pub trait HostGroups: Send + Sync + 'static {
    /// `groups.join`.
    fn join(&self, request: JoinRequest) -> Result<JoinOutcome, GroupError>;
    /// `groups.join-poll`.
    fn join_poll(&self, group: &str, member_id: &str) -> Result<JoinOutcome, GroupError>;
    /// `groups.sync`.
    fn sync(&self, request: SyncRequest) -> Result<SyncOutcome, GroupError>;
    /// `groups.sync-poll`.
    fn sync_poll(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<SyncOutcome, GroupError>;
    /// `groups.heartbeat`.
    fn heartbeat(
        &self,
        group: &str,
        member: MemberIdentity,
        generation: i32,
    ) -> Result<(), GroupError>;
    /// `groups.leave`.
    fn leave(&self, group: &str, members: Vec<MemberIdentity>) -> GroupResults;
    /// `groups.list-groups`.
    fn list_groups(&self) -> Vec<GroupOverview>;
    /// `groups.describe-group`.
    fn describe_group(&self, group: &str) -> Result<GroupDescription, GroupError>;
    /// `groups.delete-group`.
    fn delete_group(&self, group: &str) -> Result<(), GroupError>;
    /// `groups.commit-offsets`.
    fn commit_offsets(
        &self,
        group: &str,
        author: CommitAuthor,
        offsets: Vec<CommittedOffset>,
    ) -> GroupResults;
    /// `groups.fetch-offsets`.
    fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<CommittedOffset>, GroupError>;
    /// `groups.delete-offsets`.
    fn delete_offsets(&self, group: &str, partitions: Vec<TopicPartition>) -> GroupResults;
}

/// A shared handle, so several plugins can serve one broker.
pub(crate) type SharedHost = Arc<dyn HostBroker>;

impl types::Host for StoreState {}

impl broker::Host for StoreState {
    fn cluster(&mut self) -> ClusterInfo {
        self.host.cluster()
    }
    fn list_topics(&mut self) -> Vec<TopicInfo> {
        self.host.list_topics()
    }
    fn describe_topic(
        &mut self,
        name: String,
        auto_create: bool,
    ) -> Result<TopicInfo, BrokerError> {
        self.host.describe_topic(&name, auto_create)
    }
    fn create_topic(
        &mut self,
        name: String,
        partitions: u32,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        self.host
            .create_topic(&name, partitions, &configs, validate_only)
    }
    fn delete_topic(&mut self, name: String) -> Result<(), BrokerError> {
        self.host.delete_topic(&name)
    }
    fn append(
        &mut self,
        topic: String,
        partition: u32,
        batches: Vec<u8>,
    ) -> Result<AppendResult, BrokerError> {
        self.host.append(&topic, partition, &batches)
    }
    fn read(
        &mut self,
        topic: String,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError> {
        self.host.read(&topic, partition, offset, max_bytes)
    }
    fn offsets(&mut self, topic: String, partition: u32) -> Result<PartitionOffsets, BrokerError> {
        self.host.offsets(&topic, partition)
    }
    fn offset_for_timestamp(
        &mut self,
        topic: String,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        self.host.offset_for_timestamp(&topic, partition, timestamp)
    }
    fn create_partitions(
        &mut self,
        name: String,
        count: u32,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        self.host.create_partitions(&name, count, validate_only)
    }
    fn describe_topic_configs(&mut self, name: String) -> Result<Vec<ConfigEntry>, BrokerError> {
        self.host.describe_topic_configs(&name)
    }
    fn describe_broker_configs(&mut self) -> Vec<ConfigEntry> {
        self.host.describe_broker_configs()
    }
    fn alter_topic_configs(
        &mut self,
        name: String,
        changes: Vec<ConfigChange>,
        replace: bool,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        self.host
            .alter_topic_configs(&name, &changes, replace, validate_only)
    }
    fn delete_records(
        &mut self,
        topic: String,
        partition: u32,
        offset: i64,
    ) -> Result<i64, BrokerError> {
        self.host.delete_records(&topic, partition, offset)
    }
    fn init_producer_id(
        &mut self,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        self.host.init_producer_id(current)
    }
}

impl groups::Host for StoreState {
    fn join(&mut self, request: JoinRequest) -> Result<JoinOutcome, GroupError> {
        self.host.join(request)
    }
    fn join_poll(&mut self, group: String, member_id: String) -> Result<JoinOutcome, GroupError> {
        self.host.join_poll(&group, &member_id)
    }
    fn sync(&mut self, request: SyncRequest) -> Result<SyncOutcome, GroupError> {
        self.host.sync(request)
    }
    fn sync_poll(
        &mut self,
        group: String,
        member_id: String,
        generation: i32,
    ) -> Result<SyncOutcome, GroupError> {
        self.host.sync_poll(&group, &member_id, generation)
    }
    fn heartbeat(
        &mut self,
        group: String,
        member: MemberIdentity,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.host.heartbeat(&group, member, generation)
    }
    fn leave(&mut self, group: String, members: Vec<MemberIdentity>) -> GroupResults {
        self.host.leave(&group, members)
    }
    fn list_groups(&mut self) -> Vec<GroupOverview> {
        self.host.list_groups()
    }
    fn describe_group(&mut self, group: String) -> Result<GroupDescription, GroupError> {
        self.host.describe_group(&group)
    }
    fn delete_group(&mut self, group: String) -> Result<(), GroupError> {
        self.host.delete_group(&group)
    }
    fn commit_offsets(
        &mut self,
        group: String,
        author: CommitAuthor,
        offsets: Vec<CommittedOffset>,
    ) -> GroupResults {
        self.host.commit_offsets(&group, author, offsets)
    }
    fn fetch_offsets(
        &mut self,
        group: String,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        self.host.fetch_offsets(&group, partitions)
    }
    fn delete_offsets(&mut self, group: String, partitions: Vec<TopicPartition>) -> GroupResults {
        self.host.delete_offsets(&group, partitions)
    }
}

/// The `broker` interface as the component model names it; follows the package version in `wit/`.
const BROKER_INTERFACE: &str = "sluice:plugin/broker@0.5.0";

/// Redefines `broker.append` to hand the host a view of the batches in the guest's memory
/// instead of a copy: appends move most of a broker's bytes, and the generated binding would
/// copy every batch into a fresh `Vec` before storage copies it again.
pub(crate) fn link_zero_copy_append(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut broker = linker.instance(BROKER_INTERFACE)?;
    broker.func_wrap(
        "append",
        |store: StoreContextMut<'_, StoreState>,
         (topic, partition, batches): (String, u32, WasmList<u8>)| {
            let host = store.data().host.clone();
            let batches = batches.as_le_slice(store);
            Ok((host.append(&topic, partition, batches),))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

impl log::Host for StoreState {
    fn log(&mut self, level: LogLevel, message: String) {
        self.log.write(level, message);
    }
}
