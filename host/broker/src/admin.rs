//! The admin HTTP API (axum), on `127.0.0.1:8161` by default: health, readiness, and what the
//! broker holds. The management operations and the console build on it.
//!
//! Endpoints:
//! - `GET /healthz`: 200 while the process serves requests.
//! - `GET /readyz`: 200 once every listener is bound and the broker accepts clients.
//! - `GET /api/queues`: every queue with its counters (consumers, messages, added,
//!   acknowledged, delivering, expired, killed), as JSON.
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use sluice_queues::{QueueStats, Queues};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The admin API's well-known port (Artemis's console's), on loopback.
pub const ADMIN_ADDRESS_DEFAULT: &str = "127.0.0.1:8161";

/// The `[admin]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` the admin API binds.
    pub address: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            address: ADMIN_ADDRESS_DEFAULT.to_owned(),
        }
    }
}

/// What the handlers read.
#[derive(Clone)]
struct Admin {
    queues: Arc<Queues>,
    ready: watch::Receiver<bool>,
}

/// Serves the admin API on `socket` until `stopped` turns true. `ready` turns true once the
/// broker accepts clients.
pub async fn serve(
    socket: TcpListener,
    queues: Arc<Queues>,
    ready: watch::Receiver<bool>,
    mut stopped: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/queues", get(queues_list))
        .with_state(Admin { queues, ready });
    let shutdown = async move { crate::net::stopping(&mut stopped).await };
    if let Err(e) = axum::serve(socket, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}

async fn readyz(State(admin): State<Admin>) -> (StatusCode, &'static str) {
    if *admin.ready.borrow() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

async fn queues_list(State(admin): State<Admin>) -> Json<Vec<QueueStats>> {
    Json(admin.queues.stats())
}
