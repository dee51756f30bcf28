"""The recording while live, when its disk fills up or its folder goes: the stream goes on,
the status says so, and the recording starts again in a new segment once it can.

The recordings folder is a small tmpfs mounted for the test (root, as CI is); the
broadcast is the daemon's own supervisor (tests/peers/live.py) against the nginx ingest.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.machine import Ev, Failed
from tests.peers import probe
from tests.peers.ingest import Ingest
from tests.peers.live import Live

pytestmark = pytest.mark.slow
KEY = "stream-1?sign=abc"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Take every byte left, as a full card would."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * (1 << 20))
    return filler


def test_a_full_disk_stops_the_recording_not_the_stream_and_room_brings_it_back(
    small_disk: Path, ingest: Ingest
) -> None:
    session = small_disk / "recordings" / "show"
    session.mkdir(parents=True)
    with Live(ingest.rtmp_url(), KEY, session, push_health=True) as live:
        live.wait_for(Ev.PUSH_UP, 15)
        time.sleep(3)
        filler = fill(small_disk)
        live.wait(lambda: live.supervisor.stats()["recording_state"] == "disk_full", 10, "full")
        # The stream goes on meanwhile.
        full_at = time.monotonic()
        ingest.wait_for_media(timeout=5, since=full_at + 1)
        parts = sorted(session.glob("part-*.mp4"))
        filler.unlink()  # room again
        live.wait(lambda: live.supervisor.stats()["recording_state"] == "ok", 10, "room")
        live.wait(lambda: len(list(session.glob("part-*.mp4"))) > len(parts), 15, "a new segment")
        time.sleep(4)
        assert not any(isinstance(e, Failed) for e in live.events)
    newest = max(session.glob("part-*.mp4"))
    assert probe.duration(newest) > 2  # recording again
    for part in sorted(session.glob("part-*.mp4")):
        assert probe.duration(part) > 0, part


def test_a_recordings_folder_that_goes_and_comes_back(tmp_path: Path, ingest: Ingest) -> None:
    recordings = tmp_path / "recordings"
    session = recordings / "show"
    session.mkdir(parents=True)
    with Live(ingest.rtmp_url(), KEY, session, push_health=True) as live:
        live.wait_for(Ev.PUSH_UP, 15)
        time.sleep(2)
        shutil.rmtree(recordings)  # a USB disk unplugged
        live.wait(lambda: live.supervisor.stats()["recording_state"] == "folder_gone", 10, "gone")
        ingest.wait_for_media(timeout=5, since=time.monotonic())  # the stream goes on
        recordings.mkdir()  # plugged in again
        live.wait(lambda: live.supervisor.stats()["recording_state"] == "ok", 10, "back")
        live.wait(lambda: any(session.glob("part-*.mp4")), 15, "a new segment")
        time.sleep(4)
    assert probe.duration(max(session.glob("part-*.mp4"))) > 2
