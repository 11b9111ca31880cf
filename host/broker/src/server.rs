//! `sluice serve`: opens storage, loads each listener's codec, binds the listeners, and runs
//! until SIGINT or SIGTERM. SIGHUP reloads every plugin loaded from a file (the hot swap).
use std::sync::Arc;

use anyhow::Context;
use sluice_groups::Coordinator;
use sluice_plugin_runtime::{HostBroker, Runtime};
use sluice_queues::Queues;
use sluice_storage::{FAIL_POINT_NAMES, FailPoints, Storage, StorageConfig};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::listeners::Listeners;
use crate::net::waits::Sources;
use crate::plugins::{PluginUsers, Policies};
use crate::service::{APPEND_RESPONSE_FAIL_POINT, BrokerService, ServicePolicy};

/// The coordinator's directory under the data directory (beside storage's `topics/`).
pub const GROUPS_DIR: &str = "groups";
/// How often group sessions and rebalance deadlines are checked: the resolution of a session
/// timeout (Kafka's default session is 45 s, the shortest allowed 6 s).
const GROUP_TICK: std::time::Duration = std::time::Duration::from_millis(100);

/// Expires group sessions and ends rebalances whose time is up, until shutdown.
async fn tick_groups(groups: Arc<Coordinator>, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(GROUP_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => groups.tick(std::time::Instant::now()),
            () = crate::net::stopping(&mut stopped) => return,
        }
    }
}

/// How often queues redeliver what came due, expire what is tracked, truncate what is acked
/// and sync their cursors (at most every `queues.sync-interval-ms`): the resolution of a
/// redelivery delay.
const QUEUE_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs the queues' timers until shutdown.
async fn tick_queues(queues: Arc<Queues>, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(QUEUE_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let queues = queues.clone();
                // Syncing cursors is disk work: off the runtime's threads.
                let ticked = tokio::task::spawn_blocking(move || {
                    queues.tick(crate::retention::now_ms());
                })
                .await;
                if let Err(e) = ticked {
                    tracing::error!(error = %e, "queue tick failed");
                }
            }
            () = crate::net::stopping(&mut stopped) => return,
        }
    }
}

