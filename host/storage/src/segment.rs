//! One segment: a log file of batches named by its base offset, and its two indexes.
//!
//! **Invariant:** only the newest segment of a partition may hold bytes that were never
//! fsynced. Rolling fsyncs the old segment's log and indexes before the new segment's file is
//! created, so every older segment is *sealed*: complete, synced, immutable. At open, sealed
//! segments are checked cheaply (their indexes, and the batches after the last index entry);
//! the newest one is scanned in full and its torn tail cut.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::batch::{BatchHeader, HEADER_BYTES, Span};
use crate::error::io_error;
use crate::failpoint::FailPoints;
use crate::index::{IndexEntry, SegmentIndex};
use crate::recovery::{self, ScannedBatch};
use crate::{StorageError, layout};

/// Sealed segments may have offset gaps: compaction leaves them.
const GAPS: bool = true;

/// A segment's log file and indexes.
#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    log: Arc<File>,
    size: u64,
    next_offset: i64,
    index: SegmentIndex,
    /// Wall clock when this process created or opened it, for `segment.ms`.
    opened_ms: i64,
}

/// A fault in a sealed segment: where and what.
#[derive(Debug)]
pub struct SealedFault {
    /// The log file.
    pub path: PathBuf,
    /// First byte of the first invalid batch.
    pub position: u64,
    /// What is wrong there.
    pub reason: String,
}

impl Segment {
    /// Creates an empty segment at `base_offset`; its indexes are sized for `segment_bytes`.
    pub fn create(
        dir: &Path,
        base_offset: i64,
        segment_bytes: u64,
        now_ms: i64,
    ) -> Result<Segment, StorageError> {
        let log_path = layout::log_file(dir, base_offset);
        let log = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(io_error("create", &log_path))?;
        let index = SegmentIndex::create(
            &layout::offset_index_file(dir, base_offset),
            &layout::time_index_file(dir, base_offset),
            base_offset,
            segment_bytes,
        )?;
        Ok(Segment {
            base_offset,
            log_path,
            log: Arc::new(log),
            size: 0,
            next_offset: base_offset,
            index,
            opened_ms: now_ms,
        })
    }

    /// Opens a sealed segment. Its indexes are used if they are well-formed and the batches
    /// after the last index entry end exactly at the end of the file; otherwise the whole log
    /// is scanned and the indexes rebuilt. `thorough` scans every batch's CRC first. `Ok(Err(_))`:
    /// the log itself is damaged. A sealed segment is never empty, except a partition's first
    /// one (`empty_ok`) once compaction removed all its records: it is kept, empty, so the log
    /// start stays where it was.
    pub fn open_sealed(
        dir: &Path,
        base_offset: i64,
        thorough: bool,
        empty_ok: bool,
        now_ms: i64,
    ) -> Result<Result<Segment, SealedFault>, StorageError> {
        let log_path = layout::log_file(dir, base_offset);
        let log = open_rw(&log_path)?;
        let size = log.metadata().map_err(io_error("stat", &log_path))?.len();
        if thorough {
            let scan = recovery::scan(&log, &log_path, 0, base_offset, GAPS, |_| {})?;
            if let Some(fault) = scan.fault {
                return Ok(Err(SealedFault {
                    path: log_path,
                    position: scan.end_position,
                    reason: fault.to_string(),
                }));
            }
        }
        let (offset_path, time_path) = (
            layout::offset_index_file(dir, base_offset),
            layout::time_index_file(dir, base_offset),
        );
        let why_rebuild =
            match SegmentIndex::open_sealed(&offset_path, &time_path, base_offset, size)? {
                Ok(mut index) => {
                    let from = index.last().unwrap_or(IndexEntry {
                        offset: base_offset,
                        position: 0,
                    });
                    let tail =
                        recovery::scan(&log, &log_path, from.position, from.offset, GAPS, |b| {
                            index.observe_timestamp(b.max_timestamp)
                        })?;
                    match tail.fault {
                        None if size > 0 || empty_ok => {
                            return Ok(Ok(Segment {
                                base_offset,
                                log_path,
                                log: Arc::new(log),
                                size,
                                next_offset: tail.next_offset,
                                index,
                                opened_ms: now_ms,
                            }));
                        }
                        None => "the segment is empty".to_owned(),
                        Some(fault) => format!("batch after the last index entry: {fault}"),
                    }
                }
                Err(mismatch) => mismatch.0,
            };
        // Rebuild from a full scan; only a fault in the log itself is fatal, and then nothing
        // is written (the check runs before the index files are touched).
        let check = recovery::scan(&log, &log_path, 0, base_offset, GAPS, |_| {})?;
        if let Some(fault) = check.fault {
            return Ok(Err(SealedFault {
                path: log_path,
                position: check.end_position,
                reason: fault.to_string(),
            }));
        }
        if size == 0 && !empty_ok {
            return Ok(Err(SealedFault {
                path: log_path,
                position: 0,
                reason: "a sealed segment is empty".to_owned(),
            }));
        }
        let mut index = SegmentIndex::create(&offset_path, &time_path, base_offset, size)?;
        let scan = recovery::scan(&log, &log_path, 0, base_offset, GAPS, |b| {
            index.note(b.offset, b.position, b.max_timestamp);
        })?;
        index.seal()?;
        tracing::warn!(file = %log_path.display(), reason = %why_rebuild, "index rebuilt");
        Ok(Ok(Segment {
            base_offset,
            log_path,
            log: Arc::new(log),
            size,
            next_offset: scan.next_offset,
            index,
            opened_ms: now_ms,
        }))
    }

