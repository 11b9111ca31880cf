//! The address model's [`sluice_queues::Policies`] over the loaded routers and filters: the
//! model's values become the WIT's and back, and a plugin's failure becomes a hold or a
//! pass-through by its slot's [`OnFailure`].
//!
//! Every kind of failure is treated alike for the messages: a plugin that returned an error, one
//! that trapped (and is now restarting with backoff), one still backing off. Holding is the
//! default because only holding loses nothing and lets nothing skip the policy.
use sluice_plugin_runtime::{
    AddressView, CallError, ConsumerState, Header, MessageView, QueueState, Verdict,
};
use sluice_queues::{self as q, FilterRef, PolicyError};

use super::{OnFailure, Policies};
use crate::service::queues::{message_in, message_out};

impl q::Policies for Policies {
    fn route(
        &self,
        router: &str,
        address: &q::AddressView,
        messages: &[&q::Message],
    ) -> Result<Vec<q::Placement>, PolicyError> {
        let Some(slot) = self.router_named(router) else {
            return Err(PolicyError::Invalid(format!(
                "address `{}` names router `{router}`, which is not loaded",
                address.name
            )));
        };
        let view = address_view(address);
        let views: Vec<MessageView> = messages.iter().map(|m| message_view(m)).collect();
        match slot.current().route(&view, &views) {
            Ok(placements) => Ok(placements
                .into_iter()
                .map(|p| q::Placement {
                    partition: p.partition,
                    queues: p
                        .queues
                        .into_iter()
                        .map(|t| q::QueueTarget {
                            queue: t.queue,
                            consumer: t.consumer,
                        })
                        .collect(),
                })
                .collect()),
            Err(e) => Err(failed("router", router, slot.on_failure, &e)),
        }
    }

    fn check_filter(&self, filter: &FilterRef) -> Result<(), PolicyError> {
        let slot = self.filter_slot(filter)?;
        match slot.current().check(&filter.config) {
            Ok(()) => Ok(()),
            Err(CallError::Refused(reason)) => Err(PolicyError::Invalid(reason)),
            // A filter that cannot say now cannot vouch for the configuration either.
            Err(e) => Err(failed("filter", &filter.plugin, OnFailure::Hold, &e)),
        }
    }

    fn filter(
        &self,
        filter: &FilterRef,
        messages: &[q::Message],
    ) -> Result<Vec<q::Verdict>, PolicyError> {
        let slot = self.filter_slot(filter)?;
        let batch: Vec<_> = messages.iter().cloned().map(message_out).collect();
        match slot.current().apply(&filter.config, &batch) {
            Ok(verdicts) => Ok(verdicts
                .into_iter()
                .map(|v| match v {
                    Verdict::Keep => q::Verdict::Keep,
                    Verdict::Drop => q::Verdict::Drop,
                    Verdict::Rewrite(m) => q::Verdict::Rewrite(message_in(m)),
                })
                .collect()),
            Err(e) => Err(failed("filter", &filter.plugin, slot.on_failure, &e)),
        }
    }
}

impl Policies {
    fn filter_slot(
        &self,
        filter: &FilterRef,
    ) -> Result<std::sync::Arc<super::PolicySlot<sluice_plugin_runtime::FilterPlugin>>, PolicyError>
    {
        self.filter_named(&filter.plugin).ok_or_else(|| {
            PolicyError::Invalid(format!("no filter plugin `{}` is loaded", filter.plugin))
        })
    }
}

/// What a failed call means for its messages under the slot's policy; logged at the call's
/// level by the runtime, so only the outcome is decided here.
fn failed(kind: &str, name: &str, on_failure: OnFailure, error: &CallError) -> PolicyError {
    match on_failure {
        OnFailure::Pass => PolicyError::Bypass,
        OnFailure::Hold => {
            PolicyError::Unavailable(format!("{kind} `{name}` is not available: {error}"))
        }
    }
}

fn address_view(address: &q::AddressView) -> AddressView {
    AddressView {
        name: address.name.clone(),
        partitions: address.partitions,
        queues: address
            .queues
            .iter()
            .map(|queue| QueueState {
                name: queue.name.clone(),
                messages: queue.messages,
                consumers: queue
                    .consumers
                    .iter()
                    .map(|c| ConsumerState {
                        id: c.id,
                        unsettled: c.unsettled,
                        local: c.local,
                    })
                    .collect(),
            })
            .collect(),
        sequence: address.sequence,
        config: address.config.clone(),
    }
}

/// The message without its body: routing never reads one, and copying it into the plugin
/// would cost as much as the rest of the route.
fn message_view(message: &q::Message) -> MessageView {
    MessageView {
        key: message.key.clone(),
        headers: message
            .headers
            .iter()
            .map(|(key, value)| Header {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        timestamp_ms: message.timestamp_ms,
        body_bytes: u32::try_from(message.body_bytes()).unwrap_or(u32::MAX),
    }
}
