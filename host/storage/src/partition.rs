//! One partition: a sequence of segments, its bounds, its high watermark and the watch channel
//! that announces it. Appends, rolls and retention are serialised by the partition's mutex;
//! reads take it only to snapshot a segment's file and bounds, then read positionally, since
//! bytes below the high watermark never change while the file is open.
//!
//! **Invariant:** readers see only offsets below the high watermark, and under the `fsync`
//! policy the high watermark only covers fsynced bytes, so no reader ever sees a record that
//! a crash could take back. Under `relaxed` the high watermark is the log end.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::watch;

use crate::batch::{self, HEADER_BYTES, LOCATE_BYTES, LOG_OVERHEAD_BYTES};
use crate::error::io_error;
use crate::failpoint::FailPoints;
use crate::index::IndexEntry;
use crate::producers::{PRODUCER_ID_EXPIRATION_MS_DEFAULT, ProducerStates, Verdict};
use crate::segment::{self, Segment};
use crate::stats::Stats;
use crate::topic_config::{Durability, TopicConfig};
use crate::{AppendResult, PartitionOffsets, ReadResult, StorageError, TimestampOffset};
use crate::{compaction, layout, meta, records};

mod compact;
mod delete_records;
mod idempotence;

pub use delete_records::DELETE_TO_HIGH_WATERMARK;

/// What creating or opening a partition needs besides its directory.
#[derive(Debug, Clone, Copy)]
pub struct OpenContext<'a> {
    /// Broker-wide defaults the overrides apply to.
    pub defaults: &'a TopicConfig,
    /// Failure points shared by every partition.
    pub fail: &'a FailPoints,
    /// Counters shared by every partition.
    pub stats: &'a Arc<Stats>,
    /// When repairing: the `lost+found` root (per partition below it).
    pub repair: Option<&'a Path>,
    /// Wall clock.
    pub now_ms: i64,
}

/// What an append needs from the syncer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncNeed {
    /// Nothing: already visible (relaxed, and a flush is already scheduled).
    None,
    /// Fsync soon: writers wait for it (`fsync` policy, or `flush.bytes` reached).
    Now,
    /// Fsync within this many milliseconds (`relaxed`, first unflushed write).
    Within(u64),
}

/// One partition's log.
#[derive(Debug)]
pub struct Partition {
    topic: String,
    id: u32,
    dir: PathBuf,
    fail: FailPoints,
    stats: Arc<Stats>,
    state: Mutex<State>,
    /// Set while the partition waits in the syncer's queue, so it is queued once.
    pub(crate) sync_queued: AtomicBool,
    /// Compaction: held for a whole pass, so passes of one partition never overlap; holds
    /// the offset below which the sealed log was cleaned (in memory: after a restart the first
    /// pass counts the whole log as dirty, which costs one pass and changes nothing else).
    cleaner: Mutex<compact::Cleaner>,
}

#[derive(Debug)]
struct State {
    /// By base offset; never empty; the last one is the active segment.
    segments: BTreeMap<i64, Segment>,
    log_start: i64,
    log_end: i64,
    visible: Visible,
    /// Announces the high watermark. `None` once the topic is deleted or the partition
    /// failed: dropping the sender wakes every receiver.
    hw_tx: Option<watch::Sender<i64>>,
    /// Why appends stopped: a write that could not be undone, or an fsync that failed (after a
    /// failed fsync the page cache may have dropped the data, so nothing after it is trusted).
    failed: Option<String>,
    /// Bytes written since the last fsync (relaxed policy bookkeeping).
    unflushed_bytes: u64,
    /// Idempotent producers' epochs and last batches, checked by every append.
    producers: ProducerStates,
}

/// The high watermark and where it lies in the log.
#[derive(Debug, Clone, Copy)]
struct Visible {
    offset: i64,
    segment: i64,
    position: u64,
}

