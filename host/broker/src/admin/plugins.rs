//! Loading, swapping and unloading plugins while the broker runs.
//!
//! - `POST /api/plugins` loads one. A router or filter is added under its name, for address
//!   settings and queues to use. A codec gets a listener of its own, started on `address`.
//!   Body: `{"kind": "codec"|"router"|"filter", "name", "source", ...}` with, for routers and
//!   filters, optional `on-failure`, `call-deadline-ms`, `memory-bytes-max`, and for codecs
//!   `address` (required), optional `advertised`, `frame-bytes-max`, `connections-max`.
//!   201 and the plugin's status.
//! - `PUT /api/plugins/{kind}/{name}` swaps what serves it: body `{"source": ...}`, or no
//!   body to read its file again (as SIGHUP does). 200 and `{"swapped", "plugin"}`.
//! - `DELETE /api/plugins/{kind}/{name}` unloads it: a codec's listener stops and its
//!   connections close; a router or filter the configuration uses is refused; a file that
//!   replaced a built-in gives the name back to the built-in.
//!
//! A component that does not implement the world asked for, or implements another version of
//! it, is refused with 422 and a message naming what was expected and what was found.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Admin;
use crate::config::ListenerConfig;
use crate::plugins::{ControlError, Kind, OnFailure, PluginStatus, PolicyConfig, SwapRequest};

/// Largest request body the plugin endpoints read: a few paths and numbers.
const REQUEST_BYTES_MAX: usize = 64 * 1024;

/// The kinds the endpoints take, as paths and bodies spell them.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum PluginKind {
    Codec,
    Router,
    Filter,
}

impl PluginKind {
    fn parse(text: &str) -> Result<PluginKind, ApiError> {
        match text {
            "codec" => Ok(PluginKind::Codec),
            "router" => Ok(PluginKind::Router),
            "filter" => Ok(PluginKind::Filter),
            other => Err(ApiError::bad(format!(
                "unknown plugin kind `{other}`: codec, router or filter"
            ))),
        }
    }

    fn policy(self) -> Option<Kind> {
        match self {
            PluginKind::Codec => None,
            PluginKind::Router => Some(Kind::Router),
            PluginKind::Filter => Some(Kind::Filter),
        }
    }
}

/// `POST /api/plugins`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct LoadRequest {
    kind: PluginKind,
    name: String,
    source: String,
    on_failure: Option<OnFailure>,
    call_deadline_ms: Option<u64>,
    memory_bytes_max: Option<usize>,
    address: Option<String>,
    advertised: Option<String>,
    frame_bytes_max: Option<u32>,
    connections_max: Option<usize>,
}

impl LoadRequest {
    fn listener(&self) -> Result<ListenerConfig, ApiError> {
        if self.on_failure.is_some()
            || self.call_deadline_ms.is_some()
            || self.memory_bytes_max.is_some()
        {
            return Err(ApiError::bad(
                "on-failure, call-deadline-ms and memory-bytes-max apply to routers and \
                 filters; a codec's limits are the [plugins] table's"
                    .to_owned(),
            ));
        }
        let address = self.address.clone().ok_or_else(|| {
            ApiError::bad("a codec needs an `address` for its listener (host:port)".to_owned())
        })?;
        let defaults = crate::config::listener_defaults();
        Ok(ListenerConfig {
            address,
            codec: self.source.clone(),
            advertised: self.advertised.clone(),
            frame_bytes_max: self.frame_bytes_max.unwrap_or(defaults.frame_bytes_max),
            connections_max: self.connections_max.unwrap_or(defaults.connections_max),
        })
    }

    fn policy(&self, kind: Kind) -> Result<PolicyConfig, ApiError> {
        if self.address.is_some()
            || self.advertised.is_some()
            || self.frame_bytes_max.is_some()
            || self.connections_max.is_some()
        {
            return Err(ApiError::bad(
                "address, advertised, frame-bytes-max and connections-max apply to codecs"
                    .to_owned(),
            ));
        }
        Ok(PolicyConfig {
            name: self.name.clone(),
            kind,
            source: self.source.clone(),
            on_failure: self.on_failure,
            call_deadline_ms: self.call_deadline_ms,
            memory_bytes_max: self.memory_bytes_max,
        })
    }
}

