//! Behaviour tests of the Kafka codec: real Kafka requests (encoded with kafka-protocol, or by
//! hand for the versions it no longer knows) go through a `KafkaConnection` over an in-memory
//! broker, and the responses are decoded and checked.

mod client;
mod fake_admin;
mod fake_broker;
mod fake_groups;

mod admin;
mod admin_configs;
mod api_versions;
mod durability;
mod framing;
mod groups;
mod idempotence;
mod legacy;
mod metadata;
mod parking;
mod produce_fetch;