/// Runs the broker until a shutdown signal, then closes connections and flushes storage.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    crate::limits::raise_open_files();
    let storage = Arc::new(
        Storage::open(StorageConfig {
            fail_points: fail_points_from_env()?,
            ..storage_config(&config)?
        })
        .with_context(|| format!("opening data directory {}", config.data_dir.display()))?,
    );
    let groups = Arc::new(
        Coordinator::open(&config.data_dir.join(GROUPS_DIR), config.groups.limits())
            .context("opening the consumer groups' committed offsets")?,
    );
    let cache_dir = config.plugins.cache.then(|| {
        config
            .plugins
            .cache_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("plugin-cache"))
    });
    let runtime = Arc::new(Runtime::new(cache_dir)?);
    let policies = Arc::new(
        Policies::load(&runtime, &config.plugins)
            .await
            .context("loading routers and filters")?,
    );
    let queues = Arc::new(
        Queues::open_with_policies(storage.clone(), config.queues_config(), policies.clone())
            .context("opening the addresses and queues")?,
    );
    // Shared with the resources file, which adds and removes users while the broker runs.
    let security = crate::security::Security::from_config(&config.security);
    let policy = ServicePolicy {
        node_id: config.node_id,
        auto_create: config.topics.auto_create,
        default_partitions: config.topics.default_partitions,
        broker_configs: crate::service::broker_configs::describe(&config),
        security: security.clone(),
    };
    let service = Arc::new(BrokerService::new(
        storage.clone(),
        groups.clone(),
        queues.clone(),
        policy,
    ));
    let traffic = service.traffic().clone();
    let host: Arc<dyn HostBroker> = service.clone();
    let sources = Sources {
        storage: storage.clone(),
        groups: groups.clone(),
        queues: queues.clone(),
    };
    let limits = config.plugins.limits();

    let (stop, stopped) = watch::channel(false);
    let (ready, ready_rx) = watch::channel(false);
    let admin_socket = TcpListener::bind(&config.admin.address)
        .await
        .with_context(|| format!("binding the admin API to {}", config.admin.address))?;
    tracing::info!(address = %admin_socket.local_addr()?, "admin API listening");
    let listeners = Arc::new(crate::listeners::Listeners::new(
        runtime.clone(),
        host.clone(),
        limits,
        sources,
    ));
    for (name, settings) in &config.listeners {
        listeners
            .start(name, settings)
            .await
            .with_context(|| format!("starting listener {name}"))?;
    }
    let plugin_users = Arc::new(PluginUsers::from_config(&config));
    let resources = crate::resources::open(
        &config.resources,
        &config.data_dir,
        crate::resources::BrokerTarget {
            service: service.clone(),
            queues: queues.clone(),
            security,
            policies: policies.clone(),
            plugin_users: plugin_users.clone(),
            listeners: listeners.clone(),
            runtime: runtime.clone(),
        },
    )
    .await?;
    let metrics = Arc::new(crate::metrics::Metrics::new(
        crate::metrics::MetricsSources {
            storage: storage.clone(),
            queues: queues.clone(),
            net: listeners.net().clone(),
            traffic,
            plugins: crate::metrics::plugin_list(listeners.clone(), policies.clone()),
            node_id: config.node_id,
        },
    ));
    let mut background = JoinSet::new();
    background.spawn(crate::retention::run(
        storage.clone(),
        std::time::Duration::from_millis(config.topics.retention_check_ms),
        stopped.clone(),
    ));
    background.spawn(crate::retention::compact(
        storage.clone(),
        std::time::Duration::from_millis(config.topics.compaction_check_ms),
        stopped.clone(),
    ));
    background.spawn(tick_groups(groups.clone(), stopped.clone()));
    background.spawn(tick_queues(queues.clone(), stopped.clone()));
    background.spawn(crate::resources::watch(resources.clone(), stopped.clone()));
    background.spawn(crate::admin::serve(
        admin_socket,
        crate::admin::Admin {
            queues: queues.clone(),
            listeners: listeners.clone(),
            policies: policies.clone(),
            plugin_users,
            runtime: runtime.clone(),
            resources,
            ready: ready_rx,
            service,
            metrics,
        },
        stopped.clone(),
    ));
    ready.send_replace(true);
    tracing::info!(listeners = listeners.len(), "sluice ready");

    wait_for_shutdown(&runtime, &listeners, &policies).await?;
    tracing::info!("shutting down");
    stop.send_replace(true);
    listeners.stop_all().await;
    while background.join_next().await.is_some() {}
    let flushed = tokio::task::spawn_blocking(move || {
        queues.flush().context("syncing queues at shutdown")?;
        storage.flush().context("flushing storage at shutdown")
    })
    .await?;
    flushed?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGINT or SIGTERM, reloading file-based plugins on every SIGHUP meanwhile.
async fn wait_for_shutdown(
    runtime: &Arc<Runtime>,
    listeners: &Listeners,
    policies: &Policies,
) -> anyhow::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading plugins loaded from files");
                for slot in listeners.slots() {
                    if let Err(e) = slot.reload(runtime).await {
                        tracing::error!(listener = %slot.listener(), error = %e, "codec reload failed; the running version stays");
                    }
                }
                policies.reload(runtime).await;
            }
        }
    }
}

/// Storage settings from the broker's configuration.
pub fn storage_config(config: &Config) -> anyhow::Result<StorageConfig> {
    Ok(StorageConfig {
        dir: config.data_dir.clone(),
        partitions_max: config.topics.partitions_max,
        batch_bytes_max: config.topics.batch_bytes_max,
        read_bytes_max: config.topics.read_bytes_max,
        topic_defaults: config.topics.topic_defaults()?,
        fail_points: FailPoints::default(),
        repair: false,
    })
}

/// Environment variable naming failure points to arm at start, for fault-injection tests:
/// `point=action[*count];...` (see `sluice_storage::FailPoints::arm_from_spec`): storage's
/// points, and the broker's `append-response` (any action: the connection loses the response
/// to a successful append).
pub const FAIL_POINTS_ENV: &str = "SLUICE_FAIL_POINTS";

fn fail_points_from_env() -> anyhow::Result<FailPoints> {
    let points = FailPoints::default();
    if let Ok(spec) = std::env::var(FAIL_POINTS_ENV) {
        let mut known = FAIL_POINT_NAMES.to_vec();
        known.push(APPEND_RESPONSE_FAIL_POINT);
        points
            .arm_from_spec_among(&spec, &known)
            .map_err(|e| anyhow::anyhow!("{FAIL_POINTS_ENV}: {e}"))?;
        tracing::warn!(%spec, "failure points armed");
    }
    Ok(points)
}
