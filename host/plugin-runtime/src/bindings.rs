//! Host-side bindings for the `codec` world, generated from `wit/`, and short names for the
//! types the rest of the host uses.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "codec",
    path: "../../wit",
    // Calls into plugins are async so that WASI's own blocking operations (a guest writing to
    // stderr, polling a clock) await instead of blocking a runtime thread; the host's imports
    // stay synchronous because none of them waits.
    exports: { default: async },
});

pub use exports::sluice::plugin::protocol::{
    ConnectionInfo, ConsumerWatch, GroupWatch, Output, Wait, WakeOn,
};
pub use sluice::plugin::broker::{
    AppendResult, ClusterInfo, ConfigChange, ConfigEntry, ConfigOp, ConfigSource, PartitionOffsets,
    ProducerIdentity, ReadResult, TimestampOffset, TopicInfo,
};
pub use sluice::plugin::groups::{
    CommitAuthor, CommittedOffset, GroupDescription, GroupError, GroupErrorCode, GroupOverview,
    GroupState, JoinOutcome, JoinRequest, JoinResult, JoinWait, MemberDescription, MemberIdentity,
    MemberMetadata, Protocol, SyncOutcome, SyncRequest, TopicPartition,
};
pub use sluice::plugin::log::Level as LogLevel;
pub use sluice::plugin::queues::{
    Consumer, ConsumerOptions, Delivery, Modification, Outcome, Received, RoutingType, Sent,
};
pub use sluice::plugin::types::{
    BrokerError, ErrorCode, Header, LogPosition, Message, PluginInfo, Principal,
};
