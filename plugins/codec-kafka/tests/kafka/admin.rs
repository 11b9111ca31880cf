//! CreateTopics (with topic configs), DeleteTopics and ListOffsets (by position and by time).

use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, ListOffsetsRequest, ListOffsetsResponse,
};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::Broker;

use crate::client::{Client, batch, batch_at, request};
use crate::fake_broker::{DEFAULT_PARTITIONS, NODE_ID};
use crate::produce_fetch::name;

fn creatable(n: &str, partitions: i32, replication: i16) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(n))
        .with_num_partitions(partitions)
        .with_replication_factor(replication)
}

fn create(topics: Vec<CreatableTopic>, validate_only: bool) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(1000)
        .with_validate_only(validate_only)
}

fn list(parts: &[(i32, i64)]) -> ListOffsetsRequest {
    let partitions = parts
        .iter()
        .map(|(p, ts)| {
            ListOffsetsPartition::default()
                .with_partition_index(*p)
                .with_timestamp(*ts)
        })
        .collect();
    ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name("t"))
                .with_partitions(partitions),
        ])
}

/// Admin requests for the fuzz loop.
pub fn seeds() -> Vec<Vec<u8>> {
    vec![
        request(
            ApiKey::CreateTopics,
            7,
            1,
            &create(vec![creatable("fz", 2, -1)], false),
        ),
        request(
            ApiKey::CreateTopics,
            4,
            1,
            &create(vec![creatable("fz", 2, -1)], true),
        ),
        request(
            ApiKey::DeleteTopics,
            6,
            1,
            &DeleteTopicsRequest::default().with_topics(vec![
                DeleteTopicState::default().with_name(Some(name("fz"))),
            ]),
        ),
        request(
            ApiKey::DeleteTopics,
            3,
            1,
            &DeleteTopicsRequest::default().with_topic_names(vec![name("fz")]),
        ),
        request(ApiKey::ListOffsets, 7, 1, &list(&[(0, -1), (1, -2)])),
        request(ApiKey::ListOffsets, 1, 1, &list(&[(0, -1)])),
    ]
}

#[test]
fn create_topics_creates_and_reports_each_topic() {
    let mut c = Client::new();
    for v in 2..=7 {
        let topic = format!("created-v{v}");
        let r: CreateTopicsResponse = c.call(
            ApiKey::CreateTopics,
            v,
            &create(vec![creatable(&topic, 4, 1)], false),
        );
        let t = &r.topics[0];
        assert_eq!((t.name.as_str(), t.error_code), (topic.as_str(), 0), "v{v}");
        assert_eq!(t.error_message, None);
        if v >= 5 {
            assert_eq!((t.num_partitions, t.replication_factor), (4, 1));
        }
        assert_eq!(
            c.broker.describe_topic(&topic, false).unwrap().partitions,
            4
        );
    }
}

#[test]
fn create_topics_with_minus_one_uses_the_default_partition_count() {
    let mut c = Client::new();
    let r: CreateTopicsResponse = c.call(
        ApiKey::CreateTopics,
        7,
        &create(vec![creatable("d", -1, -1)], false),
    );
    assert_eq!(
        (r.topics[0].error_code, r.topics[0].num_partitions),
        (0, DEFAULT_PARTITIONS as i32)
    );
}

#[test]
fn create_topics_refusals_carry_kafka_error_codes() {
    let mut c = Client::new();
    c.broker.create_topic("exists", 1, &[], false).unwrap();
    let r: CreateTopicsResponse = c.call(
        ApiKey::CreateTopics,
        7,
        &create(
            vec![
                creatable("exists", 1, 1),
                creatable("replicated", 1, 3),
                creatable("empty", 0, 1),
                creatable("bad name", 1, 1),
                creatable("too-many", 10_000, 1),
            ],
            false,
        ),
    );
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![36, 38, 37, 17, 37]);
    for t in &r.topics {
        assert!(t.error_message.is_some(), "{:?}", t.name);
        assert_eq!((t.num_partitions, t.replication_factor), (-1, -1));
    }
    assert!(!c.broker.has_topic("replicated"));
}

