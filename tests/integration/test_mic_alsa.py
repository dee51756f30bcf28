"""kit.media.mic against real ALSA: pyalsaaudio and ffmpeg capture from devices made of
files (tests/peers/alsa.py), since no sound card is needed for that. The pure parts, and
the mixer's, which cannot be reached without a sound card, are tables at the end."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import alsaaudio  # not skipped when missing: install.sh --dev installs it
import pytest

from kit.media import mic
from kit.media.audio import MicrophoneError
from kit.media.mic import Meter
from tests.peers import alsa, probe

SOUNDS = {
    "kit_tone": alsa.tone(1000, peak_dbfs=-12.0),
    "kit_loud": alsa.tone(1000, peak_dbfs=-0.5),  # loud, but short of clipping
    "kit_quiet": alsa.tone(1000, peak_dbfs=-66.0),  # a microphone left muted hums this low
    "kit_silence": alsa.silence(),
    "kit_square": alsa.square(1000),
}


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> alsa.AlsaDevices:
    return alsa.make_devices(tmp_path_factory.mktemp("alsa"), SOUNDS)


@pytest.fixture
def in_process(devices: alsa.AlsaDevices, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test's devices for pyalsaaudio here; the machine's own again afterwards."""
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(devices.config))
    yield


# -- the meter, through pyalsaaudio ---------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "peak", "rms", "silent", "clipping"),
    [
        ("kit_tone", -12.0, -15.01, False, False),
        ("kit_loud", -0.5, -3.51, False, False),
        ("kit_quiet", -66.0, -69.01, True, False),
        ("kit_silence", mic.FLOOR_DBFS, mic.FLOOR_DBFS, True, False),
        ("kit_square", 0.0, 0.0, False, True),
    ],
)
@pytest.mark.usefixtures("in_process")
def test_the_meter_measures_what_the_device_gives(
    device: str, peak: float, rms: float, silent: bool, clipping: bool
) -> None:
    reading = mic.measure(device)
    assert reading.state is Meter.MEASURED, reading.message
    assert reading.peak_dbfs == pytest.approx(peak, abs=0.5)
    assert reading.rms_dbfs == pytest.approx(rms, abs=0.5)
    assert (reading.silent, reading.clipping) == (silent, clipping)


@pytest.mark.usefixtures("in_process")
def test_a_full_scale_reading_shows_as_zero_not_minus_zero() -> None:
    d = mic.measure("kit_square").as_dict()
    assert (str(d["peak_dbfs"]), str(d["rms_dbfs"]), d["clipping"]) == ("0.0", "0.0", True)


@pytest.mark.usefixtures("in_process")
def test_a_mono_reading_of_the_same_device_agrees() -> None:
    # The file plugin hands out bytes as asked: mono reads the stereo file as twice the
    # frames, with the same samples, so the levels must not change.
    reading = mic.measure("kit_tone", channels=1)
    assert reading.peak_dbfs == pytest.approx(-12.0, abs=0.5)
    assert reading.rms_dbfs == pytest.approx(-15.01, abs=0.5)


@pytest.mark.usefixtures("in_process")
def test_the_meter_reports_a_device_that_is_not_there() -> None:
    reading = mic.measure("kit_no_such_device")
    assert reading.state is Meter.UNAVAILABLE
    assert "kit_no_such_device" in reading.message
    assert "plug in the USB microphone" in reading.message
    assert (reading.peak_dbfs, reading.rms_dbfs) == (None, None)
    assert reading.as_dict()["state"] == "unavailable"


def test_the_devices_are_gone_once_the_test_is_over() -> None:
    # The in-process fixture restored the machine's own configuration.
    assert "kit_tone" not in alsaaudio.pcms(alsaaudio.PCM_CAPTURE)
    assert mic.measure("kit_tone").state is Meter.UNAVAILABLE


# -- ffmpeg on the same devices ---------------------------------------------------------


