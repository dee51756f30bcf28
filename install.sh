#!/usr/bin/env bash
# Sets up the broadcast kit.
#
#   ./install.sh --dev         any Debian/Ubuntu machine: the packages the kit and its
#                              tests need, and a virtualenv at .venv with `kit` in it
#   ./install.sh --dev --run   the same, then run the kit in simulation (test pattern,
#                              tone, mock pins) streaming to a local nginx RTMP ingest
#   sudo ./install.sh          Raspberry Pi OS Bookworm (or Debian 12): the kit as a
#                              service, started now and at every boot
#   sudo ./install.sh --uninstall [--purge-recordings]
#                              remove the service and its files (recordings are kept
#                              unless --purge-recordings)
#
# Idempotent and without questions: a second run only checks that all is there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# ffmpeg and ffprobe encode and check the media; nginx with the RTMP and stream
# modules is the test ingest (plain and TLS); the ALSA headers build pyalsaaudio;
# Chromium is the browser the page's end-to-end test drives (through Playwright;
# the page, web/, is served from this checkout: the kit is installed with pip -e);
# systemd brings systemd-analyze, which checks the service unit; debootstrap makes
# the clean Debian 12 root the installer is tested in; polkitd (polkitd, pkcheck) and
# dbus-daemon run the real polkit against the kit's NetworkManager rule
# (tests/integration/test_polkit.py; NetworkManager's own polkit files: nm_polkit_files);
# libnm0 (nmcli's) and libndp0 (NetworkManager's) are the two libraries that the
# NetworkManager unpacked by nm_polkit_files lacks on Debian 12 (libraries only: they start
# nothing), for tests/integration/test_networkmanager.py.
DEV_PACKAGES=(
  ffmpeg nginx libnginx-mod-rtmp libnginx-mod-stream
  libasound2-dev alsa-utils gcc python3-dev python3-venv
  openssl iproute2 procps ca-certificates shellcheck systemd chromium debootstrap
  polkitd dbus-daemon libnm0 libndp0
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

# NetworkManager's polkit actions and rule, for tests/integration/test_polkit.py: taken
# from Debian's network-manager package without installing it (NetworkManager would
# start managing this machine's network), into .venv/share/polkit-1. The whole package is
# unpacked into .venv/opt/network-manager too: tests/integration/test_networkmanager.py
# runs that NetworkManager and nmcli in namespaces of their own, never on this machine.
NM_POLKIT=.venv/share/polkit-1
NM_OPT=.venv/opt/network-manager
nm_polkit_files() {
  local policy="$NM_POLKIT/actions/org.freedesktop.NetworkManager.policy" tmp apt_opts=()
  if [ -s "$policy" ] && [ -x "$NM_OPT/usr/sbin/NetworkManager" ] \
    && [ -x "$NM_OPT/usr/bin/nmcli" ]; then
    say "NetworkManager's polkit actions and programs: present"
    return
  fi
  say "extracting NetworkManager's package into $NM_OPT (polkit actions: $NM_POLKIT)"
  tmp="$(mktemp -d)"
  # As root, apt would hand the download to its _apt user, which cannot write here.
  [ "$(id -u)" -eq 0 ] && apt_opts=(-o APT::Sandbox::User=root)
  if ! (cd "$tmp" && apt-get download -q "${apt_opts[@]}" network-manager); then
    as_root apt-get update -q  # a package list older than the mirror's current version
    (cd "$tmp" && apt-get download -q "${apt_opts[@]}" network-manager)
  fi
  dpkg-deb -x "$tmp"/network-manager_*.deb "$tmp/x"
  install -d "$NM_POLKIT/actions" "$NM_POLKIT/rules.d"
  install -m 0644 "$tmp"/x/usr/share/polkit-1/rules.d/*.rules "$NM_POLKIT/rules.d/"
  install -m 0644 "$tmp/x/usr/share/polkit-1/actions/org.freedesktop.NetworkManager.policy" \
    "$policy"
  install -d "$(dirname "$NM_OPT")"
  rm -rf "$NM_OPT"
  mv "$tmp/x" "$NM_OPT"
  rm -rf "$tmp"
}

# The simulation's folder, and the ports it uses: the page (the kit's [web] port) and the
# local RTMP ingest (nginx). KIT_WEB_PORT and KIT_INGEST_PORT change them (written into
# sim/kit.toml, so `kit press --config sim/kit.toml` finds the kit on its new port too).
SIM="${KIT_SIM_DIR:-$here/sim}"
KIT_BIN="${KIT_BIN:-$here/.venv/bin/kit}"
INGEST_PID=""

valid_port() {
  case "$2" in
    ''|*[!0-9]*) die "$1 must be a port number from 1024 to 65535 (got '$2')" ;;
  esac
  if [ "$2" -lt 1024 ] || [ "$2" -gt 65535 ]; then
    die "$1 must be a port number from 1024 to 65535 (got '$2')"
  fi
}

# axe-core, the accessibility engine the page's end-to-end tests run in Chromium
# (tests/e2e/test_axe_e2e.py), from npm at one pinned version into /var/cache/kit/axe
# (npm checks the tarball against the registry's integrity hash); no install scripts run.
AXE_VERSION=4.10.3
AXE_DIR=/var/cache/kit/axe
axe_core() {
  local pkg="$AXE_DIR/node_modules/axe-core/package.json"
  if [ -f "$pkg" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$pkg"; then
    say "axe-core $AXE_VERSION: present"
    return
  fi
  # Debian's npm where there is no npm yet; a Node.js from elsewhere (NodeSource's
  # nodejs) brings its own npm and conflicts with Debian's package.
  command -v npm >/dev/null || install_packages npm
  say "installing axe-core $AXE_VERSION into $AXE_DIR (npm)"
  as_root install -d "$AXE_DIR"
  as_root npm install --prefix "$AXE_DIR" --no-audit --no-fund --ignore-scripts --save-exact \
    "axe-core@$AXE_VERSION"
}

sim_config() {
  mkdir -p "$SIM"
  local web_port="${KIT_WEB_PORT:-8080}" ingest_port="${KIT_INGEST_PORT:-1935}"
  valid_port KIT_WEB_PORT "$web_port"
  valid_port KIT_INGEST_PORT "$ingest_port"
  # An older sim/kit.toml's key said expire=0, which the pre-flight now reads as expired.
  if [ -f "$SIM/kit.toml" ] && grep -q 'key = "simulation?expire=0&sign=demo"' "$SIM/kit.toml"; then
    sed -i 's/key = "simulation?expire=0&sign=demo"/key = "simulation?sign=demo"/' "$SIM/kit.toml"
  fi
  if [ ! -f "$SIM/kit.toml" ]; then
    cat > "$SIM/kit.toml" <<EOF
# Simulation: a test pattern, a tone and gpiozero's mock pins stand in for the
# camera, the microphone and the button. Streams to the local test ingest.
[stream]
server = "rtmp://127.0.0.1:$ingest_port/live/"
key = "simulation?sign=demo"
[recording]
dir = "$SIM/recordings"
[state]
dir = "$SIM/state"
[web]
host = "127.0.0.1"
port = $web_port
[broadcast]
title = "Simulation"
[network]
# The stream goes to this computer: no upload speed test towards the internet.
upload_test_url = "off"
EOF
  fi
  # An older sim/kit.toml measured nothing but warned at every check: the test is off.
  if ! grep -q '^\[network\]' "$SIM/kit.toml"; then
    printf '[network]\nupload_test_url = "off"\n' >> "$SIM/kit.toml"
  fi
  # Ports asked for now win over the file's.
  if [ -n "${KIT_WEB_PORT:-}" ]; then
    sed -i "s/^port = [0-9]*$/port = $web_port/" "$SIM/kit.toml"
  fi
  if [ -n "${KIT_INGEST_PORT:-}" ]; then
    sed -i "s#^server = \"rtmp://127.0.0.1:[0-9]*/#server = \"rtmp://127.0.0.1:$ingest_port/#" \
      "$SIM/kit.toml"
  fi
}

# The ports in force: the page's from sim/kit.toml, the ingest's from its server URL (or
# KIT_INGEST_PORT, or 1935 when the server is not the local ingest).
sim_web_port() { sed -n 's/^port = \([0-9]*\)$/\1/p' "$SIM/kit.toml" | head -n 1; }
sim_ingest_port() {
  local p
  p="$(sed -n 's#^server = "rtmp://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$SIM/kit.toml" | head -n 1)"
  echo "${p:-${KIT_INGEST_PORT:-1935}}"
}

# Who listens on a TCP port ("" if nobody): ss's line, with the program where ss may see it.
port_user() {
  ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1
}

port_free_or_die() {
  local port="$1" what="$2" variable="$3" user program
  user="$(port_user "$port")"
  [ -z "$user" ] && return 0
  program="$(printf '%s\n' "$user" | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 (pid \2)/p')"
  die "port $port ($what) is in use by ${program:-another program (run 'sudo ss -ltnp' to see which)}.
Stop it, or choose another port: $variable=<port> ./install.sh --dev --run"
}

stop_ingest() {
  if [ -n "$INGEST_PID" ]; then
    kill "$INGEST_PID" 2>/dev/null || true
    wait "$INGEST_PID" 2>/dev/null || true
    INGEST_PID=""
  fi
}

run_simulation() {
  sim_config
  local web_port ingest_port
  web_port="$(sim_web_port)"
  ingest_port="$(sim_ingest_port)"
  port_free_or_die "$web_port" "the kit's page" KIT_WEB_PORT
  port_free_or_die "$ingest_port" "the local RTMP ingest" KIT_INGEST_PORT
  mkdir -p "$SIM/ingest/logs" "$SIM/ingest/recordings"
  cat > "$SIM/ingest/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
pid $SIM/ingest/nginx.pid;
error_log $SIM/ingest/logs/error.log;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$ingest_port; application live {
  live on; record all; record_path $SIM/ingest/recordings; record_unique on; } } }
