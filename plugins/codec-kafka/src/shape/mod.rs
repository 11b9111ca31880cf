//! The shape guard: walks a request body field by field before anything decodes it.
//!
//! Place in the flow: `dispatch` calls [`check`] after the request header and before the body
//! reaches kafka-protocol (or a legacy decoder in `api/*`).
//!
//! Why: kafka-protocol's decoders trust every array count they read and reserve room for it up
//! front (`Vec::with_capacity(n)`), so a 20-byte frame announcing two billion topics would ask
//! for hundreds of gigabytes and abort the whole Wasm instance, with every connection it
//! serves. The walk below mirrors each schema, refuses any count above the bytes left, and
//! steps through every element, so whatever passes allocates in proportion to the frame. It
//! stops short of meaning: UTF-8, nulls where nulls are not allowed and tag validity are left
//! to the decoders, which report them as errors.

use kafka_protocol::messages::ApiKey;

use crate::wire::{Reader, WireError};

mod admin;
mod groups;

/// Bytes of a UUID.
const UUID_BYTES: usize = 16;

/// Most array elements (topics, partitions, broker ids, configs...) in one request. Decoded
/// elements take 10–20 times their wire size (a 6-byte empty topic becomes a ~100-byte
/// struct), and an instance's memory cap is shared by the connections it serves, so a frame
/// within `frame-bytes-max` could still exhaust it. Real clients stay far below: one element
/// per partition a broker leads, plus a few per topic.
pub const REQUEST_ELEMENTS_MAX: usize = 100_000;

/// Checks that `body` (the request after its header) has the shape of `api` at `version`.
/// Trailing bytes are allowed, as kafka-protocol ignores them.
pub fn check(api: ApiKey, version: i16, body: &[u8]) -> Result<(), WireError> {
    walk_body(api, version, body).map(|_| ())
}

/// Walks `body` as `api` at `version`: the bytes left after its last field (the tests want
/// them to be none).
fn walk_body(api: ApiKey, version: i16, body: &[u8]) -> Result<usize, WireError> {
    // Flexible versions are exactly those with request header v2.
    let flexible = api.request_header_version(version) >= 2;
    let mut w = Walk {
        r: Reader::new(body),
        flexible,
        elements: 0,
    };
    let step = match api {
        ApiKey::ApiVersions => api_versions(&mut w, version),
        ApiKey::Metadata => metadata(&mut w, version),
        ApiKey::Produce => produce(&mut w, version),
        ApiKey::Fetch => fetch(&mut w, version),
        ApiKey::ListOffsets => list_offsets(&mut w, version),
        ApiKey::CreateTopics => create_topics(&mut w, version),
        ApiKey::DeleteTopics => delete_topics(&mut w, version),
        api if groups::APIS.contains(&api) => groups::walk(api, &mut w, version)
            .unwrap_or(Err(WireError("no request schema for this API"))),
        api if admin::APIS.contains(&api) => admin::walk(api, &mut w, version)
            .unwrap_or(Err(WireError("no request schema for this API"))),
        _ => Err(WireError("no request schema for this API")),
    };
    step.map(|()| w.r.remaining())
}

/// A reader that knows whether the version is flexible (compact lengths, tagged fields).
struct Walk<'a> {
    r: Reader<'a>,
    flexible: bool,
    /// Array elements seen so far, against [`REQUEST_ELEMENTS_MAX`].
    elements: usize,
}

type Step = Result<(), WireError>;

