//! An in-memory `Broker`: topics → partitions → batches, offsets assigned by rewriting each
//! batch's base offset, as the host does. Validates only what the codec relies on (length,
//! magic); never panics on the bytes it is given, since the fuzz loop feeds it garbage.
//!
//! Durability is the test's to decide: by default an append is visible and durable at once
//! (`relaxed`); after [`FakeBroker::hold_high_watermark`] appends leave the high watermark
//! where it is, as under `fsync` before the sync thread ran, until [`FakeBroker::release`].

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use sluice_sdk::codec::{
    AppendResult, Broker, BrokerError, ClusterInfo, ErrorCode, Level, PartitionOffsets, ReadResult,
    TimestampOffset, TopicInfo,
};

pub const NODE_ID: i32 = 1;
pub const CLUSTER_ID: &str = "sluice-test-cluster-01";
pub const DEFAULT_PARTITIONS: u32 = 3;
pub const PARTITIONS_MAX: u32 = 64;

/// Magic-2 batch header bytes, and where its fields sit.
const BATCH_HEADER_BYTES: usize = 61;
const MAGIC_AT: usize = 16;
const LAST_OFFSET_DELTA_AT: usize = 23;
const MAX_TIMESTAMP_AT: usize = 35;

/// The topic settings the fake knows, as the host's storage names them.
const CONFIG_NAMES: [&str; 7] = [
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "segment.ms",
    "durability",
    "flush.ms",
    "flush.bytes",
];

#[derive(Default)]
struct Partition {
    log_start: i64,
    log_end: i64,
    high_watermark: i64,
    /// Every call on it fails with `storage`, as a partition whose write failed does.
    failed: bool,
    /// (base offset, last offset, max timestamp, bytes)
    batches: Vec<(i64, i64, i64, Vec<u8>)>,
}

impl Partition {
    fn offsets(&self) -> PartitionOffsets {
        PartitionOffsets {
            log_start: self.log_start,
            log_end: self.log_end,
            high_watermark: self.high_watermark,
        }
    }

    fn visible(&self) -> impl Iterator<Item = &(i64, i64, i64, Vec<u8>)> {
        let hw = self.high_watermark;
        self.batches
            .iter()
            .filter(move |(_, last, _, _)| *last < hw)
    }
}

pub struct FakeBroker {
    topics: RefCell<BTreeMap<String, Vec<Partition>>>,
    /// The settings each topic was created with, as passed.
    configs: RefCell<BTreeMap<String, Vec<(String, String)>>>,
    /// While set, appends do not raise the high watermark.
    hold: Cell<bool>,
    pub auto_create: bool,
    pub logs: RefCell<Vec<(Level, String)>>,
}

impl Default for FakeBroker {
    fn default() -> Self {
        FakeBroker {
            topics: RefCell::default(),
            configs: RefCell::default(),
            hold: Cell::new(false),
            auto_create: true,
            logs: RefCell::default(),
        }
    }
}

fn err(code: ErrorCode, message: &str) -> BrokerError {
    BrokerError {
        code,
        message: message.to_owned(),
    }
}

fn valid_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name != "."
        && name != ".."
}

/// Splits `bytes` into whole magic-2 batches, or says why it cannot.
fn split_batches(bytes: &[u8]) -> Result<Vec<&[u8]>, BrokerError> {
    let mut batches = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(len) = rest.get(8..12) else {
            return Err(err(ErrorCode::CorruptBatch, "short"));
        };
        let len = i32::from_be_bytes(len.try_into().unwrap());
        let total = usize::try_from(len).ok().and_then(|l| l.checked_add(12));
        let Some(total) = total.filter(|&t| t >= BATCH_HEADER_BYTES && t <= rest.len()) else {
            return Err(err(ErrorCode::CorruptBatch, "bad batch length"));
        };
        if rest[MAGIC_AT] != 2 {
            return Err(err(ErrorCode::CorruptBatch, "magic is not 2"));
        }
        batches.push(&rest[..total]);
        rest = &rest[total..];
    }
    if batches.is_empty() {
        return Err(err(ErrorCode::CorruptBatch, "no batch"));
    }
    Ok(batches)
}

