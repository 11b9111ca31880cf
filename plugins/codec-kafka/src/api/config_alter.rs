//! What AlterConfigs and IncrementalAlterConfigs share around their own rules for settings:
//! every copy of a repeated resource refused, the resource named checked against this
//! cluster, a broker resource with changes refused (Sluice's broker settings are static), and
//! each outcome as Kafka's (error code, message). Only a topic's changes differ between the
//! two, so only those reach the API's own code.

use kafka_protocol::messages::alter_configs_request::AlterConfigsResource as Replacing;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse as ReplacingResponse;
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource as Incremental;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResponse;
use kafka_protocol::protocol::StrBytes;

use crate::api::config_resource::{self, REPEATED_MESSAGE, Resource};
use crate::errors::{INVALID_REQUEST, NONE};

/// Why a resource was not altered: Kafka's error code and message.
pub type Refusal = (i16, String);

/// A resource of either request, and its answer: kafka-protocol gives each request its own
/// look-alike types.
pub trait AlterResource {
    /// The resource's entry in the response.
    type Response;
    /// (resource type, resource name).
    fn key(&self) -> (i8, &str);
    /// Whether it names any setting.
    fn has_configs(&self) -> bool;
    /// Its answer, with `error_code` and `message`.
    fn response(&self, error_code: i16, message: Option<StrBytes>) -> Self::Response;
}

/// Implements [`AlterResource`] for one request's resource type: the two have the same fields.
macro_rules! alter_resource {
    ($resource:ty => $response:ty) => {
        impl AlterResource for $resource {
            type Response = $response;
            fn key(&self) -> (i8, &str) {
                (self.resource_type, self.resource_name.as_str())
            }
            fn has_configs(&self) -> bool {
                !self.configs.is_empty()
            }
            fn response(&self, error_code: i16, message: Option<StrBytes>) -> $response {
                <$response>::default()
                    .with_error_code(error_code)
                    .with_error_message(message)
                    .with_resource_type(self.resource_type)
                    .with_resource_name(self.resource_name.clone())
            }
        }
    };
}

alter_resource!(Replacing => ReplacingResponse);
alter_resource!(Incremental => IncrementalResponse);

/// Each resource's answer, in request order. `alter_topic` changes one topic's settings; it
/// is called only for a topic named once.
pub fn answers<R: AlterResource>(
    resources: &[R],
    node_id: i32,
    mut alter_topic: impl FnMut(&R) -> Result<(), Refusal>,
) -> Vec<R::Response> {
    let keys: Vec<(i8, &str)> = resources.iter().map(AlterResource::key).collect();
    let repeated = config_resource::repeated(&keys);
    resources
        .iter()
        .zip(repeated)
        .map(|(r, repeated)| {
            let outcome = if repeated {
                Err((INVALID_REQUEST, REPEATED_MESSAGE.to_owned()))
            } else {
                alter(r, node_id, &mut alter_topic)
            };
            match outcome {
                Ok(()) => r.response(NONE, None),
                Err((code, message)) => r.response(code, Some(StrBytes::from_string(message))),
            }
        })
        .collect()
}

fn alter<R: AlterResource>(
    r: &R,
    node_id: i32,
    alter_topic: &mut impl FnMut(&R) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    let (resource_type, name) = r.key();
    let resource = config_resource::resource(resource_type, name, node_id)
        .map_err(|message| (INVALID_REQUEST, message))?;
    match resource {
        Resource::Broker if !r.has_configs() => Ok(()),
        Resource::Broker => Err((INVALID_REQUEST, static_broker_message())),
        Resource::Topic => alter_topic(r),
    }
}

/// Why a broker resource cannot be altered.
fn static_broker_message() -> String {
    "broker settings are static in Sluice: change them in the broker's configuration file and \
     restart"
        .to_owned()
}
