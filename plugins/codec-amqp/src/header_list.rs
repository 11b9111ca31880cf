//! The `x-opt-kafka-headers` message annotation: a plain record's headers, all of them in
//! order, when the application properties cannot tell them.
//!
//! Place in the flow: `record_form` adds it when it dresses a record as an AMQP message and
//! reads it back when an AMQP client sends such a message on.
//!
//! Kafka headers are a list: a name may repeat, and order is kept. Application properties are
//! a map, and the broker's own `sluice-*` headers never become application properties (an
//! AMQP application must not take them for its data, nor set them by accident). So when a name
//! repeats or a header is the broker's, the application properties still hold each other name
//! (with its last value, as Kafka's `lastHeader` reads it) and this annotation holds the whole
//! list: a list of `[name, value]` pairs, the name a string and the value a binary (exactly the
//! header's bytes) or null (a header without a value).

use serde_amqp::Value;
use serde_amqp::primitives::Binary;
use sluice_sdk::codec::Header as RecordHeader;

use crate::message::HOST_HEADER_PREFIX;

/// The annotation's name.
pub const ANNOTATION: &str = "x-opt-kafka-headers";

/// Whether the application properties lose something of `headers`: a name repeats, or a
/// header is the broker's own.
pub fn needed(headers: &[RecordHeader]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(headers.len());
    headers
        .iter()
        .any(|h| h.key.starts_with(HOST_HEADER_PREFIX) || !seen.insert(h.key.as_str()))
}

/// The annotation's value for `headers`.
pub fn to_value(headers: &[RecordHeader]) -> Value {
    Value::List(
        headers
            .iter()
            .map(|h| {
                let value = match &h.value {
                    Some(bytes) => Value::Binary(Binary::from(bytes.clone())),
                    None => Value::Null,
                };
                Value::List(vec![Value::String(h.key.clone()), value])
            })
            .collect(),
    )
}

/// The headers the annotation's value lists; `None` when it is not a list of `[string,
/// binary or null]` pairs.
pub fn from_value(value: &Value) -> Option<Vec<RecordHeader>> {
    let Value::List(pairs) = value else {
        return None;
    };
    pairs
        .iter()
        .map(|pair| match pair {
            Value::List(pair) => match pair.as_slice() {
                [Value::String(key), Value::Binary(bytes)] => Some(RecordHeader {
                    key: key.clone(),
                    value: Some(bytes.to_vec()),
                }),
                [Value::String(key), Value::Null] => Some(RecordHeader {
                    key: key.clone(),
                    value: None,
                }),
                _ => None,
            },
            _ => None,
        })
        .collect()
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

    /// Headers as pairs, to compare.
    fn pairs(headers: Option<Vec<RecordHeader>>) -> Option<Vec<(String, Option<Vec<u8>>)>> {
        headers.map(|hs| hs.into_iter().map(|h| (h.key, h.value)).collect())
    }

    #[test]
    fn the_list_gives_back_every_header_in_order_with_repeats_and_no_values() {
        let headers = vec![
            header("a", Some(b"1")),
            header("b", None),
            header("a", Some(&[0xff, 0])),
            header("", Some(b"")),
        ];
        let expected = pairs(Some(headers.clone()));
        assert_eq!(pairs(from_value(&to_value(&headers))), expected);
    }

    #[test]
    fn it_is_needed_only_for_a_repeated_name_or_a_broker_header() {
        assert!(!needed(&[header("a", None), header("b", None)]));
        assert!(needed(&[header("a", None), header("a", None)]));
        assert!(needed(&[header("sluice-group-id", Some(b"g"))]));
        assert!(!needed(&[]));
    }

    #[test]
    fn a_value_of_another_shape_is_not_a_header_list() {
        let not_lists = [
            Value::String("a".into()),
            Value::List(vec![Value::String("a".into())]),
            Value::List(vec![Value::List(vec![Value::String("a".into())])]),
            Value::List(vec![Value::List(vec![
                Value::String("a".into()),
                Value::String("text, not binary".into()),
            ])]),
            Value::List(vec![Value::List(vec![
                Value::Symbol("a".into()),
                Value::Null,
            ])]),
        ];
        for value in not_lists {
            assert!(from_value(&value).is_none(), "{value:?}");
        }
    }
}
