//! ApiVersions: tells the client which APIs and versions this codec serves (`versions`).
//!
//! The response header is always v0, even for v3 (kafka-protocol knows this: its
//! `ApiVersionsResponse::header_version` is 0), and the v3 tagged fields (supported and
//! finalized features, ZK migration) are left at their defaults, which kafka-protocol omits
//! just as Apache Kafka does: librdkafka 2.0.2 (Debian's kcat) misreads a response that
//! carries them empty.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use sluice_sdk::codec::CodecError;

use crate::dispatch::{Reply, Request};
use crate::errors::{NONE, UNSUPPORTED_VERSION};
use crate::frame;
use crate::versions::ADVERTISED;

/// The version every client can read, used to answer a version we do not serve (KIP-511).
const FALLBACK_VERSION: i16 = 0;

/// Answers an ApiVersions request of a served version. Its body (v3: the client's software
/// name and version) is informational and not needed.
pub fn handle(req: &Request) -> Result<Reply, CodecError> {
    req.respond(&response(NONE))
}

/// Answers an ApiVersions request newer than we serve: error UNSUPPORTED_VERSION with our
/// list, in v0 format, so the client retries with a version from that list.
pub fn unsupported(correlation_id: i32) -> Result<Reply, CodecError> {
    frame::response(
        correlation_id,
        ApiKey::ApiVersions,
        FALLBACK_VERSION,
        &response(UNSUPPORTED_VERSION),
    )
    .map(Reply::Frame)
}

fn response(error_code: i16) -> ApiVersionsResponse {
    let api_keys = ADVERTISED
        .iter()
        .map(|a| {
            ApiVersion::default()
                .with_api_key(a.api as i16)
                .with_min_version(a.min)
                .with_max_version(a.max)
        })
        .collect();
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(api_keys)
}
