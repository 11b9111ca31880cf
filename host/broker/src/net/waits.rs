//! The waits a codec armed on one connection. Each resolves once, to its token and whether its
//! timeout fired: when its watched positions have passed (the first of them for `wake-on any`,
//! every one for `wake-on all`), or at its timeout, whichever is first.
//!
//! A position passes when its partition's high watermark (what `Storage::watch` announces) is
//! above the watched offset. A partition that is missing, deleted or failed counts as passed:
//! the codec sees the error when it looks, and nobody waits on a log that will never move.
//! A watched group passes when its version (what `Coordinator::watch` announces) is above the
//! one watched; a group that is gone has passed. A watched consumer passes when its queue's
//! version (`Queues::watch`) is above the one watched; a consumer that is gone has passed.
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use sluice_groups::Coordinator;
use sluice_plugin_runtime::{Wait, WakeOn};
use sluice_queues::{QueueWatch, Queues};
use sluice_storage::Storage;

use super::{WAIT_MS_MAX, WAITS_MAX, WATCHES_MAX};

type WaitFuture = Pin<Box<dyn Future<Output = Fired> + Send>>;
type PassFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A wait that fired: what the host passes to the codec's `on-wake`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// The codec's token for the wait.
    pub token: u64,
    /// True when the timeout fired before the watched positions passed.
    pub timed_out: bool,
}

/// What waits watch: partitions' high watermarks, groups' and queues' versions.
#[derive(Clone)]
pub struct Sources {
    /// Partitions.
    pub storage: Arc<Storage>,
    /// Groups.
    pub groups: Arc<Coordinator>,
    /// Consumers' queues.
    pub queues: Arc<Queues>,
}

/// The armed waits of one connection, at most [`WAITS_MAX`], watching at most
/// [`WATCHES_MAX`] positions together.
#[derive(Default)]
pub struct Waits {
    /// Each wait with the number of positions it watches.
    armed: Vec<(WaitFuture, usize)>,
    /// Positions watched by the armed waits together.
    watched: usize,
}

/// Why a wait could not be armed: the codec asked for more than a connection may hold.
#[derive(Debug, PartialEq, Eq)]
pub enum TooManyWaits {
    /// More than [`WAITS_MAX`] waits.
    Waits,
    /// More than [`WATCHES_MAX`] watched positions.
    Watches,
}

impl std::fmt::Display for TooManyWaits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooManyWaits::Waits => write!(f, "codec armed more than {WAITS_MAX} waits"),
            TooManyWaits::Watches => write!(
                f,
                "codec's waits watch more than {WATCHES_MAX} positions together"
            ),
        }
    }
}

impl Waits {
    /// Arms `wait`, clamping its timeout to [`WAIT_MS_MAX`].
    pub fn arm(&mut self, sources: &Sources, wait: Wait) -> Result<(), TooManyWaits> {
        if self.armed.len() >= WAITS_MAX {
            return Err(TooManyWaits::Waits);
        }
        let watches = wait.watch.len() + wait.groups.len() + wait.consumers.len();
        if self.watched.saturating_add(watches) > WATCHES_MAX {
            return Err(TooManyWaits::Watches);
        }
        let token = wait.token;
        let timeout = Duration::from_millis(u64::from(wait.timeout_ms.min(WAIT_MS_MAX)));
        let watches_nothing = watches == 0;
        let mut pending: Vec<PassFuture> = Vec::with_capacity(watches);
        let mut gone = false;
        for position in wait.watch {
            match sources.storage.watch(&position.topic, position.partition) {
                Ok(rx) => pending.push(passes(rx, position.offset)),
                Err(_) => gone = true,
            }
        }
        for group in wait.groups {
            match sources.groups.watch(&group.group) {
                Some(rx) => pending.push(moves_past(rx, group.version)),
                None => gone = true,
            }
        }
        for consumer in wait.consumers {
            match sources.queues.watch(consumer.consumer) {
                Some(watch) => pending.push(queue_moves_past(watch, consumer.version)),
                None => gone = true,
            }
        }
        let moved: PassFuture = match wait.wake_on {
            _ if watches_nothing => Box::pin(std::future::pending()),
            WakeOn::Any if gone => Box::pin(std::future::ready(())),
            WakeOn::Any => Box::pin(any(pending)),
            // The gone ones have passed already; an empty list is ready at once.
            WakeOn::All => Box::pin(all(pending)),
        };
        let fired: WaitFuture = Box::pin(async move {
            let timed_out = tokio::time::timeout(timeout, moved).await.is_err();
            Fired { token, timed_out }
        });
        self.armed.push((fired, watches));
        self.watched += watches;
        Ok(())
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }

