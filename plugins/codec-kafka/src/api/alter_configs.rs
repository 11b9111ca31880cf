//! AlterConfigs (the legacy, replacing form): a topic's settings become exactly those named,
//! every other one going back to the broker default (`broker.alter-topic-configs` with
//! `replace`), as one unit. `validate_only` checks without changing.
//!
//! A null value is INVALID_REQUEST, as Kafka refuses it for topic settings. A broker
//! resource with settings is refused (INVALID_REQUEST): Sluice's broker settings are static,
//! read from its configuration file; an empty one changes nothing and succeeds. A resource
//! named twice is INVALID_REQUEST for each copy, as in Kafka. Every
//! version (v0–v2) is within kafka-protocol's range.

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError, ConfigChange, ConfigOp};

use crate::api::config_resource::{self, REPEATED_MESSAGE, Resource};
use crate::dispatch::{Reply, Request};
use crate::errors::{self, INVALID_REQUEST, NONE};

/// Answers an AlterConfigs request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let request: AlterConfigsRequest = req.decode()?;
    let node_id = broker.cluster().node_id;
    let keys: Vec<(i8, &str)> = request
        .resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.as_str()))
        .collect();
    let repeated = config_resource::repeated(&keys);
    let responses = request
        .resources
        .iter()
        .zip(repeated)
        .map(|(r, repeated)| {
            let resource = config_resource::resource(r.resource_type, &r.resource_name, node_id);
            let outcome = match resource {
                _ if repeated => Err((INVALID_REQUEST, REPEATED_MESSAGE.to_owned())),
                Err(message) => Err((INVALID_REQUEST, message)),
                Ok(Resource::Broker) if r.configs.is_empty() => Ok(()),
                Ok(Resource::Broker) => Err((INVALID_REQUEST, static_broker_message())),
                Ok(Resource::Topic) => {
                    let nulls: Vec<&str> = r
                        .configs
                        .iter()
                        .filter(|c| c.value.is_none())
                        .map(|c| c.name.as_str())
                        .collect();
                    if nulls.is_empty() {
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
                            .alter_topic_configs(
                                &r.resource_name,
                                &changes,
                                true,
                                request.validate_only,
                            )
                            .map_err(|e| (errors::code(&e), e.message))
                    } else {
                        Err((
                            INVALID_REQUEST,
                            format!(
                                "null value not supported for topic settings: {}",
                                nulls.join(", ")
                            ),
                        ))
                    }
                }
            };
            let (error_code, message) = match outcome {
                Ok(()) => (NONE, None),
                Err((code, message)) => (code, Some(StrBytes::from_string(message))),
            };
            AlterConfigsResourceResponse::default()
                .with_error_code(error_code)
                .with_error_message(message)
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
        })
        .collect();
    req.respond(&AlterConfigsResponse::default().with_responses(responses))
}

/// Why a broker resource cannot be altered.
pub fn static_broker_message() -> String {
    "broker settings are static in Sluice: change them in the broker's configuration file and \
     restart"
        .to_owned()
}
