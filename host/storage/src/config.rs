//! What the broker configures, and the values storage hands back. Plain data, no behaviour.

use std::path::PathBuf;

use crate::failpoint::FailPoints;
use crate::topic_config::{TopicConfig, TopicOverrides};

/// Kafka's default `num.partitions` ceiling is effectively unbounded; 1024 keeps the number of
/// open files and the time to create a topic bounded on a single broker.
pub const PARTITIONS_MAX_DEFAULT: u32 = 1024;

/// Kafka's `message.max.bytes` default: 1 MiB of records plus the 12-byte log overhead
/// (base offset and length), so a batch Kafka accepts is accepted here.
pub const BATCH_BYTES_MAX_DEFAULT: u32 = 1_048_588;

/// Bounds one read's allocation; a Kafka fetch asks for up to 50 MiB in total, but per
/// partition its default `max.partition.fetch.bytes` is 1 MiB, so 16 MiB leaves ample room.
pub const READ_BYTES_MAX_DEFAULT: u32 = 16 * 1024 * 1024;

/// How storage is set up. Changing a limit between runs never invalidates data already stored.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The data directory; created at open if missing.
    pub dir: PathBuf,
    /// The most partitions `create_topic` accepts for one topic.
    pub partitions_max: u32,
    /// The largest batch `append` accepts, header included.
    pub batch_bytes_max: u32,
    /// The most bytes one `read` returns, unless the first batch alone is bigger.
    pub read_bytes_max: u32,
    /// Settings of every topic that does not override them.
    pub topic_defaults: TopicConfig,
    /// Failure points for tests; shared, so a test can arm them after open.
    pub fail_points: FailPoints,
    /// Open in repair mode: a corrupt sealed segment is cut at its first invalid batch, and
    /// what follows is moved to `lost+found/`, instead of failing the open.
    pub repair: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            dir: PathBuf::from("./sluice-data"),
            partitions_max: PARTITIONS_MAX_DEFAULT,
            batch_bytes_max: BATCH_BYTES_MAX_DEFAULT,
            read_bytes_max: READ_BYTES_MAX_DEFAULT,
            topic_defaults: TopicConfig::default(),
            fail_points: FailPoints::default(),
            repair: false,
        }
    }
}

/// A topic, its partition count and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic's name.
    pub name: String,
    /// How many partitions it has, numbered from 0.
    pub partitions: u32,
    /// Effective settings.
    pub config: TopicConfig,
    /// The settings set on this topic (the rest are broker defaults).
    pub overrides: TopicOverrides,
}

/// The bounds of one partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// The first offset still readable.
    pub log_start: i64,
    /// The offset the next appended record will get.
    pub log_end: i64,
    /// The end of what readers see: under `fsync`, what is on disk; under `relaxed`, the log
    /// end.
    pub high_watermark: i64,
}

/// The answer to a time lookup: the first batch whose largest timestamp is at least the one
/// asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// The batch's base offset.
    pub offset: i64,
    /// The batch's largest timestamp.
    pub timestamp: i64,
}

/// What a retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Segments deleted.
    pub segments: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What a compaction pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Partitions a pass ran on (dirty enough, or forced).
    pub partitions_cleaned: u64,
    /// Records dropped: superseded, expired tombstones, keyless.
    pub records_removed: u64,
    /// Bytes the rewritten segments shrank by.
    pub bytes_freed: u64,
}

impl CompactionReport {
    /// Adds another pass's counts to these.
    pub fn add(&mut self, other: CompactionReport) {
        self.partitions_cleaned += other.partitions_cleaned;
        self.records_removed += other.records_removed;
        self.bytes_freed += other.bytes_freed;
    }
}

/// What `append` assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Offset of the first record of the first batch appended.
    pub base_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// The partition's log start after the append.
    pub log_start: i64,
    /// Wall clock at the append, milliseconds since the Unix epoch.
    pub append_time_ms: i64,
    /// The high watermark right after the append. Below `last_offset + 1` the write is not
    /// yet durable under the `fsync` policy: wait on `Storage::watch` until it passes.
    pub high_watermark: i64,
    /// The batches were a retry of an idempotent producer's append: nothing was written, and
    /// the offsets are those the original append got.
    pub duplicate: bool,
}

/// What `read` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Whole batches back to back, as stored; the first contains the requested offset. Empty
    /// when the offset is the log end.
    pub batches: bytes::Bytes,
    /// Bounds of the partition at the time of the read.
    pub offsets: PartitionOffsets,
}
