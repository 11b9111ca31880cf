//! `router-sharded`: spreads one anycast address over its queues (the shards) evenly, keeping
//! a message group on one shard so its order holds.
//!
//! - Anycast queues: one copy. A message with the header `sluice-group-id` goes to shard
//!   `toPositive(murmur2(group id)) % shards` (the group id's bytes, hashed as Kafka hashes
//!   keys); one without it to shard `(sequence + i) % shards`. For any consumer of the shard.
//! - Log partition as `router-round-robin`.
//!
//! The group stays on its shard while the shard count does; adding a shard moves groups.
//! Configuration: none; `router-config` is ignored.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

use sluice_router_kit::{any, info, place_each, rotate};
use sluice_sdk::router::{
    AddressView, MessageView, Placement, PluginInfo, Router, header, kafka_partition,
};

/// The header naming a message's group (AMQP `group-id`, JMS `JMSXGroupID`).
pub const GROUP_HEADER: &str = "sluice-group-id";

/// The sharding router.
pub struct Sharded;

impl Router for Sharded {
    fn info() -> PluginInfo {
        info(
            "router-sharded",
            sluice_sdk::plugin_version(env!("CARGO_PKG_VERSION"), option_env!("SLUICE_BUILD_TAG")),
        )
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let shards = address.queues.len();
        Ok(place_each(&address, &messages, |message, turn| {
            let index = match (header(message, GROUP_HEADER), u32::try_from(shards)) {
                (_, Ok(0)) => None,
                (Some(group), Ok(n)) => usize::try_from(kafka_partition(group, n)).ok(),
                _ => rotate(turn, shards),
            };
            index.map(any).into_iter().collect()
        }))
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(Sharded);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router_kit::testing::{address, keyless, with_header};

    fn shards_of(address: AddressView, messages: Vec<MessageView>) -> Vec<u32> {
        Sharded::route(address, messages)
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p.queues.len(), 1);
                assert_eq!(p.queues[0].consumer, None);
                p.queues[0].queue
            })
            .collect()
    }

    #[test]
    fn a_group_stays_on_one_shard() {
        let group = || with_header(GROUP_HEADER, b"basket-17");
        let mut a = address(0, 5);
        let first = shards_of(
            a.clone(),
            vec![group(), keyless(), group(), keyless(), group()],
        );
        assert_eq!(first[0], first[2]);
        assert_eq!(first[0], first[4]);
        assert_eq!(first[0], kafka_partition(b"basket-17", 5));
        a.sequence = 999;
        assert_eq!(shards_of(a, vec![keyless(), group()])[1], first[0]);
    }

    #[test]
    fn groups_spread_over_shards() {
        let messages = (0..400)
            .map(|g| with_header(GROUP_HEADER, format!("group-{g}").as_bytes()))
            .collect();
        let mut per_shard = [0; 4];
        for shard in shards_of(address(0, 4), messages) {
            per_shard[shard as usize] += 1;
        }
        assert!(per_shard.iter().all(|&n| n > 60), "{per_shard:?}");
    }

    #[test]
    fn messages_without_a_group_rotate_evenly() {
        let mut a = address(2, 3);
        a.sequence = 2;
        assert_eq!(shards_of(a, vec![keyless(); 6]), [2, 0, 1, 2, 0, 1]);
    }

    #[test]
    fn the_key_does_not_choose_the_shard() {
        let mut m = with_header(GROUP_HEADER, b"g");
        m.key = Some(b"other".to_vec());
        let placed = Sharded::route(address(3, 7), vec![m]).unwrap();
        assert_eq!(placed[0].queues[0].queue, kafka_partition(b"g", 7));
        assert_eq!(placed[0].partition, Some(kafka_partition(b"other", 3)));
    }
}
