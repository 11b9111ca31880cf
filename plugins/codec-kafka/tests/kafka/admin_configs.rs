//! DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, CreatePartitions, DescribeCluster,
//! DeleteRecords and OffsetForLeaderEpoch: old and flexible versions of each, through a
//! `KafkaConnection` over the fake broker.

use kafka_protocol::messages::alter_configs_request::{
    AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig,
};
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, ApiKey, BrokerId, CreatePartitionsRequest,
    CreatePartitionsResponse, DeleteRecordsRequest, DeleteRecordsResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
};
use kafka_protocol::protocol::StrBytes;
use sluice_sdk::codec::Broker;

use crate::client::{ADVERTISED_HOST, ADVERTISED_PORT, Client, Raw, Read, batch, request};
use crate::fake_admin::BROKER_RETENTION_MS;
use crate::fake_broker::{CLUSTER_ID, NODE_ID};
use crate::produce_fetch::name;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn with_topic(configs: &[(&str, &str)]) -> Client {
    let c = Client::new();
    let configs: Vec<(String, String)> = configs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    c.broker.create_topic("t", 2, &configs, false).unwrap();
    c
}

fn describe(resources: &[(i8, &str, Option<&[&str]>)], synonyms: bool) -> DescribeConfigsRequest {
    DescribeConfigsRequest::default()
        .with_resources(
            resources
                .iter()
                .map(|(t, n, keys)| {
                    DescribeConfigsResource::default()
                        .with_resource_type(*t)
                        .with_resource_name(s(n))
                        .with_configuration_keys(keys.map(|k| k.iter().map(|k| s(k)).collect()))
                })
                .collect(),
        )
        .with_include_synonyms(synonyms)
}

fn config<'a>(
    r: &'a DescribeConfigsResult,
    name: &str,
) -> &'a kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult {
    r.configs
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// Admin requests for the fuzz loop.
pub fn seeds() -> Vec<Vec<u8>> {
    vec![
        request(
            ApiKey::DescribeConfigs,
            4,
            1,
            &describe(&[(TOPIC, "t", None), (BROKER, "1", None)], true),
        ),
        request(
            ApiKey::IncrementalAlterConfigs,
            1,
            1,
            &incremental("t", &[("cleanup.policy", 2, Some("compact"))]),
        ),
        request(
            ApiKey::CreatePartitions,
            3,
            1,
            &partitions(&[("t", 4, None)], false),
        ),
        request(
            ApiKey::DeleteRecords,
            2,
            1,
            &delete_records(&[(0, -1), (1, 5)]),
        ),
        request(
            ApiKey::OffsetForLeaderEpoch,
            4,
            1,
            &epochs(&[(0, -1, 0), (1, 0, 3)]),
        ),
        request(
            ApiKey::DescribeCluster,
            1,
            1,
            &DescribeClusterRequest::default(),
        ),
    ]
}

#[test]
fn describe_configs_reports_values_sources_and_defaults_at_every_version() {
    let mut c = with_topic(&[("cleanup.policy", "compact"), ("max.message.bytes", "2048")]);
    for v in 1..=4 {
        let r: DescribeConfigsResponse = c.call(
            ApiKey::DescribeConfigs,
            v,
            &describe(&[(TOPIC, "t", None)], false).with_include_documentation(v >= 3),
        );
        let t = &r.results[0];
        assert_eq!(
            (t.error_code, t.resource_type, t.resource_name.as_str()),
            (0, TOPIC, "t")
        );
        let policy = config(t, "cleanup.policy");
        assert_eq!(policy.value.as_deref(), Some("compact"));
        assert_eq!(policy.config_source, 1, "v{v}: a topic override");
        assert!(!policy.is_sensitive && !policy.read_only);
        assert!(policy.synonyms.is_empty(), "v{v}: synonyms not asked for");
        let retention = config(t, "retention.ms");
        assert_eq!(retention.value.as_deref(), Some(BROKER_RETENTION_MS));
        assert_eq!(retention.config_source, 4, "v{v}: the broker's setting");
        let tombstones = config(t, "delete.retention.ms");
        assert_eq!(tombstones.config_source, 5, "v{v}: the built-in default");
        if v >= 3 {
            assert_eq!(policy.config_type, 7, "LIST");
            assert_eq!(config(t, "max.message.bytes").config_type, 3, "INT");
            assert_eq!(retention.config_type, 5, "LONG");
            assert!(policy.documentation.is_some());
        }
    }
    let r: DescribeConfigsResponse = c.call(
        ApiKey::DescribeConfigs,
        4,
        &describe(&[(TOPIC, "t", None)], false),
    );
    assert_eq!(
        config(&r.results[0], "cleanup.policy").documentation,
        None,
        "not asked for"
    );
}

