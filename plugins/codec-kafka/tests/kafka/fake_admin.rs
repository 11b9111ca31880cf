//! The fake broker's topic settings, producer ids and idempotent-producer checks, kept apart
//! from `fake_broker` (which calls them) so the admin and idempotence tests have a host that
//! behaves like Sluice's: settings with sources and defaults, `max.message.bytes` and
//! keyless-on-compacted checks on append, and sequence checks per producer id.

use std::cell::Cell;
use std::collections::BTreeMap;

use sluice_sdk::codec::{
    BrokerError, ConfigChange, ConfigEntry, ConfigOp, ConfigSource, ErrorCode, ProducerIdentity,
};

/// The topic settings the fake knows: (name, built-in default, documentation).
pub const SETTINGS: [(&str, &str, &str); 10] = [
    ("retention.ms", "604800000", "How long records are kept."),
    ("retention.bytes", "-1", "How many bytes a partition keeps."),
    ("segment.bytes", "1073741824", "Size of a log segment."),
    ("segment.ms", "604800000", "Age at which a segment rolls."),
    ("durability", "fsync", "fsync or relaxed."),
    ("flush.ms", "100", "Most time between fsyncs."),
    ("flush.bytes", "1048576", "Most bytes between fsyncs."),
    ("cleanup.policy", "delete", "delete, compact, or both."),
    (
        "max.message.bytes",
        "1048588",
        "Largest batch a producer may send.",
    ),
    (
        "delete.retention.ms",
        "86400000",
        "How long tombstones are kept.",
    ),
];

/// The broker's own `log.retention.ms`, which topics without an override inherit.
pub const BROKER_RETENTION_MS: &str = "86400000";

/// Whether `name` is a topic setting.
pub fn known(name: &str) -> bool {
    SETTINGS.iter().any(|(n, _, _)| *n == name)
}

/// Whether `value` is valid for `name`.
pub fn valid_value(name: &str, value: &str) -> bool {
    match name {
        "durability" => value == "fsync" || value == "relaxed",
        "cleanup.policy" => {
            !value.is_empty() && value.split(',').all(|p| p == "delete" || p == "compact")
        }
        _ => value.parse::<i64>().is_ok(),
    }
}

/// The value `name` has without a topic override, and where it comes from.
fn fallback(name: &str) -> (String, ConfigSource) {
    if name == "retention.ms" {
        return (BROKER_RETENTION_MS.to_owned(), ConfigSource::Broker);
    }
    let default = SETTINGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or("", |(_, d, _)| d);
    (default.to_owned(), ConfigSource::Default)
}

/// The value in force for `name`, given a topic's overrides (the last one wins).
pub fn effective(overrides: &[(String, String)], name: &str) -> String {
    overrides
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map_or_else(|| fallback(name).0, |(_, v)| v.clone())
}

/// Every topic setting, as `describe-topic-configs` answers.
pub fn topic_entries(overrides: &[(String, String)]) -> Vec<ConfigEntry> {
    SETTINGS
        .iter()
        .map(|(name, _, doc)| {
            let (default_value, fallback_source) = fallback(name);
            let set = overrides.iter().rev().find(|(n, _)| n == name);
            ConfigEntry {
                name: (*name).to_owned(),
                value: set.map_or_else(|| default_value.clone(), |(_, v)| v.clone()),
                source: if set.is_some() {
                    ConfigSource::Topic
                } else {
                    fallback_source
                },
                default_value,
                read_only: false,
                documentation: (*doc).to_owned(),
            }
        })
        .collect()
}

/// The broker's settings, as `describe-broker-configs` answers.
pub fn broker_entries(node_id: i32) -> Vec<ConfigEntry> {
    let entry = |name: &str, value: &str, source, doc: &str| ConfigEntry {
        name: name.to_owned(),
        value: value.to_owned(),
        source,
        default_value: value.to_owned(),
        read_only: true,
        documentation: doc.to_owned(),
    };
    vec![
        entry(
            "node.id",
            &node_id.to_string(),
            ConfigSource::Broker,
            "This broker's id.",
        ),
        entry(
            "num.partitions",
            "3",
            ConfigSource::Default,
            "Partitions of auto-created topics.",
        ),
        entry(
            "log.retention.ms",
            BROKER_RETENTION_MS,
            ConfigSource::Broker,
            "Default retention.",
        ),
        entry(
            "log.cleanup.policy",
            "delete",
            ConfigSource::Default,
            "Default cleanup policy.",
        ),
    ]
}

fn invalid(message: String) -> BrokerError {
    BrokerError {
        code: ErrorCode::InvalidConfig,
        message,
    }
}

