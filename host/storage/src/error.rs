//! The one error type of the storage boundary. The broker maps each variant onto the WIT
//! `error-code` of the same name (`Io` and `CorruptMeta` become `storage`).

use std::path::PathBuf;

/// Why a storage operation failed.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum StorageError {
    /// No topic of that name exists.
    #[error("unknown topic `{0}`")]
    UnknownTopic(String),
    /// The topic exists but has no partition with that index.
    #[error("topic `{topic}` has no partition {partition}")]
    UnknownPartition {
        /// The topic asked for.
        topic: String,
        /// The partition index asked for.
        partition: u32,
    },
    /// `create_topic` named a topic that already exists.
    #[error("topic `{0}` already exists")]
    TopicExists(String),
    /// The name breaks Kafka's topic naming rule.
    #[error("invalid topic name `{name}`: {reason}")]
    InvalidTopic {
        /// The name as given.
        name: String,
        /// Which part of the rule it breaks.
        reason: String,
    },
    /// A partition count of zero or above `StorageConfig::partitions_max`.
    #[error("invalid partition count {requested}: must be 1..={max}")]
    InvalidPartitions {
        /// The count asked for.
        requested: u32,
        /// The configured limit.
        max: u32,
    },
    /// A read below the log start or above the log end.
    #[error("offset {offset} out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: i64,
        /// First readable offset.
        log_start: i64,
        /// Offset the next record will get.
        log_end: i64,
    },
    /// One batch is above the topic's `max.message.bytes` (itself capped by
    /// `StorageConfig::batch_bytes_max`).
    #[error("record batch of {bytes} bytes is above the limit of {max}")]
    RecordTooLarge {
        /// Size of the offending batch, header included.
        bytes: u64,
        /// The configured limit.
        max: u32,
    },
    /// A well-formed batch holding a record the topic refuses (a record without a key on a
    /// compacted topic), or records that cannot be read (hostile lengths, a compressed
    /// payload that does not decompress or decompresses past the limit); nothing was appended.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Bytes that are not valid Kafka v2 record batches; nothing was appended.
    #[error("corrupt record batch: {0}")]
    CorruptBatch(String),
    /// The operating system refused a file operation.
    #[error("{context}: {source}")]
    Io {
        /// What storage was doing, with the path involved.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A topic setting with an unknown name or an invalid value.
    #[error("invalid value `{value}` for topic setting `{name}`: {reason}")]
    InvalidConfig {
        /// The setting.
        name: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A sealed segment (one that was fsynced and closed) is damaged. Storage does not start
    /// and changes nothing; opening with `repair` cuts the log there instead.
    #[error(
        "corrupt sealed segment {} at byte {position}: {reason}. Nothing was changed; \
         to cut the partition's log there (what follows is kept in lost+found/), run \
         `sluice repair --data-dir <dir>`",
        path.display()
    )]
    CorruptSegment {
        /// The segment's log file.
        path: PathBuf,
        /// First byte of the first invalid batch.
        position: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A metadata file (`meta.toml`, `topic.toml`) or the directory layout is not what this
    /// version wrote; storage refuses to guess.
    #[error("corrupt metadata in {}: {reason}", path.display())]
    CorruptMeta {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A queue cursor would grow past one of its `CursorLimits`; nothing was changed. Acks
    /// that close gaps, and deliveries of offsets already counted, still succeed.
    #[error("queue cursor in {} is full: {what} at the limit of {max}", dir.display())]
    CursorFull {
        /// The cursor's directory.
        dir: PathBuf,
        /// What reached its limit: acknowledged ranges or delivery counts.
        what: &'static str,
        /// The configured limit.
        max: usize,
    },
    /// An idempotent producer's batch under an epoch older than the one storage last saw for
    /// its id: a newer instance of the producer took over (Kafka's `INVALID_PRODUCER_EPOCH`,
    /// the producer is fenced). Nothing was appended.
    #[error(
        "producer {producer_id} is fenced: its epoch {epoch} is older than the current epoch {current}"
    )]
    InvalidProducerEpoch {
        /// The producer id in the batch.
        producer_id: i64,
        /// The epoch in the batch.
        epoch: i16,
        /// The newest epoch storage knows for that id.
        current: i16,
    },
    /// An idempotent producer's batch whose sequence number does not follow the producer's
    /// last batch, so records were lost in between (Kafka's `OUT_OF_ORDER_SEQUENCE_NUMBER`).
    /// Nothing was appended.
    #[error(
        "out-of-order sequence from producer {producer_id} (epoch {epoch}): the batch starting \
         at sequence {first_sequence} {reason}"
    )]
    OutOfOrderSequence {
        /// The producer id in the batch.
        producer_id: i64,
        /// The epoch in the batch.
        epoch: i16,
        /// The batch's base sequence.
        first_sequence: i32,
        /// What was expected instead.
        reason: String,
    },
    /// `init_producer_id` was asked to bump the epoch of a producer id storage never handed
    /// out (Kafka's `INVALID_PRODUCER_ID_MAPPING`).
    #[error("producer id {0} was never allocated by this broker")]
    InvalidProducerIdMapping(i64),
}

/// Wraps an I/O error with what storage was doing: `.map_err(io_error("open", &path))`.
pub(crate) fn io_error(
    action: &str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> StorageError {
    let context = format!("{action} {}", path.display());
    move |source| StorageError::Io { context, source }
}
