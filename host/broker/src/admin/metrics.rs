//! Operations: `GET /metrics` (Prometheus, OpenMetrics text), `GET /api/overview` (totals the
//! console turns into rates) and `GET /api/connections` (every open connection). See
//! `crate::metrics` and `docs/metrics.md`.
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Admin;
use crate::metrics::{Format, Overview};
use crate::net::stats::ConnectionSnapshot;

/// `GET /metrics`: OpenMetrics when the `Accept` header names it, else the classic text
/// format. Encoded on a blocking thread: it reads `/proc` and takes every partition's and
/// queue's lock in turn.
pub async fn scrape(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let metrics = admin.metrics.clone();
    match tokio::task::spawn_blocking(move || metrics.encode_as(format)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, format.content_type())], text).into_response(),
        Ok(Err(e)) => failed(&e.to_string()),
        Err(e) => failed(&e.to_string()),
    }
}

fn failed(error: &str) -> Response {
    tracing::error!(error, "encoding the metrics failed");
    let body = json!({ "error": format!("encoding the metrics failed: {error}") });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// `GET /api/overview`.
pub async fn overview(State(admin): State<Admin>) -> Json<Overview> {
    Json(admin.metrics.overview())
}

/// `GET /api/connections`: every open connection, by id. At most the listeners'
/// `connections-max` added up.
pub async fn connections(State(admin): State<Admin>) -> Json<Vec<ConnectionSnapshot>> {
    Json(admin.metrics.connections())
}