    /// Opens the newest segment: scans it in full, cuts it after its last valid batch (the torn
    /// tail of a crash) and rebuilds its indexes. Its offsets must be contiguous (compaction
    /// never touches it, so a gap is damage to a base offset, which the CRC does not cover),
    /// unless `gaps`: a sealed segment that repair cut and made the newest.
    pub fn recover_active(
        dir: &Path,
        base_offset: i64,
        segment_bytes: u64,
        gaps: bool,
        fail: &FailPoints,
        now_ms: i64,
    ) -> Result<Segment, StorageError> {
        let log_path = layout::log_file(dir, base_offset);
        let log = open_rw(&log_path)?;
        let size = log.metadata().map_err(io_error("stat", &log_path))?.len();
        let mut index = SegmentIndex::create(
            &layout::offset_index_file(dir, base_offset),
            &layout::time_index_file(dir, base_offset),
            base_offset,
            segment_bytes.max(size),
        )?;
        let scan = recovery::scan(&log, &log_path, 0, base_offset, gaps, |b: ScannedBatch| {
            index.note(b.offset, b.position, b.max_timestamp);
        })?;
        if let Some(reason) = &scan.fault {
            tracing::warn!(
                file = %log_path.display(),
                position = scan.end_position,
                bytes_dropped = scan.file_len - scan.end_position,
                %reason,
                "truncating log after its last valid batch"
            );
            fail.check("truncate")?;
            log.set_len(scan.end_position)
                .map_err(io_error("truncate", &log_path))?;
            log.sync_all().map_err(io_error("fsync", &log_path))?;
        }
        Ok(Segment {
            base_offset,
            log_path,
            log: Arc::new(log),
            size: scan.end_position,
            next_offset: scan.next_offset,
            index,
            opened_ms: now_ms,
        })
    }

    /// A sealed segment compaction wrote: `log` (already renamed to the segment's name) and
    /// its sealed `index`, both fsynced. (The index files keep the names they were written
    /// under in their error messages; a sealed index is never written again.)
    pub fn cleaned(
        dir: &Path,
        base_offset: i64,
        log: File,
        size: u64,
        next_offset: i64,
        index: SegmentIndex,
        now_ms: i64,
    ) -> Segment {
        Segment {
            base_offset,
            log_path: layout::log_file(dir, base_offset),
            log: Arc::new(log),
            size,
            next_offset,
            index,
            opened_ms: now_ms,
        }
    }