#[test]
fn describe_configs_synonyms_list_the_override_then_what_it_shadows() {
    let mut c = with_topic(&[("retention.ms", "1000"), ("cleanup.policy", "compact")]);
    let r: DescribeConfigsResponse = c.call(
        ApiKey::DescribeConfigs,
        4,
        &describe(
            &[(
                TOPIC,
                "t",
                Some(&["retention.ms", "cleanup.policy", "nope"]),
            )],
            true,
        ),
    );
    let t = &r.results[0];
    assert_eq!(
        t.configs.len(),
        2,
        "only the keys asked for, unknown ones absent"
    );
    let synonyms = |name| -> Vec<(String, String, i8)> {
        config(t, name)
            .synonyms
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.value.as_deref().map_or(String::new(), |v| v.to_string()),
                    s.source,
                )
            })
            .collect()
    };
    assert_eq!(
        synonyms("retention.ms"),
        vec![
            ("retention.ms".into(), "1000".into(), 1),
            ("log.retention.ms".into(), BROKER_RETENTION_MS.into(), 4),
        ]
    );
    assert_eq!(
        synonyms("cleanup.policy"),
        vec![
            ("cleanup.policy".into(), "compact".into(), 1),
            ("log.cleanup.policy".into(), "delete".into(), 5),
        ]
    );
}

#[test]
fn describe_configs_of_brokers_unknown_topics_and_unknown_types_answer_per_resource() {
    let mut c = with_topic(&[]);
    let r: DescribeConfigsResponse = c.call(
        ApiKey::DescribeConfigs,
        2,
        &describe(
            &[
                (BROKER, &NODE_ID.to_string(), None),
                (BROKER, "", Some(&["num.partitions"])),
                (BROKER, "7", None),
                (TOPIC, "missing", None),
                (8, "root", None),
            ],
            true,
        ),
    );
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 0, 42, 3, 42]);
    let node = config(&r.results[0], "node.id");
    assert_eq!(node.value.as_deref(), Some("1"));
    assert_eq!((node.config_source, node.read_only), (4, true));
    assert_eq!(node.synonyms.len(), 1);
    assert_eq!(r.results[1].configs.len(), 1);
    for failed in &r.results[2..] {
        assert!(failed.error_message.is_some());
        assert!(failed.configs.is_empty());
    }
}

#[test]
fn describe_configs_v0_is_answered_by_hand_with_is_default() {
    let mut c = with_topic(&[("cleanup.policy", "compact")]);
    let body = Raw::default()
        .i32(1)
        .i8(TOPIC)
        .str("t")
        .i32(2)
        .str("cleanup.policy")
        .str("delete.retention.ms");
    let mut r = Read(c.call_raw(ApiKey::DescribeConfigs, 0, &body.0));
    assert_eq!(r.i32(), 0, "throttle time");
    assert_eq!(r.i32(), 1, "one resource");
    assert_eq!((r.i16(), r.str()), (0, "<null>".to_owned()));
    assert_eq!(r.0.split_to(1)[0], TOPIC as u8);
    assert_eq!(r.str(), "t");
    assert_eq!(r.i32(), 2);
    let entry = |r: &mut Read| {
        let name = r.str();
        let value = r.str();
        let flags = r.0.split_to(3).to_vec();
        (name, value, flags)
    };
    assert_eq!(
        entry(&mut r),
        ("cleanup.policy".into(), "compact".into(), vec![0, 0, 0])
    );
    assert_eq!(
        entry(&mut r),
        (
            "delete.retention.ms".into(),
            "86400000".into(),
            vec![0, 1, 0]
        )
    );
    r.done();
}

fn legacy_alter(
    name: &str,
    configs: &[(&str, Option<&str>)],
    validate: bool,
) -> AlterConfigsRequest {
    AlterConfigsRequest::default()
        .with_resources(vec![
            LegacyResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(s(name))
                .with_configs(
                    configs
                        .iter()
                        .map(|(n, v)| LegacyConfig::default().with_name(s(n)).with_value(v.map(s)))
                        .collect(),
                ),
        ])
        .with_validate_only(validate)
}

