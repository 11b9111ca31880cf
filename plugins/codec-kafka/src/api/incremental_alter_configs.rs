//! IncrementalAlterConfigs: changes only the topic settings named, each by its operation
//! (SET, DELETE back to the broker default, APPEND to or SUBTRACT from a list setting such as
//! `cleanup.policy`), as one unit per topic (`broker.alter-topic-configs` without `replace`).
//! `validate_only` checks without changing.
//!
//! Refused per resource with INVALID_REQUEST, as Kafka does: an unknown operation, a setting
//! named twice in one resource, a resource named twice, a null value for anything but
//! DELETE, a resource type Sluice does not have, and a broker resource with changes (Sluice's
//! broker settings are static, read from its configuration file). v0–v1 are both within
//! kafka-protocol's range.

use std::collections::HashSet;

use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use sluice_sdk::codec::{Broker, CodecError, ConfigChange, ConfigOp};

use crate::api::config_alter::{self, Refusal};
use crate::dispatch::{Reply, Request};
use crate::errors::{self, INVALID_REQUEST};

/// Kafka's `AlterConfigOp.OpType` codes.
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Answers an IncrementalAlterConfigs request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let request: IncrementalAlterConfigsRequest = req.decode()?;
    let node_id = broker.cluster().node_id;
    let responses = config_alter::answers(&request.resources, node_id, |r| {
        alter(broker, r, request.validate_only)
    });
    req.respond(&IncrementalAlterConfigsResponse::default().with_responses(responses))
}

/// Applies the changes `r` names to its topic.
fn alter<B: Broker>(
    broker: &B,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), Refusal> {
    let mut seen = HashSet::new();
    let changes = r
        .configs
        .iter()
        .map(|c| {
            let name = c.name.as_str();
            if !seen.insert(name) {
                return Err((
                    INVALID_REQUEST,
                    format!("setting `{name}` is named more than once"),
                ));
            }
            let op = match c.config_operation {
                SET => ConfigOp::Set,
                DELETE => ConfigOp::Delete,
                APPEND => ConfigOp::Append,
                SUBTRACT => ConfigOp::Subtract,
                other => {
                    return Err((
                        INVALID_REQUEST,
                        format!("unknown operation {other} for setting `{name}`"),
                    ));
                }
            };
            if op != ConfigOp::Delete && c.value.is_none() {
                return Err((
                    INVALID_REQUEST,
                    format!("null value for setting `{name}`: only DELETE takes none"),
                ));
            }
            Ok(ConfigChange {
                name: name.to_owned(),
                op,
                value: c.value.as_ref().map(|v| v.to_string()),
            })
        })
        .collect::<Result<Vec<_>, Refusal>>()?;
    broker
        .alter_topic_configs(&r.resource_name, &changes, false, validate_only)
        .map_err(|e| (errors::code(&e), e.message))
}
