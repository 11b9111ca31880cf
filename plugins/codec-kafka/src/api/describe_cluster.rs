//! DescribeCluster (KIP-700): the cluster id, this broker as the controller, and this broker
//! as the only one, at the listener's advertised address (as Metadata announces it).
//!
//! v1 asks for an endpoint type; this is a broker endpoint, so asking for controllers (2) is
//! MISMATCHED_ENDPOINT_TYPE, as a Kafka broker answers. No broker is ever fenced.
//! `cluster_authorized_operations` is Kafka's "not requested" value (i32::MIN) unless asked
//! for; when asked, it lists the cluster operations Sluice offers (CREATE topics, DESCRIBE,
//! DESCRIBE_CONFIGS, IDEMPOTENT_WRITE), the codec having no view of the host's authorizer.
//! v0–v2 are all within kafka-protocol's range.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError};

use crate::Advertised;
use crate::dispatch::{Reply, Request};
use crate::errors::{MISMATCHED_ENDPOINT_TYPE, NONE};

/// Kafka's `EndpointType` of a broker listener.
const BROKER_ENDPOINT: i8 = 1;
/// v1 added the endpoint type to the request and response.
const ENDPOINT_TYPE_VERSION: i16 = 1;
/// "Authorized operations not requested".
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;
/// Kafka's `AclOperation` codes of what a client may do to this cluster.
const CREATE: u8 = 5;
const DESCRIBE: u8 = 8;
const DESCRIBE_CONFIGS: u8 = 10;
const IDEMPOTENT_WRITE: u8 = 12;

/// Answers a DescribeCluster request.
pub fn handle<B: Broker>(
    req: &Request,
    listener: &Advertised,
    broker: &B,
) -> Result<Reply, CodecError> {
    let request: DescribeClusterRequest = req.decode()?;
    let cluster = broker.cluster();
    let node = BrokerId(cluster.node_id);
    let mut response = DescribeClusterResponse::default()
        .with_error_code(NONE)
        .with_endpoint_type(BROKER_ENDPOINT)
        .with_cluster_id(StrBytes::from_string(cluster.cluster_id))
        .with_controller_id(node)
        .with_brokers(vec![
            DescribeClusterBroker::default()
                .with_broker_id(node)
                .with_host(StrBytes::from_string(listener.host.clone()))
                .with_port(i32::from(listener.port))
                .with_rack(None)
                .with_is_fenced(false),
        ])
        .with_cluster_authorized_operations(if request.include_cluster_authorized_operations {
            [CREATE, DESCRIBE, DESCRIBE_CONFIGS, IDEMPOTENT_WRITE]
                .iter()
                .fold(0, |bits, op| bits | (1 << op))
        } else {
            OPERATIONS_NOT_REQUESTED
        });
    if req.version >= ENDPOINT_TYPE_VERSION && request.endpoint_type != BROKER_ENDPOINT {
        response = DescribeClusterResponse::default()
            .with_error_code(MISMATCHED_ENDPOINT_TYPE)
            .with_error_message(Some(StrBytes::from_string(format!(
                "the request was sent to a broker endpoint, but asked for endpoint type {}",
                request.endpoint_type
            ))))
            .with_endpoint_type(BROKER_ENDPOINT)
            .with_controller_id(BrokerId(-1))
            .with_cluster_authorized_operations(OPERATIONS_NOT_REQUESTED);
    }
    req.respond(&response)
}
