//! `sluice repair`: opens the data directory the way `serve` does, but reading every batch of
//! every segment, and cutting a damaged log at its first invalid batch instead of refusing to
//! start. Storage moves what it cuts to `lost+found/`; this reports it.
use std::path::Path;

use anyhow::Context;
use sluice_storage::{Storage, StorageConfig};

use crate::config::Config;

/// Repairs `config.data_dir`, printing what was moved aside.
pub fn run(config: &Config) -> anyhow::Result<()> {
    let lost_found = config.data_dir.join("lost+found");
    let before = files_under(&lost_found);
    let storage = Storage::open(StorageConfig {
        repair: true,
        ..crate::server::storage_config(config)?
    })
    .with_context(|| format!("repairing data directory {}", config.data_dir.display()))?;
    storage.flush().context("flushing after repair")?;
    let moved: Vec<_> = files_under(&lost_found)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if moved.is_empty() {
        println!("{}: every segment is intact", config.data_dir.display());
    } else {
        println!(
            "{}: cut damaged logs; moved aside into {}:",
            config.data_dir.display(),
            lost_found.display()
        );
        for file in moved {
            println!("  {}", file.display());
        }
    }
    Ok(())
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
