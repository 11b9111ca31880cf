//! What Sluice's built-in filters share: a message's properties by name, as a selector or a
//! match condition sees them.
//!
//! A name is looked up, in order, among
//! 1. the AMQP application properties, decoded from the record header
//!    `amqp.application-properties` (where the AMQP codec keeps the section byte for byte):
//!    strings, booleans, integers of every width, floats, doubles, and chars (as strings); a
//!    property of another type is present with a NULL value;
//! 2. the record headers (Kafka headers): the value as UTF-8 text, NULL when it has none or is
//!    not UTF-8. The first header of that name counts.
//!
//! Names starting with `sluice-` (the host's own headers) or `amqp.` (the stored AMQP sections)
//! are never properties: they are the host's bookkeeping, not the application's.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod sections;
mod value;

use std::cell::OnceCell;

use sluice_sdk::filter::Header;

pub use crate::sections::{
    APPLICATION_PROPERTIES, HEADER, PROPERTIES, amqp_header, amqp_properties, is_amqp,
};
pub use crate::value::Value;
pub use fe2o3_amqp_types::messaging::{
    Header as AmqpHeader, MessageId, Properties as AmqpProperties,
};

use crate::value::Owned;

/// Prefix of the headers the host sets for itself (`sluice-expiry-ms`, ...).
pub const HOST_PREFIX: &str = "sluice-";
/// Prefix of the headers holding a message's AMQP sections.
pub const AMQP_PREFIX: &str = "amqp.";

/// Whether `name` is the host's and never a property.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with(HOST_PREFIX) || name.starts_with(AMQP_PREFIX)
}

/// Where a property was found: selectors treat a header's text differently (it may stand for
/// a number) from a typed application property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An AMQP application property.
    Application,
    /// A record (Kafka) header.
    Record,
}

/// A property that is present (possibly with a NULL value).
#[derive(Clone, Debug, PartialEq)]
pub struct Found<'a> {
    /// Its value.
    pub value: Value<'a>,
    /// Where it was found.
    pub origin: Origin,
}

/// The properties of one message, its application properties decoded on the first lookup.
pub struct Props<'a> {
    headers: &'a [Header],
    application: OnceCell<Vec<(String, Owned)>>,
}

impl<'a> Props<'a> {
    /// The properties carried by a message's `headers`.
    pub fn new(headers: &'a [Header]) -> Self {
        Props {
            headers,
            application: OnceCell::new(),
        }
    }

    /// The property `name`; `None` when the message has none of that name.
    pub fn get(&self, name: &str) -> Option<Found<'_>> {
        if is_hidden(name) {
            return None;
        }
        let application = self
            .application
            .get_or_init(|| sections::application_properties(self.headers));
        if let Some((_, value)) = application.iter().find(|(key, _)| key == name) {
            return Some(Found {
                value: value.as_value(),
                origin: Origin::Application,
            });
        }
        let header = self.headers.iter().find(|h| h.key == name)?;
        let value = match header.value.as_deref().map(std::str::from_utf8) {
            Some(Ok(text)) => Value::Str(text),
            _ => Value::Null,
        };
        Some(Found {
            value,
            origin: Origin::Record,
        })
    }
}

#[cfg(test)]
mod tests;
