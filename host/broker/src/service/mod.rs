//! The broker operations plugins call (`wit/broker.wit`, `wit/groups.wit`, `wit/queues.wit`,
//! `wit/auth.wit`), implemented over storage, the group coordinator, the address model and the
//! configured users.
//!
//! This is where the host's policy lives (auto-creation, the default partition count) and where
//! storage errors become the WIT's `error-code`s. It knows nothing of any wire protocol, and
//! never waits: an append under `fsync` returns before it is durable, with the high watermark
//! that tells the codec whether to arm a wait. (Committing offsets is the one exception: it
//! returns once the commit is fsynced, since commits are small and rare.)
use std::sync::Arc;

use sluice_groups::Coordinator;
use sluice_plugin_runtime::{
    AppendResult, BrokerError, ClusterInfo, ConfigChange, ConfigEntry, ConfigOp, ConfigSource,
    ErrorCode, HostAuth, HostBroker, PartitionOffsets, Principal, ProducerIdentity, ReadResult,
    TimestampOffset, TopicInfo,
};
use sluice_queues::Queues;
use sluice_storage::{Storage, StorageError, TopicOverrides};

use crate::metrics::traffic::{Interface, Traffic, records_in};
use crate::security::Security;

pub mod broker_configs;
mod groups;
pub(crate) mod queues;

// Storage topics behind queues and non-topic addresses start with this (`sluice-queues` names
// them): hidden from Kafka's topic lists, and no Kafka client may create or delete one.
use sluice_queues::INTERNAL_PREFIX as INTERNAL_TOPIC_PREFIX;

/// The failure point, checked after every successful append, that makes the connection lose
/// the response: it closes before writing anything the call returned. Tests use it to show
/// that an idempotent producer's retry of a write it never heard about is not stored twice.
pub const APPEND_RESPONSE_FAIL_POINT: &str = "append-response";

/// The host's topic policy and what it reports about itself.
#[derive(Debug, Clone, Default)]
pub struct ServicePolicy {
    /// This broker's node id.
    pub node_id: i32,
    /// Create missing topics on request.
    pub auto_create: bool,
    /// Partitions of an auto-created topic.
    pub default_partitions: u32,
    /// What `describe-broker-configs` answers.
    pub broker_configs: Vec<ConfigEntry>,
    /// Who may connect; shared with the resources engine, which changes its users.
    pub security: Security,
}

/// Broker operations over one storage, one group coordinator and one address model.
pub struct BrokerService {
    storage: Arc<Storage>,
    groups: Arc<Coordinator>,
    queues: Arc<Queues>,
    policy: ServicePolicy,
    /// Messages in and out through the imports, for the metrics and the overview.
    traffic: Arc<Traffic>,
}

impl BrokerService {
    /// A service over `storage`, `groups` and `queues` with the host's policy.
    pub fn new(
        storage: Arc<Storage>,
        groups: Arc<Coordinator>,
        queues: Arc<Queues>,
        policy: ServicePolicy,
    ) -> Self {
        BrokerService {
            storage,
            groups,
            queues,
            policy,
            traffic: Arc::new(Traffic::default()),
        }
    }

    /// Messages in and out through this service since it started.
    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.traffic
    }

    /// The storage underneath (listeners watch partitions through it).
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// The group coordinator (listeners watch groups through it).
    pub fn groups(&self) -> &Arc<Coordinator> {
        &self.groups
    }
}

impl HostBroker for BrokerService {
    fn cluster(&self) -> ClusterInfo {
        ClusterInfo {
            cluster_id: self.storage.cluster_id().to_string(),
            node_id: self.policy.node_id,
            default_partitions: self.policy.default_partitions,
        }
    }

