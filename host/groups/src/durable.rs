//! Group commit for the offsets journal: callers append under the coordinator's lock, then
//! wait here, outside it, for an fsync that covers their records. One fsync serves every
//! commit appended before it started, so concurrent commits share the disk's latency and
//! joins and heartbeats never wait behind a disk.
//!
//! After a failed fsync the kernel may have dropped the dirty pages, so no later fsync of the
//! same file proves anything: the syncer is then poisoned, every waiter fails, and the
//! coordinator rewrites the journal whole (from memory) before its next append.

use std::fs::File;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Tracks which appended records are durable.
#[derive(Debug)]
pub(crate) struct Syncer {
    state: Mutex<SyncState>,
    done: Condvar,
}

#[derive(Debug)]
struct SyncState {
    /// The journal file records are appended to now.
    file: Arc<File>,
    /// Sequence number of the last record batch appended.
    appended: u64,
    /// Every batch up to this one is durable.
    synced: u64,
    /// An fsync is running outside the lock.
    syncing: bool,
    /// Set by a failed fsync; cleared by [`Syncer::reset`] after a rewrite.
    poisoned: Option<String>,
    /// Counts rewrites, so an fsync of a replaced file cannot poison its replacement.
    epoch: u64,
}

impl Syncer {
    pub(crate) fn new(file: Arc<File>) -> Syncer {
        Syncer {
            state: Mutex::new(SyncState {
                file,
                appended: 0,
                synced: 0,
                syncing: false,
                poisoned: None,
                epoch: 0,
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why the journal cannot be trusted, if it cannot.
    pub(crate) fn poisoned(&self) -> Option<String> {
        self.lock().poisoned.clone()
    }

    /// Marks the journal unreliable (a write failed).
    pub(crate) fn poison(&self, reason: String) {
        self.lock().poisoned = Some(reason);
        self.done.notify_all();
    }

    /// Records that batch `seq` was appended (to the file last given to [`Syncer::reset`]).
    pub(crate) fn appended(&self, seq: u64) {
        let mut state = self.lock();
        state.appended = state.appended.max(seq);
    }

    /// After a rewrite: everything up to `seq` is durable in `file`, and the poison is gone.
    pub(crate) fn reset(&self, file: Arc<File>, seq: u64) {
        let mut state = self.lock();
        state.file = file;
        state.appended = state.appended.max(seq);
        state.synced = state.synced.max(seq);
        state.poisoned = None;
        state.epoch += 1;
        drop(state);
        self.done.notify_all();
    }

    /// Returns once batch `seq` is durable, or why it may not be.
    pub(crate) fn wait(&self, seq: u64) -> Result<(), String> {
        let mut state = self.lock();
        loop {
            if state.synced >= seq {
                return Ok(());
            }
            if let Some(reason) = &state.poisoned {
                return Err(reason.clone());
            }
            if state.syncing {
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.syncing = true;
            let target = state.appended;
            let epoch = state.epoch;
            let file = Arc::clone(&state.file);
            drop(state);
            let result = file.sync_data();
            state = self.lock();
            state.syncing = false;
            if state.epoch == epoch {
                match result {
                    Ok(()) => state.synced = state.synced.max(target),
                    Err(e) => {
                        tracing::error!(error = %e, "fsync of the offsets journal failed; it will be rewritten");
                        state.poisoned = Some(format!("fsync of the offsets journal failed: {e}"));
                    }
                }
            }
            self.done.notify_all();
        }
    }
}
