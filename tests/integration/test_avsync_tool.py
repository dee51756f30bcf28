"""kit.avsync on real media: ffmpeg makes the sync pattern with known offsets.

The picture is 720x1280 30 fps testsrc2 with a white frame at every whole second,
encoded once to H.264; each case copies it and adds AAC sound whose 1 kHz beeps
start a known time after (or before) the flashes, written as the kit writes its
outputs: one ffmpeg with a tee of FLV (what the ingest records), plain MP4 (edit
list: the decoder drops the AAC priming) and the recording's fragmented-MP4
segments (no edit list, timestamps reset in each segment). The AAC encoder's 1024
priming samples are in every case; the tool must time the sound right in all three.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kit import avsync

SECONDS = 12  # 720x1280 clips: the known offsets
DRIFT_SECONDS = 20  # 360x640 clips: drift, the CLI, errors
FPS = 30
FRAME_S = 1 / FPS
AUDIO_TOLERANCE_S = 0.002
REPO = Path(__file__).resolve().parents[2]
# A beep of 0.1 s at every whole second shifted by D (s): sound later than the picture
# for D > 0, so offset = t_picture - t_sound = -D. Quiet noise (-60 dBFS) in between.
NOISE = "0.001*(2*random(0)-1)"


def beeps(delay_s: float = 0.0, period_s: float = 1.0) -> str:
    return f"0.5*sin(2*PI*1000*t)*lt(mod(t-({delay_s})\\,{period_s})\\,0.1)+{NOISE}"


def run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_video(path: Path, *, size: str, seconds: float, flashes: bool = True) -> None:
    source = f"testsrc2=s={size}:r={FPS}:d={seconds}"
    if flashes:
        source += ",drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(mod(n\\,30)\\,0)'"
    # As the kit's camera H.264: no B-frames, a keyframe every 2 s, SPS/PPS in the header.
    run("-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0",
        "-g", str(2 * FPS), "-pix_fmt", "yuv420p", "-flags:v", "+global_header",
        "-f", "matroska", str(path))  # fmt: skip


def mux(video: Path, sound: str, out: Path, seconds: float) -> dict[str, list[Path]]:
    """FLV, plain MP4 and 5 s fragmented-MP4 segments in one ffmpeg run, as the kit's tee."""
    out.mkdir(parents=True, exist_ok=True)
    segment = (
        "[f=segment:segment_time=5:segment_format=mp4:reset_timestamps=1:"
        "segment_format_options=movflags=+frag_keyframe+empty_moov+default_base_moof]"
        f"{out}/part-%03d.mp4"
    )
    run("-i", str(video), "-f", "lavfi", "-i", f"aevalsrc=exprs={sound}:s=48000:d={seconds}",
        "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-flags:a", "+global_header",
        "-f", "tee", f"[f=flv]{out}/rec.flv|[f=mp4]{out}/rec.mp4|{segment}")  # fmt: skip
    made = {
        "flv": [out / "rec.flv"],
        "mp4": [out / "rec.mp4"],
        "segments": sorted(out.glob("part-*.mp4")),
    }
    # The tee goes on without an output that failed: check each is there.
    assert all(files and all(f.stat().st_size > 0 for f in files) for files in made.values())
    return made


class Media:
    """Cases made on first use, and their reports, shared by the module's tests."""

    def __init__(self, root: Path, size: str, seconds: float) -> None:
        self.root = root
        self.seconds = seconds
        self.video = root / "video.mkv"
        make_video(self.video, size=size, seconds=seconds)
        self._cases: dict[str, dict[str, list[Path]]] = {}
        self._reports: dict[tuple[str, str], avsync.Report] = {}

    def case(self, name: str, sound: str) -> dict[str, list[Path]]:
        if name not in self._cases:
            self._cases[name] = mux(self.video, sound, self.root / name, self.seconds)
        return self._cases[name]

    def report(self, name: str, sound: str, container: str) -> avsync.Report:
        if (name, container) not in self._reports:
            self._reports[name, container] = avsync.measure(self.case(name, sound)[container])
        return self._reports[name, container]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """The kit's picture size, for the measurements."""
    return Media(tmp_path_factory.mktemp("avsync"), "720x1280", SECONDS)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """A smaller picture (4 times cheaper to decode) where the size does not matter."""
    return Media(tmp_path_factory.mktemp("avsync-small"), "360x640", DRIFT_SECONDS)


