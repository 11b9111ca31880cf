//! Consumer groups end to end: real encoded requests from several members, each on its own
//! `KafkaConnection`, over one fake broker backed by the host's real coordinator. Host waits
//! are played by hand: a parked request's wait is fired once its group's version passed.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
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
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use sluice_codec_kafka::KafkaConnection;
use sluice_sdk::codec::{Broker, Connection, Output, Wait};

use crate::client::{Raw, Read, connection_info, decode, frames, raw_request, request};
use crate::fake_broker::{FakeBroker, NODE_ID};

const GROUP: &str = "g";

/// Members' connections over one broker.
struct Cluster {
    broker: FakeBroker,
    conns: Vec<KafkaConnection>,
    next_correlation_id: i32,
}

impl Cluster {
    fn new(connections: usize) -> Self {
        let broker = FakeBroker::new();
        broker.create_topic("t", 2, &[], false).unwrap();
        broker.create_topic("u", 1, &[], false).unwrap();
        Cluster {
            broker,
            conns: (0..connections)
                .map(|_| KafkaConnection::new(connection_info()))
                .collect(),
            next_correlation_id: 1000,
        }
    }

    fn send(&mut self, conn: usize, api: ApiKey, v: i16, body: &impl Encodable) -> (i32, Output) {
        self.next_correlation_id += 1;
        let cid = self.next_correlation_id;
        let out = self.conns[conn]
            .on_data(&self.broker, request(api, v, cid, body))
            .unwrap();
        (cid, out)
    }

    /// A request answered at once.
    fn call<R: Decodable>(&mut self, conn: usize, api: ApiKey, v: i16, body: &impl Encodable) -> R {
        let (cid, out) = self.send(conn, api, v, body);
        answer(&out, cid, api, v)
    }

    /// A request that parks: its wait.
    fn park(&mut self, conn: usize, api: ApiKey, v: i16, body: &impl Encodable) -> (i32, Wait) {
        let (cid, out) = self.send(conn, api, v, body);
        assert!(
            out.write.is_empty(),
            "{api:?} v{v} answered instead of parking"
        );
        assert_eq!(out.waits.len(), 1);
        let wait = out.waits.into_iter().next().unwrap();
        assert!(wait.watch.is_empty());
        assert_eq!(wait.groups.len(), 1);
        (cid, wait)
    }

    /// Whether the host would fire `wait` now (its group moved past the version watched).
    fn passed(&self, wait: &Wait) -> bool {
        let g = &wait.groups[0];
        self.broker
            .groups()
            .version(&g.group)
            .is_none_or(|v| v > g.version)
    }

    /// Fires `wait`, and any wait it re-arms while its group already passed, until the request
    /// answers or waits for a change yet to come (then `Err` with the new wait).
    fn fire(&mut self, conn: usize, mut wait: Wait, timed_out: bool) -> Result<Output, Wait> {
        let mut timed_out = timed_out;
        loop {
            let out = self.conns[conn]
                .on_wake(&self.broker, wait.token, timed_out)
                .unwrap();
            if !out.write.is_empty() {
                return Ok(out);
            }
            assert_eq!(out.waits.len(), 1, "a woken request answers or parks again");
            wait = out.waits.into_iter().next().unwrap();
            if !self.passed(&wait) {
                return Err(wait);
            }
            timed_out = false;
        }
    }
}

fn answer<R: Decodable>(out: &Output, cid: i32, api: ApiKey, v: i16) -> R {
    assert!(out.waits.is_empty(), "{api:?} v{v} parked");
    let frames = frames(&out.write);
    assert_eq!(frames.len(), 1, "{api:?} v{v}: one response");
    let (got, body) = decode(&frames[0], api, v);
    assert_eq!(got, cid);
    body
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A ConsumerProtocolSubscription as a Java consumer sends it: version, then the body.
fn subscription(topics: &[&str]) -> Bytes {
    let mut out = BytesMut::new();
    out.put_i16(1);
    ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| s(t)).collect())
        .encode(&mut out, 1)
        .unwrap();
    out.freeze()
}

