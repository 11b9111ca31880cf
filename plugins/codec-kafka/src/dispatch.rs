//! From one request frame to one reply: header, API and version checks, routing.
//!
//! Place in the flow: `frame` hands each whole request to [`request`]; it reads the API key,
//! version and correlation id, refuses what `versions` does not advertise, decodes the request
//! header with kafka-protocol, lets `shape` vet the body, and calls the `api/*` handler. The
//! [`Reply`] goes to `pending`, which writes it in request order.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, StrBytes};
use sluice_sdk::codec::{Broker, CodecError};

use crate::api;
use crate::errors::refuse;
use crate::job::Job;
use crate::wire::Reader;
use crate::{Advertised, shape, versions};

/// What a request produced.
pub enum Reply {
    /// A response frame, ready to write once every earlier response is written.
    Frame(Vec<u8>),
    /// Nothing to send: a produce with `acks=0`.
    Silent,
    /// Close the connection after the earlier responses: a produce with `acks=0` failed, and
    /// closing is how Kafka tells such a producer.
    Close(String),
    /// A request whose answer may have to wait on the log (a fetch for data, a produce for
    /// durability); `pending` runs it in its turn and parks it if need be.
    Job(Job),
}

/// One decoded request header and the body after it.
pub struct Request {
    /// The API.
    pub api: ApiKey,
    /// The request's version of it, within the advertised range.
    pub version: i16,
    /// Echoed in the response so the client can match it.
    pub correlation_id: i32,
    /// The bytes after the request header, already vetted by `shape`.
    pub body: Bytes,
    /// The client's id from the request header (JoinGroup records it for DescribeGroups).
    pub client_id: Option<StrBytes>,
}

impl Request {
    /// Decodes the body with kafka-protocol at the request's own version.
    pub fn decode<M: Decodable>(&self) -> Result<M, CodecError> {
        self.decode_as(self.version)
    }

    /// Decodes the body as `version`, for an old version whose layout equals a newer one.
    pub fn decode_as<M: Decodable>(&self, version: i16) -> Result<M, CodecError> {
        M::decode(&mut self.body.clone(), version).map_err(|e| self.malformed(&e))
    }

    /// The error for a body that does not decode.
    pub fn malformed(&self, e: &dyn std::fmt::Display) -> CodecError {
        refuse(format!(
            "malformed {:?} v{} request: {e}",
            self.api, self.version
        ))
    }

    /// A response frame for this request.
    pub fn respond<M: kafka_protocol::protocol::Encodable>(
        &self,
        body: &M,
    ) -> Result<Reply, CodecError> {
        crate::frame::response(self.correlation_id, self.api, self.version, body).map(Reply::Frame)
    }
}

/// Handles one request frame (without its length prefix).
pub fn request<B: Broker>(
    frame: Bytes,
    listener: &Advertised,
    broker: &B,
) -> Result<Reply, CodecError> {
    // The first 8 bytes are the same in every request header version.
    let mut fixed = Reader::new(&frame);
    let (Ok(api_key), Ok(version), Ok(correlation_id)) = (fixed.i16(), fixed.i16(), fixed.i32())
    else {
        return Err(refuse(format!(
            "request of {} bytes is shorter than a request header",
            frame.len()
        )));
    };
    let api =
        ApiKey::try_from(api_key).map_err(|_| refuse(format!("unknown API key {api_key}")))?;
    let Some(range) = versions::advertised(api) else {
        return Err(refuse(format!("unsupported API {api:?} (key {api_key})")));
    };
    if api == ApiKey::ApiVersions && version > range.max {
        // KIP-511: a newer client learns our range from a v0 answer and retries; its request
        // body may be in a format we do not know, so it is not read.
        return api::api_versions::unsupported(correlation_id);
    }
    if version < range.min || version > range.max {
        return Err(refuse(format!(
            "unsupported version {version} of API {api:?} (supported: {}..={})",
            range.min, range.max
        )));
    }

    let mut body = frame;
    let header = RequestHeader::decode(&mut body, api.request_header_version(version))
        .map_err(|e| refuse(format!("malformed {api:?} v{version} request header: {e}")))?;
    shape::check(api, version, &body)
        .map_err(|e| refuse(format!("malformed {api:?} v{version} request: {e}")))?;

    let req = Request {
        api,
        version,
        correlation_id,
        body,
        client_id: header.client_id,
    };
    match api {
        ApiKey::ApiVersions => api::api_versions::handle(&req),
        ApiKey::Metadata => api::metadata::handle(&req, listener, broker),
        ApiKey::Produce => api::produce::handle(&req, broker),
        ApiKey::Fetch => api::fetch::handle(&req),
        ApiKey::ListOffsets => api::list_offsets::handle(&req, broker),
        ApiKey::CreateTopics => api::create_topics::handle(&req, broker),
        ApiKey::DeleteTopics => api::delete_topics::handle(&req, broker),
        ApiKey::FindCoordinator => api::find_coordinator::handle(&req, listener, broker),
        ApiKey::JoinGroup => api::join_group::handle(&req, listener, broker),
        ApiKey::SyncGroup => api::sync_group::handle(&req, broker),
        ApiKey::Heartbeat => api::heartbeat::handle(&req, broker),
        ApiKey::LeaveGroup => api::leave_group::handle(&req, broker),
        ApiKey::OffsetCommit => api::offset_commit::handle(&req, broker),
        ApiKey::OffsetFetch => api::offset_fetch::handle(&req, broker),
        ApiKey::ListGroups => api::list_groups::handle(&req, broker),
        ApiKey::DescribeGroups => api::describe_groups::handle(&req, broker),
        ApiKey::DeleteGroups => api::delete_groups::handle(&req, broker),
        ApiKey::OffsetDelete => api::offset_delete::handle(&req, broker),
        ApiKey::DeleteRecords => api::delete_records::handle(&req, broker),
        ApiKey::InitProducerId => api::init_producer_id::handle(&req, broker),
        ApiKey::OffsetForLeaderEpoch => api::offset_for_leader_epoch::handle(&req, broker),
        ApiKey::DescribeConfigs => api::describe_configs::handle(&req, broker),
        ApiKey::AlterConfigs => api::alter_configs::handle(&req, broker),
        ApiKey::CreatePartitions => api::create_partitions::handle(&req, broker),
        ApiKey::IncrementalAlterConfigs => api::incremental_alter_configs::handle(&req, broker),
        ApiKey::DescribeCluster => api::describe_cluster::handle(&req, listener, broker),
        other => Err(refuse(format!("unsupported API {other:?}"))),
    }
}
