//! Request schemas of the admin and idempotent-producer APIs, for the shape guard (see the
//! parent module for why every request is walked before it is decoded).
//!
//! Each walker mirrors kafka-protocol 0.18's encoder of its request field by field, plus the
//! versions below kafka-protocol's floor that `api/*` reads by hand (DescribeConfigs v0,
//! OffsetForLeaderEpoch v0–v1), whose layouts are written out in the Kafka schemas' terms.

use kafka_protocol::messages::ApiKey;

use super::{Step, Walk};

/// The APIs walked here, for the parent module's dispatch and tests.
pub const APIS: [ApiKey; 8] = [
    ApiKey::DeleteRecords,
    ApiKey::InitProducerId,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::CreatePartitions,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
];

/// Walks `api` at `v`; `None` for an API not listed in [`APIS`].
pub(super) fn walk(api: ApiKey, w: &mut Walk<'_>, v: i16) -> Option<Step> {
    Some(match api {
        ApiKey::DeleteRecords => delete_records(w),
        ApiKey::InitProducerId => init_producer_id(w, v),
        ApiKey::OffsetForLeaderEpoch => offset_for_leader_epoch(w, v),
        ApiKey::DescribeConfigs => describe_configs(w, v),
        ApiKey::AlterConfigs => alter_configs(w),
        ApiKey::CreatePartitions => create_partitions(w),
        ApiKey::IncrementalAlterConfigs => incremental_alter_configs(w),
        ApiKey::DescribeCluster => describe_cluster(w, v),
        _ => return None,
    })
}

fn delete_records(w: &mut Walk<'_>) -> Step {
    w.topics(|w| {
        w.i32()?; // partition_index
        w.i64() // offset
    })?;
    w.i32()?; // timeout_ms
    w.tags()
}

fn init_producer_id(w: &mut Walk<'_>, v: i16) -> Step {
    w.string()?; // transactional_id
    w.i32()?; // transaction_timeout_ms
    if v >= 3 {
        w.i64()?; // producer_id
        w.i16()?; // producer_epoch
    }
    w.tags()
}

fn offset_for_leader_epoch(w: &mut Walk<'_>, v: i16) -> Step {
    if v >= 3 {
        w.i32()?; // replica_id
    }
    w.topics(|w| {
        w.i32()?; // partition
        if v >= 2 {
            w.i32()?; // current_leader_epoch
        }
        w.i32() // leader_epoch
    })?;
    w.tags()
}

fn describe_configs(w: &mut Walk<'_>, v: i16) -> Step {
    w.tagged_array(|w| {
        w.i8()?; // resource_type
        w.string()?; // resource_name
        w.string_array() // configuration_keys
    })?;
    if v >= 1 {
        w.bool()?; // include_synonyms
    }
    if v >= 3 {
        w.bool()?; // include_documentation
    }
    w.tags()
}

/// AlterConfigs and IncrementalAlterConfigs: resources, each with its settings (their fields
/// walked by `config`), then `validate_only`.
fn alter_resources(w: &mut Walk<'_>, mut config: impl FnMut(&mut Walk<'_>) -> Step) -> Step {
    w.tagged_array(|w| {
        w.i8()?; // resource_type
        w.string()?; // resource_name
        w.tagged_array(&mut config)
    })?;
    w.bool()?; // validate_only
    w.tags()
}

fn alter_configs(w: &mut Walk<'_>) -> Step {
    alter_resources(w, |w| {
        w.string()?; // name
        w.string() // value
    })
}

fn incremental_alter_configs(w: &mut Walk<'_>) -> Step {
    alter_resources(w, |w| {
        w.string()?; // name
        w.i8()?; // config_operation
        w.string() // value
    })
}

fn create_partitions(w: &mut Walk<'_>) -> Step {
    w.tagged_array(|w| {
        w.string()?; // name
        w.i32()?; // count
        w.tagged_array(|w| w.i32_array()) // assignments: broker_ids
    })?;
    w.i32()?; // timeout_ms
    w.bool()?; // validate_only
    w.tags()
}

fn describe_cluster(w: &mut Walk<'_>, v: i16) -> Step {
    w.bool()?; // include_cluster_authorized_operations
    if v >= 1 {
        w.i8()?; // endpoint_type
    }
    if v >= 2 {
        w.bool()?; // include_fenced_brokers
    }
    w.tags()
}

