//! Queues, as Artemis's `queue` commands manage them.
//!
//! - `GET /api/queues`: every queue with its counters, sorted by address then name.
//! - `POST /api/queues`: creates one. Body `{"name", "address"? (default: the name),
//!   "routing_type"? ("anycast" | "multicast"; default: the address's only one, else the
//!   address settings' default), "durable"? (true), "purge_on_no_consumers"? (false),
//!   "exclusive"? (false), "max_consumers"? (-1: no limit), "filter"? (a selector, or
//!   `{"plugin", "config"}`), "last_value_key"?, "ring_size"?, "auto_create_address"?
//!   (false)}`. 201 and its statistics; 404 when the address does not exist and may not be
//!   created, 409 when the queue exists or the address lacks the routing type.
//! - `GET /api/queues/{name}`: one queue's statistics; `name` is `address::queue`, or a queue
//!   name found on one address only (400 when it is on several).
//! - `POST /api/queues/{name}/purge`: drops its messages; `{"purged": n}`.
//! - `DELETE /api/queues/{name}?remove_consumers=true`: deletes it with its messages; refused
//!   with 409 while it has consumers unless `remove_consumers`, which closes them.
//!   `{"deleted": "address::queue", "consumers_removed", "message_count"}`.
//!
//! Creating, purging and deleting write the registry and cursors (with fsyncs), so they run
//! on the blocking pool, off the runtime's workers.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_queues::{FilterRef, NewQueue, QueueStats, Queues, QueuesError, RoutingType};

use super::Admin;
use super::plugins::{ApiError, parse_body};

/// `POST /api/queues`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    address: Option<String>,
    routing_type: Option<RoutingType>,
    #[serde(default = "yes")]
    durable: bool,
    #[serde(default)]
    purge_on_no_consumers: bool,
    #[serde(default)]
    exclusive: bool,
    #[serde(default = "unlimited")]
    max_consumers: i32,
    filter: Option<FilterRef>,
    last_value_key: Option<String>,
    ring_size: Option<u64>,
    #[serde(default)]
    auto_create_address: bool,
}

fn yes() -> bool {
    true
}

fn unlimited() -> i32 {
    -1
}

pub(super) async fn list(State(admin): State<Admin>) -> Json<Vec<QueueStats>> {
    Json(admin.queues.stats())
}

pub(super) async fn create(State(admin): State<Admin>, body: Bytes) -> Result<Response, ApiError> {
    let request: CreateRequest = parse_body(&body)?.ok_or_else(|| {
        ApiError::bad("a JSON body is required: {\"name\", \"routing_type\", ...}".to_owned())
    })?;
    let new = NewQueue {
        name: request.name,
        address: request.address,
        routing: request.routing_type,
        durable: request.durable,
        purge_on_no_consumers: request.purge_on_no_consumers,
        exclusive: request.exclusive,
        max_consumers: request.max_consumers,
        filter: request.filter,
        last_value_key: request.last_value_key,
        ring_size: request.ring_size,
        auto_create_address: request.auto_create_address,
    };
    let stats = blocking(&admin, move |queues| queues.add_queue(new)).await?;
    tracing::info!(queue = %stats.name, address = %stats.address, "queue created by the admin API");
    Ok((StatusCode::CREATED, Json(stats)).into_response())
}

pub(super) async fn show(
    State(admin): State<Admin>,
    Path(name): Path<String>,
) -> Result<Json<QueueStats>, ApiError> {
    Ok(Json(admin.queues.queue_stats(&name)?))
}

pub(super) async fn purge(
    State(admin): State<Admin>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let purged = blocking(&admin, move |queues| queues.purge_queue(&name)).await?;
    Ok(Json(json!({ "purged": purged })))
}

pub(super) async fn delete(
    State(admin): State<Admin>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let remove_consumers = flag(query.as_deref(), "remove_consumers")?;
    let gone = blocking(&admin, move |queues| {
        queues.remove_queue(&name, remove_consumers)
    })
    .await?;
    tracing::info!(queue = %gone.name, address = %gone.address, "queue deleted by the admin API");
    Ok(Json(json!({
        "deleted": format!("{}::{}", gone.address, gone.name),
        "consumers_removed": gone.consumer_count,
        "message_count": gone.message_count,
    })))
}

/// Runs `call` on the address model on the blocking pool.
pub(super) async fn blocking<T, F>(admin: &Admin, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Queues) -> Result<T, QueuesError> + Send + 'static,
{
    let queues = admin.queues.clone();
    match tokio::task::spawn_blocking(move || call(&queues)).await {
        Ok(done) => done.map_err(ApiError::from),
        Err(e) => Err(ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the operation failed: {e}"),
        }),
    }
}

/// The boolean query parameter `name` (`name`, `name=true`, `name=false`); false when
/// absent. Any other parameter is refused, so a misspelt `force` does not go unnoticed.
pub(super) fn flag(query: Option<&str>, name: &str) -> Result<bool, ApiError> {
    let mut value = false;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, text) = pair.split_once('=').unwrap_or((pair, "true"));
        if key != name {
            return Err(ApiError::bad(format!(
                "unknown query parameter `{key}` (only `{name}`)"
            )));
        }
        value = match text {
            "true" | "1" | "" => true,
            "false" | "0" => false,
            other => {
                return Err(ApiError::bad(format!(
                    "`{name}` is true or false, not `{other}`"
                )));
            }
        };
    }
    Ok(value)
}

impl From<QueuesError> for ApiError {
    fn from(error: QueuesError) -> ApiError {
        let status = match &error {
            QueuesError::InvalidAddress(_)
            | QueuesError::InvalidFilter(_)
            | QueuesError::Ambiguous(_) => StatusCode::BAD_REQUEST,
            QueuesError::NotFound(_)
            | QueuesError::UnknownAddress(_)
            | QueuesError::UnknownConsumer(_) => StatusCode::NOT_FOUND,
            QueuesError::Exists(_) | QueuesError::InUse(_) | QueuesError::InvalidRouting(_) => {
                StatusCode::CONFLICT
            }
            QueuesError::ResourceLimit(_) => StatusCode::UNPROCESSABLE_ENTITY,
            QueuesError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            QueuesError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: error.to_string(),
        }
    }
}