impl Partition {
    /// Creates an empty partition in the new directory `dir` and makes it durable.
    pub fn create(
        topic: &str,
        id: u32,
        dir: &Path,
        config: &TopicConfig,
        cx: OpenContext<'_>,
    ) -> Result<Partition, StorageError> {
        fs::create_dir(dir).map_err(io_error("create directory", dir))?;
        Self::start_empty(topic, id, dir, config, cx)
    }

    /// A partition of one empty segment at offset 0, made durable, in the existing `dir`.
    fn start_empty(
        topic: &str,
        id: u32,
        dir: &Path,
        config: &TopicConfig,
        cx: OpenContext<'_>,
    ) -> Result<Partition, StorageError> {
        let segment = Segment::create(dir, 0, config.segment_bytes, cx.now_ms)?;
        meta::sync_dir(dir)?;
        Ok(Self::assemble(
            topic,
            id,
            dir,
            cx.fail.clone(),
            Arc::clone(cx.stats),
            BTreeMap::from([(0, segment)]),
        ))
    }

    /// Opens the partition in `dir`: checks its sealed segments and recovers the active one.
    /// A damaged sealed segment fails the open with `CorruptSegment`, unless `repair` names
    /// where to move what follows the damage, in which case the log is cut there.
    pub fn open(
        topic: &str,
        id: u32,
        dir: &Path,
        config: &TopicConfig,
        cx: OpenContext<'_>,
        repair: Option<&Path>,
    ) -> Result<Partition, StorageError> {
        let (fail, stats, now_ms) = (cx.fail.clone(), Arc::clone(cx.stats), cx.now_ms);
        // Repair reads every sealed batch; a normal start checks only what a crash could touch.
        let thorough = repair.is_some();
        compaction::remove_leftovers(dir)?;
        let bases = list_segments(dir)?;
        let Some((&active_base, sealed_bases)) = bases.split_last() else {
            return Self::start_empty(topic, id, dir, config, cx);
        };
        let mut segments = BTreeMap::new();
        let mut cut_at = None;
        for (i, &base) in sealed_bases.iter().enumerate() {
            let next_base = bases[i + 1];
            // Compaction leaves gaps, at a segment's end too: offsets need only increase.
            let fault = match Segment::open_sealed(dir, base, thorough, i == 0, now_ms)? {
                Ok(segment) if segment.next_offset() <= next_base => {
                    segments.insert(base, segment);
                    continue;
                }
                Ok(segment) => segment::SealedFault {
                    position: segment.size(),
                    reason: format!(
                        "ends at offset {} but the next segment starts before, at {next_base}",
                        segment.next_offset()
                    ),
                    path: segment.log_path().to_owned(),
                },
                Err(fault) => fault,
            };
            let Some(lost_found) = repair else {
                return Err(StorageError::CorruptSegment {
                    path: fault.path,
                    position: fault.position,
                    reason: fault.reason,
                });
            };
            cut_log(dir, &bases[i..], fault.position, lost_found, &fault.reason)?;
            cut_at = Some(base);
            break;
        }
        let active_base = cut_at.unwrap_or(active_base);
        let active = Segment::recover_active(
            dir,
            active_base,
            config.segment_bytes,
            cut_at.is_some(),
            &fail,
            now_ms,
        )?;
        // Whatever survived a crash may still be only in the page cache: sync it before
        // readers see it.
        active.sync(&fail)?;
        segments.insert(active_base, active);
        remove_orphans(dir, &segments)?;
        let partition = Self::assemble(topic, id, dir, fail, stats, segments);
        partition.restore_log_start()?;
        partition.rebuild_producers(now_ms)?;
        Ok(partition)
    }