def ffmpeg_capture(devices: alsa.AlsaDevices, device: str, out: Path) -> str:
    """One second from the device as the kit's pipeline opens it (-f alsa, no -ac/-ar),
    cut by sample count since the device has no clock; returns ffmpeg's log."""
    done = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info",
            "-f", "alsa", "-thread_queue_size", "1024", "-i", device,
            "-af", "atrim=end_sample=48000,astats=measure_perchannel=none",
            "-c:a", "pcm_s16le", "-y", os.fspath(out),
        ],
        env=devices.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def astats(log: str, what: str) -> float:
    [value] = re.findall(rf"\] {what} dB: (\S+)", log)
    return float(value)


@pytest.mark.parametrize(("device", "peak", "rms"), [("kit_tone", -12.0, -15.01)])
def test_ffmpeg_captures_the_device_as_the_meter_does(
    devices: alsa.AlsaDevices, tmp_path: Path, device: str, peak: float, rms: float
) -> None:
    out = tmp_path / "capture.wav"
    log = ffmpeg_capture(devices, device, out)

    a = probe.audio(out)
    assert (a.codec, a.sample_rate, a.channels) == ("pcm_s16le", 48000, 2)
    assert probe.duration(out) == pytest.approx(1.0, abs=0.01)
    # ffmpeg's own measure agrees with the meter's convention (RMS against full scale).
    assert astats(log, "Peak level") == pytest.approx(peak, abs=0.05)
    assert astats(log, "RMS level") == pytest.approx(rms, abs=0.05)
    # And the samples it captured are the ones the meter hears.
    data = out.read_bytes()
    samples = mic.samples_of(data[data.index(b"data") + 8 :])
    assert mic.levels(samples) == pytest.approx((peak, rms), abs=0.05)


def test_ffmpeg_hears_the_square_wave_clip(devices: alsa.AlsaDevices, tmp_path: Path) -> None:
    log = ffmpeg_capture(devices, "kit_square", tmp_path / "square.wav")
    assert astats(log, "Peak level") >= mic.CLIPPING_AT_DBFS


# -- the pure parts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "peak", "rms"),
    [
        ([], mic.FLOOR_DBFS, mic.FLOOR_DBFS),
        ([0, 0, 0, 0], mic.FLOOR_DBFS, mic.FLOOR_DBFS),
        ([-32768], 0.0, 0.0),
        ([32767, -32768], -0.0003, -0.0001),
        ([16384, -16384], -6.0206, -6.0206),
        ([16384, 0], -6.0206, -9.0309),  # half the samples: half the power
        ([1], -90.309, -90.309),  # the smallest step, still above the floor
    ],
)
def test_levels(samples: list[int], peak: float, rms: float) -> None:
    assert mic.levels(samples) == pytest.approx((peak, rms), abs=0.001)


def test_samples_of_reads_little_endian_and_drops_a_torn_sample() -> None:
    assert list(mic.samples_of(b"\x01\x00\xff\x7f\x00\x80\xff\xff\x07")) == [1, 32767, -32768, -1]


@pytest.mark.parametrize(
    ("peak", "rms", "silent", "clipping", "says"),
    [
        (-12.0, -15.0, False, False, "Level -15 dBFS, peaks at -12 dBFS."),
        (-0.11, -3.0, False, False, "Level -3 dBFS"),
        (-0.1, -3.0, False, True, "Clipping"),
        (0.0, -60.0, False, True, "Clipping"),  # a click in a quiet room still clips
        (-40.0, -60.0, False, False, "Level -60 dBFS"),
        (-40.0, -60.01, True, False, "Silent"),
        (mic.FLOOR_DBFS, mic.FLOOR_DBFS, True, False, "Silent"),
    ],
)
def test_judge(peak: float, rms: float, silent: bool, clipping: bool, says: str) -> None:
    reading = mic.judge(peak, rms)
    assert reading.state is Meter.MEASURED
    assert (reading.silent, reading.clipping) == (silent, clipping)
    assert says in reading.message