fn join_request(member: &str, topics: &[&str], v: i16) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(subscription(topics)),
        ])
        .with_reason(if v >= 8 { Some(s("test")) } else { None })
}

/// Joins; from v4 the first answer is MEMBER_ID_REQUIRED and the member joins again with the
/// id it got. Returns the join's response or, when it parks, its wait and member id.
fn join(
    c: &mut Cluster,
    conn: usize,
    member: &str,
    topics: &[&str],
    v: i16,
) -> Result<JoinGroupResponse, (Wait, String, i32)> {
    let mut member = member.to_owned();
    if member.is_empty() && v >= 4 {
        let r: JoinGroupResponse = c.call(conn, ApiKey::JoinGroup, v, &join_request("", topics, v));
        assert_eq!(r.error_code, 79, "KIP-394: member id required");
        assert!(!r.member_id.is_empty());
        member = r.member_id.to_string();
    }
    let (cid, out) = c.send(
        conn,
        ApiKey::JoinGroup,
        v,
        &join_request(&member, topics, v),
    );
    if out.write.is_empty() {
        let wait = out.waits.into_iter().next().unwrap();
        return Err((wait, member, cid));
    }
    Ok(answer(&out, cid, ApiKey::JoinGroup, v))
}

fn heartbeat(c: &mut Cluster, conn: usize, member: &str, generation: i32, v: i16) -> i16 {
    let r: HeartbeatResponse = c.call(
        conn,
        ApiKey::Heartbeat,
        v,
        &HeartbeatRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id(generation)
            .with_member_id(s(member)),
    );
    r.error_code
}

fn sync_request(
    member: &str,
    generation: i32,
    assignments: &[(&str, &[u8])],
    v: i16,
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_protocol_type(if v >= 5 { Some(s("consumer")) } else { None })
        .with_protocol_name(if v >= 5 { Some(s("range")) } else { None })
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        )
}

fn leave(c: &mut Cluster, conn: usize, members: &[&str], v: i16) -> LeaveGroupResponse {
    let body = if v < 3 {
        assert_eq!(members.len(), 1);
        LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_member_id(s(members[0]))
    } else {
        LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_members(
                members
                    .iter()
                    .map(|m| MemberIdentity::default().with_member_id(s(m)))
                    .collect(),
            )
    };
    c.call(conn, ApiKey::LeaveGroup, v, &body)
}

fn describe(c: &mut Cluster, conn: usize, v: i16) -> DescribedGroup {
    let r: DescribeGroupsResponse = c.call(
        conn,
        ApiKey::DescribeGroups,
        v,
        &DescribeGroupsRequest::default().with_groups(vec![GroupId(s(GROUP))]),
    );
    r.groups.into_iter().next().unwrap()
}

/// Versions of (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups) driven together:
/// old, middle, newest (flexible).
const VERSION_SETS: [[i16; 5]; 3] = [[1, 0, 0, 0, 0], [5, 3, 3, 3, 4], [9, 5, 4, 5, 5]];

