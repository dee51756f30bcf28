"""What must hold before the daemon opens anything: its folders can be written, no other
daemon runs on the same state folder, the page's port is free.

Each failure is one sentence that names the thing and the setting that moves it (kit.app
logs it, to stderr and so to the journal, and exits non-zero), instead of a traceback
after the store and the pins were already open.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import tempfile
from pathlib import Path

from kit.config import Config

LOCK_FILE = "kit.pid"


class StartupError(Exception):
    """Why the daemon cannot start, as a sentence for the person at the shell."""


class DaemonLock:
    """An exclusive flock on <state>/kit.pid, which holds the pid of the daemon that has it.

    The kernel drops the lock when the process ends however it ends (kill -9, a power
    cut), so a stale file never blocks a start. The descriptor is not inherited by ffmpeg
    or the camera process (Python opens it close-on-exec)."""

    def __init__(self, state_dir: Path) -> None:
        path = state_dir / LOCK_FILE
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise StartupError(
                f"Another kit daemon (pid {holder}) is already running with the state folder "
                f"{state_dir}: stop it first (sudo systemctl stop kit), or give this one its "
                "own [state] dir."
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def writable_folder(folder: Path, setting: str, config_path: str) -> None:
    """Make `folder` if need be, and write a file in it; a sentence if either fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        reason = e.strerror or str(e)
        raise StartupError(
            f"The folder {folder} ({setting}) cannot be written ({reason}): give the kit's "
            f"user (uid {os.getuid()}) write access to it, or set {setting} in {config_path} "
            "to a folder it can write."
        ) from None


def port_free(host: str, port: int, config_path: str) -> None:
    """Bind the page's address once (as waitress will, with SO_REUSEADDR) and let go."""
    try:
        infos = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise StartupError(
            f"The page's address {host} cannot be used ({e.strerror}): set [web] host in "
            f"{config_path} to an address of this machine, or 0.0.0.0 for all of them."
        ) from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(address)
            except OSError as e:
                raise port_error(e, host, port, config_path) from None


def port_error(e: OSError, host: str, port: int, config_path: str) -> StartupError:
    """The sentence for a failed bind of the page's address."""
    if e.errno == errno.EADDRINUSE:
        return StartupError(
            f"Port {port} is in use by another program: set [web] port in {config_path} "
            "to a free port."
        )
    if e.errno == errno.EACCES:
        return StartupError(
            f"Port {port} is reserved for root: set [web] port in {config_path} to 1024 or above."
        )
    if e.errno == errno.EADDRNOTAVAIL:
        return StartupError(
            f"{host} is not an address of this machine: set [web] host in {config_path} to "
            "one of its addresses, or 0.0.0.0 for all of them."
        )
    return StartupError(
        f"The page cannot listen on {host}:{port} ({e.strerror}): check [web] in {config_path}."
    )


def claim(cfg: Config, config_path: str) -> DaemonLock:
    """Every check, in the order that gives the truest sentence; the lock is kept (release
    it at exit). A second daemon is told about the first, not about its port."""
    writable_folder(cfg.state.dir, "[state] dir", config_path)
    lock = DaemonLock(cfg.state.dir)
    try:
        writable_folder(cfg.recording.dir, "[recording] dir", config_path)
        port_free(cfg.web.host, cfg.web.port, config_path)
    except BaseException:
        with contextlib.suppress(OSError):
            lock.release()
        raise
    return lock
