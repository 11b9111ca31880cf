//! Producer id allocation (Kafka's InitProducerId for idempotent producers). Ids must never
//! repeat, across restarts too: a reused id would let a new producer's batches pass as an old
//! one's retries. Ids are taken in blocks whose end is made durable in `producer-ids` before
//! the block's first id is handed out, so a crash skips at most the rest of a block.

use std::sync::{Mutex, PoisonError};

use crate::layout::Layout;
use crate::{StorageError, meta};

/// Ids reserved per write of `producer-ids`: one fsync per thousand producers (Kafka's
/// `ProducerIdManager` takes blocks of 1000 too).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// Hands out producer ids.
#[derive(Debug)]
pub struct ProducerIds {
    layout: Layout,
    /// (next id to hand out, end of the durable block).
    next: Mutex<(i64, i64)>,
}

impl ProducerIds {
    /// Starts after every id a previous run may have handed out.
    pub fn open(layout: &Layout) -> Result<ProducerIds, StorageError> {
        let start = meta::read_producer_ids(layout)?;
        Ok(ProducerIds {
            layout: layout.clone(),
            next: Mutex::new((start, start)),
        })
    }

    /// A new id, at epoch 0; or, given the caller's current id and epoch, the same id at the
    /// next epoch (a fresh id once the epoch would pass `i16::MAX`). A negative current id
    /// means none, as on the wire.
    pub fn init(&self, current: Option<(i64, i16)>) -> Result<(i64, i16), StorageError> {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((id, epoch)) = current.filter(|(id, _)| *id >= 0) {
            // Ids at or above `next` were never handed out: bumping one would let a later
            // allocation hand it out again.
            if id >= next.0 {
                return Err(StorageError::InvalidProducerIdMapping(id));
            }
            if let Some(bumped) = epoch.max(-1).checked_add(1) {
                return Ok((id, bumped));
            }
        }
        let (id, end) = *next;
        if id == end {
            let new_end = end.checked_add(PRODUCER_ID_BLOCK_SIZE).ok_or_else(|| {
                StorageError::CorruptMeta {
                    path: self.layout.producer_ids_file(),
                    reason: "producer ids exhausted".to_owned(),
                }
            })?;
            // Durable before any id of the block leaves this function.
            meta::write_producer_ids(&self.layout, new_end)?;
            next.1 = new_end;
        }
        next.0 = id + 1;
        Ok((id, 0))
    }
}
