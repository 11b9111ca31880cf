//! Metadata files: `meta.toml` (cluster id, format version), `producer-ids` (the next block
//! of producer ids), each topic's `topic.toml` (partition count, config overrides) and each
//! partition's `log-start` (the log start DeleteRecords set). Small TOML documents, always replaced whole through a temporary file and
//! a rename, so a crash leaves either the old or the new version, never a torn one.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::StorageError;
use crate::error::io_error;
use crate::layout::{self, Layout};
use crate::topic_config::TopicOverrides;

/// The on-disk format this build writes and reads. Bumped when a layout change would make an
/// older build misread the data; an unknown version is refused rather than guessed at.
pub const FORMAT_VERSION: u32 = 1;

/// Random bytes in a cluster id: Kafka's ids are UUIDs, 16 bytes.
const CLUSTER_ID_RANDOM_BYTES: usize = 16;
/// 16 bytes in unpadded base64: Kafka's 22-character form (`Uuid.toString`).
pub const CLUSTER_ID_CHARS: usize = 22;
/// Metadata files are a few lines; anything bigger is not ours.
const META_FILE_BYTES_MAX: u64 = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MetaFile {
    format_version: u32,
    cluster_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct TopicFile {
    partitions: u32,
    /// Per-topic overrides, by Kafka's names; absent in files written before configs existed.
    #[serde(default)]
    config: TopicOverrides,
}

/// Reads the cluster id from `meta.toml`, creating the file with a fresh id on first open.
pub fn load_or_init_cluster_id(layout: &Layout) -> Result<String, StorageError> {
    let path = layout.meta_file();
    if let Some(text) = read_small(&path)? {
        let meta: MetaFile = parse(&path, &text)?;
        if meta.format_version != FORMAT_VERSION {
            return Err(corrupt_meta(
                &path,
                format!(
                    "format version {}, this build reads {FORMAT_VERSION}",
                    meta.format_version
                ),
            ));
        }
        if !is_cluster_id(&meta.cluster_id) {
            return Err(corrupt_meta(
                &path,
                format!("malformed cluster id {:?}", meta.cluster_id),
            ));
        }
        return Ok(meta.cluster_id);
    }
    let meta = MetaFile {
        format_version: FORMAT_VERSION,
        cluster_id: new_cluster_id()?,
    };
    write_atomic(&path, &render(&meta)?)?;
    Ok(meta.cluster_id)
}

/// Writes a topic's `topic.toml`; the topic exists once this returns.
pub fn write_topic(
    topic_dir: &Path,
    partitions: u32,
    overrides: &TopicOverrides,
) -> Result<(), StorageError> {
    write_atomic(
        &layout::topic_meta_file(topic_dir),
        &render(&TopicFile {
            partitions,
            config: overrides.clone(),
        })?,
    )
}

/// A topic's partition count and overrides, or `None` when `topic.toml` is missing (a create
/// that did not finish).
pub fn read_topic(topic_dir: &Path) -> Result<Option<(u32, TopicOverrides)>, StorageError> {
    let path = layout::topic_meta_file(topic_dir);
    let Some(text) = read_small(&path)? else {
        return Ok(None);
    };
    let topic: TopicFile = parse(&path, &text)?;
    if topic.partitions == 0 {
        return Err(corrupt_meta(&path, "zero partitions".to_owned()));
    }
    Ok(Some((topic.partitions, topic.config)))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProducerIdsFile {
    next_block_start: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LogStartFile {
    log_start_offset: i64,
}

/// The first producer id never handed out (0 when the file is missing: none ever was).
pub fn read_producer_ids(layout: &Layout) -> Result<i64, StorageError> {
    let path = layout.producer_ids_file();
    let Some(text) = read_small(&path)? else {
        return Ok(0);
    };
    let file: ProducerIdsFile = parse(&path, &text)?;
    if file.next_block_start < 0 {
        return Err(corrupt_meta(
            &path,
            format!("negative next block start {}", file.next_block_start),
        ));
    }
    Ok(file.next_block_start)
}

/// Records durably that ids below `next_block_start` may have been handed out.
pub fn write_producer_ids(layout: &Layout, next_block_start: i64) -> Result<(), StorageError> {
    write_atomic(
        &layout.producer_ids_file(),
        &render(&ProducerIdsFile { next_block_start })?,
    )
}

/// The log start DeleteRecords last set in this partition, if it ever did.
pub fn read_log_start(partition_dir: &Path) -> Result<Option<i64>, StorageError> {
    let path = layout::log_start_file(partition_dir);
    let Some(text) = read_small(&path)? else {
        return Ok(None);
    };
    let file: LogStartFile = parse(&path, &text)?;
    if file.log_start_offset < 0 {
        return Err(corrupt_meta(
            &path,
            format!("negative log start {}", file.log_start_offset),
        ));
    }
    Ok(Some(file.log_start_offset))
}

/// Records a partition's log start durably.
pub fn write_log_start(partition_dir: &Path, log_start_offset: i64) -> Result<(), StorageError> {
    write_atomic(
        &layout::log_start_file(partition_dir),
        &render(&LogStartFile { log_start_offset })?,
    )
}

fn corrupt_meta(path: &Path, reason: String) -> StorageError {
    StorageError::CorruptMeta {
        path: path.to_owned(),
        reason,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, StorageError> {
    toml::from_str(text).map_err(|e| corrupt_meta(path, e.message().to_owned()))
}

fn render<T: Serialize>(value: &T) -> Result<String, StorageError> {
    toml::to_string(value).map_err(|e| StorageError::Io {
        context: "render metadata".to_owned(),
        source: std::io::Error::other(e),
    })
}

fn read_small(path: &Path) -> Result<Option<String>, StorageError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", path)(e)),
    };
    let mut text = String::new();
    file.take(META_FILE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                corrupt_meta(path, "not UTF-8".to_owned())
            } else {
                io_error("read", path)(e)
            }
        })?;
    if text.len() as u64 > META_FILE_BYTES_MAX {
        return Err(corrupt_meta(
            path,
            format!("larger than {META_FILE_BYTES_MAX} bytes"),
        ));
    }
    Ok(Some(text))
}

/// Replaces `path` with `contents` durably: temp file, fsync, rename, fsync the directory.
fn write_atomic(path: &Path, contents: &str) -> Result<(), StorageError> {
    let temp = layout::temp_file(path);
    let mut file = File::create(&temp).map_err(io_error("create", &temp))?;
    file.write_all(contents.as_bytes())
        .map_err(io_error("write", &temp))?;
    file.sync_all().map_err(io_error("fsync", &temp))?;
    fs::rename(&temp, path).map_err(io_error("rename into place", path))?;
    sync_parent(path)
}

/// Makes a directory entry change (create, rename) in `path`'s directory durable.
pub fn sync_parent(path: &Path) -> Result<(), StorageError> {
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Fsyncs a directory, making the entries created or renamed in it durable.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("fsync directory", dir))
}