#[test]
fn members_join_sync_heartbeat_and_leave_at_every_version_set() {
    for [jv, sv, hv, lv, dv] in VERSION_SETS {
        // Connections: 0 and 1 for members A and B, 2 for C, 3 for an admin.
        let mut c = Cluster::new(4);

        // A alone: the rebalance completes at once, A leads generation 1.
        let a = join(&mut c, 0, "", &["t"], jv).unwrap_or_else(|_| panic!("A parked"));
        assert_eq!(a.error_code, 0);
        let a_id = a.member_id.to_string();
        assert_eq!(a.leader.as_str(), a_id);
        let a_sync: SyncGroupResponse = c.call(
            0,
            ApiKey::SyncGroup,
            sv,
            &sync_request(&a_id, a.generation_id, &[(&a_id, b"all of t")], sv),
        );
        assert_eq!(
            (a_sync.error_code, &a_sync.assignment[..]),
            (0, &b"all of t"[..])
        );

        // B joins: its join parks until A joins again. (Below v4 the codec takes the KIP-394
        // step itself, so B learns its id only from the answer.)
        let Err((b_wait, b_id, b_cid)) = join(&mut c, 1, "", &["t", "u"], jv) else {
            panic!("B's join should park");
        };
        assert_eq!(b_wait.timeout_ms, if jv >= 1 { 30_000 } else { 10_000 });
        assert!(c.conns[1].is_waiting());
        assert_eq!(heartbeat(&mut c, 0, &a_id, a.generation_id, hv), 27);
        let a2 = join(&mut c, 0, &a_id, &["t"], jv).unwrap_or_else(|_| panic!("A parked"));
        assert_eq!((a2.error_code, a2.leader.as_str()), (0, a_id.as_str()));
        assert_eq!(
            a2.members.len(),
            2,
            "the leader gets every member's metadata"
        );
        let b_meta = a2
            .members
            .iter()
            .find(|m| m.member_id.as_str() != a_id)
            .unwrap();
        assert_eq!(b_meta.metadata, subscription(&["t", "u"]));
        assert!(c.passed(&b_wait));
        let out = c
            .fire(1, b_wait, false)
            .unwrap_or_else(|_| panic!("B still waiting"));
        let b: JoinGroupResponse = answer(&out, b_cid, ApiKey::JoinGroup, jv);
        assert_eq!(b.error_code, 0);
        assert_eq!(b.member_id, b_meta.member_id);
        assert!(b_id.is_empty() || b.member_id.as_str() == b_id);
        let b_id = b.member_id.to_string();
        assert_eq!(b.generation_id, a2.generation_id);
        assert!(b.members.is_empty(), "followers get no metadata");
        let generation = b.generation_id;

        // B syncs first and parks; A's sync hands the assignments out.
        let (b_cid, b_wait) = c.park(
            1,
            ApiKey::SyncGroup,
            sv,
            &sync_request(&b_id, generation, &[], sv),
        );
        let a_sync: SyncGroupResponse = c.call(
            0,
            ApiKey::SyncGroup,
            sv,
            &sync_request(&a_id, generation, &[(&a_id, b"t-0"), (&b_id, b"t-1")], sv),
        );
        assert_eq!(
            (a_sync.error_code, &a_sync.assignment[..]),
            (0, &b"t-0"[..])
        );
        let out = c
            .fire(1, b_wait, false)
            .unwrap_or_else(|_| panic!("B's sync still waiting"));
        let b_sync: SyncGroupResponse = answer(&out, b_cid, ApiKey::SyncGroup, sv);
        assert_eq!(
            (b_sync.error_code, &b_sync.assignment[..]),
            (0, &b"t-1"[..])
        );
        if sv >= 5 {
            assert_eq!(b_sync.protocol_name.as_deref(), Some("range"));
        }
        assert_eq!(heartbeat(&mut c, 0, &a_id, generation, hv), 0);
        assert_eq!(heartbeat(&mut c, 1, &b_id, generation, hv), 0);
        assert_eq!(heartbeat(&mut c, 1, &b_id, generation + 7, hv), 22);

        let d = describe(&mut c, 3, dv);
        assert_eq!((d.error_code, d.group_state.as_str()), (0, "Stable"));
        assert_eq!(
            (d.protocol_type.as_str(), d.protocol_data.as_str()),
            ("consumer", "range")
        );
        assert_eq!(d.members.len(), 2);
        for m in &d.members {
            assert_eq!(m.client_id.as_str(), "sluice-test");
            assert_eq!(m.client_host.as_str(), "/127.0.0.1");
        }
        let b_desc = d
            .members
            .iter()
            .find(|m| m.member_id.as_str() == b_id)
            .unwrap();
        assert_eq!(&b_desc.member_assignment[..], b"t-1");

        // A third member: the others are told to rebalance.
        let Err((c_wait, c_id, c_cid)) = join(&mut c, 2, "", &["t"], jv) else {
            panic!("C's join should park");
        };
        let c_id = match c_id.is_empty() {
            false => c_id,
            true => {
                let d = c.broker.group_describe(GROUP).unwrap();
                let mut ids = d.members.into_iter().map(|m| m.member_id);
                ids.find(|m| *m != a_id && *m != b_id).unwrap()
            }
        };
        assert_eq!(heartbeat(&mut c, 0, &a_id, generation, hv), 27);
        assert_eq!(heartbeat(&mut c, 1, &b_id, generation, hv), 27);

        // C leaves (from another connection: its own is busy with the join).
        let left = leave(&mut c, 3, &[&c_id], lv);
        assert_eq!(left.error_code, 0);
        if lv >= 3 {
            assert_eq!(left.members.len(), 1);
            assert_eq!(
                (
                    left.members[0].member_id.as_str(),
                    left.members[0].error_code
                ),
                (c_id.as_str(), 0)
            );
        }
        let out = c
            .fire(2, c_wait, false)
            .unwrap_or_else(|_| panic!("C's join still waiting"));
        let cj: JoinGroupResponse = answer(&out, c_cid, ApiKey::JoinGroup, jv);
        assert_eq!(cj.error_code, 25, "a member that left is unknown");
        assert_eq!(leave(&mut c, 3, &["nobody"], lv).error_code == 0, lv >= 3);
    }
}