def video_start(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=start_time",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(out.strip())


@pytest.mark.parametrize("container", ["flv", "mp4", "segments"])
@pytest.mark.parametrize("delay_ms", [80, -40, 0])
def test_known_offsets(media: Media, container: str, delay_ms: int) -> None:
    files = media.case(f"delay{delay_ms}", beeps(delay_ms / 1000))[container]
    report = media.report(f"delay{delay_ms}", beeps(delay_ms / 1000), container)

    expected = -float(delay_ms)
    # Every whole second but 0 (a bright first frame is not counted); each segment after
    # the first begins on a flash (cut at a keyframe), which is not counted either.
    assert report.count >= SECONDS - 1 - (len(files) - 1), report.table()
    for flash, beep, offset in report.pairs:
        assert offset == pytest.approx(expected, abs=AUDIO_TOLERANCE_S * 1000), report.table()
        assert flash - beep == pytest.approx(offset / 1000)
    assert report.within() is (-125 <= expected <= 45)
    assert report.frame_s == pytest.approx(FRAME_S, abs=0.001)
    if container != "segments":
        # Video side: each flash on its whole second of the file's timeline (the FLV's
        # starts later by the shift that keeps the AAC priming at negative times).
        v0 = video_start(files[0])
        for flash, beep, _ in report.pairs:
            second = round(flash - v0)
            assert flash - (v0 + second) == pytest.approx(0, abs=FRAME_S), (flash, v0)
            assert beep - (v0 + second + delay_ms / 1000) == pytest.approx(0, abs=AUDIO_TOLERANCE_S)


def test_segments_lie_end_to_end(media: Media) -> None:
    files = media.case("delay80", beeps(0.08))["segments"]
    assert len(files) >= 3
    report = media.report("delay80", beeps(0.08), "segments")
    flashes = [f for f, _, _ in report.pairs]
    assert flashes == sorted(flashes)
    # On the recording's timeline a flash is about a whole second from the first one.
    for f in flashes:
        assert (f - flashes[0]) == pytest.approx(round(f - flashes[0]), abs=0.05)
    assert flashes[-1] - flashes[0] > SECONDS - 3
    # Segments are cut at the keyframes, on flashes: each next segment's first frame is a
    # flash the tool does not count (it might be a flash's second frame), and its beep
    # stays unmatched.
    assert report.unmatched_beeps >= len(files) - 1


def test_drift_shows_in_first_and_last_means(small: Media) -> None:
    # Beeps every 1.001 s: the sound falls 1 ms further behind every second.
    report = small.report("drift", beeps(0.0, period_s=1.001), "flv")
    assert report.count == DRIFT_SECONDS - 1
    for flash, _, offset in report.pairs:
        assert offset == pytest.approx(-round(flash), abs=AUDIO_TOLERANCE_S * 1000)
    assert report.first_minute_mean_ms - report.last_minute_mean_ms == pytest.approx(12.0, abs=1.0)
    assert report.drift_ms_per_min == pytest.approx(-60.0, abs=2.0)


def test_no_flashes_is_a_clear_error(tmp_path: Path) -> None:
    video = tmp_path / "plain.mkv"
    make_video(video, size="360x640", seconds=3, flashes=False)
    files = mux(video, beeps(), tmp_path / "plain", seconds=3)
    with pytest.raises(avsync.AvSyncError, match=r"no white flashes found: is \[simulation\]"):
        avsync.measure(files["flv"])


def test_a_continuous_tone_is_not_beeps(small: Media) -> None:
    files = small.case("tone", "0.5*sin(2*PI*1000*t)")["flv"]
    with pytest.raises(avsync.AvSyncError, match="no beeps found"):
        avsync.measure(files)


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.flv"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(avsync.AvSyncError, match=r"junk\.flv"):
        avsync.measure(str(junk))
    with pytest.raises(avsync.AvSyncError, match="no such file"):
        avsync.measure([tmp_path / "missing.flv"])


def test_a_file_without_media_among_several_is_skipped(small: Media, tmp_path: Path) -> None:
    # What nginx leaves of a publish that never sent a frame: the FLV header alone.
    empty = tmp_path / "empty.flv"
    empty.write_bytes(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00")
    files = small.case("delay80", beeps(0.08))["flv"]
    report = avsync.measure([empty, *files])
    assert report.skipped == (str(empty),)
    assert report.sources == tuple(map(str, files))
    assert report.mean == pytest.approx(-80.0, abs=2.0)
    assert "skipped" in report.table()
    with pytest.raises(avsync.AvSyncError, match=r"empty\.flv"):
        avsync.measure([empty])
    with pytest.raises(avsync.AvSyncError, match="no file has both"):
        avsync.measure([empty, empty])


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kit.avsync", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exit_codes(small: Media, tmp_path: Path) -> None:
    within = cli(*small.case("delay80", beeps(0.08))["segments"])
    assert within.returncode == 0, within.stderr
    assert "within" in within.stdout
    assert "-80." in within.stdout

    # The sound 60 ms ahead of the picture: more than the 45 ms BT.1359 allows.
    out = cli(small.case("lead60", beeps(-0.06))["flv"][0])
    assert out.returncode == 1, out.stderr
    assert "OUT OF BUDGET" in out.stdout
    assert re.search(r"mean +\+(59\.[5-9]|60\.[0-5]) ms", out.stdout), out.stdout

    missing = cli(tmp_path / "missing.flv")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert missing.stdout == ""


def test_cli_json(small: Media) -> None:
    out = cli("--json", small.case("delay80", beeps(0.08))["mp4"][0])
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["within"] is True
    assert math.isclose(data["mean"], -80.0, abs_tol=2.0)
    assert len(data["pairs"]) == data["count"]
