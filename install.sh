#!/usr/bin/env bash
# Sets up the broadcast kit.
#
#   ./install.sh --dev         any Debian/Ubuntu machine: the packages the kit and its
#                              tests need, and a virtualenv at .venv with `kit` in it
#   ./install.sh --dev --run   the same, then run the kit in simulation (test pattern,
#                              tone, mock pins) streaming to a local nginx RTMP ingest
#
# Idempotent and without questions: a second run only checks that all is there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# ffmpeg and ffprobe encode and check the media; nginx with the RTMP and stream
# modules is the test ingest (plain and TLS); the ALSA headers build pyalsaaudio;
# systemd brings systemd-analyze, which checks the service unit.
DEV_PACKAGES=(
  ffmpeg nginx libnginx-mod-rtmp libnginx-mod-stream
  libasound2-dev alsa-utils gcc python3-dev python3-venv
  openssl iproute2 procps ca-certificates shellcheck systemd
)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  command -v apt-get >/dev/null || die "this installer needs a Debian or Ubuntu system (apt-get)"
  local missing
  mapfile -t missing < <(missing_packages "$@")
  if [ "${#missing[@]}" -eq 0 ]; then
    say "system packages: all present"
    return
  fi
  say "installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

setup_venv() {
  local python="${PYTHON:-python3}"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer is needed (found $("$python" --version 2>&1))"
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$python" -m venv .venv
  fi
  say "installing the kit into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[alsa,test]"
}

sim_config() {
  mkdir -p sim
  if [ ! -f sim/kit.toml ]; then
    cat > sim/kit.toml <<EOF
# Simulation: a test pattern, a tone and gpiozero's mock pins stand in for the
# camera, the microphone and the button. Streams to the local test ingest.
[stream]
server = "rtmp://127.0.0.1:1935/live/"
key = "simulation?expire=0&sign=demo"
[recording]
dir = "$here/sim/recordings"
[state]
dir = "$here/sim/state"
[web]
host = "127.0.0.1"
port = 8080
[broadcast]
title = "Simulation"
EOF
  fi
}

run_simulation() {
  sim_config
  mkdir -p sim/ingest/logs sim/ingest/recordings
  cat > sim/ingest/nginx.conf <<EOF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
pid $here/sim/ingest/nginx.pid;
error_log $here/sim/ingest/logs/error.log;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:1935; application live {
  live on; record all; record_path $here/sim/ingest/recordings; record_unique on; } } }
EOF
  say "starting a local RTMP ingest on 127.0.0.1:1935 (recordings in sim/ingest/recordings)"
  nginx -c "$here/sim/ingest/nginx.conf" -p "$here/sim/ingest" -e "$here/sim/ingest/logs/error.log" &
  local ingest=$!
  trap 'kill "$ingest" 2>/dev/null || true' EXIT
  say "running the kit in simulation: press with '.venv/bin/kit press --config sim/kit.toml'"
  .venv/bin/kit run --simulate --config sim/kit.toml
}

main() {
  local dev=0 run=0
  for arg in "$@"; do
    case "$arg" in
      --dev) dev=1 ;;
      --run) run=1 ;;
      -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
      *) die "unknown option $arg (see --help)" ;;
    esac
  done
  [ "$dev" -eq 1 ] || die "the Raspberry Pi installation is not in this release yet; use --dev"
  install_packages "${DEV_PACKAGES[@]}"
  setup_venv
  sim_config
  say "ready: .venv/bin/kit run --simulate --config sim/kit.toml"
  if [ "$run" -eq 1 ]; then
    run_simulation
  fi
}

main "$@"
