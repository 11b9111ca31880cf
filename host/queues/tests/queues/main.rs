//! Behaviour tests of `sluice-queues` through its public API, against a real storage in a
//! temporary directory, one module per area.

mod anycast;
mod attributes;
mod concurrency;
mod dead_letters;
mod durability;
mod expiry;
mod kit;
mod multicast;
mod names;
mod redelivery;
mod settings;
mod waiting;
