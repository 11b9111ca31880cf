//! CreateTopics: `broker.create_topic` per topic, on a cluster of one broker.
//!
//! A partition count of -1 means the host's default; a replication factor must be -1 or 1;
//! a manual replica assignment must put every partition, numbered from 0, on this broker
//! alone. Topic configs go to the host as sent (`retention.ms`, `durability`, ...); one it
//! does not know, or a bad value, is INVALID_CONFIG with the host's message naming it, and a
//! null value is refused here the same way, as Kafka does. `validate_only` has the host make
//! every check it would make to create the topic (name, counts, settings, existence) and
//! create nothing. v0–v1 (below kafka-protocol's floor of v2) are read and answered by hand.

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, TopicName};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError};

use crate::dispatch::{Reply, Request};
use crate::errors::{
    self, INVALID_CONFIG, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT,
    INVALID_REPLICATION_FACTOR, INVALID_REQUEST, NONE,
};
use crate::frame;
use crate::wire::{Reader, WireError};

/// "Use the broker's default" for partitions and replication factor.
const DEFAULT: i32 = -1;
const DEFAULT_REPLICATION: i16 = -1;
/// The only replication factor a single broker can give.
const REPLICATION_FACTOR: i16 = 1;
/// CreateTopics v1 added `validate_only` to the request and error messages to the response.
const V1: i16 = 1;

/// A topic to create, independent of the request version.
struct Creatable {
    name: TopicName,
    num_partitions: i32,
    replication_factor: i16,
    /// (partition, broker ids) pairs of a manual assignment.
    assignments: Vec<(i32, Vec<i32>)>,
    /// (name, value) pairs of topic settings, as sent.
    configs: Vec<(StrBytes, Option<StrBytes>)>,
}

/// One topic's result, independent of the response version.
struct Created {
    name: TopicName,
    error_code: i16,
    error_message: Option<String>,
    num_partitions: i32,
    replication_factor: i16,
}

/// Answers a CreateTopics request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let (topics, validate_only) = if req.version < CreateTopicsRequest::VERSIONS.min {
        read_legacy(req)?
    } else {
        let request: CreateTopicsRequest = req.decode()?;
        let topics = request
            .topics
            .into_iter()
            .map(|t| Creatable {
                name: t.name,
                num_partitions: t.num_partitions,
                replication_factor: t.replication_factor,
                assignments: t
                    .assignments
                    .into_iter()
                    .map(|a| {
                        (
                            a.partition_index,
                            a.broker_ids.into_iter().map(|b| b.0).collect(),
                        )
                    })
                    .collect(),
                configs: t.configs.into_iter().map(|c| (c.name, c.value)).collect(),
            })
            .collect::<Vec<_>>();
        (topics, request.validate_only)
    };
    let cluster = broker.cluster();
    let results: Vec<Created> = topics
        .into_iter()
        .map(|t| {
            let outcome = partitions_for(&t, cluster.node_id, cluster.default_partitions).and_then(
                |partitions| {
                    let configs = configs_of(&t)?;
                    create(broker, &t.name, partitions, &configs, validate_only)
                },
            );
            match outcome {
                Ok(partitions) => Created {
                    name: t.name,
                    error_code: NONE,
                    error_message: None,
                    num_partitions: i32::try_from(partitions).unwrap_or(i32::MAX),
                    replication_factor: REPLICATION_FACTOR,
                },
                Err((error_code, message)) => Created {
                    name: t.name,
                    error_code,
                    error_message: Some(message),
                    num_partitions: DEFAULT,
                    replication_factor: DEFAULT_REPLICATION,
                },
            }
        })
        .collect();

    if req.version < CreateTopicsRequest::VERSIONS.min {
        return write_legacy(req, &results);
    }
    let topics = results
        .into_iter()
        .map(|c| {
            CreatableTopicResult::default()
                .with_name(c.name)
                .with_error_code(c.error_code)
                .with_error_message(c.error_message.map(StrBytes::from_string))
                .with_num_partitions(c.num_partitions)
                .with_replication_factor(c.replication_factor)
        })
        .collect();
    req.respond(&CreateTopicsResponse::default().with_topics(topics))
}

type Refusal = (i16, String);

