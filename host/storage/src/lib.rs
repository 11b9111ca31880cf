//! Sluice's storage: topics of partitions, each partition an append-only log of Kafka v2
//! record batches under a data directory, recovered at open after a crash.
//!
//! **Architecture Invariant:** storage knows nothing of plugins, wasm, sockets or protocols.
//! It stores batches exactly as produced (apart from the base offset and leader epoch it owns)
//! and never decompresses them.
//!
//! Flow, in module order: [`Storage`] (this file, the facade the broker shares as
//! `Arc<Storage>`) → `names` (topic names) → `topic` (create, load, delete ordering) →
//! `partition` (append, read, watch) → `batch` (header parse and validation, no I/O) →
//! `index` (sparse offset index) → `recovery` (scan and truncate at open) → `meta` and
//! `layout` (metadata files and paths).
//!
//! Durability in v0: an append is in the OS page cache when it returns, so it survives a
//! broker crash but not a power loss; only [`Storage::flush`] fsyncs logs. Topic creation and
//! deletion are crash-safe and durable when they return.

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]
#![warn(missing_docs)]

mod batch;
mod config;
mod error;
mod index;
mod layout;
mod meta;
mod names;
mod partition;
mod recovery;
mod topic;

use std::collections::HashMap;
use std::fs::{self, File, TryLockError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

pub use config::{
    AppendResult, BATCH_BYTES_MAX_DEFAULT, PARTITIONS_MAX_DEFAULT, PartitionOffsets,
    READ_BYTES_MAX_DEFAULT, ReadResult, StorageConfig, TopicInfo,
};
pub use error::StorageError;
pub use names::{TOPIC_NAME_BYTES_MAX, validate_topic_name};

use error::io_error;
use layout::Layout;
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
    /// Held (flock) for the life of this value so two brokers never share a directory.
    _dir_lock: File,
}

impl Storage {
    /// Opens the data directory, creating it if missing, and loads and recovers every topic.
    /// Fails if another `Storage` (in this or another process) has it open.
    pub fn open(config: StorageConfig) -> Result<Storage, StorageError> {
        let layout = Layout::new(config.dir.clone());
        fs::create_dir_all(layout.root()).map_err(io_error("create directory", layout.root()))?;
        let dir_lock = lock_dir(&layout)?;
        for dir in [layout.topics_dir(), layout.deleted_dir()] {
            fs::create_dir_all(&dir).map_err(io_error("create directory", &dir))?;
        }
        let cluster_id = meta::load_or_init_cluster_id(&layout)?;
        empty_deleted_dir(&layout)?;
        let topics = load_topics(&layout)?;
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
            _dir_lock: dir_lock,
        })
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

    /// Creates a topic with `partitions` empty partitions, durably.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<TopicInfo, StorageError> {
        validate_topic_name(name)?;
        if partitions == 0 || partitions > self.config.partitions_max {
            return Err(StorageError::InvalidPartitions {
                requested: partitions,
                max: self.config.partitions_max,
            });
        }
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        if self.read_topics().contains_key(name) {
            return Err(StorageError::TopicExists(name.to_owned()));
        }
        let dir = self.layout.topic_dir(name);
        // Not a topic (it is not in the map), so a leftover of a failed create: set it aside.
        if fs::symlink_metadata(&dir).is_ok() {
            self.remove_topic_dir(name, &dir)?;
        }
        let topic = Arc::new(Topic::create(name, &dir, partitions)?);
        let info = topic.info();
        self.write_topics().insert(name.to_owned(), topic);
        tracing::info!(topic = name, partitions, "topic created");
        Ok(info)
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

    /// Appends one or more batches to a partition as one unit and returns the offsets
    /// assigned. The batches are readable when this returns.
    pub fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, StorageError> {
        let topic = self.lookup(topic)?;
        topic
            .partition(partition)?
            .append(batches, self.config.batch_bytes_max, now_ms())
    }

    /// Whole batches starting with the one containing `offset`, up to
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

    /// The bounds of a partition's log.
    pub fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, StorageError> {
        self.lookup(topic)?.partition(partition)?.offsets()
    }

    /// A receiver of the partition's log end, updated after every append. It reports the
    /// sender closed once the topic is deleted, which wakes anyone waiting on it.
    pub fn watch(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<tokio::sync::watch::Receiver<i64>, StorageError> {
        self.lookup(topic)?.partition(partition)?.watch()
    }

    /// Fsyncs every partition's log. Called at shutdown (and by anyone wanting a durability
    /// point); every partition is attempted, the first error is returned.
    pub fn flush(&self) -> Result<(), StorageError> {
        let topics: Vec<Arc<Topic>> = self.read_topics().values().cloned().collect();
        let mut first_error = None;
        for partition in topics.iter().flat_map(|t| t.partitions()) {
            if let Err(e) = partition.flush() {
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
fn load_topics(layout: &Layout) -> Result<HashMap<String, Arc<Topic>>, StorageError> {
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
        match Topic::load(&name, &path)? {
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
