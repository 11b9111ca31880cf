//! Compiled plugins cached on disk, keyed by the component's content hash and the engine's
//! compatibility hash, so a restart (or a reload of an unchanged file) skips compilation.
//!
//! The cache is an optimisation only: any failure to read or write it is logged and the
//! component is compiled as if there were no cache.
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The SHA-256 of a plugin's bytes, lowercase hex: its identity in logs and in the cache.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// Changes whenever the engine's version or settings would make old code unusable.
    engine_key: String,
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    pub(crate) fn get(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file is code this process (or an earlier one with the same engine key)
        // compiled and wrote into the broker's own data directory; wasmtime still checks the
        // header for engine compatibility and refuses a mismatch.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable plugin cache entry");
                None
            }
        }
    }

    pub(crate) fn put(&self, sha256: &str, component: &Component) {
        let result = (|| -> anyhow::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let bytes = component
                .serialize()
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let path = self.path(sha256);
            // Write then rename, so a reader never sees a half-written entry.
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot write plugin cache entry");
        }
    }
}
