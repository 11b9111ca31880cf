//! Sending: the publish filter (`publish`), then placements (`policy_routing`: the address's
//! router, or the host's own routing), then the appends. A message placed on a partition of a
//! multicast address's log is stored there once (every subscription reads it there, and so do
//! Kafka clients); a message placed on anycast queues is stored in each one's log. A message
//! placed nowhere is dropped, as Artemis drops a message sent to an address without queues.
//! `address::queue` targets that anycast queue alone and is not routed.
//!
//! Each (log, partition) gets one append per send, of as many batches as the messages need,
//! so a send's messages keep their order and take consecutive offsets. As a queue takes its
//! messages it keeps what its delivery policies need: consumer pins, last values (the value
//! replaced leaves), its ring size (the oldest leave).
//!
//! The catalog is read-locked to find what the send reaches and again for the appends (so a
//! subscription created meanwhile starts exactly at the end of what was sent before it), but
//! not across the policy calls, which are made with no lock held.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sluice_storage::{AppendResult, encode_batch};

use crate::catalog::AddressEntry;
use crate::message::{ExpiryText, Message, to_record};
use crate::names::{self, Target};
use crate::policy_routing::{self, Routes};
use crate::publish::prepare;
use crate::queue::{Locked, Queue};
use crate::settings::AddressSettings;
use crate::types::{LogPosition, RoutingType, Sent};
use crate::{Queues, QueuesError};

/// Messages go into batches of about this many bytes: well under Kafka's default
/// `max.message.bytes` (1 MiB), so a send of many small messages is never refused as one
/// oversized batch. A single larger message gets a batch of its own.
const BATCH_BYTES_TARGET: usize = 256 * 1024;

/// What a send reaches, as found under the catalog's read lock.
struct Reach {
    settings: Arc<AddressSettings>,
    sequence: Arc<AtomicU64>,
    target: Reached,
}

