//! An in-memory `Broker`: topics → partitions → batches, offsets assigned by rewriting each
//! batch's base offset, as the host does. Validates only what the codec relies on (length,
//! magic); never panics on the bytes it is given, since the fuzz loop feeds it garbage.

use std::cell::RefCell;
use std::collections::BTreeMap;

use sluice_sdk::codec::{
    AppendResult, Broker, BrokerError, ClusterInfo, ErrorCode, Level, PartitionOffsets, ReadResult,
    TopicInfo,
};

pub const NODE_ID: i32 = 1;
pub const CLUSTER_ID: &str = "sluice-test-cluster-01";
pub const DEFAULT_PARTITIONS: u32 = 3;
pub const PARTITIONS_MAX: u32 = 64;

/// Magic-2 batch header bytes, and where its fields sit.
const BATCH_HEADER_BYTES: usize = 61;
const MAGIC_AT: usize = 16;
const LAST_OFFSET_DELTA_AT: usize = 23;

#[derive(Default)]
struct Partition {
    log_start: i64,
    log_end: i64,
    /// (base offset, last offset, bytes)
    batches: Vec<(i64, i64, Vec<u8>)>,
}

pub struct FakeBroker {
    topics: RefCell<BTreeMap<String, Vec<Partition>>>,
    pub auto_create: bool,
    pub logs: RefCell<Vec<(Level, String)>>,
}

impl Default for FakeBroker {
    fn default() -> Self {
        FakeBroker {
            topics: RefCell::default(),
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
            return self.create_topic(name, DEFAULT_PARTITIONS);
        }
        Err(err(ErrorCode::UnknownTopic, "no such topic"))
    }

    fn create_topic(&self, name: &str, partitions: u32) -> Result<TopicInfo, BrokerError> {
        if !valid_name(name) {
            return Err(err(ErrorCode::InvalidTopic, "invalid name"));
        }
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
                let base = p.log_end;
                let last = base + i64::from(delta.max(0));
                stored[..8].copy_from_slice(&base.to_be_bytes());
                p.batches.push((base, last, stored));
                p.log_end = last + 1;
            }
            Ok(AppendResult {
                base_offset,
                last_offset: p.log_end - 1,
                log_start: p.log_start,
                append_time_ms: 0,
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
            for (_, last, bytes) in p.batches.iter().filter(|(_, last, _)| *last >= offset) {
                let _ = last;
                if !batches.is_empty() && batches.len() + bytes.len() > max_bytes as usize {
                    break;
                }
                batches.extend_from_slice(bytes);
            }
            Ok(ReadResult {
                batches,
                offsets: PartitionOffsets {
                    log_start: p.log_start,
                    log_end: p.log_end,
                },
            })
        })
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError> {
        self.with_partition(topic, partition, |p| {
            Ok(PartitionOffsets {
                log_start: p.log_start,
                log_end: p.log_end,
            })
        })
    }

    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }
}
