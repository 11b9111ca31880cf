//! Which codec each listener runs: the built-in plugins embedded in the binary, plugins loaded
//! from files, and the hot swap of a file's new version into a running listener.
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use sluice_plugin_runtime::{CodecPlugin, HostBroker, Limits, LoadError, Runtime};

use crate::config::BUILTIN_PREFIX;

/// Built-in codecs, compiled to components by `build.rs` and embedded so that a lone `sluice`
/// binary works.
pub const BUILTIN_CODECS: &[(&str, &[u8])] = &[
    (
        "codec-kafka",
        include_bytes!(concat!(env!("OUT_DIR"), "/codec-kafka.wasm")),
    ),
    (
        "codec-amqp",
        include_bytes!(concat!(env!("OUT_DIR"), "/codec-amqp.wasm")),
    ),
];

/// Where a listener's codec comes from.
#[derive(Clone, Debug)]
pub enum CodecSource {
    /// Embedded in the binary.
    Builtin(&'static str, &'static [u8]),
    /// A component file, re-read on reload.
    File(PathBuf),
}

impl CodecSource {
    /// Parses a listener's `codec` setting: `builtin:NAME` or a path.
    pub fn parse(setting: &str) -> Result<Self, String> {
        match setting.strip_prefix(BUILTIN_PREFIX) {
            Some(name) => BUILTIN_CODECS
                .iter()
                .find(|(builtin, _)| *builtin == name)
                .map(|(name, bytes)| CodecSource::Builtin(name, bytes))
                .ok_or_else(|| {
                    let known: Vec<_> = BUILTIN_CODECS.iter().map(|(n, _)| *n).collect();
                    format!(
                        "no built-in codec `{name}`; built-in codecs: {}",
                        known.join(", ")
                    )
                }),
            None => Ok(CodecSource::File(PathBuf::from(setting))),
        }
    }
}

/// The codec a listener gives new connections. Swapping it never touches open connections:
/// each holds its own session, which keeps the old plugin alive until the connection closes.
pub struct CodecSlot {
    listener: String,
    source: CodecSource,
    host: Arc<dyn HostBroker>,
    limits: Limits,
    current: RwLock<Arc<CodecPlugin>>,
}

impl CodecSlot {
    /// Loads the listener's codec for the first time.
    pub async fn load(
        runtime: &Runtime,
        listener: &str,
        source: CodecSource,
        host: Arc<dyn HostBroker>,
        limits: Limits,
    ) -> Result<Self, LoadError> {
        let plugin = load(runtime, &source, host.clone(), limits.clone()).await?;
        log_loaded(listener, &plugin, "codec loaded");
        Ok(CodecSlot {
            listener: listener.to_string(),
            source,
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

    /// Re-reads a file-based codec and swaps it in if its content changed. Returns whether it
    /// swapped. On error the running version stays.
    pub async fn reload(&self, runtime: &Runtime) -> Result<bool, LoadError> {
        let CodecSource::File(path) = &self.source else {
            return Ok(false);
        };
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let old = self.current();
        if sluice_plugin_runtime::sha256_hex(&bytes) == old.sha256() {
            return Ok(false);
        }
        let new = runtime
            .load_codec(
                &path.display().to_string(),
                &bytes,
                self.host.clone(),
                self.limits.clone(),
            )
            .await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = new.clone();
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

    /// The listener this slot serves.
    pub fn listener(&self) -> &str {
        &self.listener
    }
}

async fn load(
    runtime: &Runtime,
    source: &CodecSource,
    host: Arc<dyn HostBroker>,
    limits: Limits,
) -> Result<Arc<CodecPlugin>, LoadError> {
    match source {
        CodecSource::Builtin(name, bytes) => {
            let label = format!("{BUILTIN_PREFIX}{name}");
            runtime.load_codec(&label, bytes, host, limits).await
        }
        CodecSource::File(path) => runtime.load_codec_file(path, host, limits).await,
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
