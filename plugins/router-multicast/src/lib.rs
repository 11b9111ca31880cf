//! `router-multicast`: every message to every anycast queue of the address, a copy each (for
//! any of its consumers), as if each queue were a subscription.
//!
//! Log partition as `router-round-robin`: a keyed message where the Java client's default
//! partitioner puts its key, a keyless one to `(sequence + i) % partitions`. Configuration:
//! none; `router-config` is ignored.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

use sluice_router_kit::{any, info, place_each};
use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, Router};

/// The multicast router.
pub struct Multicast;

impl Router for Multicast {
    fn info() -> PluginInfo {
        info(
            "router-multicast",
            sluice_sdk::plugin_version(env!("CARGO_PKG_VERSION"), option_env!("SLUICE_BUILD_TAG")),
        )
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let every = address.queues.len();
        Ok(place_each(&address, &messages, |_, _| {
            (0..every).map(any).collect()
        }))
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(Multicast);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router_kit::testing::{address, keyed, keyless};

    #[test]
    fn copies_to_every_queue() {
        let placed = Multicast::route(address(2, 3), vec![keyless(), keyed("k")]).unwrap();
        for p in &placed {
            let queues: Vec<_> = p.queues.iter().map(|t| (t.queue, t.consumer)).collect();
            assert_eq!(queues, [(0, None), (1, None), (2, None)]);
        }
        assert_eq!(placed[0].partition, Some(0));
        assert_eq!(
            placed[1].partition,
            Some(sluice_sdk::router::kafka_partition(b"k", 2))
        );
    }

    #[test]
    fn without_queues_only_the_log() {
        let placed = Multicast::route(address(1, 0), vec![keyless()]).unwrap();
        assert_eq!(placed[0].partition, Some(0));
        assert!(placed[0].queues.is_empty());
    }
}
