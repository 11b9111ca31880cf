//! The plugin runtime: loads Sluice's WebAssembly components, sandboxes them, limits them and
//! calls them. This is the only crate that names wasmtime.
//!
//! Flow: a [`Runtime`] owns two engines and the epoch ticker that drives both.
//!
//! - Codecs: [`Runtime::load_codec`] checks a component against the `codec` world (compiling
//!   it, or taking it from the on-disk cache) and returns a [`CodecPlugin`]. A listener opens a
//!   [`CodecSession`] per connection; sessions are spread over a few instances of the plugin,
//!   each serving many connections one call at a time. Calls are async (on a fiber). An
//!   instance that traps, runs out of memory or misses its deadline is discarded with exactly
//!   the sessions it served.
//! - Routers and filters: [`Runtime::load_router`] and [`Runtime::load_filter`] check a
//!   component against the `router` or `filter` world and return a [`RouterPlugin`] or
//!   [`FilterPlugin`]. The broker calls them synchronously, from any thread (a codec's host
//!   import included), once per batch; each keeps a pool of up to [`POOL_INSTANCES_MAX`]
//!   instances. A call that fails discards its instance and makes the plugin unhealthy: calls
//!   are answered [`CallError::Unavailable`] without running until a backoff passes (from
//!   [`RESTART_BACKOFF_FIRST`], doubling per consecutive failure up to
//!   [`RESTART_BACKOFF_MAX`]); then a fresh instance is started, and a successful call makes
//!   the plugin healthy again.
//!
//! Every plugin's [`StatsSnapshot`] gives the host's figures for it: calls, messages or bytes,
//! errors and failures by cause, restarts, instances, memory, and a latency histogram.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

mod bindings;
mod cache;
mod codec;
mod engine;
mod error;
mod host;
mod host_queues;
mod imports;
mod limits;
mod policy;
mod sandbox;
mod stats;
mod world_check;

pub use bindings::filter::Verdict;
pub use bindings::router::{
    AddressView, ConsumerState, MessageView, Placement, QueueState, QueueTarget,
};
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
pub use codec::{CodecPlugin, CodecSession};
pub use engine::Runtime;
pub use error::{CallError, FailureCause, LoadError};
pub use host::{GroupResults, HostBroker, HostGroups};
pub use host_queues::{HostAuth, HostQueues};
pub use limits::{
    CALL_DEADLINE_DEFAULT, CONNECTIONS_PER_INSTANCE_DEFAULT, Limits, MEMORY_BYTES_MAX_DEFAULT,
    POLICY_CALL_DEADLINE_DEFAULT,
};
pub use policy::filter::FilterPlugin;
pub use policy::router::RouterPlugin;
pub use policy::{POOL_INSTANCES_MAX, RESTART_BACKOFF_FIRST, RESTART_BACKOFF_MAX};
pub use stats::{LATENCY_BUCKETS_US, LatencyBucket, LatencySnapshot, StatsSnapshot};
