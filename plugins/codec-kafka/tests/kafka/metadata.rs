use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::Broker;

use crate::client::{ADVERTISED_HOST, ADVERTISED_PORT, Client};
use crate::fake_broker::{CLUSTER_ID, DEFAULT_PARTITIONS, FakeBroker, NODE_ID};

fn asking(names: &[&str], allow_auto_create: bool) -> MetadataRequest {
    let topics = names
        .iter()
        .map(|n| {
            MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string((*n).into()))))
        })
        .collect();
    MetadataRequest::default()
        .with_topics(Some(topics))
        .with_allow_auto_topic_creation(allow_auto_create)
}

#[test]
fn metadata_describes_this_broker_as_leader_of_every_partition() {
    let mut c = Client::new();
    for v in 0..=12 {
        let resp: MetadataResponse = c.call(ApiKey::Metadata, v, &asking(&["orders"], true));
        assert_eq!(resp.brokers.len(), 1);
        let b = &resp.brokers[0];
        assert_eq!(
            (b.node_id.0, b.host.as_str(), b.port),
            (NODE_ID, ADVERTISED_HOST, i32::from(ADVERTISED_PORT))
        );
        if v >= 1 {
            assert_eq!(resp.controller_id.0, NODE_ID);
        }
        if v >= 2 {
            assert_eq!(resp.cluster_id.as_deref(), Some(CLUSTER_ID));
        }
        let t = &resp.topics[0];
        assert_eq!(t.error_code, 0);
        assert_eq!(t.name.as_deref().map(|n| n.as_str()), Some("orders"));
        assert!(t.topic_id.is_nil());
        assert_eq!(t.partitions.len(), DEFAULT_PARTITIONS as usize);
        for (i, p) in t.partitions.iter().enumerate() {
            assert_eq!(p.partition_index, i as i32);
            assert_eq!(p.leader_id.0, NODE_ID);
            assert_eq!(p.replica_nodes, vec![p.leader_id]);
            assert_eq!(p.isr_nodes, vec![p.leader_id]);
            if v >= 7 {
                assert_eq!(p.leader_epoch, 0);
            }
        }
    }
}

#[test]
fn metadata_auto_creates_when_allowed_and_always_before_v4() {
    let mut c = Client::new();
    // v0-v3 have no flag on the wire: they always auto-create.
    let _: MetadataResponse = c.call(ApiKey::Metadata, 3, &asking(&["old-client"], true));
    assert!(c.broker.has_topic("old-client"));
    let _: MetadataResponse = c.call(ApiKey::Metadata, 12, &asking(&["new-client"], true));
    assert!(c.broker.has_topic("new-client"));
}

#[test]
fn metadata_for_a_missing_topic_without_auto_create_answers_unknown_topic() {
    let mut c = Client::new();
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 12, &asking(&["nope"], false));
    assert_eq!(resp.topics[0].error_code, 3);
    assert!(!c.broker.has_topic("nope"));

    let mut c = Client::with_broker(FakeBroker::without_auto_create());
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 1, &asking(&["nope"], true));
    assert_eq!(resp.topics[0].error_code, 3);
}

#[test]
fn metadata_for_an_invalid_name_answers_invalid_topic_exception() {
    let mut c = Client::new();
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 9, &asking(&["bad name!"], true));
    assert_eq!(resp.topics[0].error_code, 17);
    assert_eq!(
        resp.topics[0].name.as_deref().map(|n| n.as_str()),
        Some("bad name!")
    );
}

#[test]
fn metadata_null_topics_lists_every_topic_and_v0_uses_an_empty_list_for_it() {
    let mut c = Client::new();
    c.broker.create_topic("a", 1, &[], false).unwrap();
    c.broker.create_topic("b", 2, &[], false).unwrap();
    let all: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    let names: Vec<_> = all
        .topics
        .iter()
        .map(|t| t.name.as_deref().unwrap().to_string())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let v0: MetadataResponse = c.call(
        ApiKey::Metadata,
        0,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    assert_eq!(v0.topics.len(), 2);
    let none: MetadataResponse = c.call(
        ApiKey::Metadata,
        1,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    assert!(none.topics.is_empty());
}

#[test]
fn metadata_answers_a_topic_asked_twice_once() {
    let mut c = Client::new();
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 12, &asking(&["x", "x", "y"], true));
    assert_eq!(resp.topics.len(), 2);
}

#[test]
fn metadata_by_topic_id_answers_unknown_topic_id() {
    let mut c = Client::new();
    // A topic named by id alone (v10+): the name is null, the id is the zero UUID here.
    let req = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(None)]));
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 12, &req);
    assert_eq!(resp.topics[0].error_code, 100);
}
