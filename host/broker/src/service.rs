//! The broker operations plugins call (`wit/broker.wit`), implemented over storage.
//!
//! This is where the host's policy lives (auto-creation, the default partition count) and where
//! storage errors become the WIT's `error-code`s. It knows nothing of any wire protocol.
use std::sync::Arc;

use sluice_plugin_runtime::{
    AppendResult, BrokerError, ClusterInfo, ErrorCode, HostBroker, PartitionOffsets, ReadResult,
    TopicInfo,
};
use sluice_storage::{Storage, StorageError};

/// Broker operations over one storage.
pub struct BrokerService {
    storage: Arc<Storage>,
    node_id: i32,
    auto_create: bool,
    default_partitions: u32,
}

impl BrokerService {
    /// A service over `storage` with the host's topic policy.
    pub fn new(
        storage: Arc<Storage>,
        node_id: i32,
        auto_create: bool,
        default_partitions: u32,
    ) -> Self {
        BrokerService {
            storage,
            node_id,
            auto_create,
            default_partitions,
        }
    }

    /// The storage underneath (listeners watch partitions through it).
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }
}

impl HostBroker for BrokerService {
    fn cluster(&self) -> ClusterInfo {
        ClusterInfo {
            cluster_id: self.storage.cluster_id().to_string(),
            node_id: self.node_id,
            default_partitions: self.default_partitions,
        }
    }

    fn list_topics(&self) -> Vec<TopicInfo> {
        self.storage
            .list_topics()
            .into_iter()
            .map(topic_info)
            .collect()
    }

    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError> {
        if let Some(topic) = self.storage.topic(name) {
            return Ok(topic_info(topic));
        }
        if !(auto_create && self.auto_create) {
            return Err(broker_error(StorageError::UnknownTopic(name.to_string())));
        }
        match self.storage.create_topic(name, self.default_partitions) {
            Ok(topic) => {
                tracing::info!(
                    topic = name,
                    partitions = topic.partitions,
                    "topic auto-created"
                );
                Ok(topic_info(topic))
            }
            // Another connection created it between our look-up and our create.
            Err(StorageError::TopicExists(_)) => self
                .storage
                .topic(name)
                .map(topic_info)
                .ok_or_else(|| broker_error(StorageError::UnknownTopic(name.to_string()))),
            Err(e) => Err(broker_error(e)),
        }
    }

    fn create_topic(&self, name: &str, partitions: u32) -> Result<TopicInfo, BrokerError> {
        let topic = self
            .storage
            .create_topic(name, partitions)
            .map_err(broker_error)?;
        tracing::info!(topic = name, partitions, "topic created");
        Ok(topic_info(topic))
    }

    fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        self.storage.delete_topic(name).map_err(broker_error)?;
        tracing::info!(topic = name, "topic deleted");
        Ok(())
    }

    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError> {
        let r = self
            .storage
            .append(topic, partition, batches)
            .map_err(broker_error)?;
        Ok(AppendResult {
            base_offset: r.base_offset,
            last_offset: r.last_offset,
            log_start: r.log_start,
            append_time_ms: r.append_time_ms,
        })
    }

    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError> {
        let r = self
            .storage
            .read(topic, partition, offset, max_bytes)
            .map_err(broker_error)?;
        Ok(ReadResult {
            batches: r.batches.to_vec(),
            offsets: offsets(r.offsets),
        })
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError> {
        self.storage
            .offsets(topic, partition)
            .map(offsets)
            .map_err(broker_error)
    }
}

fn topic_info(t: sluice_storage::TopicInfo) -> TopicInfo {
    TopicInfo {
        name: t.name,
        partitions: t.partitions,
    }
}

fn offsets(o: sluice_storage::PartitionOffsets) -> PartitionOffsets {
    PartitionOffsets {
        log_start: o.log_start,
        log_end: o.log_end,
    }
}

/// Maps a storage error onto the WIT's error codes, keeping its message.
pub fn broker_error(e: StorageError) -> BrokerError {
    let code = match &e {
        StorageError::UnknownTopic(_) => ErrorCode::UnknownTopic,
        StorageError::UnknownPartition { .. } => ErrorCode::UnknownPartition,
        StorageError::TopicExists(_) => ErrorCode::TopicExists,
        StorageError::InvalidTopic { .. } => ErrorCode::InvalidTopic,
        StorageError::InvalidPartitions { .. } => ErrorCode::InvalidPartitions,
        StorageError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
        StorageError::RecordTooLarge { .. } => ErrorCode::RecordTooLarge,
        StorageError::CorruptBatch(_) => ErrorCode::CorruptBatch,
        _ => {
            tracing::error!(error = %e, "storage failure");
            ErrorCode::Storage
        }
    };
    BrokerError {
        code,
        message: e.to_string(),
    }
}
