//! Durable consumption state of a point-to-point queue: which offsets of the queue's log are
//! acknowledged (consumers acknowledge out of order) and how often each unacknowledged offset
//! was delivered (for redelivery and dead-lettering).
//!
//! Flow: [`QueueCursor`] (this file: checks, rotation, recovery order) → `state` (the state
//! in memory, no I/O) → `journal` (one record per change) → `snapshot` (the whole state).
//!
//! ```text
//! <queue dir>/cursor.snapshot   state when the last journal was retired; absent until then
//! <queue dir>/cursor.journal    changes since that snapshot
//! ```
//!
//! Durability: a change is in the page cache when its call returns and survives a process
//! crash; it survives a power loss only once [`QueueCursor::sync`] returns. After a power loss
//! open recovers a prefix of the changes (every synced one, some unsynced ones), never a
//! mixture. A snapshot is fsynced when written, which makes every change before it durable.
//!
//! **Architecture Invariant:** the cursor knows nothing of the queue's log (its bounds,
//! retention, messages); callers translate those into offsets.

mod journal;
mod snapshot;
mod state;

use std::fs::{self, File};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub use state::CursorState;

use crate::StorageError;
use crate::error::io_error;
use crate::{layout, meta};
use journal::{Journal, Opened};
use state::{Change, Full, State};

/// Default [`CursorLimits::ranges_max`]: 1.6 MiB of ranges in memory and in each snapshot;
/// a queue this fragmented has consumers far behind on a few messages while acking the rest.
pub const CURSOR_RANGES_MAX_DEFAULT: usize = 100_000;
/// Default [`CursorLimits::counted_max`]: 1.2 MiB of counts; more messages in flight than
/// any consumer's prefetch allows.
pub const CURSOR_COUNTED_MAX_DEFAULT: usize = 100_000;
/// Default [`CursorLimits::journal_bytes_max`]: replay at open reads at most this (or one
/// snapshot's size) of journal, about 80 000 records.
pub const CURSOR_JOURNAL_BYTES_MAX_DEFAULT: u64 = 1024 * 1024;

/// Version of both cursor files; an unknown one is refused rather than guessed at.
const FORMAT_VERSION: u32 = 1;
const SNAPSHOT_FILE: &str = "cursor.snapshot";
const JOURNAL_FILE: &str = "cursor.journal";

/// Bounds on one cursor's memory and journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorLimits {
    /// Acknowledged ranges above the floor at most; an ack that would open one more gap fails
    /// with `CursorFull`.
    pub ranges_max: usize,
    /// Unacknowledged offsets with a delivery count at most; recording the first delivery of
    /// one more fails with `CursorFull`.
    pub counted_max: usize,
    /// The journal is retired into a snapshot once it is larger than this and than the last
    /// snapshot; the second condition caps the snapshot cost per journal byte at one.
    pub journal_bytes_max: u64,
}

impl Default for CursorLimits {
    fn default() -> CursorLimits {
        CursorLimits {
            ranges_max: CURSOR_RANGES_MAX_DEFAULT,
            counted_max: CURSOR_COUNTED_MAX_DEFAULT,
            journal_bytes_max: CURSOR_JOURNAL_BYTES_MAX_DEFAULT,
        }
    }
}

/// One queue's cursor, owning its directory. Not shared: wrap it in a `Mutex`. Only one
/// `QueueCursor` may have a directory open at a time (Storage's directory lock keeps other
/// processes out; within one process, the owner of the queue must).
///
/// Offsets are `0..i64::MAX`, the offsets a log can hold; acking or delivering another
/// offset fails with `OffsetOutOfRange`. Queries accept any offset: negative ones are below
/// the floor, so acknowledged.
pub struct QueueCursor {
    dir: PathBuf,
    limits: CursorLimits,
    state: State,
    /// Generation of the current snapshot (0 before the first) and of the journal after it.
    generation: u64,
    /// `None` once a rotation failed after renaming its snapshot into place: which journal a
    /// reopen would replay is then unknown (the old one is stale if the rename is durable),
    /// so changes are refused until the cursor is reopened (fjall's poisoned state).
    journal: Option<Journal>,
    /// Size of the current snapshot, for the rotation policy.
    snapshot_bytes: u64,
}

impl QueueCursor {
    /// Opens the cursor in `dir`, creating the directory and an empty cursor if missing and
    /// recovering the state otherwise. Errors name the damaged file; a torn journal tail is
    /// not damage (it is cut off with a warning).
    pub fn open(dir: &Path, limits: CursorLimits) -> Result<QueueCursor, StorageError> {
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
            meta::sync_parent(dir)?;
        }
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        let journal_path = dir.join(JOURNAL_FILE);
        // Leftovers of a rotation cut short; the renamed files are the truth.
        for path in [&snapshot_path, &journal_path] {
            remove_if_present(&layout::temp_file(path))?;
        }

