#!/usr/bin/env bash
# The main job, as a new user would run it on a fresh machine: build vpcform,
# start a local moto server (loopback only), and walk topology.yaml through
# validate → plan → apply → plan (no changes) → destroy.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/moto.sh"
cd "$VPCFORM_ROOT"

log "building vpcform"
cargo build --quiet --bin vpcform
moto_start

step() { printf '\n\033[1;36m$ vpcform %s\033[0m\n' "$*"; "$VPCFORM_BIN" "$@"; }

step validate -f topology.yaml
step graph -f topology.yaml --format mermaid | head -5 && echo "  ..."
step plan -f topology.yaml --stats
step apply -f topology.yaml --auto-approve
step plan -f topology.yaml --detailed-exitcode --stats
step destroy -f topology.yaml --auto-approve
step plan -f topology.yaml --format markdown | head -12
log "demo finished: the account was built, verified unchanged, and destroyed"
