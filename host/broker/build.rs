//! Builds the built-in plugins as `wasm32-wasip2` components and leaves them in `OUT_DIR`, where
//! `src/plugins.rs` embeds them: building the host builds the plugins.
//!
//! The plugins are built by a nested cargo in its own target directory (`target/plugins`), so
//! it never waits on the lock of the build that runs this script.
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, file name in OUT_DIR)
const BUILTIN_PLUGINS: &[(&str, &str)] = &[
    ("sluice-codec-kafka", "codec-kafka.wasm"),
    ("sluice-codec-amqp", "codec-amqp.wasm"),
    ("sluice-router-round-robin", "router-round-robin.wasm"),
    ("sluice-router-multicast", "router-multicast.wasm"),
    ("sluice-router-balanced", "router-balanced.wasm"),
    ("sluice-router-closest", "router-closest.wasm"),
    ("sluice-router-key-hash", "router-key-hash.wasm"),
    ("sluice-router-sharded", "router-sharded.wasm"),
    ("sluice-filter-selector", "filter-selector.wasm"),
    ("sluice-filter-match", "filter-match.wasm"),
];

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.join("../..");
    let out_dir = PathBuf::from(env("OUT_DIR"));
    for watched in ["plugins", "sdk", "wit", "Cargo.lock", "Cargo.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let target_dir = workspace.join("target").join("plugins");
    let mut cargo = Command::new(env("CARGO"));
    cargo
        .current_dir(&workspace)
        .args(["build", "--target", TARGET, "--profile", PROFILE]);
    cargo.arg("--target-dir").arg(&target_dir);
    for (package, _) in BUILTIN_PLUGINS {
        cargo.args(["-p", package]);
    }
    // The outer build's settings (flags for the host target, wrappers, its target dir) must not
    // leak into a build for another target. The jobserver (CARGO_MAKEFLAGS) is kept, so both
    // builds share the machine's cores instead of oversubscribing them.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let leaks = (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_MAKEFLAGS")
            || key.starts_with("RUSTC")
            || key.starts_with("RUSTFLAGS")
            || key == "RUSTDOCFLAGS";
        if leaks {
            cargo.env_remove(&key);
        }
    }
    let status = cargo
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build plugins: {e}"));
    if !status.success() {
        panic!(
            "building the built-in plugins failed ({status}); is the {TARGET} target installed? \
             rust-toolchain.toml asks rustup for it"
        );
    }
    for (package, file) in BUILTIN_PLUGINS {
        let built = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", package.replace('-', "_")));
        copy(&built, &out_dir.join(file));
    }
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("cargo sets {key} for build scripts"))
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
}
