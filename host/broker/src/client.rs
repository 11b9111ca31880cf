//! The CLI's client of the admin API: one HTTP/1.1 request per connection, JSON both ways.
//!
//! The admin API answers errors as `{"error": "..."}` with a status; they come back as
//! [`ClientError::Refused`] so commands can print the broker's own words and exit with the
//! code for "refused" rather than "unreachable".
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// The admin API the CLI talks to unless told otherwise.
pub const ADMIN_URL_DEFAULT: &str = "http://127.0.0.1:8161";

/// Largest response the CLI reads: the longest listings are a few hundred KiB.
const RESPONSE_BYTES_MAX: usize = 64 << 20;

/// How long a request may take. Loading a plugin compiles it first, which for a component
/// with a whole language runtime inside (Python, JavaScript) takes tens of seconds on a
/// busy machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http://host:port`.
    #[error("bad --url `{0}`: expected http://HOST:PORT")]
    BadUrl(String),
    /// Nothing answered, or the connection broke.
    #[error("cannot reach the broker's admin API at {url}: {reason}")]
    Unreachable {
        /// Where it tried.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The broker answered with an error status.
    #[error("{message} (HTTP {status})")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The broker's `error`, or the body.
        message: String,
    },
}

/// A client of one broker's admin API.
#[derive(Clone, Debug)]
pub struct AdminClient {
    /// `host:port`.
    authority: String,
    url: String,
}

impl AdminClient {
    /// A client of the admin API at `url` (`http://host:port`, a trailing `/` allowed).
    pub fn new(url: &str) -> Result<AdminClient, ClientError> {
        let authority = url
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
        Ok(AdminClient {
            authority: authority.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.request("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.request("POST", path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.request("PUT", path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.request("DELETE", path, None).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, body))
            .await
            .unwrap_or_else(|_| {
                Err(self.unreachable(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())))
            })
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let driver = tokio::spawn(connection);
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| self.unreachable(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), RESPONSE_BYTES_MAX)
            .collect()
            .await
            .map_err(|e| self.unreachable(e.to_string()))?
            .to_bytes();
        driver.abort();
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if status.is_success() {
            return Ok(value);
        }
        let message = match &value {
            Value::Object(map) => map
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string()),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        Err(ClientError::Refused {
            status: status.as_u16(),
            message,
        })
    }

    fn unreachable(&self, reason: String) -> ClientError {
        ClientError::Unreachable {
            url: self.url.clone(),
            reason,
        }
    }
}

/// `text` as one segment of a request path: every byte but letters, digits and `-._~`
/// percent-encoded, so names with `/`, spaces or `?` reach the broker whole (it decodes
/// them).
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
