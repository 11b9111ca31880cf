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

/// Host-side bindings for the `router` world. Calls are synchronous (see `policy`); the shared
/// interfaces are the codec world's, so `Message`, `Header` and `PluginInfo` are one Rust type
/// for every kind of plugin.
pub mod router {
    wasmtime::component::bindgen!({
        world: "router",
        path: "../../wit",
        with: {
            "sluice:plugin/types@0.5.0": crate::bindings::sluice::plugin::types,
            "sluice:plugin/log@0.5.0": crate::bindings::sluice::plugin::log,
            "sluice:plugin/clock@0.5.0": crate::bindings::sluice::plugin::clock,
        },
    });

    pub use exports::sluice::plugin::routing::{
        AddressView, ConsumerState, MessageView, Placement, QueueState, QueueTarget,
    };
}

/// Host-side bindings for the `filter` world; as for [`router`], synchronous and sharing the
/// codec world's types.
pub mod filter {
    wasmtime::component::bindgen!({
        world: "filter",
        path: "../../wit",
        with: {
            "sluice:plugin/types@0.5.0": crate::bindings::sluice::plugin::types,
            "sluice:plugin/log@0.5.0": crate::bindings::sluice::plugin::log,
            "sluice:plugin/clock@0.5.0": crate::bindings::sluice::plugin::clock,
        },
    });

    pub use exports::sluice::plugin::filtering::Verdict;
}
