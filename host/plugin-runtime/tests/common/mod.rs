//! What the integration tests share: the guest components, and a runtime to load them with.
//!
//! The guests are the crates under `tests/guests/`, built for `wasm32-wasip2`. Each is read from
//! `SLUICE_GUEST_<NAME>` (e.g. `SLUICE_GUEST_FILTER_ECHO` for `sluice-guest-filter-echo`) when
//! set; otherwise they are all built once per test binary, by a nested cargo in its own target
//! directory (`SLUICE_GUESTS_TARGET_DIR`, default `target/guests`), so `cargo test` needs no
//! step before it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every guest the tests use, by package.
const GUESTS: &[&str] = &[
    "sluice-guest-filter-echo",
    "sluice-guest-filter-loop",
    "sluice-guest-filter-alloc",
    "sluice-guest-filter-trap",
    "sluice-guest-router-first",
    "sluice-guest-codec-loop",
    "sluice-guest-filter-old-wit",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bytes of a guest component, by package name.
pub fn guest(package: &str) -> Vec<u8> {
    let var = format!(
        "SLUICE_GUEST_{}",
        package
            .trim_start_matches("sluice-guest-")
            .replace('-', "_")
            .to_uppercase()
    );
    let path = match std::env::var_os(&var) {
        Some(path) => PathBuf::from(path),
        None => built_guests()
            .join("wasm32-wasip2/plugin")
            .join(format!("{}.wasm", package.replace('-', "_"))),
    };
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Builds every guest once (cargo skips what is up to date); returns the target directory.
fn built_guests() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = std::env::var_os("SLUICE_GUESTS_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target/guests"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace())
            .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2"])
            .arg("--target-dir")
            .arg(&target_dir);
        for package in GUESTS {
            build.args(["-p", package]);
        }
        // Settings meant for the host build must not leak into a build for another target.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if (key.starts_with("CARGO_") && key != "CARGO_HOME")
                || key.starts_with("RUSTC")
                || key.starts_with("RUSTFLAGS")
            {
                build.env_remove(&key);
            }
        }
        let status = build.status().expect("run cargo to build the test guests");
        assert!(
            status.success(),
            "building the test guests failed: {status}"
        );
        target_dir
    })
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