EOF
  # The ingest stops whenever this script ends: the kit exits, fails, Ctrl-C, a kill.
  trap stop_ingest EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  say "starting a local RTMP ingest on 127.0.0.1:$ingest_port (recordings in $SIM/ingest/recordings)"
  nginx -c "$SIM/ingest/nginx.conf" -p "$SIM/ingest" -e "$SIM/ingest/logs/error.log" &
  INGEST_PID=$!
  for _ in $(seq 50); do
    [ -n "$(port_user "$ingest_port")" ] && break
    kill -0 "$INGEST_PID" 2>/dev/null || die "the local RTMP ingest did not start: see $SIM/ingest/logs/error.log"
    sleep 0.1
  done
  say "running the kit in simulation: its page is http://127.0.0.1:$web_port (the first visit sets a password)"
  say "press with '.venv/bin/kit press --config sim/kit.toml'; Ctrl-C stops the kit and the ingest"
  "$KIT_BIN" run --simulate --config "$SIM/kit.toml"
}

# --- The kit on a Raspberry Pi, as a service --------------------------------------

# KIT_ROOT lets a test aim the file paths at a folder; on a Pi it is empty.
ROOT="${KIT_ROOT:-}"
OPT="$ROOT/opt/kit"
ETC="$ROOT/etc/kit"
STATE="$ROOT/var/lib/kit"
UNIT="$ROOT/etc/systemd/system/kit.service"
# `kit` on PATH (sudo kit passwd, kit status): a symlink into the kit's venv.
BIN_LINK="$ROOT/usr/local/bin/kit"
NM_CONF="$ROOT/etc/NetworkManager/conf.d/90-kit-wifi-powersave.conf"
POLKIT_RULE="$ROOT/etc/polkit-1/rules.d/50-kit-networkmanager.rules"
HIDEPID_UNIT="$ROOT/etc/systemd/system/kit-hidepid.service"
HIDEPID_WANTS="$ROOT/etc/systemd/system/sysinit.target.wants/kit-hidepid.service"
# The services that must still see every process once /proc hides them (as root without
# CAP_SYS_PTRACE they see only their own): a drop-in puts each in the group "proc".
PROC_SERVICES=(systemd-logind NetworkManager)
PI_PACKAGES=(
  ffmpeg python3 python3-venv python3-dev gcc libasound2-dev alsa-utils
  ca-certificates qrencode iw iproute2
)

