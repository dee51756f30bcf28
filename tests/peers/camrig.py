"""The camera test rig: the real picamera2 on a real libcamera with a virtual Pi camera.

``tests/rigs/camera/build.sh`` builds the rig (a Debian trixie root; ``install.sh --dev``
runs it, and a second run reuses the rig); ``tests/rigs/camera/enter`` runs a command in
it. These helpers give tests the argv to do that. A missing rig is an error, never a
skip: a test that needs the camera must not pass by not running.

Knobs that reach the camera through the environment of the command: ``KIT_RIG_NO_CAMERA=1``
(no camera), ``KIT_RIG_STALL_FILE=PATH`` (no frames while PATH exists), ``KIT_RIG_LUX=N``
(the scene's brightness), ``KIT_RIG_FLASH=1`` (a white frame each second),
``KIT_RIG_LOCK_DIR`` (where the lock that keeps the camera to one process lives).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RIG_SOURCE = REPO / "tests" / "rigs" / "camera"
ENTER = RIG_SOURCE / "enter"
BUILD = RIG_SOURCE / "build.sh"
STAMP = ".kit-camera-rig-stamp"
SHIM = "/usr/local/lib/kit-camera-rig/dmaheap_shim.so"


class RigMissing(RuntimeError):
    """The camera rig is not built (or cannot be entered)."""


def rig_dir() -> Path:
    """Where the rig is: ``$KIT_CAMERA_RIG`` or /var/cache/kit/camera-rig."""
    return Path(os.environ.get("KIT_CAMERA_RIG") or "/var/cache/kit/camera-rig")


def inputs_hash() -> str:
    """The hash build.sh stamps a rig with: sha256 of `sha256sum INPUTS...` of this checkout."""
    found = re.search(r"^INPUTS=\((.*)\)$", BUILD.read_text(), re.MULTILINE)
    if not found:
        raise RigMissing(f"{BUILD} lists no INPUTS")
    listing = "".join(
        f"{hashlib.sha256((RIG_SOURCE / name).read_bytes()).hexdigest()}  {name}\n"
        for name in found.group(1).split()
    )
    return hashlib.sha256(listing.encode()).hexdigest()


def ensure_rig() -> Path:
    """The rig's folder; raises RigMissing with what to run when there is no rig, or
    when the rig was built from other sources than this checkout's."""
    rig = rig_dir()
    if not (rig / STAMP).is_file() or not (rig / SHIM.lstrip("/")).is_file():
        raise RigMissing(f"no camera rig in {rig}: run ./install.sh --dev (or, as root, {BUILD})")
    if (rig / STAMP).read_text().strip() != inputs_hash():
        raise RigMissing(
            f"the camera rig in {rig} was built from other sources than this checkout's "
            f"tests/rigs/camera: run ./install.sh --dev (or, as root, {BUILD})"
        )
    if os.geteuid() != 0:
        raise RigMissing("entering the camera rig needs root (a mount namespace and chroot)")
    return rig


def enter_argv(*cmd: str) -> list[str]:
    """The argv that runs ``cmd`` inside the rig (inherited fds and environment pass)."""
    if not cmd:
        raise ValueError("enter_argv needs a command")
    return [str(ENTER), "--", *cmd]


def rig_python_argv(*args: str) -> list[str]:
    """The argv prefix that runs the rig's python3 with this checkout on PYTHONPATH."""
    return enter_argv("/usr/bin/env", f"PYTHONPATH={REPO}", "python3", *args)
