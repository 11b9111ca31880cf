//! What a name in a selector means for one message: a JMS header field mapped from the AMQP
//! sections, else a property (`sluice-filter-props`: application properties, then record
//! headers).
//!
//! The JMS fields, as qpid-jms maps them onto AMQP:
//! - `JMSPriority`: `header.priority` (4 by default);
//! - `JMSDeliveryMode`: `'PERSISTENT'` when `header.durable`, else `'NON_PERSISTENT'`;
//! - `JMSMessageID`, `JMSCorrelationID`: `properties.message-id` / `correlation-id`; a string as
//!   sent (`ID:...`), other types as qpid-jms shows them (`ID:AMQP_ULONG:7`, `ID:AMQP_UUID:...`,
//!   `ID:AMQP_BINARY:0A1B`);
//! - `JMSType`: `properties.subject`;
//! - `JMSTimestamp`: `properties.creation-time`, else the message's timestamp;
//! - `JMSExpiration`: `properties.absolute-expiry-time`, else the message's expiry, else 0.
//!
//! A message without AMQP sections (from Kafka) has `JMSPriority` 4, `JMSDeliveryMode`
//! `'PERSISTENT'` (every stored record survives a restart), its timestamp and expiry, and no
//! message id, correlation id or type.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt::Write;

use sluice_filter_props::{
    AmqpHeader, AmqpProperties, MessageId, Origin, Props, Value, amqp_header, amqp_properties,
    is_amqp,
};
use sluice_sdk::filter::Message;

use crate::eval::Val;

/// The names of one message, its sections decoded when first needed.
pub struct Fields<'a> {
    message: &'a Message,
    props: Props<'a>,
    amqp: bool,
    header: OnceCell<Option<AmqpHeader>>,
    properties: OnceCell<Option<AmqpProperties>>,
}

impl<'a> Fields<'a> {
    pub fn new(message: &'a Message) -> Self {
        Fields {
            message,
            props: Props::new(&message.headers),
            amqp: is_amqp(&message.headers),
            header: OnceCell::new(),
            properties: OnceCell::new(),
        }
    }

    /// The value of `name`; NULL when the message has none.
    pub fn get(&self, name: &str) -> Val<'_> {
        match name {
            "JMSPriority" => Val::Long(self.header().map_or(4, |h| i64::from(h.priority.0))),
            "JMSDeliveryMode" => {
                let persistent = !self.amqp || self.header().is_some_and(|h| h.durable);
                Val::text(if persistent {
                    "PERSISTENT"
                } else {
                    "NON_PERSISTENT"
                })
            }
            "JMSMessageID" => self.id(|p| p.message_id.as_ref()),
            "JMSCorrelationID" => self.id(|p| p.correlation_id.as_ref()),
            "JMSType" => self
                .properties()
                .and_then(|p| p.subject.as_deref())
                .map_or(Val::Null, Val::text),
            "JMSTimestamp" => Val::Long(
                self.properties()
                    .and_then(|p| p.creation_time.as_ref())
                    .map_or(self.message.timestamp_ms, |t| t.milliseconds()),
            ),
            "JMSExpiration" => Val::Long(
                self.properties()
                    .and_then(|p| p.absolute_expiry_time.as_ref())
                    .map(|t| t.milliseconds())
                    .or(self.message.expiry_ms)
                    .unwrap_or(0),
            ),
            _ => self.property(name),
        }
    }

    fn property(&self, name: &str) -> Val<'_> {
        let Some(found) = self.props.get(name) else {
            return Val::Null;
        };
        match found.value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(b),
            Value::Long(n) => Val::Long(n),
            Value::Float(x) => Val::Double(f64::from(x)),
            Value::Double(x) => Val::Double(x),
            Value::Str(s) => Val::Str {
                text: Cow::Borrowed(s),
                numeric: found.origin == Origin::Record,
            },
        }
    }

    fn id(&self, field: impl Fn(&AmqpProperties) -> Option<&MessageId>) -> Val<'_> {
        match self.properties().and_then(field) {
            None => Val::Null,
            Some(MessageId::String(s)) => Val::text(s),
            Some(MessageId::Ulong(n)) => Val::owned(format!("ID:AMQP_ULONG:{n}")),
            Some(MessageId::Uuid(uuid)) => {
                let mut text = String::from("ID:AMQP_UUID:");
                for (i, byte) in uuid.as_inner().iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        text.push('-');
                    }
                    let _ = write!(text, "{byte:02x}");
                }
                Val::owned(text)
            }
            Some(MessageId::Binary(bytes)) => {
                let mut text = String::from("ID:AMQP_BINARY:");
                for byte in bytes.iter() {
                    let _ = write!(text, "{byte:02X}");
                }
                Val::owned(text)
            }
        }
    }

    fn header(&self) -> Option<&AmqpHeader> {
        if !self.amqp {
            return None;
        }
        self.header
            .get_or_init(|| amqp_header(&self.message.headers))
            .as_ref()
    }

    fn properties(&self) -> Option<&AmqpProperties> {
        if !self.amqp {
            return None;
        }
        self.properties
            .get_or_init(|| amqp_properties(&self.message.headers))
            .as_ref()
    }
}
