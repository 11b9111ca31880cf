//! Messages both ways: what an AMQP client sends becomes the host's [`Message`] ([`inbound`]),
//! and a stored [`Message`] becomes what an AMQP client receives ([`outbound`]).
//!
//! Place in the flow: `link::incoming` maps each assembled delivery before `queues.send`;
//! `link::outgoing` maps each delivery `queues.receive` hands over before framing it.
//!
//! Two audiences read a stored message. Kafka clients see the record: its value is the body
//! (one `data` section's bytes; an `amqp-value` binary's bytes or string's UTF-8; else the
//! encoded body sections) and its key the `x-opt-partition-key` annotation. AMQP clients must
//! get back the sections exactly as sent, so the record also carries them, byte for byte, as
//! headers named `amqp.*` (delivery annotations are per hop and are dropped). The body is kept
//! as a header only when the value cannot rebuild it exactly. A record with no `amqp.*`
//! header came from Kafka and is dressed as an AMQP message: a data body, the key as the
//! annotation, the timestamp as `creation-time`, the headers as application properties.
//!
//! The host's delivery policies read a third view: reserved `sluice-*` headers, copied from
//! where Artemis's clients say them (a scheduled delivery's `x-opt-delivery-time` or
//! `x-opt-delivery-delay` annotation, `properties.group-id`, the `_AMQ_LVQ_NAME` application
//! property). They are extra: the sections stay as sent, and an AMQP client never sees a
//! `sluice-*` header.

use fe2o3_amqp_types::messaging::annotations::OwnedKey;
use fe2o3_amqp_types::messaging::{
    AmqpValue, ApplicationProperties, Data, Header, MessageAnnotations, Properties,
};
use fe2o3_amqp_types::primitives::SimpleValue;
use serde_amqp::Value;
use serde_amqp::primitives::{Binary, Symbol, Timestamp};
use sluice_sdk::codec::{CodecError, Header as RecordHeader, Message};

use crate::errors::Malformed;
use crate::performative::{decode_as, encode};
use crate::sections::{self, Section, Sections};

/// Record header holding the `header` section.
pub const HEADER: &str = "amqp.header";
/// Record header holding the `message-annotations` section.
pub const MESSAGE_ANNOTATIONS: &str = "amqp.message-annotations";
/// Record header holding the `properties` section.
pub const PROPERTIES: &str = "amqp.properties";
/// Record header holding the `application-properties` section.
pub const APPLICATION_PROPERTIES: &str = "amqp.application-properties";
/// Record header holding the body sections, when the value cannot rebuild them.
pub const BODY: &str = "amqp.body";
/// Record header holding the `footer` section.
pub const FOOTER: &str = "amqp.footer";
/// The message annotation that carries the record key.
pub const PARTITION_KEY: &str = "x-opt-partition-key";
/// Record headers the host sets for itself (`sluice-expiry-ms`) or reads for its delivery
/// policies (below); not application properties.
const HOST_HEADER_PREFIX: &str = "sluice-";
/// Record header the host delivers a message after: ms since the epoch, decimal.
const DELIVERY_TIME: &str = "sluice-delivery-time";
/// Record header the host delays a message by: ms from when it is stored, decimal.
const DELIVERY_DELAY: &str = "sluice-delivery-delay";
/// Record header naming a message's group.
const GROUP_ID: &str = "sluice-group-id";
/// Record header holding a message's last-value key.
const LAST_VALUE: &str = "sluice-last-value";
/// The message annotation of a scheduled delivery's time (Artemis, qpid-jms's delivery time).
const DELIVERY_TIME_ANNOTATION: &str = "x-opt-delivery-time";
/// The message annotation of a scheduled delivery's delay (Artemis).
const DELIVERY_DELAY_ANNOTATION: &str = "x-opt-delivery-delay";
/// The application property holding Artemis's last-value key.
const LAST_VALUE_PROPERTY: &str = "_AMQ_LVQ_NAME";

