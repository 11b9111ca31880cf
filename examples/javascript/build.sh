#!/usr/bin/env bash
# Builds the JavaScript examples and the JavaScript SDK's templates into components:
#   ${SLUICE_EXAMPLES_OUT:-<repo>/target/examples}/javascript/<name>.wasm
# for drop-pattern, redact-json, template-filter, template-router and template-codec.
#
# Installs the SDK's npm packages (componentize-js, jco, rolldown; about 385 MB) as
# sdk/javascript/package-lock.json pins them, only when that file changed since the last install
# (a stamp in node_modules), and rebuilds a
# component only when it is older than one of its inputs (its source directory, the SDK, wit/):
# each build takes 30 to 70 s of one core and some 800 MB of memory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SDK="$ROOT/sdk/javascript"
OUT="${SLUICE_EXAMPLES_OUT:-$ROOT/target/examples}/javascript"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "build.sh: needs Node.js 20.19 or later and npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

LOCK_SUM="$(sha256sum "$SDK/package-lock.json" | cut -d' ' -f1)"
STAMP="$SDK/node_modules/.package-lock.sha256"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$LOCK_SUM" ]; then
  # `npm install` rather than `npm ci`: both install the locked versions, but npm 11's `npm ci`
  # refuses a lock without the other platforms' optional binaries (rolldown's, jco's), and a lock
  # made where the registry does not serve those (as on our test machines) has none.
  (cd "$SDK" && npm install --no-audit --no-fund --loglevel=error)
  echo "$LOCK_SUM" > "$STAMP"
fi

# Whether $1 is missing or older than any file under the directories that follow.
stale() {
  local out="$1"
  shift
  [ ! -f "$out" ] || [ -n "$(find "$@" -path '*/node_modules' -prune -o -type f \
    ! -name '*.wasm' -newer "$out" -print -quit)" ]
}

# build <name> <kind> <source file>: the source's directory is its input, with the SDK and wit/.
build() {
  local name="$1" kind="$2" source="$3"
  local out="$OUT/$name.wasm"
  if stale "$out" "$(dirname "$source")" "$SDK/sluice-sdk.js" "$SDK/lib" "$SDK/bin" \
      "$SDK/package-lock.json" "$ROOT/wit"; then
    node "$SDK/bin/sluice-build-js.js" "$kind" "$source" "$out"
  else
    echo "$out: up to date"
  fi
}

build drop-pattern filter "$ROOT/examples/javascript/drop-pattern/drop-pattern.js"
build redact-json filter "$ROOT/examples/javascript/redact-json/redact-json.js"
build template-filter filter "$SDK/templates/filter/filter.js"
build template-router router "$SDK/templates/router/router.js"
build template-codec codec "$SDK/templates/codec/codec.js"
