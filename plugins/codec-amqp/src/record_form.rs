//! A plain record (one a Kafka producer wrote) as an AMQP message ([`dress`]), and an AMQP
//! message that is exactly such a dressed record back to the record ([`undress`]).
//!
//! Place in the flow: `message::outbound` dresses each record that is not an AMQP message
//! (`stored`); `message::inbound` first tries to undress what a client sent, so that a
//! receiver that sends a Kafka record on unchanged gives Kafka consumers the record back
//! (key, value, every header in order, timestamp), not an AMQP message wrapped around it.
//!
//! The dressed form (the table in docs/message-mapping.md):
//! - header: `durable` (every message read back was stored), the delivery count;
//! - message annotations: `x-opt-partition-key` (the key: a string when it is UTF-8, else a
//!   binary), `x-opt-partition` (int) and `x-opt-offset` (long) when the position is known,
//!   and `x-opt-kafka-headers` when the application properties cannot tell the headers
//!   (`header_list`);
//! - properties: `creation-time` (the timestamp), `absolute-expiry-time` (the expiry);
//! - application properties: each header not the broker's, its value a string when it is
//!   UTF-8, else a binary, null without a value (a repeated name: its last value);
//! - body: one data section holding the value; a tombstone (no value), an `amqp-value` null.
//!
//! [`undress`] takes a message for a record only when dressing that record gives the message
//! back (the annotations of the position aside: they say where a copy was, and the broker sets
//! them anew). Anything else a message says (a message-id, a symbol key, a binary that is
//! UTF-8, a ttl, a footer) needs the sections to survive, and `message` stores them.

use fe2o3_amqp_types::messaging::annotations::OwnedKey;
use fe2o3_amqp_types::messaging::{
    ApplicationProperties, Data, Header, MessageAnnotations, Priority, Properties,
};
use fe2o3_amqp_types::primitives::SimpleValue;
use serde_amqp::Value;
use serde_amqp::primitives::{Binary, Symbol, Timestamp};
use sluice_sdk::codec::{CodecError, Header as RecordHeader, Message};

use crate::header_list;
use crate::message::{HOST_HEADER_PREFIX, PARTITION_KEY};
use crate::performative::encode;
use crate::sections::{self, Sections};
use crate::stored::Stored;

/// The message annotation of the partition a record was read from (int).
pub const PARTITION: &str = "x-opt-partition";
/// The message annotation of the record's offset in its partition (long).
pub const OFFSET: &str = "x-opt-offset";

/// Where a record is in its topic's log.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    /// Its partition.
    pub partition: u32,
    /// Its offset in the partition.
    pub offset: i64,
}

/// What a plain record says, besides its delivery.
pub struct Plain {
    /// The record key.
    pub key: Option<Vec<u8>>,
    /// The record value; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    /// The record headers, in order.
    pub headers: Vec<RecordHeader>,
    /// Its timestamp, ms since the epoch.
    pub timestamp_ms: i64,
    /// Its expiry, ms since the epoch.
    pub expiry_ms: Option<i64>,
}

/// The sections a record is dressed in, before they are encoded.
struct Dressed {
    annotations: MessageAnnotations,
    properties: Properties,
    application: ApplicationProperties,
}

fn symbol(name: &str) -> OwnedKey {
    OwnedKey::Symbol(Symbol::from(name))
}

