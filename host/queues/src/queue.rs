//! One queue in memory: what it reads (its log's partitions, a durable cursor over each), who
//! reads it (consumers and their unsettled deliveries), and where each unacknowledged message
//! stands.
//!
//! Where a message stands, for a position (partition, offset) of the log below a partition's
//! `next`: acknowledged in the cursor, or *delivering* (held by one consumer), or *returned*
//! (waiting to be delivered again, from a due time; *skipped* ones among them were passed over
//! by a consumer that may not take them), or *scheduled* (waiting for its delivery time), or
//! *moving* (on its way to a dead-letter or expiry address). At or above `next` a message is
//! new: in the partition's read-ahead buffer or still only in the log.
//!
//! Beside where messages stand, a queue keeps in memory only what its delivery policies need:
//! consumer pins a router asked for, message groups' owners, last-value keys. None of it is
//! durable; each is bounded (see their modules).
//!
//! **Invariant:** a position is in at most one of delivering, returned, scheduled and moving,
//! and never in one of them once acknowledged, so no message is handed to two consumers at
//! once.
//! **Invariant:** nothing here waits: the lock is held across page-cache reads and writes of
//! storage (log reads, anycast appends, cursor journal writes), never across an fsync other
//! than a cursor `sync` in `tick`, which runs while no client call needs the queue's state.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sluice_storage::{QueueCursor, Storage, StorageError};
use tokio::sync::watch;

use crate::counters::Counters;
use crate::eligibility::Pins;
use crate::groups::Groups;
use crate::last_value::LastValues;
use crate::message::Message;
use crate::policy::FilterRef;
use crate::schedule::Schedule;
use crate::settings::AddressSettings;
use crate::skipped::Skipped;
use crate::types::{LogPosition, RoutingType};

/// A message's place: (partition of the queue's log, offset).
pub type Pos = (u32, i64);

/// Read-ahead per partition: a receive of one message does not decode a whole batch again
/// for the next one. Bounds the memory a queue holds between receives (bodies, plus one
/// message beyond the bound).
pub const BUFFER_BYTES_MAX: u64 = 64 * 1024;

/// Bytes asked of storage per read of new messages; storage returns at least one batch.
pub const READ_CHUNK_BYTES: u32 = 64 * 1024;

/// The attributes of a queue a configuration may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAttrs {
    /// Survives restarts: in the registry, cursors synced.
    pub durable: bool,
    /// Delivers only to its oldest consumer.
    pub exclusive: bool,
    /// Consumers at most; -1: no limit.
    pub max_consumers: i32,
    /// Purged when its last consumer leaves; takes nothing while it has none.
    pub purge_on_no_consumers: bool,
    /// Applied as messages are taken for delivery, after the address's delivery filter.
    pub filter: Option<FilterRef>,
    /// A last-value queue keyed by this header.
    pub last_value_key: Option<String>,
    /// A ring queue of this many messages.
    pub ring_size: Option<u64>,
}

impl QueueAttrs {
    /// These attributes, taking the address settings' `last-value-key` and `ring-size` where
    /// they name none (Artemis's defaults for queues created on the address).
    pub fn with_defaults(mut self, settings: &AddressSettings) -> QueueAttrs {
        if self.last_value_key.is_none() {
            self.last_value_key.clone_from(&settings.last_value_key);
        }
        if self.ring_size.is_none() {
            self.ring_size = settings.ring_size;
        }
        self
    }
}

/// The fixed facts of a queue, and its lock.
#[derive(Debug)]
pub struct Queue {
    /// Its name, unique on its address.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Anycast (own log) or multicast (a subscription to the address's log).
    pub routing: RoutingType,
    /// Names its log or cursors.
    pub id: u64,
    /// Deleted with its consumer or connection; never in the registry.
    pub temporary: bool,
    /// The storage topic it reads.
    pub log: String,
    /// Its address's settings.
    pub settings: Arc<AddressSettings>,
    state: Mutex<QueueState>,
    /// Bumped on every change that may make something deliverable that the logs' high
    /// watermarks do not show (a release, a redelivery coming due, a consumer leaving).
    changes: watch::Sender<u64>,
}

/// A consumer as its queue knows it.
#[derive(Debug, Default)]
pub struct ConsumerSlot {
    /// The next delivery tag.
    pub next_tag: u64,
    /// Unsettled deliveries by tag.
    pub unsettled: BTreeMap<u64, Pos>,
    /// Its selector: it is handed only what this keeps; the rest stays for others.
    pub selector: Option<FilterRef>,
}

/// Why a message leaves its queue without being consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposal {
    /// Rejected, or failed `max-delivery-attempts` times: to the dead-letter address.
    Kill,
    /// Expired: to the expiry address.
    Expire,
}

/// A message on its way out of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Being routed to its destination right now.
    Routing(Disposal),
    /// Routed; acknowledged here once these positions of the destination are durable.
    Durable(Disposal, Vec<LogPosition>),
    /// The destination's router or publish filter holds messages (a plugin restarting):
    /// `tick` routes it again.
    Held(Disposal),
}

