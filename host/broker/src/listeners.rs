//! The listeners the broker runs, by name: those the configuration names, started with the
//! broker, and those the admin API starts and stops while it runs (a codec plugin loaded on a
//! listener of its own, `POST /api/plugins` with `kind = "codec"`).
//!
//! Each listener has its own stop signal, so stopping one closes its socket and its
//! connections (after [`crate::net::SHUTDOWN_GRACE`]) and leaves every other listener alone.
//! Listeners started at runtime are not written back to the configuration: after a restart
//! only the configuration's run.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use sluice_plugin_runtime::{HostBroker, Limits, Runtime};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ListenerConfig;
use crate::net::listener::Listener;
use crate::net::stats::NetStats;
use crate::net::waits::Sources;
use crate::plugins::{BUILTIN_CODECS, CodecSlot, ControlError, PluginStatus, Source, check_name};

/// Everything a listener needs besides its own settings.
pub struct Listeners {
    runtime: Arc<Runtime>,
    host: Arc<dyn HostBroker>,
    limits: Limits,
    sources: Sources,
    /// Every listener's counters and open connections, kept across stops and starts.
    net: Arc<NetStats>,
    running: Mutex<BTreeMap<String, Running>>,
    /// Held across a whole start or stop, so two of them on one name cannot interleave.
    changing: tokio::sync::Mutex<()>,
}

struct Running {
    slot: Arc<CodecSlot>,
    address: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Listeners {
    /// No listener yet.
    pub fn new(
        runtime: Arc<Runtime>,
        host: Arc<dyn HostBroker>,
        limits: Limits,
        sources: Sources,
    ) -> Listeners {
        Listeners {
            runtime,
            host,
            limits,
            sources,
            net: Arc::new(NetStats::default()),
            running: Mutex::new(BTreeMap::new()),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// Loads the codec, binds the address and starts accepting. Returns the codec's status
    /// with the bound address.
    pub async fn start(
        &self,
        name: &str,
        settings: &ListenerConfig,
    ) -> Result<PluginStatus, ControlError> {
        check_name(name)?;
        let _changing = self.changing.lock().await;
        if self.lock().contains_key(name) {
            return Err(ControlError::Conflict(format!(
                "a listener named `{name}` is running; swap its codec or stop it first"
            )));
        }
        let source = Source::parse(&settings.codec, BUILTIN_CODECS)
            .map_err(|e| ControlError::Invalid(format!("codec: {e}")))?;
        let advertised = settings
            .advertised
            .as_deref()
            .map(parse_host_port)
            .transpose()
            .map_err(|e| ControlError::Invalid(format!("advertised: {e}")))?;
        if settings.frame_bytes_max < crate::config::FRAME_BYTES_MIN {
            return Err(ControlError::Invalid(format!(
                "frame-bytes-max must be at least {}",
                crate::config::FRAME_BYTES_MIN
            )));
        }
        let slot = Arc::new(
            CodecSlot::load(
                &self.runtime,
                name,
                source,
                self.host.clone(),
                self.limits.clone(),
            )
            .await?,
        );
        let socket = TcpListener::bind(&settings.address)
            .await
            .map_err(|e| bind_error(&settings.address, &e))?;
        let address = socket
            .local_addr()
            .map_err(|e| bind_error(&settings.address, &e))?;
        tracing::info!(listener = %name, %address, "listening");
        let (stop, stopped) = watch::channel(false);
        let listener = Listener {
            name: Arc::from(name),
            socket,
            codec: slot.clone(),
            advertised,
            frame_bytes_max: settings.frame_bytes_max,
            connections_max: settings.connections_max,
            sources: self.sources.clone(),
            net: self.net.clone(),
            stats: self.net.listener(name),
        };
        let task = tokio::spawn(listener.run(stopped));
        let status = with_address(slot.status(), address);
        self.lock().insert(
            name.to_owned(),
            Running {
                slot,
                address,
                stop,
                task,
            },
        );
        Ok(status)
    }

    /// Stops accepting on `name`, closes its connections (after the shutdown grace) and
    /// unloads its codec.
    pub async fn stop(&self, name: &str) -> Result<(), ControlError> {
        let _changing = self.changing.lock().await;
        let running = self
            .lock()
            .remove(name)
            .ok_or_else(|| ControlError::NotFound {
                kind: "codec",
                name: name.to_owned(),
            })?;
        running.stop.send_replace(true);
        if let Err(e) = running.task.await {
            tracing::error!(listener = %name, error = %e, "listener task failed");
        }
        tracing::info!(listener = %name, address = %running.address, "listener stopped; codec unloaded");
        Ok(())
    }

    /// Stops every listener, for shutdown.
    pub async fn stop_all(&self) {
        let all: Vec<(String, Running)> = std::mem::take(&mut *self.lock()).into_iter().collect();
        for (_, running) in &all {
            running.stop.send_replace(true);
        }
        for (name, running) in all {
            if let Err(e) = running.task.await {
                tracing::error!(listener = %name, error = %e, "listener task failed");
            }
        }
    }

    /// The codec slot of `name`.
    pub fn slot(&self, name: &str) -> Option<Arc<CodecSlot>> {
        self.lock().get(name).map(|r| r.slot.clone())
    }

    /// Every listener's codec slot.
    pub fn slots(&self) -> Vec<Arc<CodecSlot>> {
        self.lock().values().map(|r| r.slot.clone()).collect()
    }

    /// Every listener's codec, with its bound address.
    pub fn status(&self) -> Vec<PluginStatus> {
        self.lock()
            .values()
            .map(|r| with_address(r.slot.status(), r.address))
            .collect()
    }

    /// Every listener's counters and the connections open now (the metrics and the admin
    /// API's connection list read them).
    pub fn net(&self) -> &Arc<NetStats> {
        &self.net
    }

    /// How many listeners run.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn with_address(mut status: PluginStatus, address: SocketAddr) -> PluginStatus {
    status.address = Some(address.to_string());
    status
}

fn bind_error(address: &str, error: &std::io::Error) -> ControlError {
    let message = format!("cannot listen on {address}: {error}");
    if error.kind() == std::io::ErrorKind::AddrInUse {
        ControlError::Conflict(message)
    } else {
        ControlError::Invalid(message)
    }
}

/// `host:port` (the host may be a bracketed IPv6 address).
pub fn parse_host_port(value: &str) -> Result<(String, u16), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{value}` is not host:port"))?;
    let port = port
        .parse()
        .map_err(|_| format!("`{port}` in `{value}` is not a port"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}
