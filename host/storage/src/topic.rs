//! One topic: its directory and its partitions. Creation and deletion are ordered so that a
//! crash at any point leaves either a whole topic or none that loads:
//! create writes every partition first and `topic.toml` last; delete first renames the whole
//! directory out of `topics/`, then removes it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::io_error;
use crate::layout;
use crate::meta;
use crate::partition::Partition;
use crate::{StorageError, TopicInfo};

/// A topic and its open partitions.
#[derive(Debug)]
pub struct Topic {
    name: String,
    dir: PathBuf,
    partitions: Vec<Partition>,
}

impl Topic {
    /// Creates the topic's files in the new directory `dir` and opens it. On failure the
    /// partial directory is removed (best effort; `Storage::open` removes what remains).
    pub fn create(name: &str, dir: &Path, partitions: u32) -> Result<Topic, StorageError> {
        let created = Self::create_files(dir, partitions);
        if let Err(e) = created {
            if let Err(cleanup) = fs::remove_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %cleanup, "cannot remove partial topic");
            }
            return Err(e);
        }
        Self::open(name, dir, partitions)
    }

    fn create_files(dir: &Path, partitions: u32) -> Result<(), StorageError> {
        fs::create_dir(dir).map_err(io_error("create directory", dir))?;
        for partition in 0..partitions {
            Partition::create(&layout::partition_dir(dir, partition))?;
        }
        meta::sync_dir(dir)?;
        // The commit point: from here on the topic loads at open.
        meta::write_topic(dir, partitions)?;
        meta::sync_parent(dir)
    }

    /// Loads the topic in `dir`, recovering every partition; `None` when the directory holds
    /// no `topic.toml`, i.e. a create that never finished.
    pub fn load(name: &str, dir: &Path) -> Result<Option<Topic>, StorageError> {
        match meta::read_topic(dir)? {
            Some(partitions) => Self::open(name, dir, partitions).map(Some),
            None => Ok(None),
        }
    }

    fn open(name: &str, dir: &Path, partitions: u32) -> Result<Topic, StorageError> {
        let partitions = (0..partitions)
            .map(|partition| Partition::open(name, &layout::partition_dir(dir, partition)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Topic {
            name: name.to_owned(),
            dir: dir.to_owned(),
            partitions,
        })
    }

    /// Name and partition count.
    pub fn info(&self) -> TopicInfo {
        TopicInfo {
            name: self.name.clone(),
            partitions: self.partition_count(),
        }
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> u32 {
        // Created from a u32 count.
        self.partitions.len() as u32
    }

    /// The topic's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One partition, or `UnknownPartition`.
    pub fn partition(&self, partition: u32) -> Result<&Partition, StorageError> {
        usize::try_from(partition)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .ok_or_else(|| StorageError::UnknownPartition {
                topic: self.name.clone(),
                partition,
            })
    }

    /// Every partition, in order.
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// Marks every partition deleted, waking their watchers.
    pub fn close(&self) {
        for partition in &self.partitions {
            partition.close();
        }
    }
}
