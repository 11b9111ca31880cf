#!/usr/bin/env bash
# Runs every test of Sluice, on a fresh clone or a developer's tree (the README's test command;
# .ci/run calls it):
#   1. installs what the tests need: Debian's kcat, Node.js and chromium (only if missing), a
#      Python venv in .venv with tests/requirements.txt (reinstalled only when that file changes),
#      and tests/node's npm packages (kafkajs) with `npm ci` into tests/node/node_modules
#      (reinstalled only when tests/node/package-lock.json changes);
#   2. builds the broker, which builds and embeds the built-in Wasm plugins;
#   3. builds the test artifacts: the hostile guest codecs and filters (tests/guests/), two
#      builds each of the Kafka codec, the key-hash router and the match filter, told apart by
#      SLUICE_BUILD_TAG, for the hot-swap tests, and the example plugins and SDK templates in
#      Rust, Python and JavaScript (examples/*/build.sh, into target/examples);
#   4. runs the Rust tests (cargo test --release --workspace: release, so it reuses step 2's build);
#   5. runs the end-to-end suite (tests/e2e, pytest) against the built broker.
# Arguments go to pytest, e.g. `bash tests/run.sh -k hot_swap -x`.
# SLUICE_SKIP_CARGO_TEST=1 skips step 4, for iterating on the end-to-end suite.
# Exits non-zero if anything fails; steps 4 and 5 both run even if one of them fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Every test is bounded by pytest-timeout; this is the limit for a test that sets none.
E2E_TEST_TIMEOUT_S=300

