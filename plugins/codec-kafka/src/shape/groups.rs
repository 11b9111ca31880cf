//! Request schemas of the consumer-group APIs, for the shape guard (see the parent module for
//! why every request is walked before it is decoded).
//!
//! Each walker mirrors kafka-protocol 0.18's encoder of its request field by field, plus the
//! versions below kafka-protocol's floor that `api/*` reads by hand (OffsetCommit v0–v1,
//! OffsetFetch v0), whose layouts are written out in the Kafka schemas' terms.

use kafka_protocol::messages::ApiKey;

use super::{Step, Walk};

/// The APIs walked here, for the parent module's dispatch and tests.
pub const APIS: [ApiKey; 11] = [
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
];

pub(super) fn find_coordinator(w: &mut Walk<'_>, v: i16) -> Step {
    if v <= 3 {
        w.string()?; // key
    }
    if v >= 1 {
        w.i8()?; // key_type
    }
    if v >= 4 {
        w.string_array()?; // coordinator_keys
    }
    w.tags()
}

pub(super) fn join_group(w: &mut Walk<'_>, v: i16) -> Step {
    w.string()?; // group_id
    w.i32()?; // session_timeout_ms
    if v >= 1 {
        w.i32()?; // rebalance_timeout_ms
    }
    w.string()?; // member_id
    if v >= 5 {
        w.string()?; // group_instance_id
    }
    w.string()?; // protocol_type
    w.tagged_array(|w| {
        w.string()?; // name
        w.bytes() // metadata
    })?;
    if v >= 8 {
        w.string()?; // reason
    }
    w.tags()
}

pub(super) fn sync_group(w: &mut Walk<'_>, v: i16) -> Step {
    w.string()?; // group_id
    w.i32()?; // generation_id
    w.string()?; // member_id
    if v >= 3 {
        w.string()?; // group_instance_id
    }
    if v >= 5 {
        w.string()?; // protocol_type
        w.string()?; // protocol_name
    }
    w.tagged_array(|w| {
        w.string()?; // member_id
        w.bytes() // assignment
    })?;
    w.tags()
}

pub(super) fn heartbeat(w: &mut Walk<'_>, v: i16) -> Step {
    w.string()?; // group_id
    w.i32()?; // generation_id
    w.string()?; // member_id
    if v >= 3 {
        w.string()?; // group_instance_id
    }
    w.tags()
}

pub(super) fn leave_group(w: &mut Walk<'_>, v: i16) -> Step {
    w.string()?; // group_id
    if v <= 2 {
        w.string()?; // member_id
    } else {
        w.tagged_array(|w| {
            w.string()?; // member_id
            w.string()?; // group_instance_id
            if v >= 5 {
                w.string()?; // reason
            }
            Ok(())
        })?;
    }
    w.tags()
}

pub(super) fn offset_commit(w: &mut Walk<'_>, v: i16) -> Step {
    w.string()?; // group_id
    if v >= 1 {
        w.i32()?; // generation_id_or_member_epoch
        w.string()?; // member_id
    }
    if v >= 7 {
        w.string()?; // group_instance_id
    }
    if (2..=4).contains(&v) {
        w.i64()?; // retention_time_ms
    }
    w.topics(|w| {
        w.i32()?; // partition_index
        w.i64()?; // committed_offset
        if v == 1 {
            w.i64()?; // commit_timestamp
        }
        if v >= 6 {
            w.i32()?; // committed_leader_epoch
        }
        w.string() // committed_metadata
    })?;
    w.tags()
}

pub(super) fn offset_fetch(w: &mut Walk<'_>, v: i16) -> Step {
    let topics = |w: &mut Walk<'_>| {
        w.tagged_array(|w| {
            w.string()?; // name
            w.i32_array() // partition_indexes
        })
    };
    if v <= 7 {
        w.string()?; // group_id
        topics(w)?;
    } else {
        w.tagged_array(|w| {
            w.string()?; // group_id
            if v >= 9 {
                w.string()?; // member_id
                w.i32()?; // member_epoch
            }
            topics(w)
        })?;
    }
    if v >= 7 {
        w.bool()?; // require_stable
    }
    w.tags()
}

pub(super) fn list_groups(w: &mut Walk<'_>, v: i16) -> Step {
    if v >= 4 {
        w.string_array()?; // states_filter
    }
    if v >= 5 {
        w.string_array()?; // types_filter
    }
    w.tags()
}

pub(super) fn describe_groups(w: &mut Walk<'_>, v: i16) -> Step {
    w.string_array()?; // groups
    if v >= 3 {
        w.bool()?; // include_authorized_operations
    }
    w.tags()
}

pub(super) fn delete_groups(w: &mut Walk<'_>, _v: i16) -> Step {
    w.string_array()?; // groups_names
    w.tags()
}

pub(super) fn offset_delete(w: &mut Walk<'_>, _v: i16) -> Step {
    w.string()?; // group_id
    w.tagged_array(|w| {
        w.string()?; // name
        w.i32_array() // partitions: partition_index
    })?;
    w.tags()
}

