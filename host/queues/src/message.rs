//! A message and the Kafka record it is stored as: key, value, headers and timestamp, with the
//! expiry carried as the header `sluice-expiry-ms` (decimal ASCII) so Kafka clients read what
//! other protocols sent and their records can carry an expiry too.
//!
//! The delivery policies travel as reserved headers too, kept in `headers` (a consumer and a
//! plugin see them) and parsed into fields on read and at send, so the host reads them once:
//! [`DELIVERY_TIME_HEADER`] (scheduled delivery, ms since the epoch), [`DELIVERY_DELAY_HEADER`]
//! (turned into a delivery time at send and never stored) and [`GROUP_ID_HEADER`] (a message
//! group).

use sluice_storage::{NewRecord, StoredRecord};

/// The header a stored message's expiry travels in; stripped back out on read.
pub const EXPIRY_HEADER: &str = "sluice-expiry-ms";
/// Set on a dead-lettered or expired message: the address it was on (Artemis's
/// `_AMQ_ORIG_ADDRESS`).
pub const ORIGINAL_ADDRESS_HEADER: &str = "sluice-original-address";
/// Set on a dead-lettered or expired message: the queue it was on (`_AMQ_ORIG_QUEUE`).
pub const ORIGINAL_QUEUE_HEADER: &str = "sluice-original-queue";

/// Not delivered before this time (ms since the Unix epoch, decimal ASCII): a scheduled
/// delivery (Artemis's `_AMQ_SCHED_DELIVERY`).
pub const DELIVERY_TIME_HEADER: &str = "sluice-delivery-time";
/// Not delivered before this many ms after it is sent (decimal ASCII): replaced at send by a
/// [`DELIVERY_TIME_HEADER`] (Artemis's `_AMQ_SCHED_DELAY`).
pub const DELIVERY_DELAY_HEADER: &str = "sluice-delivery-delay";
/// The message group: a queue hands a group's messages to one consumer at a time, in order
/// (Artemis's `_AMQ_GROUP_ID`, AMQP's `group-id`).
pub const GROUP_ID_HEADER: &str = "sluice-group-id";

/// One message, independent of the protocol it arrived on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Partitioning key.
    pub key: Option<Vec<u8>>,
    /// The body; `None` is a Kafka tombstone.
    pub value: Option<Vec<u8>>,
    /// Name/value pairs, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Whether the sender waits for it to be durable. Not stored: every message read back was
    /// stored, and reads as durable.
    pub durable: bool,
    /// When it expires, milliseconds since the Unix epoch; `None`: never.
    pub expiry_ms: Option<i64>,
    /// Not delivered before this time, ms since the Unix epoch: [`DELIVERY_TIME_HEADER`] as
    /// read. At send the header wins over this field; the field alone adds the header.
    pub delivery_time_ms: Option<i64>,
    /// Its group: [`GROUP_ID_HEADER`] as read. At send the header wins over this field; the
    /// field alone adds the header.
    pub group_id: Option<Vec<u8>>,
}

impl Message {
    /// Bytes it counts for against a receive's `max_bytes`: its body.
    pub fn body_bytes(&self) -> u64 {
        self.value.as_ref().map_or(0, |v| v.len() as u64)
    }