enum Reached {
    /// `address::queue`: that anycast queue.
    Queue(Arc<Queue>),
    /// An address: its log's partitions if the send reaches it (else 0), and its anycast
    /// queues if the send reaches them.
    Address {
        partitions: u32,
        anycast: Vec<Arc<Queue>>,
    },
}

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
        let reach = self.reach(address, &target, routing)?;
        let mut messages = self.publish_filter(reach.settings.publish_filter.as_ref(), messages)?;
        prepare(&mut messages, &reach.settings, now_ms);
        if messages.is_empty() {
            return Ok(sent);
        }
        match reach.target {
            Reached::Queue(queue) => {
                let all: Vec<&Message> = messages.iter().collect();
                sent.routed = self.append_anycast(&queue, &all, &[], &mut sent.pending)?;
            }
            Reached::Address {
                partitions,
                anycast,
            } => {
                let eligible = self.eligible(&anycast);
                if partitions == 0 && eligible.queues.is_empty() {
                    // Nowhere to go: dropped, as Artemis drops it, without asking a router.
                    return Ok(sent);
                }
                let placed = self.place(
                    target.address(),
                    &reach.settings,
                    &reach.sequence,
                    partitions,
                    eligible.views,
                    &messages,
                )?;
                let cat = self.catalog_read();
                let Some(entry) = cat.addresses.get(target.address()) else {
                    return Err(QueuesError::UnknownAddress(target.address().to_owned()));
                };
                let routes = placed.unwrap_or_else(|| {
                    policy_routing::native(entry, partitions, eligible.queues.len(), &messages)
                });
                sent.routed =
                    self.append_multicast(entry, &messages, &routes, &mut sent.pending)?;
                let routed =
                    self.append_placed(&eligible.queues, &messages, &routes, &mut sent.pending)?;
                sent.routed = sent.routed.saturating_add(routed);
            }
        }
        Ok(sent)
    }

    /// What a send to `target` reaches, with the catalog read-locked only here.
    fn reach(
        &self,
        address: &str,
        target: &Target<'_>,
        routing: Option<RoutingType>,
    ) -> Result<Reach, QueuesError> {
        let cat = self.catalog_read();
        let Some(entry) = cat.addresses.get(target.address()) else {
            return Err(QueuesError::UnknownAddress(target.address().to_owned()));
        };
        let reached = match target {
            Target::Queue { queue, .. } => {
                let Some(queue) = entry.queue(queue) else {
                    return Err(QueuesError::UnknownAddress(address.to_owned()));
                };
                if queue.routing != RoutingType::Anycast {
                    return Err(QueuesError::InvalidRouting(format!(
                        "`{address}` is a subscription; send to its address instead"
                    )));
                }
                Reached::Queue(queue.clone())
            }
            Target::Address(_) => {
                let multicast =
                    entry.multicast && routing.is_none_or(|r| r == RoutingType::Multicast);
                let anycast = entry.anycast && routing.is_none_or(|r| r == RoutingType::Anycast);
                let partitions = match &entry.log {
                    Some(log) if multicast => log.partitions.load(Ordering::Acquire).max(1),
                    _ => 0,
                };
                let anycast = if anycast {
                    entry
                        .queues
                        .iter()
                        .filter(|q| q.routing == RoutingType::Anycast)
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                };
                Reached::Address {
                    partitions,
                    anycast,
                }
            }
        };
        Ok(Reach {
            settings: entry.settings.clone(),
            sequence: entry.sequence.clone(),
            target: reached,
        })
    }

    /// Appends each message placed on a partition to the address's log, one append per
    /// partition, and tells every subscription. Returns the queues reached, summed per
    /// message.
    fn append_multicast(
        &self,
        entry: &AddressEntry,
        messages: &[Message],
        routes: &Routes,
        pending: &mut Vec<LogPosition>,
    ) -> Result<u32, QueuesError> {
        let Some(log) = &entry.log else {
            return Ok(0);
        };
        let mut by_partition: Vec<Vec<&Message>> = Vec::new();
        for (message, partition) in messages.iter().zip(&routes.partitions) {
            let Some(p) = *partition else {
                continue;
            };
            let p = p as usize;
            if by_partition.len() <= p {
                by_partition.resize_with(p + 1, Vec::new);
            }
            if let Some(group) = by_partition.get_mut(p) {
                group.push(message);
            }
        }
        let subscriptions: Vec<&Arc<Queue>> = entry
            .queues
            .iter()
            .filter(|q| q.routing == RoutingType::Multicast)
            .collect();
        let mut routed = 0u32;
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
                self.took(&mut locked, p, appended.base_offset, group, &[]);
                routed = routed.saturating_add(u32::try_from(group.len()).unwrap_or(u32::MAX));
            }
        }
        Ok(routed)
    }

    /// Appends each message routed to anycast queues to each of them, one append per queue,
    /// with the consumer pins asked for. Returns the copies stored.
    fn append_placed(
        &self,
        queues: &[Arc<Queue>],
        messages: &[Message],
        routes: &Routes,
        pending: &mut Vec<LogPosition>,
    ) -> Result<u32, QueuesError> {
        let mut routed = 0u32;
        for (queue, routed_here) in queues.iter().zip(&routes.queues) {
            if routed_here.is_empty() {
                continue;
            }
            let to: Vec<&Message> = routed_here
                .iter()
                .filter_map(|(i, _)| messages.get(*i))
                .collect();
            let pins: Vec<Option<u64>> = routed_here.iter().map(|(_, pin)| *pin).collect();
            routed = routed.saturating_add(self.append_anycast(queue, &to, &pins, pending)?);
        }
        Ok(routed)
    }

    /// Appends to an anycast queue's own log, under its lock so a deletion cannot slip in
    /// between, pinning message `i` to `pins[i]` if given. Returns the messages routed.
    fn append_anycast(
        &self,
        queue: &Queue,
        messages: &[&Message],
        pins: &[Option<u64>],
        pending: &mut Vec<LogPosition>,
    ) -> Result<u32, QueuesError> {
        let mut locked = queue.lock(&self.storage);
        if locked.st.deleted || messages.is_empty() {
            return Ok(0);
        }
        let appended = self.append(&queue.log, 0, messages, pending)?;
        self.took(&mut locked, 0, appended.base_offset, messages, pins);
        Ok(u32::try_from(messages.len()).unwrap_or(u32::MAX))
    }

    /// A queue took `messages`, stored from `base_offset` of partition `p`: counted, their
    /// expiries tracked, pins, last values and ring size applied.
    fn took(
        &self,
        locked: &mut Locked<'_>,
        p: u32,
        base_offset: i64,
        messages: &[&Message],
        pins: &[Option<u64>],
    ) {
        locked.st.counters.messages_added += messages.len() as u64;
        let last_values = locked.st.attrs.last_value_key.is_some();
        for (i, message) in messages.iter().enumerate() {
            let pos = (p, base_offset + i as i64);
            if let Some(at) = message.expiry_ms {
                locked.track_expiry(pos, at, self.limits.expiry_tracked_max);
            }
            if let Some(Some(consumer)) = pins.get(i) {
                locked.st.pins.insert(pos, *consumer);
            }
            if last_values {
                locked.record_last_value(pos, message);
            }
        }
        locked.trim_ring();
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
