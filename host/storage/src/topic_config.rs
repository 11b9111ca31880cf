//! Per-topic settings: Kafka's names and defaults where Kafka has the setting, a broker-wide
//! default for each (the `[topics]` table of the broker's config), and per-topic overrides kept
//! in `topic.toml` as the strings a client sent. Only overrides are stored, so changing a
//! broker default changes every topic that does not override it, as in Kafka.

use std::collections::BTreeMap;

use crate::StorageError;

/// Kafka's `retention.ms` default: 7 days.
pub const RETENTION_MS_DEFAULT: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's `segment.bytes` default: 1 GiB.
pub const SEGMENT_BYTES_DEFAULT: u64 = 1 << 30;
/// Kafka's `segment.ms` default: 7 days.
pub const SEGMENT_MS_DEFAULT: i64 = 7 * 24 * 60 * 60 * 1000;
/// Smallest `segment.bytes` accepted: one default-size batch per segment at least, and no
/// runaway of files from a typo. (Kafka's own floor is 14 bytes; tests want small segments.)
pub const SEGMENT_BYTES_MIN: u64 = 4096;
/// Largest `segment.bytes`: segment positions are 32-bit in the index files, as in Kafka.
pub const SEGMENT_BYTES_MAX: u64 = i32::MAX as u64;
/// Under `relaxed`, data is flushed at least this often (Kafka's `flush.ms` names the same
/// knob; its default of "never" leaves it to the OS, ours bounds the loss window).
pub const FLUSH_MS_DEFAULT: u64 = 1000;
/// Under `relaxed`, a partition is also flushed once this much is unflushed.
pub const FLUSH_BYTES_DEFAULT: u64 = 16 << 20;

/// When an acknowledged write is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledged writes are fsynced first; concurrent writers share fsyncs (group commit).
    /// Readers see only what is fsynced, so no reader ever sees a record a crash can take back.
    Fsync,
    /// Acknowledged at once; flushed every `flush.ms` or `flush.bytes`. A power loss can lose
    /// the last interval (a process crash loses nothing: the data is in the page cache).
    Relaxed,
}

impl Durability {
    /// The config value, `fsync` or `relaxed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Relaxed => "relaxed",
        }
    }
}

impl std::str::FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fsync" => Ok(Durability::Fsync),
            "relaxed" => Ok(Durability::Relaxed),
            _ => Err(format!("`{s}` is neither `fsync` nor `relaxed`")),
        }
    }
}

/// The effective settings of one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicConfig {
    /// `retention.ms`: segments whose newest record is older are deleted; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: oldest segments are deleted while a partition is above this; -1 for
    /// no limit.
    pub retention_bytes: i64,
    /// `segment.bytes`: a segment is rolled before it would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: a non-empty segment older than this is rolled, so time retention can
    /// delete it.
    pub segment_ms: i64,
    /// `durability`: `fsync` or `relaxed`.
    pub durability: Durability,
    /// `flush.ms`: under `relaxed`, the longest data stays unflushed.
    pub flush_ms: u64,
    /// `flush.bytes`: under `relaxed`, the most unflushed bytes per partition.
    pub flush_bytes: u64,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: RETENTION_MS_DEFAULT,
            retention_bytes: -1,
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            segment_ms: SEGMENT_MS_DEFAULT,
            durability: Durability::Fsync,
            flush_ms: FLUSH_MS_DEFAULT,
            flush_bytes: FLUSH_BYTES_DEFAULT,
        }
    }
}

/// Where a setting's value came from, as Kafka's DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on this topic.
    Topic,
    /// The broker-wide default.
    Broker,
}

/// One setting of a topic, for describe calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Kafka's name, e.g. `retention.ms`.
    pub name: &'static str,
    /// The effective value, as a string.
    pub value: String,
    /// Where it came from.
    pub source: ConfigSource,
}

/// Overrides as stored and as clients send them: name to value.
pub type TopicOverrides = BTreeMap<String, String>;

/// Every setting a topic accepts, in the order `describe` lists them.
pub const TOPIC_CONFIG_NAMES: [&str; 7] = [
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "segment.ms",
    "durability",
    "flush.ms",
    "flush.bytes",
];

