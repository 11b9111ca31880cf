//! The Sluice broker: configuration, listeners, and the wiring between storage and plugins.
//!
//! Flow: [`server`] opens storage and loads each listener's codec ([`plugins`]); a listener
//! ([`net::listener`]) accepts sockets; each connection ([`net::connection`]) feeds its
//! bytes to a codec session and writes what comes back; the codec calls back into
//! [`service`] for topics, appends and reads, which go to `sluice-storage`, for groups
//! (`sluice-groups`), and for addresses and queues (`sluice-queues`). [`admin`] serves the
//! admin HTTP API; [`resources`] applies the declared resources file.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

pub mod admin;
pub mod cli;
pub mod client;
pub mod commands;
pub mod compact;
pub mod config;
pub mod limits;
pub mod listeners;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod plugins;
pub mod repair;
pub mod resources;
pub mod retention;
pub mod security;
pub mod server;
pub mod service;
