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
    CommitAuthor, CommittedOffset, GroupDescription, GroupError, GroupOverview, GroupResults,
    JoinOutcome, JoinRequest, MemberIdentity, SyncOutcome, SyncRequest, TopicPartition,
};

use sluice_sdk::codec::{
    AppendResult, Broker, BrokerError, ClusterInfo, Consumer, ConsumerOptions, ErrorCode, Level,
    Message, Outcome, PartitionOffsets, Principal, Queues, ReadResult, Received, RoutingType, Sent,
    TimestampOffset, TopicInfo,
};
use sluice_sdk::codec::{ConfigChange, ConfigEntry, ProducerIdentity};

use crate::fake_admin::{self, ProducerIds, ProducerState, Sequenced};

pub const NODE_ID: i32 = 1;
pub const CLUSTER_ID: &str = "sluice-test-cluster-01";
pub const DEFAULT_PARTITIONS: u32 = 3;
pub const PARTITIONS_MAX: u32 = 64;

/// Magic-2 batch header bytes, and where its fields sit.
const BATCH_HEADER_BYTES: usize = 61;
const MAGIC_AT: usize = 16;
const LAST_OFFSET_DELTA_AT: usize = 23;
const MAX_TIMESTAMP_AT: usize = 35;

#[derive(Default)]
struct Partition {
    log_start: i64,
    log_end: i64,
    high_watermark: i64,
    /// Every call on it fails with `storage`, as a partition whose write failed does.
    failed: bool,
    /// (base offset, last offset, max timestamp, bytes)
    batches: Vec<(i64, i64, i64, Vec<u8>)>,
    /// Idempotent producers that appended here, by producer id.
    producers: BTreeMap<i64, ProducerState>,
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
    /// The host's group coordinator, opened on first use.
    groups: std::cell::OnceCell<crate::fake_groups::FakeGroups>,
    /// Producer ids handed out by `init-producer-id`.
    producer_ids: ProducerIds,
}