fn dressed(
    key: Option<&[u8]>,
    headers: &[RecordHeader],
    timestamp_ms: i64,
    expiry_ms: Option<i64>,
    position: Option<Position>,
) -> Dressed {
    let mut annotations = MessageAnnotations::default();
    if let Some(key) = key {
        let key = match std::str::from_utf8(key) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => Value::Binary(Binary::from(key.to_vec())),
        };
        annotations.insert(symbol(PARTITION_KEY), key);
    }
    if let Some(p) = position {
        // A Kafka partition is a non-negative int32; a larger one is not a Kafka position.
        if let Ok(partition) = i32::try_from(p.partition) {
            annotations.insert(symbol(PARTITION), Value::Int(partition));
        }
        annotations.insert(symbol(OFFSET), Value::Long(p.offset));
    }
    if header_list::needed(headers) {
        annotations.insert(
            symbol(header_list::ANNOTATION),
            header_list::to_value(headers),
        );
    }
    let properties = Properties {
        creation_time: Some(Timestamp::from_milliseconds(timestamp_ms)),
        absolute_expiry_time: expiry_ms.map(Timestamp::from_milliseconds),
        ..Properties::default()
    };
    let mut application = ApplicationProperties::default();
    for h in headers {
        if h.key.starts_with(HOST_HEADER_PREFIX) {
            continue;
        }
        let value = match &h.value {
            None => SimpleValue::Null,
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => SimpleValue::String(text.to_owned()),
                Err(_) => SimpleValue::Binary(Binary::from(bytes.clone())),
            },
        };
        // A repeated name keeps its first place and takes its last value.
        application.insert(h.key.clone(), value);
    }
    Dressed {
        annotations,
        properties,
        application,
    }
}

/// A plain record as the payload of a transfer, after `delivery_count` failed deliveries.
pub fn dress(
    message: &Message,
    delivery_count: u32,
    position: Option<Position>,
) -> Result<Vec<u8>, CodecError> {
    let d = dressed(
        message.key.as_deref(),
        &message.headers,
        message.timestamp_ms,
        message.expiry_ms,
        position,
    );
    let mut out = encode(
        "a message header",
        &Header {
            durable: true,
            delivery_count,
            ..Header::default()
        },
    )?;
    if !d.annotations.is_empty() {
        out.extend(encode("message annotations", &d.annotations)?);
    }
    out.extend(encode("message properties", &d.properties)?);
    if !d.application.is_empty() {
        out.extend(encode("application properties", &d.application)?);
    }
    match &message.value {
        Some(value) => sections::write_data(&mut out, value),
        None => out.extend_from_slice(&sections::NULL_VALUE),
    }
    Ok(out)
}

/// The plain record `s` is, if dressing that record gives `s` back; `header`, `annotations`
/// and `properties` are `s`'s sections, decoded.
pub fn undress(
    s: &Sections<'_>,
    header: Option<&Header>,
    annotations: Option<&MessageAnnotations>,
    properties: Option<&Properties>,
) -> Option<Plain> {
    // Cheapest first: most messages AMQP clients send fail on their header or properties.
    let header = header?;
    let plain_header = header.durable && header.priority == Priority::default();
    if !plain_header || header.ttl.is_some() || s.footer.is_some() {
        return None;
    }
    let properties = properties?;
    let timestamp_ms = properties.creation_time.as_ref()?.milliseconds();
    let expiry_ms = properties
        .absolute_expiry_time
        .as_ref()
        .map(Timestamp::milliseconds);
    let value = plain_value(s)?;
    let application: ApplicationProperties = match &s.application_properties {
        Some(section) => sections::decode(section.bytes).ok()?,
        None => ApplicationProperties::default(),
    };

    let mut key = None;
    let mut listed = None;
    let mut data_annotations = MessageAnnotations::default();
    for (name, value) in annotations.into_iter().flat_map(|a| a.iter()) {
        match (name, value) {
            (OwnedKey::Symbol(s), Value::Int(_)) if s.as_str() == PARTITION => continue,
            (OwnedKey::Symbol(s), Value::Long(_)) if s.as_str() == OFFSET => continue,
            (OwnedKey::Symbol(s), Value::String(text)) if s.as_str() == PARTITION_KEY => {
                key = Some(text.as_bytes().to_vec());
            }
            (OwnedKey::Symbol(s), Value::Binary(bytes)) if s.as_str() == PARTITION_KEY => {
                key = Some(bytes.to_vec());
            }
            (OwnedKey::Symbol(s), list) if s.as_str() == header_list::ANNOTATION => {
                listed = Some(header_list::from_value(list)?);
            }
            _ => return None,
        }
        data_annotations.insert(name.clone(), value.clone());
    }
    let headers = match listed {
        Some(headers) => headers,
        None => headers_of(&application)?,
    };

    // Dressing the record must give the message back, and the record must read as plain.
    let again = dressed(key.as_deref(), &headers, timestamp_ms, expiry_ms, None);
    let same = again.annotations == data_annotations
        && again.properties == *properties
        && again.application == application;
    if !same || Stored::find(&headers, &mut |_| {}).is_some() {
        return None;
    }
    Some(Plain {
        key,
        value,
        headers,
        timestamp_ms,
        expiry_ms,
    })
}