    fn list_topics(&self) -> Vec<TopicInfo> {
        self.storage
            .list_topics()
            .into_iter()
            .filter(|t| !t.name.starts_with(INTERNAL_TOPIC_PREFIX))
            .map(topic_info)
            .collect()
    }

    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError> {
        if let Some(topic) = self.storage.topic(name) {
            return Ok(topic_info(topic));
        }
        if !(auto_create && self.policy.auto_create) || name.starts_with(INTERNAL_TOPIC_PREFIX) {
            return Err(broker_error(StorageError::UnknownTopic(name.to_string())));
        }
        match self
            .storage
            .create_topic(name, self.policy.default_partitions)
        {
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
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        refuse_internal(name)?;
        // Later pairs replace earlier ones, as the WIT promises for a name given twice.
        let overrides: TopicOverrides = configs.iter().cloned().collect();
        if validate_only {
            self.storage
                .check_new_topic(name, partitions, &overrides)
                .map_err(broker_error)?;
            return Ok(TopicInfo {
                name: name.to_owned(),
                partitions,
            });
        }
        let topic = self
            .storage
            .create_topic_with(name, partitions, &overrides)
            .map_err(broker_error)?;
        tracing::info!(topic = name, partitions, ?overrides, "topic created");
        Ok(topic_info(topic))
    }

    fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        refuse_internal(name)?;
        self.storage.delete_topic(name).map_err(broker_error)?;
        tracing::info!(topic = name, "topic deleted");
        // Offsets committed for a topic that is gone would greet a new topic of the same
        // name with positions in someone else's log.
        if let Err(e) = self.groups.forget_topic(name) {
            tracing::error!(topic = name, error = %e, "forgetting the deleted topic's committed offsets failed");
        }
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
        if r.duplicate {
            tracing::debug!(
                topic,
                partition,
                base_offset = r.base_offset,
                "idempotent producer retried a stored batch; answered with its offsets"
            );
        } else {
            self.traffic
                .received(Interface::Broker, records_in(batches));
        }
        if self
            .storage
            .fail_points()
            .check(APPEND_RESPONSE_FAIL_POINT)
            .is_err()
        {
            crate::net::connection::lose_response(APPEND_RESPONSE_FAIL_POINT);
        }
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
        self.traffic
            .delivered(Interface::Broker, records_in(&r.batches));
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

    fn create_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        let current = self
            .storage
            .topic(name)
            .ok_or_else(|| broker_error(StorageError::UnknownTopic(name.to_owned())))?;
        let max = self.storage.config().partitions_max;
        if count <= current.partitions || count > max {
            return Err(BrokerError {
                code: ErrorCode::InvalidPartitions,
                message: format!(
                    "topic {name} has {} partitions; the new count must be above that and at most {max}, not {count}",
                    current.partitions
                ),
            });
        }
        if validate_only {
            return Ok(TopicInfo {
                name: current.name,
                partitions: count,
            });
        }
        let topic = self
            .storage
            .add_partitions(name, count)
            .map_err(broker_error)?;
        Ok(topic_info(topic))
    }

    fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>, BrokerError> {
        let entries = self
            .storage
            .describe_topic_config(name)
            .map_err(broker_error)?;
        Ok(entries.into_iter().map(config_entry).collect())
    }

    fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        self.policy.broker_configs.clone()
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[ConfigChange],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        let changes: Vec<sluice_storage::ConfigChange> = changes
            .iter()
            .map(|c| sluice_storage::ConfigChange {
                name: c.name.clone(),
                op: match c.op {
                    ConfigOp::Set => sluice_storage::ConfigOp::Set,
                    ConfigOp::Delete => sluice_storage::ConfigOp::Delete,
                    ConfigOp::Append => sluice_storage::ConfigOp::Append,
                    ConfigOp::Subtract => sluice_storage::ConfigOp::Subtract,
                },
                value: c.value.clone(),
            })
            .collect();
        self.storage
            .alter_topic_configs(name, &changes, replace, validate_only)
            .map_err(broker_error)?;
        Ok(())
    }

    fn delete_records(&self, topic: &str, partition: u32, offset: i64) -> Result<i64, BrokerError> {
        let start = self
            .storage
            .delete_records(topic, partition, offset)
            .map_err(broker_error)?;
        tracing::info!(topic, partition, log_start = start, "records deleted");
        Ok(start)
    }

    fn init_producer_id(
        &self,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        let current = current.map(|c| (c.id, c.epoch));
        let (id, epoch) = match self.storage.init_producer_id(current) {
            // An id this cluster never handed out (a producer that last talked to another
            // cluster): Kafka ignores it for non-transactional producers; so do we.
            Err(StorageError::InvalidProducerIdMapping(_)) => self.storage.init_producer_id(None),
            other => other,
        }
        .map_err(broker_error)?;
        Ok(ProducerIdentity { id, epoch })
    }
}

