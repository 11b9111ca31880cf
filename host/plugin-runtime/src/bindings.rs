//! Host-side bindings for the `codec` world, generated from `wit/`, and short names for the
//! types the rest of the host uses.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "codec",
    path: "../../wit",
});

pub use exports::sluice::plugin::protocol::{ConnectionInfo, LogPosition, Output, Wait};
pub use sluice::plugin::broker::{
    AppendResult, ClusterInfo, PartitionOffsets, ReadResult, TopicInfo,
};
pub use sluice::plugin::log::Level as LogLevel;
pub use sluice::plugin::types::{BrokerError, ErrorCode, PluginInfo};
