#!/usr/bin/env bash
# Benchmarks (release build): topology load, connectivity diff and reach,
# plan and apply against local moto.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/moto.sh"
cd "$VPCFORM_ROOT"
moto_install
export VPCFORM_MOTO_SERVER="$MOTO_SERVER"
# Dummy credentials: the benchmarks only talk to local moto.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
cargo bench -p vpcform-topology --bench load
cargo bench -p vpcform-cli --bench aws
cargo bench -p vpcform-reach --bench connectivity
# DuckDB answers the same flow-log questions side by side (a venv beside moto's).
BENCH_VENV="$HOME/.cache/vpcform/bench-venv"
[ -x "$BENCH_VENV/bin/python" ] || python3 -m venv "$BENCH_VENV"
"$BENCH_VENV/bin/pip" install --quiet --disable-pip-version-check duckdb==1.1.3
VPCFORM_DUCKDB_PYTHON="$BENCH_VENV/bin/python" cargo bench -p vpcform-insights --bench flowlogs
