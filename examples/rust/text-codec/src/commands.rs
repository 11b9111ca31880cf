//! What each command does: the host calls it makes and the reply it owes.
//!
//! Place in the flow: `session` hands every whole line to [`TextConnection::execute`], which
//! parses it (`command`) and pushes exactly one reply (`replies`).
//!
//! Addresses read as the AMQP codec reads them, so both protocols meet on the same nodes: a
//! `queue://` prefix asks for anycast, `topic://` for multicast, and a bare name for whatever
//! the address has (a new address gets the settings' `default-routing-type`, multicast unless
//! configured otherwise, and so a log that Kafka clients read as the topic of that name).

use sluice_sdk::codec::{
    Broker, ConsumerOptions, Level, Message, Modification, Outcome, Queues, RoutingType,
};

use crate::command::{Command, parse};
use crate::escape;
use crate::limits::{AUTH_FAILURES_MAX, SUBSCRIPTIONS_MAX};
use crate::session::{Auth, TextConnection, describe};

/// The reply to `HELP`.
const HELP: &str = "OK commands: AUTH <user> <password> | PUB <address> <body> | \
                    SUB <address> [<queue>] | ACK <sub> <tag> | NACK <sub> <tag> | \
                    UNSUB <sub> | PING [<text>] | QUIT";

impl TextConnection {
    /// Runs one line and queues its reply.
    pub(crate) fn execute<B: Broker + Queues>(&mut self, broker: &B, line: &[u8]) {
        let command = match parse(line) {
            Ok(Command::Blank) => return,
            Ok(command) => command,
            Err(reason) => return self.replies.line(format!("ERR {reason}")),
        };
        if self.auth == Auth::Unasked {
            self.auth = if broker.anonymous_allowed() {
                Auth::Anonymous
            } else {
                Auth::Required
            };
        }
        let open = self.auth != Auth::Required;
        match command {
            Command::Blank => {}
            Command::Auth { user, password } => self.authenticate(broker, &user, &password),
            Command::Ping { text } => {
                let mut reply = b"PONG".to_vec();
                if !text.is_empty() {
                    reply.push(b' ');
                    escape::encode(&text, &mut reply);
                }
                self.replies.line(reply);
            }
            Command::Help => self.replies.line(HELP),
            Command::Quit => {
                self.replies.close("BYE", "the client quit");
                self.closing = true;
            }
            _ if !open => self
                .replies
                .line("ERR authenticate first: AUTH <user> <password>"),
            Command::Pub { address, body } => self.publish(broker, &address, body),
            Command::Sub { address, queue } => self.subscribe(broker, &address, queue),
            Command::Ack { sub, tag } => self.settle(broker, sub, tag, Outcome::Accepted),
            Command::Nack { sub, tag } => {
                // A failed attempt, not a plain release: the delivery count goes up and the
                // queue's redelivery delay and dead-letter limit apply, so a message that
                // always fails ends in the dead-letter address instead of looping forever.
                let failed = Outcome::Modified(Modification {
                    delivery_failed: true,
                    undeliverable_here: false,
                });
                self.settle(broker, sub, tag, failed);
            }
            Command::Unsub { sub } => match self.subs.remove(sub) {
                Some(consumer) => {
                    broker.close_consumer(consumer);
                    self.replies.line("OK");
                }
                None => self.replies.line(format!("ERR no subscription {sub}")),
            },
        }
    }

    /// `AUTH`: checked by the host against its users; the peer learns only yes or no.
    fn authenticate<B: Broker + Queues>(&mut self, broker: &B, user: &str, password: &str) {
        if let Auth::User(name) = &self.auth {
            return self
                .replies
                .line(format!("ERR already authenticated as {name}"));
        }
        match broker.authenticate(user, password) {
            Some(principal) => {
                self.log(
                    broker,
                    Level::Debug,
                    &format!("authenticated as {}", principal.name),
                );
                self.replies.line(format!("OK {}", principal.name));
                self.auth = Auth::User(principal.name);
            }
            None => {
                // Which of the name or the password was wrong is the host's to log, not
                // the peer's to learn.
                self.auth_failures += 1;
                if self.auth_failures >= AUTH_FAILURES_MAX {
                    self.replies.close(
                        "ERR authentication failed",
                        format!("{AUTH_FAILURES_MAX} failed authentications"),
                    );
                    self.closing = true;
                } else {
                    self.replies.line("ERR authentication failed");
                }
            }
        }
    }

    /// `PUB`: one durable message, acknowledged once stored under the broker's durability
    /// policy (the reply waits for `sent.pending` to pass).
    fn publish<B: Broker + Queues>(&mut self, broker: &B, address: &str, body: Vec<u8>) {
        let (address, routing) = node(address);
        let message = Message {
            key: None,
            value: Some(body),
            headers: Vec::new(),
            timestamp_ms: broker.now_ms(),
            durable: true,
            expiry_ms: None,
        };
        match broker.send(address, routing, &[message]) {
            Ok(sent) if sent.pending.is_empty() => self.replies.line("OK"),
            Ok(sent) => self.replies.durable(sent.pending),
            Err(e) => self.replies.line(format!("ERR {}", describe(&e))),
        }
    }

    /// `SUB`: a consumer on the address's anycast queue (or the queue named), or with
    /// `topic://` a subscription to the address (durable and named when a queue is given,
    /// else temporary).
    fn subscribe<B: Broker + Queues>(&mut self, broker: &B, address: &str, queue: Option<String>) {
        if !self.subs.has_room() {
            return self.replies.line(format!(
                "ERR too many subscriptions (at most {SUBSCRIPTIONS_MAX} per connection)"
            ));
        }
        let (address, routing) = node(address);
        let options = match (routing, queue) {
            (Some(RoutingType::Multicast), subscription) => ConsumerOptions {
                source: address.to_owned(),
                routing: Some(RoutingType::Multicast),
                durable: subscription.is_some(),
                subscription,
                dynamic: false,
                selector: None,
            },
            (_, queue) => ConsumerOptions {
                source: match queue {
                    Some(queue) => format!("{address}::{queue}"),
                    None => address.to_owned(),
                },
                routing: Some(RoutingType::Anycast),
                subscription: None,
                durable: false,
                dynamic: false,
                selector: None,
            },
        };
        match broker.open_consumer(&options) {
            Ok(consumer) => {
                let number = self.subs.open(consumer.id);
                self.log(
                    broker,
                    Level::Debug,
                    &format!(
                        "subscription {number} reads {}::{}",
                        consumer.address, consumer.queue
                    ),
                );
                self.replies.line(format!("OK {number}"));
            }
            Err(e) => self.replies.line(format!("ERR {}", describe(&e))),
        }
    }

    /// `ACK` and `NACK`.
    fn settle<B: Broker + Queues>(&mut self, broker: &B, sub: u32, tag: u64, outcome: Outcome) {
        let consumer = match self.subs.settle(sub, tag) {
            Ok(consumer) => consumer,
            Err(reason) => return self.replies.line(format!("ERR {reason}")),
        };
        match broker.settle(consumer, &[tag], outcome) {
            Ok(()) => self.replies.line("OK"),
            Err(e) => self.replies.line(format!("ERR {}", describe(&e))),
        }
    }
}

/// An address without its routing prefix, and the routing type the prefix asks for.
fn node(address: &str) -> (&str, Option<RoutingType>) {
    if let Some(name) = address.strip_prefix("queue://") {
        (name, Some(RoutingType::Anycast))
    } else if let Some(name) = address.strip_prefix("topic://") {
        (name, Some(RoutingType::Multicast))
    } else {
        (address, None)
    }
}
