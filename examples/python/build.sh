#!/usr/bin/env bash
# Builds the Python examples and the Python SDK's templates into components, in one command:
#   bash examples/python/build.sh
# writing ${SLUICE_EXAMPLES_OUT:-<repo>/target/examples}/python/<name>.wasm for drop-pattern,
# redact-json, template-filter, template-router and template-codec.
#
# Needs componentize-py 0.25.1 (tests/requirements.txt puts it in the repo's .venv): it runs
# <repo>/.venv/bin/componentize-py, or $COMPONENTIZE_PY when set. Builds run side by side, one
# per core ($SLUICE_BUILD_JOBS to change that): each takes 10 to 20 s of CPU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${SLUICE_EXAMPLES_OUT:-$ROOT/target/examples}/python"
export COMPONENTIZE_PY="${COMPONENTIZE_PY:-$ROOT/.venv/bin/componentize-py}"
JOBS="${SLUICE_BUILD_JOBS:-$(nproc)}"
TOOL="$ROOT/sdk/python/sluice-build-py"
PYTHON="$ROOT/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3

if [ ! -x "$COMPONENTIZE_PY" ]; then
  echo "componentize-py not found at $COMPONENTIZE_PY: pip install componentize-py==0.25.1" \
    "into $ROOT/.venv (bash tests/run.sh does), or set COMPONENTIZE_PY" >&2
  exit 1
fi

# name, kind, app module
BUILDS=(
  "drop-pattern filter examples/python/drop-pattern/app.py"
  "redact-json filter examples/python/redact-json/app.py"
  "template-filter filter sdk/python/templates/filter/app.py"
  "template-router router sdk/python/templates/router/app.py"
  "template-codec codec sdk/python/templates/codec/app.py"
)

mkdir -p "$OUT"
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

# One build, its output kept apart so that side-by-side builds do not interleave.
build() {
  local name="$1" kind="$2" app="$3"
  if "$PYTHON" "$TOOL" "$kind" "$ROOT/$app" "$OUT/$name.wasm" >"$LOGS/$name" 2>&1; then
    cat "$LOGS/$name"
  else
    echo "FAILED: $name ($app)" >&2
    cat "$LOGS/$name" >&2
    return 1
  fi
}

started=$SECONDS
running=0
failed=0
for spec in "${BUILDS[@]}"; do
  read -r name kind app <<<"$spec"
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  build "$name" "$kind" "$app" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done

if [ "$failed" -ne 0 ]; then
  echo "examples/python/build.sh: a build failed (see above)" >&2
  exit 1
fi
echo "examples/python/build.sh: ${#BUILDS[@]} components in $OUT, $((SECONDS - started))s"
