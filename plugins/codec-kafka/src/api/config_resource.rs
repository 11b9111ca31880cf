//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: which resource a
//! request names (a topic, this broker, or something Sluice does not have), and how a host
//! [`ConfigEntry`] reads in Kafka's terms (source, type, synonym names).
//!
//! Sluice's broker settings are static (read from its configuration file at start), so a
//! broker resource can be described but never altered; a topic's settings live in the host.

use std::collections::HashMap;

use sluice_sdk::codec::ConfigSource;

/// Kafka's `ConfigResource.Type` codes that name something Sluice has.
pub const TOPIC: i8 = 2;
/// The broker resource: named by node id, or empty for the cluster-wide defaults.
pub const BROKER: i8 = 4;

/// Kafka's `ConfigSource` codes, as DescribeConfigs v1+ reports them.
pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
/// A setting from the broker's configuration file.
pub const STATIC_BROKER_CONFIG: i8 = 4;
/// Neither: the built-in default.
pub const DEFAULT_CONFIG: i8 = 5;

/// The resource a request names, once checked against this cluster.
pub enum Resource {
    /// A topic, by name.
    Topic,
    /// This broker: its node id, or the empty name.
    Broker,
}

/// Which resource `(resource_type, name)` is, or the INVALID_REQUEST message why it is none
/// Sluice has: Kafka answers unknown types and another broker's id the same way.
pub fn resource(resource_type: i8, name: &str, node_id: i32) -> Result<Resource, String> {
    match resource_type {
        TOPIC => Ok(Resource::Topic),
        BROKER if name.is_empty() => Ok(Resource::Broker),
        BROKER => match name.parse::<i32>() {
            Ok(id) if id == node_id => Ok(Resource::Broker),
            Ok(id) => Err(format!(
                "unexpected broker id {id}: this cluster is broker {node_id} alone"
            )),
            Err(_) => Err(format!("broker id must be an integer, but it is `{name}`")),
        },
        other => Err(format!(
            "unsupported resource type {other}: only topics (2) and brokers (4) have settings here"
        )),
    }
}

/// For each resource of a request, whether another one names the same (type, name): Kafka
/// refuses every copy (INVALID_REQUEST) rather than pick one.
pub fn repeated(resources: &[(i8, &str)]) -> Vec<bool> {
    let mut counts: HashMap<(i8, &str), usize> = HashMap::new();
    for r in resources {
        *counts.entry(*r).or_default() += 1;
    }
    resources
        .iter()
        .map(|r| counts.get(r).is_some_and(|&n| n > 1))
        .collect()
}

/// The message for a resource named twice.
pub const REPEATED_MESSAGE: &str = "each resource may appear at most once in a request";

/// Kafka's code for where a value comes from.
pub fn source_code(source: ConfigSource) -> i8 {
    match source {
        ConfigSource::Topic => DYNAMIC_TOPIC_CONFIG,
        ConfigSource::Broker => STATIC_BROKER_CONFIG,
        ConfigSource::Default => DEFAULT_CONFIG,
    }
}

/// Kafka's `ConfigType` codes (DescribeConfigs v3+).
mod config_type {
    pub const UNKNOWN: i8 = 0;
    pub const BOOLEAN: i8 = 1;
    pub const STRING: i8 = 2;
    pub const INT: i8 = 3;
    pub const LONG: i8 = 5;
    pub const DOUBLE: i8 = 6;
    pub const LIST: i8 = 7;
}

/// The type Kafka gives a setting, for clients that render or validate values (DescribeConfigs
/// v3+). Kafka's own types for the topic and broker settings the host has; a setting not
/// listed is UNKNOWN rather than a guess.
pub fn type_of(name: &str) -> i8 {
    use config_type::*;
    match name {
        "cleanup.policy" | "log.cleanup.policy" | "log.dirs" => LIST,
        "retention.ms"
        | "retention.bytes"
        | "segment.ms"
        | "flush.ms"
        | "flush.messages"
        | "flush.bytes"
        | "delete.retention.ms"
        | "min.compaction.lag.ms"
        | "log.retention.ms"
        | "log.retention.bytes"
        | "log.roll.ms"
        | "log.cleaner.delete.retention.ms"
        | "log.cleaner.min.compaction.lag.ms"
        | "log.cleaner.backoff.ms"
        | "log.retention.check.interval.ms"
        | "log.flush.interval.ms" => LONG,
        "segment.bytes"
        | "max.message.bytes"
        | "node.id"
        | "num.partitions"
        | "message.max.bytes"
        | "socket.request.max.bytes"
        | "log.segment.bytes"
        | "group.initial.rebalance.delay.ms"
        | "group.min.session.timeout.ms"
        | "group.max.session.timeout.ms"
        | "group.max.size"
        | "offset.metadata.max.bytes" => INT,
        "min.cleanable.dirty.ratio" | "log.cleaner.min.cleanable.ratio" => DOUBLE,
        "auto.create.topics.enable" => BOOLEAN,
        "durability" | "compression.type" => STRING,
        _ => UNKNOWN,
    }
}

/// The broker setting a topic setting falls back to (Kafka's `TopicConfigSynonyms`), which
/// is the name DescribeConfigs synonyms give the broker-level value.
pub fn broker_synonym(topic_setting: &str) -> &str {
    match topic_setting {
        "retention.ms" => "log.retention.ms",
        "retention.bytes" => "log.retention.bytes",
        "segment.bytes" => "log.segment.bytes",
        "segment.ms" => "log.roll.ms",
        "cleanup.policy" => "log.cleanup.policy",
        "max.message.bytes" => "message.max.bytes",
        "delete.retention.ms" => "log.cleaner.delete.retention.ms",
        "min.compaction.lag.ms" => "log.cleaner.min.compaction.lag.ms",
        "min.cleanable.dirty.ratio" => "log.cleaner.min.cleanable.ratio",
        "flush.ms" => "log.flush.interval.ms",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_resources_are_this_node_or_empty() {
        assert!(matches!(resource(BROKER, "", 1), Ok(Resource::Broker)));
        assert!(matches!(resource(BROKER, "1", 1), Ok(Resource::Broker)));
        assert!(resource(BROKER, "2", 1).is_err());
        assert!(resource(BROKER, "x", 1).is_err());
        assert!(matches!(resource(TOPIC, "t", 1), Ok(Resource::Topic)));
        assert!(resource(8, "root", 1).is_err());
    }

    #[test]
    fn types_follow_kafka() {
        assert_eq!(type_of("cleanup.policy"), 7);
        assert_eq!(type_of("retention.ms"), 5);
        assert_eq!(type_of("max.message.bytes"), 3);
        assert_eq!(type_of("who.knows"), 0);
    }
}