impl FakeBroker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn without_auto_create() -> Self {
        FakeBroker {
            auto_create: false,
            ..Self::default()
        }
    }

    pub fn has_topic(&self, name: &str) -> bool {
        self.topics.borrow().contains_key(name)
    }

    /// The settings `name` was created with.
    pub fn topic_configs(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.configs.borrow().get(name).cloned()
    }

    /// From now on appends are not durable until [`FakeBroker::release`].
    pub fn hold_high_watermark(&self) {
        self.hold.set(true);
    }

    /// Makes everything appended to the partition durable: the high watermark reaches the
    /// log end.
    pub fn release(&self, topic: &str, partition: u32) {
        let _ = self.with_partition(topic, partition, |p| {
            p.high_watermark = p.log_end;
            Ok(())
        });
    }

    /// Fails the partition, as storage does after a write it could not undo.
    pub fn fail(&self, topic: &str, partition: u32) {
        let _ = self.with_partition(topic, partition, |p| {
            p.failed = true;
            Ok(())
        });
    }

    fn check_configs(configs: &[(String, String)]) -> Result<(), BrokerError> {
        for (name, value) in configs {
            if !CONFIG_NAMES.contains(&name.as_str()) {
                return Err(err(
                    ErrorCode::InvalidConfig,
                    &format!("unknown topic setting `{name}`"),
                ));
            }
            let valid = match name.as_str() {
                "durability" => value == "fsync" || value == "relaxed",
                _ => value.parse::<i64>().is_ok(),
            };
            if !valid {
                return Err(err(
                    ErrorCode::InvalidConfig,
                    &format!("invalid value `{value}` for topic setting `{name}`"),
                ));
            }
        }
        Ok(())
    }

    fn info(name: &str, partitions: &[Partition]) -> TopicInfo {
        TopicInfo {
            name: name.to_owned(),
            partitions: partitions.len() as u32,
        }
    }

    fn with_partition<T>(
        &self,
        topic: &str,
        partition: u32,
        f: impl FnOnce(&mut Partition) -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        let mut topics = self.topics.borrow_mut();
        let parts = topics
            .get_mut(topic)
            .ok_or_else(|| err(ErrorCode::UnknownTopic, "no such topic"))?;
        let part = parts
            .get_mut(partition as usize)
            .ok_or_else(|| err(ErrorCode::UnknownPartition, "no such partition"))?;
        if part.failed {
            return Err(err(ErrorCode::Storage, "partition failed"));
        }
        f(part)
    }
}

impl Broker for FakeBroker {
    fn cluster(&self) -> ClusterInfo {
        ClusterInfo {
            cluster_id: CLUSTER_ID.to_owned(),
            node_id: NODE_ID,
            default_partitions: DEFAULT_PARTITIONS,
        }
    }

    fn list_topics(&self) -> Vec<TopicInfo> {
        self.topics
            .borrow()
            .iter()
            .map(|(n, p)| Self::info(n, p))
            .collect()
    }

    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError> {
        if let Some(p) = self.topics.borrow().get(name) {
            return Ok(Self::info(name, p));
        }
        if !valid_name(name) {
            return Err(err(ErrorCode::InvalidTopic, "invalid name"));
        }
        if auto_create && self.auto_create {
            return self.create_topic(name, DEFAULT_PARTITIONS, &[]);
        }
        Err(err(ErrorCode::UnknownTopic, "no such topic"))
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
    ) -> Result<TopicInfo, BrokerError> {
        if !valid_name(name) {
            return Err(err(ErrorCode::InvalidTopic, "invalid name"));
        }
        Self::check_configs(configs)?;
        if partitions == 0 || partitions > PARTITIONS_MAX {
            return Err(err(ErrorCode::InvalidPartitions, "bad partition count"));
        }
        let mut topics = self.topics.borrow_mut();
        if topics.contains_key(name) {
            return Err(err(ErrorCode::TopicExists, "exists"));
        }
        let parts: Vec<Partition> = (0..partitions).map(|_| Partition::default()).collect();
        let info = Self::info(name, &parts);
        topics.insert(name.to_owned(), parts);
        self.configs
            .borrow_mut()
            .insert(name.to_owned(), configs.to_vec());
        Ok(info)
    }

    fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        self.topics
            .borrow_mut()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| err(ErrorCode::UnknownTopic, "no such topic"))
    }

    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError> {
        let hold = self.hold.get();
        self.with_partition(topic, partition, |p| {
            let split = split_batches(batches)?;
            let base_offset = p.log_end;
            for batch in split {
                let mut stored = batch.to_vec();
                let delta = i32::from_be_bytes(
                    stored[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4]
                        .try_into()
                        .unwrap(),
                );
                let max_timestamp = i64::from_be_bytes(
                    stored[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8]
                        .try_into()
                        .unwrap(),
                );
                let base = p.log_end;
                let last = base + i64::from(delta.max(0));
                stored[..8].copy_from_slice(&base.to_be_bytes());
                p.batches.push((base, last, max_timestamp, stored));
                p.log_end = last + 1;
            }
            if !hold {
                p.high_watermark = p.log_end;
            }
            Ok(AppendResult {
                base_offset,
                last_offset: p.log_end - 1,
                log_start: p.log_start,
                append_time_ms: 0,
                high_watermark: p.high_watermark,
            })
        })
    }

    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError> {
        self.with_partition(topic, partition, |p| {
            if offset < p.log_start || offset > p.log_end {
                return Err(err(ErrorCode::OffsetOutOfRange, "out of range"));
            }
            let mut batches = Vec::new();
            for (_, _, _, bytes) in p.visible().filter(|(_, last, _, _)| *last >= offset) {
                if !batches.is_empty() && batches.len() + bytes.len() > max_bytes as usize {
                    break;
                }
                batches.extend_from_slice(bytes);
            }
            Ok(ReadResult {
                batches,
                offsets: p.offsets(),
            })
        })
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError> {
        self.with_partition(topic, partition, |p| Ok(p.offsets()))
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        self.with_partition(topic, partition, |p| {
            Ok(p.visible()
                .find(|(_, _, max, _)| *max >= timestamp)
                .map(|(base, _, max, _)| TimestampOffset {
                    offset: *base,
                    timestamp: *max,
                }))
        })
    }

    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }
}
