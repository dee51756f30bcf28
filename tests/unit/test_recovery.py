"""kit.recovery: a broadcast left open by a dead daemon is ended at its last recorded second.

Segments are made by ffmpeg as the kit makes them (fragmented MP4); one is cut short, as a
kill or a power cut leaves it. File times are set by hand, as the wall clock left them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kit import recovery
from kit.store import INTERRUPTED, Store

START = 1_700_000_000.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 s of video and sound in fragmented MP4, a keyframe a second."""
    if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
        pytest.skip("needs ffmpeg and ffprobe")
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30",
         "-f", "lavfi", "-i", "sine", "-t", "7", "-c:v", "libx264", "-g", "30",
         "-c:a", "aac", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out


def segment(folder: Path, n: int, data: bytes, mtime: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"part-{n:04d}.mp4"
    p.write_bytes(data)
    os.utime(p, (mtime, mtime))
    return p


def test_a_cut_segment_counts_only_what_plays(clip: Path, tmp_path: Path) -> None:
    whole = recovery.playable_seconds(clip)
    assert whole == pytest.approx(7.0, abs=0.1)
    cut = segment(tmp_path, 0, clip.read_bytes()[: int(clip.stat().st_size * 0.8)], START)
    plays = recovery.playable_seconds(cut)
    assert plays is not None and 4.0 < plays < 6.5  # its last fragment is partly missing
    assert recovery.playable_seconds(segment(tmp_path, 1, b"", START)) == 0.0
    assert recovery.playable_seconds(clip, ffprobe="/nonexistent/ffprobe") is None


def test_unfinished_sessions_end_interrupted_at_the_last_recorded_second(
    clip: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "kit.db")
    data = clip.read_bytes()
    # Two segments: the first written until START+10, the second (7 s of media) since.
    two = tmp_path / "rec/two"
    segment(two, 0, data, START + 10)
    segment(two, 1, data, START + 30)  # touched later (fsync) than its media reaches
    a = store.begin("two", two, now=START)
    # One segment only, written until START+4 but holding 7 s: the file time is the limit.
    one = tmp_path / "rec/one"
    segment(one, 0, data, START + 4)
    b = store.begin("one", one, now=START)
    # No segment at all (killed while connecting), and no folder.
    c = store.begin("none", tmp_path / "rec/missing", now=START)
    # A finished one stays as it was.
    d = store.begin("done", tmp_path / "rec/done", now=START)
    store.end(d, "stopped", 2, 3, 2500.0, now=START + 60)

    assert sorted(recovery.close_interrupted(store)) == sorted([a, b, c])
    ended = {s.id: s for s in store.sessions()}
    assert ended[a].end_state == INTERRUPTED
    assert ended[a].ended_at == pytest.approx(START + 10 + 7.0, abs=0.1)
    assert ended[b].ended_at == pytest.approx(START + 4)
    assert ended[c].ended_at == START
    assert (ended[d].end_state, ended[d].ended_at, ended[d].reconnects) == (
        "stopped",
        START + 60,
        2,
    )
    assert recovery.close_interrupted(store) == []  # nothing left open
    store.close()
