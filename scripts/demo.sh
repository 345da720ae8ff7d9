#!/usr/bin/env bash
# The main job, as a new user would run it on a fresh machine: build vpcform,
# start a local moto server, and walk topology.yaml through vpcform.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/moto.sh"
cd "$VPCFORM_ROOT"

log "building vpcform"
cargo build --quiet --bin vpcform
moto_start

step() { printf '\n\033[1;36m$ vpcform %s\033[0m\n' "$*"; "$VPCFORM_BIN" "$@"; }

step validate -f topology.yaml
step graph -f topology.yaml --format mermaid
step validate -f examples/peering-without-routes.yaml
log "demo finished"
