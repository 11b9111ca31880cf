//! What the host offers plugins: the `broker` and `log` imports.
//!
//! The runtime does not know what a topic is. It forwards each import to a [`HostBroker`]
//! that the broker crate implements over storage, so this crate stays free of storage and the
//! storage crate stays free of plugins.
use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, WasmList};

use crate::bindings::sluice::plugin::{broker, log, types};
use crate::bindings::{
    AppendResult, BrokerError, ClusterInfo, LogLevel, PartitionOffsets, ReadResult,
    TimestampOffset, TopicInfo,
};
use crate::sandbox::StoreState;

/// Broker operations, as the `broker` interface of `wit/broker.wit` documents them. Called on
/// the thread running the plugin, inside a plugin call: implementations must not block for long.
pub trait HostBroker: Send + Sync + 'static {
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
    ) -> Result<TopicInfo, BrokerError> {
        self.host.create_topic(&name, partitions, &configs)
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
}

/// The `broker` interface as the component model names it; follows the package version in `wit/`.
const BROKER_INTERFACE: &str = "sluice:plugin/broker@0.2.0";

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

/// Longer log lines are cut: a plugin must not be able to flood the log with one call.
const LOG_LINE_BYTES_MAX: usize = 4096;

impl log::Host for StoreState {
    fn log(&mut self, level: LogLevel, mut message: String) {
        if !self.log_budget.take() {
            return;
        }
        if message.len() > LOG_LINE_BYTES_MAX {
            let mut cut = LOG_LINE_BYTES_MAX;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let plugin = &*self.plugin_name;
        match level {
            LogLevel::Trace => tracing::trace!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Error => tracing::error!(target: "sluice::plugin", plugin, "{message}"),
        }
    }
}