    /// The next wait to fire; pending forever when none is armed.
    pub async fn next(&mut self) -> Fired {
        poll_fn(|cx| {
            for i in 0..self.armed.len() {
                if let Poll::Ready(fired) = self.armed[i].0.as_mut().poll(cx) {
                    let (_, watches) = self.armed.swap_remove(i);
                    self.watched = self.watched.saturating_sub(watches);
                    return Poll::Ready(fired);
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// Resolves once the high watermark `rx` announces is above `offset`, or its sender is gone
/// (the topic was deleted or the partition failed, which is news for the codec too).
fn passes(mut rx: tokio::sync::watch::Receiver<i64>, offset: i64) -> PassFuture {
    Box::pin(async move {
        let _ = rx.wait_for(|high_watermark| *high_watermark > offset).await;
    })
}

/// Resolves once the group version `rx` announces is above `version`, or the group is gone.
fn moves_past(mut rx: tokio::sync::watch::Receiver<u64>, version: u64) -> PassFuture {
    Box::pin(async move {
        let _ = rx.wait_for(|now| *now > version).await;
    })
}

/// Resolves once the consumer's queue version is above `version`, or the consumer is gone.
fn queue_moves_past(mut watch: QueueWatch, version: u64) -> PassFuture {
    Box::pin(async move {
        while !watch.passed(version) {
            watch.changed().await;
        }
    })
}

/// Resolves when the first of `pending` does; never, when it is empty.
fn any(mut pending: Vec<PassFuture>) -> impl Future<Output = ()> + Send {
    poll_fn(move |cx| {
        if pending.iter_mut().any(|f| f.as_mut().poll(cx).is_ready()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// Resolves when every one of `pending` has; at once, when it is empty. A finished future is
/// dropped at once, so it is never polled again.
fn all(mut pending: Vec<PassFuture>) -> impl Future<Output = ()> + Send {
    poll_fn(move |cx| {
        pending.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pending.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sluice_plugin_runtime::LogPosition;
    use sluice_storage::{Durability, StorageConfig, TopicConfig};

    /// A storage whose topics are `relaxed`, so an append raises the high watermark at once.
    fn storage(dir: &tempfile::TempDir) -> Storage {
        Storage::open(StorageConfig {
            dir: dir.path().to_path_buf(),
            topic_defaults: TopicConfig {
                durability: Durability::Relaxed,
                ..TopicConfig::default()
            },
            ..StorageConfig::default()
        })
        .unwrap()
    }

    fn groups(dir: &tempfile::TempDir) -> Coordinator {
        Coordinator::open(&dir.path().join("groups"), Default::default()).unwrap()
    }

    /// What waits watch, in a fresh data directory (kept alive by the first element).
    fn sources() -> (tempfile::TempDir, Sources) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(storage(&dir));
        let queues = Queues::open(storage.clone(), Default::default()).unwrap();
        let sources = Sources {
            groups: Arc::new(groups(&dir)),
            queues: Arc::new(queues),
            storage,
        };
        (dir, sources)
    }

    fn wait(token: u64, timeout_ms: u32, wake_on: WakeOn, watch: &[(&str, u32, i64)]) -> Wait {
        Wait {
            token,
            timeout_ms,
            watch: watch
                .iter()
                .map(|(topic, partition, offset)| LogPosition {
                    topic: (*topic).to_owned(),
                    partition: *partition,
                    offset: *offset,
                })
                .collect(),
            groups: Vec::new(),
            consumers: Vec::new(),
            wake_on,
        }
    }

    /// One magic-2 batch of one record, as a producer would send it.
    fn record_batch() -> Vec<u8> {
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let record = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(bytes::Bytes::from_static(b"v")),
            headers: indexmap::IndexMap::new(),
        };
        let mut out = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut out, &[record], &options).unwrap();
        out.to_vec()
    }

    fn woke(token: u64, timed_out: bool) -> Option<Fired> {
        Some(Fired { token, timed_out })
    }

    async fn fired_within(waits: &mut Waits, ms: u64) -> Option<Fired> {
        tokio::time::timeout(Duration::from_millis(ms), waits.next())
            .await
            .ok()
    }

    #[tokio::test]
    async fn wake_on_all_waits_for_every_partition_then_reports_no_timeout() {
        let (_dir, s) = sources();
        let storage = &s.storage;
        storage.create_topic("t", 2).unwrap();
        let mut waits = Waits::default();
        waits
            .arm(
                &s,
                wait(7, 10_000, WakeOn::All, &[("t", 0, 0), ("t", 1, 0)]),
            )
            .unwrap();
        storage.append("t", 0, &record_batch()).unwrap();
        assert_eq!(
            fired_within(&mut waits, 100).await,
            None,
            "one of two passed"
        );
        storage.append("t", 1, &record_batch()).unwrap();
        let fired = fired_within(&mut waits, 5_000).await;
        assert_eq!(fired, woke(7, false));
        assert!(waits.is_empty());
    }

    #[tokio::test]
    async fn wake_on_any_wakes_at_the_first_partition_that_moves() {
        let (_dir, s) = sources();
        let storage = &s.storage;
        storage.create_topic("t", 2).unwrap();
        let mut waits = Waits::default();
        waits
            .arm(
                &s,
                wait(1, 10_000, WakeOn::Any, &[("t", 0, 0), ("t", 1, 0)]),
            )
            .unwrap();
        storage.append("t", 1, &record_batch()).unwrap();
        let fired = fired_within(&mut waits, 5_000).await;
        assert_eq!(fired, woke(1, false));
    }

    #[tokio::test]
    async fn a_wait_whose_positions_do_not_pass_reports_its_timeout() {
        let (_dir, s) = sources();
        let storage = &s.storage;
        storage.create_topic("t", 1).unwrap();
        let mut waits = Waits::default();
        waits
            .arm(&s, wait(3, 20, WakeOn::All, &[("t", 0, 0)]))
            .unwrap();
        let fired = fired_within(&mut waits, 5_000).await;
        assert_eq!(fired, woke(3, true));
    }

    #[tokio::test]
    async fn a_group_watch_wakes_when_the_group_changes_and_a_missing_group_has_passed() {
        use sluice_plugin_runtime::GroupWatch;
        let (_dir, s) = sources();
        let groups = &s.groups;
        let watch_group = |token, group: &str, version| Wait {
            groups: vec![GroupWatch {
                group: group.to_owned(),
                version,
            }],
            ..wait(token, 10_000, WakeOn::Any, &[])
        };
        let mut waits = Waits::default();
        waits.arm(&s, watch_group(1, "nobody", 0)).unwrap();
        let fired = waits.next().await;
        assert_eq!((fired.token, fired.timed_out), (1, false));

        let join = |member: &str| sluice_groups::JoinRequest {
            group: "g".into(),
            member_id: member.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: "consumer".into(),
            protocols: vec![sluice_groups::Protocol {
                name: "range".into(),
                metadata: vec![1],
            }],
            require_known_member_id: false,
        };
        groups.join(join(""), std::time::Instant::now()).unwrap();
        let version = *groups.watch("g").unwrap().borrow();
        waits.arm(&s, watch_group(2, "g", version)).unwrap();
        let pending = tokio::time::timeout(Duration::from_millis(50), waits.next()).await;
        assert!(pending.is_err(), "nothing changed yet");
        groups.join(join(""), std::time::Instant::now()).unwrap();
        let fired = waits.next().await;
        assert_eq!((fired.token, fired.timed_out), (2, false));
    }

    #[tokio::test]
    async fn missing_and_deleted_partitions_count_as_passed() {
        let (_dir, s) = sources();
        let storage = &s.storage;
        storage.create_topic("t", 1).unwrap();
        storage.create_topic("doomed", 1).unwrap();
        let mut waits = Waits::default();
        waits
            .arm(
                &s,
                wait(1, 10_000, WakeOn::Any, &[("missing", 0, 0), ("t", 0, 0)]),
            )
            .unwrap();
        assert_eq!(fired_within(&mut waits, 5_000).await, woke(1, false));

        waits
            .arm(
                &s,
                wait(
                    2,
                    10_000,
                    WakeOn::All,
                    &[("missing", 0, 0), ("doomed", 0, 0)],
                ),
            )
            .unwrap();
        assert_eq!(fired_within(&mut waits, 100).await, None);
        storage.delete_topic("doomed").unwrap();
        assert_eq!(fired_within(&mut waits, 5_000).await, woke(2, false));
    }

    #[test]
    fn a_connection_may_arm_at_most_waits_max() {
        let (_dir, s) = sources();
        let mut waits = Waits::default();
        for token in 0..WAITS_MAX as u64 {
            waits.arm(&s, wait(token, 10, WakeOn::Any, &[])).unwrap();
        }
        assert_eq!(
            waits.arm(&s, wait(99, 10, WakeOn::Any, &[])),
            Err(TooManyWaits::Waits)
        );
    }

    #[tokio::test]
    async fn the_waits_of_a_connection_watch_at_most_watches_max_positions() {
        let (_dir, s) = sources();
        let half: Vec<(&str, u32, i64)> = vec![("missing", 0, 0); WATCHES_MAX / 2];
        let mut waits = Waits::default();
        waits.arm(&s, wait(1, 10_000, WakeOn::All, &half)).unwrap();
        waits.arm(&s, wait(2, 10_000, WakeOn::All, &half)).unwrap();
        assert_eq!(
            waits.arm(&s, wait(3, 10_000, WakeOn::All, &[("t", 0, 0)])),
            Err(TooManyWaits::Watches)
        );
        // A fired wait gives its positions back.
        assert!(fired_within(&mut waits, 5_000).await.is_some());
        waits
            .arm(&s, wait(3, 10_000, WakeOn::All, &[("t", 0, 0)]))
            .unwrap();
    }
}