#[test]
fn a_join_that_times_out_is_told_to_rebalance() {
    let mut c = Cluster::new(2);
    let a = join(&mut c, 0, "", &["t"], 9).unwrap_or_else(|_| panic!("A parked"));
    let Err((wait, _b_id, cid)) = join(&mut c, 1, "", &["t"], 9) else {
        panic!("B's join should park");
    };
    assert!(!c.passed(&wait));
    let out = c
        .fire(1, wait, true)
        .unwrap_or_else(|_| panic!("a timed-out join answers"));
    let b: JoinGroupResponse = answer(&out, cid, ApiKey::JoinGroup, 9);
    assert_eq!(b.error_code, 27);
    assert_eq!(b.protocol_name, None);
    assert_eq!(heartbeat(&mut c, 0, &a.member_id, a.generation_id, 4), 27);
}

#[test]
fn old_joins_skip_the_member_id_round_trip() {
    for v in 0..4 {
        let mut c = Cluster::new(1);
        let r = join(&mut c, 0, "", &["t"], v).unwrap_or_else(|_| panic!("v{v} parked"));
        assert_eq!(r.error_code, 0, "v{v}");
        assert!(!r.member_id.is_empty());
        assert_eq!(r.leader, r.member_id);
        assert_eq!(r.members.len(), 1);
    }
    // v4+: MEMBER_ID_REQUIRED with the id to use, which is then known.
    let mut c = Cluster::new(1);
    let r: JoinGroupResponse = c.call(0, ApiKey::JoinGroup, 4, &join_request("", &["t"], 4));
    assert_eq!((r.error_code, r.generation_id), (79, -1));
    let again: JoinGroupResponse = c.call(
        0,
        ApiKey::JoinGroup,
        4,
        &join_request(&r.member_id, &["t"], 4),
    );
    assert_eq!((again.error_code, again.member_id), (0, r.member_id));
}

#[test]
fn find_coordinator_names_this_broker_for_every_key() {
    let mut c = Cluster::new(1);
    for v in 0..=3 {
        let r: FindCoordinatorResponse = c.call(
            0,
            ApiKey::FindCoordinator,
            v,
            &FindCoordinatorRequest::default()
                .with_key(s(GROUP))
                .with_key_type(if v >= 1 { 1 } else { 0 }),
        );
        assert_eq!(r.error_code, 0);
        assert_eq!(r.node_id.0, NODE_ID);
        assert_eq!(r.host.as_str(), crate::client::ADVERTISED_HOST);
        assert_eq!(r.port, i32::from(crate::client::ADVERTISED_PORT));
    }
    for v in 4..=5 {
        let r: FindCoordinatorResponse = c.call(
            0,
            ApiKey::FindCoordinator,
            v,
            &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("a"), s("b")]),
        );
        let keys: Vec<_> = r
            .coordinators
            .iter()
            .map(|k| (k.key.as_str(), k.node_id.0, k.error_code))
            .collect();
        assert_eq!(keys, [("a", NODE_ID, 0), ("b", NODE_ID, 0)]);
    }
    let r: FindCoordinatorResponse = c.call(
        0,
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key(s(GROUP))
            .with_key_type(2),
    );
    assert_eq!(r.error_code, 42);
}

