//! The declared resources over HTTP.
//!
//! - `GET /api/resources`: the watched file, how often it is checked, the last apply (its
//!   time, changes and errors) and what the record says the file manages.
//! - `POST /api/resources/apply`: body `{"content": "<toml>", "dry_run": bool}` applies that
//!   text (and replaces the declared set: what the record has and the text does not is
//!   deleted); `{"dry_run": bool}` (or no body) reads the watched file again. 200 and the
//!   report, whose `errors` list any change that failed; 400 for a body or text that is not
//!   a valid resources file (nothing applied); 422 when no text is sent and no file is
//!   configured, or the file cannot be read.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Admin;
use crate::resources::{ApplyError, Input, Origin, RESOURCES_FILE_BYTES_MAX, Report, Status};

/// Largest request body: the largest resources file, every byte of it escaped in JSON
/// (`\uXXXX` is six bytes), and room for the other field.
const REQUEST_BYTES_MAX: usize = 6 * RESOURCES_FILE_BYTES_MAX + 1024;

/// `POST /api/resources/apply`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyRequest {
    content: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

pub(super) async fn status(State(admin): State<Admin>) -> Json<Status> {
    Json(admin.resources.status())
}

pub(super) async fn apply(State(admin): State<Admin>, body: Bytes) -> Response {
    if body.len() > REQUEST_BYTES_MAX {
        let message = format!("request body above {REQUEST_BYTES_MAX} bytes");
        return error(StatusCode::BAD_REQUEST, message);
    }
    let request: ApplyRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ApplyRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
        }
    };
    let (input, from_request) = match request.content {
        Some(text) => (Input::Content(text), true),
        None => (Input::File, false),
    };
    let applied: Result<Report, ApplyError> = admin
        .resources
        .apply(input, request.dry_run, Origin::Api)
        .await;
    match applied {
        Ok(report) => Json(report).into_response(),
        Err(e @ ApplyError::Invalid { .. }) if from_request => {
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

fn error(status: StatusCode, message: String) -> Response {
    tracing::warn!(%status, error = %message, "admin API request refused");
    (status, Json(json!({ "error": message }))).into_response()
}
