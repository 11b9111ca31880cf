//! The broker's own settings as Kafka's DescribeConfigs names them (`log.retention.ms`,
//! `num.partitions`, ...), so tools written for Kafka show what this broker runs with.
//!
//! They are read-only: Sluice's settings come from its configuration file and take effect at
//! start, so a dynamic broker config would be a promise the broker does not keep. Each entry
//! says whether the operator set it (`broker`) or it is built in (`default`), found by
//! comparing with the built-in configuration.
use sluice_plugin_runtime::{ConfigEntry, ConfigSource};

use crate::config::{Config, KAFKA_LISTENER};

/// One setting: Kafka's name, what it does, and how to read it from a configuration.
struct Setting {
    name: &'static str,
    doc: &'static str,
    read: fn(&Config) -> String,
}

const SETTINGS: &[Setting] = &[
    Setting {
        name: "node.id",
        doc: "This broker's node id (`node-id`).",
        read: |c| c.node_id.to_string(),
    },
    Setting {
        name: "log.dirs",
        doc: "Where topics, committed offsets and plugin caches are stored (`data-dir`).",
        read: |c| c.data_dir.display().to_string(),
    },
    Setting {
        name: "auto.create.topics.enable",
        doc: "Whether producing to or asking metadata for a missing topic creates it (`topics.auto-create`).",
        read: |c| c.topics.auto_create.to_string(),
    },
    Setting {
        name: "num.partitions",
        doc: "Partition count of auto-created topics (`topics.default-partitions`).",
        read: |c| c.topics.default_partitions.to_string(),
    },
    Setting {
        name: "message.max.bytes",
        doc: "Default largest record batch a topic accepts (`topics.max-message-bytes`).",
        read: |c| c.topics.max_message_bytes.to_string(),
    },
    Setting {
        name: "socket.request.max.bytes",
        doc: "Largest request frame the Kafka listener reads; a larger one closes the connection (`listeners.kafka.frame-bytes-max`).",
        read: |c| {
            c.listeners
                .get(KAFKA_LISTENER)
                .map_or_else(String::new, |l| l.frame_bytes_max.to_string())
        },
    },
    Setting {
        name: "log.retention.ms",
        doc: "Default time a record is kept (`topics.retention-ms`); -1 keeps forever.",
        read: |c| c.topics.retention_ms.to_string(),
    },
    Setting {
        name: "log.retention.bytes",
        doc: "Default size a partition is trimmed to (`topics.retention-bytes`); -1 for no limit.",
        read: |c| c.topics.retention_bytes.to_string(),
    },
    Setting {
        name: "log.segment.bytes",
        doc: "Default size at which a segment is rolled (`topics.segment-bytes`).",
        read: |c| c.topics.segment_bytes.to_string(),
    },
    Setting {
        name: "log.roll.ms",
        doc: "Default age at which a segment is rolled (`topics.segment-ms`).",
        read: |c| c.topics.segment_ms.to_string(),
    },
    Setting {
        name: "log.cleanup.policy",
        doc: "Default cleanup policy: delete, compact, or both (`topics.cleanup-policy`).",
        read: |c| c.topics.cleanup_policy.clone(),
    },
    Setting {
        name: "log.cleaner.delete.retention.ms",
        doc: "Default time a tombstone survives compaction (`topics.delete-retention-ms`).",
        read: |c| c.topics.delete_retention_ms.to_string(),
    },
    Setting {
        name: "log.cleaner.min.compaction.lag.ms",
        doc: "Default age below which a record is never compacted (`topics.min-compaction-lag-ms`).",
        read: |c| c.topics.min_compaction_lag_ms.to_string(),
    },
    Setting {
        name: "log.cleaner.min.cleanable.ratio",
        doc: "Default share of a log that must be uncompacted before the cleaner runs on it (`topics.min-cleanable-dirty-ratio`).",
        read: |c| c.topics.min_cleanable_dirty_ratio.to_string(),
    },
    Setting {
        name: "log.cleaner.backoff.ms",
        doc: "How often the cleaner looks for compacted topics to clean (`topics.compaction-check-ms`).",
        read: |c| c.topics.compaction_check_ms.to_string(),
    },
    Setting {
        name: "log.retention.check.interval.ms",
        doc: "How often retention deletes expired segments (`topics.retention-check-ms`).",
        read: |c| c.topics.retention_check_ms.to_string(),
    },
    Setting {
        name: "log.flush.interval.ms",
        doc: "Under durability `relaxed`, the longest data stays unflushed (`topics.flush-ms`).",
        read: |c| c.topics.flush_ms.to_string(),
    },
    Setting {
        name: "durability",
        doc: "Default durability: `fsync` acknowledges only what is on disk, `relaxed` at once (`topics.durability`).",
        read: |c| c.topics.durability.clone(),
    },
    Setting {
        name: "group.initial.rebalance.delay.ms",
        doc: "How long a new group's first rebalance waits for more members (`groups.initial-rebalance-delay-ms`).",
        read: |c| c.groups.initial_rebalance_delay_ms.to_string(),
    },
    Setting {
        name: "group.min.session.timeout.ms",
        doc: "Shortest session timeout a group member may ask for (`groups.session-timeout-min-ms`).",
        read: |c| c.groups.session_timeout_min_ms.to_string(),
    },
    Setting {
        name: "group.max.session.timeout.ms",
        doc: "Longest session timeout a group member may ask for (`groups.session-timeout-max-ms`).",
        read: |c| c.groups.session_timeout_max_ms.to_string(),
    },
    Setting {
        name: "group.max.size",
        doc: "Most members one group may hold (`groups.members-max`).",
        read: |c| c.groups.members_max.to_string(),
    },
    Setting {
        name: "offset.metadata.max.bytes",
        doc: "Longest metadata a committed offset may carry (`groups.offset-metadata-bytes-max`).",
        read: |c| c.groups.offset_metadata_bytes_max.to_string(),
    },
];

/// Every broker setting with its value, source and built-in default.
pub fn describe(config: &Config) -> Vec<ConfigEntry> {
    let built_in = Config::default();
    SETTINGS
        .iter()
        .map(|s| {
            let value = (s.read)(config);
            let default_value = (s.read)(&built_in);
            ConfigEntry {
                name: s.name.to_owned(),
                source: if value == default_value {
                    ConfigSource::Default
                } else {
                    ConfigSource::Broker
                },
                value,
                default_value,
                read_only: true,
                documentation: s.doc.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_the_operator_changed_is_sourced_from_the_broker_the_rest_from_defaults() {
        let mut config = Config::default();
        config.topics.default_partitions = 4;
        let entries = describe(&config);
        let find = |name: &str| entries.iter().find(|e| e.name == name).unwrap();
        let partitions = find("num.partitions");
        assert_eq!(partitions.value, "4");
        assert_eq!(partitions.default_value, "1");
        assert_eq!(partitions.source, ConfigSource::Broker);
        let retention = find("log.retention.ms");
        assert_eq!(retention.value, "604800000");
        assert_eq!(retention.source, ConfigSource::Default);
        assert!(
            entries
                .iter()
                .all(|e| e.read_only && !e.documentation.is_empty())
        );
    }
}
