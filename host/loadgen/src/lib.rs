//! Load tools that speak to a running broker the way applications do: Kafka (produce with
//! acks=all, fetch, committed offsets) and AMQP 1.0 (unsettled sends, receivers with credit,
//! accepted dispositions). `sluice produce`, `sluice consume` and `sluice perf` are thin
//! wrappers over [`produce::run`], [`consume::run`] and [`perf::run`]; the benchmarks use the
//! same clients ([`amqp`], [`kafka::wire`]).
//!
//! Flow: options name a [`destination::Destination`] and a protocol; [`link`] opens one
//! producer or consumer per thread over [`amqp`] or [`kafka`]; each counts what the broker
//! acknowledged ([`summary`]) or, for perf, timestamps each payload ([`payload`]) so that
//! [`perf`] can report throughput and latency percentiles.
//!
//! **Invariant:** nothing grows with the run's length: messages in flight are bounded per
//! connection, latencies go into fixed-size histograms and per-second samples are folded
//! when they reach their cap.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod amqp;
pub mod consume;
pub mod destination;
pub mod error;
pub mod kafka;
pub mod link;
pub mod payload;
pub mod perf;
pub mod produce;
pub mod summary;

pub use destination::{Destination, Protocol, Routing};
pub use error::LoadError;