fn config_entry(e: sluice_storage::ConfigEntry) -> ConfigEntry {
    ConfigEntry {
        name: e.name.to_owned(),
        value: e.value,
        source: match e.source {
            sluice_storage::ConfigSource::Topic => ConfigSource::Topic,
            sluice_storage::ConfigSource::Broker => ConfigSource::Broker,
            sluice_storage::ConfigSource::Default => ConfigSource::Default,
        },
        default_value: e.default_value,
        read_only: e.read_only,
        documentation: e.documentation.to_owned(),
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

/// Kafka clients may read the internal topics behind queues but not create or delete them.
fn refuse_internal(name: &str) -> Result<(), BrokerError> {
    if name.starts_with(INTERNAL_TOPIC_PREFIX) {
        return Err(BrokerError {
            code: ErrorCode::InvalidTopic,
            message: format!("topic names starting with {INTERNAL_TOPIC_PREFIX} are reserved"),
        });
    }
    Ok(())
}

impl HostAuth for BrokerService {
    fn anonymous_allowed(&self) -> bool {
        self.policy.security.allow_anonymous
    }
    fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        self.policy.security.authenticate(username, password)
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
        StorageError::InvalidRecord(_) => ErrorCode::InvalidRecord,
        StorageError::OutOfOrderSequence { .. } => ErrorCode::OutOfOrderSequence,
        StorageError::InvalidProducerEpoch { .. } => ErrorCode::InvalidProducerEpoch,
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
        let groups = Coordinator::open(&dir.path().join("groups"), Default::default()).unwrap();
        let policy = ServicePolicy {
            node_id: 1,
            auto_create: true,
            default_partitions: 1,
            ..ServicePolicy::default()
        };
        let storage = Arc::new(storage);
        let queues = Queues::open(storage.clone(), Default::default()).unwrap();
        BrokerService::new(storage, Arc::new(groups), Arc::new(queues), policy)
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
        service.create_topic("t", 2, &configs, false).unwrap();
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
                .create_topic("t", 1, &pairs(&[(name, value)]), false)
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidConfig);
            assert!(err.message.contains(name), "{}", err.message);
        }
        assert!(service.storage().topic("t").is_none());
    }

    #[test]
    fn validate_only_makes_every_check_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir);
        let ok = service
            .create_topic("t", 3, &pairs(&[("retention.ms", "1000")]), true)
            .unwrap();
        assert_eq!(ok.partitions, 3);
        assert!(service.storage().topic("t").is_none());
        let err = service
            .create_topic("t", 1, &pairs(&[("cleanup.policy", "sometimes")]), true)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        service.create_topic("t", 1, &[], false).unwrap();
        let err = service.create_topic("t", 1, &[], true).unwrap_err();
        assert_eq!(err.code, ErrorCode::TopicExists);
    }

    #[test]
    fn offsets_carry_the_high_watermark_and_a_missing_time_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir);
        service.create_topic("t", 1, &[], false).unwrap();
        let o = service.offsets("t", 0).unwrap();
        assert_eq!((o.log_start, o.log_end, o.high_watermark), (0, 0, 0));
        assert!(service.offset_for_timestamp("t", 0, 0).unwrap().is_none());
        let err = service.offset_for_timestamp("missing", 0, 0).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownTopic);
    }
}