    fn assemble(
        topic: &str,
        id: u32,
        dir: &Path,
        fail: FailPoints,
        stats: Arc<Stats>,
        segments: BTreeMap<i64, Segment>,
    ) -> Partition {
        let (log_start, log_end, visible) = {
            let first = segments.values().next();
            let last = segments.values().next_back();
            let log_end = last.map_or(0, Segment::next_offset);
            let visible = Visible {
                offset: log_end,
                segment: last.map_or(0, Segment::base_offset),
                position: last.map_or(0, Segment::size),
            };
            (first.map_or(0, Segment::base_offset), log_end, visible)
        };
        let (hw_tx, _) = watch::channel(log_end);
        Partition {
            topic: topic.to_owned(),
            id,
            dir: dir.to_owned(),
            fail,
            stats,
            state: Mutex::new(State {
                segments,
                log_start,
                log_end,
                visible,
                hw_tx: Some(hw_tx),
                failed: None,
                unflushed_bytes: 0,
                producers: ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT),
            }),
            sync_queued: AtomicBool::new(false),
            cleaner: Mutex::new(compact::Cleaner::new(log_start)),
        }
    }

    /// Validates `batches` and appends them as one unit at the log end.
    pub fn append(
        &self,
        batches: &[u8],
        config: &TopicConfig,
        batch_bytes_max: u32,
        now_ms: i64,
    ) -> Result<(AppendResult, SyncNeed), StorageError> {
        // Validation and the copy need no lock: CRC work does not block other appenders.
        let spans = batch::split(batches, batch_bytes_max)?;
        // Only compacted topics read records; every other append stays header-only.
        if config.cleanup_policy.compacts() {
            require_keys(batches, &spans)?;
        }
        let mut bytes = batches.to_vec();

        let mut guard = self.lock();
        let state = &mut *guard;
        self.check_writable(state)?;
        self.fail.check("append")?;
        let base_offset = state.log_end;
        // Checked under the lock that assigns offsets, so no other append slips in between.
        let producers = match state
            .producers
            .check(&idempotence::incoming(&spans, base_offset))?
        {
            Verdict::Append(pending) => pending,
            Verdict::Duplicate {
                base_offset,
                last_offset,
            } => {
                let (start, hw) = (state.log_start, state.visible.offset);
                let result =
                    idempotence::duplicate_result(base_offset, last_offset, start, hw, now_ms);
                return Ok((result, SyncNeed::None));
            }
        };
        let mut log_end = base_offset;
        for span in &spans {
            batch::rewrite(&mut bytes[span.range.clone()], log_end);
            log_end = log_end
                .checked_add(span.offset_count)
                .ok_or_else(|| StorageError::CorruptBatch("offsets would overflow i64".into()))?;
        }
        let last_offset = log_end - 1;
        if self.roll_due(state, config, bytes.len() as u64, last_offset, now_ms) {
            self.roll(state, config, now_ms)?;
        }
        let active = active_mut(state)?;
        if let Err((e, cut)) = active.append(&bytes, &spans, base_offset) {
            if !cut {
                // The file may hold bytes past its end that a later append would not fully
                // overwrite; a restart's recovery sorts that out.
                tracing::error!(topic = %self.topic, partition = self.id, error = %e,
                    "cannot cut off a failed write; appends stop until restart");
                state.failed = Some(format!("a failed write could not be undone: {e}"));
            }
            return Err(e);
        }
        let (active_base, active_size) = (active.base_offset(), active.size());
        state.log_end = log_end;
        state.producers.apply(producers, now_ms);
        self.stats.appended(bytes.len() as u64);
        let need = match config.durability {
            Durability::Fsync => SyncNeed::Now,
            Durability::Relaxed => {
                publish(
                    state,
                    Visible {
                        offset: log_end,
                        segment: active_base,
                        position: active_size,
                    },
                );
                let first = state.unflushed_bytes == 0;
                state.unflushed_bytes += bytes.len() as u64;
                if state.unflushed_bytes >= config.flush_bytes {
                    SyncNeed::Now
                } else if first {
                    SyncNeed::Within(config.flush_ms)
                } else {
                    SyncNeed::None
                }
            }
        };
        Ok((
            AppendResult {
                base_offset,
                last_offset,
                log_start: state.log_start,
                append_time_ms: now_ms,
                high_watermark: state.visible.offset,
                duplicate: false,
            },
            need,
        ))
    }

    fn roll_due(
        &self,
        state: &State,
        config: &TopicConfig,
        incoming: u64,
        last_offset: i64,
        now_ms: i64,
    ) -> bool {
        let Some(active) = state.segments.values().next_back() else {
            return false;
        };
        active.size() > 0
            && (active.size() + incoming > config.segment_bytes
                || !active.can_hold(last_offset)
                || now_ms.saturating_sub(active.opened_ms()) >= config.segment_ms)
    }

    /// Seals the active segment (fsynced, indexes trimmed) and starts a new one at the log end.
    fn roll(
        &self,
        state: &mut State,
        config: &TopicConfig,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.fail.check("roll")?;
        let log_end = state.log_end;
        let sealed = {
            let active = active_mut(state)?;
            let started = std::time::Instant::now();
            let sealed = active.seal(&self.fail);
            self.stats.fsynced(started.elapsed());
            if let Err(e) = sealed {
                // The segment's indexes may be trimmed and its data not durable: stop here.
                state.failed = Some(format!("sealing a segment failed: {e}"));
                return Err(e);
            }
            Visible {
                offset: active.next_offset(),
                segment: active.base_offset(),
                position: active.size(),
            }
        };
        let created = Segment::create(&self.dir, log_end, config.segment_bytes, now_ms)
            .and_then(|segment| meta::sync_dir(&self.dir).map(|()| segment));
        let segment = match created {
            Ok(segment) => segment,
            Err(e) => {
                state.failed = Some(format!("starting a new segment failed: {e}"));
                return Err(e);
            }
        };
        state.segments.insert(log_end, segment);
        state.unflushed_bytes = 0;
        publish(state, sealed);
        tracing::debug!(topic = %self.topic, partition = self.id, base_offset = log_end, "segment rolled");
        Ok(())
    }

    /// The group-commit step: fsyncs the active segment and raises the high watermark to what
    /// was written before the fsync began. Appends that land during the fsync wait for the
    /// next one. A failed fsync stops the partition (see `State::failed`).
    pub fn sync_now(&self) -> Result<(), StorageError> {
        let (file, path, target) = {
            let state = self.lock();
            if state.failed.is_some() || state.hw_tx.is_none() {
                return Ok(());
            }
            let Some(active) = state.segments.values().next_back() else {
                return Ok(());
            };
            if state.visible.offset == state.log_end && state.unflushed_bytes == 0 {
                return Ok(());
            }
            let target = Visible {
                offset: state.log_end,
                segment: active.base_offset(),
                position: active.size(),
            };
            (
                Arc::clone(active.file()),
                active.log_path().to_owned(),
                target,
            )
        };
        let started = std::time::Instant::now();
        let synced = self
            .fail
            .check("fsync")
            .and_then(|()| file.sync_data().map_err(io_error("fsync", &path)));
        self.stats.fsynced(started.elapsed());
        let mut state = self.lock();
        match synced {
            Ok(()) => {
                if state.log_end == target.offset {
                    state.unflushed_bytes = 0;
                }
                publish(&mut state, target);
                Ok(())
            }
            Err(e) => {
                tracing::error!(topic = %self.topic, partition = self.id, error = %e,
                    "fsync failed; the partition stops taking writes until restart");
                state.failed = Some(format!("fsync failed: {e}"));
                // Waiters wake and find the failure when they look.
                state.hw_tx = None;
                Err(e)
            }
        }
    }

    /// Whole batches from the one containing `offset`, up to `bytes_max` but at least one, all
    /// below the high watermark and from one segment.
    pub fn read(&self, offset: i64, bytes_max: u32) -> Result<ReadResult, StorageError> {
        let (file, path, floor, limit, offsets) = {
            let state = self.lock();
            self.check_readable(&state)?;
            let offsets = offsets_of(&state);
            if offset < offsets.log_start || offset > offsets.log_end {
                return Err(StorageError::OffsetOutOfRange {
                    offset,
                    log_start: offsets.log_start,
                    log_end: offsets.log_end,
                });
            }
            if offset >= state.visible.offset {
                return Ok(ReadResult {
                    batches: Bytes::new(),
                    offsets,
                });
            }
            let segment =
                segment_holding(&state, offset).ok_or_else(|| self.inconsistent(&self.dir, 0))?;
            if segment.base_offset() > state.visible.segment {
                // `offset` lies in a gap compaction left, and what follows is not yet visible.
                return Ok(ReadResult {
                    batches: Bytes::new(),
                    offsets,
                });
            }
            let floor = segment
                .floor(offset)
                .ok_or_else(|| self.inconsistent(segment.log_path(), 0))?;
            let limit = visible_limit(&state, segment);
            (
                Arc::clone(segment.file()),
                segment.log_path().to_owned(),
                floor,
                limit,
                offsets,
            )
        };

        let (position, first_bytes) = self
            .find(&file, &path, floor, limit, |_, last_offset, _| {
                offset <= last_offset
            })?
            .ok_or_else(|| self.inconsistent(&path, limit))?;
        let wanted = u64::from(bytes_max).max(first_bytes);
        let mut buf = read_at(&file, &path, position, wanted.min(limit - position))?;
        buf.truncate(whole_batches_len(&buf));
        self.verify_crcs(&buf, &path, position)?;
        Ok(ReadResult {
            batches: Bytes::from(buf),
            offsets,
        })
    }

    /// Checks the CRC-32C of every batch read, so damage on disk is reported, never served.
    fn verify_crcs(&self, buf: &[u8], path: &Path, position: u64) -> Result<(), StorageError> {
        let mut at = 0usize;
        while let Some(header) = buf.get(at..).and_then(|b| b.first_chunk::<HEADER_BYTES>()) {
            let fields = batch::BatchHeader::parse(header);
            let end = at + fields.total_bytes() as usize;
            let computed = batch::crc_of(&buf[at..end]);
            if computed != fields.crc {
                let position = position + at as u64;
                tracing::error!(file = %path.display(), position, stored = fields.crc, computed,
                    "CRC-32C mismatch in a stored batch; not served");
                return Err(StorageError::Io {
                    context: format!("read {} at byte {position}", path.display()),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "stored batch fails its CRC-32C check (disk damage?); run `sluice repair`",
                    ),
                });
            }
            at = end;
        }
        Ok(())
    }

    /// The first visible batch whose largest timestamp is at least `timestamp`.
    pub fn offset_for_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, StorageError> {
        let (file, path, floor, limit, log_start) = {
            let state = self.lock();
            self.check_readable(&state)?;
            let Some(segment) = state.segments.values().find(|s| {
                s.size() > 0
                    && s.next_offset() > state.log_start
                    && s.max_timestamp() >= timestamp
                    && s.base_offset() < state.visible.offset
            }) else {
                return Ok(None);
            };
            let Some(floor) = segment.time_floor(timestamp) else {
                return Ok(None);
            };
            let limit = visible_limit(&state, segment);
            (
                Arc::clone(segment.file()),
                segment.log_path().to_owned(),
                floor,
                limit,
                state.log_start,
            )
        };
        let mut found = None;
        // `None` from the walk: the visible part of the segment holds no such batch (its
        // newest batches are not durable yet, and later segments are not visible at all).
        // Records below the log start (DeleteRecords) are not offered, even when their batch
        // straddles it.
        self.find(&file, &path, floor, limit, |base, last, max_ts| {
            if max_ts >= timestamp && last >= log_start {
                found = Some(TimestampOffset {
                    offset: base.max(log_start),
                    timestamp: max_ts,
                });
            }
            found.is_some()
        })?;
        Ok(found)
    }

    /// Steps batch by batch from the index entry `floor` until `stop(base_offset, last_offset,
    /// max_timestamp)` says so; returns that batch's position and size, or `None` when the
    /// walk reaches `limit` first. Checks on the way that offsets still increase (compaction
    /// leaves gaps), the read-side twin of recovery's check.
    fn find(
        &self,
        file: &File,
        path: &Path,
        floor: IndexEntry,
        limit: u64,
        mut stop: impl FnMut(i64, i64, i64) -> bool,
    ) -> Result<Option<(u64, u64)>, StorageError> {
        let mut position = floor.position;
        let mut expected = floor.offset;
        loop {
            if position == limit {
                return Ok(None);
            }
            if position + HEADER_BYTES as u64 > limit {
                return Err(self.inconsistent(path, position));
            }
            let mut header = [0u8; HEADER_BYTES];
            file.read_exact_at(&mut header, position)
                .map_err(io_error("read", path))?;
            let prefix: &[u8; LOCATE_BYTES] = header
                .first_chunk()
                .ok_or_else(|| self.inconsistent(path, position))?;
            let (base_offset, batch_length, last_offset_delta) = batch::locate(prefix);
            let total = batch::total_bytes(batch_length);
            if base_offset < expected
                || last_offset_delta < 0
                || total < HEADER_BYTES as u64
                || position + total > limit
            {
                return Err(self.inconsistent(path, position));
            }
            let last_offset = base_offset + i64::from(last_offset_delta);
            let max_timestamp = batch::BatchHeader::parse(&header).max_timestamp;
            if stop(base_offset, last_offset, max_timestamp) {
                return Ok(Some((position, total)));
            }
            position += total;
            expected = last_offset + 1;
        }
    }

    /// The partition's bounds.
    pub fn offsets(&self) -> Result<PartitionOffsets, StorageError> {
        let state = self.lock();
        self.check_readable(&state)?;
        Ok(offsets_of(&state))
    }

    /// Bytes of the partition's segment logs and its bounds, for metrics: answered even for a
    /// failed partition, whose files are still on disk.
    pub fn usage(&self) -> (u64, PartitionOffsets) {
        let state = self.lock();
        let bytes = state.segments.values().map(Segment::size).sum();
        (bytes, offsets_of(&state))
    }

    /// A receiver of the high watermark, current value included.
    pub fn watch(&self) -> Result<watch::Receiver<i64>, StorageError> {
        let state = self.lock();
        self.check_readable(&state)?;
        state
            .hw_tx
            .as_ref()
            .map(watch::Sender::subscribe)
            .ok_or_else(|| self.gone())
    }

    /// Rolls the active segment when `segment.ms` says so, then deletes the oldest sealed
    /// segments that `retention.ms` or `retention.bytes` expire, unless `cleanup.policy` leaves
    /// out `delete` (then only the roll happens, which compaction needs). Returns (segments,
    /// bytes) deleted. The active segment is never deleted.
    pub fn enforce_retention(
        &self,
        config: &TopicConfig,
        now_ms: i64,
    ) -> Result<(u64, u64), StorageError> {
        let doomed = {
            let mut guard = self.lock();
            let state = &mut *guard;
            if state.hw_tx.is_none() || state.failed.is_some() {
                return Ok((0, 0));
            }
            let log_end = state.log_end;
            state.producers.expire(now_ms);
            if self.roll_due(state, config, 0, log_end, now_ms) {
                self.roll(state, config, now_ms)?;
            }
            let mut total: u64 = state.segments.values().map(Segment::size).sum();
            let mut doomed = Vec::new();
            let sealed = state.segments.len().saturating_sub(1);
            let deletes = config.cleanup_policy.deletes();
            for segment in state.segments.values().take(sealed) {
                let by_time = deletes
                    && config.retention_ms >= 0
                    && segment.max_timestamp() < now_ms.saturating_sub(config.retention_ms);
                let by_size = deletes
                    && config.retention_bytes >= 0
                    && total - segment.size() >= config.retention_bytes as u64;
                if !(by_time || by_size) {
                    break;
                }
                total -= segment.size();
                doomed.push((segment.base_offset(), segment.size()));
            }
            for (base, _) in &doomed {
                state.segments.remove(base);
            }
            if let Some(first) = state.segments.keys().next() {
                state.log_start = state.log_start.max(*first);
            }
            doomed
        };
        let mut bytes = 0;
        for (base, size) in &doomed {
            // Readers holding the file keep reading it: unlinking does not close it.
            segment::remove_files(&self.dir, *base)?;
            bytes += size;
            tracing::info!(topic = %self.topic, partition = self.id, base_offset = base,
                bytes = size, "segment deleted by retention");
        }
        Ok((doomed.len() as u64, bytes))
    }

    /// Marks the partition deleted: drops the watch sender (waking waiters) and makes every
    /// later call fail with `UnknownTopic`.
    pub fn close(&self) {
        let mut state = self.lock();
        state.hw_tx = None;
        state.failed.get_or_insert_with(|| "deleted".to_owned());
    }

    /// A poisoned lock means a panic elsewhere while holding it; no code under this lock can
    /// panic half-way through an update, so the state is still consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_readable(&self, state: &State) -> Result<(), StorageError> {
        match (&state.hw_tx, &state.failed) {
            (Some(_), _) => Ok(()),
            (None, Some(reason)) if reason != "deleted" => Err(self.failed(reason)),
            (None, _) => Err(self.gone()),
        }
    }

    fn check_writable(&self, state: &State) -> Result<(), StorageError> {
        self.check_readable(state)?;
        match &state.failed {
            Some(reason) => Err(self.failed(reason)),
            None => Ok(()),
        }
    }

    fn failed(&self, reason: &str) -> StorageError {
        StorageError::Io {
            context: format!("partition {}-{}", self.topic, self.id),
            source: std::io::Error::other(format!(
                "{reason}; the partition takes no writes until the broker restarts"
            )),
        }
    }

    fn gone(&self) -> StorageError {
        StorageError::UnknownTopic(self.topic.clone())
    }

    /// The file does not match what recovery and appends established: changed behind our back.
    fn inconsistent(&self, path: &Path, position: u64) -> StorageError {
        StorageError::Io {
            context: format!("read {} at byte {position}", path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "log file no longer matches its index (modified while open?)",
            ),
        }
    }
}

