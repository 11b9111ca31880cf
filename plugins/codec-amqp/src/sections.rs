//! The sections of an AMQP message (spec part 3.2), as slices of the transfer payload.
//!
//! Place in the flow: `message` splits each message a client sends into its sections here and
//! keeps their bytes exactly as sent, so a message another AMQP client receives is the same
//! bytes (a decode and re-encode could change encodings: a `vbin32` for a short binary, a
//! symbolic descriptor). Also checks the sections stored in a record before they are sent on.

use crate::errors::Malformed;
use crate::performative::decode_as;
use crate::wire;

/// `amqp:header:list`.
pub const HEADER: u64 = 0x70;
/// `amqp:delivery-annotations:map`.
pub const DELIVERY_ANNOTATIONS: u64 = 0x71;
/// `amqp:message-annotations:map`.
pub const MESSAGE_ANNOTATIONS: u64 = 0x72;
/// `amqp:properties:list`.
pub const PROPERTIES: u64 = 0x73;
/// `amqp:application-properties:map`.
pub const APPLICATION_PROPERTIES: u64 = 0x74;
/// `amqp:data:binary`.
pub const DATA: u64 = 0x75;
/// `amqp:amqp-sequence:list`.
pub const SEQUENCE: u64 = 0x76;
/// `amqp:amqp-value:*`.
pub const VALUE: u64 = 0x77;
/// `amqp:footer:map`.
pub const FOOTER: u64 = 0x78;

/// The numeric code of a section's symbolic descriptor.
pub fn symbol_code(name: &[u8]) -> Option<u64> {
    Some(match name {
        b"amqp:header:list" => HEADER,
        b"amqp:delivery-annotations:map" => DELIVERY_ANNOTATIONS,
        b"amqp:message-annotations:map" => MESSAGE_ANNOTATIONS,
        b"amqp:properties:list" => PROPERTIES,
        b"amqp:application-properties:map" => APPLICATION_PROPERTIES,
        b"amqp:data:binary" => DATA,
        b"amqp:amqp-sequence:list" => SEQUENCE,
        b"amqp:amqp-value:*" => VALUE,
        b"amqp:footer:map" => FOOTER,
        _ => return None,
    })
}

/// One section.
#[derive(Clone, Copy)]
pub struct Section<'a> {
    /// Its descriptor code.
    pub code: u64,
    /// All of it, descriptor included.
    pub bytes: &'a [u8],
    /// Where its value starts within `bytes`.
    pub value_at: usize,
}

impl<'a> Section<'a> {
    /// The section's value (after the descriptor).
    pub fn value(&self) -> &'a [u8] {
        self.bytes.get(self.value_at..).unwrap_or_default()
    }
}

/// A message cut into its sections.
#[derive(Default)]
pub struct Sections<'a> {
    /// `header`, if present.
    pub header: Option<Section<'a>>,
    /// `delivery-annotations`: for this hop only, never stored.
    pub delivery_annotations: Option<Section<'a>>,
    /// `message-annotations`.
    pub message_annotations: Option<Section<'a>>,
    /// `properties`.
    pub properties: Option<Section<'a>>,
    /// `application-properties`.
    pub application_properties: Option<Section<'a>>,
    /// The body sections, in order.
    pub body: Vec<Section<'a>>,
    /// The body sections' bytes, contiguous.
    pub body_bytes: &'a [u8],
    /// `footer`.
    pub footer: Option<Section<'a>>,
}

/// Where a section may appear: the spec's order, body sections sharing one rank.
fn rank(code: u64) -> Option<u8> {
    Some(match code {
        HEADER => 0,
        DELIVERY_ANNOTATIONS => 1,
        MESSAGE_ANNOTATIONS => 2,
        PROPERTIES => 3,
        APPLICATION_PROPERTIES => 4,
        DATA | SEQUENCE | VALUE => 5,
        FOOTER => 6,
        _ => return None,
    })
}

