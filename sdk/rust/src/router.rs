//! The `router` world as a Rust trait: a [`Router`] turns a batch of messages (without their
//! bodies) and the address as it stands into one [`Placement`] per message. The contract is in
//! `wit/router.wit`.
//!
//! ```ignore
//! struct First;
//! impl sluice_sdk::router::Router for First {
//!     fn info() -> sluice_sdk::router::PluginInfo { /* ... */ }
//!     fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
//!         Ok(messages.iter().map(|_| Placement { partition: None, queues: vec![] }).collect())
//!     }
//! }
//! sluice_sdk::export_router!(First);
//! ```

pub use crate::bindings::sluice::plugin::types::{Header, PluginInfo};
pub use crate::router_bindings::exports::sluice::plugin::routing::{
    AddressView, ConsumerState, MessageView, Placement, QueueState, QueueTarget,
};

/// A routing policy. Both functions are associated functions: the host may run several
/// instances and swap them, so whatever a router needs to remember across batches comes in
/// `AddressView` (`sequence` for rotations), not from the instance.
pub trait Router {
    /// The plugin's name and version.
    fn info() -> PluginInfo;
    /// One route per message, in order; `Err` holds the batch (see `wit/router.wit`).
    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String>;
}

/// Kafka's `Utils.murmur2`: the hash the Java client's default partitioner applies to a
/// record's key (MurmurHash2, 32 bits, seed `0x9747b28c`, as Java computes it).
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    // Kafka hashes the length as a Java int; keys are far below 2^31 bytes.
    let mut h = 0x9747_b28c_u32 ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut word = [0u8; 4];
        word.copy_from_slice(chunk);
        let mut k = u32::from_le_bytes(word).wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    let byte = |i: usize| u32::from(tail.get(i).copied().unwrap_or(0));
    if tail.len() >= 3 {
        h ^= byte(2) << 16;
    }
    if tail.len() >= 2 {
        h ^= byte(1) << 8;
    }
    if !tail.is_empty() {
        h ^= byte(0);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client's default partitioner gives a keyed record among
/// `partitions` (at least 1): `toPositive(murmur2(key)) % numPartitions`.
pub fn kafka_partition(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions.max(1)
}

/// The value of the first header named `name` on a message, if it has one with a value.
pub fn header<'a>(message: &'a MessageView, name: &str) -> Option<&'a [u8]> {
    message
        .headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value.as_deref())
}

/// Exports `$router` (a type implementing [`Router`]) as the component's `router` interface.
#[macro_export]
macro_rules! export_router {
    ($router:ty) => {
        #[doc(hidden)]
        pub struct __SluiceRouterExport;

        impl $crate::router_bindings::exports::sluice::plugin::routing::Guest for __SluiceRouterExport {
            fn info() -> $crate::router::PluginInfo {
                <$router as $crate::router::Router>::info()
            }
            fn route(
                address: $crate::router::AddressView,
                messages: ::std::vec::Vec<$crate::router::MessageView>,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::router::Placement>, ::std::string::String>
            {
                <$router as $crate::router::Router>::route(address, messages)
            }
        }

        $crate::router_bindings::__export_router_world!(__SluiceRouterExport with_types_in $crate::router_bindings);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors (`UtilsTest.testMurmur2`).
    #[test]
    fn murmur2_matches_kafka() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn a_key_always_lands_in_range() {
        for n in 1..10 {
            for key in [&b""[..], b"a", b"orders-17", &[0xff; 33]] {
                assert!(kafka_partition(key, n) < n);
            }
        }
        assert_eq!(kafka_partition(b"x", 0), 0);
    }
}