fn active_mut(state: &mut State) -> Result<&mut Segment, StorageError> {
    state
        .segments
        .values_mut()
        .next_back()
        .ok_or_else(|| StorageError::Io {
            context: "append".to_owned(),
            source: std::io::Error::other("partition has no segment"),
        })
}

/// Raises the high watermark (never lowers it) and announces it.
fn publish(state: &mut State, to: Visible) {
    if to.offset > state.visible.offset
        || (to.offset == state.visible.offset && to.segment > state.visible.segment)
    {
        state.visible = to;
        if let Some(tx) = &state.hw_tx {
            tx.send_replace(to.offset);
        }
    }
}

fn offsets_of(state: &State) -> PartitionOffsets {
    PartitionOffsets {
        log_start: state.log_start,
        log_end: state.log_end,
        high_watermark: state.visible.offset,
    }
}

/// How far into `segment` readers may read.
fn visible_limit(state: &State, segment: &Segment) -> u64 {
    match segment.base_offset().cmp(&state.visible.segment) {
        std::cmp::Ordering::Less => segment.size(),
        std::cmp::Ordering::Equal => state.visible.position.min(segment.size()),
        std::cmp::Ordering::Greater => 0,
    }
}

/// The segment holding the first batch that ends at or after `offset`: the one whose range
/// contains it, or a later one when `offset` lies in a gap compaction left at a segment's end
/// (or in a first segment compaction emptied).
fn segment_holding(state: &State, offset: i64) -> Option<&Segment> {
    let from = state
        .segments
        .range(..=offset)
        .next_back()
        .map_or(i64::MIN, |(&base, _)| base);
    state
        .segments
        .range(from..)
        .map(|(_, s)| s)
        .find(|s| s.next_offset() > offset)
}

