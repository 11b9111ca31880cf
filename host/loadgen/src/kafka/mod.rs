//! Kafka: framing shared with the benchmarks ([`wire`]), one connection ([`connection`]),
//! the metadata and offset requests ([`calls`]), a producer and a consumer.
pub mod calls;
pub mod connection;
pub mod consumer;
pub mod producer;
pub mod wire;

pub use calls::Start;
pub use consumer::Consumer;
pub use producer::Producer;