impl TopicConfig {
    /// `defaults` with `overrides` applied. Unknown names and invalid values are refused with
    /// `InvalidConfig`, naming the setting.
    pub fn resolve(
        defaults: &TopicConfig,
        overrides: &TopicOverrides,
    ) -> Result<TopicConfig, StorageError> {
        let mut config = *defaults;
        for (name, value) in overrides {
            config.set(name, value)?;
        }
        Ok(config)
    }

    /// Checks that `self` (typically the broker defaults) is a valid configuration.
    pub fn validate(&self) -> Result<(), StorageError> {
        let mut copy = *self;
        for name in TOPIC_CONFIG_NAMES {
            copy.set(name, &self.value(name))?;
        }
        Ok(())
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), StorageError> {
        let invalid = |reason: String| StorageError::InvalidConfig {
            name: name.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let int = |min: i64| -> Result<i64, StorageError> {
            let v: i64 = value
                .trim()
                .parse()
                .map_err(|_| invalid("not an integer".to_owned()))?;
            if v < min {
                return Err(invalid(format!("must be at least {min}")));
            }
            Ok(v)
        };
        match name {
            "retention.ms" => self.retention_ms = int(-1)?,
            "retention.bytes" => self.retention_bytes = int(-1)?,
            "segment.bytes" => {
                let v = int(SEGMENT_BYTES_MIN as i64)? as u64;
                if v > SEGMENT_BYTES_MAX {
                    return Err(invalid(format!("must be at most {SEGMENT_BYTES_MAX}")));
                }
                self.segment_bytes = v;
            }
            "segment.ms" => self.segment_ms = int(1)?,
            "durability" => self.durability = value.trim().parse().map_err(invalid)?,
            "flush.ms" => self.flush_ms = int(1)? as u64,
            "flush.bytes" => self.flush_bytes = int(1)? as u64,
            _ => {
                return Err(StorageError::InvalidConfig {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason: format!(
                        "unknown topic setting; known: {}",
                        TOPIC_CONFIG_NAMES.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The value of a setting by its Kafka name, as a string.
    pub fn value(&self, name: &str) -> String {
        match name {
            "retention.ms" => self.retention_ms.to_string(),
            "retention.bytes" => self.retention_bytes.to_string(),
            "segment.bytes" => self.segment_bytes.to_string(),
            "segment.ms" => self.segment_ms.to_string(),
            "durability" => self.durability.as_str().to_owned(),
            "flush.ms" => self.flush_ms.to_string(),
            "flush.bytes" => self.flush_bytes.to_string(),
            _ => String::new(),
        }
    }

    /// Every setting with its value and source.
    pub fn describe(&self, overrides: &TopicOverrides) -> Vec<ConfigEntry> {
        TOPIC_CONFIG_NAMES
            .iter()
            .map(|&name| ConfigEntry {
                name,
                value: self.value(name),
                source: if overrides.contains_key(name) {
                    ConfigSource::Topic
                } else {
                    ConfigSource::Broker
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_over_defaults_and_bad_values_name_the_setting() {
        let mut o = TopicOverrides::new();
        o.insert("retention.ms".into(), "7200000".into());
        o.insert("segment.bytes".into(), "1073741824".into());
        o.insert("durability".into(), "relaxed".into());
        let c = TopicConfig::resolve(&TopicConfig::default(), &o).unwrap();
        assert_eq!(c.retention_ms, 7_200_000);
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.durability, Durability::Relaxed);
        let d = c.describe(&o);
        assert_eq!(d.len(), TOPIC_CONFIG_NAMES.len());
        assert_eq!(d[0].source, ConfigSource::Topic);
        assert_eq!(d[1].source, ConfigSource::Broker);

        for (name, value) in [
            ("segment.bytes", "12"),
            ("retention.ms", "soon"),
            ("durability", "maybe"),
            ("colour", "red"),
        ] {
            let mut o = TopicOverrides::new();
            o.insert(name.into(), value.into());
            let err = TopicConfig::resolve(&TopicConfig::default(), &o).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        TopicConfig::default().validate().unwrap();
    }
}
