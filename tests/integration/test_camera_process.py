"""The camera process on the real picamera2 (0.3.38 from PyPI) and a real libcamera.

The camera rig (tests/rigs/camera, built by install.sh --dev) is a Debian trixie root
with libcamera built from Debian's source, its virtual camera patched to answer as a
Pi's Camera Module 3 (IMX708 modes, 64-byte strides, paced frames), and a DMA heap
served from memfds. kit.media.camclient starts kit.media.camproc inside it exactly as
it starts it on a Pi, with the rig's python in place of the Pi's.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import select
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.media import camclient
from kit.media.camclient import CameraProcess
from kit.media.pipeline import Encode
from tests.peers.camrig import ensure_rig, enter_argv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def rig() -> None:
    ensure_rig()


def camera(width: int = 720, height: int = 1280, fps: int = 30, **kw: object) -> CameraProcess:
    return CameraProcess(
        lambda: Encode("libx264", width, height, fps, 2500),
        python=enter_argv("python3"),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def cam() -> Iterator[CameraProcess]:
    c = camera()
    yield c
    c.close()


def probe_feed(fd: int, packets: int = 60) -> dict:
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "nut", "-i", f"pipe:{fd}",
         "-read_intervals", f"%+#{packets}", "-show_streams", "-show_packets", "-of", "json"],
        pass_fds=(fd,), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(r.stdout)


def test_a_feed_is_h264_stamped_with_the_sensors_time(cam: CameraProcess) -> None:
    t0 = time.time()
    feed = cam.start_feed(t0)
    info = probe_feed(feed.fd)
    cam.stop_feed()
    s = info["streams"][0]
    assert (s["codec_name"], s["width"], s["height"]) == ("h264", 720, 1280)
    assert s["time_base"] == "1/1000000"
    # SPS and PPS in the header: every output's header (MP4 segments, FLV) has them.
    assert int(s["extradata_size"]) > 8
    pts = [float(p["pts_time"]) for p in info["packets"]]
    assert info["packets"][0]["flags"].startswith("K")
    # Wall-clock capture times, after t0, as they happened (not ffmpeg's numbering).
    assert t0 <= pts[0] < time.time()
    gaps = [b - a for a, b in itertools.pairwise(pts)]
    assert statistics.median(gaps) == pytest.approx(1 / 30, abs=0.002)
    assert (feed.width, feed.height, feed.fps) == (720, 1280, pytest.approx(30, abs=0.1))
    assert cam.said["encoder"] == "LibavH264Encoder"  # no H.264 hardware here: as a Pi 5


def test_1080p30_gets_a_full_view_mode_fast_enough() -> None:
    # picamera2 alone would take the 4608x2592 mode, 14.35 fps at most.
    c = camera(1080, 1920, 30)
    try:
        feed = c.start_feed(time.time())
        info = probe_feed(feed.fd, 40)
        c.stop_feed()
    finally:
        c.close()
    assert c.said["sensor_mode"] == [2304, 1296]
    assert c.said["fps"] == pytest.approx(30, abs=0.1)
    pts = [float(p["pts_time"]) for p in info["packets"]]
    assert statistics.median(b - a for a, b in itertools.pairwise(pts)) == (
        pytest.approx(1 / 30, abs=0.002)
    )


def test_sideways_720p_sees_the_whole_sensor() -> None:
    c = camera(mount="left")
    try:
        feed = c.start_feed(time.time())
        c.stop_feed()
    finally:
        c.close()
    assert (feed.width, feed.height, feed.rotate) == (1280, 720, 90)
    assert c.said["sensor_mode"] == [2304, 1296]  # not the cropped 1536x864
    assert c.said["crop"] == [0, 0, 4608, 2592]


def test_a_stalled_camera_is_seen_within_a_second(tmp_path: Path, cam: CameraProcess) -> None:
    stall = tmp_path / "stall"
    os.environ["KIT_RIG_STALL_FILE"] = str(stall)
    try:
        feed = cam.start_feed(time.time())
        drain = subprocess.Popen(["cat"], stdin=feed.fd, stdout=subprocess.DEVNULL)
        time.sleep(1.5)
        assert cam.feed_alive()
        stall.touch()
        stalled = time.monotonic()
        while cam.feed_alive() and time.monotonic() - stalled < 5:
            time.sleep(0.05)
        seen = time.monotonic() - stalled
        assert not cam.feed_alive()
        assert seen < 1.0, seen
        assert "sent no picture" in cam.feed_problem()
        drain.kill()
    finally:
        del os.environ["KIT_RIG_STALL_FILE"]


def test_a_crashed_camera_process_is_seen_and_replaced(cam: CameraProcess) -> None:
    feed = cam.start_feed(time.time())
    drain = subprocess.Popen(["cat"], stdin=feed.fd, stdout=subprocess.DEVNULL)
    time.sleep(1)
    assert cam._proc is not None
    os.killpg(cam._proc.pid, signal.SIGKILL)  # libcamera crashing, say
    deadline = time.monotonic() + 2
    while cam.feed_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cam.feed_alive()
    assert "stopped" in cam.feed_problem()
    drain.kill()
    cam.stop_feed()
    assert cam.available()  # a new process, the camera again


def test_no_camera_is_a_sentence_not_an_exit() -> None:
    os.environ["KIT_RIG_NO_CAMERA"] = "1"
    try:
        c = camera()
        assert not c.available()
        assert c.problem() is not None and c.problem().id == "camera.missing"  # type: ignore[union-attr]
        with pytest.raises(camclient.CameraProblem, match="ribbon cable"):
            c.start_feed(time.time())
        c.close()
    finally:
        del os.environ["KIT_RIG_NO_CAMERA"]


def test_a_busy_camera_is_said_so(cam: CameraProcess) -> None:
    other = subprocess.Popen(
        [*enter_argv("python3"), "-c",
         "import picamera2, sys, time; c = picamera2.Picamera2(); print('open', flush=True);"
         " time.sleep(30)"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == b"open"
        assert not cam.available()
        assert cam.problem() is not None and cam.problem().id == "camera.busy"  # type: ignore[union-attr]
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait()
    assert cam.available()  # tried again: free now


def test_the_camera_is_let_go_when_unused() -> None:
    c = camera(idle_s=1.0)
    try:
        assert c.available()
        assert c._proc is not None
        pid = c._proc.pid
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert c._proc is None
        assert not Path(f"/proc/{pid}").exists()  # picamera2, libcamera and numpy with it
    finally:
        c.close()


def test_snapshot_and_light(cam: CameraProcess) -> None:
    jpeg = cam.snapshot()
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) > 1000
    level, said = cam.light()
    assert level in ("ok", "warn") and str(said)


def test_the_whole_kit_live_on_the_real_camera(kit_process, ingest) -> None:  # type: ignore[no-untyped-def]
    """`kit run --simulate` with [camera] source = "picamera2": the pins and the microphone
    simulated, the picture from picamera2 in the camera's process, the sync pattern on."""
    from kit import avsync
    from tests.peers import probe

    extra = f"""
[camera]
source = "picamera2"
python = "{" ".join(enter_argv("python3"))}"
[simulation]
sync_pattern = true
"""
    kit = kit_process(ingest.rtmp_url(), extra=extra)
    kit.press()
    st = kit.wait_state("live", timeout=30)
    assert st["camera"]["ok"]
    time.sleep(25)
    assert kit.proc is not None
    maps = Path(f"/proc/{kit.proc.pid}/maps").read_text()
    # The daemon holds none of the camera's libraries: they live in the camera's process.
    assert "libcamera" not in maps and "numpy" not in maps and "libav" not in maps
    kit.cli("live", "stop")
    kit.wait_state("idle", timeout=30)

    flv = ingest.recordings()
    at_ingest = probe.video(flv[-1])
    assert (at_ingest.codec, at_ingest.width, at_ingest.height) == ("h264", 720, 1280)
    assert at_ingest.fps == pytest.approx(30, abs=1)
    assert probe.audio(flv[-1]).codec == "aac"
    segments = sorted(kit.recordings.glob("*/part-*.mp4"))
    first = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
         "stream=codec_name,width,height,extradata_size", "-of", "json", str(segments[0])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    v = json.loads(first.stdout)["streams"][0]
    # The first segment's header has SPS/PPS (the point 7): it plays on its own.
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", 720, 1280)
    assert int(v["extradata_size"]) > 8
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(segments[0]), "-frames:v", "1", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert decoded.returncode == 0 and not decoded.stderr, decoded.stderr
    report = avsync.measure(flv)
    print(report.table())
    assert report.count >= 15
    assert report.within(-125, 45), report.table()


