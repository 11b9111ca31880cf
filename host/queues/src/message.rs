//! A message and the Kafka record it is stored as: key, value, headers and timestamp, with the
//! expiry carried as the header `sluice-expiry-ms` (decimal ASCII) so Kafka clients read what
//! other protocols sent and their records can carry an expiry too.

use sluice_storage::{NewRecord, StoredRecord};

/// The header a stored message's expiry travels in; stripped back out on read.
pub const EXPIRY_HEADER: &str = "sluice-expiry-ms";
/// Set on a dead-lettered or expired message: the address it was on (Artemis's
/// `_AMQ_ORIG_ADDRESS`).
pub const ORIGINAL_ADDRESS_HEADER: &str = "sluice-original-address";
/// Set on a dead-lettered or expired message: the queue it was on (`_AMQ_ORIG_QUEUE`).
pub const ORIGINAL_QUEUE_HEADER: &str = "sluice-original-queue";

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
/// non-positive one means no expiry); header keys that are not UTF-8 (a Kafka producer may
/// write any bytes) are read lossily.
pub fn from_record(record: StoredRecord) -> Message {
    let mut expiry_ms = None;
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
}
