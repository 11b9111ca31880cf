//! `header-router`: an example router that sends each message to the anycast queue one of its
//! headers names, for addresses that fan work out by region, tenant or priority.
//!
//! - Configuration (`router-config`): the header's name; empty means `region`.
//! - The header's value V is read as the built-in filters read a property: an AMQP
//!   application property of that name (a string as it is, a number in decimal, a boolean as
//!   `true` / `false`), else a record (Kafka) header of that name whose value is UTF-8.
//! - Anycast queue: when the message has the header with a value V (not empty), the
//!   queue of the address named V, else the first queue whose name ends in `.V` (so
//!   `orders.eu` serves `region: eu`); when V names no queue, or the message has no such
//!   header, the queue named `default` or ending in `.default`; when there is none, the
//!   address's queues in turn (round robin, counted from the address's `sequence` so a swap
//!   or restart of the plugin carries the rotation on). One copy, for any consumer.
//! - Log partition (when the send reaches the address's log): the Java Kafka client's
//!   partitioner, murmur2, applied to V's UTF-8 when the header is there, else to the
//!   message's key, else round robin; so one region's messages stay in one partition, in
//!   order, and Kafka readers of that partition see them all.
//!
//! ```toml
//! [[plugins.load]]
//! name = "header-router"
//! kind = "router"
//! source = "target/examples/rust/header-router.wasm"
//!
//! [[address-settings]]
//! match = "orders"
//! router = "header-router"
//! router-config = "region"
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod choice;

use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, QueueTarget, Router};

pub use crate::choice::{DEFAULT_HEADER, DEFAULT_QUEUE, header_name, partition, queue, value};

/// The header router.
pub struct HeaderRouter;

impl Router for HeaderRouter {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "header-router".to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let header = header_name(&address.config);
        let names: Vec<&str> = address.queues.iter().map(|q| q.name.as_str()).collect();
        let mut placements = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            // The rotation of this message, as every stateless router counts it.
            let turn = address.sequence.wrapping_add(index as u64);
            let value = value(&message.headers, header);
            let target = queue(&names, value.as_deref(), turn)
                .map(|index| QueueTarget {
                    // The host sends far fewer than u32::MAX queues; an impossible index
                    // saturates to one the host refuses rather than wrapping to a real one.
                    queue: u32::try_from(index).unwrap_or(u32::MAX),
                    consumer: None,
                })
                .into_iter()
                .collect();
            placements.push(Placement {
                partition: partition(
                    address.partitions,
                    value.as_deref().map(str::as_bytes),
                    message.key.as_deref(),
                    turn,
                ),
                queues: target,
            });
        }
        Ok(placements)
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(HeaderRouter);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::router::{Header, QueueState};

    fn address(partitions: u32, queues: &[&str], config: &str) -> AddressView {
        AddressView {
            name: "orders".to_owned(),
            partitions,
            queues: queues
                .iter()
                .map(|name| QueueState {
                    name: (*name).to_owned(),
                    messages: 0,
                    consumers: Vec::new(),
                })
                .collect(),
            sequence: 0,
            config: config.to_owned(),
        }
    }

    fn with_header(name: &str, value: &str) -> MessageView {
        MessageView {
            key: None,
            headers: vec![Header {
                key: name.to_owned(),
                value: Some(value.as_bytes().to_vec()),
            }],
            timestamp_ms: 0,
            body_bytes: 1,
        }
    }

    fn queues_of(placements: &[Placement]) -> Vec<Vec<u32>> {
        placements
            .iter()
            .map(|p| p.queues.iter().map(|q| q.queue).collect())
            .collect()
    }

    #[test]
    fn each_message_goes_to_the_queue_its_header_names() {
        let a = address(0, &["orders.us", "orders.eu", "orders.default"], "");
        let placed = HeaderRouter::route(
            a,
            vec![
                with_header("region", "eu"),
                with_header("region", "us"),
                with_header("region", "mars"),
                with_header("other", "eu"),
            ],
        )
        .unwrap();
        assert_eq!(queues_of(&placed), [vec![1], vec![0], vec![2], vec![2]]);
        assert!(placed.iter().all(|p| p.partition.is_none()));
    }

    #[test]
    fn the_configuration_names_the_header() {
        let a = address(0, &["gold", "silver"], " tier ");
        let placed = HeaderRouter::route(
            a,
            vec![with_header("tier", "silver"), with_header("region", "gold")],
        )
        .unwrap();
        // The second has no `tier` and there is no default queue: round robin, turn 1.
        assert_eq!(queues_of(&placed), [vec![1], vec![1]]);
    }

    #[test]
    fn the_partition_follows_the_header_so_a_region_stays_in_order() {
        let a = address(8, &[], "");
        let placed = HeaderRouter::route(a, vec![with_header("region", "eu"); 3]).unwrap();
        let want = sluice_sdk::router::kafka_partition(b"eu", 8);
        assert!(placed.iter().all(|p| p.partition == Some(want)));
        assert!(placed.iter().all(|p| p.queues.is_empty()));
    }
}
