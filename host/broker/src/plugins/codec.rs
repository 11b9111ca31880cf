//! Which codec each listener runs, and the hot swap of a file's new version into a running
//! listener.
use std::sync::{Arc, RwLock};

use sluice_plugin_runtime::{CodecPlugin, HostBroker, Limits, LoadError, Runtime};

use super::Source;
use crate::config::BUILTIN_PREFIX;

/// The codec a listener gives new connections. Swapping it never touches open connections:
/// each holds its own session, which keeps the old plugin alive until the connection closes.
pub struct CodecSlot {
    listener: String,
    /// Where the codec serving new connections came from; a swap may change it.
    source: RwLock<Source>,
    host: Arc<dyn HostBroker>,
    limits: Limits,
    current: RwLock<Arc<CodecPlugin>>,
}

impl CodecSlot {
    /// Loads the listener's codec for the first time.
    pub async fn load(
        runtime: &Runtime,
        listener: &str,
        source: Source,
        host: Arc<dyn HostBroker>,
        limits: Limits,
    ) -> Result<Self, LoadError> {
        let plugin = load(runtime, &source, host.clone(), limits.clone()).await?;
        log_loaded(listener, &plugin, "codec loaded");
        Ok(CodecSlot {
            listener: listener.to_string(),
            source: RwLock::new(source),
            host,
            limits,
            current: RwLock::new(plugin),
        })
    }

    /// The plugin new connections get now.
    pub fn current(&self) -> Arc<CodecPlugin> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Where the codec serving new connections came from.
    pub fn source(&self) -> Source {
        self.source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads a file-based codec and swaps it in if its content changed. Returns whether it
    /// swapped. On error the running version stays.
    pub async fn reload(&self, runtime: &Runtime) -> Result<bool, LoadError> {
        if matches!(self.source(), Source::Builtin(..)) {
            return Ok(false);
        }
        self.swap(runtime, None).await
    }

    /// Swaps in the codec at `source` (`None`: the current source, read again) for new
    /// connections, unless it is the one serving already; whether it swapped. Open connections
    /// keep theirs. On error the running version stays.
    pub async fn swap(&self, runtime: &Runtime, source: Option<Source>) -> Result<bool, LoadError> {
        let source = source.unwrap_or_else(|| self.source());
        let bytes = source.bytes()?;
        let old = self.current();
        if sluice_plugin_runtime::sha256_hex(&bytes) == old.sha256() {
            *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
            return Ok(false);
        }
        let label = source.label();
        let new = runtime
            .load_codec(&label, &bytes, self.host.clone(), self.limits.clone())
            .await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = new.clone();
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
        tracing::info!(
            listener = %self.listener,
            from_version = %old.info().version,
            from_sha256 = %&old.sha256()[..12],
            plugin = %new.info().name,
            plugin_version = %new.info().version,
            sha256 = %&new.sha256()[..12],
            "codec swapped"
        );
        Ok(true)
    }

    /// What the admin API shows of the codec serving new connections.
    pub fn status(&self) -> super::PluginStatus {
        let plugin = self.current();
        super::PluginStatus {
            kind: "codec",
            name: self.listener.clone(),
            source: self.source().label(),
            address: None,
            plugin: plugin.info().name.clone(),
            version: plugin.info().version.clone(),
            sha256: plugin.sha256().to_owned(),
            healthy: true,
            on_failure: None,
            stats: plugin.stats(),
        }
    }

    /// The listener this slot serves.
    pub fn listener(&self) -> &str {
        &self.listener
    }
}

async fn load(
    runtime: &Runtime,
    source: &Source,
    host: Arc<dyn HostBroker>,
    limits: Limits,
) -> Result<Arc<CodecPlugin>, LoadError> {
    match source {
        Source::Builtin(name, bytes) => {
            let label = format!("{BUILTIN_PREFIX}{name}");
            runtime.load_codec(&label, bytes, host, limits).await
        }
        Source::File(path) => runtime.load_codec_file(path, host, limits).await,
    }
}

fn log_loaded(listener: &str, plugin: &CodecPlugin, what: &str) {
    tracing::info!(
        %listener,
        source = %plugin.label(),
        plugin = %plugin.info().name,
        plugin_version = %plugin.info().version,
        sha256 = %&plugin.sha256()[..12],
        "{what}"
    );
}
