//! `router-balanced` (Qpid Dispatch's `balanced`): each message to the consumer least busy
//! right now, so a slow consumer is not handed work a fast one could do.
//!
//! - Anycast queues: one copy, pinned to one consumer: among the consumers of all the queues,
//!   the one with the fewest unsettled deliveries, counting those this batch already handed
//!   it. Ties go to the first in rotation from `(sequence + i)` over the consumers in queue
//!   order, so equally idle consumers take turns. When no queue has a consumer, round robin
//!   over the queues, unpinned.
//! - Log partition as `router-round-robin`.
//!
//! Configuration: none; `router-config` is ignored.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

use sluice_router_kit::{info, pinned, place_each, rotate, round_robin_queue};
use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, QueueTarget, Router};

/// The balanced router.
pub struct Balanced;

/// A consumer the batch may be pinned to, with its load as the batch goes on.
struct Candidate {
    queue: usize,
    consumer: u64,
    load: u64,
}

impl Router for Balanced {
    fn info() -> PluginInfo {
        info(
            "router-balanced",
            sluice_sdk::plugin_version(env!("CARGO_PKG_VERSION"), option_env!("SLUICE_BUILD_TAG")),
        )
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let mut candidates: Vec<Candidate> = address
            .queues
            .iter()
            .enumerate()
            .flat_map(|(queue, state)| {
                state.consumers.iter().map(move |c| Candidate {
                    queue,
                    consumer: c.id,
                    load: u64::from(c.unsettled),
                })
            })
            .collect();
        Ok(place_each(
            &address,
            &messages,
            |_, turn| match least_loaded(&mut candidates, turn) {
                Some(target) => vec![target],
                None => round_robin_queue(&address, turn),
            },
        ))
    }
}

/// Pins to the least loaded candidate, the first in rotation from `turn` among equals, and
/// counts the message against it.
fn least_loaded(candidates: &mut [Candidate], turn: u64) -> Option<QueueTarget> {
    let count = candidates.len();
    let start = rotate(turn, count)?;
    // `min_by_key` keeps the first of equal minima, so walking from `start` breaks ties by
    // rotation.
    let best = (0..count)
        .map(|k| (start + k) % count)
        .min_by_key(|&at| candidates.get(at).map_or(u64::MAX, |c| c.load))?;
    let chosen = candidates.get_mut(best)?;
    chosen.load = chosen.load.saturating_add(1);
    Some(pinned(chosen.queue, chosen.consumer))
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(Balanced);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router_kit::testing::{address, keyed, keyless, queue};

    fn pins(address: AddressView, count: usize) -> Vec<(u32, Option<u64>)> {
        Balanced::route(address, vec![keyless(); count])
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p.queues.len(), 1);
                (p.queues[0].queue, p.queues[0].consumer)
            })
            .collect()
    }

    #[test]
    fn favours_the_consumer_with_fewest_unsettled() {
        let mut a = address(0, 0);
        a.queues = vec![queue("a", &[(10, 5), (11, 2)]), queue("b", &[(20, 0)])];
        let got = pins(a, 10);
        // 20 catches up with 11 first; 10 gets nothing until the others reach its 5.
        assert_eq!(&got[..2], &[(1, Some(20)), (1, Some(20))]);
        let first_to_10 = got.iter().position(|&(_, c)| c == Some(10)).unwrap();
        assert_eq!(first_to_10, 9, "{got:?}");
        let load = |id, unsettled| unsettled + got.iter().filter(|&&(_, c)| c == Some(id)).count();
        let loads = [load(10, 5), load(11, 2), load(20, 0)];
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
            "{loads:?}"
        );
    }

    #[test]
    fn equal_consumers_take_turns_from_the_sequence() {
        let mut a = address(0, 0);
        a.queues = vec![queue("a", &[(1, 3), (2, 3)]), queue("b", &[(3, 3)])];
        a.sequence = 1;
        let got = pins(a, 6);
        assert_eq!(
            got,
            [
                (0, Some(2)),
                (1, Some(3)),
                (0, Some(1)),
                (0, Some(2)),
                (1, Some(3)),
                (0, Some(1))
            ]
        );
    }

    #[test]
    fn round_robin_unpinned_without_consumers() {
        let mut a = address(2, 3);
        a.sequence = 2;
        assert_eq!(pins(a, 3), [(2, None), (0, None), (1, None)]);
    }

    #[test]
    fn partitions_as_round_robin() {
        let placed = Balanced::route(address(4, 0), vec![keyless(), keyed("21")]).unwrap();
        assert_eq!(placed[0].partition, Some(0));
        assert_eq!(placed[1].partition, Some(0));
        assert!(placed.iter().all(|p| p.queues.is_empty()));
    }
}