/// Maps the message a client sent (a transfer's whole payload). `now` is the host's clock,
/// asked at most once and only when the message does not say its time.
pub fn inbound(payload: &[u8], clock_ms: &dyn Fn() -> i64) -> Result<Message, Malformed> {
    let s = sections::split(payload)?;
    let header: Option<Header> = s.header.map(|h| decode(h.bytes)).transpose()?;
    let properties: Option<Properties> = s.properties.map(|p| decode(p.bytes)).transpose()?;
    let annotations: Option<MessageAnnotations> = s
        .message_annotations
        .map(|ma| decode(ma.bytes))
        .transpose()?;
    let key = annotations.as_ref().and_then(partition_key);
    let (value, body_kept) = body_value(&s)?;

    let mut headers = Vec::new();
    for (name, section) in [
        (HEADER, s.header),
        (MESSAGE_ANNOTATIONS, s.message_annotations),
        (PROPERTIES, s.properties),
        (APPLICATION_PROPERTIES, s.application_properties),
    ] {
        if let Some(section) = section {
            headers.push(record_header(name, section.bytes));
        }
    }
    if body_kept {
        headers.push(record_header(BODY, s.body_bytes));
    }
    if let Some(footer) = s.footer {
        headers.push(record_header(FOOTER, footer.bytes));
    }
    policies(
        &mut headers,
        annotations.as_ref(),
        properties.as_ref(),
        s.application_properties.as_ref(),
    );

    let mut cached = None;
    let mut now = || *cached.get_or_insert_with(clock_ms);
    let properties = properties.unwrap_or_default();
    let timestamp_ms = match properties.creation_time {
        Some(t) => t.milliseconds(),
        None => now(),
    };
    let expiry_ms = match (
        properties.absolute_expiry_time,
        header.as_ref().and_then(|h| h.ttl),
    ) {
        (Some(t), _) => Some(t.milliseconds()),
        (None, Some(ttl)) => Some(now().saturating_add(i64::from(ttl))),
        (None, None) => None,
    };
    Ok(Message {
        key,
        value: Some(value),
        headers,
        timestamp_ms,
        durable: header.is_some_and(|h| h.durable),
        expiry_ms,
    })
}

/// Adds the reserved headers the host's delivery policies read, from where Artemis's clients
/// put them: a scheduled delivery's time (else its delay), the message group, the last-value
/// key. The sections keep them too, byte for byte; these are copies for the host.
fn policies(
    headers: &mut Vec<RecordHeader>,
    annotations: Option<&MessageAnnotations>,
    properties: Option<&Properties>,
    application_properties: Option<&Section<'_>>,
) {
    let annotation = |name: &str| annotations?.get(&OwnedKey::Symbol(Symbol::from(name)));
    // Artemis reads the time first; the delay only when there is no time.
    let scheduled = match annotation(DELIVERY_TIME_ANNOTATION).and_then(milliseconds) {
        Some(ms) => Some((DELIVERY_TIME, ms)),
        None => annotation(DELIVERY_DELAY_ANNOTATION)
            .and_then(integer)
            .map(|ms| (DELIVERY_DELAY, ms)),
    };
    if let Some((name, ms)) = scheduled {
        headers.push(record_header(name, ms.to_string().as_bytes()));
    }
    if let Some(group) = properties.and_then(|p| p.group_id.as_deref()) {
        headers.push(record_header(GROUP_ID, group.as_bytes()));
    }
    if let Some(key) =
        application_properties.and_then(|ap| sections::map_string(ap, LAST_VALUE_PROPERTY))
    {
        headers.push(record_header(LAST_VALUE, key.as_bytes()));
    }
}

/// A point in time in ms since the epoch: a timestamp, or an integer as Artemis reads one.
fn milliseconds(value: &Value) -> Option<i64> {
    match value {
        Value::Timestamp(t) => Some(t.milliseconds()),
        other => integer(other),
    }
}

/// An integer of any AMQP width that fits an `i64` (Artemis reads any number).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Long(n) => Some(*n),
        Value::Int(n) => Some(i64::from(*n)),
        Value::Short(n) => Some(i64::from(*n)),
        Value::Byte(n) => Some(i64::from(*n)),
        Value::Ulong(n) => i64::try_from(*n).ok(),
        Value::Uint(n) => Some(i64::from(*n)),
        Value::Ushort(n) => Some(i64::from(*n)),
        Value::Ubyte(n) => Some(i64::from(*n)),
        _ => None,
    }
}

/// The record value for the body, and whether the body sections must be kept as a header
/// because the value does not rebuild them byte for byte.
fn body_value(s: &Sections<'_>) -> Result<(Vec<u8>, bool), Malformed> {
    let [only] = s.body.as_slice() else {
        // No body, or several sections: the value is the encoded sections.
        return Ok((s.body_bytes.to_vec(), true));
    };
    match only.code {
        sections::DATA => {
            let Data(bytes) = decode(only.bytes)?;
            let prefix = only
                .bytes
                .len()
                .checked_sub(bytes.len())
                .and_then(|n| only.bytes.get(..n));
            let mut ours = Vec::new();
            write_data_section_prefix(&mut ours, bytes.len());
            let kept = prefix != Some(ours.as_slice());
            Ok((bytes.into_vec(), kept))
        }
        sections::VALUE => Ok((amqp_value_bytes(only)?, true)),
        _ => Ok((s.body_bytes.to_vec(), true)),
    }
}

