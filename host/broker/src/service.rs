//! The broker operations plugins call (`wit/broker.wit`), implemented over storage.
//!
//! This is where the host's policy lives (auto-creation, the default partition count) and where
//! storage errors become the WIT's `error-code`s. It knows nothing of any wire protocol, and
//! never waits: an append under `fsync` returns before it is durable, with the high watermark
//! that tells the codec whether to arm a wait.
use std::sync::Arc;

use sluice_plugin_runtime::{
    AppendResult, BrokerError, ClusterInfo, ErrorCode, HostBroker, PartitionOffsets, ReadResult,
    TimestampOffset, TopicInfo,
};
use sluice_storage::{Storage, StorageError, TopicOverrides};

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

    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
    ) -> Result<TopicInfo, BrokerError> {
        // Later pairs replace earlier ones, as the WIT promises for a name given twice.
        let overrides: TopicOverrides = configs.iter().cloned().collect();
        let topic = self
            .storage
            .create_topic_with(name, partitions, &overrides)
            .map_err(broker_error)?;
        tracing::info!(topic = name, partitions, ?overrides, "topic created");
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
            high_watermark: r.high_watermark,
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

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        let found = self
            .storage
            .offset_for_timestamp(topic, partition, timestamp)
            .map_err(broker_error)?;
        Ok(found.map(|f| TimestampOffset {
            offset: f.offset,
            timestamp: f.timestamp,
        }))
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
        high_watermark: o.high_watermark,
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
        StorageError::InvalidConfig { .. } => ErrorCode::InvalidConfig,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sluice_storage::{Durability, StorageConfig};

    fn service(dir: &tempfile::TempDir) -> BrokerService {
        let storage = Storage::open(StorageConfig {
            dir: dir.path().to_path_buf(),
            ..StorageConfig::default()
        })
        .unwrap();
        BrokerService::new(Arc::new(storage), 1, true, 1)
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn create_topic_applies_its_configs_the_last_of_a_repeated_name_winning() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir);
        let configs = pairs(&[
            ("durability", "fsync"),
            ("retention.ms", "60000"),
            ("durability", "relaxed"),
        ]);
        service.create_topic("t", 2, &configs).unwrap();
        let topic = service.storage().topic("t").unwrap();
        assert_eq!(topic.config.durability, Durability::Relaxed);
        assert_eq!(topic.config.retention_ms, 60_000);
    }

    #[test]
    fn a_bad_topic_config_is_invalid_config_naming_it_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir);
        for (name, value) in [("no.such.setting", "1"), ("durability", "sometimes")] {
            let err = service
                .create_topic("t", 1, &pairs(&[(name, value)]))
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidConfig);
            assert!(err.message.contains(name), "{}", err.message);
        }
        assert!(service.storage().topic("t").is_none());
    }

    #[test]
    fn offsets_carry_the_high_watermark_and_a_missing_time_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir);
        service.create_topic("t", 1, &[]).unwrap();
        let o = service.offsets("t", 0).unwrap();
        assert_eq!((o.log_start, o.log_end, o.high_watermark), (0, 0, 0));
        assert!(service.offset_for_timestamp("t", 0, 0).unwrap().is_none());
        let err = service.offset_for_timestamp("missing", 0, 0).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownTopic);
    }
}