def test_the_kit_stays_up_without_a_camera_and_says_what_to_check(
    kit_process, ingest, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """No camera at start: the daemon runs on (page, button, API) and says what to check,
    on the page and in the checks. (Looking again until it is back: test_camera_watch.py,
    and a camera free again is found: test_a_busy_camera_is_said_so above.)"""
    monkeypatch.setenv("KIT_RIG_NO_CAMERA", "1")
    extra = f"""
[camera]
source = "picamera2"
python = "{" ".join(enter_argv("python3"))}"
"""
    kit = kit_process(ingest.rtmp_url(), extra=extra)
    st = kit.wait_for(lambda s: not s["camera"]["ok"], 30, "the camera found missing")
    assert st["state"] == "idle"
    assert "ribbon cable" in st["camera"]["problem"]
    assert st["warnings"][0] == st["camera"]["problem"]
    kit.press()  # the checks say so too, and nothing goes live
    st = kit.wait_state("check_failed", timeout=30)
    assert any(c["id"] == "camera" and c["status"] == "fail" for c in st["checks"])
    assert kit.proc is not None and kit.proc.poll() is None


def test_a_reader_that_stops_reading_does_not_stop_the_camera(cam: CameraProcess) -> None:
    """ffmpeg hung (SIGSTOP, as the fault benchmark does): the camera goes on (its packets
    are dropped to the next keyframe, not waited on), so the daemon hears no "stalled" and
    restarts only ffmpeg, and the same camera process feeds the next run at once."""
    feed = cam.start_feed(time.time())
    # The smallest pipe (one page): the rig's still picture compresses to a few hundred
    # bytes a frame, and a 64 KB pipe would hide a blocked writer for seconds.
    fcntl.fcntl(feed.fd, fcntl.F_SETPIPE_SZ, 4096)
    drain = subprocess.Popen(["cat"], stdin=feed.fd, stdout=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        drain.send_signal(signal.SIGSTOP)
        hung = time.monotonic()
        while time.monotonic() - hung < 3.0:  # six times the camera's stall timeout
            assert cam.feed_alive(), cam.feed_problem()
            time.sleep(0.1)
        drain.send_signal(signal.SIGCONT)
        time.sleep(1.0)
        assert cam.feed_alive(), cam.feed_problem()
    finally:
        drain.kill()
    process = cam._proc
    started = time.monotonic()
    cam.stop_feed()
    assert time.monotonic() - started < 2.0
    again = cam.start_feed(time.time())
    info = probe_feed(again.fd, packets=10)
    cam.stop_feed()
    assert cam._proc is process  # no new process: the camera was never at fault
    assert info["packets"][0]["flags"].startswith("K")


def test_every_feed_starts_at_once(cam: CameraProcess) -> None:
    """Feed after feed, as ffmpeg is restarted: each starts within a frame or two on the
    new encoder's first keyframe, even one the camera took just before the run's time 0
    (refused, the feed waited for the next keyframe: up to 2 s), and each packet leaves
    as it is made (the rig's still picture is a few hundred bytes a frame, like a dark
    scene on a Pi: libav's 32 KB buffer would hold seconds of it)."""
    for attempt in range(4):
        feed = cam.start_feed(time.time())
        started = time.monotonic()
        data = b""
        while time.monotonic() - started < 1.0:
            ready, _, _ = select.select([feed.fd], [], [], 0.05)
            if ready:
                data += os.read(feed.fd, 1 << 16)
        cam.stop_feed()
        r = subprocess.run(
            ["ffprobe", "-v", "error", "-f", "nut", "-i", "pipe:0", "-show_packets", "-of", "json"],
            input=data, capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        packets = json.loads(r.stdout or b"{}").get("packets", [])
        # 30 fps for 1 s, less the encoder's start: 20 leaves room for a slow machine.
        assert len(packets) >= 20, (attempt, len(packets), len(data))
        time.sleep(1.5)