@pytest.mark.parametrize(
    ("error", "state", "says"),
    [
        # pyalsaaudio's words: alsa-lib's strerror, then the device.
        (f"{os.strerror(errno.EBUSY)} [hw:CARD=Device,DEV=0]", Meter.BUSY, "by the broadcast"),
        ("No such device [hw:CARD=Device,DEV=0]", Meter.UNAVAILABLE, "plug in the USB"),
        ("No such file or directory [hw:CARD=Device,DEV=0]", Meter.UNAVAILABLE, "plug in"),
        ("Invalid argument [hw:CARD=Device,DEV=0]", Meter.UNAVAILABLE, "[audio] device"),
    ],
)
def test_open_failure(error: str, state: Meter, says: str) -> None:
    reading = mic.open_failure("hw:CARD=Device,DEV=0", error)
    assert reading.state is state
    assert says in reading.message
    assert "hw:CARD=Device,DEV=0" in reading.message


@pytest.mark.parametrize(
    ("device", "card"),
    [
        ("hw:CARD=Device,DEV=0", "Device"),
        ("plughw:CARD=Device,DEV=0", "Device"),
        ("hw:CARD=U0x46d0x825", "U0x46d0x825"),
        ("hw:Device,0", "Device"),
        ("hw:1,0", "1"),
        ("hw:1", "1"),
        ("default", None),
        ("dsnoop:CARD=Device", None),
        ("kit_tone", None),
    ],
)
def test_card_of(device: str, card: str | None) -> None:
    assert mic.card_of(device) == card


def test_gain_needs_a_sound_card_device() -> None:
    with pytest.raises(MicrophoneError, match="hw:CARD=<id>,DEV=0"):
        mic.CaptureGain.for_device("default")


CAP = ["Capture Volume", "Capture Switch"]
PLAY = ["Playback Volume"]


@pytest.mark.parametrize(
    ("controls", "chosen"),
    [
        ([("Mic", ["Capture Volume", "Joined Capture Volume"])], "Mic"),  # most USB mics
        ([("Speaker", PLAY), ("Mic", PLAY), ("Capture", CAP)], "Capture"),  # Mic is playback
        ([("Auto Gain Control", []), ("Capture", CAP), ("Mic", CAP)], "Mic"),
        ([("Headset Capture", CAP)], "Headset Capture"),  # an unknown name that has it
        ([("Speaker", PLAY), ("Auto Gain Control", [])], None),
        ([], None),
    ],
)
def test_choose_capture_control(controls: list, chosen: str | None) -> None:
    assert mic.choose_capture_control(controls) == chosen


@pytest.mark.parametrize(
    ("raw", "low", "high", "percent"),
    [
        (0, 0, 16, 0),
        (16, 0, 16, 100),
        (8, 0, 16, 50),
        (-1280, -4096, 4096, 34),  # a USB mic's range in 1/256 dB steps
        (5000, -4096, 4096, 100),
        (3, 3, 3, 100),  # a fixed control
    ],
)
def test_to_percent(raw: int, low: int, high: int, percent: int) -> None:
    assert mic.to_percent(raw, low, high) == percent


@pytest.mark.parametrize(
    ("percent", "low", "high", "raw"),
    [
        (0, 0, 16, 0),
        (100, 0, 16, 16),
        (50, 0, 16, 8),
        (34, -4096, 4096, -1311),
        (150, 0, 16, 16),
        (-5, 0, 16, 0),
    ],
)
def test_to_raw(percent: float, low: int, high: int, raw: int) -> None:
    assert mic.to_raw(percent, low, high) == raw


@pytest.mark.parametrize("percent", range(0, 101))
def test_percent_survives_the_round_trip(percent: int) -> None:
    assert mic.to_percent(mic.to_raw(percent, 0, 37), 0, 37) in (percent - 1, percent, percent + 1)
    assert mic.to_percent(mic.to_raw(percent, -4096, 4096), -4096, 4096) == percent
