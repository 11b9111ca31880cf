use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest};
use kafka_protocol::protocol::StrBytes;
use sluice_codec_kafka::KafkaCodec;
use sluice_sdk::codec::Codec;

use crate::client::{Client, decode, frames, raw_request, request};

/// (api key, min, max) exactly as advertised.
const EXPECTED: [(i16, i16, i16); 26] = [
    (0, 0, 9),
    (1, 0, 12),
    (2, 0, 7),
    (3, 0, 12),
    // Groups.
    (8, 0, 9),
    (9, 0, 9),
    (10, 0, 5),
    (11, 0, 9),
    (12, 0, 4),
    (13, 0, 5),
    (14, 0, 5),
    (15, 0, 6),
    (16, 0, 5),
    (18, 0, 3),
    (19, 0, 7),
    (20, 0, 6),
    // Admin and idempotent producers: DeleteRecords, InitProducerId, OffsetForLeaderEpoch,
    // DescribeConfigs, AlterConfigs, CreatePartitions.
    (21, 0, 2),
    (22, 0, 5),
    (23, 0, 4),
    (32, 0, 4),
    (33, 0, 2),
    (37, 0, 3),
    (42, 0, 2),
    // IncrementalAlterConfigs.
    (44, 0, 1),
    (47, 0, 0),
    // DescribeCluster.
    (60, 0, 2),
];

fn ranges(resp: &ApiVersionsResponse) -> Vec<(i16, i16, i16)> {
    resp.api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect()
}

#[test]
fn api_versions_v0_to_v3_list_exactly_the_implemented_apis() {
    let mut c = Client::new();
    for v in 0..=3 {
        let req = if v >= 3 {
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("kcat"))
                .with_client_software_version(StrBytes::from_static_str("1.7.1"))
        } else {
            ApiVersionsRequest::default()
        };
        let resp: ApiVersionsResponse = c.call(ApiKey::ApiVersions, v, &req);
        assert_eq!(resp.error_code, 0);
        assert_eq!(ranges(&resp), EXPECTED, "v{v}");
    }
}

#[test]
fn api_versions_above_v3_is_answered_in_v0_format_with_unsupported_version() {
    let mut c = Client::new();
    for v in [4, 9, i16::MAX] {
        // The body of a future version may be anything; it is not read.
        let out = c
            .send(raw_request(ApiKey::ApiVersions, v, 7, &[0xde, 0xad]))
            .unwrap();
        let frames = frames(&out.write);
        assert_eq!(frames.len(), 1);
        let (cid, resp): (i32, ApiVersionsResponse) = decode(&frames[0], ApiKey::ApiVersions, 0);
        assert_eq!(cid, 7);
        assert_eq!(resp.error_code, 35);
        assert_eq!(ranges(&resp), EXPECTED);
    }
}

#[test]
fn api_versions_v3_response_has_header_v0_and_no_default_tagged_fields() {
    let mut c = Client::new();
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("librdkafka"))
        .with_client_software_version(StrBytes::from_static_str("2.0.2"));
    let out = c
        .send(request(ApiKey::ApiVersions, 3, 0x0102_0304, &req))
        .unwrap();

    let mut payload = vec![1, 2, 3, 4]; // correlation id; header v0: no tagged fields
    payload.extend([0, 0]); // error_code
    payload.push(EXPECTED.len() as u8 + 1); // compact array length
    for (key, min, max) in EXPECTED {
        payload.extend(key.to_be_bytes());
        payload.extend(min.to_be_bytes());
        payload.extend(max.to_be_bytes());
        payload.push(0); // no tagged fields in the entry
    }
    payload.extend([0, 0, 0, 0]); // throttle_time_ms
    // No SupportedFeatures, FinalizedFeaturesEpoch, FinalizedFeatures, ZkMigrationReady:
    // the tagged-field count is 0, as Apache Kafka writes it when they are default.
    payload.push(0);
    let mut expected = (payload.len() as i32).to_be_bytes().to_vec();
    expected.extend(&payload);
    assert_eq!(out.write, expected);
    assert_eq!(&out.write[out.write.len() - 5..], &[0, 0, 0, 0, 0]);
}

#[test]
fn unsupported_version_of_another_api_closes_the_connection() {
    let mut c = Client::new();
    let err = c
        .send(request(
            ApiKey::Metadata,
            13,
            1,
            &MetadataRequest::default(),
        ))
        .unwrap_err();
    assert!(
        err.reason
            .contains("unsupported version 13 of API Metadata"),
        "{}",
        err.reason
    );
}

#[test]
fn unknown_or_unimplemented_api_key_closes_the_connection() {
    let mut c = Client::new();
    let err = c
        .send(
            raw_request(ApiKey::Metadata, 0, 1, &[])
                .iter()
                .enumerate()
                .map(|(i, b)| if i == 5 { 0x7f } else { *b })
                .collect(),
        )
        .unwrap_err();
    assert!(err.reason.contains("unknown API key"), "{}", err.reason);

    let mut c = Client::new();
    let err = c
        .send(raw_request(
            ApiKey::ElectLeaders,
            0,
            1,
            &[0xff, 0xff, 0xff, 0xff],
        ))
        .unwrap_err();
    assert!(
        err.reason.contains("unsupported API ElectLeaders"),
        "{}",
        err.reason
    );
}

#[test]
fn codec_info_names_the_plugin_and_its_version() {
    let info = KafkaCodec::info();
    assert_eq!(info.name, "codec-kafka");
    let base = env!("CARGO_PKG_VERSION");
    match option_env!("SLUICE_BUILD_TAG") {
        Some(tag) if !tag.is_empty() => assert_eq!(info.version, format!("{base}+{tag}")),
        _ => assert_eq!(info.version, base),
    }
}