/// Walks `api` at `v`; `None` for an API not listed in [`APIS`].
pub(super) fn walk(api: ApiKey, w: &mut Walk<'_>, v: i16) -> Option<Step> {
    Some(match api {
        ApiKey::OffsetCommit => offset_commit(w, v),
        ApiKey::OffsetFetch => offset_fetch(w, v),
        ApiKey::FindCoordinator => find_coordinator(w, v),
        ApiKey::JoinGroup => join_group(w, v),
        ApiKey::Heartbeat => heartbeat(w, v),
        ApiKey::LeaveGroup => leave_group(w, v),
        ApiKey::SyncGroup => sync_group(w, v),
        ApiKey::DescribeGroups => describe_groups(w, v),
        ApiKey::ListGroups => list_groups(w, v),
        ApiKey::DeleteGroups => delete_groups(w, v),
        ApiKey::OffsetDelete => offset_delete(w, v),
        _ => return None,
    })
}

#[cfg(test)]
pub(super) mod tests {
    //! Every advertised version of every group API, encoded by kafka-protocol with populated
    //! fields and unknown tagged fields (or by hand below its floor), walks to its last byte,
    //! and every strict prefix is refused.
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::leave_group_request::MemberIdentity;
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::offset_delete_request::{
        OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
    };
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;
    use crate::shape::check;
    use crate::shape::tests::{assert_walks_whole, name, s, tagged};
    use crate::versions::ADVERTISED;

    fn group(text: &'static str) -> GroupId {
        GroupId(s(text))
    }

