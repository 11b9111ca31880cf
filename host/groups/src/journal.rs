//! The offsets journal: every change to committed offsets, appended as a CRC-framed record.
//! Replaying it from the start rebuilds the offsets; rewriting it as a snapshot (one commit
//! record per live offset) keeps it from growing without bound.
//!
//! ```text
//! header  magic "SLGJ" | format version u32 | CRC-32C u32 of the 8 before
//! frame   body length u32 | CRC-32C u32 of the body | body
//! body    kind u8, then by kind:
//!           1 commit         group | topic | partition u32 | offset i64 | leader epoch i32
//!                            | metadata present u8 (0, 1) [| metadata]
//!           2 delete offset  group | topic | partition u32
//!           3 delete group   group
//!           4 forget topic   topic
//! string  length u32 | UTF-8 bytes
//! ```
//! Integers are big-endian. A frame whose length runs past the end of the file or whose
//! checksum fails is a torn tail (a crash cut the last write short): replay stops there and the
//! file is cut. A frame whose checksum holds but whose body does not decode was written whole
//! by something else: that is damage, and opening fails.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{GroupsError, io_error};

const MAGIC: [u8; 4] = *b"SLGJ";
const FORMAT_VERSION: u32 = 1;
/// Magic, version, CRC.
pub(crate) const HEADER_BYTES: u64 = 4 + 4 + 4;
/// Body length and CRC before every body.
const FRAME_HEAD_BYTES: u64 = 4 + 4;
const FILE_NAME: &str = "offsets.journal";
const TEMP_NAME: &str = "offsets.journal.tmp";

const KIND_COMMIT: u8 = 1;
const KIND_DELETE_OFFSET: u8 = 2;
const KIND_DELETE_GROUP: u8 = 3;
const KIND_FORGET_TOPIC: u8 = 4;