    /// Whether it has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expiry_ms.is_some_and(|at| at <= now_ms)
    }

    /// The value of its first header `name`, if it has one with a value.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Makes the reserved headers and their fields agree before the message is stored: a
    /// delay becomes a delivery time counted from `now_ms` (the delay header is not stored),
    /// a header wins over its field, and a field alone gains its header.
    pub fn normalize_for_send(&mut self, now_ms: i64) {
        let delay = self.header(DELIVERY_DELAY_HEADER).and_then(parse_ms);
        self.headers.retain(|(k, _)| k != DELIVERY_DELAY_HEADER);
        if let Some(delay) = delay {
            self.delivery_time_ms = Some(now_ms.saturating_add(delay.max(0)));
            self.headers.retain(|(k, _)| k != DELIVERY_TIME_HEADER);
        } else if self.headers.iter().any(|(k, _)| k == DELIVERY_TIME_HEADER) {
            self.delivery_time_ms = self.header(DELIVERY_TIME_HEADER).and_then(parse_ms);
        }
        if let Some(at) = self.delivery_time_ms
            && !self.headers.iter().any(|(k, _)| k == DELIVERY_TIME_HEADER)
        {
            self.headers.push((
                DELIVERY_TIME_HEADER.to_owned(),
                Some(at.to_string().into_bytes()),
            ));
        }
        if self.headers.iter().any(|(k, _)| k == GROUP_ID_HEADER) {
            self.group_id = self.header(GROUP_ID_HEADER).map(<[u8]>::to_vec);
        } else if let Some(group) = &self.group_id {
            self.headers
                .push((GROUP_ID_HEADER.to_owned(), Some(group.clone())));
        }
    }

    /// Whether it may not be delivered yet at `now_ms` (scheduled later).
    pub fn scheduled_after(&self, now_ms: i64) -> bool {
        self.delivery_time_ms.is_some_and(|at| at > now_ms)
    }

    /// The message as it leaves `address`/`queue` for a dead-letter or expiry address: marked
    /// with where it was (replacing earlier marks) and without its expiry, so an expired
    /// message is not expired again where it lands.
    pub fn moved_from(mut self, address: &str, queue: &str) -> Message {
        self.headers
            .retain(|(k, _)| k != ORIGINAL_ADDRESS_HEADER && k != ORIGINAL_QUEUE_HEADER);
        self.headers.push((
            ORIGINAL_ADDRESS_HEADER.to_owned(),
            Some(address.as_bytes().to_vec()),
        ));
        self.headers.push((
            ORIGINAL_QUEUE_HEADER.to_owned(),
            Some(queue.as_bytes().to_vec()),
        ));
        self.expiry_ms = None;
        self.durable = true;
        self
    }
}

/// Milliseconds as a reserved header carries them: decimal ASCII, spaces around allowed.
fn parse_ms(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.trim().parse::<i64>().ok()
}

/// The expiry as its header carries it, kept beside the message while it is encoded.
pub struct ExpiryText(Option<String>);

impl ExpiryText {
    /// The decimal text of `message`'s expiry, if any.
    pub fn of(message: &Message) -> ExpiryText {
        ExpiryText(message.expiry_ms.map(|at| at.to_string()))
    }
}

/// `message` as a record to encode; the caller's `expiry` must be `ExpiryText::of(message)`.
/// A header named like the expiry header is dropped: the message's own expiry is the truth.
pub fn to_record<'a>(message: &'a Message, expiry: &'a ExpiryText) -> NewRecord<'a> {
    let mut headers: Vec<(&[u8], Option<&[u8]>)> = message
        .headers
        .iter()
        .filter(|(k, _)| k != EXPIRY_HEADER)
        .map(|(k, v)| (k.as_bytes(), v.as_deref()))
        .collect();
    if let Some(text) = &expiry.0 {
        headers.push((EXPIRY_HEADER.as_bytes(), Some(text.as_bytes())));
    }
    NewRecord {
        key: message.key.as_deref(),
        value: message.value.as_deref(),
        headers,
        timestamp_ms: message.timestamp_ms,
    }
}

