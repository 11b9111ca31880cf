//! The waits a codec armed on one connection: each resolves to its token when a watched log end
//! passes its offset, when a watched topic is deleted, or at its timeout, whichever is first.
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use sluice_plugin_runtime::Wait;
use sluice_storage::Storage;

use super::{WAIT_MS_MAX, WAITS_MAX};

type WaitFuture = Pin<Box<dyn Future<Output = u64> + Send>>;

/// The armed waits of one connection, at most [`WAITS_MAX`].
#[derive(Default)]
pub struct Waits {
    armed: Vec<WaitFuture>,
}

/// A codec armed more waits than a connection may hold.
#[derive(Debug)]
pub struct TooManyWaits;

impl Waits {
    /// Arms `wait`. Watching a partition that does not exist wakes at once: the codec will see
    /// the error when it reads.
    pub fn arm(&mut self, storage: &Storage, wait: Wait) -> Result<(), TooManyWaits> {
        if self.armed.len() >= WAITS_MAX {
            return Err(TooManyWaits);
        }
        let token = wait.token;
        let timeout = Duration::from_millis(u64::from(wait.timeout_ms.min(WAIT_MS_MAX)));
        let mut watches = Vec::with_capacity(wait.watch.len());
        let mut missing = false;
        for position in wait.watch {
            match storage.watch(&position.topic, position.partition) {
                Ok(rx) => watches.push((rx, position.offset)),
                Err(_) => missing = true,
            }
        }
        let future: WaitFuture = if missing {
            Box::pin(async move { token })
        } else {
            Box::pin(async move {
                let moved = async {
                    if watches.is_empty() {
                        return std::future::pending::<()>().await;
                    }
                    let mut pending: Vec<Pin<Box<dyn Future<Output = ()> + Send>>> = watches
                        .into_iter()
                        .map(|(mut rx, offset)| {
                            Box::pin(async move {
                                // Err: the topic was deleted, which is news for the codec too.
                                let _ = rx.wait_for(|log_end| *log_end > offset).await;
                            })
                                as Pin<Box<dyn Future<Output = ()> + Send>>
                        })
                        .collect();
                    poll_fn(|cx| {
                        for f in pending.iter_mut() {
                            if f.as_mut().poll(cx).is_ready() {
                                return Poll::Ready(());
                            }
                        }
                        Poll::Pending
                    })
                    .await
                };
                let _ = tokio::time::timeout(timeout, moved).await;
                token
            })
        };
        self.armed.push(future);
        Ok(())
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }

    /// The token of the next wait to fire; pending forever when none is armed.
    pub async fn next(&mut self) -> u64 {
        poll_fn(|cx| {
            for i in 0..self.armed.len() {
                if let Poll::Ready(token) = self.armed[i].as_mut().poll(cx) {
                    drop(self.armed.swap_remove(i));
                    return Poll::Ready(token);
                }
            }
            Poll::Pending
        })
        .await
    }
}
