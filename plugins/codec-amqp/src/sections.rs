//! The sections of an AMQP message (spec part 3.2), as slices of the transfer payload.
//!
//! Place in the flow: `message` splits each message a client sends into its sections here and
//! keeps their bytes exactly as sent, so a message another AMQP client receives is the same
//! bytes (a decode and re-encode could change encodings: a `vbin32` for a short binary, a
//! symbolic descriptor). Also checks the sections stored in a record before they are sent on.

use crate::errors::Malformed;
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

/// Whether `bytes` is exactly one section of `code`.
pub fn is_one(bytes: &[u8], code: u64) -> bool {
    next(bytes).is_ok_and(|s| s.code == code && s.bytes.len() == bytes.len())
}

/// Whether `bytes` is a sequence of body sections (or nothing: a message without a body).
pub fn is_body(bytes: &[u8]) -> bool {
    split(bytes).is_ok_and(|s| s.body_bytes.len() == bytes.len())
}
