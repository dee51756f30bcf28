"""The picamera2 backend against the stand-in module, with the real pipeline around it.

picamera2 and libcamera run only on a Pi; tests/peers/fake_picamera2 mirrors
their API and makes real frames (stride-padded YUV420). Everything after it
is real: the pipe, ffmpeg's crop and turn, the encode, the ingest, ffprobe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.machine import Ev
from kit.media.camera import CameraSource
from tests.peers import probe
from tests.peers.ingest import Ingest
from tests.peers.live import Live

STAND_IN = Path(__file__).parent.parent / "peers" / "fake_picamera2"


@pytest.fixture
def picam_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(STAND_IN))
    for name in [m for m in sys.modules if m.split(".")[0] in ("picamera2", "libcamera")]:
        monkeypatch.delitem(sys.modules, name)
    yield


def broadcast(ingest: Ingest, camera: CameraSource, folder: Path, seconds: float) -> Path:
    with Live(ingest.rtmp_url(), "picam", folder, camera=camera) as live:
        live.wait_for(Ev.PUSH_UP, 15)
        threading.Event().wait(seconds)
    assert live.events[-1] is Ev.PIPELINE_STOPPED
    (flv,) = [p for p in ingest.recordings() if p.name.startswith("picam")]
    return flv


@pytest.mark.parametrize("mount", ["upright", "left", "right"])
def test_portrait_stream_from_the_camera(
    picam_module: None, ingest: Ingest, tmp_path: Path, mount: str
) -> None:
    from kit.media.picam import PiCamera

    cam = PiCamera(720, 1280, 30, mount=mount)  # type: ignore[arg-type]
    try:
        flv = broadcast(ingest, cam, tmp_path, 3)
    finally:
        cam.close()
    v = probe.video(flv)
    assert (v.codec, v.width, v.height) == ("h264", 720, 1280)
    assert v.fps == pytest.approx(30, abs=0.5)
    assert probe.duration(flv) > 2.5
    assert probe.video(next(tmp_path.glob("part-*.mp4"))).height == 1280


def test_snapshot_while_streaming_is_a_portrait_jpeg(
    picam_module: None, ingest: Ingest, tmp_path: Path
) -> None:
    from kit.media.picam import PiCamera

    cam = PiCamera(720, 1280, 30, mount="left")
    try:
        feed = cam.start_feed()
        reader = subprocess.Popen(["cat"], stdin=feed.fd, stdout=subprocess.DEVNULL)
        threading.Event().wait(0.5)
        jpeg = cam.snapshot()
        assert cam.feed_alive(), "the snapshot interrupted the stream"
        assert cam.light()[0] == "ok"
        cam.stop_feed()
        reader.wait(5)
    finally:
        cam.close()
    assert jpeg[:2] == b"\xff\xd8"
    path = tmp_path / "snap.jpg"
    path.write_bytes(jpeg)
    v = probe.video(path)
    assert (v.width, v.height) == (720, 1280)


def test_no_picamera2_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from kit.media.camera import CameraError
    from kit.media.picam import PiCamera

    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(CameraError, match="picamera2 is not installed"):
        PiCamera(720, 1280, 30)


def test_a_new_video_preset_reconfigures_the_camera_for_the_next_feed(
    picam_module: None, tmp_path: Path
) -> None:
    """The page changed 720x1280 at 30 fps to 1080x1920 at 25: the next feed captures at
    that size and rate (a new crop of the sensor), so nothing is scaled up."""
    from kit.media.picam import PiCamera

    wanted = [(720, 1280, 30)]
    cam = PiCamera(720, 1280, 30, mount="upright", mode=lambda: wanted[0])
    try:
        first = cam.start_feed()
        cam.stop_feed()
        wanted[0] = (1080, 1920, 25)
        feed = cam.start_feed()
        main = cam._cam.camera_configuration()["main"]
        size = main["stride"] * main["size"][1] * 3 // 2
        got = b""
        while len(got) < size:  # one whole frame of the new size through the pipe
            chunk = os.read(feed.fd, size - len(got))
            assert chunk, "the camera's feed ended"
            got += chunk
        assert cam._cam.controls["FrameRate"] == 25.0
        cam.stop_feed()
    finally:
        cam.close()
    assert (first.width, first.height, first.fps) == (720, 1280, 30)
    assert (feed.width, feed.height, feed.fps) == (1080, 1920, 25)
    assert tuple(main["size"]) == (1080, 1920)