#[test]
fn alter_configs_replaces_every_override() {
    for v in [0, 2] {
        let mut c = with_topic(&[("retention.ms", "1000"), ("cleanup.policy", "compact")]);
        let r: AlterConfigsResponse = c.call(
            ApiKey::AlterConfigs,
            v,
            &legacy_alter("t", &[("max.message.bytes", Some("4096"))], false),
        );
        let a = &r.responses[0];
        assert_eq!((a.error_code, a.resource_name.as_str()), (0, "t"), "v{v}");
        assert_eq!(
            c.broker.topic_configs("t").unwrap(),
            vec![("max.message.bytes".to_owned(), "4096".to_owned())],
            "v{v}: the other overrides went back to their defaults"
        );
    }
}

#[test]
fn alter_configs_validate_only_nulls_bad_values_and_brokers() {
    let mut c = with_topic(&[("retention.ms", "1000")]);
    let before = c.broker.topic_configs("t");
    let r: AlterConfigsResponse = c.call(
        ApiKey::AlterConfigs,
        1,
        &legacy_alter("t", &[("retention.ms", Some("5"))], true),
    );
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        c.broker.topic_configs("t"),
        before,
        "validate_only changed nothing"
    );

    let mut request = legacy_alter("t", &[("retention.ms", None)], false);
    request.resources.push(
        LegacyResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s("missing"))
            .with_configs(vec![
                LegacyConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("1"))),
            ]),
    );
    request.resources.push(
        LegacyResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s("1"))
            .with_configs(vec![
                LegacyConfig::default()
                    .with_name(s("num.partitions"))
                    .with_value(Some(s("9"))),
            ]),
    );
    request.resources.push(
        LegacyResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s("t2"))
            .with_configs(vec![
                LegacyConfig::default()
                    .with_name(s("bogus"))
                    .with_value(Some(s("1"))),
            ]),
    );
    c.broker.create_topic("t2", 1, &[], false).unwrap();
    let r: AlterConfigsResponse = c.call(ApiKey::AlterConfigs, 2, &request);
    let codes: Vec<i16> = r.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![42, 3, 42, 40]);
    assert!(r.responses.iter().all(|r| r.error_message.is_some()));
    let broker_message = r.responses[2].error_message.as_deref().unwrap();
    assert!(broker_message.contains("static"), "{broker_message}");
}

fn incremental(name: &str, changes: &[(&str, i8, Option<&str>)]) -> IncrementalAlterConfigsRequest {
    IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s(name))
            .with_configs(
                changes
                    .iter()
                    .map(|(n, op, v)| {
                        AlterableConfig::default()
                            .with_name(s(n))
                            .with_config_operation(*op)
                            .with_value(v.map(s))
                    })
                    .collect(),
            ),
    ])
}

#[test]
fn incremental_alter_configs_sets_deletes_appends_and_subtracts() {
    for v in [0, 1] {
        let mut c = with_topic(&[("retention.ms", "1000"), ("segment.ms", "60000")]);
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            v,
            &incremental(
                "t",
                &[
                    ("retention.ms", 1, None),
                    ("max.message.bytes", 0, Some("4096")),
                    ("cleanup.policy", 2, Some("compact")),
                ],
            ),
        );
        assert_eq!(r.responses[0].error_code, 0, "v{v}");
        let configs = c.broker.topic_configs("t").unwrap();
        let get = |n: &str| {
            configs
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("retention.ms"), None, "v{v}: deleted");
        assert_eq!(get("segment.ms"), Some("60000"), "v{v}: untouched");
        assert_eq!(get("max.message.bytes"), Some("4096"));
        assert_eq!(get("cleanup.policy"), Some("delete,compact"));

        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            v,
            &incremental("t", &[("cleanup.policy", 3, Some("delete"))]),
        );
        assert_eq!(r.responses[0].error_code, 0);
        let configs = c.broker.topic_configs("t").unwrap();
        assert!(configs.contains(&("cleanup.policy".to_owned(), "compact".to_owned())));
    }
}

#[test]
fn incremental_alter_configs_refusals_are_per_resource() {
    let mut c = with_topic(&[]);
    let mut request = incremental(
        "t",
        &[("retention.ms", 0, Some("1")), ("retention.ms", 1, None)],
    );
    for (name, op, value) in [
        ("t", 9, Some("1")),
        ("t", 0, None),
        ("t", 2, Some("1")), // APPEND to a setting that is not a list: the host refuses
    ] {
        request.resources.push(
            AlterConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(s(&format!("{name}{}", request.resources.len())))
                .with_configs(vec![
                    AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_config_operation(op)
                        .with_value(value.map(s)),
                ]),
        );
    }
    for i in 1..=3 {
        c.broker
            .create_topic(&format!("t{i}"), 1, &[], false)
            .unwrap();
    }
    request.resources.push(
        AlterConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s(""))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(s("log.retention.ms"))
                    .with_config_operation(0)
                    .with_value(Some(s("1"))),
            ]),
    );
    let r: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &request);
    let codes: Vec<i16> = r.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![42, 42, 42, 40, 42]);
    assert!(r.responses.iter().all(|r| r.error_message.is_some()));
    assert_eq!(
        c.broker.topic_configs("t").unwrap(),
        vec![],
        "nothing applied"
    );
}