        let loaded = snapshot::load(&snapshot_path)?;
        let have_snapshot = loaded.is_some();
        let (mut state, generation, snapshot_bytes) = match loaded {
            Some(s) => (s.state, s.generation, s.bytes),
            None => (State::default(), 0, 0),
        };
        let replayed = Journal::open(&journal_path, generation, |change| {
            state.apply(change);
        })?;
        let journal = match replayed {
            Opened::Current(journal) => journal,
            // The journal is created before any snapshot and only ever replaced by a rename.
            Opened::Missing if have_snapshot => {
                return Err(corrupt(&journal_path, "missing beside a snapshot"));
            }
            Opened::Missing => Journal::create(&journal_path, generation)?,
            Opened::Stale { generation: stale } => {
                tracing::info!(
                    file = %journal_path.display(), stale, generation,
                    "replacing a cursor journal already contained in the snapshot"
                );
                Journal::create(&journal_path, generation)?
            }
            Opened::Ahead { generation: ahead } if have_snapshot => {
                return Err(corrupt(
                    &journal_path,
                    format!("generation {ahead} is newer than the snapshot's {generation}"),
                ));
            }
            Opened::Ahead { generation: ahead } => {
                return Err(corrupt(
                    &snapshot_path,
                    format!("missing, but the journal follows snapshot generation {ahead}"),
                ));
            }
        };
        Ok(QueueCursor {
            dir: dir.to_owned(),
            limits,
            state,
            generation,
            journal: Some(journal),
            snapshot_bytes,
        })
    }

    /// Acknowledges `offset`. `Ok(false)` when it was acknowledged already (nothing is
    /// written). Its delivery count is dropped.
    pub fn ack(&mut self, offset: i64) -> Result<bool, StorageError> {
        self.change(Change::Ack(offset))
    }

    /// Acknowledges every offset below `offset` (`0..=i64::MAX`): retention removed them or
    /// the queue was purged. Their delivery counts are dropped.
    pub fn ack_below(&mut self, offset: i64) -> Result<(), StorageError> {
        self.change(Change::AckBelow(offset)).map(|_| ())
    }

    /// Counts one more delivery of `offset` and returns its count. An acknowledged offset is
    /// not counted: `Ok(0)` tells the caller it has nothing to deliver. Counts stop at
    /// `u32::MAX`.
    pub fn record_delivery(&mut self, offset: i64) -> Result<u32, StorageError> {
        self.change(Change::Deliver(offset))?;
        Ok(self.state.delivery_count(offset))
    }

    /// Deliveries recorded for `offset`; 0 when none or when it is acknowledged.
    pub fn delivery_count(&self, offset: i64) -> u32 {
        self.state.delivery_count(offset)
    }

    /// Whether `offset` is acknowledged.
    pub fn is_acked(&self, offset: i64) -> bool {
        self.state.is_acked(offset)
    }

    /// Every offset below this one is acknowledged; it is not.
    pub fn floor(&self) -> i64 {
        self.state.floor()
    }

    /// Acknowledged ranges above the floor, in order: disjoint, and neither touching each
    /// other nor the floor.
    pub fn acked_ranges(&self) -> impl Iterator<Item = Range<i64>> + '_ {
        self.state.ranges().iter().map(|(&start, &end)| start..end)
    }

    /// The first unacknowledged offset at or after `from`.
    pub fn next_unacked(&self, from: i64) -> i64 {
        self.state.next_unacked(from)
    }

    /// Makes every change so far durable (fdatasync of the journal). Callers choose when:
    /// per ack, per batch of acks or on a timer.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.journal()?.sync()
    }

    /// Writes the changes journaled since the last flush to the page cache, where a crash
    /// of the process (not of the machine) cannot take them. Changes take effect in memory at
    /// once; callers flush after each batch of them (the queues do when they unlock a queue),
    /// and dropping the cursor flushes too.
    /// A cursor whose snapshot failed half-way has nothing to flush (its changes fail).
    pub fn flush(&mut self) -> Result<(), StorageError> {
        match self.journal.as_mut() {
            Some(journal) => journal.flush(),
            None => Ok(()),
        }
    }

    /// A copy of the state as plain data.
    pub fn state(&self) -> CursorState {
        self.state.to_public()
    }

    /// Checks, journals and applies one change. Memory changes only after the journal took
    /// the record, so a failed write leaves the cursor as it was. The record may still be
    /// pending (see [`QueueCursor::flush`]).
    fn change(&mut self, change: Change) -> Result<bool, StorageError> {
        if !offset_valid(change) {
            let (Change::Ack(offset) | Change::AckBelow(offset) | Change::Deliver(offset)) = change;
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start: 0,
                log_end: i64::MAX,
            });
        }
        // Replaying a no-op is harmless, but not writing it keeps repeats out of the journal.
        if !self.state.would_change(change) {
            return Ok(false);
        }
        self.state
            .check(change, &self.limits)
            .map_err(|full| self.full(full))?;
        self.journal_for_append()?.append(change)?;
        let changed = self.state.apply(change);
        debug_assert!(changed);
        Ok(changed)
    }

    fn journal(&mut self) -> Result<&mut Journal, StorageError> {
        self.journal.as_mut().ok_or_else(|| StorageError::Io {
            context: format!("queue cursor in {}", self.dir.display()),
            source: std::io::Error::other(
                "an earlier snapshot failed half-way; reopen the cursor to recover",
            ),
        })
    }

    /// The journal to append to, after retiring the current one into a snapshot if it is due.
    /// Rotating before a change rather than after means a failed rotation fails that change
    /// alone, with nothing applied.
    fn journal_for_append(&mut self) -> Result<&mut Journal, StorageError> {
        let rotate_above = self.limits.journal_bytes_max.max(self.snapshot_bytes);
        if self.journal()?.len() > rotate_above {
            self.rotate()?;
        }
        self.journal()
    }

    /// Retires the journal into a snapshot. Order: the snapshot of the next generation is
    /// made durable under a temporary name and renamed into place, then an empty journal of
    /// that generation replaces the old one. A crash before the rename leaves the old pair,
    /// consistent; after it, the old journal is older than the snapshot and open discards it,
    /// its records all being in the snapshot.
    fn rotate(&mut self) -> Result<(), StorageError> {
        let generation = self.generation + 1;
        let path = self.dir.join(SNAPSHOT_FILE);
        // Until the rename the old snapshot and journal stay the truth: failing here is safe.
        let bytes = snapshot::write_temp(&path, &self.state, generation)?;
        self.journal = None;
        commit_temp(&path)?;
        self.journal = Some(Journal::create(&self.dir.join(JOURNAL_FILE), generation)?);
        self.generation = generation;
        self.snapshot_bytes = bytes;
        tracing::debug!(
            dir = %self.dir.display(), generation, bytes, "cursor snapshot written"
        );
        Ok(())
    }

    fn full(&self, full: Full) -> StorageError {
        let (what, max) = match full {
            Full::Ranges => (
                "acknowledged ranges above the floor",
                self.limits.ranges_max,
            ),
            Full::Counts => ("delivery counts", self.limits.counted_max),
        };
        StorageError::CursorFull {
            dir: self.dir.clone(),
            what,
            max,
        }
    }
}

