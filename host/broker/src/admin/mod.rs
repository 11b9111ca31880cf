//! The admin HTTP API (axum), on `127.0.0.1:8161` by default: health, readiness, and what the
//! broker holds. The management operations and the console build on it.
//!
//! Endpoints:
//! - `GET /healthz`: 200 while the process serves requests.
//! - `GET /readyz`: 200 once every listener is bound and the broker accepts clients.
//! - `GET /api/queues`: every queue with its counters (consumers, messages, added,
//!   acknowledged, delivering, expired, killed, filtered, scheduled ...), as JSON.
//! - `GET /api/plugins`: every plugin (each listener's codec, every router and filter): its
//!   source, name, version, hash, health, failure policy, and the host's figures for it
//!   (calls, messages in and out, latency histogram, traps, deadline misses, memory, loaded
//!   since), as JSON. `GET /api/plugins/{kind}/{name}`: one of them.
//! - `POST /api/plugins`, `PUT` and `DELETE /api/plugins/{kind}/{name}`: load, swap and
//!   unload plugins while the broker runs (see `plugins`).
//!
//! Errors are JSON, `{"error": "..."}`, with a status saying whose fault it is: 400 a bad
//! request, 404 nothing by that name, 409 a conflict with what runs, 422 a component that is
//! not the plugin asked for.
mod plugins;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use sluice_queues::{QueueStats, Queues};

use sluice_plugin_runtime::Runtime;

use crate::listeners::Listeners;
use crate::plugins::{PluginStatus, PluginUsers, Policies};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The admin API's well-known port (Artemis's console's), on loopback.
pub const ADMIN_ADDRESS_DEFAULT: &str = "127.0.0.1:8161";

/// The `[admin]` table.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
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
pub struct Admin {
    /// The address model.
    pub queues: Arc<Queues>,
    /// Every listener and its codec.
    pub listeners: Arc<Listeners>,
    /// Routers and filters.
    pub policies: Arc<Policies>,
    /// What the configuration attaches routers and filters to.
    pub plugin_users: Arc<PluginUsers>,
    /// Compiles the plugins the admin API loads.
    pub runtime: Arc<Runtime>,
    /// Turns true once the broker accepts clients.
    pub ready: watch::Receiver<bool>,
}

/// Serves the admin API on `socket` until `stopped` turns true.
pub async fn serve(socket: TcpListener, admin: Admin, mut stopped: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/queues", get(queues_list))
        .route("/api/plugins", get(plugins_list).post(plugins::load))
        .route(
            "/api/plugins/{kind}/{name}",
            get(plugins::show)
                .put(plugins::swap)
                .delete(plugins::unload),
        )
        .with_state(admin);
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

async fn plugins_list(State(admin): State<Admin>) -> Json<Vec<PluginStatus>> {
    let mut all: Vec<PluginStatus> = admin.listeners.status();
    all.extend(admin.policies.status());
    Json(all)
}