/// (topic, new count, replica assignments).
type Raise<'a> = (&'a str, i32, Option<Vec<Vec<i32>>>);

fn partitions(topics: &[Raise<'_>], validate: bool) -> CreatePartitionsRequest {
    CreatePartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|(n, count, assignments)| {
                    CreatePartitionsTopic::default()
                        .with_name(name(n))
                        .with_count(*count)
                        .with_assignments(assignments.as_ref().map(|a| {
                            a.iter()
                                .map(|ids| {
                                    CreatePartitionsAssignment::default()
                                        .with_broker_ids(ids.iter().map(|&i| BrokerId(i)).collect())
                                })
                                .collect()
                        }))
                })
                .collect(),
        )
        .with_timeout_ms(1000)
        .with_validate_only(validate)
}

#[test]
fn create_partitions_raises_the_count_at_every_version() {
    for v in 0..=3 {
        let mut c = with_topic(&[]);
        let r: CreatePartitionsResponse = c.call(
            ApiKey::CreatePartitions,
            v,
            &partitions(&[("t", 3, None)], true),
        );
        assert_eq!(r.results[0].error_code, 0, "v{v}");
        assert_eq!(c.broker.describe_topic("t", false).unwrap().partitions, 2);
        let r: CreatePartitionsResponse = c.call(
            ApiKey::CreatePartitions,
            v,
            &partitions(&[("t", 4, Some(vec![vec![NODE_ID], vec![NODE_ID]]))], false),
        );
        let t = &r.results[0];
        assert_eq!(
            (t.name.as_str(), t.error_code, t.error_message.clone()),
            ("t", 0, None)
        );
        assert_eq!(c.broker.describe_topic("t", false).unwrap().partitions, 4);
    }
}

#[test]
fn create_partitions_refusals_carry_codes_and_messages() {
    let mut c = with_topic(&[]);
    c.broker.create_topic("u", 1, &[], false).unwrap();
    c.broker.create_topic("w", 1, &[], false).unwrap();
    let r: CreatePartitionsResponse = c.call(
        ApiKey::CreatePartitions,
        3,
        &partitions(
            &[
                ("t", 2, None),                         // not an increase
                ("u", 3, Some(vec![vec![NODE_ID]])),    // one assignment for two
                ("w", 2, Some(vec![vec![NODE_ID, 2]])), // another broker
                ("missing", 2, None),
                ("dup", 2, None),
                ("dup", 3, None),
            ],
            false,
        ),
    );
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![37, 39, 39, 3, 42, 42]);
    assert!(r.results.iter().all(|r| r.error_message.is_some()));
    assert_eq!(c.broker.describe_topic("u", false).unwrap().partitions, 1);
}

#[test]
fn describe_cluster_names_this_broker_as_controller_and_only_member() {
    let mut c = Client::new();
    for v in 0..=2 {
        let r: DescribeClusterResponse = c.call(
            ApiKey::DescribeCluster,
            v,
            &DescribeClusterRequest::default(),
        );
        assert_eq!(
            (r.error_code, r.cluster_id.as_str()),
            (0, CLUSTER_ID),
            "v{v}"
        );
        assert_eq!(r.controller_id, BrokerId(NODE_ID));
        assert_eq!(r.cluster_authorized_operations, i32::MIN);
        assert_eq!(r.brokers.len(), 1);
        let b = &r.brokers[0];
        assert_eq!(
            (
                b.broker_id,
                b.host.as_str(),
                b.port,
                b.rack.clone(),
                b.is_fenced
            ),
            (
                BrokerId(NODE_ID),
                ADVERTISED_HOST,
                i32::from(ADVERTISED_PORT),
                None,
                false
            )
        );
        if v >= 1 {
            assert_eq!(r.endpoint_type, 1);
        }
    }
    let r: DescribeClusterResponse = c.call(
        ApiKey::DescribeCluster,
        0,
        &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
    );
    assert_eq!(
        r.cluster_authorized_operations,
        (1 << 5) | (1 << 8) | (1 << 10) | (1 << 12)
    );
    let r: DescribeClusterResponse = c.call(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default().with_endpoint_type(2),
    );
    assert_eq!(r.error_code, 114);
    assert!(r.error_message.is_some() && r.brokers.is_empty());
}