/// A topic's overrides after `changes`, or why they cannot apply (nothing applies then).
pub fn alter(
    overrides: &[(String, String)],
    changes: &[ConfigChange],
    replace: bool,
) -> Result<Vec<(String, String)>, BrokerError> {
    let mut map: BTreeMap<String, String> = if replace {
        BTreeMap::new()
    } else {
        overrides.iter().cloned().collect()
    };
    for c in changes {
        if !known(&c.name) {
            return Err(invalid(format!("unknown topic setting `{}`", c.name)));
        }
        let value = || {
            c.value
                .clone()
                .ok_or_else(|| invalid(format!("no value for `{}`", c.name)))
        };
        match c.op {
            ConfigOp::Delete => {
                map.remove(&c.name);
                continue;
            }
            ConfigOp::Set => {
                map.insert(c.name.clone(), value()?);
            }
            ConfigOp::Append | ConfigOp::Subtract => {
                if c.name != "cleanup.policy" {
                    return Err(invalid(format!("`{}` is not a list", c.name)));
                }
                let item = value()?;
                let current = map
                    .get(&c.name)
                    .cloned()
                    .unwrap_or_else(|| fallback(&c.name).0);
                let mut items: Vec<String> = current
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if c.op == ConfigOp::Append {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                } else {
                    items.retain(|i| *i != item);
                }
                map.insert(c.name.clone(), items.join(","));
            }
        }
        let v = &map[&c.name];
        if !valid_value(&c.name, v) {
            return Err(invalid(format!(
                "invalid value `{v}` for topic setting `{}`",
                c.name
            )));
        }
    }
    Ok(map.into_iter().collect())
}

/// Producer ids handed out so far.
#[derive(Default)]
pub struct ProducerIds {
    next: Cell<i64>,
}

impl ProducerIds {
    pub fn init(&self, current: Option<ProducerIdentity>) -> ProducerIdentity {
        match current {
            Some(c) if c.epoch < i16::MAX => ProducerIdentity {
                id: c.id,
                epoch: c.epoch + 1,
            },
            _ => {
                let id = self.next.get() + 1000;
                self.next.set(self.next.get() + 1);
                ProducerIdentity { id, epoch: 0 }
            }
        }
    }
}

/// What a partition remembers of a producer: its epoch and its last batch.
#[derive(Clone, Copy)]
pub struct ProducerState {
    pub epoch: i16,
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
}

/// The producer fields of a magic-2 batch header: id, epoch, base sequence, records.
pub fn producer_of(batch: &[u8]) -> Option<(i64, i16, i32, i32)> {
    let id = i64::from_be_bytes(batch.get(43..51)?.try_into().ok()?);
    let epoch = i16::from_be_bytes(batch.get(51..53)?.try_into().ok()?);
    let seq = i32::from_be_bytes(batch.get(53..57)?.try_into().ok()?);
    let delta = i32::from_be_bytes(batch.get(23..27)?.try_into().ok()?);
    (id >= 0).then_some((id, epoch, seq, delta.wrapping_add(1)))
}

/// How an idempotent batch fits what the partition remembers.
pub enum Sequenced {
    /// The next batch: store it.
    Next,
    /// Stored already: answer these (base, last) offsets again.
    Duplicate(i64, i64),
}

/// Checks an idempotent batch as the host does.
pub fn sequence(
    state: Option<&ProducerState>,
    epoch: i16,
    seq: i32,
    count: i32,
) -> Result<Sequenced, BrokerError> {
    let out_of_order = |expected: i32| BrokerError {
        code: ErrorCode::OutOfOrderSequence,
        message: format!("sequence {seq}, expected {expected}"),
    };
    match state {
        Some(s) if epoch < s.epoch => Err(BrokerError {
            code: ErrorCode::InvalidProducerEpoch,
            message: format!("epoch {epoch} is older than {}", s.epoch),
        }),
        Some(s) if epoch == s.epoch => {
            if seq == s.first_seq && seq.wrapping_add(count).wrapping_sub(1) == s.last_seq {
                Ok(Sequenced::Duplicate(s.base_offset, s.last_offset))
            } else if seq == s.last_seq.wrapping_add(1) {
                Ok(Sequenced::Next)
            } else {
                Err(out_of_order(s.last_seq.wrapping_add(1)))
            }
        }
        _ if seq == 0 => Ok(Sequenced::Next),
        _ => Err(out_of_order(0)),
    }
}

/// Whether an uncompressed batch holds a record without a key (compressed: not looked at).
pub fn has_keyless_record(batch: &[u8]) -> bool {
    let compressed = batch.get(22).is_some_and(|a| a & 0x07 != 0);
    if compressed {
        return false;
    }
    let mut at = 61;
    let varint = |at: &mut usize| -> Option<i64> {
        let mut raw = 0u64;
        for i in 0..10 {
            let b = *batch.get(*at)?;
            *at += 1;
            raw |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        None
    };
    while at < batch.len() {
        let Some(len) = varint(&mut at) else {
            return false;
        };
        let Some(end) = usize::try_from(len).ok().and_then(|l| l.checked_add(at)) else {
            return false;
        };
        let mut field = at + 1; // attributes
        let keyless = varint(&mut field)
            .and_then(|_| varint(&mut field))
            .and_then(|_| varint(&mut field))
            .is_some_and(|k| k == -1);
        if keyless {
            return true;
        }
        at = end;
    }
    false
}
