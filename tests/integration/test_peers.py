"""The test peers themselves, checked against real ffmpeg: if these fail, kit tests that use
the peers prove nothing."""

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.peers import probe
from tests.peers.ingest import Ingest

KEY = "stream-7311?expire=1790000000&sign=0123abcd"


def ffmpeg_push(
    url: str,
    *output_options: str,
    seconds: float = 4,
    size: str = "720x1280",
    wait: bool = True,
) -> subprocess.CompletedProcess | subprocess.Popen:
    """Publish a test pattern and a 440 Hz tone in real time, as a phone app would."""
    command = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds),
        "-c:v", "libx264", "-g", "60", "-c:a", "aac", "-ar", "48000",
        # Protocol options (TLS verification) only take effect here, before the output URL.
        "-f", "flv", *output_options, url,
    ]  # fmt: skip
    if not wait:
        return subprocess.Popen(command, stderr=subprocess.DEVNULL)
    return subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)


def short_push(url: str, *output_options: str) -> subprocess.CompletedProcess:
    result = ffmpeg_push(url, *output_options, seconds=1, size="320x240")
    assert isinstance(result, subprocess.CompletedProcess)
    return result


def verify(ingest: Ingest) -> tuple[str, ...]:
    return ("-tls_verify", "1", "-ca_file", str(ingest.ca_file))


@pytest.mark.parametrize("scheme", ["rtmp", "rtmps"])
def test_pushed_stream_is_recorded_as_sent(ingest: Ingest, scheme: str) -> None:
    if scheme == "rtmp":
        url, options = ingest.rtmp_url(), ()
    else:
        url, options = ingest.rtmps_url(), verify(ingest)
    result = ffmpeg_push(url + KEY, *options)
    assert result.returncode == 0, result.stderr + ingest.error_log()
    assert ingest.wait_for_publish()["tcurl"] == url.rstrip("/")

    [recording] = ingest.recordings("game")
    assert recording.name.startswith("stream-7311-")
    v = probe.video(recording)
    assert (v.codec, v.width, v.height, v.pix_fmt) == ("h264", 720, 1280, "yuv420p")
    assert v.fps == pytest.approx(30, abs=0.5)
    assert probe.max_keyframe_interval(recording) <= 2.0 + 0.005
    a = probe.audio(recording)
    assert (a.codec, a.profile, a.sample_rate) == ("aac", "LC", 48000)
    assert probe.duration(recording) == pytest.approx(4, abs=0.25)
    assert probe.max_gap(recording, "v") < 0.05
    assert probe.max_gap(recording, "a") < 0.05


def test_stream_key_query_reaches_the_hook_intact(ingest: Ingest) -> None:
    result = short_push(ingest.rtmp_url("live") + KEY)
    assert result.returncode == 0, result.stderr

    publish = ingest.wait_for_publish()
    assert (publish["app"], publish["name"]) == ("live", "stream-7311")
    assert (publish["expire"], publish["sign"]) == ("1790000000", "0123abcd")
    assert publish["_raw"].endswith("&name=stream-7311&type=live&expire=1790000000&sign=0123abcd")
    assert publish["_accepted"] is True
    assert [p.parent.name for p in ingest.recordings()] == ["live"]


def test_rtmps_verification_refuses_an_unknown_ca(ingest: Ingest) -> None:
    # Without our CA the system trust store applies, which must not accept the test server;
    # otherwise the passing verified push above would prove nothing.
    result = short_push(ingest.rtmps_url() + "untrusted", "-tls_verify", "1")
    assert result.returncode != 0
    assert "certificate" in result.stderr.lower()
    assert ingest.publishes == []


def test_rtmps_verification_checks_the_host_name(ingest: Ingest) -> None:
    wrong_host = ("-verifyhost", "example.com")
    result = short_push(ingest.rtmps_url() + "wronghost", *verify(ingest), *wrong_host)
    assert result.returncode != 0
    localhost = ingest.rtmps_url().replace("127.0.0.1", "localhost")
    assert short_push(localhost + "byname", *verify(ingest)).returncode == 0


def test_rejected_name_fails_the_publisher_and_records_nothing(ingest: Ingest) -> None:
    ingest.reject_names.add("banned")
    result = short_push(ingest.rtmp_url() + "banned")
    assert result.returncode != 0
    assert ingest.wait_for_publish()["_accepted"] is False
    assert ingest.recordings() == []

    ingest.reject_names.clear()
    result = short_push(ingest.rtmp_url() + "banned")
    assert result.returncode == 0, result.stderr
    assert ingest.wait_for_publish(count=2)["_accepted"] is True
    assert len(ingest.recordings()) == 1


