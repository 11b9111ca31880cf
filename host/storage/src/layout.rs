//! Where everything lives under the data directory. The only module that spells file names.
//!
//! ```text
//! <dir>/lock                                    held (flock) while a Storage is open
//! <dir>/meta.toml                               cluster id, format version
//! <dir>/producer-ids                            start of the next block of producer ids
//! <dir>/topics/<topic>/topic.toml               partition count; written last at create
//! <dir>/topics/<topic>/<partition>/<base>.log   record batches, base offset in 20 digits
//! <dir>/topics/<topic>/<partition>/log-start     log start set by DeleteRecords
//! <dir>/topics/<topic>/<partition>/<base>.index      sparse offset index (mmap'd)
//! <dir>/topics/<topic>/<partition>/<base>.timeindex  sparse time index (mmap'd)
//! <dir>/topics/<topic>/<partition>/<base>.*.cleaned  compaction output before its swap
//! <dir>/queues/<queue>/cursor.*                 a queue's acknowledgements and delivery counts
//! <dir>/lost+found/<topic>/<partition>/         what `repair` cut out of a corrupt log
//! <dir>/deleted/<topic>.<nanos>.deleted         topics being deleted; emptied at open
//! ```

use std::path::{Path, PathBuf};

/// Suffix of the temporary file a metadata file is written to before its rename.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Paths under one data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Paths under `root`.
    pub fn new(root: PathBuf) -> Layout {
        Layout { root }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// File locked for as long as one `Storage` owns the directory.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Cluster-wide metadata.
    pub fn meta_file(&self) -> PathBuf {
        self.root.join("meta.toml")
    }

    /// Where producer ids are allocated from, across restarts.
    pub fn producer_ids_file(&self) -> PathBuf {
        self.root.join("producer-ids")
    }

    /// Parent of every topic directory.
    pub fn topics_dir(&self) -> PathBuf {
        self.root.join("topics")
    }

    /// Where deleted topics go before removal. Outside `topics/` because `.` is legal in topic
    /// names, so no suffix could mark a directory there as "not a topic".
    pub fn deleted_dir(&self) -> PathBuf {
        self.root.join("deleted")
    }

    /// Where `repair` moves what it cuts out of a partition's log, under `<topic>/<partition>`.
    pub fn lost_found_dir(&self) -> PathBuf {
        self.root.join("lost+found")
    }

    /// Parent of every queue's state directory.
    pub fn queues_dir(&self) -> PathBuf {
        self.root.join("queues")
    }

    /// One topic's directory; `name` must be a validated topic name.
    pub fn topic_dir(&self, name: &str) -> PathBuf {
        self.topics_dir().join(name)
    }

    /// A unique place in `deleted/` for a topic being deleted.
    pub fn deleted_topic_dir(&self, name: &str, unique: u128) -> PathBuf {
        self.deleted_dir().join(format!("{name}.{unique}.deleted"))
    }
}

/// A topic's metadata file.
pub fn topic_meta_file(topic_dir: &Path) -> PathBuf {
    topic_dir.join("topic.toml")
}

/// The log start DeleteRecords set in a partition.
pub fn log_start_file(partition_dir: &Path) -> PathBuf {
    partition_dir.join("log-start")
}

/// One partition's directory.
pub fn partition_dir(topic_dir: &Path, partition: u32) -> PathBuf {
    topic_dir.join(partition.to_string())
}

/// A log file, named by its base offset zero-padded to 20 digits (Kafka's convention, so
/// files sort by offset when segments arrive).
pub fn log_file(partition_dir: &Path, base_offset: i64) -> PathBuf {
    partition_dir.join(format!("{base_offset:020}.log"))
}

/// A segment's offset index.
pub fn offset_index_file(partition_dir: &Path, base_offset: i64) -> PathBuf {
    partition_dir.join(format!("{base_offset:020}.index"))
}

/// A segment's time index.
pub fn time_index_file(partition_dir: &Path, base_offset: i64) -> PathBuf {
    partition_dir.join(format!("{base_offset:020}.timeindex"))
}

/// The base offset a segment file name gives, for `*.log` names only.
pub fn parse_log_file(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Suffix of a segment file compaction wrote and has not yet swapped in
/// (`<base>.log.cleaned`, `<base>.index.cleaned`, `<base>.timeindex.cleaned`); any found at
/// open are leftovers of a compaction cut short, and removed.
pub const CLEANED_SUFFIX: &str = ".cleaned";

/// The compaction output that will replace the segment file `path`.
pub fn cleaned_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(CLEANED_SUFFIX);
    PathBuf::from(name)
}

/// The temporary sibling a file is written to before being renamed over `path`.
pub fn temp_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_files_are_named_by_base_offset_in_twenty_digits() {
        assert_eq!(
            log_file(Path::new("p"), 0),
            Path::new("p/00000000000000000000.log")
        );
        assert_eq!(
            log_file(Path::new("p"), 42),
            Path::new("p/00000000000000000042.log")
        );
    }
}
