//! Addresses, as Artemis's `address` commands manage them.
//!
//! - `GET /api/addresses`: `[{"name", "routing_types": ["anycast"|"multicast"], "queues":
//!   [names], "temporary"}]`, sorted by name.
//! - `POST /api/addresses`: body `{"name", "routing_types"?: [...]}` (none: the address
//!   settings' `default-routing-type`). 201 and the address; 409 when it exists.
//! - `DELETE /api/addresses/{name}?force=true`: refused with 409 while it has queues or the
//!   address settings send dead letters or expired messages to it, unless `force` (its
//!   queues then go too, their consumers closed). `{"deleted": name, "queues": [names]}`.
//!   The Kafka topic that is a multicast address's log stays.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_queues::{AddressInfo, RoutingType};

use super::Admin;
use super::plugins::{ApiError, parse_body};
use super::queues::{blocking, flag};

/// `POST /api/addresses`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    #[serde(default)]
    routing_types: Vec<RoutingType>,
}

pub(super) async fn list(State(admin): State<Admin>) -> Json<Vec<AddressInfo>> {
    Json(admin.queues.list_addresses())
}

pub(super) async fn create(State(admin): State<Admin>, body: Bytes) -> Result<Response, ApiError> {
    let request: CreateRequest = parse_body(&body)?.ok_or_else(|| {
        ApiError::bad("a JSON body is required: {\"name\", \"routing_types\"}".to_owned())
    })?;
    let created = blocking(&admin, move |queues| {
        queues.add_address(&request.name, &request.routing_types)
    })
    .await?;
    tracing::info!(address = %created.name, "address created by the admin API");
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub(super) async fn delete(
    State(admin): State<Admin>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let force = flag(query.as_deref(), "force")?;
    let gone = blocking(&admin, move |queues| queues.remove_address(&name, force)).await?;
    tracing::info!(address = %gone.name, force, "address deleted by the admin API");
    Ok(Json(json!({ "deleted": gone.name, "queues": gone.queues })))
}
