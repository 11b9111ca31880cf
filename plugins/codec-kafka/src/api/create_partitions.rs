//! CreatePartitions: raises a topic's partition count (`broker.create-partitions`), or with
//! `validate_only` checks that it could.
//!
//! On a cluster of one broker a manual assignment is accepted only when it is trivial: one
//! assignment per new partition, each exactly this broker. Anything else is
//! INVALID_REPLICA_ASSIGNMENT with a message saying why, as Kafka words it for unknown
//! brokers and mismatched counts. A topic named twice is INVALID_REQUEST for each copy, as in
//! Kafka. Every failure carries an error message. v0–v3 are all within kafka-protocol's range.

use std::collections::HashMap;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{BrokerId, CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{self, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST, NONE};

type Refusal = (i16, String);

/// Answers a CreatePartitions request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let request: CreatePartitionsRequest = req.decode()?;
    let node_id = broker.cluster().node_id;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &request.topics {
        *counts.entry(t.name.as_str()).or_default() += 1;
    }
    let results = request
        .topics
        .iter()
        .map(|t| {
            let outcome = if counts.get(t.name.as_str()).is_some_and(|&n| n > 1) {
                Err((INVALID_REQUEST, "duplicate topic in request".to_owned()))
            } else {
                raise(broker, t, node_id, request.validate_only)
            };
            let (error_code, message) = match outcome {
                Ok(()) => (NONE, None),
                Err((code, message)) => (code, Some(StrBytes::from_string(message))),
            };
            CreatePartitionsTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(error_code)
                .with_error_message(message)
        })
        .collect();
    req.respond(&CreatePartitionsResponse::default().with_results(results))
}

fn raise<B: Broker>(
    broker: &B,
    t: &CreatePartitionsTopic,
    node_id: i32,
    validate_only: bool,
) -> Result<(), Refusal> {
    let count = u32::try_from(t.count).map_err(|_| {
        (
            INVALID_PARTITIONS,
            format!("number of partitions {} must be positive", t.count),
        )
    })?;
    if let Some(assignments) = &t.assignments {
        let current = broker
            .describe_topic(&t.name, false)
            .map_err(|e| (errors::code(&e), e.message))?
            .partitions;
        if count <= current {
            // Not an increase: the host's INVALID_PARTITIONS says so, as Kafka checks the
            // count before the assignment.
            return broker
                .create_partitions(&t.name, count, validate_only)
                .map(|_| ())
                .map_err(|e| (errors::code(&e), e.message));
        }
        let added = count.saturating_sub(current);
        if usize::try_from(added).ok() != Some(assignments.len()) {
            return Err((
                INVALID_REPLICA_ASSIGNMENT,
                format!(
                    "increasing the number of partitions by {added} but {} assignments provided",
                    assignments.len()
                ),
            ));
        }
        if let Some(other) = assignments
            .iter()
            .find(|a| a.broker_ids.as_slice() != [BrokerId(node_id)])
        {
            let ids: Vec<i32> = other.broker_ids.iter().map(|b| b.0).collect();
            return Err((
                INVALID_REPLICA_ASSIGNMENT,
                format!(
                    "replica assignment {ids:?} is not possible: this cluster is broker {node_id} alone, with replication factor 1"
                ),
            ));
        }
    }
    broker
        .create_partitions(&t.name, count, validate_only)
        .map(|_| ())
        .map_err(|e| (errors::code(&e), e.message))
}