impl Walk<'_> {
    fn skip(&mut self, n: usize) -> Step {
        self.r.take(n).map(|_| ())
    }

    fn bool(&mut self) -> Step {
        self.skip(1)
    }
    fn i8(&mut self) -> Step {
        self.skip(1)
    }
    fn i16(&mut self) -> Step {
        self.skip(2)
    }
    fn i32(&mut self) -> Step {
        self.skip(4)
    }
    fn i64(&mut self) -> Step {
        self.skip(8)
    }
    fn uuid(&mut self) -> Step {
        self.skip(UUID_BYTES)
    }

    /// A string, nullable or not.
    fn string(&mut self) -> Step {
        let len = self.r.string_len(self.flexible)?;
        self.skip(len.unwrap_or(0))
    }

    /// Bytes (records), nullable or not.
    fn bytes(&mut self) -> Step {
        let len = self.r.bytes_len(self.flexible)?;
        self.skip(len.unwrap_or(0))
    }

    /// An array, nullable or not, each element walked by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Step) -> Step {
        let count = self.r.array_len(self.flexible)?.unwrap_or(0);
        self.elements = self.elements.saturating_add(count);
        if self.elements > REQUEST_ELEMENTS_MAX {
            return Err(WireError("more array elements than one request may hold"));
        }
        (0..count).try_for_each(|_| element(self))
    }

    fn i32_array(&mut self) -> Step {
        self.array(|w| w.i32())
    }

    fn string_array(&mut self) -> Step {
        self.array(|w| w.string())
    }

    /// A structure: its fields walked by `fields`, then its tagged-field section. Nearly every
    /// array element of every schema has this form.
    fn tagged(&mut self, fields: impl FnOnce(&mut Self) -> Step) -> Step {
        fields(self)?;
        self.tags()
    }

    /// An array of tagged structures, each walked by `fields`.
    fn tagged_array(&mut self, mut fields: impl FnMut(&mut Self) -> Step) -> Step {
        self.array(|w| w.tagged(&mut fields))
    }

    /// The topic list most partition-level requests share: an array of (topic name, array of
    /// partitions), each partition's fields walked by `partition`, both levels tagged.
    fn topics(&mut self, mut partition: impl FnMut(&mut Self) -> Step) -> Step {
        self.tagged_array(|w| {
            w.string()?; // name
            w.tagged_array(&mut partition)
        })
    }

    /// The tagged-field section of a flexible version: every field skipped by its size.
    fn tags(&mut self) -> Step {
        self.tags_checked(|_, _| Ok(()))
    }

    /// Tagged fields, each also passed to `check` as (tag, value bytes). Used where
    /// kafka-protocol decodes a known tag by its content rather than its declared size, so
    /// the two must agree.
    fn tags_checked(&mut self, check: impl Fn(u32, &[u8]) -> Step) -> Step {
        if !self.flexible {
            return Ok(());
        }
        let count = self.r.uvarint()?;
        for _ in 0..count {
            let tag = self.r.uvarint()?;
            let size = usize::try_from(self.r.uvarint()?).map_err(|_| WireError("tag size"))?;
            check(tag, self.r.take(size)?)?;
        }
        Ok(())
    }
}

fn api_versions(w: &mut Walk<'_>, v: i16) -> Step {
    if v >= 3 {
        w.string()?; // client_software_name
        w.string()?; // client_software_version
    }
    w.tags()
}

fn metadata(w: &mut Walk<'_>, v: i16) -> Step {
    w.tagged_array(|w| {
        if v >= 10 {
            w.uuid()?; // topic_id
        }
        w.string() // name
    })?;
    if v >= 4 {
        w.bool()?; // allow_auto_topic_creation
    }
    if (8..=10).contains(&v) {
        w.bool()?; // include_cluster_authorized_operations
    }
    if v >= 8 {
        w.bool()?; // include_topic_authorized_operations
    }
    w.tags()
}

fn produce(w: &mut Walk<'_>, v: i16) -> Step {
    if v >= 3 {
        w.string()?; // transactional_id
    }
    w.i16()?; // acks
    w.i32()?; // timeout_ms
    w.topics(|w| {
        w.i32()?; // index
        w.bytes() // records
    })?;
    w.tags()
}

fn fetch(w: &mut Walk<'_>, v: i16) -> Step {
    w.i32()?; // replica_id
    w.i32()?; // max_wait_ms
    w.i32()?; // min_bytes
    if v >= 3 {
        w.i32()?; // max_bytes
    }
    if v >= 4 {
        w.i8()?; // isolation_level
    }
    if v >= 7 {
        w.i32()?; // session_id
        w.i32()?; // session_epoch
    }
    w.topics(|w| {
        w.i32()?; // partition
        if v >= 9 {
            w.i32()?; // current_leader_epoch
        }
        w.i64()?; // fetch_offset
        if v >= 12 {
            w.i32()?; // last_fetched_epoch
        }
        if v >= 5 {
            w.i64()?; // log_start_offset
        }
        w.i32() // partition_max_bytes
    })?;
    if v >= 7 {
        w.tagged_array(|w| {
            w.string()?; // topic
            w.i32_array() // partitions
        })?;
    }
    if v >= 11 {
        w.string()?; // rack_id
    }
    // Tag 0 (cluster_id) is decoded by its content: its declared size must hold exactly one
    // compact nullable string.
    w.tags_checked(|tag, value| {
        if tag != 0 {
            return Ok(());
        }
        let mut r = Reader::new(value);
        let len = r.string_len(true)?.unwrap_or(0);
        r.take(len)?;
        match r.remaining() {
            0 => Ok(()),
            _ => Err(WireError("cluster_id tag size disagrees with its content")),
        }
    })
}

