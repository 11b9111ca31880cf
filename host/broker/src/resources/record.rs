//! The last-applied record, as `kubectl apply` keeps one per object: what the broker applied
//! from the resources file, in `<data-dir>/resources/applied.toml`. A resource in the record
//! that leaves the file is deleted; a topic setting in the record that leaves its topic's
//! `config` goes back to the default. Resources the file never declared are not in it, and
//! are left alone.
//!
//! Users are recorded by name only: a password never reaches the disk through here.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec::{AddressSpec, PluginSpec, QueueSpec, TopicSpec};

/// The record's directory under the data directory.
pub const RECORD_DIR: &str = "resources";
/// The record's file name.
pub const RECORD_FILE: &str = "applied.toml";

const HEADER: &str = "# What sluice applied from its resources file: a resource listed here \
that leaves the file is\n# deleted at the next apply. Written by the broker; remove the file \
to forget (nothing is deleted then).\n\n";

/// What the file applied, by each kind's name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Topics, with the settings the file set.
    pub topics: BTreeMap<String, TopicSpec>,
    /// Addresses.
    pub addresses: BTreeMap<String, AddressSpec>,
    /// Queues, by `QueueSpec::display_name`.
    pub queues: BTreeMap<String, QueueSpec>,
    /// Address settings rules by pattern, as TOML tables (`super::settings::table`).
    pub address_settings: BTreeMap<String, toml::Table>,
    /// User names.
    pub users: BTreeSet<String>,
    /// Plugins, by `PluginSpec::display_name`.
    pub plugins: BTreeMap<String, PluginSpec>,
}

/// The record as the file holds it.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RecordFile {
    #[serde(default)]
    topics: Vec<TopicSpec>,
    #[serde(default)]
    addresses: Vec<AddressSpec>,
    #[serde(default)]
    queues: Vec<QueueSpec>,
    #[serde(default)]
    address_settings: Vec<toml::Table>,
    #[serde(default)]
    users: Vec<RecordedUser>,
    #[serde(default)]
    plugins: Vec<PluginSpec>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RecordedUser {
    name: String,
}

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading, writing, syncing or renaming failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a record (edited by hand?).
    #[error("{path}: {message}; remove it to forget what was applied")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

impl Record {
    /// The record at `path`; empty when there is none.
    pub fn load(path: &Path) -> Result<Record, RecordError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Record::default()),
            Err(source) => {
                return Err(RecordError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let file: RecordFile = toml::from_str(&text).map_err(|e| RecordError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Record {
            topics: file
                .topics
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
            addresses: file
                .addresses
                .into_iter()
                .map(|a| (a.name.clone(), a))
                .collect(),
            queues: file
                .queues
                .into_iter()
                .map(|q| (q.display_name(), q))
                .collect(),
            address_settings: file
                .address_settings
                .into_iter()
                .filter_map(|t| {
                    let pattern = t.get("match")?.as_str()?.to_owned();
                    Some((pattern, t))
                })
                .collect(),
            users: file.users.into_iter().map(|u| u.name).collect(),
            plugins: file
                .plugins
                .into_iter()
                .map(|p| (p.display_name(), p))
                .collect(),
        })
    }

    /// Writes the record to `path` so that a crash leaves the old one or the new one: a
    /// temporary file, fsynced, renamed over it, and the directory fsynced.
    pub fn save(&self, path: &Path) -> Result<(), RecordError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordError::Io { path, source }
        };
        let file = RecordFile {
            topics: self.topics.values().cloned().collect(),
            addresses: self.addresses.values().cloned().collect(),
            queues: self.queues.values().cloned().collect(),
            address_settings: self.address_settings.values().cloned().collect(),
            users: self
                .users
                .iter()
                .map(|name| RecordedUser { name: name.clone() })
                .collect(),
            plugins: self.plugins.values().cloned().collect(),
        };
        let text = toml::to_string(&file).map_err(|e| RecordError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let temporary = path.with_extension("toml.tmp");
        let mut out = std::fs::File::create(&temporary).map_err(io(&temporary))?;
        out.write_all(HEADER.as_bytes())
            .and_then(|()| out.write_all(text.as_bytes()))
            .and_then(|()| out.sync_all())
            .map_err(io(&temporary))?;
        std::fs::rename(&temporary, path).map_err(io(path))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resources::spec::parse;

    #[test]
    fn a_saved_record_loads_equal_and_keeps_no_password() {
        let file = parse(
            "[[topics]]\nname = \"lines\"\npartitions = 2\n[topics.config]\n\"retention.ms\" = 1\n\
             [[queues]]\nname = \"q\"\nrouting-type = \"anycast\"\nfilter = \"a = 1\"\n\
             [[users]]\nname = \"alice\"\npassword = \"wonderland\"\n\
             [[plugins]]\nkind = \"filter\"\nname = \"f\"\nsource = \"builtin:filter-match\"\n",
        )
        .unwrap();
        let mut record = Record::default();
        for t in file.topics {
            record.topics.insert(t.name.clone(), t);
        }
        for q in file.queues {
            record.queues.insert(q.display_name(), q);
        }
        record.users.insert("alice".to_owned());
        for p in file.plugins {
            record.plugins.insert(p.display_name(), p);
        }
        let mut rule = toml::Table::new();
        rule.insert("match".into(), "orders.#".into());
        rule.insert("max-delivery-attempts".into(), 3.into());
        record.address_settings.insert("orders.#".into(), rule);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECORD_DIR).join(RECORD_FILE);
        record.save(&path).unwrap();
        assert_eq!(Record::load(&path).unwrap(), record);
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("wonderland")
        );
        assert!(!path.with_extension("toml.tmp").exists());
    }

    #[test]
    fn no_record_is_an_empty_one_and_a_damaged_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECORD_FILE);
        assert_eq!(Record::load(&path).unwrap(), Record::default());
        std::fs::write(&path, "topics = 3\n").unwrap();
        let err = Record::load(&path).unwrap_err().to_string();
        assert!(err.contains("remove it"), "{err}");
    }
}