os_field() { sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | tr -d '"'; }

check_os() {
  local name
  name="$(os_field PRETTY_NAME)"
  case "$(os_field ID):$(os_field VERSION_ID)" in
    raspbian:12|debian:12) ;;
    *) die "this installer is for Raspberry Pi OS Bookworm or Debian 12; this is ${name:-an unknown system}. Use --dev to try the kit in simulation." ;;
  esac
}

apt_install() {
  local opts=() pkgs=() p missing
  for p in "$@"; do
    case "$p" in -*) opts+=("$p") ;; *) pkgs+=("$p") ;; esac
  done
  mapfile -t missing < <(missing_packages "${pkgs[@]}")
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${opts[@]}" "${missing[@]}"
}

install_picamera2() {
  # picamera2 and libcamera come from the Raspberry Pi OS repository only;
  # --no-install-recommends keeps the desktop preview (Qt, OpenGL) off a Lite image.
  local candidate
  candidate="$(apt-cache policy python3-picamera2 2>/dev/null | sed -n 's/ *Candidate: //p')"
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
    apt_install --no-install-recommends python3-picamera2
  else
    say "python3-picamera2 is not available here (it comes from the Raspberry Pi OS repository):"
    say "  the camera will not work until it is installed; everything else is being installed"
  fi
}