/// A stored record as a message: the expiry header is taken out and read (an unreadable or
/// non-positive one means no expiry), the delivery time and group are read into their fields
/// (their headers stay); header keys that are not UTF-8 (a Kafka producer may write any bytes)
/// are read lossily.
pub fn from_record(record: StoredRecord) -> Message {
    let mut expiry_ms = None;
    let mut delivery_time_ms = None;
    let mut group_id = None;
    let mut headers = Vec::with_capacity(record.headers.len());
    for (key, value) in record.headers {
        if key == EXPIRY_HEADER.as_bytes() {
            expiry_ms = value
                .as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|&at| at > 0);
            continue;
        }
        if key == DELIVERY_TIME_HEADER.as_bytes() && delivery_time_ms.is_none() {
            delivery_time_ms = value.as_deref().and_then(parse_ms);
        } else if key == GROUP_ID_HEADER.as_bytes() && group_id.is_none() {
            group_id.clone_from(&value);
        }
        let key = match String::from_utf8(key) {
            Ok(key) => key,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        headers.push((key, value));
    }
    Message {
        key: record.key,
        value: record.value,
        headers,
        timestamp_ms: record.timestamp_ms,
        durable: true,
        expiry_ms,
        delivery_time_ms,
        group_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(expiry_ms: Option<i64>) -> Message {
        Message {
            key: Some(b"k".to_vec()),
            value: Some(b"body".to_vec()),
            headers: vec![
                ("a".into(), Some(b"1".to_vec())),
                (EXPIRY_HEADER.into(), Some(b"5".to_vec())),
                ("n".into(), None),
            ],
            timestamp_ms: 1_000,
            durable: true,
            expiry_ms,
            delivery_time_ms: None,
            group_id: None,
        }
    }

    fn round_trip(m: &Message) -> Message {
        let expiry = ExpiryText::of(m);
        let record = to_record(m, &expiry);
        from_record(StoredRecord {
            offset: 0,
            timestamp_ms: record.timestamp_ms,
            key: record.key.map(<[u8]>::to_vec),
            value: record.value.map(<[u8]>::to_vec),
            headers: record
                .headers
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        })
    }

    #[test]
    fn expiry_travels_as_a_header_and_is_stripped_on_read() {
        let sent = message(Some(1_700_000_000_123));
        let read = round_trip(&sent);
        assert_eq!(read.expiry_ms, Some(1_700_000_000_123));
        assert_eq!(
            read.headers,
            vec![("a".into(), Some(b"1".to_vec())), ("n".into(), None)]
        );
        assert_eq!((read.key, read.value), (sent.key, sent.value));
        assert_eq!(round_trip(&message(None)).expiry_ms, None);
    }

    #[test]
    fn a_moved_message_names_where_it_was_and_never_expires() {
        let moved = message(Some(5)).moved_from("orders", "eu");
        let moved = moved.moved_from("DLQ", "DLQ");
        assert_eq!(moved.expiry_ms, None);
        let marks: Vec<_> = moved
            .headers
            .iter()
            .filter(|(k, _)| k.starts_with("sluice-original"))
            .collect();
        assert_eq!(marks.len(), 2);
        assert_eq!(marks[0].1.as_deref(), Some(&b"DLQ"[..]));
    }

    #[test]
    fn a_delay_becomes_a_delivery_time_and_reserved_headers_are_read_back() {
        let mut sent = message(None);
        sent.headers
            .push((DELIVERY_DELAY_HEADER.into(), Some(b" 250 ".to_vec())));
        sent.headers
            .push((DELIVERY_TIME_HEADER.into(), Some(b"7".to_vec())));
        sent.group_id = Some(b"g".to_vec());
        sent.normalize_for_send(1_000);
        assert_eq!(sent.delivery_time_ms, Some(1_250));
        assert_eq!(sent.header(DELIVERY_DELAY_HEADER), None);
        assert_eq!(sent.header(DELIVERY_TIME_HEADER), Some(&b"1250"[..]));
        assert_eq!(sent.header(GROUP_ID_HEADER), Some(&b"g"[..]));
        let read = round_trip(&sent);
        assert_eq!(read.delivery_time_ms, Some(1_250));
        assert_eq!(read.group_id.as_deref(), Some(&b"g"[..]));
        assert!(read.scheduled_after(1_249) && !read.scheduled_after(1_250));
    }
}
