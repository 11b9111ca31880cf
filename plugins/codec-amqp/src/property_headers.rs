//! An AMQP message's application properties as plain record headers, for Kafka consumers.
//!
//! Place in the flow: `message::inbound` appends these to the record of a message an AMQP
//! client sent, after the `amqp.*` section headers. They are copies: the section header
//! `amqp.application-properties` stays the truth for AMQP receivers (who get the section as
//! sent, byte for byte, whatever these say), so a Kafka consumer that sends the record on
//! unchanged hands AMQP receivers the original message.
//!
//! Each property becomes a header of the same name holding its value as text: a string as
//! its UTF-8, a number, boolean or timestamp (ms since the epoch) in decimal, a UUID in its
//! usual hyphenated form, a symbol or char as its text; a binary is its bytes, and null a
//! header without a value. Names starting `sluice-` (the broker's policy headers) or `amqp.`
//! (the section headers) are not copied: a client's property must not steer the broker or pass
//! for a section. Decimals and described values have no text form here and are not copied
//! either; every property is still in the section.

use fe2o3_amqp_types::messaging::ApplicationProperties;
use fe2o3_amqp_types::primitives::SimpleValue;
use sluice_sdk::codec::Header as RecordHeader;

use crate::message::HOST_HEADER_PREFIX;
use crate::sections::{self, Section};

/// The prefix of the section headers.
const SECTION_HEADER_PREFIX: &str = "amqp.";

/// Appends the copies of `section`'s properties to `headers`. A section serde_amqp cannot read
/// (a property of a type the spec does not allow there) gives no copies.
pub fn append(headers: &mut Vec<RecordHeader>, section: &Section<'_>) {
    let Ok(ApplicationProperties(properties)) = sections::decode(section.bytes) else {
        return;
    };
    for (key, value) in properties {
        if key.starts_with(HOST_HEADER_PREFIX) || key.starts_with(SECTION_HEADER_PREFIX) {
            continue;
        }
        if let Some(value) = text(value) {
            headers.push(RecordHeader { key, value });
        }
    }
}

/// A property's value as a header's value; `None` when it has no text form.
fn text(value: SimpleValue) -> Option<Option<Vec<u8>>> {
    let text = match value {
        SimpleValue::Null => return Some(None),
        SimpleValue::Binary(bytes) => return Some(Some(bytes.into_vec())),
        SimpleValue::String(s) => s,
        SimpleValue::Symbol(s) => s.0,
        SimpleValue::Bool(b) => b.to_string(),
        SimpleValue::Ubyte(n) => n.to_string(),
        SimpleValue::Ushort(n) => n.to_string(),
        SimpleValue::Uint(n) => n.to_string(),
        SimpleValue::Ulong(n) => n.to_string(),
        SimpleValue::Byte(n) => n.to_string(),
        SimpleValue::Short(n) => n.to_string(),
        SimpleValue::Int(n) => n.to_string(),
        SimpleValue::Long(n) => n.to_string(),
        SimpleValue::Float(n) => n.0.to_string(),
        SimpleValue::Double(n) => n.0.to_string(),
        SimpleValue::Char(c) => c.to_string(),
        SimpleValue::Timestamp(t) => t.milliseconds().to_string(),
        SimpleValue::Uuid(u) => hyphenated(u.as_inner()),
        SimpleValue::Decimal32(_)
        | SimpleValue::Decimal64(_)
        | SimpleValue::Decimal128(_)
        | SimpleValue::Described(_) => return None,
    };
    Some(Some(text.into_bytes()))
}

/// A UUID as `8-4-4-4-12` lowercase hex digits.
fn hyphenated(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp_types::primitives::Uuid;
    use serde_amqp::primitives::{Binary, Symbol, Timestamp};

    fn copies(entries: Vec<(&str, SimpleValue)>) -> Vec<(String, Option<Vec<u8>>)> {
        let mut application = ApplicationProperties::default();
        for (k, v) in entries {
            application.insert(k.to_owned(), v);
        }
        let bytes = serde_amqp::to_vec(&application).unwrap();
        let split = sections::split(&bytes).unwrap();
        let mut headers = Vec::new();
        append(&mut headers, split.application_properties.as_ref().unwrap());
        headers.into_iter().map(|h| (h.key, h.value)).collect()
    }

    fn text_header(key: &str, value: &str) -> (String, Option<Vec<u8>>) {
        (key.to_owned(), Some(value.as_bytes().to_vec()))
    }

    #[test]
    fn each_simple_type_is_copied_as_text_in_order() {
        let uuid = Uuid::from([
            0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34,
            0x56, 0x78,
        ]);
        let got = copies(vec![
            ("string", SimpleValue::String("héllo".into())),
            ("symbol", SimpleValue::Symbol(Symbol::from("sym"))),
            ("bool", SimpleValue::Bool(true)),
            ("ubyte", SimpleValue::Ubyte(250)),
            ("ushort", SimpleValue::Ushort(65_000)),
            ("uint", SimpleValue::Uint(4_000_000_000)),
            ("ulong", SimpleValue::Ulong(u64::MAX)),
            ("byte", SimpleValue::Byte(-12)),
            ("short", SimpleValue::Short(-1234)),
            ("int", SimpleValue::Int(-123_456)),
            ("long", SimpleValue::Long(i64::MIN)),
            ("float", SimpleValue::Float(1.5f32.into())),
            ("double", SimpleValue::Double((-2.25f64).into())),
            ("char", SimpleValue::Char('中')),
            (
                "timestamp",
                SimpleValue::Timestamp(Timestamp::from_milliseconds(1_767_225_600_000)),
            ),
            ("uuid", SimpleValue::Uuid(uuid)),
            ("binary", SimpleValue::Binary(Binary::from(vec![0, 0xff]))),
            ("null", SimpleValue::Null),
        ]);
        assert_eq!(
            got,
            vec![
                text_header("string", "héllo"),
                text_header("symbol", "sym"),
                text_header("bool", "true"),
                text_header("ubyte", "250"),
                text_header("ushort", "65000"),
                text_header("uint", "4000000000"),
                text_header("ulong", "18446744073709551615"),
                text_header("byte", "-12"),
                text_header("short", "-1234"),
                text_header("int", "-123456"),
                text_header("long", "-9223372036854775808"),
                text_header("float", "1.5"),
                text_header("double", "-2.25"),
                text_header("char", "中"),
                text_header("timestamp", "1767225600000"),
                text_header("uuid", "12345678-1234-5678-1234-567812345678"),
                ("binary".to_owned(), Some(vec![0, 0xff])),
                ("null".to_owned(), None),
            ]
        );
    }

    #[test]
    fn reserved_names_are_not_copied() {
        let got = copies(vec![
            ("sluice-group-id", SimpleValue::String("g".into())),
            ("amqp.body", SimpleValue::Binary(Binary::from(vec![1]))),
            ("kept", SimpleValue::Int(1)),
        ]);
        assert_eq!(got, vec![text_header("kept", "1")]);
    }
}