/// Refuses a record without a key, as Kafka does on compacted topics: compaction keeps the
/// latest record of each key, and a keyless one has none.
fn require_keys(input: &[u8], spans: &[batch::Span]) -> Result<(), StorageError> {
    for (i, span) in spans.iter().enumerate() {
        let batch = input.get(span.range.clone()).unwrap_or_default();
        if records::is_control(batch)? {
            continue;
        }
        let (section, count) = records::records_section(batch)?;
        for (n, record) in records::iter(&section, count).enumerate() {
            if record?.key.is_none() {
                return Err(StorageError::InvalidRecord(format!(
                    "record {n} of batch {i} has no key; a compacted topic (cleanup.policy \
                     includes `compact`) keeps the latest record per key, so every record needs one"
                )));
            }
        }
    }
    Ok(())
}

fn read_at(file: &File, path: &Path, position: u64, len: u64) -> Result<Vec<u8>, StorageError> {
    let len = usize::try_from(len).map_err(|_| StorageError::Io {
        context: format!("read {}", path.display()),
        source: std::io::Error::other("read too large for this platform"),
    })?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, position)
        .map_err(io_error("read", path))?;
    Ok(buf)
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

/// Base offsets of the segments in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<i64>, StorageError> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        if let Some(base) = entry.file_name().to_str().and_then(layout::parse_log_file) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Index files whose log is gone (a retention delete cut short) are removed.
fn remove_orphans(dir: &Path, segments: &BTreeMap<i64, Segment>) -> Result<(), StorageError> {
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((digits, _)) = name
            .split_once('.')
            .filter(|(_, ext)| *ext == "index" || *ext == "timeindex")
        else {
            continue;
        };
        let Ok(base) = digits.parse::<i64>() else {
            continue;
        };
        if !segments.contains_key(&base) {
            let path = entry.path();
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
        }
    }
    Ok(())
}

