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

/// Kafka's `max.message.bytes` default: 1 MiB of records plus the 12-byte log overhead.
pub const MAX_MESSAGE_BYTES_DEFAULT: u32 = 1_048_588;
/// Smallest `max.message.bytes`: no batch is smaller than its 61-byte header.
pub const MAX_MESSAGE_BYTES_MIN: u32 = crate::batch::HEADER_BYTES as u32;
/// Kafka's `delete.retention.ms` default: a tombstone outlives compaction by one day, long
/// enough for consumers to see the deletion.
pub const DELETE_RETENTION_MS_DEFAULT: i64 = 24 * 60 * 60 * 1000;
/// Kafka's `min.cleanable.dirty.ratio` default: clean once half of the log is dirty.
pub const MIN_CLEANABLE_DIRTY_RATIO_DEFAULT: f64 = 0.5;

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

/// `cleanup.policy`: what happens to old records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupPolicy {
    /// `delete`: whole segments expire by `retention.ms` / `retention.bytes`.
    Delete,
    /// `compact`: only the latest record of each key is kept; retention deletes nothing.
    Compact,
    /// `compact,delete` (either order): both apply.
    CompactDelete,
}

impl CleanupPolicy {
    /// Whether compaction runs on the topic.
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }

    /// Whether time and size retention delete segments.
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    /// The config value, as Kafka lists it.
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }

    /// The policy of a list of items (`delete`, `compact`), repeats allowed.
    fn from_items<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let (mut delete, mut compact) = (false, false);
        for item in items {
            match item {
                "delete" => delete = true,
                "compact" => compact = true,
                other => return Err(format!("`{other}` is neither `delete` nor `compact`")),
            }
        }
        match (compact, delete) {
            (true, true) => Ok(CleanupPolicy::CompactDelete),
            (true, false) => Ok(CleanupPolicy::Compact),
            (false, true) => Ok(CleanupPolicy::Delete),
            (false, false) => Err("must list `delete`, `compact` or both".to_owned()),
        }
    }
}

impl std::str::FromStr for CleanupPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CleanupPolicy::from_items(list_items(s))
    }
}

/// The items of a list setting: comma-separated, blanks around items ignored, empty items
/// dropped (Kafka's list parsing).
fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|i| !i.is_empty())
}

/// `min.cleanable.dirty.ratio`: a fraction in [0, 1]. Never NaN (the only constructor checks
/// the range), which is what makes it `Eq`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct DirtyRatio(f64);

impl Eq for DirtyRatio {}

