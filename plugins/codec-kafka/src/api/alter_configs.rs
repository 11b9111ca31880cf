//! AlterConfigs (the legacy, replacing form): a topic's settings become exactly those named,
//! every other one going back to the broker default (`broker.alter-topic-configs` with
//! `replace`), as one unit. `validate_only` checks without changing.
//!
//! A null value is INVALID_REQUEST, as Kafka refuses it for topic settings. A broker
//! resource with settings is refused (INVALID_REQUEST): Sluice's broker settings are static,
//! read from its configuration file; an empty one changes nothing and succeeds. A resource
//! named twice is INVALID_REQUEST for each copy, as in Kafka. Every
//! version (v0–v2) is within kafka-protocol's range.

use kafka_protocol::messages::alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use sluice_sdk::codec::{Broker, CodecError, ConfigChange, ConfigOp};

use crate::api::config_alter::{self, Refusal};
use crate::dispatch::{Reply, Request};
use crate::errors::{self, INVALID_REQUEST};

/// Answers an AlterConfigs request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let request: AlterConfigsRequest = req.decode()?;
    let node_id = broker.cluster().node_id;
    let responses = config_alter::answers(&request.resources, node_id, |r| {
        replace_topic(broker, r, request.validate_only)
    });
    req.respond(&AlterConfigsResponse::default().with_responses(responses))
}

/// Replaces a topic's settings with those `r` names.
fn replace_topic<B: Broker>(
    broker: &B,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), Refusal> {
    let nulls: Vec<&str> = r
        .configs
        .iter()
        .filter(|c| c.value.is_none())
        .map(|c| c.name.as_str())
        .collect();
    if !nulls.is_empty() {
        return Err((
            INVALID_REQUEST,
            format!(
                "null value not supported for topic settings: {}",
                nulls.join(", ")
            ),
        ));
    }
    let changes: Vec<ConfigChange> = r
        .configs
        .iter()
        .map(|c| ConfigChange {
            name: c.name.to_string(),
            op: ConfigOp::Set,
            value: c.value.as_ref().map(|v| v.to_string()),
        })
        .collect();
    broker
        .alter_topic_configs(&r.resource_name, &changes, true, validate_only)
        .map_err(|e| (errors::code(&e), e.message))
}
