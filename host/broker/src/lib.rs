//! The Sluice broker: configuration, listeners, and the wiring between storage and plugins.
//!
//! Flow: [`server`] opens storage and loads each listener's codec ([`plugins`]); a listener
//! ([`net::listener`]) accepts sockets; each connection ([`net::connection`]) feeds its
//! bytes to a codec session and writes what comes back; the codec calls back into
//! [`service`] for topics, appends and reads, which go to `sluice-storage`.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

pub mod cli;
pub mod compact;
pub mod config;
pub mod limits;
pub mod logging;
pub mod net;
pub mod plugins;
pub mod repair;
pub mod retention;
pub mod server;
pub mod service;
