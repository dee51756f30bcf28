"""The recording's fate while live (kit.media.supervisor): what the folder says, and what
the status and ffmpeg do about it. Pure tables, then the folder reading on real folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.media import supervisor
from kit.media.supervisor import next_recording_state, recording_state


@pytest.mark.parametrize(
    ("before", "seen", "after", "restart"),
    [
        ("ok", "resumable", "ok", False),
        ("ok", "low", "ok", False),  # little room, but still writing
        ("ok", "disk_full", "disk_full", False),
        ("ok", "folder_gone", "folder_gone", False),
        ("ok", "recreated", "ok", True),  # the session's folder was removed: record anew
        ("disk_full", "disk_full", "disk_full", False),
        ("disk_full", "low", "disk_full", False),  # not enough room yet for a segment
        ("disk_full", "resumable", "ok", True),  # room again: a new segment
        ("folder_gone", "folder_gone", "folder_gone", False),
        ("folder_gone", "recreated", "ok", True),  # the USB disk is back
        ("folder_gone", "resumable", "ok", True),
    ],
)
def test_next_recording_state(before: str, seen: str, after: str, restart: bool) -> None:
    assert next_recording_state(before, seen) == (after, restart)


def test_recording_state_on_real_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recordings = tmp_path / "recordings"
    session = recordings / "2026-12-01_0100_show"
    session.mkdir(parents=True)
    assert recording_state(session, resume_bytes=1) == "resumable"
    assert recording_state(session, resume_bytes=2**62) == "low"
    monkeypatch.setattr(supervisor, "FULL_BYTES", 2**62)
    assert recording_state(session) == "disk_full"
    monkeypatch.setattr(supervisor, "FULL_BYTES", 2 * 2**20)
    session.rmdir()
    assert recording_state(session) == "recreated"
    assert session.is_dir()
    session.rmdir()
    recordings.rmdir()  # the USB disk is gone: nothing is made in its place
    assert recording_state(session) == "folder_gone"
    assert not recordings.exists()
