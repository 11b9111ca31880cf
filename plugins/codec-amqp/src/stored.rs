//! Which records are AMQP messages: a stored record's `amqp.*` headers, found and checked.
//!
//! Place in the flow: `message::outbound` asks [`Stored::find`] whether a record is an AMQP
//! message to send back as its sections, or a plain record (a Kafka producer wrote it) to
//! dress as one (`record_form`); `record_form` asks it too before taking an AMQP message for a
//! plain record, so both directions agree on which is which.
//!
//! A record is an AMQP message when it has at least one section header and every section
//! header is a valid section of its kind, named once. The codec never writes anything else, so
//! any other mix came from a Kafka producer: the whole record is then plain and every header,
//! the malformed `amqp.*` ones included, reaches AMQP receivers as an application property.
//! Nothing is left out, and a receiver that sends the message on gives the record back.

use sluice_sdk::codec::Header as RecordHeader;

use crate::sections;

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

/// The sections of a record that is an AMQP message, as stored.
#[derive(Default)]
pub struct Stored<'a> {
    /// `amqp.header`.
    pub header: Option<&'a [u8]>,
    /// `amqp.message-annotations`.
    pub message_annotations: Option<&'a [u8]>,
    /// `amqp.properties`.
    pub properties: Option<&'a [u8]>,
    /// `amqp.application-properties`.
    pub application_properties: Option<&'a [u8]>,
    /// `amqp.body`: the body sections, when the value does not rebuild them.
    pub body: Option<&'a [u8]>,
    /// `amqp.footer`.
    pub footer: Option<&'a [u8]>,
}

impl<'a> Stored<'a> {
    /// The record's sections if it is an AMQP message; `None` for a plain record. `malformed`
    /// is told of each section header that makes a record plain (not valid, or repeated).
    pub fn find(headers: &'a [RecordHeader], malformed: &mut dyn FnMut(&str)) -> Option<Self> {
        let mut stored = Stored::default();
        let mut any = false;
        let mut plain = false;
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
            any = true;
            let valid = |bytes: &[u8]| match code {
                Some(code) => sections::is_one(bytes, code),
                None => sections::is_body(bytes),
            };
            match &h.value {
                Some(bytes) if slot.is_none() && valid(bytes) => *slot = Some(bytes.as_slice()),
                _ => {
                    plain = true;
                    malformed(&h.key);
                }
            }
        }
        (any && !plain).then_some(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(key: &str, value: Option<&[u8]>) -> RecordHeader {
        RecordHeader {
            key: key.to_owned(),
            value: value.map(<[u8]>::to_vec),
        }
    }

    /// An empty `properties` section and an empty `data` section.
    const PROPERTIES_SECTION: &[u8] = &[0x00, 0x53, 0x73, 0x45];
    const DATA_SECTION: &[u8] = &[0x00, 0x53, 0x75, 0xa0, 0x00];

    fn find(headers: &[RecordHeader]) -> (bool, Vec<String>) {
        let mut malformed = Vec::new();
        let found = Stored::find(headers, &mut |k| malformed.push(k.to_owned())).is_some();
        (found, malformed)
    }

    #[test]
    fn valid_section_headers_make_an_amqp_message_whatever_else_is_there() {
        let headers = [
            header("trace", Some(b"t")),
            header(PROPERTIES, Some(PROPERTIES_SECTION)),
            header(BODY, Some(DATA_SECTION)),
        ];
        assert_eq!(find(&headers), (true, vec![]));
    }

    #[test]
    fn a_record_without_section_headers_is_plain() {
        assert_eq!(find(&[header("amqp.other", Some(b"x"))]), (false, vec![]));
        assert_eq!(find(&[]), (false, vec![]));
    }

    #[test]
    fn one_malformed_missing_or_repeated_section_header_makes_the_whole_record_plain() {
        let cases = [
            vec![
                header(PROPERTIES, Some(PROPERTIES_SECTION)),
                header(HEADER, Some(&[1, 2, 3])),
            ],
            vec![
                header(PROPERTIES, Some(PROPERTIES_SECTION)),
                header(BODY, None),
            ],
            vec![
                header(PROPERTIES, Some(PROPERTIES_SECTION)),
                header(PROPERTIES, Some(PROPERTIES_SECTION)),
            ],
            // A section of another kind under the name.
            vec![header(FOOTER, Some(PROPERTIES_SECTION))],
        ];
        for headers in cases {
            let (found, malformed) = find(&headers);
            assert!(!found, "{headers:?}");
            assert_eq!(malformed.len(), 1, "{headers:?}");
        }
    }
}
