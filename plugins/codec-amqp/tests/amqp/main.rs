//! Behaviour tests of the AMQP codec: frames encoded with fe2o3-amqp-types and serde_amqp go
//! through an `AmqpConnection` over an in-memory host (`host`), driven by a scripted client
//! (`peer`), and what the codec writes, calls and arms is checked.

mod host;
mod peer;

mod credit;
mod dispositions;
mod durability;
mod errors;
mod holding;
mod lifecycle;
mod mapping;
mod messages;
mod routing;
mod sasl;
mod selectors;
mod transfers;
