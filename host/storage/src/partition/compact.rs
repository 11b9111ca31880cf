//! One compaction pass over a partition (the rule is in `compaction.rs`). Only sealed segments
//! are rewritten, never the active one; the key map covers the whole visible log, so a record
//! is dropped only when a later one of its key is visible (under `fsync`: durable).
//!
//! Crash safety: a segment's cleaned log and indexes are written beside it as `*.cleaned` and
//! fsynced; then, under the partition lock, its old indexes are removed and the cleaned log is
//! renamed over the old one (the commit point), then the cleaned indexes. A crash before the
//! rename leaves the old log; after it, the new one; either way open removes `*.cleaned`
//! leftovers and rebuilds missing indexes. Log start and log end never move: a first segment
//! compacted to nothing is kept, empty; a later one is deleted.

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use super::{Partition, visible_limit};
use crate::batch::{BatchHeader, HEADER_BYTES};
use crate::compaction::{self, CleanedBatch, KeyMap, Rules};
use crate::error::io_error;
use crate::index::SegmentIndex;
use crate::segment::{self, Segment};
use crate::topic_config::{SEGMENT_BYTES_MAX, TopicConfig};
use crate::{CompactionReport, StorageError, layout, meta};

/// A segment as the pass saw it, read outside the lock.
#[derive(Debug)]
struct View {
    base: i64,
    file: Arc<File>,
    path: PathBuf,
    /// Readable bytes (all of a sealed segment; the visible part of the active one).
    limit: u64,
    next_offset: i64,
}

/// A sealed segment's cleaned version, written and fsynced under `*.cleaned` names.
#[derive(Debug)]
struct Rewritten {
    log: File,
    size: u64,
    next_offset: i64,
    index: SegmentIndex,
    removed: u64,
}

impl Partition {
    /// Compacts the sealed segments if at least `min.cleanable.dirty.ratio` of their bytes was
    /// written since the last pass, or always when `force`d.
    pub fn compact(
        &self,
        config: &TopicConfig,
        now_ms: i64,
        force: bool,
    ) -> Result<CompactionReport, StorageError> {
        let mut cleaner = self.cleaner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(views) = self.compaction_views() else {
            return Ok(CompactionReport::default());
        };
        let Cleaner { cleaned_to, due_ms } = *cleaner;
        let sealed = views
            .get(..views.len().saturating_sub(1))
            .unwrap_or_default();
        let total: u64 = sealed.iter().map(|v| v.limit).sum();
        let dirty: u64 = sealed
            .iter()
            .filter(|v| v.next_offset > cleaned_to)
            .map(|v| v.limit)
            .sum();
        let ratio = config.min_cleanable_dirty_ratio.get();
        let dirty_enough = dirty > 0 && (dirty as f64) >= ratio * total as f64;
        let something_expired = due_ms.is_some_and(|due| due <= now_ms);
        if sealed.is_empty() || !(force || dirty_enough || something_expired) {
            return Ok(CompactionReport::default());
        }
        let (map, mapped_end) = key_map(&views)?;
        let rules = Rules {
            lag_floor_ms: now_ms.saturating_sub(config.min_compaction_lag_ms),
            tombstone_floor_ms: now_ms.saturating_sub(config.delete_retention_ms),
            lag_ms: config.min_compaction_lag_ms,
            tombstone_ms: config.delete_retention_ms,
        };
        let mut next_due = None;
        let mut report = CompactionReport {
            partitions_cleaned: 1,
            ..CompactionReport::default()
        };
        for view in sealed {
            if view.next_offset > mapped_end {
                break;
            }
            let (rewritten, due) = self.rewrite(view, &map, rules)?;
            next_due = compaction::earliest(next_due, due);
            if let Some(rewritten) = rewritten {
                let (removed, size) = (rewritten.removed, rewritten.size);
                if self.swap(view, rewritten, now_ms)? {
                    report.records_removed += removed;
                    report.bytes_freed += view.limit.saturating_sub(size);
                }
            }
            cleaner.cleaned_to = cleaner.cleaned_to.max(view.next_offset);
        }
        cleaner.due_ms = next_due;
        if report.records_removed > 0 {
            tracing::info!(topic = %self.topic, partition = self.id,
                records = report.records_removed, bytes = report.bytes_freed, "compacted");
        }
        Ok(report)
    }

