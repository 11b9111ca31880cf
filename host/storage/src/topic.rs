//! One topic: its directory, its settings and its partitions. Creation and deletion are
//! ordered so that a crash at any point leaves either a whole topic or none that loads:
//! create writes every partition first and `topic.toml` last; delete first renames the whole
//! directory out of `topics/`, then removes it. Adding partitions likewise creates them first
//! and rewrites `topic.toml` last; partition directories beyond its count are leftovers.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use crate::error::io_error;
use crate::partition::{OpenContext, Partition};
use crate::topic_config::{TopicConfig, TopicOverrides};
use crate::{StorageError, TopicInfo};
use crate::{layout, meta};

/// A topic and its open partitions.
#[derive(Debug)]
pub struct Topic {
    name: String,
    dir: PathBuf,
    partitions: RwLock<Vec<Arc<Partition>>>,
    config: RwLock<(TopicConfig, TopicOverrides)>,
}

impl Topic {
    /// Creates the topic's files in the new directory `dir` and opens it. On failure the
    /// partial directory is removed (best effort; `Storage::open` removes what remains).
    pub fn create(
        name: &str,
        dir: &Path,
        partitions: u32,
        overrides: &TopicOverrides,
        cx: OpenContext<'_>,
    ) -> Result<Topic, StorageError> {
        let config = TopicConfig::resolve(cx.defaults, overrides)?;
        let created = Self::create_files(name, dir, partitions, overrides, &config, cx);
        match created {
            Ok(parts) => Ok(Topic {
                name: name.to_owned(),
                dir: dir.to_owned(),
                partitions: RwLock::new(parts),
                config: RwLock::new((config, overrides.clone())),
            }),
            Err(e) => {
                if let Err(cleanup) = fs::remove_dir_all(dir) {
                    tracing::warn!(dir = %dir.display(), error = %cleanup, "cannot remove partial topic");
                }
                Err(e)
            }
        }
    }

    fn create_files(
        name: &str,
        dir: &Path,
        partitions: u32,
        overrides: &TopicOverrides,
        config: &TopicConfig,
        cx: OpenContext<'_>,
    ) -> Result<Vec<Arc<Partition>>, StorageError> {
        fs::create_dir(dir).map_err(io_error("create directory", dir))?;
        let parts = (0..partitions)
            .map(|p| {
                Partition::create(name, p, &layout::partition_dir(dir, p), config, cx).map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        meta::sync_dir(dir)?;
        // The commit point: from here on the topic loads at open.
        meta::write_topic(dir, partitions, overrides)?;
        meta::sync_parent(dir)?;
        Ok(parts)
    }

    /// Loads the topic in `dir`, recovering every partition; `None` when the directory holds
    /// no `topic.toml`, i.e. a create that never finished.
    pub fn load(
        name: &str,
        dir: &Path,
        cx: OpenContext<'_>,
    ) -> Result<Option<Topic>, StorageError> {
        let Some((count, overrides)) = meta::read_topic(dir)? else {
            return Ok(None);
        };
        let config = TopicConfig::resolve(cx.defaults, &overrides).map_err(|e| {
            StorageError::CorruptMeta {
                path: layout::topic_meta_file(dir),
                reason: e.to_string(),
            }
        })?;
        remove_extra_partitions(dir, count)?;
        let partitions = (0..count)
            .map(|p| {
                let lost_found = cx.repair.map(|root| root.join(name).join(p.to_string()));
                let partition_dir = layout::partition_dir(dir, p);
                if !partition_dir.is_dir() {
                    return Err(StorageError::CorruptMeta {
                        path: partition_dir,
                        reason: format!("partition directory missing ({count} in topic.toml)"),
                    });
                }
                Partition::open(name, p, &partition_dir, &config, cx, lost_found.as_deref())
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Topic {
            name: name.to_owned(),
            dir: dir.to_owned(),
            partitions: RwLock::new(partitions),
            config: RwLock::new((config, overrides)),
        }))
    }

    /// Name, partition count and settings.
    pub fn info(&self) -> TopicInfo {
        let (config, overrides) = self
            .config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        TopicInfo {
            name: self.name.clone(),
            partitions: self.partition_count(),
            config,
            overrides,
        }
    }

    /// The effective settings.
    pub fn config(&self) -> TopicConfig {
        self.config.read().unwrap_or_else(PoisonError::into_inner).0
    }

    /// Replaces the overrides (validated against `defaults`), durably.
    pub fn set_overrides(
        &self,
        defaults: &TopicConfig,
        overrides: &TopicOverrides,
    ) -> Result<(), StorageError> {
        let config = TopicConfig::resolve(defaults, overrides)?;
        let mut guard = self.config.write().unwrap_or_else(PoisonError::into_inner);
        meta::write_topic(&self.dir, self.partition_count(), overrides)?;
        *guard = (config, overrides.clone());
        Ok(())
    }

    /// Replaces the overrides with what `change` makes of the current ones (it returns the
    /// settings and overrides, checked), durably unless `validate_only`. The write lock is held
    /// throughout, so concurrent alterations apply one after the other.
    pub fn alter_overrides(
        &self,
        validate_only: bool,
        change: impl FnOnce(&TopicOverrides) -> Result<(TopicConfig, TopicOverrides), StorageError>,
    ) -> Result<(TopicConfig, TopicOverrides), StorageError> {
        let mut guard = self.config.write().unwrap_or_else(PoisonError::into_inner);
        let (config, overrides) = change(&guard.1)?;
        if !validate_only {
            meta::write_topic(&self.dir, self.partition_count(), &overrides)?;
            *guard = (config, overrides.clone());
        }
        Ok((config, overrides))
    }

    /// Grows the topic to `total` partitions, durably. Existing partitions are untouched.
    pub fn add_partitions(&self, total: u32, cx: OpenContext<'_>) -> Result<(), StorageError> {
        let (config, overrides) = self
            .config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut parts = self
            .partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let current = parts.len() as u32;
        if total <= current {
            return Err(StorageError::InvalidPartitions {
                requested: total,
                max: current,
            });
        }
        remove_extra_partitions(&self.dir, current)?;
        let mut added = Vec::new();
        for p in current..total {
            added.push(Arc::new(Partition::create(
                &self.name,
                p,
                &layout::partition_dir(&self.dir, p),
                &config,
                cx,
            )?));
        }
        meta::sync_dir(&self.dir)?;
        meta::write_topic(&self.dir, total, &overrides)?;
        parts.extend(added);
        Ok(())
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> u32 {
        // Created from a u32 count.
        self.partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len() as u32
    }

    /// The topic's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One partition, or `UnknownPartition`.
    pub fn partition(&self, partition: u32) -> Result<Arc<Partition>, StorageError> {
        usize::try_from(partition)
            .ok()
            .and_then(|i| {
                self.partitions
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(i)
                    .cloned()
            })
            .ok_or_else(|| StorageError::UnknownPartition {
                topic: self.name.clone(),
                partition,
            })
    }

    /// Every partition, in order.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Marks every partition deleted, waking their watchers.
    pub fn close(&self) {
        for partition in self.partitions() {
            partition.close();
        }
    }
}

/// Partition directories numbered `count` or above: an add-partitions that did not commit.
fn remove_extra_partitions(dir: &Path, count: u32) -> Result<(), StorageError> {
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let extra = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|p| p >= count);
        if extra {
            let path = entry.path();
            tracing::warn!(dir = %path.display(), "removing a partition whose creation did not finish");
            fs::remove_dir_all(&path).map_err(io_error("remove", &path))?;
        }
    }
    Ok(())
}
