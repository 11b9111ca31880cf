//! AMQP 1.0: a lean client ([`client`]), its sender and receiver links, and the messages a
//! load run sends and reads back ([`message`]).
pub mod client;
pub mod message;
pub mod receiver;
pub mod sender;

pub use client::{Client, Credentials};
pub use receiver::Receiver;
pub use sender::Sender;
