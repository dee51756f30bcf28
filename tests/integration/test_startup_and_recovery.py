"""The daemon as a real process: start-up faults are sentences, a killed broadcast is closed.

A second daemon on the same config, the page's port taken, a state or recordings folder
that cannot be written (a read-only bind mount in a mount namespace of its own): each
ends the start with exit status 1 and one sentence on stderr, before the store or the
pins are opened (no kit.db, no API token). A daemon killed with SIGKILL while live leaves
its broadcast open; the next start ends it as ``interrupted`` at its last recorded second.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kitproc import KitProcess, write_config
from tests.peers import probe
from tests.peers.ingest import Ingest

pytestmark = pytest.mark.slow


def start_fails(config: Path, *wrap: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`kit run --simulate` that must end by itself (with `wrap` in front of it)."""
    r = subprocess.run(
        [*wrap, sys.executable, "-m", "kit", "run", "--simulate", "--config", str(config)],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def opened_nothing(state: Path) -> None:
    """No store, no token, no settings: the check came first."""
    left = {p.name for p in state.iterdir()} if state.exists() else set()
    assert left <= {"kit.pid"}, left


def port_of(config: Path) -> int:
    return int(next(x for x in config.read_text().splitlines() if x.startswith("port")).split()[2])


def test_a_second_daemon_on_the_same_config_names_the_first(tmp_path: Path) -> None:
    kit = KitProcess(write_config(tmp_path, "rtmp://127.0.0.1:1/live/"), tmp_path / "d.log")
    kit.start()
    try:
        before = kit.status()
        r = start_fails(kit.config)
        assert kit.proc is not None
        assert f"Another kit daemon (pid {kit.proc.pid}) is already running" in r.stderr
        assert str(kit.state_dir) in r.stderr
        assert "[state] dir" in r.stderr
        # The first is untouched: same daemon, still answering, still holding its pid file.
        assert kit.proc.poll() is None
        assert kit.status()["state"] == before["state"] == "idle"
        assert (kit.state_dir / "kit.pid").read_text().strip() == str(kit.proc.pid)
    finally:
        kit.stop()
    # Once it has gone, the next start is not refused (the lock went with the process).
    kit.start()
    kit.stop()


def test_the_page_port_taken_is_a_sentence_naming_the_setting(tmp_path: Path) -> None:
    config = write_config(tmp_path, "rtmp://127.0.0.1:1/live/")
    port = port_of(config)
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        r = start_fails(config)
    said = f"Port {port} is in use by another program: set [web] port in {config} to a free port."
    assert said in r.stderr
    opened_nothing(tmp_path / "state")


def read_only(folder: Path) -> list[str]:
    """A prefix that runs a command in a mount namespace where `folder` is read-only."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a read-only bind mount")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(folder)]


@pytest.mark.parametrize("which", ["state", "recordings"])
def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path, which: str) -> None:
    config = write_config(tmp_path, "rtmp://127.0.0.1:1/live/")
    folder = tmp_path / which
    folder.mkdir()
    r = start_fails(config, *read_only(folder))
    setting = "[state] dir" if which == "state" else "[recording] dir"
    assert f"The folder {folder} ({setting}) cannot be written (Read-only file system)" in r.stderr
    assert f"or set {setting} in {config} to a folder it can write." in r.stderr
    opened_nothing(tmp_path / "state")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder other users can reach (pytest's own is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="kit-startup-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_folder_of_another_user_is_named(shared_tmp: Path) -> None:
    """As an unprivileged user (nobody), a recordings folder owned by root, mode 0755."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv")
    tmp_path, nobody = shared_tmp, 65534
    config = write_config(tmp_path, "rtmp://127.0.0.1:1/live/")
    (tmp_path / "recordings").mkdir(mode=0o755)
    (tmp_path / "state").mkdir(mode=0o700)
    os.chown(tmp_path / "state", nobody, nobody)
    for parent in tmp_path.parents:  # nobody must reach the config and the folders
        if parent.stat().st_mode & 0o001 == 0:
            pytest.skip(f"{parent} is not searchable by other users")
    config.chmod(0o644)
    wrap = ["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups"]
    if subprocess.run([*wrap, sys.executable, "-c", ""], capture_output=True).returncode:
        pytest.skip(f"{sys.executable} cannot be run by other users here")
    r = start_fails(config, *wrap)
    folder = tmp_path / "recordings"
    assert f"The folder {folder} ([recording] dir) cannot be written (Permission denied)" in (
        r.stderr
    )
    assert f"(uid {nobody})" in r.stderr
    opened_nothing(tmp_path / "state")


def test_a_killed_broadcast_is_closed_as_interrupted_at_the_next_start(
    tmp_path: Path, ingest: Ingest
) -> None:
    kit = KitProcess(write_config(tmp_path, ingest.rtmp_url()), tmp_path / "d.log")
    kit.start()
    try:
        kit.press()
        kit.wait_state("live", timeout=20)
        session_id = kit.status()["session_id"]
        time.sleep(6)
        kit.signal(signal.SIGKILL)
        kit.wait_exit(5)
    finally:
        kit.stop()
    time.sleep(1)  # ffmpeg goes with the daemon (PR_SET_PDEATHSIG)
    db = sqlite3.connect(kit.state_dir / "kit.db")
    row = "SELECT started_at, ended_at, end_state FROM sessions WHERE id=?"
    started_at, ended_at, end_state = db.execute(row, (session_id,)).fetchone()
    assert ended_at is None and end_state == ""  # left open by the kill
    parts = sorted(kit.recordings.glob("*/part-*.mp4"))
    recorded = sum(probe.duration(p) for p in parts if p.stat().st_size)
    assert recorded > 4

    kit.start()
    try:
        started_at, ended_at, end_state = db.execute(row, (session_id,)).fetchone()
        assert end_state == "interrupted"
        # Its last recorded second: the recording, plus the moment ffmpeg took to start.
        assert recorded - 0.5 <= ended_at - started_at <= recorded + 2.0
        assert f"broadcast {session_id} was interrupted" in kit.log()
        assert kit.status()["state"] == "idle"
    finally:
        kit.stop()
    db.close()
