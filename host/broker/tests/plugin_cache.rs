//! Compiled plugins are cached on disk by content hash and engine, reused, and a damaged entry
//! costs a recompile, never a failed load.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use sluice_broker::plugins::BUILTIN_CODECS;
use sluice_broker::service::{BrokerService, ServicePolicy};
use sluice_groups::Coordinator;
use sluice_plugin_runtime::{Limits, Runtime};
use sluice_storage::{Storage, StorageConfig};

fn kafka_codec() -> &'static [u8] {
    BUILTIN_CODECS
        .iter()
        .find(|(name, _)| *name == "codec-kafka")
        .unwrap()
        .1
}

fn cache_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

async fn load(cache: &Path, storage: &Arc<Storage>) -> String {
    let runtime = Runtime::new(Some(cache.to_path_buf())).unwrap();
    let groups =
        Coordinator::open(&storage.config().dir.join("groups"), Default::default()).unwrap();
    let policy = ServicePolicy {
        auto_create: true,
        default_partitions: 1,
        ..ServicePolicy::default()
    };
    let queues = sluice_queues::Queues::open(storage.clone(), Default::default()).unwrap();
    let host = Arc::new(BrokerService::new(
        storage.clone(),
        Arc::new(groups),
        Arc::new(queues),
        policy,
    ));
    let plugin = runtime
        .load_codec(
            "builtin:codec-kafka",
            kafka_codec(),
            host,
            Limits::default(),
        )
        .await
        .unwrap();
    assert_eq!(plugin.info().name, "codec-kafka");
    plugin.sha256().to_string()
}

/// A fresh data directory with storage open in it.
fn storage() -> (tempfile::TempDir, Arc<Storage>) {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        dir: dir.path().join("data"),
        ..Default::default()
    };
    let storage = Arc::new(Storage::open(config).unwrap());
    (dir, storage)
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_plugins_are_cached_by_content_hash_and_reused() {
    let (dir, storage) = storage();
    let cache = dir.path().join("plugin-cache");

    let sha256 = load(&cache, &storage).await;
    let entries = cache_entries(&cache);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let name = entries[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&sha256) && name.ends_with(".cwasm"),
        "{name}"
    );
    let written = std::fs::metadata(&entries[0]).unwrap().modified().unwrap();

    // A second broker process (a new runtime) loads from the cache instead of compiling.
    load(&cache, &storage).await;
    assert_eq!(cache_entries(&cache), entries);
    assert_eq!(
        std::fs::metadata(&entries[0]).unwrap().modified().unwrap(),
        written,
        "entry was rewritten"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_cache_entry_is_recompiled_not_fatal() {
    let (dir, storage) = storage();
    let cache = dir.path().join("plugin-cache");
    load(&cache, &storage).await;
    let entry = cache_entries(&cache).pop().unwrap();
    std::fs::write(&entry, b"not compiled code").unwrap();

    load(&cache, &storage).await;
    assert_ne!(
        std::fs::read(&entry).unwrap(),
        b"not compiled code",
        "the damaged entry was not replaced"
    );
}