fn commit(
    c: &mut Cluster,
    v: i16,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: Option<&str>,
) -> i16 {
    let r: OffsetCommitResponse = c.call(
        0,
        ApiKey::OffsetCommit,
        v,
        &OffsetCommitRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s(topic)))
                    .with_partitions(vec![
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(partition)
                            .with_committed_offset(offset)
                            .with_committed_leader_epoch(if v >= 6 { 3 } else { -1 })
                            .with_committed_metadata(metadata.map(s)),
                    ]),
            ]),
    );
    r.topics[0].partitions[0].error_code
}

#[test]
fn offsets_commit_and_fetch_at_every_version() {
    let mut c = Cluster::new(1);
    // v0 and v1 by hand: group, [generation, member,] topics of (partition, offset,
    // [timestamp,] metadata).
    for v in 0..=1i16 {
        let mut body = Raw::default().str(GROUP);
        if v == 1 {
            body = body.i32(-1).str("");
        }
        body = body.i32(1).str("t").i32(2).i32(0).i64(10 + i64::from(v));
        if v == 1 {
            body = body.i64(-1);
        }
        body = body.str("legacy").i32(-5).i64(1);
        if v == 1 {
            body = body.i64(-1);
        }
        let body = body.str("");
        let cid = 77 + i32::from(v);
        let out = c.conns[0]
            .on_data(
                &c.broker,
                raw_request(ApiKey::OffsetCommit, v, cid, &body.0),
            )
            .unwrap();
        let frame = frames(&out.write).remove(0);
        let mut r = Read(frame);
        assert_eq!(r.i32(), cid);
        assert_eq!((r.i32(), r.str(), r.i32()), (1, "t".into(), 2));
        assert_eq!((r.i32(), r.i16()), (0, 0));
        assert_eq!(
            (r.i32(), r.i16()),
            (-5, 3),
            "a negative partition is unknown"
        );
        r.done();
    }
    for v in 2..=9 {
        assert_eq!(
            commit(&mut c, v, "t", 1, 100 + i64::from(v), Some("meta")),
            0,
            "v{v}"
        );
    }
    assert_eq!(commit(&mut c, 9, "nope", 0, 1, None), 3, "unknown topic");
    assert_eq!(commit(&mut c, 9, "u", 0, 5, None), 0);

    // Fetch v0 by hand: group, topics of partitions.
    let body = Raw::default()
        .str(GROUP)
        .i32(1)
        .str("t")
        .i32(3)
        .i32(0)
        .i32(1)
        .i32(-1);
    let out = c.conns[0]
        .on_data(&c.broker, raw_request(ApiKey::OffsetFetch, 0, 9, &body.0))
        .unwrap();
    let mut r = Read(frames(&out.write).remove(0));
    assert_eq!((r.i32(), r.i32(), r.str(), r.i32()), (9, 1, "t".into(), 3));
    assert_eq!(
        (r.i32(), r.i64(), r.str(), r.i16()),
        (0, 11, "legacy".into(), 0)
    );
    assert_eq!(
        (r.i32(), r.i64(), r.str(), r.i16()),
        (1, 109, "meta".into(), 0)
    );
    assert_eq!((r.i32(), r.i64(), r.str(), r.i16()), (-1, -1, "".into(), 0));
    r.done();

    for v in 1..=7 {
        let r: OffsetFetchResponse = c.call(
            0,
            ApiKey::OffsetFetch,
            v,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(s(GROUP)))
                .with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(TopicName(s("t")))
                        .with_partition_indexes(vec![1, 0]),
                ])),
        );
        let p = &r.topics[0].partitions;
        assert_eq!(
            (p[0].partition_index, p[0].committed_offset),
            (1, 109),
            "v{v}"
        );
        assert_eq!(p[0].metadata.as_deref(), Some("meta"));
        assert_eq!(p[0].committed_leader_epoch, if v >= 5 { 3 } else { -1 });
        assert_eq!(
            (p[1].committed_offset, p[1].metadata.as_deref()),
            (11, Some("legacy"))
        );
        if v >= 2 {
            // Null topics: everything the group committed.
            let all: OffsetFetchResponse = c.call(
                0,
                ApiKey::OffsetFetch,
                v,
                &OffsetFetchRequest::default()
                    .with_group_id(GroupId(s(GROUP)))
                    .with_topics(None),
            );
            let names: Vec<_> = all
                .topics
                .iter()
                .map(|t| (t.name.as_str(), t.partitions.len()))
                .collect();
            assert_eq!(names, [("t", 2), ("u", 1)]);
        }
    }
    for v in 8..=9 {
        let r: OffsetFetchResponse = c.call(
            0,
            ApiKey::OffsetFetch,
            v,
            &OffsetFetchRequest::default()
                .with_require_stable(true)
                .with_groups(vec![
                    OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s(GROUP)))
                        .with_topics(Some(vec![
                            OffsetFetchRequestTopics::default()
                                .with_name(TopicName(s("u")))
                                .with_partition_indexes(vec![0]),
                        ])),
                    OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s("other")))
                        .with_topics(None),
                    OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s("")))
                        .with_topics(None),
                ]),
        );
        assert_eq!(r.groups.len(), 3);
        let u = &r.groups[0].topics[0].partitions[0];
        assert_eq!((u.committed_offset, u.metadata.as_deref()), (5, Some("")));
        assert_eq!((r.groups[1].error_code, r.groups[1].topics.len()), (0, 0));
        assert_eq!(r.groups[2].error_code, 24, "invalid group id");
    }
}