/// The partition count to create `t` with, or why it cannot be created here.
fn partitions_for(t: &Creatable, node_id: i32, default_partitions: u32) -> Result<u32, Refusal> {
    if !t.assignments.is_empty() {
        if t.num_partitions != DEFAULT || t.replication_factor != DEFAULT_REPLICATION {
            return Err((
                INVALID_REQUEST,
                "num_partitions and replication_factor must be -1 when replica assignments are given"
                    .into(),
            ));
        }
        let count = t.assignments.len();
        let mut assigned = vec![false; count];
        for (partition, brokers) in &t.assignments {
            if brokers.as_slice() != [node_id] {
                return Err((
                    INVALID_REPLICA_ASSIGNMENT,
                    format!(
                        "partition {partition} is assigned to {brokers:?}; this cluster is broker {node_id} alone"
                    ),
                ));
            }
            let slot = usize::try_from(*partition)
                .ok()
                .and_then(|p| assigned.get_mut(p));
            match slot {
                Some(slot) if !*slot => *slot = true,
                _ => {
                    return Err((
                        INVALID_REPLICA_ASSIGNMENT,
                        format!("assigned partitions must be numbered 0..{count}, each once"),
                    ));
                }
            }
        }
        return u32::try_from(count)
            .map_err(|_| (INVALID_PARTITIONS, "too many partitions".into()));
    }
    let partitions = match t.num_partitions {
        DEFAULT => default_partitions,
        n => u32::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
            (
                INVALID_PARTITIONS,
                format!("number of partitions {n} must be above 0, or -1 for the default ({default_partitions})"),
            )
        })?,
    };
    match t.replication_factor {
        DEFAULT_REPLICATION | REPLICATION_FACTOR => Ok(partitions),
        n => Err((
            INVALID_REPLICATION_FACTOR,
            format!("replication factor {n} is not possible: this cluster has 1 broker"),
        )),
    }
}

/// The topic's settings as the host takes them, refusing a null value (Kafka has no "unset"
/// at creation).
fn configs_of(t: &Creatable) -> Result<Vec<(String, String)>, Refusal> {
    t.configs
        .iter()
        .map(|(name, value)| match value {
            Some(value) => Ok((name.to_string(), value.to_string())),
            None => Err((
                INVALID_CONFIG,
                format!("null value for topic setting `{}`", name.as_str()),
            )),
        })
        .collect()
}

/// Creates the topic (or, with `validate_only`, checks that it could be) and returns its
/// partition count.
fn create<B: Broker>(
    broker: &B,
    name: &str,
    partitions: u32,
    configs: &[(String, String)],
    validate_only: bool,
) -> Result<u32, Refusal> {
    broker
        .create_topic(name, partitions, configs, validate_only)
        .map(|info| info.partitions)
        .map_err(|e| (errors::code(&e), e.message))
}

/// CreateTopics v0–v1: the v2 layout, without `validate_only` in v0.
fn read_legacy(req: &Request) -> Result<(Vec<Creatable>, bool), CodecError> {
    let version = req.version;
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<_, WireError> {
        let topics = r.array(|r| {
            let name = TopicName(r.str()?);
            let num_partitions = r.i32()?;
            let replication_factor = r.i16()?;
            let assignments = r.array(|r| Ok((r.i32()?, r.array(|r| r.i32())?)))?;
            let configs = r.array(|r| Ok((r.str()?, r.nullable_str()?)))?;
            Ok(Creatable {
                name,
                num_partitions,
                replication_factor,
                assignments,
                configs,
            })
        })?;
        let _timeout_ms = r.i32()?;
        let validate_only = if version >= V1 { r.i8()? != 0 } else { false };
        Ok((topics, validate_only))
    };
    read(&mut r).map_err(|e| req.malformed(&e))
}

/// The v0 response is (name, error code) per topic; v1 adds the error message.
fn write_legacy(req: &Request, results: &[Created]) -> Result<Reply, CodecError> {
    let version = req.version;
    frame::legacy_response(req.correlation_id, |w| {
        w.array(results, |w, c| {
            w.str(&c.name)?;
            w.i16(c.error_code);
            if version >= V1 {
                w.nullable_str(c.error_message.as_deref())?;
            }
            Ok(())
        })
    })
    .map(Reply::Frame)
}
