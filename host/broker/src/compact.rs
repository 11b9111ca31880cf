//! `sluice compact`: opens the data directory the way `serve` does and compacts every
//! compacted topic (or one) at once, ignoring the dirty ratio the background cleaner waits for.
//! For operators who want the space back now, and for tests that need a compaction to have
//! happened at a known point.
use anyhow::Context;
use sluice_storage::{CompactionReport, Storage};

use crate::config::Config;
use crate::retention::now_ms;

/// Compacts `config.data_dir` (only `topic`, when given) and prints what it freed.
pub fn run(config: &Config, topic: Option<&str>) -> anyhow::Result<()> {
    let storage = Storage::open(crate::server::storage_config(config)?)
        .with_context(|| format!("opening data directory {}", config.data_dir.display()))?;
    let report: CompactionReport = match topic {
        Some(name) => storage
            .compact_topic(name, now_ms())
            .with_context(|| format!("compacting topic {name}"))?,
        None => storage.compact(now_ms(), true),
    };
    storage.flush().context("flushing after compaction")?;
    println!(
        "{}: compacted {} partitions, removed {} records, freed {} bytes",
        config.data_dir.display(),
        report.partitions_cleaned,
        report.records_removed,
        report.bytes_freed
    );
    Ok(())
}