impl DirtyRatio {
    /// `Some` for a value in [0, 1].
    pub fn new(ratio: f64) -> Option<DirtyRatio> {
        (0.0..=1.0).contains(&ratio).then_some(DirtyRatio(ratio))
    }

    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
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
    /// `cleanup.policy`: delete by retention, compact by key, or both.
    pub cleanup_policy: CleanupPolicy,
    /// `max.message.bytes`: the largest batch an append accepts, header included; never above
    /// the broker's `StorageConfig::batch_bytes_max`.
    pub max_message_bytes: u32,
    /// `delete.retention.ms`: how long compaction keeps a tombstone (a record with a null
    /// value), measured from its batch's largest timestamp.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: a record newer than this is never compacted away.
    pub min_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`: a partition is compacted once at least this fraction of
    /// its sealed bytes was written since its last compaction.
    pub min_cleanable_dirty_ratio: DirtyRatio,
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
            cleanup_policy: CleanupPolicy::Delete,
            max_message_bytes: MAX_MESSAGE_BYTES_DEFAULT,
            delete_retention_ms: DELETE_RETENTION_MS_DEFAULT,
            min_compaction_lag_ms: 0,
            min_cleanable_dirty_ratio: DirtyRatio(MIN_CLEANABLE_DIRTY_RATIO_DEFAULT),
        }
    }
}

/// Where a setting's value came from, as Kafka's DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on this topic.
    Topic,
    /// The broker-wide default (`[topics]` of the broker's config), which differs from the
    /// built-in one.
    Broker,
    /// The built-in default, `TopicConfig::default()`.
    Default,
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
    /// The value that applies without the topic's override: the broker's default.
    pub default_value: String,
    /// Whether the setting cannot be altered per topic.
    pub read_only: bool,
    /// One sentence saying what the setting does.
    pub documentation: &'static str,
}

/// Overrides as stored and as clients send them: name to value.
pub type TopicOverrides = BTreeMap<String, String>;

/// How one alteration changes a setting (Kafka's IncrementalAlterConfigs operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOp {
    /// Sets the override to the value.
    Set,
    /// Removes the override: the broker default applies again.
    Delete,
    /// Adds the value's items to a list setting (those not already there).
    Append,
    /// Removes the value's items from a list setting.
    Subtract,
}

/// One alteration of a topic setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    /// Kafka's name, e.g. `cleanup.policy`.
    pub name: String,
    /// What to do.
    pub op: ConfigOp,
    /// The value; needed by every operation but `Delete`.
    pub value: Option<String>,
}

/// A setting's name, what it does, and whether its value is a list.
struct Setting {
    name: &'static str,
    documentation: &'static str,
    list: bool,
}

/// Every setting a topic accepts, in the order `describe` lists them.
const SETTINGS: [Setting; 12] = [
    Setting {
        name: "retention.ms",
        documentation: "Sealed segments whose newest record is older than this many milliseconds are deleted; -1 keeps them forever.",
        list: false,
    },
    Setting {
        name: "retention.bytes",
        documentation: "The oldest sealed segments are deleted while a partition holds more than this many bytes; -1 for no limit.",
        list: false,
    },
    Setting {
        name: "segment.bytes",
        documentation: "A segment is rolled before it would grow past this many bytes.",
        list: false,
    },
    Setting {
        name: "segment.ms",
        documentation: "A non-empty segment older than this many milliseconds is rolled, so that retention can delete it.",
        list: false,
    },
    Setting {
        name: "durability",
        documentation: "`fsync` acknowledges writes once on disk; `relaxed` acknowledges at once and flushes every flush.ms or flush.bytes.",
        list: false,
    },
    Setting {
        name: "flush.ms",
        documentation: "Under `relaxed` durability, the longest time in milliseconds written data stays unflushed.",
        list: false,
    },
    Setting {
        name: "flush.bytes",
        documentation: "Under `relaxed` durability, the most bytes a partition leaves unflushed.",
        list: false,
    },
    Setting {
        name: "cleanup.policy",
        documentation: "A list of `delete` (retention deletes old segments) and `compact` (only the latest record of each key is kept).",
        list: true,
    },
    Setting {
        name: "max.message.bytes",
        documentation: "The largest record batch, header included, an append accepts.",
        list: false,
    },
    Setting {
        name: "delete.retention.ms",
        documentation: "How many milliseconds compaction keeps a tombstone (a record with a null value) after its batch's newest timestamp.",
        list: false,
    },
    Setting {
        name: "min.compaction.lag.ms",
        documentation: "A record newer than this many milliseconds is never compacted away.",
        list: false,
    },
    Setting {
        name: "min.cleanable.dirty.ratio",
        documentation: "A partition is compacted once at least this fraction of its sealed log was written since its last compaction.",
        list: false,
    },
];

/// Every setting a topic accepts, in the order `describe` lists them.
pub const TOPIC_CONFIG_NAMES: [&str; SETTINGS.len()] = {
    let mut names = [""; SETTINGS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = SETTINGS[i].name;
        i += 1;
    }
    names
};

fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

fn unknown_setting(name: &str, value: &str) -> StorageError {
    StorageError::InvalidConfig {
        name: name.to_owned(),
        value: value.to_owned(),
        reason: format!(
            "unknown topic setting; known: {}",
            TOPIC_CONFIG_NAMES.join(", ")
        ),
    }
}

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

    /// Refuses a `max.message.bytes` above `ceiling`, the broker's `batch_bytes_max`.
    pub(crate) fn check_ceiling(&self, ceiling: u32) -> Result<(), StorageError> {
        if self.max_message_bytes > ceiling {
            return Err(StorageError::InvalidConfig {
                name: "max.message.bytes".to_owned(),
                value: self.max_message_bytes.to_string(),
                reason: format!("must be at most the broker's batch-bytes-max of {ceiling}"),
            });
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
            "cleanup.policy" => self.cleanup_policy = value.parse().map_err(invalid)?,
            "max.message.bytes" => {
                // Kafka's type is a 32-bit int.
                self.max_message_bytes = u32::try_from(int(i64::from(MAX_MESSAGE_BYTES_MIN))?)
                    .ok()
                    .filter(|&v| i32::try_from(v).is_ok())
                    .ok_or_else(|| invalid(format!("must be at most {}", i32::MAX)))?;
            }
            "delete.retention.ms" => self.delete_retention_ms = int(0)?,
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = int(0)?,
            "min.cleanable.dirty.ratio" => {
                self.min_cleanable_dirty_ratio = value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(DirtyRatio::new)
                    .ok_or_else(|| invalid("not a number from 0 to 1".to_owned()))?;
            }
            _ => return Err(unknown_setting(name, value)),
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
            "cleanup.policy" => self.cleanup_policy.as_str().to_owned(),
            "max.message.bytes" => self.max_message_bytes.to_string(),
            "delete.retention.ms" => self.delete_retention_ms.to_string(),
            "min.compaction.lag.ms" => self.min_compaction_lag_ms.to_string(),
            "min.cleanable.dirty.ratio" => self.min_cleanable_dirty_ratio.get().to_string(),
            _ => String::new(),
        }
    }

    /// Every setting of a topic whose effective settings are `self`, set with `overrides` over
    /// the broker's `defaults`: value, source, default and documentation.
    pub fn describe(&self, defaults: &TopicConfig, overrides: &TopicOverrides) -> Vec<ConfigEntry> {
        let built_in = TopicConfig::default();
        SETTINGS
            .iter()
            .map(|s| {
                let default_value = defaults.value(s.name);
                let source = if overrides.contains_key(s.name) {
                    ConfigSource::Topic
                } else if default_value != built_in.value(s.name) {
                    ConfigSource::Broker
                } else {
                    ConfigSource::Default
                };
                ConfigEntry {
                    name: s.name,
                    value: self.value(s.name),
                    source,
                    default_value,
                    read_only: false,
                    documentation: s.documentation,
                }
            })
            .collect()
    }
}

/// The overrides `changes` make of `current`, and the settings they give over `defaults`; all
/// checked before anything is returned, so a caller writes all of them or none. `replace` is
/// Kafka's legacy AlterConfigs: the result holds only what `changes` sets. A setting named
/// twice, an unknown name, a missing value, `Append`/`Subtract` on a setting that is not a
/// list (or with `replace`), and any invalid result are `InvalidConfig`.
pub fn alter_overrides(
    current: &TopicOverrides,
    defaults: &TopicConfig,
    changes: &[ConfigChange],
    replace: bool,
) -> Result<(TopicConfig, TopicOverrides), StorageError> {
    let effective = TopicConfig::resolve(defaults, current)?;
    let mut next = if replace {
        TopicOverrides::new()
    } else {
        current.clone()
    };
    let mut seen = std::collections::BTreeSet::new();
    for change in changes {
        let shown = change.value.as_deref().unwrap_or_default();
        let invalid = |reason: &str| StorageError::InvalidConfig {
            name: change.name.clone(),
            value: shown.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(spec) = setting(&change.name) else {
            return Err(unknown_setting(&change.name, shown));
        };
        if !seen.insert(spec.name) {
            return Err(invalid("named more than once in one request"));
        }
        let value = || {
            change
                .value
                .clone()
                .ok_or_else(|| invalid("a value is needed"))
        };
        match change.op {
            ConfigOp::Set => {
                next.insert(spec.name.to_owned(), value()?);
            }
            ConfigOp::Delete => {
                next.remove(spec.name);
            }
            ConfigOp::Append | ConfigOp::Subtract if !spec.list => {
                return Err(invalid("append and subtract apply only to list settings"));
            }
            ConfigOp::Append | ConfigOp::Subtract if replace => {
                return Err(invalid("append and subtract are incremental operations"));
            }
            ConfigOp::Append | ConfigOp::Subtract => {
                let base = next
                    .get(spec.name)
                    .cloned()
                    .unwrap_or_else(|| effective.value(spec.name));
                let given = value()?;
                let mut items: Vec<&str> = list_items(&base).collect();
                if change.op == ConfigOp::Append {
                    for item in list_items(&given) {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                } else {
                    let removed: Vec<&str> = list_items(&given).collect();
                    items.retain(|item| !removed.contains(item));
                }
                next.insert(spec.name.to_owned(), items.join(","));
            }
        }
    }
    let config = TopicConfig::resolve(defaults, &next)?;
    Ok((config, next))
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
        let d = c.describe(&TopicConfig::default(), &o);
        assert_eq!(d.len(), TOPIC_CONFIG_NAMES.len());
        assert_eq!(d[0].source, ConfigSource::Topic);
        assert_eq!(d[1].source, ConfigSource::Default);

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
