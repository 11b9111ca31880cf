//! Builders for the routers' native tests: addresses and messages with only what routing
//! reads filled in.

use sluice_sdk::router::{AddressView, ConsumerState, Header, MessageView, QueueState};

/// An address with `partitions` log partitions and `queues` queues without consumers,
/// named `q0`, `q1`, ...
pub fn address(partitions: u32, queues: usize) -> AddressView {
    AddressView {
        name: "orders".to_owned(),
        partitions,
        queues: (0..queues).map(|i| queue(&format!("q{i}"), &[])).collect(),
        sequence: 0,
        config: String::new(),
    }
}

/// A queue with local consumers given as `(id, unsettled)`.
pub fn queue(name: &str, consumers: &[(u64, u32)]) -> QueueState {
    QueueState {
        name: name.to_owned(),
        messages: 0,
        consumers: consumers
            .iter()
            .map(|&(id, unsettled)| ConsumerState {
                id,
                unsettled,
                local: true,
            })
            .collect(),
    }
}

/// A message with a key.
pub fn keyed(key: &str) -> MessageView {
    MessageView {
        key: Some(key.as_bytes().to_vec()),
        ..keyless()
    }
}

/// A message without a key or headers.
pub fn keyless() -> MessageView {
    MessageView {
        key: None,
        headers: Vec::new(),
        timestamp_ms: 0,
        body_bytes: 0,
    }
}

/// A keyless message with one header.
pub fn with_header(name: &str, value: &[u8]) -> MessageView {
    MessageView {
        headers: vec![Header {
            key: name.to_owned(),
            value: Some(value.to_vec()),
        }],
        ..keyless()
    }
}