    /// A request of `api` at `v` (at or above kafka-protocol's floor) with every field of that
    /// version set, encoded by kafka-protocol.
    pub fn populated(api: ApiKey, v: i16) -> Vec<u8> {
        let tags = tagged(api, v);
        let mut out = Vec::new();
        let result = match api {
            ApiKey::FindCoordinator => FindCoordinatorRequest::default()
                .with_key(if v <= 3 { s("g") } else { StrBytes::new() })
                .with_key_type(if v >= 1 { 1 } else { 0 })
                .with_coordinator_keys(if v >= 4 {
                    vec![s("g1"), s("g2")]
                } else {
                    vec![]
                })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::JoinGroup => JoinGroupRequest::default()
                .with_group_id(group("g"))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(30_000)
                .with_member_id(s("m-1"))
                .with_group_instance_id(if v >= 5 { Some(s("i-1")) } else { None })
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![
                    JoinGroupRequestProtocol::default()
                        .with_name(s("range"))
                        .with_metadata(Bytes::from_static(&[0, 1, 2]))
                        .with_unknown_tagged_fields(tags.clone()),
                    JoinGroupRequestProtocol::default().with_name(s("roundrobin")),
                ])
                .with_reason(if v >= 8 { Some(s("why")) } else { None })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::SyncGroup => SyncGroupRequest::default()
                .with_group_id(group("g"))
                .with_generation_id(3)
                .with_member_id(s("m-1"))
                .with_group_instance_id(if v >= 3 { Some(s("i-1")) } else { None })
                .with_protocol_type(if v >= 5 { Some(s("consumer")) } else { None })
                .with_protocol_name(if v >= 5 { Some(s("range")) } else { None })
                .with_assignments(vec![
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s("m-1"))
                        .with_assignment(Bytes::from_static(&[9, 9]))
                        .with_unknown_tagged_fields(tags.clone()),
                    SyncGroupRequestAssignment::default().with_member_id(s("m-2")),
                ])
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::Heartbeat => HeartbeatRequest::default()
                .with_group_id(group("g"))
                .with_generation_id(3)
                .with_member_id(s("m-1"))
                .with_group_instance_id(if v >= 3 { Some(s("i-1")) } else { None })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::LeaveGroup => LeaveGroupRequest::default()
                .with_group_id(group("g"))
                .with_member_id(if v <= 2 { s("m-1") } else { StrBytes::new() })
                .with_members(if v >= 3 {
                    vec![
                        MemberIdentity::default()
                            .with_member_id(s("m-1"))
                            .with_group_instance_id(Some(s("i-1")))
                            .with_reason(if v >= 5 { Some(s("bye")) } else { None })
                            .with_unknown_tagged_fields(tags.clone()),
                        MemberIdentity::default().with_member_id(s("m-2")),
                    ]
                } else {
                    vec![]
                })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::OffsetCommit => OffsetCommitRequest::default()
                .with_group_id(group("g"))
                .with_generation_id_or_member_epoch(3)
                .with_member_id(s("m-1"))
                .with_group_instance_id(if v >= 7 { Some(s("i-1")) } else { None })
                .with_retention_time_ms(-1)
                .with_topics(vec![
                    OffsetCommitRequestTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(42)
                                .with_committed_leader_epoch(2)
                                .with_committed_metadata(Some(s("meta")))
                                .with_unknown_tagged_fields(tags.clone()),
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(1)
                                .with_committed_metadata(None),
                        ])
                        .with_unknown_tagged_fields(tags.clone()),
                ])
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::OffsetFetch => {
                let named = |tags: &BTreeMap<i32, Bytes>| {
                    vec![
                        OffsetFetchRequestTopic::default()
                            .with_name(name("t"))
                            .with_partition_indexes(vec![0, 1])
                            .with_unknown_tagged_fields(tags.clone()),
                    ]
                };
                let request = if v <= 7 {
                    OffsetFetchRequest::default()
                        .with_group_id(group("g"))
                        .with_topics(Some(named(&tags)))
                } else {
                    OffsetFetchRequest::default().with_groups(vec![
                        OffsetFetchRequestGroup::default()
                            .with_group_id(group("g"))
                            .with_member_id(if v >= 9 { Some(s("m-1")) } else { None })
                            .with_member_epoch(if v >= 9 { 4 } else { -1 })
                            .with_topics(Some(vec![
                                OffsetFetchRequestTopics::default()
                                    .with_name(name("t"))
                                    .with_partition_indexes(vec![0, 1])
                                    .with_unknown_tagged_fields(tags.clone()),
                            ]))
                            .with_unknown_tagged_fields(tags.clone()),
                        OffsetFetchRequestGroup::default()
                            .with_group_id(group("all"))
                            .with_topics(None),
                    ])
                };
                request
                    .with_require_stable(v >= 7)
                    .with_unknown_tagged_fields(tags)
                    .encode(&mut out, v)
            }
            ApiKey::ListGroups => ListGroupsRequest::default()
                .with_states_filter(if v >= 4 { vec![s("Stable")] } else { vec![] })
                .with_types_filter(if v >= 5 { vec![s("classic")] } else { vec![] })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::DescribeGroups => DescribeGroupsRequest::default()
                .with_groups(vec![group("g"), group("h")])
                .with_include_authorized_operations(v >= 3)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::DeleteGroups => DeleteGroupsRequest::default()
                .with_groups_names(vec![group("g"), group("h")])
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::OffsetDelete => OffsetDeleteRequest::default()
                .with_group_id(group("g"))
                .with_topics(vec![
                    OffsetDeleteRequestTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(0),
                            OffsetDeleteRequestPartition::default().with_partition_index(1),
                        ]),
                ])
                .encode(&mut out, v),
            other => panic!("no group request for {other:?}"),
        };
        result.unwrap_or_else(|e| panic!("encoding {api:?} v{v}: {e}"));
        out
    }

    /// Hand-encoded bodies of the versions below kafka-protocol's floor, as `api/*` reads them.
    fn legacy(api: ApiKey, v: i16) -> Vec<u8> {
        let mut out = Vec::new();
        let str = |out: &mut Vec<u8>, text: &str| {
            out.extend((text.len() as i16).to_be_bytes());
            out.extend(text.as_bytes());
        };
        match (api, v) {
            (ApiKey::OffsetCommit, 0 | 1) => {
                str(&mut out, "g");
                if v == 1 {
                    out.extend(3i32.to_be_bytes()); // generation
                    str(&mut out, "m-1");
                }
                out.extend(1i32.to_be_bytes()); // topics
                str(&mut out, "t");
                out.extend(1i32.to_be_bytes()); // partitions
                out.extend(0i32.to_be_bytes());
                out.extend(42i64.to_be_bytes());
                if v == 1 {
                    out.extend((-1i64).to_be_bytes()); // commit_timestamp
                }
                str(&mut out, "meta");
            }
            (ApiKey::OffsetFetch, 0) => {
                str(&mut out, "g");
                out.extend(1i32.to_be_bytes()); // topics
                str(&mut out, "t");
                out.extend(2i32.to_be_bytes()); // partitions
                out.extend(0i32.to_be_bytes());
                out.extend(1i32.to_be_bytes());
            }
            other => panic!("no legacy body for {other:?}"),
        }
        out
    }

    #[test]
    fn every_advertised_group_version_walks_to_its_last_byte() {
        let mut covered = 0;
        for a in ADVERTISED.iter().filter(|a| APIS.contains(&a.api)) {
            covered += 1;
            for v in a.min..=a.max {
                let body = if v < a.api.valid_versions().min {
                    legacy(a.api, v)
                } else {
                    populated(a.api, v)
                };
                assert_walks_whole(a.api, v, &body);
            }
        }
        assert_eq!(covered, APIS.len(), "every group API is advertised");
    }

    #[test]
    fn huge_group_array_count_is_refused() {
        // DescribeGroups v0: 2^31-1 group names announced in 4 bytes.
        let mut body = i32::MAX.to_be_bytes().to_vec();
        body.extend([0; 16]);
        assert!(check(ApiKey::DescribeGroups, 0, &body).is_err());
        // JoinGroup v6 (compact): a protocol count far above the bytes left.
        // Group "g", timeouts, member "", null instance, protocol type "", then the count.
        let mut body = vec![2, b'g', 0, 0, 0x27, 0x10, 0, 0, 0x75, 0x30, 1, 0, 1];
        body.extend([0xff, 0xff, 0xff, 0x0f, 0]);
        assert_eq!(
            check(ApiKey::JoinGroup, 6, &body),
            Err(crate::wire::WireError("array count exceeds the bytes left"))
        );
    }
}
