//! `sluice serve`: opens storage, loads each listener's codec, binds the listeners, and runs
//! until SIGINT or SIGTERM. SIGHUP reloads every codec loaded from a file (the hot swap).
use std::sync::Arc;

use anyhow::Context;
use sluice_plugin_runtime::{HostBroker, Runtime};
use sluice_storage::{Storage, StorageConfig};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::net::listener::Listener;
use crate::plugins::{CodecSlot, CodecSource};
use crate::service::BrokerService;

/// Runs the broker until a shutdown signal, then closes connections and flushes storage.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    crate::limits::raise_open_files();
    let storage = Arc::new(
        Storage::open(StorageConfig {
            dir: config.data_dir.clone(),
            partitions_max: config.topics.partitions_max,
            batch_bytes_max: config.topics.batch_bytes_max,
            read_bytes_max: config.topics.read_bytes_max,
        })
        .with_context(|| format!("opening data directory {}", config.data_dir.display()))?,
    );
    let host: Arc<dyn HostBroker> = Arc::new(BrokerService::new(
        storage.clone(),
        config.node_id,
        config.topics.auto_create,
        config.topics.default_partitions,
    ));
    let cache_dir = config
        .plugins
        .cache
        .then(|| config.data_dir.join("plugin-cache"));
    let runtime = Arc::new(Runtime::new(cache_dir)?);
    let limits = config.plugins.limits();

    let (stop, stopped) = watch::channel(false);
    let mut slots = Vec::new();
    let mut listeners = JoinSet::new();
    for (name, settings) in &config.listeners {
        let source = CodecSource::parse(&settings.codec)
            .map_err(|e| anyhow::anyhow!("listeners.{name}.codec: {e}"))?;
        let slot = Arc::new(
            CodecSlot::load(&runtime, name, source, host.clone(), limits.clone())
                .await
                .with_context(|| format!("loading the codec of listener {name}"))?,
        );
        let socket = TcpListener::bind(&settings.address)
            .await
            .with_context(|| format!("binding listener {name} to {}", settings.address))?;
        let advertised = match &settings.advertised {
            Some(a) => {
                Some(parse_host_port(a).with_context(|| format!("listeners.{name}.advertised"))?)
            }
            None => None,
        };
        tracing::info!(listener = %name, address = %socket.local_addr()?, "listening");
        let listener = Listener {
            name: Arc::from(name.as_str()),
            socket,
            codec: slot.clone(),
            advertised,
            frame_bytes_max: settings.frame_bytes_max,
            connections_max: settings.connections_max,
            storage: storage.clone(),
        };
        listeners.spawn(listener.run(stopped.clone()));
        slots.push(slot);
    }
    tracing::info!(listeners = slots.len(), "sluice ready");

    wait_for_shutdown(&runtime, &slots).await?;
    tracing::info!("shutting down");
    stop.send_replace(true);
    while listeners.join_next().await.is_some() {}
    let flushed = tokio::task::spawn_blocking(move || storage.flush()).await?;
    flushed.context("flushing storage at shutdown")?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGINT or SIGTERM, reloading file-based codecs on every SIGHUP meanwhile.
async fn wait_for_shutdown(runtime: &Arc<Runtime>, slots: &[Arc<CodecSlot>]) -> anyhow::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading codecs loaded from files");
                for slot in slots {
                    if let Err(e) = slot.reload(runtime).await {
                        tracing::error!(listener = %slot.listener(), error = %e, "codec reload failed; the running version stays");
                    }
                }
            }
        }
    }
}

fn parse_host_port(value: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("`{value}` is not host:port"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port.parse()?))
}
