//! The `codec` world as Rust traits: a [`Codec`] names its per-connection state, a
//! [`Connection`] turns bytes from the peer into bytes for the peer, and the host it calls is a
//! [`Broker`] (topics, appends, reads, groups) and [`Queues`] (addresses, queues, users).
//!
//! The contracts (who calls what, how often, every error) are documented in `wit/codec.wit`,
//! `wit/broker.wit`, `wit/groups.wit`, `wit/queues.wit` and `wit/auth.wit`; this module only
//! adapts them to Rust.

pub use crate::bindings::exports::sluice::plugin::protocol::{
    CodecError, ConnectionInfo, ConsumerWatch, GroupWatch, Output, Wait, WakeOn,
};
pub use crate::bindings::sluice::plugin::broker::{
    AppendResult, ClusterInfo, ConfigChange, ConfigEntry, ConfigOp, ConfigSource, PartitionOffsets,
    ProducerIdentity, ReadResult, TimestampOffset, TopicInfo,
};
pub use crate::bindings::sluice::plugin::groups::{
    CommitAuthor, CommittedOffset, GroupDescription, GroupError, GroupErrorCode, GroupOverview,
    GroupState, JoinOutcome, JoinRequest, JoinResult, JoinWait, MemberDescription, MemberIdentity,
    MemberMetadata, Protocol, SyncOutcome, SyncRequest, TopicPartition,
};
pub use crate::bindings::sluice::plugin::log::Level;
pub use crate::bindings::sluice::plugin::queues::{
    Consumer, ConsumerOptions, Delivery, Modification, Outcome, Received, RoutingType, Sent,
};
pub use crate::bindings::sluice::plugin::types::{
    BrokerError, ErrorCode, Header, LogPosition, Message, PluginInfo, Principal,
};

/// The broker operations a codec may call (the `broker` and `log` imports).
///
/// Inside a Wasm component this is [`WasmBroker`], which calls the host's imports; a host that
/// compiles a codec natively provides its own implementation.
pub trait Broker {
    /// See `broker.cluster`.
    fn cluster(&self) -> ClusterInfo;
    /// See `broker.list-topics`.
    fn list_topics(&self) -> Vec<TopicInfo>;
    /// See `broker.describe-topic`.
    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError>;
    /// See `broker.create-topic`: `configs` are (setting, value) pairs, Kafka's names.
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError>;
    /// See `broker.delete-topic`.
    fn delete_topic(&self, name: &str) -> Result<(), BrokerError>;
    /// See `broker.append`.
    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError>;
    /// See `broker.read`.
    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError>;
    /// See `broker.offsets`.
    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError>;
    /// See `broker.offset-for-timestamp`.
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError>;
    /// See `broker.create-partitions`.
    fn create_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError>;
    /// See `broker.describe-topic-configs`.
    fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>, BrokerError>;
    /// See `broker.describe-broker-configs`.
    fn describe_broker_configs(&self) -> Vec<ConfigEntry>;
    /// See `broker.alter-topic-configs`.
    fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[ConfigChange],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), BrokerError>;
    /// See `broker.delete-records`.
    fn delete_records(&self, topic: &str, partition: u32, offset: i64) -> Result<i64, BrokerError>;
    /// See `broker.init-producer-id`.
    fn init_producer_id(
        &self,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError>;

    /// See `groups.join`.
    fn group_join(&self, request: &JoinRequest) -> Result<JoinOutcome, GroupError>;
    /// See `groups.join-poll`.
    fn group_join_poll(&self, group: &str, member_id: &str) -> Result<JoinOutcome, GroupError>;
    /// See `groups.sync`.
    fn group_sync(&self, request: &SyncRequest) -> Result<SyncOutcome, GroupError>;
    /// See `groups.sync-poll`.
    fn group_sync_poll(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<SyncOutcome, GroupError>;
    /// See `groups.heartbeat`.
    fn group_heartbeat(
        &self,
        group: &str,
        member: &MemberIdentity,
        generation: i32,
    ) -> Result<(), GroupError>;
    /// See `groups.leave`.
    fn group_leave(&self, group: &str, members: &[MemberIdentity]) -> GroupResults;
    /// See `groups.list`.
    fn group_list(&self) -> Vec<GroupOverview>;
    /// See `groups.describe`.
    fn group_describe(&self, group: &str) -> Result<GroupDescription, GroupError>;
    /// See `groups.delete`.
    fn group_delete(&self, group: &str) -> Result<(), GroupError>;
    /// See `groups.commit-offsets`.
    fn commit_offsets(
        &self,
        group: &str,
        author: &CommitAuthor,
        offsets: &[CommittedOffset],
    ) -> GroupResults;
    /// See `groups.fetch-offsets`.
    fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>, GroupError>;
    /// See `groups.delete-offsets`.
    fn delete_offsets(&self, group: &str, partitions: &[TopicPartition]) -> GroupResults;

    /// See `log.log`.
    fn log(&self, level: Level, message: &str);
}

/// One result per item of a group call, or one error for the whole call.
pub type GroupResults = Result<Vec<Result<(), GroupError>>, GroupError>;

/// Addresses, queues and users (the `queues` and `auth` imports), for codecs of the
/// message-broker model. Calls are made for the connection being served.
pub trait Queues {
    /// See `queues.send`.
    fn send(
        &self,
        address: &str,
        routing: Option<RoutingType>,
        messages: &[Message],
    ) -> Result<Sent, BrokerError>;
    /// See `queues.open-consumer`.
    fn open_consumer(&self, options: &ConsumerOptions) -> Result<Consumer, BrokerError>;
    /// See `queues.receive`.
    fn receive(
        &self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError>;
    /// See `queues.settle`.
    fn settle(&self, consumer: u64, tags: &[u64], outcome: Outcome) -> Result<(), BrokerError>;
    /// See `queues.close-consumer`.
    fn close_consumer(&self, consumer: u64);
    /// See `auth.anonymous-allowed`.
    fn anonymous_allowed(&self) -> bool;
    /// See `auth.authenticate`.
    fn authenticate(&self, username: &str, password: &str) -> Option<Principal>;
    /// See `clock.now-ms`.
    fn now_ms(&self) -> i64;
}

/// A protocol codec: one value per plugin, naming the per-connection state type.
pub trait Codec: 'static {
    /// The state of one connection.
    type Connection: Connection;
    /// Name and version, reported by the host with the plugin's content hash.
    fn info() -> PluginInfo;
}

/// One connection's protocol state. Calls on it never overlap.
pub trait Connection: Sized + 'static {
    /// A socket was accepted. No broker calls are allowed here.
    fn new(info: ConnectionInfo) -> Self;
    /// The peer sent `data` (a chunk cut anywhere). See `protocol.connection.on-data`.
    fn on_data<B: Broker + Queues>(
        &mut self,
        broker: &B,
        data: Vec<u8>,
    ) -> Result<Output, CodecError>;
    /// A wait armed earlier fired; `timed_out` when its timeout did. See
    /// `protocol.connection.on-wake`.
    fn on_wake<B: Broker + Queues>(
        &mut self,
        broker: &B,
        token: u64,
        timed_out: bool,
    ) -> Result<Output, CodecError>;
}

