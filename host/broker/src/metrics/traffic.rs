//! Messages in and out of the broker, counted where plugins hand them over: the service's
//! `broker` and `queues` imports. One relaxed atomic add per call, whatever its size.
//!
//! In: records in the batches a codec appended (`broker.append`, a Kafka produce; a retried
//! batch an idempotent producer already stored is not counted again), and messages a codec
//! sent to an address (`queues.send`, an AMQP transfer; counted once however many queues it
//! reaches). Out: records in the batches a codec read (`broker.read`, a Kafka fetch; whole
//! batches, so a fetch from the middle of a batch counts the records before its offset too,
//! and a client fetching the same records twice counts them twice), and messages handed to
//! consumers (`queues.receive`, redeliveries included).
use std::sync::atomic::{AtomicU64, Ordering};

/// Which import a message passed through, as the metrics label it (`interface`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// `broker`: record batches (the Kafka codec).
    Broker,
    /// `queues`: messages to and from addresses (the AMQP codec).
    Queues,
}

impl Interface {
    /// Every interface, in label order.
    pub const ALL: [Interface; 2] = [Interface::Broker, Interface::Queues];

    /// The label value: the WIT interface's name.
    pub fn label(self) -> &'static str {
        match self {
            Interface::Broker => "broker",
            Interface::Queues => "queues",
        }
    }
}

/// The counters, shared by the service (which bumps them) and the metrics (which read them).
#[derive(Debug, Default)]
pub struct Traffic {
    in_broker: AtomicU64,
    in_queues: AtomicU64,
    out_broker: AtomicU64,
    out_queues: AtomicU64,
}

impl Traffic {
    /// `n` messages came in through `interface`.
    pub fn received(&self, interface: Interface, n: u64) {
        let counter = match interface {
            Interface::Broker => &self.in_broker,
            Interface::Queues => &self.in_queues,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` messages went out through `interface`.
    pub fn delivered(&self, interface: Interface, n: u64) {
        let counter = match interface {
            Interface::Broker => &self.out_broker,
            Interface::Queues => &self.out_queues,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Messages in through `interface` since the broker started.
    pub fn messages_in(&self, interface: Interface) -> u64 {
        match interface {
            Interface::Broker => self.in_broker.load(Ordering::Relaxed),
            Interface::Queues => self.in_queues.load(Ordering::Relaxed),
        }
    }

    /// Messages out through `interface` since the broker started.
    pub fn messages_out(&self, interface: Interface) -> u64 {
        match interface {
            Interface::Broker => self.out_broker.load(Ordering::Relaxed),
            Interface::Queues => self.out_queues.load(Ordering::Relaxed),
        }
    }
}

/// Byte offsets in a record batch (Kafka's v2 format): the length after the first 12 bytes,
/// and the record count.
const BATCH_LENGTH_AT: usize = 8;
const LOG_OVERHEAD_BYTES: usize = 12;
const RECORDS_COUNT_AT: usize = 57;

/// Records in `batches`, a run of whole record batches as storage returns them, read from
/// each batch's header (so compressed batches cost nothing more). Stops at anything that is
/// not a whole batch.
pub fn records_in(batches: &[u8]) -> u64 {
    let mut records = 0u64;
    let mut rest = batches;
    while let Some(length) = read_i32(rest, BATCH_LENGTH_AT) {
        let Some(total) = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD_BYTES))
            .filter(|&total| total <= rest.len())
        else {
            break;
        };
        if let Some(count) =
            read_i32(rest, RECORDS_COUNT_AT).filter(|_| total > RECORDS_COUNT_AT + 4)
        {
            records += u64::try_from(count).unwrap_or(0);
        }
        rest = &rest[total..];
    }
    records
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let field = bytes.get(at..at + 4)?;
    Some(i32::from_be_bytes(field.try_into().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A batch header with `records` as its count and `body` bytes of records after it.
    fn batch(records: i32, body: usize) -> Vec<u8> {
        let mut b = vec![0u8; 61 + body];
        let length = i32::try_from(b.len() - LOG_OVERHEAD_BYTES).unwrap();
        b[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
        b[RECORDS_COUNT_AT..RECORDS_COUNT_AT + 4].copy_from_slice(&records.to_be_bytes());
        b
    }

    #[test]
    fn records_are_added_up_over_every_whole_batch() {
        let mut bytes = batch(3, 30);
        bytes.extend(batch(5, 7));
        assert_eq!(records_in(&bytes), 8);
    }

    #[test]
    fn a_cut_batch_and_an_empty_read_count_nothing() {
        assert_eq!(records_in(&[]), 0);
        let mut bytes = batch(3, 30);
        let whole = bytes.len();
        bytes.extend(batch(5, 7));
        bytes.truncate(whole + 20);
        assert_eq!(records_in(&bytes), 3);
    }

    #[test]
    fn counters_are_kept_per_interface() {
        let traffic = Traffic::default();
        traffic.received(Interface::Broker, 10);
        traffic.received(Interface::Queues, 1);
        traffic.delivered(Interface::Queues, 2);
        assert_eq!(traffic.messages_in(Interface::Broker), 10);
        assert_eq!(traffic.messages_in(Interface::Queues), 1);
        assert_eq!(traffic.messages_out(Interface::Broker), 0);
        assert_eq!(traffic.messages_out(Interface::Queues), 2);
    }
}
