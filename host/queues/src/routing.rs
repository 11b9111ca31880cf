//! Sending: a message goes to an address's multicast log once (every subscription reads it
//! there, and so do Kafka clients), and to one of its anycast queues' logs (round robin,
//! skipping purge-on-no-consumers queues nobody consumes). With no anycast queue an anycast
//! message is dropped, as Artemis does. `address::queue` targets that anycast queue alone.
//!
//! Each (log, partition) gets one append per send, of as many batches as the messages need,
//! so a send's messages keep their order and take consecutive offsets.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sluice_storage::{AppendResult, encode_batch};

use crate::catalog::AddressEntry;
use crate::message::{ExpiryText, Message, to_record};
use crate::names::{self, Target};
use crate::partitioner;
use crate::queue::Queue;
use crate::types::{LogPosition, RoutingType, Sent};
use crate::{Queues, QueuesError};

/// Messages go into batches of about this many bytes: well under Kafka's default
/// `max.message.bytes` (1 MiB), so a send of many small messages is never refused as one
/// oversized batch. A single larger message gets a batch of its own.
const BATCH_BYTES_TARGET: usize = 256 * 1024;

impl Queues {
    /// `send`, for clients and for messages moved to a dead-letter or expiry address.
    pub(crate) fn send_inner(
        &self,
        address: &str,
        routing: Option<RoutingType>,
        messages: Vec<Message>,
        now_ms: i64,
    ) -> Result<Sent, QueuesError> {
        let target = names::parse_target(address)?;
        self.resolve_send(&target, routing)?;
        let mut sent = Sent {
            routed: 0,
            pending: Vec::new(),
        };
        if messages.is_empty() {
            return Ok(sent);
        }
        let cat = self.catalog_read();
        let Some(entry) = cat.addresses.get(target.address()) else {
            return Err(QueuesError::UnknownAddress(target.address().to_owned()));
        };
        let messages: Vec<Message> = messages
            .into_iter()
            .map(|mut m| {
                m.expiry_ms = entry.settings.expiry_for(m.expiry_ms, now_ms);
                m
            })
            .collect();
        match target {
            Target::Queue { queue, .. } => {
                let Some(queue) = entry.queue(queue) else {
                    return Err(QueuesError::UnknownAddress(address.to_owned()));
                };
                if queue.routing != RoutingType::Anycast {
                    return Err(QueuesError::InvalidRouting(format!(
                        "`{address}` is a subscription; send to its address instead"
                    )));
                }
                let all: Vec<&Message> = messages.iter().collect();
                sent.routed = self.append_anycast(queue, &all, &mut sent.pending)?;
            }
            Target::Address(_) => {
                let multicast =
                    entry.multicast && routing.is_none_or(|r| r == RoutingType::Multicast);
                let anycast = entry.anycast && routing.is_none_or(|r| r == RoutingType::Anycast);
                if multicast {
                    sent.routed = self.append_multicast(entry, &messages, &mut sent.pending)?;
                }
                if anycast {
                    let routed = self.route_anycast(entry, &messages, &mut sent.pending)?;
                    sent.routed = sent.routed.saturating_add(routed);
                }
            }
        }
        Ok(sent)
    }

