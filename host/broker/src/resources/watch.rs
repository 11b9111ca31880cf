//! Polls the resources file and applies it when it changes: its modification time and size
//! are checked every `resources.poll-ms`; when they moved, its text is hashed, and applied if
//! the hash differs from the text last applied. A file that fails to parse, or cannot be
//! read, is reported and nothing is applied; a deleted file deletes nothing.
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;

use super::manager::Resources;
use super::target::ResourceTarget;

/// Applies the file of `resources` as it changes, until `stopped` turns true. Returns at once
/// when no file is configured.
pub async fn watch<T: ResourceTarget>(
    resources: Arc<Resources<T>>,
    mut stopped: watch::Receiver<bool>,
) {
    let Some(path) = resources.file().map(Path::to_path_buf) else {
        return;
    };
    let mut seen = fingerprint(&path);
    let mut ticks = tokio::time::interval(resources.poll());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate, and the start applied the file already.
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = crate::net::stopping(&mut stopped) => return,
        }
        let now = fingerprint(&path);
        if now != seen || now.is_none() || resources.retry_due() {
            seen = now;
            resources.apply_file_if_changed().await;
        }
    }
}

/// Modification time and size; `None` while the file cannot be read.
fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