/// 16 random bytes from the kernel's CSPRNG as unpadded URL-safe base64, like Kafka's
/// `Uuid.randomUuid().toString()`. Read from `/dev/urandom` rather than through a crate
/// because storage is Unix-only anyway (positional reads) and needs 16 bytes once per
/// cluster.
fn new_cluster_id() -> Result<String, StorageError> {
    let path = Path::new("/dev/urandom");
    let mut random = [0u8; CLUSTER_ID_RANDOM_BYTES];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut random))
        .map_err(io_error("read", path))?;
    Ok(base64_url(&random))
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded URL-safe base64 (RFC 4648 §5).
fn base64_url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        // A chunk of k bytes yields k + 1 characters; padding is omitted.
        for i in 0..=chunk.len() {
            out.push(char::from(
                BASE64_URL[((n >> (18 - 6 * i)) & 0x3f) as usize],
            ));
        }
    }
    out
}

fn is_cluster_id(id: &str) -> bool {
    id.len() == CLUSTER_ID_CHARS && id.bytes().all(|b| BASE64_URL.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_url_matches_rfc_4648_vectors() {
        assert_eq!(base64_url(b""), "");
        assert_eq!(base64_url(b"f"), "Zg");
        assert_eq!(base64_url(b"fo"), "Zm8");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn cluster_ids_are_22_url_safe_characters_and_differ() {
        let a = new_cluster_id().unwrap();
        let b = new_cluster_id().unwrap();
        assert!(is_cluster_id(&a), "{a}");
        assert_ne!(a, b);
    }
}
