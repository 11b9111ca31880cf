//! InitProducerId: an idempotent producer's id and epoch (`broker.init-producer-id`).
//!
//! Sluice has no transactions, so a transactional id is refused with
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED: it is fatal on the client with a clear reason
//! (what Redpanda answers with transactions disabled), where a coordinator error would have
//! the client look for a transaction coordinator until its timeout.
//!
//! v3+ carry the producer's current id and epoch, both -1 for a new producer: both set are
//! passed to the host (same id, next epoch), one set without the other is INVALID_REQUEST,
//! as Kafka. The host failing is COORDINATOR_LOAD_IN_PROGRESS, the retriable code Kafka gives
//! when it cannot allocate a producer id yet; a denial is CLUSTER_AUTHORIZATION_FAILED, as
//! Kafka refuses idempotent writes. v0–v5 are all within kafka-protocol's range.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use sluice_sdk::codec::{Broker, CodecError, ErrorCode, ProducerIdentity};

use crate::dispatch::{Reply, Request};
use crate::errors::{
    CLUSTER_AUTHORIZATION_FAILED, COORDINATOR_LOAD_IN_PROGRESS, INVALID_REQUEST, NONE,
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
};

/// Kafka's "no producer id" and "no epoch".
const NO_PRODUCER_ID: i64 = -1;
const NO_PRODUCER_EPOCH: i16 = -1;

/// Answers an InitProducerId request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let request: InitProducerIdRequest = req.decode()?;
    let outcome = if request.transactional_id.is_some() {
        Err(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    } else {
        match (request.producer_id.0, request.producer_epoch) {
            (NO_PRODUCER_ID, NO_PRODUCER_EPOCH) => Ok(None),
            (NO_PRODUCER_ID, _) | (_, NO_PRODUCER_EPOCH) => Err(INVALID_REQUEST),
            (id, epoch) => Ok(Some(ProducerIdentity { id, epoch })),
        }
        .and_then(|current| {
            broker.init_producer_id(current).map_err(|e| match e.code {
                ErrorCode::NotAuthorized => CLUSTER_AUTHORIZATION_FAILED,
                _ => COORDINATOR_LOAD_IN_PROGRESS,
            })
        })
    };
    let response = match outcome {
        Ok(identity) => InitProducerIdResponse::default()
            .with_error_code(NONE)
            .with_producer_id(ProducerId(identity.id))
            .with_producer_epoch(identity.epoch),
        Err(code) => InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(NO_PRODUCER_ID))
            .with_producer_epoch(NO_PRODUCER_EPOCH),
    };
    req.respond(&response)
}