/// The [`Broker`] and [`Queues`] of a plugin running as a Wasm component: every call is a host
/// import.
pub struct WasmBroker;

#[cfg(target_arch = "wasm32")]
use crate::bindings::sluice::plugin::{auth, broker, groups, queues};

#[cfg(target_arch = "wasm32")]
impl Queues for WasmBroker {
    fn send(
        &self,
        address: &str,
        routing: Option<RoutingType>,
        messages: &[Message],
    ) -> Result<Sent, BrokerError> {
        queues::send(address, routing, messages)
    }
    fn open_consumer(&self, options: &ConsumerOptions) -> Result<Consumer, BrokerError> {
        queues::open_consumer(options)
    }
    fn receive(
        &self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError> {
        queues::receive(consumer, max, max_bytes, settled)
    }
    fn settle(&self, consumer: u64, tags: &[u64], outcome: Outcome) -> Result<(), BrokerError> {
        queues::settle(consumer, tags, outcome)
    }
    fn close_consumer(&self, consumer: u64) {
        queues::close_consumer(consumer)
    }
    fn anonymous_allowed(&self) -> bool {
        auth::anonymous_allowed()
    }
    fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        auth::authenticate(username, password)
    }
    fn now_ms(&self) -> i64 {
        crate::bindings::sluice::plugin::clock::now_ms()
    }
}