#[test]
fn create_topics_validate_only_checks_without_creating() {
    let mut c = Client::new();
    c.broker.create_topic("exists", 1, &[], false).unwrap();
    let bad_config = creatable("badcfg", 1, 1).with_configs(vec![
        CreatableTopicConfig::default()
            .with_name("no.such.setting".into())
            .with_value(Some("1".into())),
    ]);
    let r: CreateTopicsResponse = c.call(
        ApiKey::CreateTopics,
        5,
        &create(
            vec![
                creatable("fresh", 2, 1),
                creatable("exists", 1, 1),
                creatable("bad/name", 1, 1),
                bad_config,
            ],
            true,
        ),
    );
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 36, 17, 40]);
    assert_eq!(r.topics[0].num_partitions, 2);
    assert!(!c.broker.has_topic("fresh"));
}

#[test]
fn create_topics_with_a_manual_assignment_must_place_every_partition_here() {
    let mut c = Client::new();
    let assign = |brokers: Vec<i32>| {
        (0..2)
            .map(|p| {
                CreatableReplicaAssignment::default()
                    .with_partition_index(p)
                    .with_broker_ids(brokers.iter().map(|b| BrokerId(*b)).collect())
            })
            .collect::<Vec<_>>()
    };
    let here = creatable("manual", -1, -1).with_assignments(assign(vec![NODE_ID]));
    let elsewhere = creatable("elsewhere", -1, -1).with_assignments(assign(vec![NODE_ID + 1]));
    let both = creatable("both", 2, -1).with_assignments(assign(vec![NODE_ID]));
    let r: CreateTopicsResponse = c.call(
        ApiKey::CreateTopics,
        7,
        &create(vec![here, elsewhere, both], false),
    );
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 39, 42]);
    assert_eq!(r.topics[0].num_partitions, 2);
}

#[test]
fn delete_topics_deletes_by_name_and_reports_unknown_topics() {
    let mut c = Client::new();
    for v in 1..=6 {
        c.broker.create_topic("gone", 1, &[], false).unwrap();
        let req = if v >= 6 {
            DeleteTopicsRequest::default().with_topics(vec![
                DeleteTopicState::default().with_name(Some(name("gone"))),
                DeleteTopicState::default().with_name(Some(name("never"))),
            ])
        } else {
            DeleteTopicsRequest::default().with_topic_names(vec![name("gone"), name("never")])
        };
        let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, v, &req.with_timeout_ms(1000));
        let got: Vec<(String, i16)> = r
            .responses
            .iter()
            .map(|t| (t.name.as_deref().unwrap().to_string(), t.error_code))
            .collect();
        assert_eq!(got, vec![("gone".into(), 0), ("never".into(), 3)], "v{v}");
        assert!(!c.broker.has_topic("gone"));
    }
}

#[test]
fn delete_topics_by_id_answers_unknown_topic_id() {
    let mut c = Client::new();
    let req = DeleteTopicsRequest::default()
        .with_topics(vec![DeleteTopicState::default().with_name(None)]);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 6, &req);
    assert_eq!(
        (r.responses[0].error_code, r.responses[0].name.is_none()),
        (100, true)
    );
}

#[test]
fn list_offsets_answers_earliest_and_latest() {
    let mut c = Client::new();
    c.broker.create_topic("t", 2, &[], false).unwrap();
    c.broker.append("t", 0, &batch(&["a", "b", "c"])).unwrap();
    for v in 1..=7 {
        let r: ListOffsetsResponse = c.call(
            ApiKey::ListOffsets,
            v,
            &list(&[(0, -1), (0, -2), (1, -1), (9, -1)]),
        );
        let got: Vec<(i32, i16, i64)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.error_code, p.offset))
            .collect();
        assert_eq!(
            got,
            vec![(0, 0, 3), (0, 0, 0), (1, 0, 0), (9, 3, -1)],
            "v{v}"
        );
        assert_eq!(r.topics[0].partitions[0].timestamp, -1);
        if v >= 4 {
            assert_eq!(r.topics[0].partitions[0].leader_epoch, 0);
        }
    }
}