def test_stop_and_start_bring_the_server_back_on_the_same_ports(ingest: Ingest) -> None:
    urls = ingest.rtmp_url(), ingest.rtmps_url()
    ingest.stop()
    assert not ingest.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ingest.rtmp_port), timeout=1).close()

    ingest.start()
    assert (ingest.rtmp_url(), ingest.rtmps_url()) == urls
    assert short_push(urls[0] + "again").returncode == 0
    assert short_push(urls[1] + "again-tls", *verify(ingest)).returncode == 0
    assert [p["name"] for p in ingest.publishes] == ["again", "again-tls"]


def test_stop_drops_a_live_publisher_like_an_outage(ingest: Ingest) -> None:
    publisher = ffmpeg_push(ingest.rtmp_url() + "live-one", seconds=60, size="320x240", wait=False)
    assert isinstance(publisher, subprocess.Popen)
    try:
        ingest.wait_for_media(timeout=20)
        time.sleep(1)
        ingest.stop()
        # ffmpeg notices the dropped connection at its next write.
        assert publisher.wait(timeout=10) != 0
    finally:
        publisher.kill()
        publisher.wait()

    restarted = time.monotonic()
    ingest.start()
    assert short_push(ingest.rtmp_url() + "live-two").returncode == 0
    assert ingest.wait_for_media(since=restarted) >= restarted
    first, second = ingest.recordings()
    assert (first.name.split("-")[1], second.name.split("-")[1]) == ("one", "two")
    assert probe.duration(first) > 0.5  # cut short, yet still readable


def flv_tag(kind: int, timestamp_ms: int, body: bytes) -> bytes:
    header = bytes([kind]) + len(body).to_bytes(3) + (timestamp_ms & 0xFFFFFF).to_bytes(3)
    header += bytes([timestamp_ms >> 24]) + bytes(3)
    return header + body + (11 + len(body)).to_bytes(4)


def test_wait_for_media_times_the_first_frame_to_a_few_ms(ingest: Ingest) -> None:
    # Written by hand so the true arrival time is known; nginx writes the same way.
    path: Path = ingest.record_dir / "game" / "handmade-1.flv"
    with path.open("wb", buffering=0) as f:
        f.write(b"FLV\x01\x05" + (9).to_bytes(4) + bytes(4))
        f.write(flv_tag(18, 0, b"\x02\x00\x0aonMetaData"))
        f.write(flv_tag(9, 0, b"\x17\x00\x00\x00\x00"))  # AVC sequence header
        f.write(flv_tag(8, 0, b"\xaf\x00\x11\x90"))  # AAC sequence header
        time.sleep(0.2)
        before = time.monotonic()
        f.write(flv_tag(9, 40, b"\x17\x01\x00\x00\x00frame"))
        after = time.monotonic()
        arrived = ingest.wait_for_media(timeout=5)

    assert before <= arrived <= after + 0.03
    assert ingest.wait_for_media(include_config=True) < before
    tags = ingest.media_tags()
    assert [(t.kind, t.timestamp_ms, t.config) for t in tags] == [
        ("video", 0, True),
        ("audio", 0, True),
        ("video", 40, False),
    ]
    with pytest.raises(TimeoutError):
        ingest.wait_for_media(timeout=0.1, since=time.monotonic())


def test_probe_reads_fragmented_cut_and_segmented_mp4(tmp_path: Path) -> None:
    def encode(*args: str) -> None:
        source = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4"]
        codec = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30"]
        command = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        subprocess.run([*command, *source, *codec, *args], check=True, cwd=tmp_path)

    encode("-movflags", "frag_keyframe+empty_moov", "frag.mp4")
    frag = tmp_path / "frag.mp4"
    assert probe.duration(frag) == pytest.approx(4, abs=0.05)
    assert probe.max_keyframe_interval(frag) == pytest.approx(1, abs=0.05)

    cut = tmp_path / "cut.mp4"
    cut.write_bytes(frag.read_bytes()[: frag.stat().st_size * 2 // 3])
    assert 1 < probe.duration(cut) < 3.5

    encode("-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "1", "seg.m3u8")
    segment = probe.joined(tmp_path / "init.mp4", tmp_path / "seg2.m4s")
    assert probe.duration(segment) == pytest.approx(1, abs=0.05)
    assert probe.keyframe_times(segment) == [pytest.approx(2, abs=0.05)]
    with pytest.raises(probe.ProbeError):
        probe.duration(tmp_path / "seg2.m4s")


def test_probe_max_gap_finds_a_hole(tmp_path: Path) -> None:
    holed = tmp_path / "holed.mkv"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3",
         "-vf", "select='not(between(t,1,2))'", "-fps_mode", "passthrough",
         "-c:v", "libx264", "-preset", "ultrafast", str(holed)],
        check=True,
    )  # fmt: skip
    assert probe.max_gap(holed, "v") == pytest.approx(2.033 - 0.967, abs=0.01)
    with pytest.raises(probe.ProbeError):
        probe.max_gap(holed, "a")  # no audio must not read as "audio without gaps"