    /// Every segment with what readers may see of it; `None` when the partition is deleted or
    /// failed.
    fn compaction_views(&self) -> Option<Vec<View>> {
        let state = self.lock();
        if state.hw_tx.is_none() || state.failed.is_some() {
            return None;
        }
        Some(
            state
                .segments
                .values()
                .map(|s| View {
                    base: s.base_offset(),
                    file: Arc::clone(s.file()),
                    path: s.log_path().to_owned(),
                    limit: visible_limit(&state, s),
                    next_offset: s.next_offset(),
                })
                .collect(),
        )
    }

    /// Writes the cleaned version of a sealed segment; `None` when nothing would be removed,
    /// or when the result would not fit a segment (decompressed batches can be larger). With
    /// it, when something kept could go at the earliest (see `compaction::clean_batch`).
    fn rewrite(
        &self,
        view: &View,
        map: &KeyMap,
        rules: Rules,
    ) -> Result<(Option<Rewritten>, Option<i64>), StorageError> {
        let paths = cleaned_paths(&self.dir, view.base);
        let written = write_cleaned(view, map, rules, &paths);
        match written {
            Ok((Some(rewritten), due)) => Ok((Some(rewritten), due)),
            other => {
                remove_cleaned(&paths);
                other
            }
        }
    }

    /// Puts `rewritten` in place of the segment `view` under the lock, unless the segment
    /// changed meanwhile (retention deleted it); false then, and the output is discarded.
    fn swap(&self, view: &View, rewritten: Rewritten, now_ms: i64) -> Result<bool, StorageError> {
        let paths = cleaned_paths(&self.dir, view.base);
        let mut state = self.lock();
        let unchanged = state
            .segments
            .get(&view.base)
            .is_some_and(|s| Arc::ptr_eq(s.file(), &view.file));
        let active = state.segments.keys().next_back() == Some(&view.base);
        if !unchanged || active || state.hw_tx.is_none() || state.failed.is_some() {
            drop(state);
            remove_cleaned(&paths);
            return Ok(false);
        }
        let first = state.segments.keys().next() == Some(&view.base);
        if rewritten.size == 0 && !first {
            state.segments.remove(&view.base);
            drop(state);
            remove_cleaned(&paths);
            // Readers holding the file keep reading it: unlinking does not close it.
            segment::remove_files(&self.dir, view.base)?;
            return Ok(true);
        }
        let [log, index, time_index] = &paths;
        for old in [
            layout::offset_index_file(&self.dir, view.base),
            layout::time_index_file(&self.dir, view.base),
        ] {
            match fs::remove_file(&old) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("remove", &old)(e)),
            }
        }
        let log_path = layout::log_file(&self.dir, view.base);
        fs::rename(log, &log_path).map_err(io_error("rename", log))?;
        fs::rename(index, layout::offset_index_file(&self.dir, view.base))
            .map_err(io_error("rename", index))?;
        fs::rename(time_index, layout::time_index_file(&self.dir, view.base))
            .map_err(io_error("rename", time_index))?;
        meta::sync_dir(&self.dir)?;
        let size = rewritten.size;
        let segment = Segment::cleaned(
            &self.dir,
            view.base,
            rewritten.log,
            size,
            rewritten.next_offset,
            rewritten.index,
            now_ms,
        );
        state.segments.insert(view.base, segment);
        if state.visible.segment == view.base {
            state.visible.position = size;
        }
        Ok(true)
    }
}

/// The key map of the visible log, and the offset up to which it is complete (`i64::MAX`
/// when it covers everything; less when it reached `KEY_MAP_BYTES_MAX`).
fn key_map(views: &[View]) -> Result<(KeyMap, i64), StorageError> {
    let mut map = KeyMap::default();
    let mut mapped_end = i64::MAX;
    for view in views {
        compaction::walk_batches(&view.file, &view.path, view.limit, |_, batch| {
            let base = header(batch).base_offset;
            if map.note_batch(batch, base)? {
                Ok(true)
            } else {
                mapped_end = base;
                Ok(false)
            }
        })?;
        if mapped_end != i64::MAX {
            break;
        }
    }
    Ok((map, mapped_end))
}

