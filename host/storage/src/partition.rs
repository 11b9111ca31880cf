//! One partition: an append-only log file of Kafka v2 record batches, its bounds, its sparse
//! index and the watch channel that announces its log end. Appends are serialised by the
//! partition's mutex; reads take the mutex only to snapshot the bounds and then read the file
//! positionally, since bytes below the end position never change while the file is open.
//!
//! v0 keeps one file per partition (base offset 0) and no durability policy: `flush` is the
//! only fsync. Segments, retention and group commit will live behind this same interface.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::watch;

use crate::batch::{self, LOCATE_BYTES, LOG_OVERHEAD_BYTES};
use crate::error::io_error;
use crate::index::{IndexEntry, SparseIndex};
use crate::{AppendResult, PartitionOffsets, ReadResult, StorageError};
use crate::{layout, meta, recovery};

/// Base offset of the single log file of v0.
const FIRST_BASE_OFFSET: i64 = 0;

/// One partition's log.
#[derive(Debug)]
pub struct Partition {
    /// Owning topic's name, for errors.
    topic: String,
    /// The log file, for errors and logs.
    log_path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Shared with readers so they can read without the lock.
    file: Arc<File>,
    /// File length covered by acknowledged batches; the next append writes here.
    end_position: u64,
    /// First readable offset; 0 until retention exists.
    log_start: i64,
    /// Offset the next record gets.
    log_end: i64,
    index: SparseIndex,
    /// Announces `log_end`. `None` once the topic is deleted: dropping the sender wakes every
    /// receiver, and every later call fails with `UnknownTopic`.
    log_end_tx: Option<watch::Sender<i64>>,
    /// Set when a write failed and the partial write could not be cut off: the file may hold
    /// bytes past `end_position` that a later append would not fully overwrite, so appending
    /// stops until a restart's recovery sorts it out (fjall's poisoned state).
    write_failed: bool,
}

impl Partition {
    /// Creates an empty partition in the new directory `dir` and makes it durable.
    pub fn create(dir: &Path) -> Result<(), StorageError> {
        fs::create_dir(dir).map_err(io_error("create directory", dir))?;
        let log_path = layout::log_file(dir, FIRST_BASE_OFFSET);
        File::create_new(&log_path).map_err(io_error("create", &log_path))?;
        meta::sync_dir(dir)
    }

