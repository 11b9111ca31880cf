//! Where messages go: the protocol spoken and the destination named, Artemis's way.
//!
//! `queue://NAME` is an anycast address (or queue), `topic://NAME` a multicast one, and a
//! bare `NAME` the address as it is, with the broker's default routing (`ADDRESS::QUEUE` names
//! one queue of an address). On the wire the prefix becomes a terminus capability (`queue` or
//! `topic`) on a bare address, as Qpid JMS sends it: Sluice's AMQP codec and Artemis both read
//! it, and no broker has to know the prefix convention. For Kafka a destination is a topic;
//! `topic://` is accepted and `queue://` refused (Kafka has no anycast).
use std::fmt;

use crate::error::{LoadError, Result};

/// The wire protocol a run speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// AMQP 1.0.
    Amqp,
    /// Kafka.
    Kafka,
}

impl Protocol {
    /// Its name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Amqp => "amqp",
            Protocol::Kafka => "kafka",
        }
    }

    /// Artemis's default destination (`queue://TEST`), or the topic `TEST` for Kafka.
    pub fn default_destination(self) -> &'static str {
        match self {
            Protocol::Amqp => "queue://TEST",
            Protocol::Kafka => "TEST",
        }
    }
}

/// How an address hands a message to its queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// To one of its queues (point to point).
    Anycast,
    /// To every queue (publish and subscribe).
    Multicast,
}

impl Routing {
    /// The terminus capability that asks for this routing.
    pub fn capability(self) -> &'static str {
        match self {
            Routing::Anycast => "queue",
            Routing::Multicast => "topic",
        }
    }
}

/// A parsed `--destination`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The address, topic or `ADDRESS::QUEUE`, prefix removed.
    pub name: String,
    /// The routing the prefix asked for; `None` for a bare name.
    pub routing: Option<Routing>,
}

impl Destination {
    /// Reads `text` for `protocol`.
    pub fn parse(text: &str, protocol: Protocol) -> Result<Destination> {
        let (name, routing) = if let Some(name) = text.strip_prefix("queue://") {
            (name, Some(Routing::Anycast))
        } else if let Some(name) = text.strip_prefix("topic://") {
            (name, Some(Routing::Multicast))
        } else {
            (text, None)
        };
        if name.is_empty() {
            return Err(LoadError::usage(format!(
                "--destination {text:?} names nothing"
            )));
        }
        if protocol == Protocol::Kafka {
            if routing == Some(Routing::Anycast) {
                return Err(LoadError::usage(format!(
                    "--destination {text}: Kafka has topics, not queues; name the topic"
                )));
            }
            if name.contains("::") {
                return Err(LoadError::usage(format!(
                    "--destination {text}: Kafka names a topic, not ADDRESS::QUEUE"
                )));
            }
        }
        Ok(Destination {
            name: name.to_owned(),
            routing,
        })
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.routing {
            Some(Routing::Anycast) => write!(f, "queue://{}", self.name),
            Some(Routing::Multicast) => write!(f, "topic://{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_choose_the_routing_and_are_removed() {
        let q = Destination::parse("queue://orders", Protocol::Amqp).unwrap();
        assert_eq!(q.name, "orders");
        assert_eq!(q.routing, Some(Routing::Anycast));
        let t = Destination::parse("topic://prices", Protocol::Amqp).unwrap();
        assert_eq!(
            (t.name.as_str(), t.routing),
            ("prices", Some(Routing::Multicast))
        );
        let bare = Destination::parse("DavidAddress::gpteQueue", Protocol::Amqp).unwrap();
        assert_eq!(bare.routing, None);
        assert_eq!(bare.to_string(), "DavidAddress::gpteQueue");
        assert_eq!(q.to_string(), "queue://orders");
    }

    #[test]
    fn kafka_takes_topics_only() {
        assert!(Destination::parse("queue://orders", Protocol::Kafka).is_err());
        assert!(Destination::parse("a::b", Protocol::Kafka).is_err());
        let t = Destination::parse("topic://events", Protocol::Kafka).unwrap();
        assert_eq!(t.name, "events");
        assert_eq!(
            Destination::parse("events", Protocol::Kafka).unwrap().name,
            "events"
        );
    }

    #[test]
    fn an_empty_name_is_a_usage_error() {
        let err = Destination::parse("queue://", Protocol::Amqp).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(Destination::parse("", Protocol::Kafka).is_err());
    }
}
