//! The wasmtime engines plugins run on, their epoch ticker, and loading.
//!
//! Two engines: codecs are called asynchronously (`call_async` on a fiber, see `codec`),
//! routers and filters synchronously (see `policy`). Their stack settings differ, and are set
//! together here because one nests in the other: a codec's host import may route or filter,
//! running a policy plugin on the codec's fiber stack.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::filter::Filter;
use crate::bindings::router::Router;
use crate::cache::ComponentCache;
use crate::codec::CodecPlugin;
use crate::error::LoadError;
use crate::host::HostBroker;
use crate::limits::Limits;
use crate::policy::filter::FilterPlugin;
use crate::policy::router::RouterPlugin;
use crate::policy::{Policy, World};
use crate::sandbox::StoreState;

/// How often the engine's epoch advances. Call deadlines are counted in these ticks, so a
/// deadline is honoured to within one tick; 10 ms keeps the ticker's cost negligible.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Wasm stack a call may use, on both engines (wasmtime's default, made explicit because the
/// fiber stack below is sized from it).
const WASM_STACK_BYTES_MAX: usize = 512 << 10;

/// The stack of the fiber a codec call runs on. It must hold, at once: the codec's Wasm frames
/// (up to [`WASM_STACK_BYTES_MAX`]), the host frames of the import the codec called (the
/// broker's send path, the address model), then, when that import routes or filters, the
/// router's or filter's Wasm frames (up to [`WASM_STACK_BYTES_MAX`] again, since its engine
/// measures its limit from where its call starts) and the host frames of its own imports.
/// wasmtime's default (2 MiB) would leave the host frames 1 MiB; 4 MiB leaves them 3 MiB, more
/// than any host path here needs. The stack is reserved, not committed: the pages a call does
/// not touch cost nothing.
const CODEC_FIBER_STACK_BYTES: usize = 4 << 20;

/// Owns the engines every plugin is compiled for and runs on, and the thread that advances
/// their epochs. Dropping it stops the thread.
pub struct Runtime {
    /// Codecs: called asynchronously, on fibers.
    engine: Engine,
    cache: Option<Arc<ComponentCache>>,
    /// Routers and filters: called synchronously (no async host functions are ever linked on
    /// it), interrupted by an epoch deadline that traps.
    policy_engine: Engine,
    policy_cache: Option<Arc<ComponentCache>>,
    ticker: Option<Ticker>,
}

impl Runtime {
    /// The engines, with epoch interruption on, and compiled code cached under `cache_dir`
    /// (`None`: no cache, every load compiles).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, LoadError> {
        let engine_error = |e: wasmtime::Error| LoadError::Engine(format!("{e:#}"));
        let mut config = base_config();
        config.async_stack_size(CODEC_FIBER_STACK_BYTES);
        let engine = Engine::new(&config).map_err(engine_error)?;
        let policy_engine = Engine::new(&base_config()).map_err(engine_error)?;
        let cache = cache_dir
            .as_ref()
            .map(|dir| Arc::new(ComponentCache::new(dir.clone(), &engine)));
        let policy_cache = cache_dir.map(|dir| Arc::new(ComponentCache::new(dir, &policy_engine)));
        let ticker = Ticker::start(vec![engine.clone(), policy_engine.clone()])
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        Ok(Runtime {
            engine,
            cache,
            policy_engine,
            policy_cache,
            ticker: Some(ticker),
        })
    }

    /// Loads a router plugin from the bytes of a component: compiles it (or takes it from the
    /// cache), checks it implements `sluice:plugin/router@0.5.0`, and starts one instance to
    /// learn its name and version. `label` names it in logs and errors.
    pub async fn load_router(
        &self,
        label: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Arc<RouterPlugin>, LoadError> {
        let policy = self.load_policy::<Router>(label, bytes, limits).await?;
        Ok(Arc::new(RouterPlugin::new(policy)))
    }

    /// Loads a filter plugin, as [`Runtime::load_router`] loads a router; the world is
    /// `sluice:plugin/filter@0.5.0`.
    pub async fn load_filter(
        &self,
        label: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Arc<FilterPlugin>, LoadError> {
        let policy = self.load_policy::<Filter>(label, bytes, limits).await?;
        Ok(Arc::new(FilterPlugin::new(policy)))
    }

    async fn load_policy<W: World>(
        &self,
        label: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Policy<W>, LoadError> {
        // Compiling takes from milliseconds to seconds, and the first instance's start and
        // `info` call are synchronous: all of it stays off the async runtime's threads.
        let (engine, cache) = (self.policy_engine.clone(), self.policy_cache.clone());
        let (label, bytes) = (label.to_string(), bytes.to_vec());
        tokio::task::spawn_blocking(move || {
            let sha256 = crate::cache::sha256_hex(&bytes);
            let component = compile(&engine, cache.as_deref(), &label, &bytes, &sha256)?;
            Policy::load(&engine, &component, &label, sha256, limits)
        })
        .await
        .map_err(|e| LoadError::Engine(format!("load task: {e}")))?
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

/// What both engines share: epoch interruption, the component model, the Wasm stack limit.
fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config.max_wasm_stack(WASM_STACK_BYTES_MAX);
    // For profiling: `perf` reads the names of compiled plugin functions from
    // /tmp/perf-<pid>.map. Off by default, as it writes a file per process.
    if std::env::var_os("SLUICE_WASM_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
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

/// The thread that advances the engines' epochs every [`EPOCH_TICK`].
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Ticker {
    fn start(engines: Vec<Engine>) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    for engine in &engines {
                        engine.increment_epoch();
                    }
                }
            })?;
        Ok(Ticker { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