create_user() {
  if ! getent passwd kit >/dev/null; then
    say "creating the system user kit"
    useradd --system --user-group --home-dir /var/lib/kit --shell /usr/sbin/nologin kit
  fi
  local g
  for g in video audio gpio; do
    if getent group "$g" >/dev/null && ! id -nG kit | tr ' ' '\n' | grep -qx "$g"; then
      usermod -aG "$g" kit
    fi
  done
}

source_digest() {
  (cd "$here" && find kit web systemd pyproject.toml README.md -type f \
     ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum)
}

install_code() {
  # The source goes to /opt/kit/src (the page's web/ beside the package) and the
  # venv sees the system's packages, which is where picamera2 and libcamera live.
  local stamp="$OPT/.installed" digest
  digest="$(source_digest)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -x "$OPT/venv/bin/kit" ]; then
    say "the kit in /opt/kit is up to date"
    return
  fi
  say "installing the kit into /opt/kit"
  mkdir -p "$OPT/src"
  rm -rf "$OPT/src/kit" "$OPT/src/web" "$OPT/src/systemd"
  (cd "$here" && tar --exclude=__pycache__ -cf - kit web systemd pyproject.toml README.md) \
    | tar -C "$OPT/src" -xf -
  [ -x "$OPT/venv/bin/python" ] || python3 -m venv --system-site-packages "$OPT/venv"
  "$OPT/venv/bin/python" -m pip install -q --disable-pip-version-check -e "$OPT/src[alsa]"
  printf '%s\n' "$digest" > "$stamp"
}

command_on_path() {
  if [ "$(readlink "$BIN_LINK" 2>/dev/null)" != /opt/kit/venv/bin/kit ]; then
    [ -e "$BIN_LINK" ] && [ ! -L "$BIN_LINK" ] && die "$BIN_LINK exists and is not the kit's: move it away"
    say "the command kit: /usr/local/bin/kit"
    install -d "$(dirname "$BIN_LINK")"
    ln -sfn /opt/kit/venv/bin/kit "$BIN_LINK"
  fi
}

