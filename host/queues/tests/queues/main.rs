//! Behaviour tests of `sluice-queues` through its public API, against a real storage in a
//! temporary directory, one module per area.

mod anycast;
mod attributes;
mod concurrency;
mod dead_letters;
mod delivery_filters;
mod durability;
mod expiry;
mod kit;
mod last_value_queues;
mod management;
mod message_groups;
mod multicast;
mod names;
mod policy_attributes;
mod publish_filters;
mod redelivery;
mod ring_queues;
mod routers;
mod scheduled_delivery;
mod selectors;
mod settings;
mod skip_bounds;
mod waiting;