    /// Writes already-stamped `bytes` (the batches `spans` describes, the first with base
    /// offset `first_offset`) at the end of the log and indexes them. On a write error the
    /// file is cut back; `Err((error, cut))` tells whether that worked.
    pub fn append(
        &mut self,
        bytes: &[u8],
        spans: &[Span],
        first_offset: i64,
    ) -> Result<(), (StorageError, bool)> {
        let position = self.size;
        if let Err(e) = self.log.write_all_at(bytes, position) {
            let cut = self.log.set_len(position).is_ok();
            return Err((io_error("write", &self.log_path)(e), cut));
        }
        let mut offset = first_offset;
        for span in spans {
            self.index.note(
                offset,
                position + span.range.start as u64,
                span.max_timestamp,
            );
            offset += span.offset_count;
        }
        self.size = position + bytes.len() as u64;
        self.next_offset = offset;
        Ok(())
    }

    /// Fsyncs the log and seals the indexes: the segment becomes immutable.
    pub fn seal(&mut self, fail: &FailPoints) -> Result<(), StorageError> {
        self.sync(fail)?;
        self.index.seal()
    }

    /// Fsyncs the log's data.
    pub fn sync(&self, fail: &FailPoints) -> Result<(), StorageError> {
        fail.check("fsync")?;
        self.log
            .sync_data()
            .map_err(io_error("fsync", &self.log_path))
    }

    /// First offset.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Offset after the last batch.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Bytes of batches.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Largest batch timestamp, -1 when empty.
    pub fn max_timestamp(&self) -> i64 {
        self.index.max_timestamp()
    }

    /// When this process created or opened it.
    pub fn opened_ms(&self) -> i64 {
        self.opened_ms
    }

    /// The log file, shared with readers that read it outside the partition lock.
    pub fn file(&self) -> &Arc<File> {
        &self.log
    }

    /// The log file's path.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The index entry to start a scan for `offset` from.
    pub fn floor(&self, offset: i64) -> Option<IndexEntry> {
        self.index.floor(offset)
    }

    /// The index entry to start a scan for the first batch with a timestamp >= `timestamp`.
    pub fn time_floor(&self, timestamp: i64) -> Option<IndexEntry> {
        self.index.time_floor(timestamp)
    }

    /// Whether `offset` can still be indexed here (relative offsets are 32-bit).
    pub fn can_hold(&self, last_offset: i64) -> bool {
        last_offset - self.base_offset <= i64::from(u32::MAX)
    }

    /// Calls `visit` with the header of every batch, reading only headers (one positional
    /// read each), for rebuilding state kept in memory. The segment was validated at open,
    /// so a header that does not fit ends the walk with an error rather than a guess.
    pub fn for_each_header(&self, mut visit: impl FnMut(&BatchHeader)) -> Result<(), StorageError> {
        let mut position = 0u64;
        while position < self.size {
            let mut header = [0u8; HEADER_BYTES];
            let fits = position + HEADER_BYTES as u64 <= self.size;
            if fits {
                self.log
                    .read_exact_at(&mut header, position)
                    .map_err(io_error("read", &self.log_path))?;
            }
            let fields = BatchHeader::parse(&header);
            let total = fields.total_bytes();
            if !fits || total < HEADER_BYTES as u64 || position + total > self.size {
                return Err(StorageError::Io {
                    context: format!("read {} at byte {position}", self.log_path.display()),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "batch header does not fit the segment (modified while open?)",
                    ),
                });
            }
            visit(&fields);
            position += total;
        }
        Ok(())
    }
}

fn open_rw(path: &Path) -> Result<File, StorageError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_error("open", path))
}

/// Removes a segment's three files; missing ones are fine (a delete that was interrupted).
pub fn remove_files(dir: &Path, base_offset: i64) -> Result<(), StorageError> {
    for path in [
        layout::log_file(dir, base_offset),
        layout::offset_index_file(dir, base_offset),
        layout::time_index_file(dir, base_offset),
    ] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove", &path)(e)),
        }
    }
    Ok(())
}
