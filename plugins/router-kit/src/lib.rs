//! What Sluice's built-in routers share: the rotation every round robin counts from, the
//! round-robin partitioning of the address's log that all of them use, and the loop that
//! turns a per-message choice of queues into a batch of placements.
//!
//! Routers are stateless (see `wit/router.wit`): the rotation of the `i`th message of a batch
//! is `address.sequence + i`, so a swapped or restarted plugin continues where the last one
//! left off.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod testing;

use sluice_sdk::router::kafka_partition;
use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, QueueTarget};

/// The plugin info of a built-in router: its name and the version its crate computed with
/// `sluice_sdk::plugin_version` (the version macros must expand in the plugin's own crate).
pub fn info(name: &str, version: String) -> PluginInfo {
    PluginInfo {
        name: name.to_owned(),
        version,
    }
}

/// The rotation count of the message at `index` in the batch.
pub fn turn(address: &AddressView, index: usize) -> u64 {
    address.sequence.wrapping_add(index as u64)
}

/// The position `turn` lands on among `count` choices; `None` when there are none.
pub fn rotate(turn: u64, count: usize) -> Option<usize> {
    let count = u64::try_from(count).ok().filter(|&c| c > 0)?;
    usize::try_from(turn % count).ok()
}

/// The log partition every built-in router picks: none when the send may not reach the log,
/// the Java client's default partitioner for a keyed message (so keys land where Kafka
/// producers put them), else the rotation.
pub fn partition(address: &AddressView, message: &MessageView, turn: u64) -> Option<u32> {
    let partitions = address.partitions;
    if partitions == 0 {
        return None;
    }
    Some(match &message.key {
        Some(key) => kafka_partition(key, partitions),
        // The remainder is below `partitions`, a u32.
        None => (turn % u64::from(partitions)) as u32,
    })
}

/// A copy to queue `index` for any of its consumers.
pub fn any(index: usize) -> QueueTarget {
    QueueTarget {
        queue: wire_index(index),
        consumer: None,
    }
}

/// A copy to queue `index` pinned to consumer `consumer`.
pub fn pinned(index: usize, consumer: u64) -> QueueTarget {
    QueueTarget {
        queue: wire_index(index),
        consumer: Some(consumer),
    }
}

/// The round-robin queue of a message: one copy to queue `turn % n`, none without queues.
pub fn round_robin_queue(address: &AddressView, turn: u64) -> Vec<QueueTarget> {
    rotate(turn, address.queues.len())
        .map(any)
        .into_iter()
        .collect()
}

/// Places every message: the round-robin partition, and the queues `queues` picks given the
/// message and its rotation count.
pub fn place_each(
    address: &AddressView,
    messages: &[MessageView],
    mut queues: impl FnMut(&MessageView, u64) -> Vec<QueueTarget>,
) -> Vec<Placement> {
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let turn = turn(address, index);
            Placement {
                partition: partition(address, message, turn),
                queues: queues(message, turn),
            }
        })
        .collect()
}

/// A queue index as the WIT carries it. The host never sends anywhere near `u32::MAX`
/// queues; saturating makes an impossible count an out-of-range index the host refuses.
fn wire_index(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{address, keyed, keyless};

    #[test]
    fn keyless_partitions_rotate_from_the_sequence() {
        let mut a = address(3, 0);
        a.sequence = 7;
        let placed = place_each(&a, &[keyless(), keyless(), keyless()], |_, _| vec![]);
        let partitions: Vec<_> = placed.iter().map(|p| p.partition).collect();
        assert_eq!(partitions, [Some(1), Some(2), Some(0)]);
    }

    #[test]
    fn keyed_partitions_follow_the_java_partitioner() {
        let a = address(10, 0);
        let placed = place_each(&a, &[keyed("21"), keyed("21")], |_, _| vec![]);
        // murmur2("21") = -973932308; & 0x7fffffff = 1173551340; % 10 = 0.
        assert_eq!(placed[0].partition, Some(0));
        assert_eq!(placed[1].partition, Some(0));
    }

    #[test]
    fn no_partition_when_the_log_is_out_of_reach() {
        let placed = place_each(&address(0, 2), &[keyed("k"), keyless()], |_, _| vec![]);
        assert!(placed.iter().all(|p| p.partition.is_none()));
    }

    #[test]
    fn rotation_wraps_without_overflow() {
        let mut a = address(0, 3);
        a.sequence = u64::MAX;
        assert_eq!(turn(&a, 1), 0);
        assert_eq!(rotate(u64::MAX, 3), Some(0));
        assert_eq!(rotate(5, 0), None);
        assert!(round_robin_queue(&address(4, 0), 9).is_empty());
        assert_eq!(round_robin_queue(&a, 4)[0].queue, 1);
    }
}
