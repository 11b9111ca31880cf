//! FindCoordinator: this broker coordinates every group and every transactional id, so every
//! key is answered with the listener's advertised address and the node id of
//! `broker.cluster()`. v4+ asks for several keys at once (`coordinator_keys`) and gets one
//! entry per key.
//!
//! Key types other than group (0) and transaction (1) are refused per key with
//! INVALID_REQUEST; share-group keys (2) only exist from v6, which is not advertised.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError};

use crate::Advertised;
use crate::dispatch::{Reply, Request};
use crate::errors::{INVALID_REQUEST, NONE};

/// Key types this broker coordinates: consumer groups and transactional ids.
const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;
/// FindCoordinator v4 batched the keys.
const BATCHED_VERSION: i16 = 4;

/// Answers a FindCoordinator request.
pub fn handle<B: Broker>(
    req: &Request,
    listener: &Advertised,
    broker: &B,
) -> Result<Reply, CodecError> {
    let request: FindCoordinatorRequest = req.decode()?;
    let node = BrokerId(broker.cluster().node_id);
    let host = StrBytes::from_string(listener.host.clone());
    let port = i32::from(listener.port);
    let (error_code, error_message) = match request.key_type {
        GROUP_KEY | TRANSACTION_KEY => (NONE, None),
        other => (
            INVALID_REQUEST,
            Some(StrBytes::from_string(format!("unknown key type {other}"))),
        ),
    };
    let (node, host, port) = if error_code == NONE {
        (node, host, port)
    } else {
        (BrokerId(-1), StrBytes::new(), -1)
    };
    if req.version < BATCHED_VERSION {
        return req.respond(
            &FindCoordinatorResponse::default()
                .with_error_code(error_code)
                .with_error_message(error_message)
                .with_node_id(node)
                .with_host(host)
                .with_port(port),
        );
    }
    let coordinators = request
        .coordinator_keys
        .into_iter()
        .map(|key| {
            Coordinator::default()
                .with_key(key)
                .with_node_id(node)
                .with_host(host.clone())
                .with_port(port)
                .with_error_code(error_code)
                .with_error_message(error_message.clone())
        })
        .collect();
    req.respond(&FindCoordinatorResponse::default().with_coordinators(coordinators))
}