fn list_offsets(w: &mut Walk<'_>, v: i16) -> Step {
    w.i32()?; // replica_id
    if v >= 2 {
        w.i8()?; // isolation_level
    }
    w.topics(|w| {
        w.i32()?; // partition_index
        if v >= 4 {
            w.i32()?; // current_leader_epoch
        }
        w.i64()?; // timestamp
        if v == 0 {
            w.i32()?; // max_num_offsets
        }
        Ok(())
    })?;
    w.tags()
}

fn create_topics(w: &mut Walk<'_>, v: i16) -> Step {
    w.tagged_array(|w| {
        w.string()?; // name
        w.i32()?; // num_partitions
        w.i16()?; // replication_factor
        w.tagged_array(|w| {
            w.i32()?; // partition_index
            w.i32_array() // broker_ids
        })?;
        w.tagged_array(|w| {
            w.string()?; // config name
            w.string() // config value
        })
    })?;
    w.i32()?; // timeout_ms
    if v >= 1 {
        w.bool()?; // validate_only
    }
    w.tags()
}

fn delete_topics(w: &mut Walk<'_>, v: i16) -> Step {
    if v >= 6 {
        w.tagged_array(|w| {
            w.string()?; // name
            w.uuid() // topic_id
        })?;
    } else {
        w.string_array()?; // topic_names
    }
    w.i32()?; // timeout_ms
    w.tags()
}

#[cfg(test)]
pub(super) mod tests {
    //! Each schema above is checked against kafka-protocol's own encoder: a populated request
    //! of every version kafka-protocol knows must walk to its last byte.
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use kafka_protocol::messages::create_topics_request::{
        CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
    };
    use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;
    use crate::versions::ADVERTISED;

    /// Unknown tagged fields for a request of `api` at `v`: some where the version is flexible.
    pub(super) fn tagged(api: ApiKey, v: i16) -> BTreeMap<i32, Bytes> {
        if api.request_header_version(v) >= 2 {
            BTreeMap::from([(77, Bytes::from_static(b"xyz"))])
        } else {
            BTreeMap::new()
        }
    }

    pub(super) fn s(text: &'static str) -> StrBytes {
        StrBytes::from_static_str(text)
    }

    pub(super) fn name(text: &'static str) -> TopicName {
        TopicName(s(text))
    }

    /// Asserts that `body` walks as `api` at `v` to its last byte, and that every strict prefix
    /// falls short somewhere (tags aside, nothing is optional).
    pub(super) fn assert_walks_whole(api: ApiKey, v: i16, body: &[u8]) {
        let left = walk_body(api, v, body).unwrap_or_else(|e| panic!("{api:?} v{v}: {e}"));
        assert_eq!(left, 0, "{api:?} v{v} left bytes");
        for cut in 0..body.len() {
            assert!(
                check(api, v, &body[..cut]).is_err(),
                "{api:?} v{v} cut at {cut}"
            );
        }
    }