    /// Opens the partition in `dir`, recovering its log.
    pub fn open(topic: &str, dir: &Path) -> Result<Partition, StorageError> {
        let log_path = layout::log_file(dir, FIRST_BASE_OFFSET);
        let file = match OpenOptions::new().read(true).write(true).open(&log_path) {
            Ok(file) => file,
            // topic.toml is written after every log file exists, so this is damage, not a
            // crash; refusing to start beats silently serving an empty partition.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StorageError::CorruptMeta {
                    path: log_path,
                    reason: "log file missing".to_owned(),
                });
            }
            Err(e) => return Err(io_error("open", &log_path)(e)),
        };
        let recovered = recovery::recover(&file, &log_path, FIRST_BASE_OFFSET)?;
        let (log_end_tx, _) = watch::channel(recovered.log_end);
        Ok(Partition {
            topic: topic.to_owned(),
            log_path,
            state: Mutex::new(State {
                file: Arc::new(file),
                end_position: recovered.end_position,
                log_start: FIRST_BASE_OFFSET,
                log_end: recovered.log_end,
                index: recovered.index,
                log_end_tx: Some(log_end_tx),
                write_failed: false,
            }),
        })
    }

    /// Validates `batches` and appends them as one unit at the log end.
    pub fn append(
        &self,
        batches: &[u8],
        batch_bytes_max: u32,
        append_time_ms: i64,
    ) -> Result<AppendResult, StorageError> {
        // Validation and the copy need no lock: CRC work does not block other appenders.
        let spans = batch::split(batches, batch_bytes_max)?;
        let mut bytes = batches.to_vec();

        let mut guard = self.lock();
        let state = &mut *guard;
        self.check_open(state)?;
        if state.write_failed {
            return Err(StorageError::Io {
                context: format!(
                    "append to {}: an earlier write failed and could not be undone",
                    self.log_path.display()
                ),
                source: std::io::Error::other("partition needs recovery; restart the broker"),
            });
        }
        let base_offset = state.log_end;
        let mut log_end = base_offset;
        for span in &spans {
            batch::rewrite(&mut bytes[span.range.clone()], log_end);
            log_end = log_end
                .checked_add(span.offset_count)
                .ok_or_else(|| StorageError::CorruptBatch("offsets would overflow i64".into()))?;
        }

        let position = state.end_position;
        if let Err(e) = state.file.write_all_at(&bytes, position) {
            if let Err(undo) = state.file.set_len(position) {
                tracing::error!(
                    file = %self.log_path.display(), position, error = %undo,
                    "cannot cut off a failed write; appends stop until restart"
                );
                state.write_failed = true;
            }
            return Err(io_error("write", &self.log_path)(e));
        }

        let mut offset = base_offset;
        for span in &spans {
            state.index.note(offset, position + span.range.start as u64);
            offset += span.offset_count;
        }
        state.end_position = position + bytes.len() as u64;
        state.log_end = log_end;
        if let Some(tx) = &state.log_end_tx {
            tx.send_replace(log_end);
        }
        Ok(AppendResult {
            base_offset,
            last_offset: log_end - 1,
            log_start: state.log_start,
            append_time_ms,
        })
    }

    /// Whole batches from the one containing `offset`, up to `bytes_max` but at least one.
    pub fn read(&self, offset: i64, bytes_max: u32) -> Result<ReadResult, StorageError> {
        let (file, end_position, offsets, floor) = {
            let state = self.lock();
            self.check_open(&state)?;
            let offsets = PartitionOffsets {
                log_start: state.log_start,
                log_end: state.log_end,
            };
            if offset < offsets.log_start || offset > offsets.log_end {
                return Err(StorageError::OffsetOutOfRange {
                    offset,
                    log_start: offsets.log_start,
                    log_end: offsets.log_end,
                });
            }
            if offset == offsets.log_end {
                return Ok(ReadResult {
                    batches: Bytes::new(),
                    offsets,
                });
            }
            let floor = state
                .index
                .floor(offset)
                .ok_or_else(|| self.inconsistent(0))?;
            (Arc::clone(&state.file), state.end_position, offsets, floor)
        };

        let (position, first_bytes) = self.find(&file, floor, offset, end_position)?;
        let limit = u64::from(bytes_max);
        let mut buf = if first_bytes >= limit {
            self.read_at(&file, position, first_bytes)?
        } else {
            let mut buf = self.read_at(&file, position, limit.min(end_position - position))?;
            buf.truncate(whole_batches_len(&buf));
            buf
        };
        buf.shrink_to_fit();
        Ok(ReadResult {
            batches: Bytes::from(buf),
            offsets,
        })
    }

    /// Steps batch by batch from the index entry `floor` to the batch holding `offset`;
    /// returns its position and size. Checks on the way that offsets are still contiguous,
    /// the read-side twin of recovery's check.
    fn find(
        &self,
        file: &File,
        floor: IndexEntry,
        offset: i64,
        end_position: u64,
    ) -> Result<(u64, u64), StorageError> {
        let mut position = floor.position;
        let mut expected = floor.offset;
        loop {
            if position + LOCATE_BYTES as u64 > end_position {
                return Err(self.inconsistent(position));
            }
            let mut prefix = [0u8; LOCATE_BYTES];
            file.read_exact_at(&mut prefix, position)
                .map_err(io_error("read", &self.log_path))?;
            let (base_offset, batch_length, last_offset_delta) = batch::locate(&prefix);
            let total = batch::total_bytes(batch_length);
            if base_offset != expected || last_offset_delta < 0 || total < LOCATE_BYTES as u64 {
                return Err(self.inconsistent(position));
            }
            let last_offset = base_offset + i64::from(last_offset_delta);
            if offset <= last_offset {
                return Ok((position, total));
            }
            position += total;
            expected = last_offset + 1;
        }
    }

    fn read_at(&self, file: &File, position: u64, len: u64) -> Result<Vec<u8>, StorageError> {
        let len = usize::try_from(len).map_err(|_| self.inconsistent(position))?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, position)
            .map_err(io_error("read", &self.log_path))?;
        Ok(buf)
    }

    /// The partition's bounds.
    pub fn offsets(&self) -> Result<PartitionOffsets, StorageError> {
        let state = self.lock();
        self.check_open(&state)?;
        Ok(PartitionOffsets {
            log_start: state.log_start,
            log_end: state.log_end,
        })
    }

    /// A receiver of the log end, current value included.
    pub fn watch(&self) -> Result<watch::Receiver<i64>, StorageError> {
        let state = self.lock();
        state
            .log_end_tx
            .as_ref()
            .map(watch::Sender::subscribe)
            .ok_or_else(|| self.gone())
    }

    /// Fsyncs the log file's data. A deleted partition has nothing worth syncing.
    pub fn flush(&self) -> Result<(), StorageError> {
        let file = {
            let state = self.lock();
            if state.log_end_tx.is_none() {
                return Ok(());
            }
            Arc::clone(&state.file)
        };
        file.sync_data().map_err(io_error("fsync", &self.log_path))
    }

    /// Marks the partition deleted: drops the watch sender (waking waiters) and makes every
    /// later call fail with `UnknownTopic`.
    pub fn close(&self) {
        self.lock().log_end_tx = None;
    }

    /// A poisoned lock means a panic elsewhere while holding it; no code under this lock can
    /// panic half-way through an update, so the state is still consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self, state: &State) -> Result<(), StorageError> {
        if state.log_end_tx.is_none() {
            Err(self.gone())
        } else {
            Ok(())
        }
    }

    fn gone(&self) -> StorageError {
        StorageError::UnknownTopic(self.topic.clone())
    }

    /// The file does not match what recovery and appends established: changed behind our back.
    fn inconsistent(&self, position: u64) -> StorageError {
        StorageError::Io {
            context: format!("read {} at byte {position}", self.log_path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "log file no longer matches its index (modified while open?)",
            ),
        }
    }
}

/// Length of the longest prefix of `buf` made of whole batches.
fn whole_batches_len(buf: &[u8]) -> usize {
    let mut at = 0usize;
    while let Some(prefix) = buf
        .get(at..)
        .and_then(|rest| rest.first_chunk::<LOCATE_BYTES>())
    {
        let (_, batch_length, _) = batch::locate(prefix);
        let total = batch::total_bytes(batch_length);
        let Some(end) = usize::try_from(total)
            .ok()
            .and_then(|total| at.checked_add(total))
        else {
            break;
        };
        if total <= LOG_OVERHEAD_BYTES as u64 || end > buf.len() {
            break;
        }
        at = end;
    }
    at
}
