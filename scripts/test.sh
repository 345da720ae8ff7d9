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

moto_install
# End-to-end tests start a private moto server each (parallel, no shared state).
export VPCFORM_MOTO_SERVER="$MOTO_VENV/bin/moto_server"

if command -v cargo-nextest >/dev/null 2>&1; then
  log "cargo nextest run --workspace"
  cargo nextest run --workspace --no-fail-fast
else
  log "cargo test --workspace (install cargo-nextest for per-test processes)"
  cargo test --workspace --lib --bins --tests --no-fail-fast
fi
