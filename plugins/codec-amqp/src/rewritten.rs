//! Whether the stored body sections (`amqp.body`) still describe the record's value.
//!
//! The sections are kept so that AMQP receivers get a body byte for byte as it was sent, but
//! the value is what Kafka readers, routers and filters see, and a filter may rewrite it (a
//! redaction, say). A rewritten value must reach AMQP receivers too; sending the stored
//! sections would hand them the original body. So on the way out the stored sections are used
//! only while they still make the value; otherwise the body is built from the value: an
//! `amqp-value` string when the original was text and the new value is UTF-8 (a JMS
//! `TextMessage` stays one), else a `data` section.
use crate::sections::{self, DATA, Section, VALUE};

/// What the stored body is, seen against the record's value.
pub enum Body {
    /// The stored sections still make the value: send them as they are.
    Unchanged,
    /// The value was rewritten; the original body was an `amqp-value` string.
    RewrittenText,
    /// The value was rewritten; the original body was anything else.
    Rewritten,
}

/// Compares the stored body sections with `value` without copying either.
pub fn compare(stored: &[u8], value: Option<&[u8]>) -> Body {
    let Ok(split) = sections::split(stored) else {
        // Not sections at all (the shape was checked when stored): trust the value.
        return Body::Rewritten;
    };
    let rewritten = |text: bool| {
        if text {
            Body::RewrittenText
        } else {
            Body::Rewritten
        }
    };
    let [only] = split.body.as_slice() else {
        // No body is a tombstone; several sections are the value, encoded.
        let made = if split.body.is_empty() {
            None
        } else {
            Some(split.body_bytes)
        };
        return if made == value {
            Body::Unchanged
        } else {
            Body::Rewritten
        };
    };
    let (made, text) = made_by(only, split.body_bytes);
    if made == value {
        Body::Unchanged
    } else {
        rewritten(text)
    }
}

/// The value one body section makes, and whether it is an `amqp-value` string.
fn made_by<'a>(section: &Section<'a>, body_bytes: &'a [u8]) -> (Option<&'a [u8]>, bool) {
    let encoded = section.value();
    match section.code {
        DATA => (binary_or_string(encoded), false),
        VALUE if encoded == [0x40] => (None, false),
        VALUE => match encoded.first() {
            Some(0xa0 | 0xb0) => (binary_or_string(encoded), false),
            Some(0xa1 | 0xb1) => (binary_or_string(encoded), true),
            _ => (Some(body_bytes), false),
        },
        _ => (Some(body_bytes), false),
    }
}

/// The payload of an encoded binary or string (`vbin8`, `vbin32`, `str8`, `str32`).
fn binary_or_string(encoded: &[u8]) -> Option<&[u8]> {
    match encoded.split_first()? {
        (0xa0 | 0xa1, rest) => rest.get(1..),
        (0xb0 | 0xb1, rest) => rest.get(4..),
        _ => None,
    }
}

/// Appends the body for a rewritten `value`.
pub fn write(out: &mut Vec<u8>, value: Option<&[u8]>, original_was_text: bool) {
    match value {
        None => out.extend_from_slice(&sections::NULL_VALUE),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if original_was_text => write_string_value(out, text),
            _ => sections::write_data(out, bytes),
        },
    }
}

/// An `amqp-value` section holding `text` (`str8` when it fits, else `str32`).
fn write_string_value(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&[0x00, 0x53, 0x77]);
    match u8::try_from(text.len()) {
        Ok(len) => out.extend_from_slice(&[0xa1, len]),
        Err(_) => {
            out.push(0xb1);
            let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::{Body, compare, write};
    use crate::sections::{self, NULL_VALUE};

    fn text_value(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        super::write_string_value(&mut out, text);
        out
    }

    #[test]
    fn stored_sections_that_still_make_the_value_are_sent_unchanged() {
        let mut data = Vec::new();
        sections::write_data(&mut data, b"abc");
        assert!(matches!(compare(&data, Some(b"abc")), Body::Unchanged));
        assert!(matches!(
            compare(&text_value("hi"), Some(b"hi")),
            Body::Unchanged
        ));
        assert!(matches!(compare(&NULL_VALUE, None), Body::Unchanged));
    }

    #[test]
    fn a_rewritten_text_body_goes_out_as_text_and_other_bodies_as_data() {
        let original = text_value(r#"{"password":"hunter2"}"#);
        let redacted = br#"{"password":"[REDACTED]"}"#;
        let Body::RewrittenText = compare(&original, Some(redacted)) else {
            panic!("a changed value must not send the stored body");
        };
        let mut out = Vec::new();
        write(&mut out, Some(redacted), true);
        assert_eq!(out, text_value(r#"{"password":"[REDACTED]"}"#));

        let mut data = Vec::new();
        sections::write_data(&mut data, b"old");
        assert!(matches!(compare(&data, Some(b"new")), Body::Rewritten));
        let mut out = Vec::new();
        write(&mut out, Some(b"new"), false);
        let mut expected = Vec::new();
        sections::write_data(&mut expected, b"new");
        assert_eq!(out, expected);
    }

    #[test]
    fn a_value_rewritten_to_nothing_goes_out_as_a_null_value() {
        let mut out = Vec::new();
        write(&mut out, None, true);
        assert_eq!(out, NULL_VALUE);
        assert!(matches!(
            compare(&text_value("x"), None),
            Body::RewrittenText
        ));
    }
}
