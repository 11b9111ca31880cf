//! Messages both ways: what an AMQP client sends becomes the host's [`Message`] ([`inbound`]),
//! and a stored [`Message`] becomes what an AMQP client receives ([`outbound`]). The whole
//! mapping, with Kafka's view of each field, is docs/message-mapping.md.
//!
//! Place in the flow: `link::incoming` maps each assembled delivery before `queues.send`;
//! `link::outgoing` maps each delivery `queues.receive` hands over before framing it.
//!
//! Two audiences read a stored message. Kafka clients see the record: its value is the body
//! (one `data` section's bytes; an `amqp-value` binary's bytes or string's UTF-8; none for a
//! null body; else the encoded body sections), its key the `x-opt-partition-key` annotation,
//! and each application property as a header (`property_headers`). AMQP clients must get back
//! the sections exactly as sent, so the record also carries them, byte for byte, as headers
//! named `amqp.*` (`stored`; delivery annotations are per hop and are dropped). The body is
//! kept as a header only when the value cannot rebuild it exactly.
//!
//! A record without `amqp.*` headers is a plain record (a Kafka producer wrote it) and is
//! dressed as an AMQP message (`record_form`); a message an AMQP client sends that is exactly
//! such a dressed record is stored as the plain record again, so Kafka and AMQP clients can
//! pass a message back and forth and each gets back what it had.
//!
//! The host's delivery policies read a third view: reserved `sluice-*` headers, copied from
//! where Artemis's clients say them (a scheduled delivery's `x-opt-delivery-time` or
//! `x-opt-delivery-delay` annotation, `properties.group-id`, the `_AMQ_LVQ_NAME` application
//! property). They are extra: the sections stay as sent, and an AMQP client never sees a
//! `sluice-*` header as an application property.

use fe2o3_amqp_types::messaging::annotations::OwnedKey;
use fe2o3_amqp_types::messaging::{AmqpValue, Data, Header, MessageAnnotations, Properties};
use serde_amqp::Value;
use serde_amqp::primitives::Symbol;
use sluice_sdk::codec::{CodecError, Header as RecordHeader, Message};

use crate::errors::Malformed;
use crate::performative::encode;
use crate::record_form::{self, Position};
use crate::sections::{self, Section, Sections, decode};
use crate::stored::{
    APPLICATION_PROPERTIES, BODY, FOOTER, HEADER, MESSAGE_ANNOTATIONS, PROPERTIES, Stored,
};

/// The message annotation that carries the record key.
pub const PARTITION_KEY: &str = "x-opt-partition-key";
/// Record headers the host sets for itself (`sluice-expiry-ms`) or reads for its delivery
/// policies (below); never application properties.
pub const HOST_HEADER_PREFIX: &str = "sluice-";
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
    // Exactly a Kafka record's AMQP form (a receiver sending one on): stored as that record.
    if let Some(plain) = record_form::undress(
        &s,
        header.as_ref(),
        annotations.as_ref(),
        properties.as_ref(),
    ) {
        let mut headers = plain.headers;
        policies(&mut headers, None, None, s.application_properties.as_ref());
        return Ok(Message {
            key: plain.key,
            value: plain.value,
            headers,
            timestamp_ms: plain.timestamp_ms,
            durable: true,
            expiry_ms: plain.expiry_ms,
        });
    }
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
    if let Some(section) = &s.application_properties {
        crate::property_headers::append(&mut headers, section);
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
        value,
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
/// because the value does not rebuild them byte for byte. A null body (no body, or a null
/// `amqp-value`) is no value: a Kafka tombstone.
fn body_value(s: &Sections<'_>) -> Result<(Option<Vec<u8>>, bool), Malformed> {
    let [only] = s.body.as_slice() else {
        if s.body.is_empty() {
            return Ok((None, true));
        }
        // Several sections: the value is the encoded sections.
        return Ok((Some(s.body_bytes.to_vec()), true));
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
            sections::write_data_prefix(&mut ours, bytes.len());
            let kept = prefix != Some(ours.as_slice());
            Ok((Some(bytes.into_vec()), kept))
        }
        sections::VALUE if only.value() == [0x40] => Ok((None, true)),
        sections::VALUE => Ok((Some(amqp_value_bytes(only)?), true)),
        _ => Ok((Some(s.body_bytes.to_vec()), true)),
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
/// deliveries before this one; `position` is where the record is, when the host says.
/// `malformed` is told of record headers named like sections that are not valid ones (a
/// Kafka producer may write any header): the record is then a plain record (`stored`).
pub fn outbound(
    message: &Message,
    delivery_count: u32,
    position: Option<Position>,
    malformed: &mut dyn FnMut(&str),
) -> Result<Vec<u8>, CodecError> {
    match Stored::find(&message.headers, malformed) {
        Some(stored) => from_sections(message, &stored, delivery_count),
        None => record_form::dress(message, delivery_count, position),
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
    match (stored.body, &message.value) {
        (Some(body), value) => match crate::rewritten::compare(body, value.as_deref()) {
            crate::rewritten::Body::Unchanged => out.extend_from_slice(body),
            crate::rewritten::Body::RewrittenText => {
                crate::rewritten::write(&mut out, value.as_deref(), true);
            }
            crate::rewritten::Body::Rewritten => {
                crate::rewritten::write(&mut out, value.as_deref(), false);
            }
        },
        (None, Some(value)) => sections::write_data(&mut out, value),
        (None, None) => out.extend_from_slice(&sections::NULL_VALUE),
    }
    if let Some(footer) = stored.footer {
        out.extend_from_slice(footer);
    }
    Ok(out)
}

fn record_header(key: &str, bytes: &[u8]) -> RecordHeader {
    RecordHeader {
        key: key.to_owned(),
        value: Some(bytes.to_vec()),
    }
}
