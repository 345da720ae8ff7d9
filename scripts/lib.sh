# Shared helpers for vpcform's scripts. Source it; do not run it.
# Builds go to a cache outside the clone so repeated runs (and CI on the same
# machine) reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vpcform/target}"
VPCFORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VPCFORM_BIN="$CARGO_TARGET_DIR/debug/vpcform"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