/// One partition of the queue's log as the queue reads it.
#[derive(Debug)]
pub struct Part {
    /// Acknowledgements and delivery counts.
    pub cursor: QueueCursor,
    /// The partition's high watermark.
    pub hw: watch::Receiver<i64>,
    /// Every offset below is acknowledged or tracked (delivering, returned, moving).
    pub next: i64,
    /// Where the next read of new messages starts; at or above `next`.
    pub read_to: i64,
    /// Decoded messages in `next..read_to`, in offset order.
    pub buffer: VecDeque<(i64, Message)>,
    /// Body bytes in `buffer`.
    pub buffer_bytes: u64,
    /// The cursor floor as of its last sync: what a power loss cannot take back.
    pub synced_floor: i64,
    /// The log start this queue last set (anycast logs, which the queue truncates).
    pub truncated_to: i64,
}

impl Part {
    /// A partition read from its cursor's floor.
    pub fn new(cursor: QueueCursor, hw: watch::Receiver<i64>) -> Part {
        let floor = cursor.floor();
        Part {
            cursor,
            hw,
            next: floor,
            read_to: floor,
            buffer: VecDeque::new(),
            buffer_bytes: 0,
            synced_floor: floor,
            truncated_to: 0,
        }
    }

    /// Forgets the read-ahead and resumes reading at `offset` (or where it was, if later).
    pub fn restart_at(&mut self, offset: i64) {
        self.buffer.clear();
        self.buffer_bytes = 0;
        self.next = self.next.max(offset);
        self.read_to = self.next;
    }
}

/// What once-per-queue warnings were already logged.
#[derive(Debug, Default)]
pub struct Warned {
    /// Expired messages dropped: no expiry address.
    pub expiry_dropped: bool,
    /// Killed messages dropped: no dead-letter address.
    pub kill_dropped: bool,
    /// A delivery filter holds messages (cleared when filters answer again).
    pub filter_held: bool,
    /// A destination holds moves (cleared when one is routed again).
    pub move_held: bool,
}

/// Everything about a queue that changes.
#[derive(Debug)]
pub struct QueueState {
    /// Configurable attributes.
    pub attrs: QueueAttrs,
    /// Set when the queue is deleted: calls on it find no consumer.
    pub deleted: bool,
    /// One per partition of the log.
    pub parts: Vec<Part>,
    /// Open consumers by id; ids grow, so the first is the oldest (the exclusive one).
    pub consumers: BTreeMap<u64, ConsumerSlot>,
    /// Held by a consumer: (consumer, tag).
    pub delivering: BTreeMap<Pos, (u64, u64)>,
    /// Waiting for redelivery from a due time (ms).
    pub returned: BTreeMap<Pos, i64>,
    /// The returned positions a consumer passed over as not its own (see `skipped`).
    pub skipped: Skipped,
    /// Messages met before their delivery time.
    pub schedule: Schedule,
    /// Positions a router pinned to a consumer.
    pub pins: Pins,
    /// Message groups' owners.
    pub groups: Groups,
    /// A last-value queue's latest position per key.
    pub last_values: LastValues,
    /// Consumers that must never get the message again: they refused it
    /// (`undeliverable_here`) or their selector dropped it.
    pub excluded: HashMap<Pos, Vec<u64>>,
    /// On the way to a dead-letter or expiry address.
    pub moving: BTreeMap<Pos, Move>,
    /// Expiries of messages routed while the broker runs, earliest first.
    pub expiry: BinaryHeap<Reverse<(i64, u32, i64)>>,
    /// Statistics.
    pub counters: Counters,
    /// Cursor changes since the last sync.
    pub dirty: bool,
    /// When the cursors were last synced.
    pub last_sync_ms: i64,
    /// The `now` of the last tick, to see which redeliveries came due since.
    pub last_tick_ms: i64,
    /// The partition the next scan for new messages starts at, rotated for fairness.
    pub scan_from: usize,
    /// Warnings already logged.
    pub warned: Warned,
    /// A receive stopped with messages left that a retry may take (a filter held them, or
    /// the skip bounds cut it short): `tick` wakes the consumers, since nothing else may.
    pub retry_on_tick: bool,
}

impl QueueState {
    /// Takes `pos` out of `returned` (and the skipped positions); its cached message, if any.
    pub fn unreturn(&mut self, pos: Pos) -> Option<Message> {
        self.returned.remove(&pos);
        self.skipped.remove(pos)
    }

    /// Forgets every trace of `pos` but delivering and moving: it was acknowledged.
    fn forget(&mut self, pos: Pos) {
        self.unreturn(pos);
        self.excluded.remove(&pos);
        self.schedule.remove(pos);
        self.pins.remove(pos);
    }
}

