//! The AMQP sections a message's record headers hold, decoded with serde_amqp.
//!
//! Any producer may write these headers (a Kafka client can send `amqp.properties` with any
//! bytes), so a section is decoded only after a walk has found it flat: one described list or
//! map of primitive values, each within the bytes. That is every valid header, properties and
//! application-properties section, and it bounds what serde_amqp sees: no nesting for it to
//! recurse into (a stack overflow in Wasm is a trap), no count the bytes cannot hold. A section
//! that is not flat or does not decode is treated as absent.

use fe2o3_amqp_types::messaging::{ApplicationProperties, Header, Properties};
use serde_amqp::serde::Deserialize;
use sluice_sdk::filter::Header as RecordHeader;

use crate::value::Owned;

/// Record header holding the `header` section (as the AMQP codec names it).
pub const HEADER: &str = "amqp.header";
/// Record header holding the `properties` section.
pub const PROPERTIES: &str = "amqp.properties";
/// Record header holding the `application-properties` section.
pub const APPLICATION_PROPERTIES: &str = "amqp.application-properties";

/// Whether the message came from AMQP: the codec keeps its sections as `amqp.*` headers; a
/// record without any came from Kafka.
pub fn is_amqp(headers: &[RecordHeader]) -> bool {
    headers
        .iter()
        .any(|h| h.key.starts_with(crate::AMQP_PREFIX))
}

/// The message's `header` section, if it has a valid one.
pub fn amqp_header(headers: &[RecordHeader]) -> Option<Header> {
    decode(headers, HEADER)
}

/// The message's `properties` section, if it has a valid one.
pub fn amqp_properties(headers: &[RecordHeader]) -> Option<Properties> {
    decode(headers, PROPERTIES)
}

/// The message's application properties, in their section's order; none without a valid
/// section.
pub(crate) fn application_properties(headers: &[RecordHeader]) -> Vec<(String, Owned)> {
    decode::<ApplicationProperties>(headers, APPLICATION_PROPERTIES)
        .map(|ApplicationProperties(map)| {
            map.into_iter()
                .map(|(key, value)| (key, Owned::from(value)))
                .collect()
        })
        .unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(headers: &[RecordHeader], name: &str) -> Option<T> {
    let bytes = headers.iter().find(|h| h.key == name)?.value.as_deref()?;
    if !is_flat_section(bytes) {
        return None;
    }
    serde_amqp::from_slice(bytes).ok()
}

/// Whether `bytes` is exactly one described list or map of primitives.
pub(crate) fn is_flat_section(bytes: &[u8]) -> bool {
    let Some((&0x00, rest)) = bytes.split_first() else {
        return false;
    };
    let Some((&code, body)) = skip_primitive(rest).and_then(<[u8]>::split_first) else {
        return false;
    };
    match code {
        // list0
        0x45 => body.is_empty(),
        // list8, map8
        0xc0 | 0xc1 => primitives(body, 1),
        // list32, map32
        0xd0 | 0xd1 => primitives(body, 4),
        _ => false,
    }
}

/// Whether `buf` is exactly a compound's size, count and `count` primitives.
fn primitives(buf: &[u8], width: usize) -> bool {
    let Some(size) = read_size(buf, width) else {
        return false;
    };
    if width.checked_add(size) != Some(buf.len()) {
        return false;
    }
    let body = buf.get(width..).unwrap_or_default();
    let (Some(count), Some(mut rest)) = (read_size(body, width), body.get(width..)) else {
        return false;
    };
    // Every element takes at least its constructor byte.
    if count > rest.len() {
        return false;
    }
    for _ in 0..count {
        match skip_primitive(rest) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// What follows the primitive value at the start of `buf`; `None` when there is none whole.
fn skip_primitive(buf: &[u8]) -> Option<&[u8]> {
    let (&code, rest) = buf.split_first()?;
    let len = match code {
        // null, true, false, uint0, ulong0
        0x40..=0x44 => 0,
        // ubyte, byte, smalluint, smallulong, smallint, smalllong, boolean
        0x50..=0x56 => 1,
        // ushort, short
        0x60 | 0x61 => 2,
        // uint, int, float, char, decimal32
        0x70..=0x74 => 4,
        // ulong, long, double, timestamp, decimal64
        0x80..=0x84 => 8,
        // decimal128, uuid
        0x94 | 0x98 => 16,
        // vbin8, str8, sym8
        0xa0 | 0xa1 | 0xa3 => 1usize.checked_add(read_size(rest, 1)?)?,
        // vbin32, str32, sym32
        0xb0 | 0xb1 | 0xb3 => 4usize.checked_add(read_size(rest, 4)?)?,
        _ => return None,
    };
    rest.get(len..)
}

/// A big-endian size of `width` (1 or 4) bytes at the start of `buf`.
fn read_size(buf: &[u8], width: usize) -> Option<usize> {
    let size = match width {
        1 => u32::from(*buf.first()?),
        _ => u32::from_be_bytes(*buf.first_chunk::<4>()?),
    };
    usize::try_from(size).ok()
}
