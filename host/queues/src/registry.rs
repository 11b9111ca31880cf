//! The registry file: every address and every durable queue, so they come back after a
//! restart. `<data dir>/queues/registry.toml`, beside the queue cursors storage keeps there.
//!
//! Written whole on every change, atomically: a temporary file, fsynced, renamed over the old
//! one, the directory fsynced. A crash leaves the old registry or the new one, never a mix.
//! Changes are rare (a queue or address created or deleted), so rewriting is cheap.
//!
//! Fields added since the format's first version are optional, so older files still load.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sluice_storage::StorageError;

use crate::QueuesError;
use crate::error::io_error;
use crate::policy::FilterRef;
use crate::types::RoutingType;

/// Version of the file; an unknown one is refused rather than guessed at.
const FORMAT_VERSION: u32 = 1;
/// Storage's directory of queue cursors, under its data directory.
const QUEUES_DIR: &str = "queues";
const FILE: &str = "registry.toml";
const TEMP_FILE: &str = "registry.toml.tmp";

/// The file's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegistryFile {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The next queue or address id: ids are never reused, so no new queue meets the
    /// leftovers of an old one.
    pub next_id: u64,
    /// Every address but temporary ones.
    #[serde(default, rename = "address")]
    pub addresses: Vec<AddressRecord>,
    /// Every durable queue.
    #[serde(default, rename = "queue")]
    pub queues: Vec<QueueRecord>,
}

/// One address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressRecord {
    /// Its name.
    pub name: String,
    /// Its id, naming its internal log if it has one.
    pub id: u64,
    /// Its routing types.
    pub routing: Vec<RoutingType>,
    /// The storage topic of its multicast log, if it has one.
    #[serde(default)]
    pub log: Option<String>,
}

/// One durable queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueueRecord {
    /// Its address.
    pub address: String,
    /// Its name.
    pub name: String,
    /// Its id, naming its log or cursors.
    pub id: u64,
    /// Anycast or multicast.
    pub routing: RoutingType,
    /// See `QueueConfig::exclusive`.
    pub exclusive: bool,
    /// See `QueueConfig::max_consumers`.
    pub max_consumers: i32,
    /// See `QueueConfig::purge_on_no_consumers`.
    pub purge_on_no_consumers: bool,
    /// See `QueueConfig::filter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterRef>,
    /// See `QueueConfig::last_value_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value_key: Option<String>,
    /// See `QueueConfig::ring_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_size: Option<u64>,
}

/// Where the registry lives under storage's data directory.
#[derive(Debug, Clone)]
pub struct RegistryPath {
    dir: PathBuf,
}

impl RegistryPath {
    /// The registry of the storage whose data directory is `data_dir`.
    pub fn new(data_dir: &Path) -> RegistryPath {
        RegistryPath {
            dir: data_dir.join(QUEUES_DIR),
        }
    }

    /// The directory storage keeps queue cursors in (each `<dir>/<cursor name>/`).
    pub fn cursors_dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the registry; an empty one when there is no file yet.
    pub fn load(&self) -> Result<RegistryFile, QueuesError> {
        let path = self.dir.join(FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RegistryFile {
                    version: FORMAT_VERSION,
                    ..RegistryFile::default()
                });
            }
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        let file: RegistryFile = toml::from_str(&text).map_err(|e| corrupt(&path, e))?;
        if file.version != FORMAT_VERSION {
            return Err(corrupt(
                &path,
                format!("version {} where {FORMAT_VERSION} is known", file.version),
            ));
        }
        Ok(file)
    }

    /// Replaces the registry with `file`, durably.
    pub fn save(&self, file: &RegistryFile) -> Result<(), QueuesError> {
        let text = toml::to_string(file)
            .map_err(|e| corrupt(&self.dir.join(FILE), format!("cannot encode: {e}")))?;
        fs::create_dir_all(&self.dir).map_err(io_error("create directory", &self.dir))?;
        let temp = self.dir.join(TEMP_FILE);
        let mut out = File::create(&temp).map_err(io_error("create", &temp))?;
        out.write_all(text.as_bytes())
            .map_err(io_error("write", &temp))?;
        out.sync_all().map_err(io_error("fsync", &temp))?;
        let path = self.dir.join(FILE);
        fs::rename(&temp, &path).map_err(io_error("rename into place", &path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("fsync", &self.dir))
    }
}

fn corrupt(path: &Path, reason: impl ToString) -> QueuesError {
    QueuesError::Storage(StorageError::CorruptMeta {
        path: path.to_owned(),
        reason: reason.to_string(),
    })
}

impl RegistryFile {
    /// A registry at the current format version.
    pub fn new(next_id: u64) -> RegistryFile {
        RegistryFile {
            version: FORMAT_VERSION,
            next_id,
            addresses: Vec::new(),
            queues: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_registry_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = RegistryPath::new(dir.path());
        assert_eq!(path.load().unwrap(), RegistryFile::new(0));
        let mut file = RegistryFile::new(9);
        file.addresses.push(AddressRecord {
            name: "orders.eu".into(),
            id: 1,
            routing: vec![RoutingType::Anycast, RoutingType::Multicast],
            log: Some("orders.eu".into()),
        });
        file.queues.push(QueueRecord {
            address: "orders.eu".into(),
            name: "q 1".into(),
            id: 2,
            routing: RoutingType::Anycast,
            exclusive: true,
            max_consumers: -1,
            purge_on_no_consumers: false,
            filter: Some(FilterRef::selector("a = 1")),
            last_value_key: Some("k".into()),
            ring_size: Some(5),
        });
        path.save(&file).unwrap();
        path.save(&file).unwrap();
        assert_eq!(path.load().unwrap(), file);
        assert!(!dir.path().join("queues").join(TEMP_FILE).exists());
    }

    #[test]
    fn a_registry_written_before_queue_policies_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = RegistryPath::new(dir.path());
        fs::create_dir_all(dir.path().join("queues")).unwrap();
        fs::write(
            dir.path().join("queues").join(FILE),
            "version = 1\nnext-id = 3\n\n[[queue]]\naddress = \"a\"\nname = \"q\"\nid = 2\n\
             routing = \"anycast\"\nexclusive = false\nmax-consumers = -1\n\
             purge-on-no-consumers = false\n",
        )
        .unwrap();
        let file = path.load().unwrap();
        let q = &file.queues[0];
        assert_eq!(
            (&q.filter, &q.last_value_key, q.ring_size),
            (&None, &None, None)
        );
    }

    #[test]
    fn a_damaged_registry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = RegistryPath::new(dir.path());
        fs::create_dir_all(dir.path().join("queues")).unwrap();
        fs::write(
            dir.path().join("queues").join(FILE),
            "version = 7\nnext-id = 0\n",
        )
        .unwrap();
        assert!(matches!(
            path.load(),
            Err(QueuesError::Storage(StorageError::CorruptMeta { .. }))
        ));
    }
}
