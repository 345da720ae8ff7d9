#!/usr/bin/env bash
# Local AWS API emulator (moto server) for tests and the demo; loopback only.
#
#   source scripts/moto.sh && moto_start   # sets AWS_ENDPOINT_URL, stops on exit
#   scripts/moto.sh install                # just create the venv
#
# The venv lives outside the clone and is reused; the version is pinned.
# The server runs through scripts/moto-server (scripts/moto_server.py: moto
# with vpcform's transit-gateway corrections, docs/moto.md).
MOTO_VERSION="5.2.5"
MOTO_VENV="${VPCFORM_MOTO_VENV:-$HOME/.cache/vpcform/moto-$MOTO_VERSION}"
MOTO_SERVER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/moto-server"

moto_install() {
  if [ -x "$MOTO_VENV/bin/moto_server" ]; then return 0; fi
  echo "==> installing moto[server]==$MOTO_VERSION into $MOTO_VENV" >&2
  python3 -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

moto_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

moto_start() {
  moto_install || return 1
  local port
  port="$(moto_free_port)"
  MOTO_LOG="$(mktemp -t vpcform-moto.XXXXXX.log)"
  "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  trap moto_stop EXIT
  local i
  for i in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
      export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
      export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
      export AWS_REGION="${AWS_REGION:-us-east-1}"
      export VPCFORM_MOTO_PID="$MOTO_PID"
      echo "==> moto $MOTO_VERSION listening on $AWS_ENDPOINT_URL" >&2
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "moto did not start; its log:" >&2
  cat "$MOTO_LOG" >&2
  return 1
}

moto_stop() {
  if [ -n "${MOTO_PID:-}" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null
    wait "$MOTO_PID" 2>/dev/null
  fi
  [ -n "${MOTO_LOG:-}" ] && rm -f "$MOTO_LOG"
  MOTO_PID=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) moto_install ;;
    *) echo "usage: scripts/moto.sh install   (or source it and call moto_start)" >&2; exit 2 ;;
  esac
fi
