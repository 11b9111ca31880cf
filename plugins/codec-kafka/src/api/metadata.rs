//! Metadata: the cluster as a single broker (this one, at the listener's advertised address)
//! leading every partition, and the topics asked for.
//!
//! Topics are auto-created here and only here, as in Kafka: when the client allows it (v4+)
//! or always (v0–v3, which had no flag). Topic ids are not assigned yet: the zero UUID.

use std::collections::HashSet;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::{Broker, CodecError, TopicInfo};

use crate::Advertised;
use crate::dispatch::{Reply, Request};
use crate::errors::{self, NONE, UNKNOWN_TOPIC_ID};

/// The version from which the request says whether to auto-create; before it, Kafka always
/// did.
const AUTO_CREATE_FLAG_VERSION: i16 = 4;

/// Leader epoch of every partition: leadership never moves on a single broker.
const LEADER_EPOCH: i32 = 0;

/// Answers a Metadata request.
pub fn handle<B: Broker>(
    req: &Request,
    listener: &Advertised,
    broker: &B,
) -> Result<Reply, CodecError> {
    let request: MetadataRequest = req.decode()?;
    let cluster = broker.cluster();
    let node = BrokerId(cluster.node_id);
    let auto_create = req.version < AUTO_CREATE_FLAG_VERSION || request.allow_auto_topic_creation;

    let topics = match request.topics {
        // v1+: null means every topic; v0 had no null and used an empty list for it.
        None => all_topics(broker, node),
        Some(asked) if asked.is_empty() && req.version == 0 => all_topics(broker, node),
        Some(asked) => {
            // Kafka answers each topic once, however often it is asked for.
            let mut seen = HashSet::new();
            let mut topics = Vec::new();
            for topic in &asked {
                match &topic.name {
                    Some(name) if !seen.insert(name.as_str()) => {}
                    Some(name) => topics.push(describe(broker, name, auto_create, node)),
                    None => topics.push(
                        MetadataResponseTopic::default()
                            .with_error_code(UNKNOWN_TOPIC_ID)
                            .with_topic_id(topic.topic_id),
                    ),
                }
            }
            topics
        }
    };

    let response = MetadataResponse::default()
        .with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(node)
                .with_host(StrBytes::from_string(listener.host.clone()))
                .with_port(i32::from(listener.port)),
        ])
        .with_cluster_id(Some(StrBytes::from_string(cluster.cluster_id)))
        .with_controller_id(node)
        .with_topics(topics);
    req.respond(&response)
}

fn all_topics<B: Broker>(broker: &B, node: BrokerId) -> Vec<MetadataResponseTopic> {
    broker
        .list_topics()
        .into_iter()
        .map(|info| found(info, node))
        .collect()
}

fn describe<B: Broker>(
    broker: &B,
    name: &TopicName,
    auto_create: bool,
    node: BrokerId,
) -> MetadataResponseTopic {
    match broker.describe_topic(name, auto_create) {
        Ok(info) => found(info, node),
        Err(e) => MetadataResponseTopic::default()
            .with_error_code(errors::code(&e))
            .with_name(Some(name.clone())),
    }
}

fn found(info: TopicInfo, node: BrokerId) -> MetadataResponseTopic {
    let partitions = (0..info.partitions)
        .filter_map(|p| i32::try_from(p).ok())
        .map(|p| {
            MetadataResponsePartition::default()
                .with_error_code(NONE)
                .with_partition_index(p)
                .with_leader_id(node)
                .with_leader_epoch(LEADER_EPOCH)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_error_code(NONE)
        .with_name(Some(TopicName(StrBytes::from_string(info.name))))
        .with_partitions(partitions)
}