impl Default for FakeBroker {
    fn default() -> Self {
        FakeBroker {
            topics: RefCell::default(),
            configs: RefCell::default(),
            hold: Cell::new(false),
            auto_create: true,
            logs: RefCell::default(),
            groups: std::cell::OnceCell::new(),
            producer_ids: ProducerIds::default(),
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
            if !fake_admin::known(name) {
                return Err(err(
                    ErrorCode::InvalidConfig,
                    &format!("unknown topic setting `{name}`"),
                ));
            }
            let valid = fake_admin::valid_value(name, value);
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

impl FakeBroker {
    /// The group coordinator behind the group methods.
    pub fn groups(&self) -> &crate::fake_groups::FakeGroups {
        self.groups.get_or_init(crate::fake_groups::FakeGroups::new)
    }

    fn partition_exists(&self, topic: &str, partition: u32) -> bool {
        self.topics
            .borrow()
            .get(topic)
            .is_some_and(|p| (partition as usize) < p.len())
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
            return self.create_topic(name, DEFAULT_PARTITIONS, &[], false);
        }
        Err(err(ErrorCode::UnknownTopic, "no such topic"))
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
        validate_only: bool,
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
        if validate_only {
            return Ok(TopicInfo {
                name: name.to_owned(),
                partitions,
            });
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
        let overrides = self
            .configs
            .borrow()
            .get(topic)
            .cloned()
            .unwrap_or_default();
        self.with_partition(topic, partition, |p| {
            let split = split_batches(batches)?;
            // The host's checks first, on every batch: all are stored or none is.
            let max_bytes: usize = fake_admin::effective(&overrides, "max.message.bytes")
                .parse()
                .unwrap_or(usize::MAX);
            let compacted = fake_admin::effective(&overrides, "cleanup.policy").contains("compact");
            let mut producers = p.producers.clone();
            let mut duplicate = None;
            let mut next_offset = p.log_end;
            let mut fresh = Vec::new();
            for batch in split {
                if batch.len() > max_bytes {
                    return Err(err(
                        ErrorCode::RecordTooLarge,
                        "batch above max.message.bytes",
                    ));
                }
                if compacted && fake_admin::has_keyless_record(batch) {
                    return Err(err(
                        ErrorCode::InvalidRecord,
                        "a record without a key on a compacted topic",
                    ));
                }
                let delta = i64::from(i32::from_be_bytes(
                    batch[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4]
                        .try_into()
                        .unwrap(),
                ))
                .max(0);
                if let Some((id, epoch, seq, count)) = fake_admin::producer_of(batch) {
                    match fake_admin::sequence(producers.get(&id), epoch, seq, count)? {
                        Sequenced::Duplicate(base, last) => {
                            duplicate.get_or_insert((base, last));
                            continue;
                        }
                        Sequenced::Next => {
                            let state = ProducerState {
                                epoch,
                                first_seq: seq,
                                last_seq: seq.wrapping_add(count).wrapping_sub(1),
                                base_offset: next_offset,
                                last_offset: next_offset + delta,
                            };
                            producers.insert(id, state);
                        }
                    }
                }
                next_offset += delta + 1;
                fresh.push(batch);
            }
            p.producers = producers;
            if let (true, Some((base_offset, last_offset))) = (fresh.is_empty(), duplicate) {
                return Ok(AppendResult {
                    base_offset,
                    last_offset,
                    log_start: p.log_start,
                    append_time_ms: 0,
                    high_watermark: p.high_watermark,
                });
            }
            let base_offset = duplicate.map_or(p.log_end, |(base, _)| base);
            for batch in fresh {
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

    fn group_join(&self, request: &JoinRequest) -> Result<JoinOutcome, GroupError> {
        self.groups().join(request)
    }
    fn group_join_poll(&self, group: &str, member: &str) -> Result<JoinOutcome, GroupError> {
        self.groups().join_poll(group, member)
    }
    fn group_sync(&self, request: &SyncRequest) -> Result<SyncOutcome, GroupError> {
        self.groups().sync(request)
    }
    fn group_sync_poll(&self, g: &str, m: &str, gen_id: i32) -> Result<SyncOutcome, GroupError> {
        self.groups().sync_poll(g, m, gen_id)
    }
    fn group_heartbeat(&self, g: &str, m: &MemberIdentity, gen_id: i32) -> Result<(), GroupError> {
        self.groups().heartbeat(g, m, gen_id)
    }
    fn group_leave(&self, group: &str, members: &[MemberIdentity]) -> GroupResults {
        self.groups().leave(group, members)
    }
    fn group_list(&self) -> Vec<GroupOverview> {
        self.groups().list()
    }
    fn group_describe(&self, group: &str) -> Result<GroupDescription, GroupError> {
        self.groups().describe(group)
    }
    fn group_delete(&self, group: &str) -> Result<(), GroupError> {
        self.groups().delete(group)
    }
    fn commit_offsets(&self, g: &str, a: &CommitAuthor, o: &[CommittedOffset]) -> GroupResults {
        self.groups()
            .commit_offsets(g, a, o, &|t, p| self.partition_exists(t, p))
    }
    fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        self.groups().fetch_offsets(group, partitions)
    }
    fn delete_offsets(&self, group: &str, partitions: &[TopicPartition]) -> GroupResults {
        self.groups().delete_offsets(group, partitions)
    }

    fn create_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<TopicInfo, BrokerError> {
        let mut topics = self.topics.borrow_mut();
        let parts = topics
            .get_mut(name)
            .ok_or_else(|| err(ErrorCode::UnknownTopic, "no such topic"))?;
        let current = parts.len() as u32;
        if count <= current {
            return Err(err(
                ErrorCode::InvalidPartitions,
                &format!("topic has {current} partitions; {count} is not an increase"),
            ));
        }
        if count > PARTITIONS_MAX {
            return Err(err(
                ErrorCode::InvalidPartitions,
                &format!("{count} partitions is above the limit of {PARTITIONS_MAX}"),
            ));
        }
        if !validate_only {
            parts.resize_with(count as usize, Partition::default);
        }
        Ok(TopicInfo {
            name: name.to_owned(),
            partitions: count,
        })
    }

    fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>, BrokerError> {
        if !self.has_topic(name) {
            return Err(err(ErrorCode::UnknownTopic, "no such topic"));
        }
        let overrides = self.configs.borrow().get(name).cloned().unwrap_or_default();
        Ok(fake_admin::topic_entries(&overrides))
    }

    fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        fake_admin::broker_entries(NODE_ID)
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[ConfigChange],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        if !self.has_topic(name) {
            return Err(err(ErrorCode::UnknownTopic, "no such topic"));
        }
        let overrides = self.configs.borrow().get(name).cloned().unwrap_or_default();
        let altered = fake_admin::alter(&overrides, changes, replace)?;
        if !validate_only {
            self.configs.borrow_mut().insert(name.to_owned(), altered);
        }
        Ok(())
    }

    fn delete_records(&self, topic: &str, partition: u32, offset: i64) -> Result<i64, BrokerError> {
        self.with_partition(topic, partition, |p| {
            let offset = if offset == -1 {
                p.high_watermark
            } else {
                offset
            };
            if offset > p.high_watermark {
                return Err(err(ErrorCode::OffsetOutOfRange, "above the high watermark"));
            }
            if offset > p.log_start {
                p.log_start = offset;
                p.batches.retain(|(_, last, _, _)| *last >= offset);
            }
            Ok(p.log_start)
        })
    }

    fn init_producer_id(
        &self,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        Ok(self.producer_ids.init(current))
    }

    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }
}

/// The Kafka codec speaks only to topics and groups: any call to the queue model fails the test.
impl Queues for FakeBroker {
    fn send(&self, _: &str, _: Option<RoutingType>, _: &[Message]) -> Result<Sent, BrokerError> {
        panic!("the Kafka codec called queues.send")
    }
    fn open_consumer(&self, _: &ConsumerOptions) -> Result<Consumer, BrokerError> {
        panic!("the Kafka codec called queues.open-consumer")
    }
    fn receive(&self, _: u64, _: u32, _: u32, _: bool) -> Result<Received, BrokerError> {
        panic!("the Kafka codec called queues.receive")
    }
    fn settle(&self, _: u64, _: &[u64], _: Outcome) -> Result<(), BrokerError> {
        panic!("the Kafka codec called queues.settle")
    }
    fn close_consumer(&self, _: u64) {
        panic!("the Kafka codec called queues.close-consumer")
    }
    fn anonymous_allowed(&self) -> bool {
        panic!("the Kafka codec called auth.anonymous-allowed")
    }
    fn authenticate(&self, _: &str, _: &str) -> Option<Principal> {
        panic!("the Kafka codec called auth.authenticate")
    }
    fn now_ms(&self) -> i64 {
        panic!("the Kafka codec called clock.now-ms")
    }
}