fn delete_records(parts: &[(i32, i64)]) -> DeleteRecordsRequest {
    DeleteRecordsRequest::default()
        .with_topics(vec![
            DeleteRecordsTopic::default()
                .with_name(name("t"))
                .with_partitions(
                    parts
                        .iter()
                        .map(|(p, o)| {
                            DeleteRecordsPartition::default()
                                .with_partition_index(*p)
                                .with_offset(*o)
                        })
                        .collect(),
                ),
        ])
        .with_timeout_ms(1000)
}

#[test]
fn delete_records_moves_the_log_start_per_partition() {
    for v in 0..=2 {
        let c_topic = with_topic(&[]);
        let mut c = c_topic;
        for p in 0..2 {
            for _ in 0..3 {
                c.broker.append("t", p, &batch(&["a", "b"])).unwrap();
            }
        }
        let r: DeleteRecordsResponse = c.call(
            ApiKey::DeleteRecords,
            v,
            &delete_records(&[(0, 2), (1, -1), (2, 0), (0, 99), (0, -5)]),
        );
        let answers: Vec<(i32, i16, i64)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.error_code, p.low_watermark))
            .collect();
        assert_eq!(
            answers,
            vec![(0, 0, 2), (1, 0, 6), (2, 3, -1), (0, 1, -1), (0, 1, -1)],
            "v{v}"
        );
        assert_eq!(c.broker.offsets("t", 0).unwrap().log_start, 2);
    }
}

fn epochs(parts: &[(i32, i32, i32)]) -> OffsetForLeaderEpochRequest {
    OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            OffsetForLeaderTopic::default()
                .with_topic(name("t"))
                .with_partitions(
                    parts
                        .iter()
                        .map(|(p, current, epoch)| {
                            OffsetForLeaderPartition::default()
                                .with_partition(*p)
                                .with_current_leader_epoch(*current)
                                .with_leader_epoch(*epoch)
                        })
                        .collect(),
                ),
        ])
}

#[test]
fn offset_for_leader_epoch_follows_kafka_with_one_epoch() {
    for v in 2..=4 {
        let mut c = with_topic(&[]);
        c.broker.append("t", 0, &batch(&["a", "b", "c"])).unwrap();
        c.broker.hold_high_watermark();
        c.broker.append("t", 0, &batch(&["d"])).unwrap();
        c.broker.delete_records("t", 0, 1).unwrap();
        let r: OffsetForLeaderEpochResponse = c.call(
            ApiKey::OffsetForLeaderEpoch,
            v,
            &epochs(&[
                (0, -1, 0),  // current epoch: the log end, not the high watermark
                (0, 0, -1),  // undefined
                (0, 0, 3),   // unknown epoch: undefined, no error
                (0, -1, -4), // before every epoch: itself and the log start
                (0, 1, 0),   // a current epoch from the future
                (0, -3, 0),  // a fenced current epoch
                (5, -1, 0),  // no such partition
            ]),
        );
        let answers: Vec<(i16, i32, i64)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.leader_epoch, p.end_offset))
            .collect();
        assert_eq!(
            answers,
            vec![
                (0, 0, 4),
                (0, -1, -1),
                (0, -1, -1),
                (0, -4, 1),
                (75, -1, -1),
                (74, -1, -1),
                (3, -1, -1),
            ],
            "v{v}"
        );
    }
}

#[test]
fn offset_for_leader_epoch_v0_and_v1_are_answered_by_hand() {
    for v in [0, 1] {
        let mut c = with_topic(&[]);
        c.broker.append("t", 1, &batch(&["a", "b"])).unwrap();
        let body = Raw::default()
            .i32(1)
            .str("t")
            .i32(2)
            .i32(1)
            .i32(0)
            .i32(9)
            .i32(0);
        let mut r = Read(c.call_raw(ApiKey::OffsetForLeaderEpoch, v, &body.0));
        assert_eq!((r.i32(), r.str(), r.i32()), (1, "t".to_owned(), 2), "v{v}");
        assert_eq!((r.i16(), r.i32()), (0, 1));
        if v == 1 {
            assert_eq!(r.i32(), 0, "leader epoch");
        }
        assert_eq!(r.i64(), 2);
        assert_eq!((r.i16(), r.i32()), (3, 9));
        if v == 1 {
            assert_eq!(r.i32(), -1);
        }
        assert_eq!(r.i64(), -1);
        r.done();
    }
}