/// One change to the committed offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// An offset committed (or replaced).
    Commit(Commit<'a>),
    /// One committed offset forgotten.
    DeleteOffset {
        group: &'a str,
        topic: &'a str,
        partition: u32,
    },
    /// Every offset of a group forgotten.
    DeleteGroup { group: &'a str },
    /// Every offset of a topic, in every group, forgotten.
    ForgetTopic { topic: &'a str },
}

/// An offset committed, as one record: a struct of its own so that the coordinator, the
/// encoder and the in-memory offsets each take it whole rather than field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Commit<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub partition: u32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<&'a str>,
}

/// The open journal, appended to at its end.
#[derive(Debug)]
pub(crate) struct Journal {
    /// Shared with the syncer, which fsyncs it outside the coordinator's lock.
    file: Arc<File>,
    path: PathBuf,
    dir: PathBuf,
    /// Bytes of header and valid frames; the next frame goes here.
    len: u64,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, feeding every record to `replay` in order and
    /// cutting a torn tail.
    pub(crate) fn open(
        dir: &Path,
        mut replay: impl FnMut(Record<'_>),
    ) -> Result<Journal, GroupsError> {
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        let path = dir.join(FILE_NAME);
        let temp = dir.join(TEMP_NAME);
        match fs::remove_file(&temp) {
            Ok(()) => {
                tracing::info!(file = %temp.display(), "removed a journal rewrite left by a crash")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove", &temp)(e)),
        }
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut journal = Journal {
                    file: Arc::new(write_temp(&temp, std::iter::empty())?.0),
                    path,
                    dir: dir.to_owned(),
                    len: HEADER_BYTES,
                };
                journal.commit_temp(&temp)?;
                return Ok(journal);
            }
            Err(e) => return Err(io_error("open", &path)(e)),
        };
        let len = replay_file(&file, &path, &mut replay)?;
        Ok(Journal {
            file: Arc::new(file),
            path,
            dir: dir.to_owned(),
            len,
        })
    }

    /// Bytes in the journal, header included.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The file, for the syncer.
    pub(crate) fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// The journal's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `records` to the page cache in one write; durable only after an fsync.
    pub(crate) fn append(&mut self, records: &[Record<'_>]) -> Result<(), GroupsError> {
        let mut bytes = Vec::new();
        for record in records {
            encode_frame(&mut bytes, record);
        }
        // No undo on failure: the caller treats the journal as unreliable from here on and
        // rewrites it whole before the next append, so a partial frame is never followed.
        self.file
            .write_all_at(&bytes, self.len)
            .map_err(io_error("write", &self.path))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Replaces the journal, durably, with one holding exactly `records` (a snapshot).
    pub(crate) fn rewrite<'a>(
        &mut self,
        records: impl Iterator<Item = Record<'a>>,
    ) -> Result<(), GroupsError> {
        let temp = self.dir.join(TEMP_NAME);
        let (file, len) = write_temp(&temp, records)?;
        self.commit_temp(&temp)?;
        self.file = Arc::new(file);
        self.len = len;
        Ok(())
    }

    /// Renames the durable temporary file into place and makes the rename durable.
    fn commit_temp(&mut self, temp: &Path) -> Result<(), GroupsError> {
        fs::rename(temp, &self.path).map_err(io_error("rename into place", &self.path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("fsync directory", &self.dir))
    }
}

/// Writes header and `records` to `temp`, fsynced; returns the file (open for appends) and
/// its length.
fn write_temp<'a>(
    temp: &Path,
    records: impl Iterator<Item = Record<'a>>,
) -> Result<(File, u64), GroupsError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .map_err(io_error("create", temp))?;
    let mut len = 0u64;
    {
        let mut out = BufWriter::new(&file);
        let head = header();
        out.write_all(&head).map_err(io_error("write", temp))?;
        len += head.len() as u64;
        let mut frame = Vec::new();
        for record in records {
            frame.clear();
            encode_frame(&mut frame, &record);
            out.write_all(&frame).map_err(io_error("write", temp))?;
            len += frame.len() as u64;
        }
        out.flush().map_err(io_error("write", temp))?;
    }
    file.sync_all().map_err(io_error("fsync", temp))?;
    Ok((file, len))
}

/// Replays every valid frame of `file` and cuts what follows the last one; returns the length
/// kept.
fn replay_file(
    file: &File,
    path: &Path,
    replay: &mut impl FnMut(Record<'_>),
) -> Result<u64, GroupsError> {
    let file_len = file.metadata().map_err(io_error("stat", path))?.len();
    let corrupt = |reason: String| GroupsError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    // Journals appear whole through a rename, so a bad header is damage, not a crash.
    if file_len < HEADER_BYTES {
        return Err(corrupt("shorter than a journal header".to_owned()));
    }
    let mut reader = BufReader::new(file);
    let mut head = [0u8; HEADER_BYTES as usize];
    reader
        .read_exact(&mut head)
        .map_err(io_error("read", path))?;
    check_header(&head).map_err(corrupt)?;

    let mut len = HEADER_BYTES;
    let mut torn = None;
    let mut body = Vec::new();
    while len < file_len {
        if file_len - len < FRAME_HEAD_BYTES {
            torn = Some("partial frame header");
            break;
        }
        let mut frame_head = [0u8; FRAME_HEAD_BYTES as usize];
        reader
            .read_exact(&mut frame_head)
            .map_err(io_error("read", path))?;
        let body_len = u64::from(be_u32(&frame_head[..4]));
        let crc = be_u32(&frame_head[4..]);
        if body_len > file_len - len - FRAME_HEAD_BYTES {
            torn = Some("frame runs past the end of the file");
            break;
        }
        body.resize(body_len as usize, 0);
        reader
            .read_exact(&mut body)
            .map_err(io_error("read", path))?;
        if crc32c::crc32c(&body) != crc {
            torn = Some("frame CRC mismatch");
            break;
        }
        let record = decode(&body).map_err(|reason| {
            corrupt(format!(
                "frame at byte {len} has a valid checksum but {reason}"
            ))
        })?;
        replay(record);
        len += FRAME_HEAD_BYTES + body_len;
    }
    if let Some(reason) = torn {
        tracing::warn!(
            file = %path.display(),
            position = len,
            bytes_dropped = file_len - len,
            reason,
            "cutting the offsets journal after its last valid record (torn tail)"
        );
        file.set_len(len).map_err(io_error("truncate", path))?;
        file.sync_all().map_err(io_error("fsync", path))?;
    }
    Ok(len)
}

fn header() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES as usize);
    bytes.extend(MAGIC);
    bytes.extend(FORMAT_VERSION.to_be_bytes());
    bytes.extend(crc32c::crc32c(&bytes).to_be_bytes());
    bytes
}

fn check_header(head: &[u8; HEADER_BYTES as usize]) -> Result<(), String> {
    if head[..4] != MAGIC {
        return Err("not an offsets journal (bad magic)".to_owned());
    }
    if crc32c::crc32c(&head[..8]) != be_u32(&head[8..]) {
        return Err("header CRC mismatch".to_owned());
    }
    let version = be_u32(&head[4..8]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, this build reads {FORMAT_VERSION}"
        ));
    }
    Ok(())
}

/// Bytes `record` takes in the journal, frame head included; the snapshot-size estimate
/// counts live offsets with this.
pub(crate) fn frame_bytes(record: &Record<'_>) -> u64 {
    let string = |s: &str| 4 + s.len() as u64;
    let body = 1 + match record {
        Record::Commit(c) => {
            string(c.group) + string(c.topic) + 4 + 8 + 4 + 1 + c.metadata.map_or(0, string)
        }
        Record::DeleteOffset { group, topic, .. } => string(group) + string(topic) + 4,
        Record::DeleteGroup { group } => string(group),
        Record::ForgetTopic { topic } => string(topic),
    };
    FRAME_HEAD_BYTES + body
}