impl Queue {
    /// A queue reading `parts`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        address: String,
        routing: RoutingType,
        id: u64,
        temporary: bool,
        log: String,
        settings: Arc<AddressSettings>,
        attrs: QueueAttrs,
        parts: Vec<Part>,
    ) -> Queue {
        Queue {
            name,
            address,
            routing,
            id,
            temporary,
            log,
            settings,
            state: Mutex::new(QueueState {
                attrs,
                deleted: false,
                parts,
                consumers: BTreeMap::new(),
                delivering: BTreeMap::new(),
                returned: BTreeMap::new(),
                skipped: Skipped::default(),
                schedule: Schedule::default(),
                pins: Pins::default(),
                groups: Groups::default(),
                last_values: LastValues::default(),
                excluded: HashMap::new(),
                moving: BTreeMap::new(),
                expiry: BinaryHeap::new(),
                counters: Counters::default(),
                dirty: false,
                last_sync_ms: i64::MIN,
                last_tick_ms: i64::MIN,
                scan_from: 0,
                warned: Warned::default(),
                retry_on_tick: false,
            }),
            changes: watch::Sender::new(0),
        }
    }

    /// Locks the state. A panic while it was held cannot have broken an invariant across
    /// fields that the next call relies on more than a lost queue would, so poisoning is
    /// ignored rather than turned into a panic of every later call.
    pub fn lock<'a>(&'a self, storage: &'a Storage) -> Locked<'a> {
        Locked {
            q: self,
            storage,
            st: self.state.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Wakes everyone waiting on the queue.
    pub fn bump(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver of the change counter, current value seen.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The change counter.
    pub fn change_count(&self) -> u64 {
        *self.changes.borrow()
    }

    /// The name `address::queue`.
    pub fn fqqn(&self) -> String {
        format!("{}::{}", self.address, self.name)
    }
}

/// A locked queue, with the storage it reads.
pub struct Locked<'a> {
    /// The queue.
    pub q: &'a Queue,
    /// Its storage.
    pub storage: &'a Storage,
    /// Its state, locked.
    pub st: MutexGuard<'a, QueueState>,
}

/// Unlocking writes what the holder journaled in the cursors: one write per partition for a
/// whole receive or settle, rather than one per message.
impl Drop for Locked<'_> {
    fn drop(&mut self) {
        for part in &mut self.st.parts {
            if let Err(e) = part.cursor.flush() {
                tracing::error!(queue = %self.q.fqqn(), error = %e, "cursor journal write failed");
            }
        }
    }
}

impl Locked<'_> {
    /// The version a consumer waits past: the change counter plus every partition's high
    /// watermark, so a new durable message moves it as surely as a release does.
    pub fn version(&self) -> u64 {
        let watermarks: i64 = self
            .st
            .parts
            .iter()
            .map(|p| (*p.hw.borrow()).max(0))
            .fold(0i64, i64::saturating_add);
        self.q
            .change_count()
            .wrapping_add(u64::try_from(watermarks).unwrap_or(0))
    }

    /// Whether the message at `pos` may be handed out as new: not acknowledged and not
    /// already somewhere else.
    pub fn is_new(&self, pos: Pos) -> bool {
        let st = &*self.st;
        st.parts
            .get(pos.0 as usize)
            .is_some_and(|p| !p.cursor.is_acked(pos.1))
            && !st.delivering.contains_key(&pos)
            && !st.returned.contains_key(&pos)
            && !st.schedule.contains(pos)
            && !st.moving.contains_key(&pos)
    }

    /// Acknowledges `pos`; whether it was unacknowledged. Its other traces go with it.
    pub fn ack(&mut self, pos: Pos) -> Result<bool, StorageError> {
        let st = &mut *self.st;
        let Some(part) = st.parts.get_mut(pos.0 as usize) else {
            return Ok(false);
        };
        let acked = part.cursor.ack(pos.1)?;
        st.dirty = true;
        st.forget(pos);
        Ok(acked)
    }

    /// The message at `pos`, from the read-ahead or the log; `None` when the log no longer has
    /// it (retention, compaction).
    pub fn read_at(&mut self, pos: Pos) -> Result<Option<Message>, StorageError> {
        let (p, offset) = pos;
        if let Some(part) = self.st.parts.get(p as usize)
            && let Ok(i) = part.buffer.binary_search_by_key(&offset, |(o, _)| *o)
        {
            return Ok(part.buffer.get(i).map(|(_, m)| m.clone()));
        }
        // One byte asks for the one batch holding the offset: storage returns at least that.
        let read = match self.storage.read(&self.q.log, p, offset, 1) {
            Ok(read) => read,
            Err(StorageError::OffsetOutOfRange { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        for batch in sluice_storage::decode_batches(&read.batches) {
            if let Ok(records) = batch.records
                && let Some(record) = records.into_iter().find(|r| r.offset == offset)
            {
                return Ok(Some(crate::message::from_record(record)));
            }
        }
        Ok(None)
    }

    /// Remembers when the message at `pos` expires, for `tick`, within the queue's bound.
    pub fn track_expiry(&mut self, pos: Pos, expiry_ms: i64, tracked_max: usize) {
        if self.st.expiry.len() < tracked_max {
            self.st.expiry.push(Reverse((expiry_ms, pos.0, pos.1)));
        }
    }
}