/// An `amqp-value`'s bytes when it holds a binary or a string; else the encoded section.
fn amqp_value_bytes(section: &Section<'_>) -> Result<Vec<u8>, Malformed> {
    // Only a binary or a string is decoded: a large list or map is kept as it is.
    if !matches!(section.value().first(), Some(0xa0 | 0xb0 | 0xa1 | 0xb1)) {
        return Ok(section.bytes.to_vec());
    }
    let AmqpValue(value): AmqpValue<Value> = decode(section.bytes)?;
    Ok(match value {
        Value::Binary(bytes) => bytes.into_vec(),
        Value::String(text) => text.into_bytes(),
        _ => section.bytes.to_vec(),
    })
}

/// The record key: the `x-opt-partition-key` annotation, a string's UTF-8 or a binary as is.
fn partition_key(annotations: &MessageAnnotations) -> Option<Vec<u8>> {
    match annotations.get(&OwnedKey::Symbol(Symbol::from(PARTITION_KEY)))? {
        Value::String(s) => Some(s.clone().into_bytes()),
        Value::Symbol(s) => Some(s.as_str().as_bytes().to_vec()),
        Value::Binary(b) => Some(b.to_vec()),
        _ => None,
    }
}

/// Maps a stored message into the payload of a transfer, with `delivery_count` failed
/// deliveries before this one. `ignored` is told of stored sections that are not valid (a
/// Kafka client may write any header), which are left out rather than sent on.
pub fn outbound(
    message: &Message,
    delivery_count: u32,
    ignored: &mut dyn FnMut(&str),
) -> Result<Vec<u8>, CodecError> {
    let stored = Stored::find(&message.headers, ignored);
    if stored.is_empty() {
        from_record(message, delivery_count)
    } else {
        from_sections(message, &stored, delivery_count)
    }
}

/// The `amqp.*` sections of a record that are valid.
#[derive(Default)]
struct Stored<'a> {
    header: Option<&'a [u8]>,
    message_annotations: Option<&'a [u8]>,
    properties: Option<&'a [u8]>,
    application_properties: Option<&'a [u8]>,
    body: Option<&'a [u8]>,
    footer: Option<&'a [u8]>,
}

impl<'a> Stored<'a> {
    fn find(headers: &'a [RecordHeader], ignored: &mut dyn FnMut(&str)) -> Self {
        let mut stored = Stored::default();
        for h in headers {
            // The section code the header must hold; `None` for the body sections.
            let (slot, code) = match h.key.as_str() {
                HEADER => (&mut stored.header, Some(sections::HEADER)),
                MESSAGE_ANNOTATIONS => (
                    &mut stored.message_annotations,
                    Some(sections::MESSAGE_ANNOTATIONS),
                ),
                PROPERTIES => (&mut stored.properties, Some(sections::PROPERTIES)),
                APPLICATION_PROPERTIES => (
                    &mut stored.application_properties,
                    Some(sections::APPLICATION_PROPERTIES),
                ),
                BODY => (&mut stored.body, None),
                FOOTER => (&mut stored.footer, Some(sections::FOOTER)),
                _ => continue,
            };
            let valid = |bytes: &[u8]| match code {
                Some(code) => sections::is_one(bytes, code),
                None => sections::is_body(bytes),
            };
            match &h.value {
                Some(bytes) if valid(bytes) => *slot = Some(bytes.as_slice()),
                _ => ignored(&h.key),
            }
        }
        stored
    }

    fn is_empty(&self) -> bool {
        self.header.is_none()
            && self.message_annotations.is_none()
            && self.properties.is_none()
            && self.application_properties.is_none()
            && self.body.is_none()
            && self.footer.is_none()
    }
}