fn encode_frame(out: &mut Vec<u8>, record: &Record<'_>) {
    let start = out.len();
    out.extend([0u8; FRAME_HEAD_BYTES as usize]);
    let body_start = out.len();
    match *record {
        Record::Commit(c) => {
            out.push(KIND_COMMIT);
            put_str(out, c.group);
            put_str(out, c.topic);
            out.extend(c.partition.to_be_bytes());
            out.extend(c.offset.to_be_bytes());
            out.extend(c.leader_epoch.to_be_bytes());
            match c.metadata {
                None => out.push(0),
                Some(text) => {
                    out.push(1);
                    put_str(out, text);
                }
            }
        }
        Record::DeleteOffset {
            group,
            topic,
            partition,
        } => {
            out.push(KIND_DELETE_OFFSET);
            put_str(out, group);
            put_str(out, topic);
            out.extend(partition.to_be_bytes());
        }
        Record::DeleteGroup { group } => {
            out.push(KIND_DELETE_GROUP);
            put_str(out, group);
        }
        Record::ForgetTopic { topic } => {
            out.push(KIND_FORGET_TOPIC);
            put_str(out, topic);
        }
    }
    let body_len = (out.len() - body_start) as u32;
    let crc = crc32c::crc32c(&out[body_start..]);
    out[start..start + 4].copy_from_slice(&body_len.to_be_bytes());
    out[start + 4..body_start].copy_from_slice(&crc.to_be_bytes());
}

/// Strings are bounded well below 4 GiB by the coordinator's limits (group ids, metadata) and
/// by the broker's (topic names), so the length always fits.
fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u32).to_be_bytes());
    out.extend(s.as_bytes());
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(b)
}

/// Reads a body front to back.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.rest.len() < n {
            return Err("its body is shorter than its kind needs");
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(be_u32(self.take(4)?))
    }

    fn i32(&mut self) -> Result<i32, &'static str> {
        Ok(self.u32()? as i32)
    }

    fn i64(&mut self) -> Result<i64, &'static str> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(b))
    }

    fn str(&mut self) -> Result<&'a str, &'static str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| "a string in it is not UTF-8")
    }
}

fn decode(body: &[u8]) -> Result<Record<'_>, &'static str> {
    let mut c = Cursor { rest: body };
    let record = match c.u8()? {
        KIND_COMMIT => Record::Commit(Commit {
            group: c.str()?,
            topic: c.str()?,
            partition: c.u32()?,
            offset: c.i64()?,
            leader_epoch: c.i32()?,
            metadata: match c.u8()? {
                0 => None,
                1 => Some(c.str()?),
                _ => return Err("its metadata flag is neither 0 nor 1"),
            },
        }),
        KIND_DELETE_OFFSET => Record::DeleteOffset {
            group: c.str()?,
            topic: c.str()?,
            partition: c.u32()?,
        },
        KIND_DELETE_GROUP => Record::DeleteGroup { group: c.str()? },
        KIND_FORGET_TOPIC => Record::ForgetTopic { topic: c.str()? },
        _ => return Err("its kind is unknown"),
    };
    if !c.rest.is_empty() {
        return Err("its body is longer than its kind needs");
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Record<'static>> {
        vec![
            Record::Commit(Commit {
                group: "g",
                topic: "t",
                partition: 3,
                offset: i64::MAX,
                leader_epoch: -1,
                metadata: Some("meta"),
            }),
            Record::Commit(Commit {
                group: "g",
                topic: "t",
                partition: 0,
                offset: 0,
                leader_epoch: 7,
                metadata: None,
            }),
            Record::DeleteOffset {
                group: "g",
                topic: "t",
                partition: 1,
            },
            Record::DeleteGroup { group: "g" },
            Record::ForgetTopic { topic: "t" },
        ]
    }

    #[test]
    fn records_decode_to_what_was_encoded_and_frame_bytes_is_exact() {
        for record in samples() {
            let mut frame = Vec::new();
            encode_frame(&mut frame, &record);
            assert_eq!(frame.len() as u64, frame_bytes(&record));
            assert_eq!(decode(&frame[FRAME_HEAD_BYTES as usize..]), Ok(record));
        }
    }

    #[test]
    fn a_body_with_trailing_or_missing_bytes_does_not_decode() {
        let mut frame = Vec::new();
        encode_frame(&mut frame, &Record::DeleteGroup { group: "g" });
        let body = &frame[FRAME_HEAD_BYTES as usize..];
        assert!(decode(&body[..body.len() - 1]).is_err());
        let mut longer = body.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
