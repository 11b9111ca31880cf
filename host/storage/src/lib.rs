//! Sluice's storage: topics of partitions, each partition an append-only log of Kafka v2
//! record batches under a data directory, recovered at open after a crash.
//!
//! **Architecture Invariant:** storage knows nothing of plugins, wasm, sockets or protocols.
//! It stores batches exactly as produced (apart from the base offset and leader epoch it owns)
//! and decompresses them only on compacted topics, to read keys.
//!
//! Flow, in module order: [`Storage`] (this file, the facade the broker shares as
//! `Arc<Storage>`) → `names` (topic names) → `topic` and `topic_config` (create, load, delete
//! ordering; settings) → `partition` (append, roll, read, high watermark, retention) → `sync`
//! (group commit) → `segment` (one log file and its indexes) → `batch` (header parse and
//! validation, no I/O) → `index` and `index_file` (mmap'd sparse offset and time indexes) →
//! `recovery` (scanning a segment) → `meta` and `layout` (metadata files and paths);
//! `cursor` (queue acknowledgements) and `failpoint` (named failure points) stand aside.
//! Compacted topics (`cleanup.policy` with `compact`) add `records` (the records inside a
//! batch, decompressed) and `compaction` with `partition/compact` (keep the latest record per
//! key, rewriting sealed segments).
//! Idempotent producers add `producers` (per-partition epochs and last batches, checked by
//! every append; `partition/idempotence` rebuilds them at open) and `producer_ids` (ids
//! unique across restarts); `partition/delete_records` raises a partition's log start
//! durably (Kafka's DeleteRecords).
//! `encode` writes records as a batch and reads stored batches back as records, for callers
//! that build messages themselves (the address model) rather than pass producers' batches on.
//!
//! Durability: under a topic's `fsync` policy an append returns before it is durable, and its
//! records become visible (the high watermark passes them) once the sync thread has fsynced
//! them; writers that must acknowledge only durable data wait on [`Storage::watch`]. Under
//! `relaxed` they are visible at once and flushed every `flush.ms`. Topic creation, deletion
//! and setting changes are crash-safe and durable when they return.

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]
#![warn(missing_docs)]

mod batch;
mod compaction;
mod config;
mod cursor;
mod encode;
mod error;
mod failpoint;
mod index;
mod index_file;
mod layout;
mod meta;
mod names;
mod partition;
mod producer_ids;
mod producers;
mod records;
mod recovery;
mod segment;
mod stats;
mod sync;
mod topic;
mod topic_config;