#[test]
fn list_offsets_latest_is_the_high_watermark() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    c.broker.append("t", 0, &batch(&["durable"])).unwrap();
    c.broker.hold_high_watermark();
    c.broker.append("t", 0, &batch(&["not", "yet"])).unwrap();
    let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &list(&[(0, -1), (0, -2)]));
    let got: Vec<i64> = r.topics[0].partitions.iter().map(|p| p.offset).collect();
    assert_eq!(got, vec![1, 0]);
}

#[test]
fn list_offsets_by_timestamp_finds_the_first_batch_at_or_after_it() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    c.broker
        .append("t", 0, &batch_at(&["a", "b"], 1000))
        .unwrap();
    c.broker.append("t", 0, &batch_at(&["c"], 2000)).unwrap();
    c.broker.append("t", 0, &batch_at(&["d"], 3000)).unwrap();
    c.broker.hold_high_watermark();
    c.broker
        .append("t", 0, &batch_at(&["invisible"], 4000))
        .unwrap();
    let asked = [
        (0, 0),
        (0, 1001),
        (0, 1002),
        (0, 3000),
        (0, 3001),
        (1, 1000),
    ];
    for v in [1, 4, 7] {
        let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, v, &list(&asked));
        let got: Vec<(i16, i64, i64)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.offset, p.timestamp))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 0, 1001),
                (0, 0, 1001),
                (0, 2, 2000),
                (0, 3, 3000),
                // Every visible record is older: no offset, as Kafka answers.
                (0, -1, -1),
                (3, -1, -1),
            ],
            "v{v}"
        );
        if v >= 4 {
            let epochs: Vec<i32> = r.topics[0]
                .partitions
                .iter()
                .map(|p| p.leader_epoch)
                .collect();
            assert_eq!(epochs, vec![0, 0, 0, 0, -1, -1]);
        }
    }
}

#[test]
fn list_offsets_by_max_timestamp_answers_unsupported_for_message_format() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &list(&[(0, -3)]));
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.error_code, p.offset, p.timestamp), (43, -1, -1));
}

fn config(name: &str, value: Option<&str>) -> CreatableTopicConfig {
    CreatableTopicConfig::default()
        .with_name(StrBytes::from_string(name.to_owned()))
        .with_value(value.map(|v| StrBytes::from_string(v.to_owned())))
}

#[test]
fn create_topics_passes_configs_to_the_broker() {
    let mut c = Client::new();
    let topic = creatable("configured", 2, 1).with_configs(vec![
        config("retention.ms", Some("60000")),
        config("durability", Some("relaxed")),
    ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create(vec![topic], false));
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(
        c.broker.topic_configs("configured").unwrap(),
        vec![
            ("retention.ms".to_owned(), "60000".to_owned()),
            ("durability".to_owned(), "relaxed".to_owned()),
        ]
    );
}

#[test]
fn create_topics_with_an_invalid_config_answers_invalid_config_naming_it() {
    let mut c = Client::new();
    let topics = vec![
        creatable("unknown", 1, 1).with_configs(vec![config("no.such.setting", Some("1"))]),
        creatable("bad", 1, 1).with_configs(vec![config("durability", Some("sometimes"))]),
        creatable("null", 1, 1).with_configs(vec![config("retention.ms", None)]),
    ];
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create(topics, false));
    let got: Vec<(i16, String)> = r
        .topics
        .iter()
        .map(|t| {
            (
                t.error_code,
                t.error_message.as_deref().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        vec![40, 40, 40]
    );
    assert!(got[0].1.contains("no.such.setting"), "{}", got[0].1);
    assert!(got[1].1.contains("durability"), "{}", got[1].1);
    assert!(got[2].1.contains("retention.ms"), "{}", got[2].1);
    for name in ["unknown", "bad", "null"] {
        assert!(!c.broker.has_topic(name), "{name}");
    }
}

#[test]
fn create_topics_validate_only_refuses_a_null_config_and_creates_nothing() {
    let mut c = Client::new();
    let topics = vec![
        creatable("fine", 1, 1).with_configs(vec![config("retention.ms", Some("1000"))]),
        creatable("null", 1, 1).with_configs(vec![config("retention.ms", None)]),
    ];
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create(topics, true));
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 40]);
    assert!(!c.broker.has_topic("fine") && !c.broker.has_topic("null"));
}