/// Cuts `payload` into sections, in the spec's order, each section at most once except body
/// sections.
pub fn split(payload: &[u8]) -> Result<Sections<'_>, Malformed> {
    let mut sections = Sections::default();
    let mut rest = payload;
    let mut at = 0usize;
    let mut last_rank: Option<u8> = None;
    let mut body_start = None;
    let mut body_end = 0usize;
    while !rest.is_empty() {
        let section = next(rest)?;
        let rank = rank(section.code)
            .ok_or_else(|| Malformed::new(format!("unknown section {:#x}", section.code)))?;
        let repeats_body = rank == 5 && last_rank == Some(5);
        if last_rank.is_some_and(|last| last > rank || (last == rank && !repeats_body)) {
            return Err(Malformed::new(format!(
                "section {:#x} out of order",
                section.code
            )));
        }
        last_rank = Some(rank);
        let len = section.bytes.len();
        let slot = match section.code {
            HEADER => &mut sections.header,
            DELIVERY_ANNOTATIONS => &mut sections.delivery_annotations,
            MESSAGE_ANNOTATIONS => &mut sections.message_annotations,
            PROPERTIES => &mut sections.properties,
            APPLICATION_PROPERTIES => &mut sections.application_properties,
            FOOTER => &mut sections.footer,
            _ => {
                body_start.get_or_insert(at);
                body_end = at + len;
                sections.body.push(section);
                rest = rest.get(len..).unwrap_or_default();
                at += len;
                continue;
            }
        };
        *slot = Some(section);
        rest = rest.get(len..).unwrap_or_default();
        at += len;
    }
    if let Some(start) = body_start {
        sections.body_bytes = payload.get(start..body_end).unwrap_or_default();
    }
    Ok(sections)
}

/// The section at the start of `buf`.
fn next(buf: &[u8]) -> Result<Section<'_>, Malformed> {
    let described = wire::described(buf, symbol_code)?;
    let code = described
        .code
        .ok_or_else(|| Malformed::new("a section with an unknown descriptor"))?;
    let bytes = buf
        .get(..described.len)
        .ok_or_else(|| Malformed::new("section runs past the end of the message"))?;
    Ok(Section {
        code,
        bytes,
        value_at: described.value_at,
    })
}

/// The string that `key` (a string) maps to in the map section `section`, read in place: a
/// section serde_amqp would refuse, or one that is not a map, has none. The section's shape
/// was checked when it was split, so the walk only finds where each entry ends.
pub fn map_string<'a>(section: &Section<'a>, key: &str) -> Option<&'a str> {
    let value = section.value();
    let (&code, rest) = value.split_first()?;
    let width = match code {
        0xc1 => 1usize,
        0xd1 => 4,
        _ => return None,
    };
    // Size, then count, each `width` bytes: the entries follow.
    let mut entries = rest.get(width.checked_mul(2)?..)?;
    let mut is_key = true;
    let mut matched = false;
    while !entries.is_empty() {
        let len = wire::value_len(entries).ok()?;
        let (item, after) = entries.split_at_checked(len)?;
        let text = string(item);
        if matched {
            return text;
        }
        matched = is_key && text == Some(key);
        is_key = !is_key;
        entries = after;
    }
    None
}

/// The text of an encoded string value (`str8` or `str32`).
fn string(value: &[u8]) -> Option<&str> {
    let bytes = match value.split_first()? {
        (0xa1, rest) => rest.get(1..)?,
        (0xb1, rest) => rest.get(4..)?,
        _ => return None,
    };
    std::str::from_utf8(bytes).ok()
}

/// Whether `bytes` is exactly one section of `code`.
pub fn is_one(bytes: &[u8], code: u64) -> bool {
    next(bytes).is_ok_and(|s| s.code == code && s.bytes.len() == bytes.len())
}

/// Whether `bytes` is a sequence of body sections (or nothing: a message without a body).
pub fn is_body(bytes: &[u8]) -> bool {
    split(bytes).is_ok_and(|s| s.body_bytes.len() == bytes.len())
}

