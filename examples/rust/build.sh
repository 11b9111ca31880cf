#!/usr/bin/env bash
# Builds the Rust example plugins and the Rust SDK's starter templates as WebAssembly
# components, and copies them to ${SLUICE_EXAMPLES_OUT:-target/examples}/rust/<name>.wasm:
#
#   drop-pattern, redact-json, header-router, text-codec    examples/rust/* (workspace members)
#   template-filter, template-router, template-codec        sdk/rust/templates/* (standalone)
#
# The end-to-end tests read them from there (SLUICE_EXAMPLES_DIR, default target/examples).
# The examples build in the workspace's target directory (CARGO_TARGET_DIR is respected).
# Each template is a workspace of its own, built the way its lib.rs tells a user to
# (`cargo build --target wasm32-wasip2 --release`), into one target directory they share
# beside the output (<output's parent>/sdk-templates), kept between runs as a cache; their
# native unit tests run too, as a user's `cargo test` would.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

absolute() {
  case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac
}

OUT="$(absolute "${SLUICE_EXAMPLES_OUT:-target/examples}")"
TARGET_DIR="$(absolute "${CARGO_TARGET_DIR:-target}")"
TEMPLATES_TARGET="$(dirname "$OUT")/sdk-templates"
mkdir -p "$OUT/rust"

# name in the output : cargo package
EXAMPLES=(
  "drop-pattern:example-drop-pattern"
  "redact-json:example-redact-json"
  "header-router:example-header-router"
  "text-codec:example-text-codec"
)

packages=()
for entry in "${EXAMPLES[@]}"; do
  packages+=(-p "${entry#*:}")
done
cargo build --profile plugin --target wasm32-wasip2 "${packages[@]}"
for entry in "${EXAMPLES[@]}"; do
  name="${entry%%:*}" package="${entry#*:}"
  cp "$TARGET_DIR/wasm32-wasip2/plugin/${package//-/_}.wasm" "$OUT/rust/$name.wasm"
done

for kind in filter router codec; do
  (
    cd "sdk/rust/templates/$kind"
    cargo build --target wasm32-wasip2 --release --target-dir "$TEMPLATES_TARGET"
    cargo test --quiet --target-dir "$TEMPLATES_TARGET"
  )
  cp "$TEMPLATES_TARGET/wasm32-wasip2/release/my_$kind.wasm" "$OUT/rust/template-$kind.wasm"
done

for f in "$OUT"/rust/*.wasm; do
  printf '%s  %8d bytes  %s\n' "$(sha256sum "$f" | cut -c1-12)" "$(stat -c %s "$f")" "${f#"$ROOT"/}"
done