/// The record value of a plain body: one data section's bytes, or none for a null
/// `amqp-value` or no body at all (proton sends a message without a body that way).
fn plain_value(s: &Sections<'_>) -> Option<Option<Vec<u8>>> {
    match s.body.as_slice() {
        [] => Some(None),
        [only] if only.code == sections::VALUE && only.value() == [0x40] => Some(None),
        [only] if only.code == sections::DATA => {
            let Data(bytes) = sections::decode(only.bytes).ok()?;
            Some(Some(bytes.into_vec()))
        }
        _ => None,
    }
}

/// The headers application properties stand for, in their order; `None` if one has a type
/// a dressed record's never has.
fn headers_of(application: &ApplicationProperties) -> Option<Vec<RecordHeader>> {
    application
        .iter()
        .map(|(key, value)| {
            let value = match value {
                SimpleValue::Null => None,
                SimpleValue::String(text) => Some(text.as_bytes().to_vec()),
                SimpleValue::Binary(bytes) => Some(bytes.to_vec()),
                _ => return None,
            };
            Some(RecordHeader {
                key: key.clone(),
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations_of(payload: &[u8]) -> MessageAnnotations {
        let s = sections::split(payload).unwrap();
        sections::decode(s.message_annotations.unwrap().bytes).unwrap()
    }

    fn record() -> Message {
        Message {
            key: None,
            value: Some(b"v".to_vec()),
            headers: Vec::new(),
            timestamp_ms: 5,
            durable: true,
            expiry_ms: None,
        }
    }

    #[test]
    fn a_known_position_is_the_partition_as_an_int_and_the_offset_as_a_long() {
        let position = Position {
            partition: 3,
            offset: 42,
        };
        let payload = dress(&record(), 0, Some(position)).unwrap();
        let annotations = annotations_of(&payload);
        assert_eq!(annotations.get(&symbol(PARTITION)), Some(&Value::Int(3)));
        assert_eq!(annotations.get(&symbol(OFFSET)), Some(&Value::Long(42)));
    }

    #[test]
    fn a_dressed_record_with_its_position_undresses_to_the_record() {
        let mut r = record();
        r.key = Some(b"k".to_vec());
        r.headers = vec![RecordHeader {
            key: "a".into(),
            value: None,
        }];
        let position = Position {
            partition: 0,
            offset: i64::MAX,
        };
        let payload = dress(&r, 2, Some(position)).unwrap();
        let s = sections::split(&payload).unwrap();
        let header: Header = sections::decode(s.header.unwrap().bytes).unwrap();
        let properties: Properties = sections::decode(s.properties.unwrap().bytes).unwrap();
        let annotations = annotations_of(&payload);
        let plain = undress(&s, Some(&header), Some(&annotations), Some(&properties)).unwrap();
        assert_eq!(plain.key, r.key);
        assert_eq!(plain.value, r.value);
        assert_eq!(plain.timestamp_ms, 5);
        let headers: Vec<_> = plain.headers.iter().map(|h| (&h.key, &h.value)).collect();
        assert_eq!(headers, [(&"a".to_owned(), &None)]);
    }
}