section() { printf '\n==== %s (%ss elapsed) ====\n' "$*" "$SECONDS"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

section "1/5 test tools: kcat, Node.js and kafkajs, chromium, the Python venv (.venv)"
if ! command -v kcat >/dev/null 2>&1; then
  apt_install kcat
fi
kcat -V 2>&1 | grep -m1 '^Version' || true
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
LOCK_SUM="$(sha256sum tests/node/package-lock.json | cut -d' ' -f1)"
if [ "$(cat tests/node/node_modules/.package-lock.sha256 2>/dev/null || true)" != "$LOCK_SUM" ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
  echo "$LOCK_SUM" > tests/node/node_modules/.package-lock.sha256
fi
echo "node $(node --version) | kafkajs $(node -p "require('./tests/node/node_modules/kafkajs/package.json').version")"
# The console's browser test drives Debian's chromium (tests/e2e/console_browser.py).
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
/usr/bin/chromium --version 2>/dev/null || true

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv; then
    # Debian's python3 ships venv's ensurepip separately.
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
REQUIREMENTS_SUM="$(sha256sum tests/requirements.txt | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha256 2>/dev/null || true)" != "$REQUIREMENTS_SUM" ]; then
  # Wheels only for the clients with native code: building librdkafka (or aiokafka's C
  # extensions) from source is not a test's business.
  .venv/bin/python -m pip install --disable-pip-version-check -q \
    --only-binary=confluent-kafka,aiokafka -r tests/requirements.txt
  echo "$REQUIREMENTS_SUM" > .venv/.requirements.sha256
fi
.venv/bin/python -c 'import sys, confluent_kafka as ck, kafka, aiokafka, pytest; print("python", sys.version.split()[0], "| confluent-kafka", ck.__version__, "(librdkafka", ck.libversion()[0] + ") | kafka-python", kafka.__version__, "| aiokafka", aiokafka.__version__, "| pytest", pytest.__version__)'

section "2/5 build the broker (cargo build --release -p sluice)"
# The toolchain and the wasm32-wasip2 target pinned in rust-toolchain.toml; a no-op when present
# (and needed where RUSTUP_AUTO_INSTALL=0 turns rustup's automatic install off).
if command -v rustup >/dev/null 2>&1; then
  rustup toolchain install
fi
cargo --version
cargo build --release -p sluice

section "3/5 build test artifacts: hostile guests, tagged builds for the swap tests, the examples in three languages"
cargo build --profile plugin --target wasm32-wasip2 \
  -p sluice-guest-codec-loop -p sluice-guest-codec-alloc -p sluice-guest-codec-trap \
  -p sluice-guest-filter-loop -p sluice-guest-filter-alloc -p sluice-guest-filter-trap \
  -p sluice-guest-filter-echo -p sluice-guest-router-first -p sluice-guest-filter-old-wit
for tag in swap-a swap-b; do
  SLUICE_BUILD_TAG="$tag" cargo build --profile plugin --target wasm32-wasip2 \
    -p sluice-codec-kafka -p sluice-router-key-hash -p sluice-filter-match \
    --target-dir "target/$tag"
done

# The example plugins in Rust, Python (componentize-py, from the venv) and JavaScript
# (componentize-js, from npm), with each SDK's templates, into target/examples/<language>/.
export SLUICE_EXAMPLES_OUT="$ROOT/target/examples"
export SLUICE_EXAMPLES_DIR="$SLUICE_EXAMPLES_OUT"
bash examples/rust/build.sh
bash examples/python/build.sh
bash examples/javascript/build.sh

# Where steps 2 and 3 built: cargo's target directory, which CARGO_TARGET_DIR may move.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Cargo reads a relative CARGO_TARGET_DIR from here ($ROOT); the tests run brokers elsewhere.
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
export SLUICE_BIN="$TARGET_DIR/release/sluice"
export SLUICE_GUEST_LOOP="$TARGET_DIR/wasm32-wasip2/plugin/sluice_guest_codec_loop.wasm"
export SLUICE_GUEST_ALLOC="$TARGET_DIR/wasm32-wasip2/plugin/sluice_guest_codec_alloc.wasm"
export SLUICE_GUEST_TRAP="$TARGET_DIR/wasm32-wasip2/plugin/sluice_guest_codec_trap.wasm"
export SLUICE_GUEST_FILTER_LOOP="$TARGET_DIR/wasm32-wasip2/plugin/sluice_guest_filter_loop.wasm"
export SLUICE_GUEST_FILTER_TRAP="$TARGET_DIR/wasm32-wasip2/plugin/sluice_guest_filter_trap.wasm"
export SLUICE_GUEST_FILTER_OLD_WIT="$TARGET_DIR/wasm32-wasip2/plugin/sluice_guest_filter_old_wit.wasm"
export SLUICE_CODEC_SWAP_A="$ROOT/target/swap-a/wasm32-wasip2/plugin/sluice_codec_kafka.wasm"
export SLUICE_CODEC_SWAP_B="$ROOT/target/swap-b/wasm32-wasip2/plugin/sluice_codec_kafka.wasm"
export SLUICE_ROUTER_SWAP_A="$ROOT/target/swap-a/wasm32-wasip2/plugin/sluice_router_key_hash.wasm"
export SLUICE_ROUTER_SWAP_B="$ROOT/target/swap-b/wasm32-wasip2/plugin/sluice_router_key_hash.wasm"
export SLUICE_FILTER_SWAP_A="$ROOT/target/swap-a/wasm32-wasip2/plugin/sluice_filter_match.wasm"
export SLUICE_FILTER_SWAP_B="$ROOT/target/swap-b/wasm32-wasip2/plugin/sluice_filter_match.wasm"
for artifact in "$SLUICE_BIN" "$SLUICE_GUEST_LOOP" "$SLUICE_GUEST_ALLOC" "$SLUICE_GUEST_TRAP" \
                "$SLUICE_GUEST_FILTER_LOOP" "$SLUICE_GUEST_FILTER_TRAP" "$SLUICE_GUEST_FILTER_OLD_WIT" \
                "$SLUICE_CODEC_SWAP_A" "$SLUICE_CODEC_SWAP_B" \
                "$SLUICE_ROUTER_SWAP_A" "$SLUICE_ROUTER_SWAP_B" \
                "$SLUICE_FILTER_SWAP_A" "$SLUICE_FILTER_SWAP_B"; do
  if [ ! -f "$artifact" ]; then
    echo "missing build artifact: $artifact" >&2
    exit 1
  fi
  printf '%s  %s\n' "$(sha256sum "$artifact" | cut -c1-12)" "${artifact#"$ROOT"/}"
done

FAILED=()

if [ "${SLUICE_SKIP_CARGO_TEST:-0}" = 1 ]; then
  section "4/5 Rust tests: skipped (SLUICE_SKIP_CARGO_TEST=1)"
else
  section "4/5 Rust tests (cargo test --release --workspace)"
  if ! cargo test --release --workspace; then
    FAILED+=("cargo test")
  fi
  # The benchmarks are not run here (they measure, on a quiet machine), but they must build.
  if ! cargo build --release -p sluice --benches; then
    FAILED+=("cargo build --benches")
  fi
fi

# The Python SDK's helpers, on the host (a second; the components are tested end to end).
if ! .venv/bin/python -m pytest sdk/python/tests -q -p no:cacheprovider; then
  FAILED+=("pytest sdk/python/tests")
fi

section "5/5 end-to-end tests (pytest tests/e2e)"
# A broker holds one socket per connection; the memory test opens 1,000.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p target/test-reports
if ! .venv/bin/python -m pytest tests/e2e -v --timeout="$E2E_TEST_TIMEOUT_S" \
    --junitxml=target/test-reports/e2e.xml "$@"; then
  FAILED+=("pytest tests/e2e")
fi

if [ "${#FAILED[@]}" -gt 0 ]; then
  printf '\n==== FAILED: %s ====\n' "${FAILED[*]}"
  exit 1
fi
