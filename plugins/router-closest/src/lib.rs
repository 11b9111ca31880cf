//! `router-closest` (Qpid Dispatch's `closest`): one copy per message, to a queue with a
//! consumer connected to this broker when there is one, so a message is not carried to a peer
//! when someone here can take it.
//!
//! Queue: round robin (`(sequence + i) % k`) among the `k` queues that have at least one
//! `local` consumer; when none has, round robin among all queues. Not pinned to a consumer.
//! Log partition as `router-round-robin`. Configuration: none; `router-config` is ignored.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

use sluice_router_kit::{any, info, place_each, rotate};
use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, Router};

/// The closest-first router.
pub struct Closest;

impl Router for Closest {
    fn info() -> PluginInfo {
        info(
            "router-closest",
            sluice_sdk::plugin_version(env!("CARGO_PKG_VERSION"), option_env!("SLUICE_BUILD_TAG")),
        )
    }

    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        let local: Vec<usize> = address
            .queues
            .iter()
            .enumerate()
            .filter(|(_, q)| q.consumers.iter().any(|c| c.local))
            .map(|(index, _)| index)
            .collect();
        let candidates: Vec<usize> = if local.is_empty() {
            (0..address.queues.len()).collect()
        } else {
            local
        };
        Ok(place_each(&address, &messages, |_, turn| {
            rotate(turn, candidates.len())
                .and_then(|at| candidates.get(at))
                .map(|&index| any(index))
                .into_iter()
                .collect()
        }))
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(Closest);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router_kit::testing::{address, keyless, queue};

    fn chosen(address: AddressView, count: usize) -> Vec<u32> {
        Closest::route(address, vec![keyless(); count])
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
    fn prefers_queues_with_local_consumers() {
        let mut a = address(0, 0);
        a.queues = vec![
            queue("idle", &[]),
            queue("here-1", &[(1, 0)]),
            queue("remote", &[(2, 0)]),
            queue("here-2", &[(3, 9)]),
        ];
        a.queues[2].consumers[0].local = false;
        assert_eq!(chosen(a, 4), [1, 3, 1, 3]);
    }

    #[test]
    fn round_robin_over_all_without_local_consumers() {
        let mut a = address(0, 3);
        a.queues[1] = queue("remote", &[(7, 0)]);
        a.queues[1].consumers[0].local = false;
        a.sequence = 1;
        assert_eq!(chosen(a, 4), [1, 2, 0, 1]);
    }

    #[test]
    fn no_queues_no_copy() {
        let placed = Closest::route(address(2, 0), vec![keyless()]).unwrap();
        assert!(placed[0].queues.is_empty());
        assert_eq!(placed[0].partition, Some(0));
    }
}