#[test]
fn groups_are_listed_described_and_deleted() {
    let mut c = Cluster::new(2);
    let a = join(&mut c, 0, "", &["t"], 7).unwrap_or_else(|_| panic!("parked"));
    assert_eq!(
        commit(&mut c, 8, "t", 0, 1, None),
        25,
        "only members commit while there are any"
    );

    for v in 0..=5 {
        let r: ListGroupsResponse = c.call(1, ApiKey::ListGroups, v, &ListGroupsRequest::default());
        let groups: Vec<_> = r
            .groups
            .iter()
            .map(|g| (g.group_id.as_str(), g.protocol_type.as_str()))
            .collect();
        assert_eq!(groups, [(GROUP, "consumer")], "v{v}");
        if v >= 4 {
            assert_eq!(r.groups[0].group_state.as_str(), "CompletingRebalance");
        }
    }
    let filtered = |c: &mut Cluster, states: &[&str], types: &[&str]| {
        let r: ListGroupsResponse = c.call(
            1,
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default()
                .with_states_filter(states.iter().map(|x| s(x)).collect())
                .with_types_filter(types.iter().map(|x| s(x)).collect()),
        );
        r.groups.len()
    };
    assert_eq!(filtered(&mut c, &["completingrebalance"], &[]), 1);
    assert_eq!(filtered(&mut c, &["Stable", "Empty"], &[]), 0);
    assert_eq!(filtered(&mut c, &[], &["Classic"]), 1);
    assert_eq!(filtered(&mut c, &[], &["consumer"]), 0);

    for v in 0..=6 {
        let d = describe(&mut c, 1, v);
        assert_eq!((d.error_code, d.members.len()), (0, 1), "v{v}");
        assert_eq!(&d.members[0].member_metadata[..], &subscription(&["t"])[..]);
    }
    let del = |c: &mut Cluster, v: i16| {
        let r: DeleteGroupsResponse = c.call(
            1,
            ApiKey::DeleteGroups,
            v,
            &DeleteGroupsRequest::default()
                .with_groups_names(vec![GroupId(s(GROUP)), GroupId(s("none"))]),
        );
        r.results.iter().map(|g| g.error_code).collect::<Vec<_>>()
    };
    assert_eq!(del(&mut c, 0), [68, 69]);
    assert_eq!(leave(&mut c, 1, &[&a.member_id], 0).error_code, 0);
    assert_eq!(
        commit(&mut c, 8, "t", 0, 1, None),
        0,
        "an empty group takes outside commits"
    );
    assert_eq!(del(&mut c, 2), [0, 69]);
    let gone = describe(&mut c, 1, 5);
    assert_eq!((gone.error_code, gone.group_state.as_str()), (0, "Dead"));
    let gone = describe(&mut c, 1, 6);
    assert_eq!(gone.error_code, 69);
    assert!(gone.error_message.is_some());
    let r: ListGroupsResponse = c.call(1, ApiKey::ListGroups, 3, &ListGroupsRequest::default());
    assert!(r.groups.is_empty());
}