fn header(batch: &[u8]) -> BatchHeader {
    let mut fixed = [0u8; HEADER_BYTES];
    if let Some(h) = batch.first_chunk::<HEADER_BYTES>() {
        fixed = *h;
    }
    BatchHeader::parse(&fixed)
}

/// The `*.cleaned` log, offset index and time index of the segment at `base`.
fn cleaned_paths(dir: &Path, base: i64) -> [PathBuf; 3] {
    [
        layout::cleaned_file(&layout::log_file(dir, base)),
        layout::cleaned_file(&layout::offset_index_file(dir, base)),
        layout::cleaned_file(&layout::time_index_file(dir, base)),
    ]
}

/// Best effort: what is left is removed at the next open.
fn remove_cleaned(paths: &[PathBuf; 3]) {
    for path in paths {
        if let Err(e) = fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %path.display(), error = %e, "cannot remove compaction output");
        }
    }
}

fn write_cleaned(
    view: &View,
    map: &KeyMap,
    rules: Rules,
    paths: &[PathBuf; 3],
) -> Result<(Option<Rewritten>, Option<i64>), StorageError> {
    let [log_path, index_path, time_path] = paths;
    let log = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(log_path)
        .map_err(io_error("create", log_path))?;
    let mut writer = BufWriter::new(&log);
    let mut notes = Vec::new();
    let (mut size, mut removed, mut next_offset, mut too_big) = (0u64, 0u64, view.base, false);
    let mut due = None;
    compaction::walk_batches(&view.file, &view.path, view.limit, |_, batch| {
        let (cleaned, batch_due) = compaction::clean_batch(batch, map, rules)?;
        due = compaction::earliest(due, batch_due);
        let kept = match cleaned {
            CleanedBatch::Unchanged => Cow::Borrowed(batch),
            CleanedBatch::Dropped(n) => {
                removed += n;
                return Ok(true);
            }
            CleanedBatch::Rewritten(bytes, n) => {
                removed += n;
                Cow::Owned(bytes)
            }
        };
        let fields = header(&kept);
        if size + kept.len() as u64 > SEGMENT_BYTES_MAX {
            too_big = true;
            return Ok(false);
        }
        writer
            .write_all(&kept)
            .map_err(io_error("write", log_path))?;
        notes.push((fields.base_offset, size, fields.max_timestamp));
        size += kept.len() as u64;
        next_offset = fields.base_offset + i64::from(fields.last_offset_delta) + 1;
        Ok(true)
    })?;
    if too_big || removed == 0 {
        return Ok((None, due));
    }
    writer.flush().map_err(io_error("write", log_path))?;
    drop(writer);
    log.sync_all().map_err(io_error("fsync", log_path))?;
    let mut index = SegmentIndex::create(index_path, time_path, view.base, size)?;
    for (offset, position, max_timestamp) in notes {
        index.note(offset, position, max_timestamp);
    }
    index.seal()?;
    if let Some(dir) = log_path.parent() {
        meta::sync_dir(dir)?;
    }
    Ok((
        Some(Rewritten {
            log,
            size,
            next_offset,
            index,
            removed,
        }),
        due,
    ))
}

/// What the cleaner remembers of a partition between passes (in memory: after a restart the
/// first pass treats the whole log as dirty).
#[derive(Debug, Clone, Copy)]
pub struct Cleaner {
    /// Offsets below this were compacted by an earlier pass.
    pub cleaned_to: i64,
    /// When a record an earlier pass kept may go (a tombstone reaching
    /// `delete.retention.ms`, a record leaving `min.compaction.lag.ms`): the periodic pass
    /// runs then even if too little was written since to make the log dirty enough.
    pub due_ms: Option<i64>,
}

impl Cleaner {
    /// A partition no pass has seen.
    pub fn new(log_start: i64) -> Cleaner {
        Cleaner {
            cleaned_to: log_start,
            due_ms: None,
        }
    }
}
