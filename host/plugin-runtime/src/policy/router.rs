//! A loaded router: routes batches, and refuses an answer that does not fit the address.
use crate::bindings::PluginInfo;
use crate::bindings::router::{AddressView, MessageView, Placement, Router};
use crate::error::CallError;
use crate::stats::StatsSnapshot;

use super::Policy;

/// A loaded, checked router plugin (`wit/router.wit`). Calls are synchronous and may come from
/// any thread; up to [`super::POOL_INSTANCES_MAX`] run at once.
pub struct RouterPlugin {
    policy: Policy<Router>,
}

impl RouterPlugin {
    pub(crate) fn new(policy: Policy<Router>) -> Self {
        RouterPlugin { policy }
    }

    /// The label it was loaded under (file path or built-in name).
    pub fn label(&self) -> &str {
        self.policy.label()
    }

    /// What the plugin says it is.
    pub fn info(&self) -> &PluginInfo {
        self.policy.info()
    }

    /// SHA-256 of the component's bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        self.policy.sha256()
    }

    /// The host's figures for this plugin.
    pub fn stats(&self) -> StatsSnapshot {
        self.policy.stats()
    }

    /// False from a failed call until the next successful one (see [`CallError::Unavailable`]).
    pub fn healthy(&self) -> bool {
        self.policy.healthy()
    }

    /// Routes a batch: one placement per message, in order. An answer of another length, or
    /// naming a partition or queue the address does not have, is refused as the plugin's error.
    pub fn route(
        &self,
        address: &AddressView,
        messages: &[MessageView],
    ) -> Result<Vec<Placement>, CallError> {
        let placements = self.policy.call(
            messages.len(),
            |router, store| {
                router
                    .sluice_plugin_routing()
                    .call_route(store, address, messages)
            },
            |placements| fits(address, messages.len(), placements),
        )?;
        let routed = placements
            .iter()
            .filter(|p| p.partition.is_some() || !p.queues.is_empty())
            .count();
        crate::stats::PluginStats::add(&self.policy.counters().messages_out, routed);
        Ok(placements)
    }
}

/// Whether `placements` answers `messages` messages on `address`; if not, why.
fn fits(address: &AddressView, messages: usize, placements: &[Placement]) -> Result<(), String> {
    if placements.len() != messages {
        return Err(format!(
            "router answered {} placements for {messages} messages",
            placements.len()
        ));
    }
    let queues = address.queues.len();
    for (i, placement) in placements.iter().enumerate() {
        if let Some(partition) = placement.partition
            && partition >= address.partitions
        {
            return Err(format!(
                "placement {i}: partition {partition} is out of range (address `{}` has {} partitions)",
                address.name, address.partitions
            ));
        }
        if let Some(target) = placement
            .queues
            .iter()
            .find(|t| usize::try_from(t.queue).map_or(true, |q| q >= queues))
        {
            return Err(format!(
                "placement {i}: queue {} is out of range (address `{}` offers {queues} queues)",
                target.queue, address.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::router::QueueTarget;

    fn address(partitions: u32, queues: usize) -> AddressView {
        AddressView {
            name: "a".into(),
            partitions,
            queues: (0..queues)
                .map(|i| crate::bindings::router::QueueState {
                    name: format!("q{i}"),
                    messages: 0,
                    consumers: Vec::new(),
                })
                .collect(),
            sequence: 0,
            config: String::new(),
        }
    }

    fn placement(partition: Option<u32>, queue: Option<u32>) -> Placement {
        Placement {
            partition,
            queues: queue
                .map(|queue| QueueTarget {
                    queue,
                    consumer: None,
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn placements_must_match_the_batch_and_the_address() {
        let a = address(2, 1);
        assert!(fits(&a, 2, &[placement(Some(1), Some(0)), placement(None, None)]).is_ok());
        assert!(fits(&a, 2, &[placement(Some(1), None)]).is_err());
        assert!(fits(&a, 1, &[placement(Some(2), None)]).is_err());
        assert!(fits(&a, 1, &[placement(None, Some(1))]).is_err());
        assert!(fits(&address(0, 0), 1, &[placement(Some(0), None)]).is_err());
    }
}