    fn populated(api: ApiKey, v: i16) -> Vec<u8> {
        let mut out = Vec::new();
        let flexible = api.request_header_version(v) >= 2;
        let tags = tagged(api, v);
        let result = match api {
            ApiKey::ApiVersions => ApiVersionsRequest::default()
                .with_client_software_name(if v >= 3 {
                    "sluice-test".into()
                } else {
                    StrBytes::new()
                })
                .with_client_software_version(if v >= 3 {
                    "1.0".into()
                } else {
                    StrBytes::new()
                })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::Metadata => MetadataRequest::default()
                .with_topics(Some(vec![
                    MetadataRequestTopic::default()
                        .with_name(Some(name("a")))
                        .with_unknown_tagged_fields(tags.clone()),
                    MetadataRequestTopic::default().with_name(Some(name("bb"))),
                ]))
                .with_allow_auto_topic_creation(true)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::Produce => ProduceRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
                .with_acks(-1)
                .with_timeout_ms(1000)
                .with_topic_data(vec![
                    TopicProduceData::default()
                        .with_name(name("t"))
                        .with_partition_data(vec![
                            PartitionProduceData::default()
                                .with_index(0)
                                .with_records(Some(Bytes::from_static(&[1, 2, 3])))
                                .with_unknown_tagged_fields(tags.clone()),
                            PartitionProduceData::default()
                                .with_index(1)
                                .with_records(None),
                        ]),
                ])
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::Fetch => FetchRequest::default()
                .with_cluster_id(if flexible {
                    Some("cluster".into())
                } else {
                    None
                })
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_session_id(if v >= 7 { 5 } else { 0 })
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(name("t"))
                        .with_partitions(vec![
                            FetchPartition::default()
                                .with_partition(2)
                                .with_fetch_offset(9)
                                .with_partition_max_bytes(100)
                                .with_unknown_tagged_fields(tags.clone()),
                        ]),
                ])
                .with_forgotten_topics_data(if v >= 7 {
                    vec![
                        ForgottenTopic::default()
                            .with_topic(name("old"))
                            .with_partitions(vec![1, 2]),
                    ]
                } else {
                    vec![]
                })
                .with_rack_id(if v >= 11 {
                    "rack".into()
                } else {
                    StrBytes::new()
                })
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::ListOffsets => ListOffsetsRequest::default()
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            ListOffsetsPartition::default()
                                .with_partition_index(0)
                                .with_timestamp(-1),
                            ListOffsetsPartition::default()
                                .with_partition_index(1)
                                .with_timestamp(-2)
                                .with_unknown_tagged_fields(tags.clone()),
                        ]),
                ])
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::CreateTopics => CreateTopicsRequest::default()
                .with_topics(vec![
                    CreatableTopic::default()
                        .with_name(name("new"))
                        .with_num_partitions(-1)
                        .with_replication_factor(-1)
                        .with_assignments(vec![
                            CreatableReplicaAssignment::default()
                                .with_partition_index(0)
                                .with_broker_ids(vec![BrokerId(1)]),
                        ])
                        .with_configs(vec![
                            CreatableTopicConfig::default()
                                .with_name("retention.ms".into())
                                .with_value(Some("1000".into())),
                            CreatableTopicConfig::default()
                                .with_name("x".into())
                                .with_value(None),
                        ])
                        .with_unknown_tagged_fields(tags.clone()),
                ])
                .with_timeout_ms(1000)
                .with_validate_only(true)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            ApiKey::DeleteTopics => DeleteTopicsRequest::default()
                .with_topics(if v >= 6 {
                    vec![
                        DeleteTopicState::default().with_name(Some(name("gone"))),
                        DeleteTopicState::default().with_name(None),
                    ]
                } else {
                    vec![]
                })
                .with_topic_names(if v < 6 {
                    vec![name("gone"), name("also")]
                } else {
                    vec![]
                })
                .with_timeout_ms(1000)
                .with_unknown_tagged_fields(tags)
                .encode(&mut out, v),
            api if groups::APIS.contains(&api) => return groups::tests::populated(api, v),
            api if admin::APIS.contains(&api) => return admin::tests::populated(api, v),
            other => panic!("no test request for {other:?}"),
        };
        result.unwrap_or_else(|e| panic!("encoding {api:?} v{v}: {e}"));
        out
    }

    #[test]
    fn every_version_kafka_protocol_encodes_walks_to_its_last_byte() {
        for a in ADVERTISED {
            let floor = a.api.valid_versions().min.max(a.min);
            for v in floor..=a.max {
                assert_walks_whole(a.api, v, &populated(a.api, v));
            }
        }
    }

    #[test]
    fn huge_array_count_is_refused_without_allocating() {
        // Produce v3: null transactional id, acks, timeout, then 2^31-1 topics in 4 bytes.
        let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0x03, 0xe8];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        body.extend_from_slice(&[0; 32]);
        assert_eq!(
            check(ApiKey::Produce, 3, &body),
            Err(WireError("array count exceeds the bytes left"))
        );
        // Metadata v9 (compact): u32::MAX - 1 topics.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0];
        assert!(check(ApiKey::Metadata, 9, &body).is_err());
    }

    #[test]
    fn too_many_elements_in_one_request_are_refused() {
        // DeleteTopics v1: REQUEST_ELEMENTS_MAX + 1 empty names, each a whole 2 bytes.
        let n = REQUEST_ELEMENTS_MAX + 1;
        let mut body = (n as i32).to_be_bytes().to_vec();
        body.extend(std::iter::repeat_n([0u8, 0], n).flatten());
        body.extend([0, 0, 0, 0]);
        assert_eq!(
            check(ApiKey::DeleteTopics, 1, &body),
            Err(WireError("more array elements than one request may hold"))
        );
        let mut body = ((n - 1) as i32).to_be_bytes().to_vec();
        body.extend(std::iter::repeat_n([0u8, 0], n - 1).flatten());
        body.extend([0, 0, 0, 0]);
        assert_eq!(check(ApiKey::DeleteTopics, 1, &body), Ok(()));
    }

    #[test]
    fn mismatched_cluster_id_tag_is_refused() {
        // Fetch v12 with no topics, then a cluster_id tag whose size (3) disagrees with its
        // compact string (length 5).
        let mut body = Vec::new();
        body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]); // replica_id
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]); // wait, min, max, iso
        body.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]); // session id, epoch
        body.extend_from_slice(&[1, 1, 1]); // topics, forgotten, rack "" (compact)
        body.extend_from_slice(&[1, 0, 3, 6, b'a', b'b']); // 1 tag: tag 0, size 3
        assert!(check(ApiKey::Fetch, 12, &body).is_err());
    }
}