/// Repair: cuts the log at byte `position` of the segment `bases[0]`, moving the bytes after it
/// and every later segment into `lost_found`, so nothing is destroyed. The cut segment becomes
/// the active one.
fn cut_log(
    dir: &Path,
    bases: &[i64],
    position: u64,
    lost_found: &Path,
    reason: &str,
) -> Result<(), StorageError> {
    fs::create_dir_all(lost_found).map_err(io_error("create directory", lost_found))?;
    let Some((&cut_base, later)) = bases.split_first() else {
        return Ok(());
    };
    let log_path = layout::log_file(dir, cut_base);
    let log = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&log_path)
        .map_err(io_error("open", &log_path))?;
    let size = log.metadata().map_err(io_error("stat", &log_path))?.len();
    if size > position {
        let tail_path = lost_found.join(format!("{cut_base:020}.log.from-byte-{position}"));
        let mut tail = File::create(&tail_path).map_err(io_error("create", &tail_path))?;
        let mut source = &log;
        std::io::Seek::seek(&mut source, std::io::SeekFrom::Start(position))
            .map_err(io_error("seek", &log_path))?;
        std::io::copy(&mut std::io::Read::take(source, size - position), &mut tail)
            .map_err(io_error("copy to", &tail_path))?;
        tail.sync_all().map_err(io_error("fsync", &tail_path))?;
    }
    for &base in later {
        for path in [
            layout::log_file(dir, base),
            layout::offset_index_file(dir, base),
            layout::time_index_file(dir, base),
        ] {
            if let Some(name) = path.file_name() {
                let to = lost_found.join(name);
                if path.exists() {
                    fs::rename(&path, &to).map_err(io_error("move to lost+found", &path))?;
                }
            }
        }
    }
    meta::sync_dir(lost_found)?;
    log.set_len(position)
        .map_err(io_error("truncate", &log_path))?;
    log.sync_all().map_err(io_error("fsync", &log_path))?;
    meta::sync_dir(dir)?;
    tracing::warn!(
        file = %log_path.display(), position, %reason, segments_moved = later.len(),
        lost_found = %lost_found.display(), "repair cut the log; what followed is kept in lost+found"
    );
    Ok(())
}