use std::collections::HashMap;
use std::fs::{self, File, TryLockError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

pub use config::{
    AppendResult, BATCH_BYTES_MAX_DEFAULT, CompactionReport, PARTITIONS_MAX_DEFAULT,
    PartitionOffsets, READ_BYTES_MAX_DEFAULT, ReadResult, RetentionReport, StorageConfig,
    TimestampOffset, TopicInfo,
};
pub use cursor::{
    CURSOR_COUNTED_MAX_DEFAULT, CURSOR_JOURNAL_BYTES_MAX_DEFAULT, CURSOR_RANGES_MAX_DEFAULT,
    CursorLimits, CursorState, QueueCursor,
};
pub use encode::{DecodedBatch, NewRecord, StoredRecord, decode_batches, encode_batch};
pub use error::StorageError;
pub use failpoint::{FAIL_POINT_NAMES, FailAction, FailPoints};
pub use names::{TOPIC_NAME_BYTES_MAX, validate_topic_name};
pub use partition::DELETE_TO_HIGH_WATERMARK;
pub use producer_ids::PRODUCER_ID_BLOCK_SIZE;
pub use producers::{
    PRODUCER_BATCHES_CACHED, PRODUCER_ID_EXPIRATION_MS_DEFAULT, PRODUCER_STATE_SEGMENTS_SCANNED,
    PRODUCERS_PER_PARTITION_MAX,
};
pub use records::DECOMPRESSED_BYTES_MAX;
pub use stats::{FSYNC_BUCKETS, FSYNC_BUCKETS_US, StorageStats, TopicUsage};
pub use topic_config::{
    CleanupPolicy, ConfigChange, ConfigEntry, ConfigOp, ConfigSource, DirtyRatio, Durability,
    TOPIC_CONFIG_NAMES, TopicConfig, TopicOverrides,
};

use error::io_error;
use layout::Layout;
use partition::OpenContext;
use partition::{Partition, SyncNeed};
use sync::Syncer;
use topic::Topic;

/// The broker's storage. `Send + Sync`; share it as `Arc<Storage>`.
///
/// Appends to different partitions run in parallel; appends to one partition are serialised.
/// Topic creation and deletion are serialised with each other but do not block appends or
/// reads of other topics while they touch the disk.
#[derive(Debug)]
pub struct Storage {
    config: StorageConfig,
    layout: Layout,
    cluster_id: String,
    /// Looked up by every call, changed only by create and delete: a read-write lock.
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    /// Serialises create and delete so their disk work runs outside the `topics` lock.
    admin: Mutex<()>,
    /// Makes each name in `deleted/` unique even when the clock does not move.
    deletions: AtomicU64,
    /// Counters every partition updates.
    stats: Arc<stats::Stats>,
    /// Group commit. Declared before the lock so it stops (flushing) while the lock is held.
    syncer: Syncer,
    /// Allocates idempotent producers' ids, unique across restarts.
    producer_ids: producer_ids::ProducerIds,
    /// Held (flock) for the life of this value so two brokers never share a directory.
    _dir_lock: File,
}

impl Storage {
    /// Opens the data directory, creating it if missing, and loads and recovers every topic.
    /// Fails if another `Storage` (in this or another process) has it open.
    pub fn open(mut config: StorageConfig) -> Result<Storage, StorageError> {
        config.topic_defaults.validate()?;
        // `batch_bytes_max` is the ceiling of every topic's `max.message.bytes`, the broker
        // default's included.
        let ceiling = config.batch_bytes_max;
        let default_max = &mut config.topic_defaults.max_message_bytes;
        *default_max = (*default_max).min(ceiling);
        let layout = Layout::new(config.dir.clone());
        fs::create_dir_all(layout.root()).map_err(io_error("create directory", layout.root()))?;
        let dir_lock = lock_dir(&layout)?;
        for dir in [layout.topics_dir(), layout.deleted_dir()] {
            fs::create_dir_all(&dir).map_err(io_error("create directory", &dir))?;
        }
        let cluster_id = meta::load_or_init_cluster_id(&layout)?;
        empty_deleted_dir(&layout)?;
        let lost_found = layout.lost_found_dir();
        let stats = Arc::new(stats::Stats::default());
        let cx = OpenContext {
            defaults: &config.topic_defaults,
            fail: &config.fail_points,
            stats: &stats,
            repair: config.repair.then_some(lost_found.as_path()),
            now_ms: now_ms(),
        };
        let topics = load_topics(&layout, cx)?;
        let producer_ids = producer_ids::ProducerIds::open(&layout)?;
        let syncer = Syncer::start().map_err(|e| StorageError::Io {
            context: "start the sync thread".to_owned(),
            source: e,
        })?;
        tracing::info!(
            dir = %layout.root().display(), %cluster_id, topics = topics.len(), "storage open"
        );
        Ok(Storage {
            config,
            layout,
            cluster_id,
            topics: RwLock::new(topics),
            admin: Mutex::new(()),
            deletions: AtomicU64::new(0),
            stats,
            syncer,
            producer_ids,
            _dir_lock: dir_lock,
        })
    }

    fn context(&self) -> OpenContext<'_> {
        OpenContext {
            defaults: &self.config.topic_defaults,
            fail: &self.config.fail_points,
            stats: &self.stats,
            repair: None,
            now_ms: now_ms(),
        }
    }

    /// Opens the durable cursor of the point-to-point queue `name` (acknowledgements and
    /// delivery counts), creating it if new. One cursor per queue: the caller keeps it.
    /// Queue names follow the topic naming rule.
    pub fn queue_cursor(
        &self,
        name: &str,
        limits: CursorLimits,
    ) -> Result<QueueCursor, StorageError> {
        validate_topic_name(name)?;
        QueueCursor::open(&self.layout.queues_dir().join(name), limits)
    }

    /// Storage's counters: appends, bytes, fsyncs and their time.
    pub fn stats(&self) -> StorageStats {
        self.stats.snapshot()
    }

    /// Every topic's log bytes and offsets, sorted by name; internal topics included (the
    /// caller decides what to show). Takes each partition's lock briefly, one at a time.
    pub fn usage(&self) -> Vec<TopicUsage> {
        let topics: Vec<(String, Arc<Topic>)> = self
            .read_topics()
            .iter()
            .map(|(name, topic)| (name.clone(), topic.clone()))
            .collect();
        let mut usage: Vec<TopicUsage> = topics
            .into_iter()
            .map(|(name, topic)| {
                let mut total = TopicUsage {
                    name,
                    partitions: 0,
                    log_bytes: 0,
                    log_start_sum: 0,
                    log_end_sum: 0,
                };
                for partition in topic.partitions() {
                    let (bytes, offsets) = partition.usage();
                    total.partitions += 1;
                    total.log_bytes += bytes;
                    total.log_start_sum += offsets.log_start;
                    total.log_end_sum += offsets.log_end;
                }
                total
            })
            .collect();
        usage.sort_by(|a, b| a.name.cmp(&b.name));
        usage
    }

    /// The failure points storage checks; arm them to test what a fault would do.
    pub fn fail_points(&self) -> &FailPoints {
        &self.config.fail_points
    }

    /// The cluster id generated when the directory was first opened: 22 characters of
    /// URL-safe base64, like Kafka's.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The configuration storage was opened with.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// Every topic, sorted by name.
    pub fn list_topics(&self) -> Vec<TopicInfo> {
        let mut topics: Vec<TopicInfo> = self.read_topics().values().map(|t| t.info()).collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        topics
    }

    /// One topic, if it exists.
    pub fn topic(&self, name: &str) -> Option<TopicInfo> {
        self.read_topics().get(name).map(|t| t.info())
    }

    /// Creates a topic with `partitions` empty partitions and the broker's default settings,
    /// durably.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<TopicInfo, StorageError> {
        self.create_topic_with(name, partitions, &TopicOverrides::new())
    }

    /// Creates a topic with `partitions` empty partitions and the settings in `overrides`
    /// (Kafka's names: `retention.ms`, `segment.bytes`, ...), durably.
    pub fn create_topic_with(
        &self,
        name: &str,
        partitions: u32,
        overrides: &TopicOverrides,
    ) -> Result<TopicInfo, StorageError> {
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_new_topic(name, partitions, overrides)?;
        let dir = self.layout.topic_dir(name);
        // Not a topic (it is not in the map), so a leftover of a failed create: set it aside.
        if fs::symlink_metadata(&dir).is_ok() {
            self.remove_topic_dir(name, &dir)?;
        }
        let topic = Arc::new(Topic::create(
            name,
            &dir,
            partitions,
            overrides,
            self.context(),
        )?);
        let info = topic.info();
        self.write_topics().insert(name.to_owned(), topic);
        tracing::info!(topic = name, partitions, "topic created");
        Ok(info)
    }

    /// Every check [`Storage::create_topic_with`] makes, without creating anything: the name,
    /// the partition count, the settings, and that no topic has the name (Kafka's
    /// `validate_only`).
    pub fn check_new_topic(
        &self,
        name: &str,
        partitions: u32,
        overrides: &TopicOverrides,
    ) -> Result<(), StorageError> {
        validate_topic_name(name)?;
        TopicConfig::resolve(&self.config.topic_defaults, overrides)?
            .check_ceiling(self.config.batch_bytes_max)?;
        if partitions == 0 || partitions > self.config.partitions_max {
            return Err(StorageError::InvalidPartitions {
                requested: partitions,
                max: self.config.partitions_max,
            });
        }
        if self.read_topics().contains_key(name) {
            return Err(StorageError::TopicExists(name.to_owned()));
        }
        Ok(())
    }

    /// Deletes a topic and its data. Watchers of its partitions are woken (their sender is
    /// dropped); calls on it from then on fail with `UnknownTopic`.
    pub fn delete_topic(&self, name: &str) -> Result<(), StorageError> {
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let topic = self.lookup(name)?;
        // Renamed first: after this atomic step no restart can load a half-deleted topic.
        self.remove_topic_dir(name, topic.dir())?;
        self.write_topics().remove(name);
        topic.close();
        tracing::info!(topic = name, "topic deleted");
        Ok(())
    }

    /// Replaces a topic's overrides; settings not named return to the broker default.
    pub fn alter_topic_config(
        &self,
        name: &str,
        overrides: &TopicOverrides,
    ) -> Result<TopicInfo, StorageError> {
        let topic = self.lookup(name)?;
        TopicConfig::resolve(&self.config.topic_defaults, overrides)?
            .check_ceiling(self.config.batch_bytes_max)?;
        topic.set_overrides(&self.config.topic_defaults, overrides)?;
        tracing::info!(topic = name, ?overrides, "topic settings changed");
        Ok(topic.info())
    }

    /// Alters a topic's settings, all or nothing: every change is checked before anything is
    /// written, and with `validate_only` nothing is. `replace` is Kafka's AlterConfigs (the
    /// overrides become exactly what `changes` sets); otherwise IncrementalAlterConfigs
    /// (`Set`, `Delete`, and `Append`/`Subtract` on list settings). Returns the topic as it
    /// is, or would be.
    pub fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[ConfigChange],
        replace: bool,
        validate_only: bool,
    ) -> Result<TopicInfo, StorageError> {
        let topic = self.lookup(name)?;
        let defaults = &self.config.topic_defaults;
        let (config, overrides) = topic.alter_overrides(validate_only, |current| {
            let (config, overrides) =
                topic_config::alter_overrides(current, defaults, changes, replace)?;
            config.check_ceiling(self.config.batch_bytes_max)?;
            Ok((config, overrides))
        })?;
        if !validate_only {
            tracing::info!(topic = name, ?overrides, "topic settings changed");
        }
        Ok(TopicInfo {
            name: name.to_owned(),
            partitions: topic.partition_count(),
            config,
            overrides,
        })
    }

    /// Every setting of a topic: value, source (topic override, broker default, built-in
    /// default), the value without the override, read-only flag and documentation.
    pub fn describe_topic_config(&self, name: &str) -> Result<Vec<ConfigEntry>, StorageError> {
        let info = self.lookup(name)?.info();
        Ok(info
            .config
            .describe(&self.config.topic_defaults, &info.overrides))
    }

    /// Grows a topic to `total` partitions; the existing ones keep their data.
    pub fn add_partitions(&self, name: &str, total: u32) -> Result<TopicInfo, StorageError> {
        if total > self.config.partitions_max {
            return Err(StorageError::InvalidPartitions {
                requested: total,
                max: self.config.partitions_max,
            });
        }
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let topic = self.lookup(name)?;
        topic.add_partitions(total, self.context())?;
        tracing::info!(topic = name, partitions = total, "partitions added");
        Ok(topic.info())
    }

    /// Appends one or more batches to a partition as one unit and returns the offsets
    /// assigned. Under the `fsync` policy the batches become readable, and durable, when the
    /// high watermark passes `last_offset` (see [`Storage::watch`]); under `relaxed`, at once.
    pub fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, StorageError> {
        let topic = self.lookup(topic)?;
        let config = topic.config();
        let partition = topic.partition(partition)?;
        let batch_max = config.max_message_bytes.min(self.config.batch_bytes_max);
        let (result, need) = partition.append(batches, &config, batch_max, now_ms())?;
        self.schedule(&partition, need);
        Ok(result)
    }

    fn schedule(&self, partition: &Arc<Partition>, need: SyncNeed) {
        match need {
            SyncNeed::None => {}
            SyncNeed::Now => self.syncer.sync_soon(partition),
            SyncNeed::Within(ms) => self.syncer.sync_within(partition, ms),
        }
    }

    /// The first batch whose largest timestamp is at least `timestamp` (Kafka's ListOffsets
    /// by time), among visible records; `None` when every record is older.
    pub fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, StorageError> {
        self.lookup(topic)?
            .partition(partition)?
            .offset_for_timestamp(timestamp)
    }

    /// Rolls segments that `segment.ms` says are due and deletes the oldest sealed segments
    /// that `retention.ms` or `retention.bytes` expire, in every partition, as of `now_ms`.
    /// The broker calls it periodically; errors are logged per partition and the pass goes on.
    pub fn enforce_retention(&self, now_ms: i64) -> RetentionReport {
        let topics: Vec<Arc<Topic>> = self.read_topics().values().cloned().collect();
        let mut report = RetentionReport::default();
        for topic in topics {
            let config = topic.config();
            for partition in topic.partitions() {
                match partition.enforce_retention(&config, now_ms) {
                    Ok((segments, bytes)) => {
                        report.segments += segments;
                        report.bytes += bytes;
                    }
                    Err(e) => tracing::error!(error = %e, "retention failed"),
                }
            }
        }
        report
    }

    /// Compacts every partition of every topic whose `cleanup.policy` includes `compact` and
    /// whose dirty part reached `min.cleanable.dirty.ratio` (any dirty part when `force`), as
    /// of `now_ms`. The broker calls it periodically; errors are logged per partition and the
    /// pass goes on.
    pub fn compact(&self, now_ms: i64, force: bool) -> CompactionReport {
        let topics: Vec<Arc<Topic>> = self.read_topics().values().cloned().collect();
        let mut report = CompactionReport::default();
        for topic in topics {
            let config = topic.config();
            if !config.cleanup_policy.compacts() {
                continue;
            }
            for partition in topic.partitions() {
                match partition.compact(&config, now_ms, force) {
                    Ok(done) => report.add(done),
                    Err(e) => tracing::error!(error = %e, "compaction failed"),
                }
            }
        }
        report
    }

    /// Compacts every partition of one topic now, whatever its dirty ratio. `InvalidConfig`
    /// when its `cleanup.policy` does not include `compact`; the first partition error ends
    /// the pass.
    pub fn compact_topic(&self, name: &str, now_ms: i64) -> Result<CompactionReport, StorageError> {
        let topic = self.lookup(name)?;
        let config = topic.config();
        if !config.cleanup_policy.compacts() {
            return Err(StorageError::InvalidConfig {
                name: "cleanup.policy".to_owned(),
                value: config.cleanup_policy.as_str().to_owned(),
                reason: format!("topic `{name}` is not compacted"),
            });
        }
        let mut report = CompactionReport::default();
        for partition in topic.partitions() {
            report.add(partition.compact(&config, now_ms, true)?);
        }
        Ok(report)
    }

    /// Whole batches starting with the one containing `offset` (or, when compaction removed
    /// it, the first after it), up to
    /// `min(max_bytes, read_bytes_max)` bytes but always at least one batch when there is one.
    /// Empty at the log end; `OffsetOutOfRange` below the log start or past the log end.
    pub fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, StorageError> {
        let topic = self.lookup(topic)?;
        topic
            .partition(partition)?
            .read(offset, max_bytes.min(self.config.read_bytes_max))
    }

    /// Kafka's InitProducerId for an idempotent producer. `None` (or a negative id): a new
    /// producer id at epoch 0, never handed out before, across restarts too. `Some((id,
    /// epoch))`: the same id at `epoch + 1`, fencing the producer's older instances; a new id
    /// at epoch 0 once the epoch would pass `i16::MAX`. `InvalidProducerIdMapping` for an id
    /// this broker never allocated.
    pub fn init_producer_id(
        &self,
        current: Option<(i64, i16)>,
    ) -> Result<(i64, i16), StorageError> {
        self.producer_ids.init(current)
    }

    /// Kafka's DeleteRecords: makes every record below `offset` unreadable by raising the
    /// partition's log start to it, durably, and deletes the whole segments below it.
    /// [`DELETE_TO_HIGH_WATERMARK`] (-1) means the high watermark; above the high watermark is
    /// `OffsetOutOfRange`; at or below the log start changes nothing. Returns the log start.
    /// Refused with `InvalidConfig` on a topic whose `cleanup.policy` leaves out `delete`, as
    /// Kafka refuses it (`POLICY_VIOLATION`): such a log is only ever compacted.
    pub fn delete_records(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
    ) -> Result<i64, StorageError> {
        let topic = self.lookup(topic)?;
        let policy = topic.config().cleanup_policy;
        if !policy.deletes() {
            return Err(StorageError::InvalidConfig {
                name: "cleanup.policy".to_owned(),
                value: policy.as_str().to_owned(),
                reason: "records of a topic that is only compacted cannot be deleted".to_owned(),
            });
        }
        topic.partition(partition)?.delete_records(offset)
    }

    /// The bounds of a partition's log.
    pub fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, StorageError> {
        self.lookup(topic)?.partition(partition)?.offsets()
    }

    /// A receiver of the partition's high watermark, updated as records become visible. It
    /// reports the sender closed once the topic is deleted or the partition failed, which wakes
    /// anyone waiting on it.
    pub fn watch(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<tokio::sync::watch::Receiver<i64>, StorageError> {
        self.lookup(topic)?.partition(partition)?.watch()
    }

    /// Fsyncs every partition's log and raises every high watermark to its log end. Called at
    /// shutdown (and by anyone wanting a durability point); every partition is attempted, the
    /// first error is returned.
    pub fn flush(&self) -> Result<(), StorageError> {
        let topics: Vec<Arc<Topic>> = self.read_topics().values().cloned().collect();
        let mut first_error = None;
        for partition in topics.iter().flat_map(|t| t.partitions()) {
            if let Err(e) = partition.sync_now() {
                tracing::error!(error = %e, "flush failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn lookup(&self, name: &str) -> Result<Arc<Topic>, StorageError> {
        self.read_topics()
            .get(name)
            .cloned()
            .ok_or_else(|| StorageError::UnknownTopic(name.to_owned()))
    }

    /// Moves `dir` into `deleted/`, then removes it. Failing to remove is only logged: the
    /// topic is already gone from `topics/`, and the next open empties `deleted/`.
    fn remove_topic_dir(&self, name: &str, dir: &std::path::Path) -> Result<(), StorageError> {
        let unique = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            + u128::from(self.deletions.fetch_add(1, Ordering::Relaxed));
        let deleted = self.layout.deleted_topic_dir(name, unique);
        fs::rename(dir, &deleted).map_err(io_error("move to deleted/", dir))?;
        meta::sync_parent(dir)?;
        if let Err(e) = fs::remove_dir_all(&deleted) {
            tracing::warn!(dir = %deleted.display(), error = %e, "cannot remove deleted topic");
        }
        Ok(())
    }

    /// The map is only written by create and delete, which cannot leave it half-updated, so a
    /// poisoned lock still guards a consistent map.
    fn read_topics(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_topics(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Topic>>> {
        self.topics.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wall clock in milliseconds since the Unix epoch, Kafka's LogAppendTime.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lock_dir(layout: &Layout) -> Result<File, StorageError> {
    let path = layout.lock_file();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error("open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StorageError::Io {
            context: format!("lock {}", path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "the data directory is in use by another storage instance",
            ),
        }),
        Err(TryLockError::Error(e)) => Err(io_error("lock", &path)(e)),
    }
}

/// Removes what deletes left behind in `deleted/` (a crash between rename and removal).
fn empty_deleted_dir(layout: &Layout) -> Result<(), StorageError> {
    let dir = layout.deleted_dir();
    for entry in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
        let path = entry.map_err(io_error("list", &dir))?.path();
        tracing::info!(dir = %path.display(), "removing remains of a deleted topic");
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(io_error("remove", &path))?;
    }
    Ok(())
}

/// Loads every topic under `topics/`. Entries that are not valid topic names are skipped with
/// a warning; a topic directory without `topic.toml` (an unfinished create) is removed.
fn load_topics(
    layout: &Layout,
    cx: OpenContext<'_>,
) -> Result<HashMap<String, Arc<Topic>>, StorageError> {
    let dir = layout.topics_dir();
    let mut topics = HashMap::new();
    for entry in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
        let entry = entry.map_err(io_error("list", &dir))?;
        let path = entry.path();
        let name = match entry.file_name().into_string() {
            Ok(name) if validate_topic_name(&name).is_ok() && path.is_dir() => name,
            _ => {
                tracing::warn!(path = %path.display(), "ignoring entry that is not a topic");
                continue;
            }
        };
        match Topic::load(&name, &path, cx)? {
            Some(topic) => {
                topics.insert(name, Arc::new(topic));
            }
            None => {
                tracing::warn!(topic = name, "removing topic whose creation did not finish");
                fs::remove_dir_all(&path).map_err(io_error("remove", &path))?;
            }
        }
    }
    Ok(topics)
}
