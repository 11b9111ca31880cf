//! Group commit: one thread fsyncs partitions that have acknowledged-pending writes, so
//! concurrent writers share fsyncs instead of paying one each.
//!
//! An append under the `fsync` policy queues its partition (once: a flag says it is queued) and
//! returns; the writer then waits on the partition's high watermark. The thread takes every
//! queued partition, fsyncs each, and raises its high watermark to what was written before the
//! fsync began. Writes that arrive meanwhile queue the partition again and ride the next fsync,
//! so the fsync rate adapts to the load: one writer pays one fsync per write, a hundred share
//! each one. `relaxed` partitions are queued with a deadline (`flush.ms`) instead.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::partition::Partition;

/// The sync thread and its queue. Dropping it flushes what is queued and stops the thread.
#[derive(Debug)]
pub struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct Queue {
    now: Vec<Arc<Partition>>,
    timed: Vec<(Instant, Arc<Partition>)>,
    stop: bool,
}

impl Syncer {
    /// Starts the sync thread.
    pub fn start() -> std::io::Result<Syncer> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sluice-sync".to_owned())
            .spawn(move || run(&worker))?;
        Ok(Syncer {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `partition` for the next fsync round.
    pub fn sync_soon(&self, partition: &Arc<Partition>) {
        if partition.sync_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        self.lock().now.push(Arc::clone(partition));
        self.shared.wake.notify_one();
    }

    /// Queues `partition` to be fsynced within `ms` milliseconds.
    pub fn sync_within(&self, partition: &Arc<Partition>, ms: u64) {
        let deadline = Instant::now() + Duration::from_millis(ms);
        self.lock().timed.push((deadline, Arc::clone(partition)));
        self.shared.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the sync thread panicked");
        }
    }
}

fn run(shared: &Shared) {
    loop {
        let (batch, stop) = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                let now = Instant::now();
                let due = queue.timed.iter().any(|(at, _)| *at <= now);
                if !queue.now.is_empty() || due || queue.stop {
                    break;
                }
                let wait = queue
                    .timed
                    .iter()
                    .map(|(at, _)| at.saturating_duration_since(now))
                    .min();
                queue = match wait {
                    Some(wait) => {
                        shared
                            .wake
                            .wait_timeout(queue, wait)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    None => shared
                        .wake
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner),
                };
            }
            let now = Instant::now();
            let mut batch = std::mem::take(&mut queue.now);
            // At stop, everything timed is flushed too: nothing is left behind unflushed.
            let stop = queue.stop;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut queue.timed)
                .into_iter()
                .partition(|(at, _)| stop || *at <= now);
            queue.timed = later;
            batch.extend(due.into_iter().map(|(_, p)| p));
            (batch, stop)
        };
        for partition in batch {
            // Cleared before the fsync: a write landing during it queues the partition again.
            partition.sync_queued.store(false, Ordering::Release);
            // A failure is logged and recorded by the partition, which stops taking writes.
            let _ = partition.sync_now();
        }
        if stop {
            return;
        }
    }
}
