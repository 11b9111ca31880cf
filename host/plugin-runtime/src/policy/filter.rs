//! A loaded filter: checks configurations and judges batches.
use crate::bindings::filter::{Filter, Verdict};
use crate::bindings::{Message, PluginInfo};
use crate::error::CallError;
use crate::stats::{PluginStats, StatsSnapshot};

use super::Policy;

/// A loaded, checked filter plugin (`wit/filter.wit`). Calls are synchronous and may come from
/// any thread; up to [`super::POOL_INSTANCES_MAX`] run at once.
pub struct FilterPlugin {
    policy: Policy<Filter>,
}

impl FilterPlugin {
    pub(crate) fn new(policy: Policy<Filter>) -> Self {
        FilterPlugin { policy }
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

    /// Checks a configuration before it is attached: [`CallError::Refused`] says what is wrong
    /// with it.
    pub fn check(&self, config: &str) -> Result<(), CallError> {
        self.policy.call(
            0,
            |filter, store| filter.sluice_plugin_filtering().call_check(store, config),
            |()| Ok(()),
        )
    }

    /// Judges a batch under `config`: one verdict per message, in order. An answer of another
    /// length is refused as the plugin's error.
    pub fn apply(&self, config: &str, messages: &[Message]) -> Result<Vec<Verdict>, CallError> {
        let verdicts = self.policy.call(
            messages.len(),
            |filter, store| {
                filter
                    .sluice_plugin_filtering()
                    .call_apply(store, config, messages)
            },
            |verdicts| {
                if verdicts.len() == messages.len() {
                    Ok(())
                } else {
                    Err(format!(
                        "filter answered {} verdicts for {} messages",
                        verdicts.len(),
                        messages.len()
                    ))
                }
            },
        )?;
        let passed = verdicts
            .iter()
            .filter(|v| !matches!(v, Verdict::Drop))
            .count();
        PluginStats::add(&self.policy.counters().messages_out, passed);
        Ok(verdicts)
    }
}
