#!/usr/bin/env bash
# Builds the camera test rig: a Debian trixie root in which the real picamera2
# (from PyPI, unmodified) runs on a real libcamera (built from Debian's source
# package, with the project's patch that makes its virtual pipeline handler
# answer as a Raspberry Pi Camera Module 3), with a preloaded shim that serves
# the DMA heap this kernel lacks. tests/rigs/camera/enter runs a command in it.
#
#   tests/rigs/camera/build.sh        (as root; install.sh --dev runs it)
#
# The rig goes to ${KIT_CAMERA_RIG:-/var/cache/kit/camera-rig}. A rig whose stamp
# matches the hash of the build inputs (this script, the patch, the shim, the
# stubs, the camera list) is reused as it is; otherwise the rig is built anew
# in a folder beside it and renamed into place only when complete, so a
# half-built rig is never used. Downloaded packages are cached under
# ${KIT_CACHE:-/var/cache/kit} (apt-archives/, wheels/), so a rebuild is quicker.
#
# What is pinned, and why:
#  - libcamera 0.7.2-1, the source package in Debian sid when the patch was
#    written (trixie's 0.4.0 is too old for picamera2 0.3.38). If sid no longer
#    has it, the build takes sid's current version, says so, and the patch
#    has to apply to it: if it does not, update LIBCAMERA_VERSION and the patch.
#  - picamera2 0.3.38 from PyPI, checked against the wheel's sha256.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RIG="${KIT_CAMERA_RIG:-/var/cache/kit/camera-rig}"
CACHE="${KIT_CACHE:-/var/cache/kit}"
MIRROR="${KIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
LIBCAMERA_VERSION=0.7.2-1
PICAMERA2_VERSION=0.3.38
PICAMERA2_SHA256=ecf34dfb6c987d2c0948debeb3762a27755d5befc674fe210c3fd2ad8e3cd6cc
# pip packages picamera2 imports that Debian trixie does not package.
PIP_WHEELS=(videodev2==0.0.4 simplejpeg==1.9.0)
PIP_SDISTS=(PiDNG==4.0.9)

# Build dependencies of libcamera for the virtual pipeline handler and the
# Python bindings, then what picamera2 imports, from Debian.
BUILD_PACKAGES=(
  g++ meson ninja-build pkgconf dpkg-dev xz-utils patch
  python3-dev pybind11-dev python3-pybind11 python3-yaml python3-ply python3-jinja2
  libyaml-dev libyuv-dev libgnutls28-dev openssl
  python3-pip python3-setuptools python3-wheel
)
RUNTIME_PACKAGES=(
  python3 python3-numpy python3-av python3-pil python3-prctl python3-piexif
  python3-libarchive-c python3-jsonschema python3-tqdm
)

INPUTS=(build.sh virtual-pi.patch dmaheap_shim.c virtual.yaml stubs/pykms.py)
STAMP=.kit-camera-rig-stamp

say() { printf '\033[1m==> camera rig: %s\033[0m\n' "$*"; }
die() { printf 'camera rig: %s\n' "$*" >&2; exit 1; }

inputs_hash() {
  (cd "$here" && sha256sum "${INPUTS[@]}") | sha256sum | cut -d' ' -f1
}

started=0
step_start=0
step() {
  local now
  now="$(date +%s)"
  if [ "$step_start" -ne 0 ]; then
    printf '    (%ds)\n' "$((now - step_start))"
  fi
  step_start="$now"
  say "$*"
}

# Runs a bash script as root inside the root $1, with /proc, /dev and /sys
# mounted and the apt cache bound, all in a private mount namespace that ends
# with the command: nothing is left mounted on the host.
in_root() {
  local root="$1" script="$2"
  # shellcheck disable=SC2016 # the inner script expands its own arguments
  unshare -m --propagation private -- bash -euo pipefail -c '
    root="$1" cache="$2" script="$3"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mkdir -p "$root/var/cache/apt/archives"
    mount --bind "$cache" "$root/var/cache/apt/archives"
    exec chroot "$root" /usr/bin/env -i \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      /bin/bash -euo pipefail -c "$script"
  ' in_root "$root" "$CACHE/apt-archives" "$script"
}

