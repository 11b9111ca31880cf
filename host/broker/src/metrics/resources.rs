//! Topic and queue metrics, read at scrape time: each topic's logs from storage
//! (`Storage::usage`), each queue's counters from the address model (`Queues::stats`), so
//! nothing is counted per message for them.
//!
//! Left out, to keep label values few and stable: internal topics (`__sluice.*`, the logs
//! behind anycast queues, which their queues' figures cover) and temporary queues (made per
//! connection under generated names).
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use sluice_queues::{INTERNAL_PREFIX, QueueStats, Queues};
use sluice_storage::{Storage, TopicUsage};

use super::family::{BYTES, counters, gauge_value, gauges, label};

/// `sluice_topic_*` and `sluice_queue_*`.
#[derive(Debug)]
pub struct ResourcesCollector {
    /// Topics' logs.
    pub storage: Arc<Storage>,
    /// Queues' counters.
    pub queues: Arc<Queues>,
}

type Labels<'a, const N: usize> = [(&'static str, Cow<'a, str>); N];

fn by_topic(t: &TopicUsage) -> Labels<'_, 1> {
    [("topic", label(&t.name))]
}

fn by_queue(q: &QueueStats) -> Labels<'_, 2> {
    [("queue", label(&q.name)), ("address", label(&q.address))]
}

/// Offsets never go below zero; a sum that did would be a bug, shown as 0 rather than wrapped.
fn offset(sum: i64) -> i64 {
    sum.max(0)
}

impl Collector for ResourcesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let topics: Vec<TopicUsage> = self
            .storage
            .usage()
            .into_iter()
            .filter(|t| !t.name.starts_with(INTERNAL_PREFIX))
            .collect();
        let e = &mut encoder;
        gauges(
            e,
            "sluice_topic_partitions",
            "Partitions of the topic.",
            None,
            &topics,
            |t| (by_topic(t), i64::from(t.partitions)),
        )?;
        gauges(
            e,
            "sluice_topic_log_size",
            "Bytes of the topic's segment logs on disk, every partition's added up.",
            Some(&BYTES),
            &topics,
            |t| (by_topic(t), gauge_value(t.log_bytes)),
        )?;
        gauges(
            e,
            "sluice_topic_log_start_offset",
            "The topic's partitions' log start offsets, added up.",
            None,
            &topics,
            |t| (by_topic(t), offset(t.log_start_sum)),
        )?;
        gauges(
            e,
            "sluice_topic_log_end_offset",
            "The topic's partitions' log end offsets, added up: records appended ever. \
             Minus the start offset sum, the records the topic holds.",
            None,
            &topics,
            |t| (by_topic(t), offset(t.log_end_sum)),
        )?;
        let queues: Vec<QueueStats> = self
            .queues
            .stats()
            .into_iter()
            .filter(|q| !q.temporary)
            .collect();
        encode_queues(e, &queues)
    }
}

/// A queue family: its name, its help and the figure it reads.
type QueueFamily = (&'static str, &'static str, fn(&QueueStats) -> u64);

fn encode_queues(e: &mut DescriptorEncoder<'_>, queues: &[QueueStats]) -> fmt::Result {
    let gauge_rows: [QueueFamily; 6] = [
        (
            "sluice_queue_consumers",
            "Consumers open on the queue.",
            |q| q.consumer_count,
        ),
        (
            "sluice_queue_messages",
            "Messages on the queue not acknowledged yet, those being delivered included.",
            |q| q.message_count,
        ),
        (
            "sluice_queue_delivering_messages",
            "Messages held by consumers, not settled yet.",
            |q| q.delivering_count,
        ),
        (
            "sluice_queue_scheduled_messages",
            "Messages waiting for their delivery time.",
            |q| q.scheduled_count,
        ),
        (
            "sluice_queue_skipped_messages",
            "Messages a consumer passed over (selector, group, pin) that wait for another.",
            |q| q.skipped_count,
        ),
        (
            "sluice_queue_groups",
            "Message groups with an owning consumer.",
            |q| q.group_count,
        ),
    ];
    for (name, help, value) in gauge_rows {
        gauges(e, name, help, None, queues, |q| {
            (by_queue(q), gauge_value(value(q)))
        })?;
    }
    let counter_rows: [QueueFamily; 7] = [
        (
            "sluice_queue_messages_added",
            "Messages routed to the queue since the broker started.",
            |q| q.messages_added,
        ),
        (
            "sluice_queue_messages_acknowledged",
            "Messages consumers acknowledged since the broker started.",
            |q| q.messages_acknowledged,
        ),
        (
            "sluice_queue_messages_expired",
            "Messages that expired since the broker started.",
            |q| q.messages_expired,
        ),
        (
            "sluice_queue_messages_killed",
            "Messages dead-lettered or dropped (rejected, out of attempts, purged) since the \
             broker started.",
            |q| q.messages_killed,
        ),
        (
            "sluice_queue_messages_filtered",
            "Messages a delivery filter dropped since the broker started.",
            |q| q.messages_filtered,
        ),
        (
            "sluice_queue_messages_replaced",
            "Messages of a last-value queue replaced by a newer value since the broker started.",
            |q| q.messages_replaced,
        ),
        (
            "sluice_queue_messages_removed_by_ring",
            "Messages a ring queue removed to stay within its size since the broker started.",
            |q| q.messages_removed_by_ring,
        ),
    ];
    for (name, help, value) in counter_rows {
        counters(e, name, help, None, queues, |q| (by_queue(q), value(q)))?;
    }
    Ok(())
}