impl Drop for QueueCursor {
    fn drop(&mut self) {
        if let Some(journal) = self.journal.as_mut()
            && let Err(e) = journal.flush()
        {
            tracing::error!(dir = %self.dir.display(), error = %e, "cursor journal not flushed");
        }
    }
}

/// A summary: the state can hold hundreds of thousands of entries.
impl std::fmt::Debug for QueueCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueCursor")
            .field("dir", &self.dir)
            .field("floor", &self.state.floor())
            .field("ranges", &self.state.ranges().len())
            .field("counted", &self.state.counts().len())
            .field("generation", &self.generation)
            .field("poisoned", &self.journal.is_none())
            .finish_non_exhaustive()
    }
}

/// Whether a change names an offset a log can hold (`ack_below` may name the end of one that
/// holds `i64::MAX - 1`). Checked before writing a record and again when replaying one.
fn offset_valid(change: Change) -> bool {
    match change {
        Change::Ack(offset) | Change::Deliver(offset) => (0..i64::MAX).contains(&offset),
        Change::AckBelow(offset) => offset >= 0,
    }
}

/// Replaces `path` with `bytes` durably; at no point does `path` hold anything but its old or
/// its new contents. Returns the file, open for writing.
fn replace_durably(path: &Path, bytes: &[u8]) -> Result<File, StorageError> {
    let file = write_temp(path, bytes)?;
    commit_temp(path)?;
    Ok(file)
}

/// First half of a replacement: `bytes`, durable in `path`'s temporary sibling.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<File, StorageError> {
    let temp = layout::temp_file(path);
    let mut file = File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(io_error("create", &temp))?;
    file.write_all(bytes).map_err(io_error("write", &temp))?;
    file.sync_all().map_err(io_error("fsync", &temp))?;
    Ok(file)
}

/// Second half: the temporary sibling renamed over `path`, the rename made durable.
fn commit_temp(path: &Path) -> Result<(), StorageError> {
    let temp = layout::temp_file(path);
    fs::rename(&temp, path).map_err(io_error("rename into place", path))?;
    meta::sync_parent(path)
}

fn remove_if_present(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(file = %path.display(), "removed a cursor file left by a crash");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", path)(e)),
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StorageError {
    StorageError::CorruptMeta {
        path: path.to_owned(),
        reason: reason.into(),
    }
}