fn offset_delete(c: &mut Cluster, conn: usize, topics: &[(&str, &[i32])]) -> OffsetDeleteResponse {
    c.call(
        conn,
        ApiKey::OffsetDelete,
        0,
        &OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_topics(
                topics
                    .iter()
                    .map(|(t, ps)| {
                        OffsetDeleteRequestTopic::default()
                            .with_name(TopicName(s(t)))
                            .with_partitions(
                                ps.iter()
                                    .map(|p| {
                                        OffsetDeleteRequestPartition::default()
                                            .with_partition_index(*p)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
    )
}

#[test]
fn offset_delete_keeps_offsets_of_subscribed_topics() {
    let mut c = Cluster::new(2);
    let none = offset_delete(&mut c, 1, &[("t", &[0])]);
    assert_eq!(none.error_code, 69, "no such group");
    assert_eq!(commit(&mut c, 9, "t", 0, 4, None), 0);
    assert_eq!(commit(&mut c, 9, "u", 0, 4, None), 0);
    let a = join(&mut c, 0, "", &["t"], 9).unwrap_or_else(|_| panic!("parked"));
    let sync: SyncGroupResponse = c.call(
        0,
        ApiKey::SyncGroup,
        5,
        &sync_request(&a.member_id, a.generation_id, &[(&a.member_id, b"x")], 5),
    );
    assert_eq!(sync.error_code, 0);

    let r = offset_delete(&mut c, 1, &[("t", &[0]), ("u", &[0])]);
    assert_eq!(r.error_code, 0);
    let codes: Vec<_> = r
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions[0].error_code))
        .collect();
    assert_eq!(codes, [("t", 86), ("u", 0)]);
    let left: Vec<_> = c
        .broker
        .fetch_offsets(GROUP, None)
        .unwrap()
        .into_iter()
        .map(|o| o.topic)
        .collect();
    assert_eq!(left, ["t"]);

    assert_eq!(leave(&mut c, 1, &[&a.member_id], 5).error_code, 0);
    let r = offset_delete(&mut c, 1, &[("t", &[0])]);
    assert_eq!(
        r.topics[0].partitions[0].error_code, 0,
        "an empty group's offsets go"
    );
    assert!(c.broker.fetch_offsets(GROUP, None).unwrap().is_empty());
}

#[test]
fn a_member_that_stops_heartbeating_is_dropped() {
    let mut c = Cluster::new(1);
    let a = join(&mut c, 0, "", &["t"], 9).unwrap_or_else(|_| panic!("parked"));
    let (id, generation) = (a.member_id.to_string(), a.generation_id);
    let sync: SyncGroupResponse = c.call(
        0,
        ApiKey::SyncGroup,
        5,
        &sync_request(&id, generation, &[(&id, b"x")], 5),
    );
    assert_eq!(sync.error_code, 0);
    c.broker.groups().advance(8_000);
    assert_eq!(heartbeat(&mut c, 0, &id, generation, 4), 0);
    c.broker.groups().advance(8_000);
    assert_eq!(heartbeat(&mut c, 0, &id, generation, 4), 0);
    // Past its 10 s session without a heartbeat.
    c.broker.groups().advance(11_000);
    assert_eq!(heartbeat(&mut c, 0, &id, generation, 4), 25);
    // With no members and no offsets the group is gone.
    assert_eq!(describe(&mut c, 0, 5).group_state.as_str(), "Dead");
}
