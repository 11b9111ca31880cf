//! A file of fixed-size entries, memory-mapped: the storage under both indexes of a segment.
//!
//! The active segment's index files are preallocated to their capacity (sparse on disk) and
//! written through the map; the entry count lives in memory, since the tail of the file is
//! zeros. Sealing trims the file to its entries and syncs it, so a sealed index's length says
//! how many entries it has. Indexes are derived data: any doubt at open and they are rebuilt
//! from the log, so they are never fsynced on the write path.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::StorageError;
use crate::error::io_error;

/// A memory-mapped array of `entry_bytes`-sized entries.
#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    file: File,
    /// `None` when the file is empty: there is nothing to map.
    map: Option<MmapMut>,
    entry_bytes: usize,
    len: usize,
    capacity: usize,
}

impl IndexFile {
    /// Creates (or empties) the file at `path` with room for `capacity` entries.
    pub fn create(path: &Path, entry_bytes: usize, capacity: usize) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io_error("create", path))?;
        let bytes = (capacity * entry_bytes) as u64;
        file.set_len(bytes).map_err(io_error("size", path))?;
        let map = map(&file, path, bytes)?;
        Ok(IndexFile {
            path: path.to_owned(),
            file,
            map,
            entry_bytes,
            len: 0,
            capacity,
        })
    }

    /// Opens a sealed index: every whole entry in the file counts. `None` when the file is
    /// missing or its length is not a whole number of entries (a rebuild is due).
    pub fn open_sealed(path: &Path, entry_bytes: usize) -> Result<Option<Self>, StorageError> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", path)(e)),
        };
        let bytes = file.metadata().map_err(io_error("stat", path))?.len();
        if bytes % entry_bytes as u64 != 0 {
            return Ok(None);
        }
        let len = usize::try_from(bytes / entry_bytes as u64).unwrap_or(usize::MAX);
        let map = map(&file, path, bytes)?;
        Ok(Some(IndexFile {
            path: path.to_owned(),
            file,
            map,
            entry_bytes,
            len,
            capacity: len,
        }))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entry `i`, which must be below `len`.
    pub fn entry(&self, i: usize) -> &[u8] {
        let start = i * self.entry_bytes;
        match &self.map {
            Some(map) => &map[start..start + self.entry_bytes],
            None => &[],
        }
    }

    /// Appends an entry; false when the file is full (the caller sized it so it cannot be).
    pub fn push(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_bytes);
        if self.len >= self.capacity {
            return false;
        }
        let start = self.len * self.entry_bytes;
        if let Some(map) = &mut self.map {
            map[start..start + self.entry_bytes].copy_from_slice(entry);
            self.len += 1;
            true
        } else {
            false
        }
    }

    /// Trims the file to its entries and makes it durable: after this its length is its count.
    pub fn seal(&mut self) -> Result<(), StorageError> {
        if let Some(map) = &self.map {
            map.flush().map_err(io_error("msync", &self.path))?;
        }
        self.map = None;
        let bytes = (self.len * self.entry_bytes) as u64;
        self.file
            .set_len(bytes)
            .map_err(io_error("trim", &self.path))?;
        self.file
            .sync_all()
            .map_err(io_error("fsync", &self.path))?;
        self.map = map(&self.file, &self.path, bytes)?;
        self.capacity = self.len;
        Ok(())
    }
}

fn map(file: &File, path: &Path, bytes: u64) -> Result<Option<MmapMut>, StorageError> {
    if bytes == 0 {
        return Ok(None);
    }
    // SAFETY: the file is private to this storage (the data directory is locked), mapped
    // shared only by this process, and never truncated while mapped except in `seal`, which
    // drops the map first. Readers copy entries out under the partition lock.
    let map = unsafe { MmapMut::map_mut(file) }.map_err(io_error("mmap", path))?;
    Ok(Some(map))
}
