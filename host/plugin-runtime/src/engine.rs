//! The wasmtime engine shared by every plugin, its epoch ticker, and loading.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::cache::ComponentCache;
use crate::codec::CodecPlugin;
use crate::error::LoadError;
use crate::host::HostBroker;
use crate::limits::Limits;
use crate::sandbox::StoreState;

/// How often the engine's epoch advances. Call deadlines are counted in these ticks, so a
/// deadline is honoured to within one tick; 10 ms keeps the ticker's cost negligible.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Owns the engine every plugin is compiled for and runs on, and the thread that advances its
/// epoch. Dropping it stops the thread.
pub struct Runtime {
    engine: Engine,
    cache: Option<Arc<ComponentCache>>,
    ticker: Option<Ticker>,
}

impl Runtime {
    /// An engine with epoch interruption on, and compiled code cached under `cache_dir`
    /// (`None`: no cache, every load compiles).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, LoadError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        // For profiling: `perf` reads the names of compiled plugin functions from
        // /tmp/perf-<pid>.map. Off by default, as it writes a file per process.
        if std::env::var_os("SLUICE_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let cache = cache_dir.map(|dir| Arc::new(ComponentCache::new(dir, &engine)));
        let ticker = Ticker::start(engine.clone()).map_err(|e| LoadError::Engine(e.to_string()))?;
        Ok(Runtime {
            engine,
            cache,
            ticker: Some(ticker),
        })
    }

    /// Loads a codec plugin from a file. `name` labels it in logs and errors.
    pub async fn load_codec_file(
        &self,
        path: &Path,
        host: Arc<dyn HostBroker>,
        limits: Limits,
    ) -> Result<Arc<CodecPlugin>, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_codec(&path.display().to_string(), &bytes, host, limits)
            .await
    }

    /// Loads a codec plugin from the bytes of a component: compiles it (or takes it from the
    /// cache), checks it implements `sluice:plugin/codec@0.5.0`, and starts one instance to
    /// learn its name and version.
    pub async fn load_codec(
        &self,
        name: &str,
        bytes: &[u8],
        host: Arc<dyn HostBroker>,
        limits: Limits,
    ) -> Result<Arc<CodecPlugin>, LoadError> {
        let sha256 = crate::cache::sha256_hex(bytes);
        // Compiling takes from milliseconds to seconds: keep it off the async runtime's threads.
        let (engine, cache) = (self.engine.clone(), self.cache.clone());
        let (label, owned, key) = (name.to_string(), bytes.to_vec(), sha256.clone());
        let component = tokio::task::spawn_blocking(move || {
            compile(&engine, cache.as_deref(), &label, &owned, &key)
        })
        .await
        .map_err(|e| LoadError::Engine(format!("compile task: {e}")))??;
        let mut linker: Linker<StoreState> = Linker::new(&self.engine);
        link(&mut linker).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        CodecPlugin::new(
            &self.engine,
            &linker,
            &component,
            name,
            sha256,
            host,
            limits,
        )
        .await
    }
}

fn compile(
    engine: &Engine,
    cache: Option<&ComponentCache>,
    name: &str,
    bytes: &[u8],
    sha256: &str,
) -> Result<Component, LoadError> {
    if let Some(component) = cache.and_then(|cache| cache.get(engine, sha256)) {
        return Ok(component);
    }
    let component = Component::new(engine, bytes).map_err(|e| LoadError::Invalid {
        name: name.to_string(),
        detail: format!("{e:#}"),
    })?;
    if let Some(cache) = cache {
        cache.put(sha256, &component);
    }
    Ok(component)
}

/// Links everything a codec may import: the host's own interfaces, and WASI with nothing
/// granted (see `sandbox`).
fn link(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    crate::bindings::Codec::add_to_linker::<StoreState, wasmtime::component::HasSelf<StoreState>>(
        linker,
        |state| state,
    )?;
    crate::host::link_zero_copy_append(linker)
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

/// The thread that advances the engine's epoch every [`EPOCH_TICK`].
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Ticker {
    fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
