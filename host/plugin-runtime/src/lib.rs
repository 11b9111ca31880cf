//! The plugin runtime: loads Sluice's WebAssembly components, sandboxes them, limits them and
//! calls them. This is the only crate that names wasmtime.
//!
//! Flow: a [`Runtime`] owns the engine and the epoch ticker. [`Runtime::load_codec`] checks a
//! component against the `codec` world (compiling it, or taking it from the on-disk cache) and
//! returns a [`CodecPlugin`]. A listener opens a [`CodecSession`] per connection; sessions are
//! spread over a few instances of the plugin, each serving many connections one call at a time.
//! An instance that traps, runs out of memory or misses its deadline is discarded with exactly
//! the sessions it served.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

mod bindings;
mod cache;
mod codec;
mod engine;
mod error;
mod host;
mod host_queues;
mod limits;
mod sandbox;

pub use bindings::{
    AppendResult, BrokerError, ClusterInfo, CommitAuthor, CommittedOffset, ConfigChange,
    ConfigEntry, ConfigOp, ConfigSource, ConnectionInfo, Consumer, ConsumerOptions, ConsumerWatch,
    Delivery, ErrorCode, GroupDescription, GroupError, GroupErrorCode, GroupOverview, GroupState,
    GroupWatch, Header, JoinOutcome, JoinRequest, JoinResult, JoinWait, LogLevel, LogPosition,
    MemberDescription, MemberIdentity, MemberMetadata, Message, Modification, Outcome, Output,
    PartitionOffsets, PluginInfo, Principal, ProducerIdentity, Protocol, ReadResult, Received,
    RoutingType, Sent, SyncOutcome, SyncRequest, TimestampOffset, TopicInfo, TopicPartition, Wait,
    WakeOn,
};
pub use cache::sha256_hex;
pub use codec::{CodecPlugin, CodecSession, PluginStats};
pub use engine::Runtime;
pub use error::{CallError, FailureCause, LoadError};
pub use host::{GroupResults, HostBroker, HostGroups};
pub use host_queues::{HostAuth, HostQueues};
pub use limits::Limits;
