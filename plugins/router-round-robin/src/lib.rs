//! `router-round-robin`, Sluice's default routing policy.
//!
//! - Log partition (when the send may reach the log): a keyed message goes where the Java
//!   client's default partitioner puts its key, so Kafka readers find a key's messages in one
//!   partition; a keyless one goes to partition `(sequence + i) % partitions`.
//! - Anycast queues: exactly one copy, to queue `(sequence + i) % queues`, for any of its
//!   consumers; none when the address has no queue the send may reach.
//!
//! (`i` is the message's index in the batch, `sequence` the address's count of messages routed
//! before it.) Configuration: none; `router-config` is ignored.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

use sluice_router_kit::{info, place_each, round_robin_queue};
use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, Router};

/// The round-robin router.
pub struct RoundRobin;

impl Router for RoundRobin {
    fn info() -> PluginInfo {
        info(
            "router-round-robin",
            sluice_sdk::plugin_version(env!("CARGO_PKG_VERSION"), option_env!("SLUICE_BUILD_TAG")),
        )
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        Ok(place_each(&address, &messages, |_, turn| {
            round_robin_queue(&address, turn)
        }))
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(RoundRobin);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router_kit::testing::{address, keyed, keyless};

    #[test]
    fn spreads_keyless_messages_evenly() {
        let mut a = address(4, 3);
        a.sequence = 5;
        let placed = RoundRobin::route(a, vec![keyless(); 12]).unwrap();
        let mut per_queue = [0; 3];
        let mut per_partition = [0; 4];
        for p in &placed {
            assert_eq!(p.queues.len(), 1);
            assert_eq!(p.queues[0].consumer, None);
            per_queue[p.queues[0].queue as usize] += 1;
            per_partition[p.partition.unwrap() as usize] += 1;
        }
        assert_eq!(per_queue, [4, 4, 4]);
        assert_eq!(per_partition, [3, 3, 3, 3]);
        // The rotation starts at the address's sequence: 5 % 3 = 2, 5 % 4 = 1.
        assert_eq!(placed[0].queues[0].queue, 2);
        assert_eq!(placed[0].partition, Some(1));
    }

    #[test]
    fn keyed_messages_keep_their_partition_but_rotate_queues() {
        let placed = RoundRobin::route(address(3, 2), vec![keyed("order-1"); 4]).unwrap();
        let partition = sluice_sdk::router::kafka_partition(b"order-1", 3);
        assert!(placed.iter().all(|p| p.partition == Some(partition)));
        let queues: Vec<_> = placed.iter().map(|p| p.queues[0].queue).collect();
        assert_eq!(queues, [0, 1, 0, 1]);
    }

    #[test]
    fn nothing_to_reach_drops() {
        let placed = RoundRobin::route(address(0, 0), vec![keyless(), keyed("k")]).unwrap();
        assert!(
            placed
                .iter()
                .all(|p| p.partition.is_none() && p.queues.is_empty())
        );
    }

    #[test]
    fn reports_its_name() {
        assert_eq!(RoundRobin::info().name, "router-round-robin");
    }
}