default_config() {
  cat <<'TOML'
# The kit's settings: `kit config` lists every key with its documentation.
[stream]
server = ""
key = ""
width = 720
height = 1280
fps = 30
bitrate_kbps = 2500
[recording]
dir = "/var/lib/kit/recordings"
[state]
dir = "/var/lib/kit"
[web]
host = "0.0.0.0"
port = 8080
[gpio]
button = 17
relay = 27
led = 22
TOML
}

install_config() {
  install -d -m 0755 "$ETC"
  if [ -f "$ETC/kit.toml" ]; then
    say "keeping /etc/kit/kit.toml"
  else
    say "writing /etc/kit/kit.toml (or set everything from the phone page)"
    default_config > "$ETC/kit.toml"
  fi
  # It holds the stream key: readable by the kit's user, nobody else.
  chown root:kit "$ETC/kit.toml"
  chmod 0640 "$ETC/kit.toml"
  install -d -m 0700 -o kit -g kit "$STATE" "$STATE/recordings"
}

wifi_power_save_off() {
  # Power saving on the Pi's Wi-Fi adds latency spikes that stall the upload.
  [ -d "$ROOT/etc/NetworkManager" ] || return 0
  local want
  want="$(printf '%s\n' '[connection]' \
    '# Written by the kit installer: Wi-Fi power saving off (2 = disable).' \
    'wifi.powersave = 2')"
  if [ "$(cat "$NM_CONF" 2>/dev/null)" != "$want" ]; then
    say "turning Wi-Fi power saving off"
    install -d "$(dirname "$NM_CONF")"
    printf '%s\n' "$want" > "$NM_CONF"
    if systemd_running; then systemctl reload NetworkManager || true; fi
  fi
}

polkit_rule() {
  # NetworkManager asks polkit before it scans, joins, forgets or shares a Wi-Fi network,
  # and its defaults refuse a service user without a login session: this rule lets the
  # kit user do exactly that (systemd/kit-networkmanager.rules says which actions and
  # why). polkitd notices a new or changed file in rules.d by itself. Without polkit
  # (NetworkManager depends on it) the folder is made here and the rule waits for it.
  if ! cmp -s "$here/systemd/kit-networkmanager.rules" "$POLKIT_RULE"; then
    say "allowing the kit user to change Wi-Fi through NetworkManager (polkit rule)"
    [ -d "$(dirname "$POLKIT_RULE")" ] || install -d -m 0755 "$(dirname "$POLKIT_RULE")"
    install -m 0644 -o root -g root "$here/systemd/kit-networkmanager.rules" "$POLKIT_RULE"
  fi
}

hide_processes() {
  # While live, the stream key is in ffmpeg's command line (/proc/PID/cmdline, ps), which
  # every local user can read unless /proc hides other users' processes. ProtectProc= in
  # kit.service cannot: it hides other processes from the kit, not the kit from others.
  # kit-hidepid.service remounts /proc with hidepid=invisible,gid=proc at every boot.
  # The group "proc" sees everything: systemd-logind and NetworkManager join it through
  # a drop-in; polkitd sets its own groups from /etc/group, so its user joins the group.
  local changed=0 unit dropin
  if ! getent group proc >/dev/null; then
    say "creating the group proc (may see every process in /proc)"
    groupadd --system proc
  fi
  if getent passwd polkitd >/dev/null && ! id -nG polkitd | tr ' ' '\n' | grep -qx proc; then
    usermod -aG proc polkitd
    changed=1
  fi
  for unit in "${PROC_SERVICES[@]}"; do
    dropin="$ROOT/etc/systemd/system/$unit.service.d/kit-proc.conf"
    if ! cmp -s "$here/systemd/kit-proc.conf" "$dropin"; then
      install -D -m 0644 "$here/systemd/kit-proc.conf" "$dropin"
      changed=1
    fi
  done
  if ! cmp -s "$here/systemd/kit-hidepid.service" "$HIDEPID_UNIT"; then
    say "hiding each user's processes from the others in /proc (the stream key in ffmpeg's)"
    install -D -m 0644 "$here/systemd/kit-hidepid.service" "$HIDEPID_UNIT"
    changed=1
  fi
  if systemd_running; then
    systemctl daemon-reload
    # The services that need to see every process get their group before /proc hides.
    if [ "$changed" -eq 1 ]; then
      systemctl try-restart polkit.service "${PROC_SERVICES[@]/%/.service}" || true
    fi
    systemctl enable --now kit-hidepid.service
  elif [ "$(readlink "$HIDEPID_WANTS" 2>/dev/null)" != /etc/systemd/system/kit-hidepid.service ]
  then
    install -d "$(dirname "$HIDEPID_WANTS")"
    ln -sfn /etc/systemd/system/kit-hidepid.service "$HIDEPID_WANTS"
  fi
}

