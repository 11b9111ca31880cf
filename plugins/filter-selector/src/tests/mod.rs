//! Native tests: the language on Kafka-style and AMQP-style messages, errors, bounds, and
//! random input.

mod amqp;
mod errors;
mod fuzz;
mod language;

use fe2o3_amqp_types::messaging::ApplicationProperties;
use sluice_sdk::filter::{Header, Message};

use crate::Selector;

/// A message with these record headers.
fn message(headers: Vec<Header>) -> Message {
    Message {
        key: None,
        value: Some(b"body".to_vec()),
        headers,
        timestamp_ms: 1_700_000_000_000,
        durable: true,
        expiry_ms: None,
    }
}

fn header(key: &str, value: &str) -> Header {
    Header {
        key: key.to_owned(),
        value: Some(value.as_bytes().to_vec()),
    }
}

/// A message with Kafka headers.
fn kafka(pairs: &[(&str, &str)]) -> Message {
    message(pairs.iter().map(|(k, v)| header(k, v)).collect())
}

/// The record header holding an encoded AMQP section.
fn section<T: serde_amqp::serde::Serialize>(name: &str, value: &T) -> Header {
    Header {
        key: name.to_owned(),
        value: Some(serde_amqp::to_vec(value).unwrap()),
    }
}

/// A message from AMQP with these application properties.
fn amqp(properties: ApplicationProperties) -> Message {
    message(vec![section(
        sluice_filter_props::APPLICATION_PROPERTIES,
        &properties,
    )])
}

fn selects(selector: &str, message: &Message) -> bool {
    Selector::parse(selector)
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .selects(message)
}

/// Whether `condition` is unknown (neither true nor false) for `message`.
fn unknown(condition: &str, message: &Message) -> bool {
    let is_null = selects(&format!("({condition}) IS NULL"), message);
    if is_null {
        assert!(!selects(condition, message));
        assert!(!selects(&format!("NOT ({condition})"), message));
    }
    is_null
}