#[cfg(test)]
pub(super) mod tests {
    //! Every advertised version of every API here, encoded by kafka-protocol with populated
    //! fields and unknown tagged fields (or by hand below its floor), walks to its last byte,
    //! and every strict prefix is refused.
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
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, Message};

    use super::*;
    use crate::shape::tests::{assert_walks_whole, name, s, tagged};
    use crate::versions::advertised;

    /// A request of `api` at `v` (at or above kafka-protocol's floor) with every field of that
    /// version set, encoded by kafka-protocol.
    pub fn populated(api: ApiKey, v: i16) -> Vec<u8> {
        let tags = tagged(api, v);
        let mut out = Vec::new();
        let result = match api {
            ApiKey::DeleteRecords => DeleteRecordsRequest::default()
                .with_topics(vec![
                    DeleteRecordsTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            DeleteRecordsPartition::default()
                                .with_partition_index(1)
                                .with_offset(-1)
                                .with_unknown_tagged_fields(tags.clone()),
                            DeleteRecordsPartition::default()
                                .with_partition_index(2)
                                .with_offset(7),
                        ])
                        .with_unknown_tagged_fields(tags.clone()),
                ])
                .with_timeout_ms(1000)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::InitProducerId => InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s("tx"))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(if v >= 3 { 42 } else { -1 }))
                .with_producer_epoch(if v >= 3 { 3 } else { -1 })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::OffsetForLeaderEpoch => OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(if v >= 3 { -2 } else { -1 }))
                .with_topics(vec![
                    OffsetForLeaderTopic::default()
                        .with_topic(name("t"))
                        .with_partitions(vec![
                            OffsetForLeaderPartition::default()
                                .with_partition(0)
                                .with_current_leader_epoch(0)
                                .with_leader_epoch(0)
                                .with_unknown_tagged_fields(tags.clone()),
                        ])
                        .with_unknown_tagged_fields(tags.clone()),
                ])
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::DescribeConfigs => DescribeConfigsRequest::default()
                .with_resources(vec![
                    DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s("t"))
                        .with_configuration_keys(Some(vec![s("retention.ms"), s("x")]))
                        .with_unknown_tagged_fields(tags.clone()),
                    DescribeConfigsResource::default()
                        .with_resource_type(4)
                        .with_resource_name(s("1"))
                        .with_configuration_keys(None),
                ])
                .with_include_synonyms(true)
                .with_include_documentation(v >= 3)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::AlterConfigs => AlterConfigsRequest::default()
                .with_resources(vec![
                    LegacyResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s("t"))
                        .with_configs(vec![
                            LegacyConfig::default()
                                .with_name(s("retention.ms"))
                                .with_value(Some(s("1000")))
                                .with_unknown_tagged_fields(tags.clone()),
                            LegacyConfig::default().with_name(s("x")).with_value(None),
                        ])
                        .with_unknown_tagged_fields(tags.clone()),
                ])
                .with_validate_only(true)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::IncrementalAlterConfigs => IncrementalAlterConfigsRequest::default()
                .with_resources(vec![
                    AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s("t"))
                        .with_configs(vec![
                            AlterableConfig::default()
                                .with_name(s("cleanup.policy"))
                                .with_config_operation(2)
                                .with_value(Some(s("compact")))
                                .with_unknown_tagged_fields(tags.clone()),
                            AlterableConfig::default()
                                .with_name(s("retention.ms"))
                                .with_config_operation(1)
                                .with_value(None),
                        ])
                        .with_unknown_tagged_fields(tags.clone()),
                ])
                .with_validate_only(true)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::CreatePartitions => CreatePartitionsRequest::default()
                .with_topics(vec![
                    CreatePartitionsTopic::default()
                        .with_name(name("t"))
                        .with_count(4)
                        .with_assignments(Some(vec![
                            CreatePartitionsAssignment::default()
                                .with_broker_ids(vec![BrokerId(1)])
                                .with_unknown_tagged_fields(tags.clone()),
                        ]))
                        .with_unknown_tagged_fields(tags.clone()),
                    CreatePartitionsTopic::default()
                        .with_name(name("u"))
                        .with_count(2)
                        .with_assignments(None),
                ])
                .with_timeout_ms(1000)
                .with_validate_only(true)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::DescribeCluster => DescribeClusterRequest::default()
                .with_include_cluster_authorized_operations(true)
                .with_endpoint_type(if v >= 1 { 2 } else { 1 })
                .with_include_fenced_brokers(v >= 2)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            other => panic!("no test request for {other:?}"),
        };
        result.unwrap_or_else(|e| panic!("encoding {api:?} v{v}: {e}"));
        out
    }

    /// The versions below kafka-protocol's floor, by hand: DescribeConfigs v0 is v1 without
    /// its trailing `include_synonyms`; OffsetForLeaderEpoch v0–v1 are v2 without
    /// `current_leader_epoch`.
    fn legacy(api: ApiKey, v: i16) -> Vec<u8> {
        match api {
            ApiKey::DescribeConfigs => {
                let mut body = populated(api, 1);
                body.pop();
                body
            }
            ApiKey::OffsetForLeaderEpoch => {
                let mut body = Vec::new();
                body.extend(1i32.to_be_bytes()); // one topic
                body.extend(1i16.to_be_bytes());
                body.push(b't');
                body.extend(2i32.to_be_bytes()); // two partitions
                for (partition, epoch) in [(0i32, 0i32), (1, -1)] {
                    body.extend(partition.to_be_bytes());
                    body.extend(epoch.to_be_bytes());
                }
                let _ = v;
                body
            }
            other => panic!("no legacy request for {other:?}"),
        }
    }

    #[test]
    fn every_advertised_version_walks_to_its_last_byte_and_no_prefix_passes() {
        for api in APIS {
            let range = advertised(api).unwrap_or_else(|| panic!("{api:?} not advertised"));
            for v in range.min..=range.max {
                let body = if v < api.valid_versions().min {
                    legacy(api, v)
                } else {
                    populated(api, v)
                };
                assert_walks_whole(api, v, &body);
            }
        }
    }

    #[test]
    fn floors_below_kafka_protocol_are_the_hand_read_ones() {
        assert_eq!(DescribeConfigsRequest::VERSIONS.min, 1);
        assert_eq!(OffsetForLeaderEpochRequest::VERSIONS.min, 2);
        for api in APIS {
            let floor = api.valid_versions().min;
            let hand = matches!(api, ApiKey::DescribeConfigs | ApiKey::OffsetForLeaderEpoch);
            assert_eq!(floor > 0, hand, "{api:?}");
        }
    }
}