    /// Appends `messages` to the address's log, partitioned as Kafka's default partitioner
    /// would, and tells every subscription. Returns the queues reached, summed per message.
    fn append_multicast(
        &self,
        entry: &AddressEntry,
        messages: &[Message],
        pending: &mut Vec<LogPosition>,
    ) -> Result<u32, QueuesError> {
        let Some(log) = &entry.log else {
            return Ok(0);
        };
        let partitions = log.partitions.load(Ordering::Acquire).max(1);
        let mut by_partition: Vec<Vec<&Message>> = vec![Vec::new(); partitions as usize];
        for message in messages {
            let p = match &message.key {
                Some(key) => partitioner::for_key(key, partitions),
                None => entry.keyless_next.fetch_add(1, Ordering::Relaxed) % partitions,
            };
            if let Some(group) = by_partition.get_mut(p as usize) {
                group.push(message);
            }
        }
        let subscriptions: Vec<&Arc<Queue>> = entry
            .queues
            .iter()
            .filter(|q| q.routing == RoutingType::Multicast)
            .collect();
        for (p, group) in by_partition.iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            let p = u32::try_from(p).unwrap_or(u32::MAX);
            let appended = self.append(&log.topic, p, group, pending)?;
            for queue in &subscriptions {
                let mut locked = queue.lock(&self.storage);
                if locked.st.deleted {
                    continue;
                }
                locked.st.counters.messages_added += group.len() as u64;
                for (i, message) in group.iter().enumerate() {
                    if let Some(at) = message.expiry_ms {
                        let offset = appended.base_offset + i as i64;
                        locked.track_expiry((p, offset), at, self.limits.expiry_tracked_max);
                    }
                }
            }
        }
        let per_message = u32::try_from(subscriptions.len()).unwrap_or(u32::MAX);
        let count = u32::try_from(messages.len()).unwrap_or(u32::MAX);
        Ok(per_message.saturating_mul(count))
    }

    /// Gives each message to one anycast queue of the address, round robin.
    fn route_anycast(
        &self,
        entry: &AddressEntry,
        messages: &[Message],
        pending: &mut Vec<LogPosition>,
    ) -> Result<u32, QueuesError> {
        let eligible: Vec<&Arc<Queue>> = entry
            .queues
            .iter()
            .filter(|q| q.routing == RoutingType::Anycast)
            .filter(|q| {
                let locked = q.lock(&self.storage);
                let idle = locked.st.attrs.purge_on_no_consumers && locked.st.consumers.is_empty();
                !locked.st.deleted && !idle
            })
            .collect();
        if eligible.is_empty() {
            return Ok(0);
        }
        let mut groups: Vec<Vec<&Message>> = vec![Vec::new(); eligible.len()];
        for message in messages {
            let i = entry.anycast_next.fetch_add(1, Ordering::Relaxed) % eligible.len();
            if let Some(group) = groups.get_mut(i) {
                group.push(message);
            }
        }
        let mut routed = 0u32;
        for (queue, group) in eligible.iter().zip(&groups) {
            if !group.is_empty() {
                routed = routed.saturating_add(self.append_anycast(queue, group, pending)?);
            }
        }
        Ok(routed)
    }

    /// Appends to an anycast queue's own log, under its lock so a deletion cannot slip in
    /// between. Returns the messages routed.
    fn append_anycast(
        &self,
        queue: &Queue,
        messages: &[&Message],
        pending: &mut Vec<LogPosition>,
    ) -> Result<u32, QueuesError> {
        let mut locked = queue.lock(&self.storage);
        if locked.st.deleted || messages.is_empty() {
            return Ok(0);
        }
        let appended = self.append(&queue.log, 0, messages, pending)?;
        locked.st.counters.messages_added += messages.len() as u64;
        for (i, message) in messages.iter().enumerate() {
            if let Some(at) = message.expiry_ms {
                let offset = appended.base_offset + i as i64;
                locked.track_expiry((0, offset), at, self.limits.expiry_tracked_max);
            }
        }
        Ok(u32::try_from(messages.len()).unwrap_or(u32::MAX))
    }

    /// One append of `messages` to a partition, in batches of about [`BATCH_BYTES_TARGET`];
    /// notes the position to wait for when a durable message is not yet durable.
    fn append(
        &self,
        topic: &str,
        partition: u32,
        messages: &[&Message],
        pending: &mut Vec<LogPosition>,
    ) -> Result<AppendResult, QueuesError> {
        let mut bytes = Vec::new();
        let mut start = 0;
        while start < messages.len() {
            let mut end = start;
            let mut size = 0usize;
            while end < messages.len() && (end == start || size < BATCH_BYTES_TARGET) {
                size += approximate_bytes(messages[end]);
                end += 1;
            }
            let expiries: Vec<ExpiryText> = messages[start..end]
                .iter()
                .map(|m| ExpiryText::of(m))
                .collect();
            let records: Vec<_> = messages[start..end]
                .iter()
                .zip(&expiries)
                .map(|(m, e)| to_record(m, e))
                .collect();
            bytes.extend(encode_batch(&records)?);
            start = end;
        }
        let appended = self.storage.append(topic, partition, &bytes)?;
        if messages.iter().any(|m| m.durable) && appended.high_watermark <= appended.last_offset {
            pending.push(LogPosition {
                topic: topic.to_owned(),
                partition,
                offset: appended.last_offset,
            });
        }
        Ok(appended)
    }
}

/// A message's share of a batch, near enough to split batches by.
fn approximate_bytes(message: &Message) -> usize {
    let headers: usize = message
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 8)
        .sum();
    message.key.as_ref().map_or(0, Vec::len)
        + message.value.as_ref().map_or(0, Vec::len)
        + headers
        + 32
}
