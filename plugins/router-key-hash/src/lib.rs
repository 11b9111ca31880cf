//! `router-key-hash`: a key always lands in the same place, the place a Kafka producer would
//! put it.
//!
//! - Log partition: a keyed message goes to `toPositive(murmur2(key)) % partitions`, the Java
//!   client's default partitioner, so keys land where Java producers put them; a keyless one
//!   to `(sequence + i) % partitions`.
//! - Anycast queues: one copy, a keyed message to queue `toPositive(murmur2(key)) % queues`, a
//!   keyless one to `(sequence + i) % queues`; for any consumer of the queue.
//!
//! An empty key is a key (Kafka hashes it); only an absent one rotates. Adding a partition or a
//! queue moves keys, as it does in Kafka. Configuration: none; `router-config` is ignored.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

use sluice_router_kit::{any, info, place_each, rotate};
use sluice_sdk::router::{
    AddressView, MessageView, Placement, PluginInfo, Router, kafka_partition,
};

/// The key-hash router.
pub struct KeyHash;

impl Router for KeyHash {
    fn info() -> PluginInfo {
        info(
            "router-key-hash",
            sluice_sdk::plugin_version(env!("CARGO_PKG_VERSION"), option_env!("SLUICE_BUILD_TAG")),
        )
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let queues = address.queues.len();
        Ok(place_each(&address, &messages, |message, turn| {
            let index = match (&message.key, u32::try_from(queues)) {
                (_, Ok(0)) => None,
                (Some(key), Ok(n)) => usize::try_from(kafka_partition(key, n)).ok(),
                _ => rotate(turn, queues),
            };
            index.map(any).into_iter().collect()
        }))
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(KeyHash);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router_kit::testing::{address, keyed, keyless};

    const KEYS: [&str; 14] = [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "order-1",
        "customer-42",
        "ünïcødé",
        "",
    ];

    fn places(partitions: u32, queues: usize, keys: &[&str]) -> Vec<(u32, u32)> {
        let messages = keys.iter().map(|k| keyed(k)).collect();
        KeyHash::route(address(partitions, queues), messages)
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p.queues.len(), 1);
                (p.partition.unwrap(), p.queues[0].queue)
            })
            .collect()
    }

    #[test]
    fn keys_land_where_the_java_partitioner_puts_them() {
        for n in [3u32, 10] {
            let placed = places(n, n as usize, &KEYS);
            for (key, (partition, queue)) in KEYS.iter().zip(placed) {
                let want = kafka_partition(key.as_bytes(), n);
                assert_eq!(partition, want, "{key:?} among {n}");
                assert_eq!(queue, want, "{key:?} among {n}");
            }
        }
    }

    /// Worked out by hand from Kafka's own murmur2 vectors (`UtilsTest.testMurmur2`):
    /// `(murmur2(key) & 0x7fffffff) % n`, e.g. murmur2("21") = -973932308 → 1173551340.
    #[test]
    fn java_values_for_kafkas_test_vectors() {
        let keys = [
            "21",
            "foobar",
            "a-little-bit-long-string",
            "a-little-bit-longer-string",
            "abc",
        ];
        let three: Vec<u32> = places(3, 4, &keys).iter().map(|p| p.0).collect();
        let ten: Vec<u32> = places(10, 4, &keys).iter().map(|p| p.0).collect();
        let four_queues: Vec<u32> = places(3, 4, &keys).iter().map(|p| p.1).collect();
        assert_eq!(three, [0, 0, 2, 2, 0]);
        assert_eq!(ten, [0, 6, 2, 9, 7]);
        assert_eq!(four_queues, [0, 2, 0, 3, 3]);
    }

    #[test]
    fn the_same_key_stays_put_across_batches() {
        let mut a = address(10, 5);
        let first = KeyHash::route(a.clone(), vec![keyed("customer-42")]).unwrap();
        a.sequence = 12_345;
        let later = KeyHash::route(a, vec![keyless(), keyed("customer-42")]).unwrap();
        assert_eq!(first[0].partition, later[1].partition);
        assert_eq!(first[0].queues[0].queue, later[1].queues[0].queue);
    }

    #[test]
    fn keyless_messages_rotate() {
        let mut a = address(3, 2);
        a.sequence = 4;
        let placed = KeyHash::route(a, vec![keyless(); 3]).unwrap();
        let got: Vec<_> = placed
            .iter()
            .map(|p| (p.partition.unwrap(), p.queues[0].queue))
            .collect();
        assert_eq!(got, [(1, 0), (2, 1), (0, 0)]);
    }

    #[test]
    fn no_queues_no_copy() {
        let placed = KeyHash::route(address(0, 0), vec![keyed("k"), keyless()]).unwrap();
        assert!(
            placed
                .iter()
                .all(|p| p.partition.is_none() && p.queues.is_empty())
        );
    }
}
