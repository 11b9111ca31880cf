//! A router's or filter's instances: a few, started on demand, each called by one thread at a
//! time.
//!
//! Routers and filters are called synchronously from whatever thread needs them, so concurrent
//! calls need concurrent instances; a handful bound the memory a plugin holds. A call takes a
//! free live instance if there is one, else an empty slot (where the caller starts an
//! instance), else waits for a busy one, which its call deadline keeps short.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use wasmtime::Store;

use super::state::PolicyState;

/// Instances one router or filter may run at once.
pub const POOL_INSTANCES_MAX: usize = 4;

/// One running instance: its store and the bindings of its exports.
pub(crate) struct Live<W> {
    pub(crate) store: Store<PolicyState>,
    pub(crate) bindings: W,
}

/// A slot: `None` until an instance is started in it, and again once that instance failed.
pub(crate) type Slot<W> = Option<Live<W>>;

pub(crate) struct Pool<W> {
    slots: [Mutex<Slot<W>>; POOL_INSTANCES_MAX],
    /// Which busy slot the next caller waits on when all are busy, so waiters spread out.
    next: AtomicUsize,
    /// Instances discarded after a failure and not yet replaced: the next instances started
    /// replace them and count as restarts.
    unreplaced: AtomicUsize,
}

impl<W> Pool<W> {
    pub(crate) fn new(first: Live<W>) -> Self {
        Pool {
            slots: [
                Mutex::new(Some(first)),
                Mutex::new(None),
                Mutex::new(None),
                Mutex::new(None),
            ],
            next: AtomicUsize::new(0),
            unreplaced: AtomicUsize::new(0),
        }
    }

    /// A slot for one call, held until the guard drops: a free live instance, else a free
    /// empty slot, else the next busy slot once it is free.
    pub(crate) fn acquire(&self) -> MutexGuard<'_, Slot<W>> {
        let mut empty = None;
        for slot in &self.slots {
            let guard = match slot.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(poisoned)) => {
                    discard_poisoned(slot, poisoned.into_inner())
                }
                Err(TryLockError::WouldBlock) => continue,
            };
            if guard.is_some() {
                return guard;
            }
            if empty.is_none() {
                empty = Some(guard);
            }
        }
        if let Some(guard) = empty {
            return guard;
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) % POOL_INSTANCES_MAX;
        let slot = &self.slots[at];
        match slot.lock() {
            Ok(guard) => guard,
            Err(poisoned) => discard_poisoned(slot, poisoned.into_inner()),
        }
    }

    /// An instance was discarded.
    pub(crate) fn discarded(&self) {
        self.unreplaced.fetch_add(1, Ordering::Relaxed);
    }

    /// An instance is starting: whether it replaces a discarded one.
    pub(crate) fn replacing(&self) -> bool {
        self.unreplaced
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// A panic while a slot was held may have left its instance mid-call: it is never called again.
fn discard_poisoned<'a, W>(
    slot: &'a Mutex<Slot<W>>,
    mut guard: MutexGuard<'a, Slot<W>>,
) -> MutexGuard<'a, Slot<W>> {
    *guard = None;
    slot.clear_poison();
    guard
}
