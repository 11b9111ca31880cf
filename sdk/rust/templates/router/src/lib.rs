//! A Sluice router: round robin. Each message goes to the next anycast queue of its address
//! in turn, and to the log partition the Java Kafka client would pick for its key (the next
//! partition in turn when it has none).
//!
//! Build (from this directory; needs `rustup target add wasm32-wasip2`):
//!
//! ```text
//! cargo build --target wasm32-wasip2 --release
//! ```
//!
//! The component is `target/wasm32-wasip2/release/my_router.wasm`. Load and attach it:
//!
//! ```toml
//! [[plugins.load]]
//! name = "my-router"
//! kind = "router"
//! source = "/path/to/my_router.wasm"
//!
//! [[address-settings]]
//! match = "orders.#"
//! router = "my-router"
//! ```
//!
//! The contract is `wit/router.wit`; `docs/sdk-rust.md` walks through the rest.

use sluice_sdk::router::{
    AddressView, MessageView, Placement, PluginInfo, QueueTarget, Router, kafka_partition,
};

/// The router. Routers keep no state between calls: `address.sequence` counts the messages
/// routed on the address so far, so a rotation survives a restart or a swap of the plugin.
pub struct MyRouter;

impl Router for MyRouter {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "my-router".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// One placement per message, in order.
    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let queues = address.queues.len() as u64;
        let placements = messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                let turn = address.sequence.wrapping_add(i as u64);
                // 0 partitions: this send does not reach the address's log.
                let partition = (address.partitions > 0).then(|| match &message.key {
                    Some(key) => kafka_partition(key, address.partitions),
                    None => (turn % u64::from(address.partitions)) as u32,
                });
                let queue = (queues > 0).then(|| QueueTarget {
                    queue: (turn % queues) as u32,
                    consumer: None,
                });
                Placement {
                    partition,
                    queues: queue.into_iter().collect(),
                }
            })
            .collect();
        Ok(placements)
    }
}

// Only a Wasm build exports the component; a native build (`cargo test`) is a plain library.
#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(MyRouter);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::router::QueueState;

    fn address(partitions: u32, queues: usize, sequence: u64) -> AddressView {
        AddressView {
            name: "orders".to_owned(),
            partitions,
            queues: (0..queues)
                .map(|i| QueueState {
                    name: format!("q{i}"),
                    messages: 0,
                    consumers: Vec::new(),
                })
                .collect(),
            sequence,
            config: String::new(),
        }
    }

    fn keyless() -> MessageView {
        MessageView {
            key: None,
            headers: Vec::new(),
            timestamp_ms: 0,
            body_bytes: 0,
        }
    }

    #[test]
    fn queues_take_turns_from_the_addresss_sequence() {
        let placed = MyRouter::route(address(0, 3, 4), vec![keyless(); 3]).unwrap();
        let queues: Vec<u32> = placed.iter().map(|p| p.queues[0].queue).collect();
        assert_eq!(queues, [1, 2, 0]);
        assert!(placed.iter().all(|p| p.partition.is_none()));
    }
}