pub(super) async fn load(State(admin): State<Admin>, body: Bytes) -> Result<Response, ApiError> {
    let request: LoadRequest = parse_body(&body)?.ok_or_else(|| {
        ApiError::bad("a JSON body is required: {\"kind\", \"name\", \"source\", ...}".to_owned())
    })?;
    let status = match request.kind.policy() {
        None => {
            let listener = request.listener()?;
            admin.listeners.start(&request.name, &listener).await?
        }
        Some(kind) => {
            let entry = request.policy(kind)?;
            admin.policies.insert(&admin.runtime, &entry, false).await?
        }
    };
    tracing::info!(kind = status.kind, name = %status.name, source = %status.source, "plugin loaded by the admin API");
    Ok((StatusCode::CREATED, Json(status)).into_response())
}

pub(super) async fn show(
    State(admin): State<Admin>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<PluginStatus>, ApiError> {
    let kind = PluginKind::parse(&kind)?;
    let wanted = |s: &PluginStatus| s.name == name;
    let found = match kind {
        PluginKind::Codec => admin.listeners.status().into_iter().find(wanted),
        PluginKind::Router | PluginKind::Filter => {
            let kind = if kind == PluginKind::Router {
                "router"
            } else {
                "filter"
            };
            let all = admin.policies.status().into_iter();
            all.filter(|s| s.kind == kind).find(wanted)
        }
    };
    found.map(Json).ok_or_else(|| not_found(kind, &name))
}

pub(super) async fn swap(
    State(admin): State<Admin>,
    Path((kind, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<crate::plugins::Swapped>, ApiError> {
    let kind = PluginKind::parse(&kind)?;
    let request: SwapRequest = parse_body(&body)?.unwrap_or_default();
    let source = request.source.as_deref();
    let swapped = match kind.policy() {
        Some(kind) => {
            admin
                .policies
                .swap(&admin.runtime, kind, &name, source)
                .await?
        }
        None => {
            let slot = admin
                .listeners
                .slot(&name)
                .ok_or_else(|| not_found(PluginKind::Codec, &name))?;
            let source = source
                .map(|s| crate::plugins::Source::parse(s, crate::plugins::BUILTIN_CODECS))
                .transpose()
                .map_err(|e| ApiError::bad(format!("source: {e}")))?;
            let swapped = slot
                .swap(&admin.runtime, source)
                .await
                .map_err(ControlError::from)?;
            let plugin = admin
                .listeners
                .status()
                .into_iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| slot.status());
            crate::plugins::Swapped { swapped, plugin }
        }
    };
    Ok(Json(swapped))
}

pub(super) async fn unload(
    State(admin): State<Admin>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let kind = PluginKind::parse(&kind)?;
    let restored = match kind.policy() {
        None => {
            admin.listeners.stop(&name).await?;
            None
        }
        Some(policy) => {
            admin
                .policies
                .unload(&admin.runtime, policy, &name, &admin.plugin_users)
                .await?
        }
    };
    Ok(Json(
        json!({ "unloaded": name, "kind": kind, "restored": restored }),
    ))
}

/// The body as `T`; `None` when empty.
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
) -> Result<Option<T>, ApiError> {
    if body.len() > REQUEST_BYTES_MAX {
        return Err(ApiError::bad(format!(
            "request body above {REQUEST_BYTES_MAX} bytes"
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::bad(format!("bad request body: {e}")))
}

fn not_found(kind: PluginKind, name: &str) -> ApiError {
    let kind = match kind {
        PluginKind::Codec => "codec",
        PluginKind::Router => "router",
        PluginKind::Filter => "filter",
    };
    ControlError::NotFound {
        kind,
        name: name.to_owned(),
    }
    .into()
}

/// An error answer: a status and `{"error": message}`.
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl ApiError {
    /// An answer of `status` saying `message`.
    pub(super) fn new(status: StatusCode, message: String) -> ApiError {
        ApiError { status, message }
    }

    pub(super) fn bad(message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> ApiError {
        let status = match &error {
            ControlError::NotFound { .. } => StatusCode::NOT_FOUND,
            ControlError::Conflict(_) => StatusCode::CONFLICT,
            ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
            ControlError::Load(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError {
            status,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::warn!(status = %self.status, error = %self.message, "admin API request refused");
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
