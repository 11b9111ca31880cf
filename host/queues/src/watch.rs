//! Waiting for a consumer's queue to change, without a plugin call waiting: `receive` answers
//! with a version, and the host waits on a [`QueueWatch`] until the version is passed:
//!
//! ```text
//! while !watch.passed(version) { watch.changed().await }
//! ```
//!
//! The version is the queue's change counter plus the high watermarks of its log's
//! partitions, so it moves when a message becomes durable (and so deliverable) as surely as
//! when one is released, a redelivery comes due, or an exclusive consumer leaves.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::sync::watch;

/// The channels behind one consumer's version.
#[derive(Debug)]
pub struct QueueWatch {
    changes: watch::Receiver<u64>,
    watermarks: Vec<watch::Receiver<i64>>,
    live: Arc<AtomicBool>,
    /// A channel closed (its queue or log was deleted): waiting on it would never end, and
    /// the consumer's next receive says what happened.
    closed: bool,
}

impl QueueWatch {
    /// A watch over these channels, their current values seen.
    pub(crate) fn new(
        changes: watch::Receiver<u64>,
        mut watermarks: Vec<watch::Receiver<i64>>,
        live: Arc<AtomicBool>,
    ) -> QueueWatch {
        for w in &mut watermarks {
            w.borrow_and_update();
        }
        QueueWatch {
            changes,
            watermarks,
            live,
            closed: false,
        }
    }

    /// The version now, computed as `receive` computes it.
    fn version(&self) -> u64 {
        let watermarks = self
            .watermarks
            .iter()
            .map(|w| (*w.borrow()).max(0))
            .fold(0i64, i64::saturating_add);
        (*self.changes.borrow()).wrapping_add(u64::try_from(watermarks).unwrap_or(0))
    }

    /// Whether the queue changed past `version`, or the consumer is gone (closed, or its
    /// queue deleted): either way the host should stop waiting.
    pub fn passed(&self, version: u64) -> bool {
        self.closed || !self.live.load(Ordering::Acquire) || self.version() > version
    }

    /// Resolves at the next change of any channel behind the version (or at once if one
    /// changed since it was last seen).
    pub async fn changed(&mut self) {
        if self.closed {
            return;
        }
        let mut waits: Vec<Pin<Box<dyn Future<Output = bool> + Send + '_>>> = Vec::new();
        waits.push(Box::pin(async { self.changes.changed().await.is_err() }));
        for w in &mut self.watermarks {
            waits.push(Box::pin(async { w.changed().await.is_err() }));
        }
        let closed = poll_fn(|cx| {
            for wait in &mut waits {
                if let Poll::Ready(closed) = wait.as_mut().poll(cx) {
                    return Poll::Ready(closed);
                }
            }
            Poll::Pending
        })
        .await;
        drop(waits);
        self.closed = closed;
    }
}
