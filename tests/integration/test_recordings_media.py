"""The recordings' media on real segments made by the kit's own pipeline (the Supervisor
and ffmpeg, as the daemon runs them, 10 s segments, the simulation's sync pattern), with
real ffmpeg and ffprobe: the joined video and a clip of each kind.

- The joined video: moov before mdat, the broadcast's whole duration, no gap at the
  segment joins (picture or sound), and the same A/V offset as the segments themselves.
- Clips (a copy cut, a smart cut): duration within 1 s of the asked span, H.264 + AAC,
  the broadcast's portrait size, moov first, sound and picture together.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from kit import avsync
from kit.machine import Ev
from kit.media import clips, mp4join
from kit.media.audio import Tone
from kit.media.camera import Flaws, TestPatternCamera
from kit.media.clipjobs import ClipJobs
from kit.store import Store
from tests.peers import live as live_peer
from tests.peers import probe
from tests.peers.ingest import Ingest
from tests.peers.live import Live

pytestmark = pytest.mark.slow

SECONDS = 24
FRAME_S = 1 / 30


def box_offsets(path: Path) -> dict[bytes, int]:
    """Where each top-level box starts in the file."""
    out: dict[bytes, int] = {}
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        out.setdefault(kind, pos)
        pos += size or len(data)
    return out


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 24 s of broadcast with 10 s segments: three segments, two joins."""
    folder = tmp_path_factory.mktemp("rec") / "2026-01-01_120000_sync"
    with Ingest(tmp_path_factory.mktemp("ingest")) as ingest:
        old, live_peer.SEGMENT_SECONDS = live_peer.SEGMENT_SECONDS, 10
        try:
            camera = TestPatternCamera(live_peer.ENCODE, Flaws(sync_pattern=True))
            with Live(ingest.rtmp_url(), "key", folder, camera=camera, audio=Tone(sync=True)) as lv:
                lv.wait_for(Ev.PUSH_UP, 15)
                time.sleep(SECONDS)
        finally:
            live_peer.SEGMENT_SECONDS = old
    return folder


def segment_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("part-*.mp4"))


def test_the_joined_video_is_the_whole_broadcast_moov_first_without_gaps(
    recording: Path, tmp_path: Path
) -> None:
    names = segment_names(recording)
    assert len(names) >= 3, names
    joined = mp4join.index(recording, names)
    assert joined is not None
    out = tmp_path / "joined.mp4"
    joined.write_to(out)
    assert out.stat().st_size == joined.size
    at = box_offsets(out)
    assert at[b"ftyp"] == 0 and at[b"moov"] < at[b"mdat"]
    # The whole broadcast: every segment's picture, end to end.
    parts = sum(probe.duration(recording / n, "v") for n in names)
    assert probe.duration(out, "v") == pytest.approx(parts, abs=0.05)
    assert abs(joined.duration_s - probe.duration(out, "v")) < 0.05
    # No hole at a join: the frames on either side a frame apart, the sound continuous.
    times = probe.frame_times(out, "v")
    join = 0.0
    for n in names[:-1]:
        join += probe.duration(recording / n, "v")
        after = next(i for i, t in enumerate(times) if t >= join - 1e-3)
        assert times[after] - times[after - 1] < 1.6 * FRAME_S, (n, join)
    assert probe.max_gap(out, "a") < 0.03
    v, a = probe.video(out), probe.audio(out)
    assert (v.codec, v.width, v.height, a.codec, a.sample_rate) == ("h264", 720, 1280, "aac", 48000)
    # Sound and picture as together as in the segments, all the way through.
    whole = avsync.measure([out])
    apart = avsync.measure([recording / n for n in names])
    assert whole.count >= SECONDS - 3
    assert abs(whole.mean - apart.mean) < 3 and whole.max - whole.min < 3
    assert whole.within()


@pytest.mark.parametrize(
    ("from_keyframe", "after", "method"), [(0.3, 5.0, "copy"), (1.0, 6.0, "smart")]
)
def test_a_clip_is_the_asked_span_portrait_h264_aac_moov_first(
    recording: Path, tmp_path: Path, from_keyframe: float, after: float, method: str
) -> None:
    """A clip from ``from_keyframe`` s after a keyframe: a copy cut within 0.5 s of it, a
    smart cut farther."""
    joined = mp4join.index(recording, segment_names(recording))
    assert joined is not None
    marker = 15.0
    before = round(marker - (joined.keyframes_s[3] + from_keyframe), 3)
    plan = clips.plan(marker, before, after, joined.duration_s, joined.keyframes_s, joined.frames_s)
    store = Store(tmp_path / "kit.db")
    sid = store.begin("Sync", recording)
    store.add_marker(sid, marker)
    clip_id = store.save_clip(sid, 1, plan.start_s, plan.end_s, plan.method)
    jobs = ClipJobs(store, lambda _: joined)
    jobs.submit(clip_id)
    assert jobs.wait_idle(60)
    clip = store.clip(clip_id)
    assert clip is not None and clip.state == "done", clip
    out = recording / "clips" / clip.file
    asked = before + after
    assert abs(probe.duration(out, "v") - asked) <= 1.0, (plan, probe.duration(out, "v"))
    assert abs(probe.duration(out, "a") - asked) <= 1.0
    assert probe.duration(out, "v") <= clips.MAX_CLIP_S
    v, a = probe.video(out), probe.audio(out)
    assert (v.codec, v.width, v.height, a.codec) == ("h264", 720, 1280, "aac")
    at = box_offsets(out)
    assert at[b"moov"] < at[b"mdat"]
    assert probe.max_gap(out, "v") < 1.6 * FRAME_S  # no hole where the copy begins
    sync = avsync.measure([out])
    assert sync.within() and sync.max - sync.min < 5
    store.close()
    assert plan.method == method, plan
    if method == "smart":
        assert 0 < plan.reencoded_s < 1.1  # only up to the next keyframe