#[cfg(target_arch = "wasm32")]
impl Broker for WasmBroker {
    fn cluster(&self) -> ClusterInfo {
        broker::cluster()
    }
    fn list_topics(&self) -> Vec<TopicInfo> {
        broker::list_topics()
    }
    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError> {
        broker::describe_topic(name, auto_create)
    }
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        broker::create_topic(name, partitions, configs, validate_only)
    }
    fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        broker::delete_topic(name)
    }
    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError> {
        broker::append(topic, partition, batches)
    }
    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError> {
        broker::read(topic, partition, offset, max_bytes)
    }
    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError> {
        broker::offsets(topic, partition)
    }
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        broker::offset_for_timestamp(topic, partition, timestamp)
    }
    fn create_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        broker::create_partitions(name, count, validate_only)
    }
    fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>, BrokerError> {
        broker::describe_topic_configs(name)
    }
    fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        broker::describe_broker_configs()
    }
    fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[ConfigChange],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        broker::alter_topic_configs(name, changes, replace, validate_only)
    }
    fn delete_records(&self, topic: &str, partition: u32, offset: i64) -> Result<i64, BrokerError> {
        broker::delete_records(topic, partition, offset)
    }
    fn init_producer_id(
        &self,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        broker::init_producer_id(current)
    }

    fn group_join(&self, request: &JoinRequest) -> Result<JoinOutcome, GroupError> {
        groups::join(request)
    }
    fn group_join_poll(&self, group: &str, member_id: &str) -> Result<JoinOutcome, GroupError> {
        groups::join_poll(group, member_id)
    }
    fn group_sync(&self, request: &SyncRequest) -> Result<SyncOutcome, GroupError> {
        groups::sync(request)
    }
    fn group_sync_poll(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<SyncOutcome, GroupError> {
        groups::sync_poll(group, member_id, generation)
    }
    fn group_heartbeat(
        &self,
        group: &str,
        member: &MemberIdentity,
        generation: i32,
    ) -> Result<(), GroupError> {
        groups::heartbeat(group, member, generation)
    }
    fn group_leave(&self, group: &str, members: &[MemberIdentity]) -> GroupResults {
        groups::leave(group, members)
    }
    fn group_list(&self) -> Vec<GroupOverview> {
        groups::list_groups()
    }
    fn group_describe(&self, group: &str) -> Result<GroupDescription, GroupError> {
        groups::describe_group(group)
    }
    fn group_delete(&self, group: &str) -> Result<(), GroupError> {
        groups::delete_group(group)
    }
    fn commit_offsets(
        &self,
        group: &str,
        author: &CommitAuthor,
        offsets: &[CommittedOffset],
    ) -> GroupResults {
        groups::commit_offsets(group, author, offsets)
    }
    fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        groups::fetch_offsets(group, partitions)
    }
    fn delete_offsets(&self, group: &str, partitions: &[TopicPartition]) -> GroupResults {
        groups::delete_offsets(group, partitions)
    }

    fn log(&self, level: Level, message: &str) {
        crate::bindings::sluice::plugin::log::log(level, message)
    }
}

/// Exports a [`Codec`] as the component's `protocol` interface.
///
/// Use it once per plugin crate, guarded by `#[cfg(target_arch = "wasm32")]` so the same crate
/// still builds natively.
#[macro_export]
macro_rules! export_codec {
    ($codec:ty) => {
        #[doc(hidden)]
        pub struct __SluiceCodecExport;
        #[doc(hidden)]
        pub struct __SluiceConnectionExport(
            ::core::cell::RefCell<<$codec as $crate::codec::Codec>::Connection>,
        );

        impl $crate::bindings::exports::sluice::plugin::protocol::Guest for __SluiceCodecExport {
            type Connection = __SluiceConnectionExport;
            fn info() -> $crate::codec::PluginInfo {
                <$codec as $crate::codec::Codec>::info()
            }
        }

        impl $crate::bindings::exports::sluice::plugin::protocol::GuestConnection
            for __SluiceConnectionExport
        {
            fn new(info: $crate::codec::ConnectionInfo) -> Self {
                Self(::core::cell::RefCell::new(
                    <<$codec as $crate::codec::Codec>::Connection as $crate::codec::Connection>::new(info),
                ))
            }
            fn on_data(
                &self,
                data: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<$crate::codec::Output, $crate::codec::CodecError> {
                $crate::codec::Connection::on_data(
                    &mut *self.0.borrow_mut(),
                    &$crate::codec::WasmBroker,
                    data,
                )
            }
            fn on_wake(
                &self,
                token: u64,
                timed_out: bool,
            ) -> ::core::result::Result<$crate::codec::Output, $crate::codec::CodecError> {
                $crate::codec::Connection::on_wake(
                    &mut *self.0.borrow_mut(),
                    &$crate::codec::WasmBroker,
                    token,
                    timed_out,
                )
            }
        }

        $crate::bindings::__export_codec_world!(__SluiceCodecExport with_types_in $crate::bindings);
    };
}