systemd_running() { [ -d /run/systemd/system ]; }

install_service() {
  if ! cmp -s "$here/systemd/kit.service" "$UNIT"; then
    install -D -m 0644 "$here/systemd/kit.service" "$UNIT"
  fi
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable kit.service
    systemctl restart kit.service
    say "the kit is running: journalctl -u kit -f"
  else
    # Enabling is this symlink, all that `systemctl enable` would make.
    local link="$ROOT/etc/systemd/system/multi-user.target.wants/kit.service"
    if [ "$(readlink "$link" 2>/dev/null)" != /etc/systemd/system/kit.service ]; then
      install -d "$(dirname "$link")"
      ln -sfn /etc/systemd/system/kit.service "$link"
    fi
    say "systemd is not running here (a container or chroot): the kit starts at the next boot"
  fi
}

print_address() {
  local url port
  # The page's port: [web] port in /etc/kit/kit.toml (8080 unless changed there).
  port="$(sed -n 's/^port *= *\([0-9]*\) *$/\1/p' "$ETC/kit.toml" 2>/dev/null | head -n 1)"
  url="http://$(hostname).local:${port:-8080}"
  say "open $url on a phone on the same Wi-Fi (the first visit sets the page's password)"
  if command -v qrencode >/dev/null; then
    qrencode -t ANSIUTF8 "$url"
  fi
}

hotspot_password() {
  # The password of the kit's own Wi-Fi hotspot (Kit-XXXX, kit/net/hotspot.py), made
  # once per kit and kept: it goes on the printed label (hardware/label.svg). Twelve
  # characters without 0/O/1/l/I, so that it can be read off the label.
  local file="$ETC/hotspot-password" tmp
  if [ -s "$file" ]; then
    say "keeping the hotspot password in /etc/kit/hotspot-password"
  else
    say "generating the hotspot password in /etc/kit/hotspot-password"
    tmp="$(mktemp "$ETC/.hotspot-password.XXXXXX")"
    python3 -c 'import secrets
a = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
print("".join(secrets.choice(a) for _ in range(12)))' > "$tmp"
    chmod 0640 "$tmp"
    chown root:kit "$tmp"
    mv -f "$tmp" "$file"
  fi
  chown root:kit "$file"
  chmod 0640 "$file"
}

print_hotspot() {
  local name
  name="$("$OPT/venv/bin/python" -m kit.net.hotspot name --root "${ROOT:-/}" 2>/dev/null)" \
    || name="Kit-????"
  say "with no known Wi-Fi (or after a 10 s hold of the button) the kit opens its own Wi-Fi:"
  say "  name:     $name"
  say "  password: $(cat "$ETC/hotspot-password")"
  say "  page:     http://10.42.0.1:8080 on that Wi-Fi"
  say "write them on the label (hardware/label.svg) and stick it on the kit"
}