# pip download into the wheel cache (on the host: the rig has no CA setup of its own),
# without the noise of index locations that the host's pip config lists but lacks.
pip_download() {
  python3 -m pip download -q --no-deps -d "$CACHE/wheels" "$@" 2>&1 |
    { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

main() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot): sudo $0"
  for f in "${INPUTS[@]}"; do
    [ -f "$here/$f" ] || die "missing build input $here/$f"
  done
  local hash
  hash="$(inputs_hash)"
  if [ -f "$RIG/$STAMP" ] && [ "$(cat "$RIG/$STAMP")" = "$hash" ]; then
    say "up to date in $RIG"
    return
  fi

  mkdir -p "$CACHE/apt-archives/partial" "$CACHE/wheels" "$(dirname "$RIG")"
  # One build at a time.
  exec 9>"$CACHE/camera-rig.lock"
  flock 9
  if [ -f "$RIG/$STAMP" ] && [ "$(cat "$RIG/$STAMP")" = "$hash" ]; then
    say "up to date in $RIG (built meanwhile)"
    return
  fi

  started="$(date +%s)"
  local new="$RIG.new"
  rm -rf "$new"
  trap 'rm -rf "'"$new"'"' EXIT

  step "host tools"
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  command -v unshare >/dev/null || need+=(util-linux)
  command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
  if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
  fi

  step "debootstrap $SUITE into $new"
  debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    --cache-dir="$CACHE/apt-archives" "$SUITE" "$new" "$MIRROR" >"$CACHE/camera-rig-debootstrap.log" 2>&1 ||
    die "debootstrap failed: see $CACHE/camera-rig-debootstrap.log"

  # The mirror may be a dated snapshot whose Release files have expired.
  cat >"$new/etc/apt/sources.list" <<EOF
deb [check-valid-until=no] $MIRROR $SUITE main
deb-src [check-valid-until=no] $MIRROR sid main
EOF
  cat >"$new/etc/apt/apt.conf.d/90kit-camera-rig" <<'EOF'
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Install-Recommends "false";
Acquire::Retries "3";
EOF
  cp /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null || true
  mkdir -p "$new/usr/local/src/kit-camera-rig"
  (cd "$here" && cp --parents "${INPUTS[@]}" "$new/usr/local/src/kit-camera-rig/")

  step "Debian packages (build dependencies, python3, numpy, av, ...)"
  in_root "$new" "
    apt-get update -q >/dev/null
    apt-get install -y -q ${BUILD_PACKAGES[*]} ${RUNTIME_PACKAGES[*]} >/var/log/kit-camera-rig-apt.log 2>&1 ||
      { tail -30 /var/log/kit-camera-rig-apt.log; exit 1; }
  "

  step "libcamera source ($LIBCAMERA_VERSION from sid) with virtual-pi.patch"
  in_root "$new" "
    mkdir -p /usr/local/src/libcamera && cd /usr/local/src/libcamera
    if ! apt-get source -q libcamera=$LIBCAMERA_VERSION >/dev/null 2>&1; then
      echo 'camera rig: WARNING: sid no longer has libcamera $LIBCAMERA_VERSION; trying its current version' >&2
      apt-get source -q libcamera >/dev/null
    fi
    cd libcamera-*/
    patch -p1 --forward --batch </usr/local/src/kit-camera-rig/virtual-pi.patch >/dev/null ||
      { echo 'camera rig: virtual-pi.patch does not apply to this libcamera' >&2; exit 1; }
  "

  step "build libcamera (virtual pipeline handler, Python bindings)"
  in_root "$new" "
    cd /usr/local/src/libcamera/libcamera-*/
    meson setup build --prefix=/usr/local --buildtype=release \
      -Dpipelines=virtual -Dipas= -Dpycamera=enabled \
      -Dcam=disabled -Dqcam=disabled -Dgstreamer=disabled -Ddocumentation=disabled \
      -Dlc-compliance=disabled -Dtest=false -Dtracing=disabled -Dv4l2=disabled \
      -Dudev=disabled -Dlibdw=disabled -Dlibunwind=disabled >build.log 2>&1 ||
      { tail -30 build.log; exit 1; }
    ninja -C build >>build.log 2>&1 || { grep -B2 -A20 -m1 FAILED build.log; exit 1; }
    meson install -C build --no-rebuild >>build.log 2>&1 || { tail -30 build.log; exit 1; }
    ldconfig
    # The bindings go to /usr/local/lib/python3/dist-packages, which Debian's
    # python3 does not search by itself.
    site=\$(python3 -c 'import sysconfig; print(sysconfig.get_path(\"purelib\", \"posix_local\"))')
    mkdir -p \"\$site\"
    echo /usr/local/lib/python3/dist-packages >\"\$site/kit-camera-rig-libcamera.pth\"
    install -D -m 0644 /usr/local/src/kit-camera-rig/virtual.yaml \
      /usr/local/share/libcamera/pipeline/virtual/virtual.yaml
    basename \"\$PWD\" >/usr/local/src/kit-camera-rig/libcamera-source
    rm -rf build
  "

  step "picamera2 $PICAMERA2_VERSION and the PyPI packages it imports"
  local wheels="$CACHE/wheels" py
  py="$(in_root "$new" "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")"
  printf 'picamera2==%s --hash=sha256:%s\n' "$PICAMERA2_VERSION" "$PICAMERA2_SHA256" >"$wheels/picamera2.req"
  pip_download --require-hashes -r "$wheels/picamera2.req"
  pip_download --only-binary=:all: --python-version "$py" --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 "${PIP_WHEELS[@]}"
  pip_download --no-binary=:all: "${PIP_SDISTS[@]}"
  local dest="$new/usr/local/lib/kit-camera-rig/wheels"
  mkdir -p "$dest"
  local spec name
  for spec in "picamera2==$PICAMERA2_VERSION" "${PIP_WHEELS[@]}" "${PIP_SDISTS[@]}"; do
    # Wheels and sdists are named in lower case: name-version-... or name-version.tar.gz
    name="$(printf '%s' "${spec%%==*}" | tr '[:upper:]' '[:lower:]')"
    cp "$wheels/$name-${spec##*==}"[-.]* "$dest/"
  done
  in_root "$new" "
    cd /usr/local/lib/kit-camera-rig/wheels
    echo '$PICAMERA2_SHA256  picamera2-$PICAMERA2_VERSION-py3-none-any.whl' | sha256sum -c --quiet
    pip install -q --break-system-packages --root-user-action=ignore --no-deps --no-index \
      --no-build-isolation ./* 2>&1 | { grep -v DEPRECATION || true; }
    site=\$(python3 -c 'import sysconfig; print(sysconfig.get_path(\"purelib\", \"posix_local\"))')
    install -m 0644 /usr/local/src/kit-camera-rig/stubs/pykms.py \"\$site/pykms.py\"
  "

  step "DMA heap shim"
  in_root "$new" "
    gcc -O2 -Wall -Wextra -Werror -shared -fPIC \
      -o /usr/local/lib/kit-camera-rig/dmaheap_shim.so \
      /usr/local/src/kit-camera-rig/dmaheap_shim.c -ldl
  "

  step "smoke test: Picamera2() opens the virtual IMX708"
  in_root "$new" "
    LD_PRELOAD=/usr/local/lib/kit-camera-rig/dmaheap_shim.so LIBCAMERA_LOG_LEVELS='*:ERROR' \
      KIT_RIG_LOCK_DIR=/tmp python3 -c '
from picamera2 import Picamera2
cam = Picamera2()
assert cam.camera_properties[\"Model\"] == \"imx708\", cam.camera_properties
cam.close()
print(\"    picamera2\", __import__(\"picamera2\").__file__)
'
  "
  # The build's apt lists and logs have no use in the rig.
  rm -rf "$new"/var/lib/apt/lists/*_dists_* "$new/tmp/"*

  echo "$hash" >"$new/$STAMP"
  step "install into $RIG"
  if [ -e "$RIG" ]; then
    rm -rf "$RIG.old"
    mv "$RIG" "$RIG.old"
    mv "$new" "$RIG"
    rm -rf "$RIG.old"
  else
    mv "$new" "$RIG"
  fi
  trap - EXIT
  local now
  now="$(date +%s)"
  printf '    (%ds)\n' "$((now - step_start))"
  say "built in $((now - started))s: $RIG"
}

main "$@"
