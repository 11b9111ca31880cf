//! One Kafka connection: requests answered in order, by correlation id.
//!
//! Sluice is a single node: the connection to the bootstrap address is the leader of every
//! partition and the coordinator of every group, so a load run needs no other.
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ResponseHeader;
use kafka_protocol::protocol::{Decodable, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{FRAME_BYTES_MAX, encode_request};
use crate::error::LoadError;

/// How long a TCP connect may take before the broker is called unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a response may take: a produce waits for its fsync, a fetch for its
/// `max_wait_ms` (at most a second here), both far under this.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection and its next correlation id.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet taken as a frame: kept here, not in a future, so that a read
    /// dropped half way (a `select!` that took another branch) loses nothing.
    input: BytesMut,
    next_correlation_id: i32,
}

impl Connection {
    /// Connects to `address` (`host:port`); [`LoadError::Unreachable`] when that fails.
    pub async fn connect(address: &str) -> Result<Connection, LoadError> {
        let unreachable = |source| LoadError::Unreachable {
            address: address.to_owned(),
            source,
        };
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(unreachable(e)),
            Err(_) => return Err(unreachable(std::io::ErrorKind::TimedOut.into())),
        };
        stream.set_nodelay(true).map_err(anyhow::Error::from)?;
        Ok(Connection {
            stream,
            input: BytesMut::with_capacity(64 * 1024),
            next_correlation_id: 0,
        })
    }

    /// Writes `request` at `version` without waiting; returns its correlation id.
    pub async fn send<R: Request>(&mut self, version: i16, request: &R) -> anyhow::Result<i32> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let api = kafka_protocol::messages::ApiKey::try_from(R::KEY)
            .map_err(|_| anyhow::anyhow!("unknown api key {}", R::KEY))?;
        let frame = encode_request(api, version, correlation_id, request)?;
        self.stream.write_all(&frame).await?;
        Ok(correlation_id)
    }

    /// The next whole response frame, without its size. Cancel-safe.
    async fn frame(&mut self) -> anyhow::Result<Bytes> {
        loop {
            if let Some(size) = self
                .input
                .first_chunk::<4>()
                .map(|b| u32::from_be_bytes(*b))
            {
                let size = size as usize;
                if size > FRAME_BYTES_MAX {
                    bail!("a response of {size} bytes, over {FRAME_BYTES_MAX}");
                }
                if self.input.len() >= 4 + size {
                    let mut frame = self.input.split_to(4 + size);
                    let _ = frame.split_to(4);
                    return Ok(frame.freeze());
                }
                self.input.reserve(4 + size - self.input.len());
            }
            if self.stream.read_buf(&mut self.input).await? == 0 {
                bail!("the broker closed the connection");
            }
        }
    }

    /// Reads the response to the request sent as `correlation_id` at `version`: responses
    /// come in the order requests went, so it must be the oldest unanswered one.
    /// Cancel-safe: dropped before the response is whole, nothing read is lost.
    pub async fn receive<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> anyhow::Result<R::Response> {
        let mut frame = tokio::time::timeout(RESPONSE_TIMEOUT, self.frame())
            .await
            .context("no answer from the broker")??;
        let api = kafka_protocol::messages::ApiKey::try_from(R::KEY)
            .map_err(|_| anyhow::anyhow!("unknown api key {}", R::KEY))?;
        let header = ResponseHeader::decode(&mut frame, api.response_header_version(version))?;
        ensure!(
            header.correlation_id == correlation_id,
            "response {} arrived where {correlation_id} was due",
            header.correlation_id
        );
        R::Response::decode(&mut frame, version)
    }

    /// Sends `request` and waits for its response.
    pub async fn call<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> anyhow::Result<R::Response> {
        let id = self.send(version, request).await?;
        self.receive::<R>(version, id).await
    }
}