/// Decodes a whole section (or any one value that is all of `bytes`).
pub fn decode<'a, T: serde_amqp::serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Malformed> {
    let (value, rest) = decode_as(bytes)?;
    if !rest.is_empty() {
        return Err(Malformed::new("bytes after a section"));
    }
    Ok(value)
}

/// An `amqp-value` section holding null: the body of a message without one (a Kafka
/// tombstone).
pub const NULL_VALUE: [u8; 4] = [0x00, 0x53, 0x77, 0x40];

/// Appends a data section holding `bytes`, written by hand (once per message: serde_amqp would
/// copy the body twice more), byte for byte as serde_amqp writes it (a test holds the two
/// together).
pub fn write_data(out: &mut Vec<u8>, bytes: &[u8]) {
    write_data_prefix(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends what a data section of `len` bytes starts with: knowing it also tells whether a
/// client's data section is rebuilt byte for byte without encoding a copy.
pub fn write_data_prefix(out: &mut Vec<u8>, len: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An application-properties section around the map `entries` (already encoded).
    fn section(map32: bool, count: u8, entries: &[u8]) -> Vec<u8> {
        let mut out = vec![0x00, 0x53, 0x74];
        if map32 {
            out.push(0xd1);
            let size = u32::try_from(entries.len() + 4).unwrap();
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(&u32::from(count).to_be_bytes());
        } else {
            out.extend_from_slice(&[0xc1, u8::try_from(entries.len() + 1).unwrap(), count]);
        }
        out.extend_from_slice(entries);
        out
    }

    fn str8(text: &str) -> Vec<u8> {
        let mut out = vec![0xa1, u8::try_from(text.len()).unwrap()];
        out.extend_from_slice(text.as_bytes());
        out
    }

    fn lookup(bytes: &[u8], key: &str) -> Option<String> {
        let s = split(bytes).unwrap();
        map_string(s.application_properties.as_ref().unwrap(), key).map(str::to_owned)
    }

    #[test]
    fn a_string_is_found_by_its_key_in_map8_and_map32() {
        let mut entries = str8("n");
        entries.extend_from_slice(&[0x54, 3]);
        entries.extend(str8("key"));
        // A str32 value.
        entries.extend_from_slice(&[0xb1, 0, 0, 0, 2]);
        entries.extend_from_slice(b"hi");
        for map32 in [false, true] {
            let bytes = section(map32, 4, &entries);
            assert_eq!(
                lookup(&bytes, "key").as_deref(),
                Some("hi"),
                "map32 {map32}"
            );
            assert_eq!(lookup(&bytes, "n"), None, "not a string");
            assert_eq!(lookup(&bytes, "missing"), None);
        }
    }

    #[test]
    fn data_sections_are_written_as_serde_amqp_writes_them() {
        use fe2o3_amqp_types::messaging::Data;
        use serde_amqp::primitives::Binary;
        for len in [0, 1, 254, 255, 256, 70_000] {
            let bytes = vec![7u8; len];
            let by_serde = serde_amqp::to_vec(&Data(Binary::from(bytes.clone()))).unwrap();
            let mut by_hand = Vec::new();
            write_data(&mut by_hand, &bytes);
            assert_eq!(by_hand, by_serde, "length {len}");
        }
    }

    #[test]
    fn the_null_value_section_is_what_serde_amqp_writes() {
        use fe2o3_amqp_types::messaging::AmqpValue;
        let by_serde = serde_amqp::to_vec(&AmqpValue(serde_amqp::Value::Null)).unwrap();
        assert_eq!(by_serde, NULL_VALUE);
    }

    #[test]
    fn a_value_equal_to_the_key_is_not_taken_for_the_key() {
        let mut entries = str8("a");
        entries.extend(str8("key"));
        entries.extend(str8("b"));
        entries.extend(str8("c"));
        assert_eq!(lookup(&section(false, 4, &entries), "key"), None);
    }
}
