//! The admin HTTP API (axum), on `127.0.0.1:8161` by default: health, readiness, and what the
//! broker holds. The management operations and the console build on it.
//!
//! Endpoints:
//! - `GET /healthz`: 200 while the process serves requests.
//! - `GET /readyz`: 200 once every listener is bound and the broker accepts clients.
//! - `GET /api/queues`: every queue with its counters (consumers, messages, added,
//!   acknowledged, delivering, expired, killed, filtered, scheduled ...), as JSON.
//! - `GET`, `POST /api/addresses`, `DELETE /api/addresses/{name}`: addresses (see
//!   `addresses`); `POST /api/queues`, `GET` and `DELETE /api/queues/{name}`,
//!   `POST /api/queues/{name}/purge`: queues (see `queues`).
//! - `GET /api/plugins`: every plugin (each listener's codec, every router and filter): its
//!   source, name, version, hash, health, failure policy, and the host's figures for it
//!   (calls, messages in and out, latency histogram, traps, deadline misses, memory, loaded
//!   since), as JSON. `GET /api/plugins/{kind}/{name}`: one of them.
//! - `POST /api/plugins`, `PUT` and `DELETE /api/plugins/{kind}/{name}`: load, swap and
//!   unload plugins while the broker runs (see `plugins`).
//! - `GET`/`POST /api/topics`, `GET`/`PATCH`/`DELETE /api/topics/{name}`: Kafka topics, their
//!   partitions' offsets and settings (see `topics`).
//! - `GET /api/groups`, `GET /api/groups/{group}` (lag per partition) and
//!   `POST /api/groups/{group}/reset-offsets`: consumer groups (see `groups`).
//! - `GET /` redirects to `/console/`, the web console (see `console`).
//! - `GET /api/resources`, `POST /api/resources/apply`: the declared resources file, its last
//!   apply, and applying (or diffing) a file or a text (see `resources`).
//! - `GET /metrics`: Prometheus metrics; `GET /api/overview`: totals since start;
//!   `GET /api/connections`: every open connection (see `metrics`).
//!
//! Errors are JSON, `{"error": "..."}`, with a status saying whose fault it is: 400 a bad
//! request, 404 nothing by that name, 409 a conflict with what runs or exists, 422 a valid
//! request that cannot be done (a component that is not the plugin asked for, more replicas
//! than this single node has).
mod addresses;
mod assignment;
mod broker_calls;
mod console;
mod groups;
mod metrics;
mod plugins;
mod queues;
mod resources;
mod topics;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use sluice_queues::Queues;

use sluice_plugin_runtime::Runtime;

use crate::listeners::Listeners;
use crate::plugins::{PluginStatus, PluginUsers, Policies};
use crate::service::BrokerService;
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
    /// The declared resources.
    pub resources: Arc<crate::resources::Resources<crate::resources::BrokerTarget>>,
    /// Turns true once the broker accepts clients.
    pub ready: watch::Receiver<bool>,
    /// The broker operations Kafka clients reach: topics and groups go through them, with
    /// the same checks.
    pub service: Arc<BrokerService>,
    /// Metrics, the overview and the open connections.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Serves the admin API on `socket` until `stopped` turns true.
pub async fn serve(socket: TcpListener, admin: Admin, mut stopped: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/queues", get(queues::list).post(queues::create))
        .route(
            "/api/queues/{name}",
            get(queues::show).delete(queues::delete),
        )
        .route("/api/queues/{name}/purge", post(queues::purge))
        .route(
            "/api/addresses",
            get(addresses::list).post(addresses::create),
        )
        .route("/api/addresses/{name}", delete(addresses::delete))
        .route("/metrics", get(metrics::scrape))
        .route("/api/overview", get(metrics::overview))
        .route("/api/connections", get(metrics::connections))
        .route("/api/plugins", get(plugins_list).post(plugins::load))
        .route(
            "/api/plugins/{kind}/{name}",
            get(plugins::show)
                .put(plugins::swap)
                .delete(plugins::unload),
        )
        .route("/api/topics", get(topics::list).post(topics::create))
        .route(
            "/api/topics/{name}",
            get(topics::show)
                .patch(topics::alter)
                .delete(topics::delete),
        )
        .route("/api/groups", get(groups::list))
        .route("/api/groups/{group}", get(groups::show))
        .route(
            "/api/groups/{group}/reset-offsets",
            post(groups::reset_offsets),
        )
        .route("/api/resources", get(resources::status))
        .route("/api/resources/apply", post(resources::apply))
        .merge(console::routes())
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

async fn plugins_list(State(admin): State<Admin>) -> Json<Vec<PluginStatus>> {
    let mut all: Vec<PluginStatus> = admin.listeners.status();
    all.extend(admin.policies.status());
    Json(all)
}