install_pi() {
  [ "$(id -u)" -eq 0 ] || die "run it as root: sudo ./install.sh"
  check_os
  if [ -n "$(missing_packages "${PI_PACKAGES[@]}")" ]; then
    apt-get update -q
  fi
  apt_install "${PI_PACKAGES[@]}"
  install_picamera2
  create_user
  install_code
  command_on_path
  install_config
  hotspot_password
  wifi_power_save_off
  polkit_rule
  hide_processes
  install_service
  print_address
  print_hotspot
}

uninstall_pi() {
  local purge="$1"
  [ "$(id -u)" -eq 0 ] || die "run it as root: sudo ./install.sh --uninstall"
  if systemd_running; then
    systemctl disable --now kit.service 2>/dev/null || true
  fi
  rm -f "$UNIT" "$ROOT/etc/systemd/system/multi-user.target.wants/kit.service" "$NM_CONF"
  rm -f "$POLKIT_RULE"
  if [ "$(readlink "$BIN_LINK" 2>/dev/null)" = /opt/kit/venv/bin/kit ]; then rm -f "$BIN_LINK"; fi
  # /proc shows every process again from the next boot (now, if systemd runs); the group
  # proc stays (other hardening may use it).
  if systemd_running && [ -f "$HIDEPID_UNIT" ]; then
    systemctl disable kit-hidepid.service 2>/dev/null || true
    mount -o remount,hidepid=off /proc || true
  fi
  rm -f "$HIDEPID_UNIT" "$HIDEPID_WANTS"
  for d in "${PROC_SERVICES[@]}"; do
    rm -f "$ROOT/etc/systemd/system/$d.service.d/kit-proc.conf"
    rmdir "$ROOT/etc/systemd/system/$d.service.d" 2>/dev/null || true
  done
  if getent passwd polkitd >/dev/null && id -nG polkitd | tr ' ' '\n' | grep -qx proc; then
    gpasswd -d polkitd proc >/dev/null || true
  fi
  # The polkit folders, if the installer made them: empty, and no package's.
  local d
  for d in "$ROOT/etc/polkit-1/rules.d" "$ROOT/etc/polkit-1"; do
    if [ -d "$d" ] && ! dpkg-query -S "${d#"$ROOT"}" >/dev/null 2>&1; then
      rmdir "$d" 2>/dev/null || true
    fi
  done
  if systemd_running; then systemctl daemon-reload; fi
  rm -rf "$OPT" "$ETC"
  if [ "$purge" -eq 1 ]; then
    rm -rf "$STATE"
    if getent passwd kit >/dev/null; then userdel kit; fi
    say "removed the kit, its settings and its recordings"
  else
    find "$STATE" -mindepth 1 -maxdepth 1 ! -name recordings -exec rm -rf {} + 2>/dev/null || true
    say "removed the kit; recordings kept in /var/lib/kit/recordings (--purge-recordings removes them)"
  fi
}

main() {
  local dev=0 run=0 uninstall=0 purge=0
  for arg in "$@"; do
    case "$arg" in
      --dev) dev=1 ;;
      --run) run=1 ;;
      --uninstall) uninstall=1 ;;
      --purge-recordings) purge=1 ;;
      -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
      *) die "unknown option $arg (see --help)" ;;
    esac
  done
  if [ "$uninstall" -eq 1 ]; then
    uninstall_pi "$purge"
    return
  fi
  if [ "$dev" -eq 0 ]; then
    install_pi
    return
  fi
  install_packages "${DEV_PACKAGES[@]}"
  setup_venv
  nm_polkit_files
  axe_core
  # The real picamera2 on a real libcamera with a virtual Pi camera, for the camera
  # tests: a Debian trixie root under /var/cache/kit, reused while its sources are unchanged.
  say "camera test rig (tests/rigs/camera/build.sh; about 4 minutes the first time)"
  as_root "$here/tests/rigs/camera/build.sh"
  sim_config
  say "ready: .venv/bin/kit run --simulate --config sim/kit.toml"
  if [ "$run" -eq 1 ]; then
    run_simulation
  fi
}

# Sourced (by a test that runs one of the functions above), it only defines them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