/// A message an AMQP client sent: its sections as stored, the header's delivery count set.
fn from_sections(
    message: &Message,
    stored: &Stored<'_>,
    delivery_count: u32,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(message.value.as_ref().map_or(0, Vec::len) + 256);
    let unchanged = |(count, first_acquirer): (u32, bool)| {
        count == delivery_count && (delivery_count == 0 || !first_acquirer)
    };
    match stored.header {
        // Read by hand first: on a first delivery the header goes out as it came.
        Some(bytes) if crate::hot::header_counts(bytes).is_some_and(unchanged) => {
            out.extend_from_slice(bytes);
        }
        Some(bytes) => match decode::<Header>(bytes) {
            Ok(h) if unchanged((h.delivery_count, h.first_acquirer)) => {
                out.extend_from_slice(bytes);
            }
            Ok(mut h) => {
                h.delivery_count = delivery_count;
                h.first_acquirer &= delivery_count == 0;
                out.extend(encode("a message header", &h)?);
            }
            // Its shape was checked; a header serde_amqp cannot read goes on as it came.
            Err(_) => out.extend_from_slice(bytes),
        },
        None if delivery_count > 0 => {
            let h = Header {
                delivery_count,
                ..Header::default()
            };
            out.extend(encode("a message header", &h)?);
        }
        None => {}
    }
    for section in [
        stored.message_annotations,
        stored.properties,
        stored.application_properties,
    ]
    .into_iter()
    .flatten()
    {
        out.extend_from_slice(section);
    }
    match stored.body {
        Some(body) => out.extend_from_slice(body),
        None => write_data_section(&mut out, message.value.as_deref().unwrap_or_default()),
    }
    if let Some(footer) = stored.footer {
        out.extend_from_slice(footer);
    }
    Ok(out)
}

/// A record another protocol (Kafka) wrote, dressed as an AMQP message.
fn from_record(message: &Message, delivery_count: u32) -> Result<Vec<u8>, CodecError> {
    let mut out = encode(
        "a message header",
        &Header {
            durable: true,
            delivery_count,
            ..Header::default()
        },
    )?;
    if let Some(key) = &message.key {
        let mut annotations = MessageAnnotations::default();
        annotations.insert(
            OwnedKey::Symbol(Symbol::from(PARTITION_KEY)),
            match std::str::from_utf8(key) {
                Ok(text) => Value::String(text.to_owned()),
                Err(_) => Value::Binary(Binary::from(key.clone())),
            },
        );
        out.extend(encode("message annotations", &annotations)?);
    }
    let properties = Properties {
        creation_time: Some(Timestamp::from_milliseconds(message.timestamp_ms)),
        absolute_expiry_time: message.expiry_ms.map(Timestamp::from_milliseconds),
        ..Properties::default()
    };
    out.extend(encode("message properties", &properties)?);
    let mut application = ApplicationProperties::default();
    for h in &message.headers {
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
        application.insert(h.key.clone(), value);
    }
    if !application.is_empty() {
        out.extend(encode("application properties", &application)?);
    }
    write_data_section(&mut out, message.value.as_deref().unwrap_or_default());
    Ok(out)
}

/// Appends a data section holding `bytes`, written by hand (once per message: serde_amqp would
/// copy the body twice more), byte for byte as serde_amqp writes it (a test holds the two
/// together).
fn write_data_section(out: &mut Vec<u8>, bytes: &[u8]) {
    write_data_section_prefix(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends what a data section of `len` bytes starts with: knowing it also tells whether a
/// client's data section is rebuilt byte for byte without encoding a copy.
fn write_data_section_prefix(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&[0x00, 0x53, 0x75]);
    // serde_amqp writes a vbin8 up to 254 bytes, a vbin32 from 255.
    match u8::try_from(len) {
        Ok(short) if short < u8::MAX => out.extend_from_slice(&[0xa0, short]),
        _ => {
            out.push(0xb0);
            out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
}

fn record_header(key: &str, bytes: &[u8]) -> RecordHeader {
    RecordHeader {
        key: key.to_owned(),
        value: Some(bytes.to_vec()),
    }
}

/// Decodes a whole section.
fn decode<'a, T: serde_amqp::serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Malformed> {
    let (value, rest) = decode_as(bytes)?;
    if !rest.is_empty() {
        return Err(Malformed::new("bytes after a section"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sections_are_written_as_serde_amqp_writes_them() {
        for len in [0, 1, 254, 255, 256, 70_000] {
            let bytes = vec![7u8; len];
            let by_serde = encode("a data section", &Data(Binary::from(bytes.clone()))).unwrap();
            let mut by_hand = Vec::new();
            write_data_section(&mut by_hand, &bytes);
            assert_eq!(by_hand, by_serde, "length {len}");
        }
    }
}
