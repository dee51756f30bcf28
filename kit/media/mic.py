"""The USB microphone through ALSA: how loud it is, and its capture gain.

The level meter opens the capture device itself and reads a short window. A ``hw:`` device
can be open in one program at a time and ffmpeg holds it for the whole broadcast, so the
meter measures only while the kit is idle; while live it answers "busy" instead of failing.
It opens the device non-blocking for that reason too: in blocking mode the kernel makes a
second open of a busy ``hw:`` device wait until the first one closes, that is until the
broadcast ends. Give the meter the same name ffmpeg gets; ``plughw:CARD=<id>,DEV=0`` lets
ALSA convert for a microphone that gives no 16-bit samples (some give only 24-bit).

Levels are in dBFS against a full-scale 16-bit sample (32768). RMS is plain RMS against
the same full scale, as ffmpeg's astats reports it: a full-scale sine reads -3.01 dBFS RMS.

The gain is the card's capture volume in ALSA's mixer, in percent of its raw range as
``amixer`` shows it (alsamixer's bars follow dB instead). The mixer is not exclusive: the
gain can be changed while live.

pyalsaaudio is an optional dependency (``.[alsa]``), so it is imported where it is used.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import math
import os
import re
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kit.media.audio import MicrophoneError

FULL_SCALE = 32768
FLOOR_DBFS = -96.0  # what silence reads: below anything a 16-bit sample can say (-90.3)
SILENT_BELOW_DBFS = -60.0  # RMS over the window; a room with a live microphone is louder
CLIPPING_AT_DBFS = -0.1  # peak; 32393 and up
RATE = 48000
CHANNELS = 2  # what ffmpeg's alsa input asks for when given no -ac: measure what it gets
PERIOD_FRAMES = 1024  # 21 ms at 48 kHz: short, so a window is a few reads

# The capture controls USB microphones name, most likely first.
CAPTURE_CONTROLS = ("Mic", "Capture", "Mic Capture", "Microphone", "Input", "Line")

_BUSY = os.strerror(errno.EBUSY)  # "Device or resource busy", as alsa-lib words it


# -- levels (pure) ------------------------------------------------------------------


def samples_of(data: bytes) -> array:
    """Signed 16-bit little-endian PCM (S16_LE) as numbers; all channels interleaved."""
    samples = array("h", data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def dbfs(amplitude: float) -> float:
    if amplitude <= 0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20 * math.log10(amplitude / FULL_SCALE))


def levels(samples: Sequence[int]) -> tuple[float, float]:
    """(peak, RMS) in dBFS over all samples of all channels; FLOOR_DBFS for silence."""
    if not samples:
        return FLOOR_DBFS, FLOOR_DBFS
    peak = max(map(abs, samples))
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    return dbfs(peak), dbfs(rms)


class Meter(enum.Enum):
    MEASURED = "measured"
    BUSY = "busy"  # another program (the broadcast's ffmpeg) has the device
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Reading:
    state: Meter
    message: str
    peak_dbfs: float | None = None
    rms_dbfs: float | None = None
    silent: bool = False
    clipping: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "message": self.message,
            "peak_dbfs": _rounded(self.peak_dbfs),
            "rms_dbfs": _rounded(self.rms_dbfs),
            "silent": self.silent,
            "clipping": self.clipping,
        }


def _rounded(db: float | None) -> float | None:
    # + 0.0: a full-scale reading rounds to -0.0, which would show as "-0".
    return None if db is None else round(db, 1) + 0.0


def judge(peak_dbfs: float, rms_dbfs: float) -> Reading:
    silent = rms_dbfs < SILENT_BELOW_DBFS
    clipping = peak_dbfs >= CLIPPING_AT_DBFS
    if clipping:
        message = "Clipping: turn the microphone's gain down."
    elif silent:
        message = "Silent: check the microphone is switched on and unmuted, or turn its gain up."
    else:
        message = f"Level {rms_dbfs:.0f} dBFS, peaks at {peak_dbfs:.0f} dBFS."
    return Reading(Meter.MEASURED, message, peak_dbfs, rms_dbfs, silent, clipping)


def open_failure(device: str, error: str) -> Reading:
    """What an ALSA error on opening or reading ``device`` means for the person at the kit."""
    if _BUSY in error:
        return Reading(
            Meter.BUSY,
            f"{device} is in use, by the broadcast while live: its level is measured when "
            "the kit is idle.",
        )
    return Reading(
        Meter.UNAVAILABLE,
        f"Cannot read {device} ({error}): plug in the USB microphone, or check [audio] device.",
    )


# -- level meter (ALSA) ---------------------------------------------------------------


def measure(
    device: str,
    seconds: float = 0.3,
    *,
    rate: int = RATE,
    channels: int = CHANNELS,
    timeout: float = 2.0,
) -> Reading:
    """Read ``seconds`` of sound from the capture device ``device`` and judge its level.

    Never raises for a missing or busy device: the reading says so. Takes about ``seconds``
    on a real microphone; gives up ``timeout`` seconds after that if no sound comes.
    """
    try:
        import alsaaudio
    except ImportError:
        return Reading(Meter.UNAVAILABLE, "pyalsaaudio is not installed: run install.sh again.")
    try:
        pcm = alsaaudio.PCM(
            alsaaudio.PCM_CAPTURE,
            alsaaudio.PCM_NONBLOCK,
            device=device,
            rate=rate,
            channels=channels,
            format=alsaaudio.PCM_FORMAT_S16_LE,
            periodsize=PERIOD_FRAMES,
        )
    except alsaaudio.ALSAAudioError as e:
        return open_failure(device, str(e))
    try:
        # pyalsaaudio ignores settings the device refuses: what it got is in info().
        info = pcm.info()
        if info["format"] != alsaaudio.PCM_FORMAT_S16_LE:
            return Reading(
                Meter.UNAVAILABLE,
                f"{device} gives {info['format_name']} samples, not 16-bit: use its plughw: name.",
            )
        want = round(seconds * info["rate"]) * info["channels"] * 2  # bytes
        data = _read(pcm, want, time.monotonic() + seconds + timeout)
    except alsaaudio.ALSAAudioError as e:  # e.g. unplugged while reading
        return open_failure(device, str(e))
    finally:
        pcm.close()
    if len(data) < want:
        return Reading(
            Meter.UNAVAILABLE,
            f"No sound came from {device} in {seconds + timeout:.0f} s: unplug the microphone "
            "and plug it in again.",
        )
    return judge(*levels(samples_of(data[:want])))


def _read(pcm: Any, want: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < want and time.monotonic() < deadline:
        frames, chunk = pcm.read()
        if frames > 0:
            data += chunk
        elif frames == 0:  # nothing yet (non-blocking); a negative count is an overrun
            time.sleep(0.005)
    return bytes(data)


# -- capture gain (pure) ----------------------------------------------------------------


def choose_capture_control(controls: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """The mixer control for the microphone's gain, from (name, pyalsaaudio volumecap())
    pairs: a well-known name if one has a capture volume, else the first that has one."""
    capture = [name for name, caps in controls if "Capture Volume" in caps]
    for name in CAPTURE_CONTROLS:
        if name in capture:
            return name
    return capture[0] if capture else None


def to_percent(raw: float, low: int, high: int) -> int:
    """A raw mixer value as a percentage of the control's range (as amixer shows it)."""
    if high <= low:
        return 100
    return round(min(max((raw - low) / (high - low), 0.0), 1.0) * 100)


def to_raw(percent: float, low: int, high: int) -> int:
    """A percentage (clamped to 0-100) as the nearest raw value in the control's range."""
    return low + round(min(max(percent, 0.0), 100.0) / 100 * (high - low))


_CARD = re.compile(r"^[a-z]*hw:(?:CARD=)?([^,]+)", re.IGNORECASE)


def card_of(device: str) -> str | None:
    """The card in an ALSA hardware device name: "hw:CARD=Device,DEV=0" and
    "plughw:Device,0" give "Device", "hw:1,0" gives "1"; other names (a plugin) give None."""
    match = _CARD.match(device)
    return match.group(1) if match else None


# -- capture gain (ALSA mixer) ----------------------------------------------------------


class CaptureGain:
    """The capture volume of one card, by ALSA card id ("Device") or number ("1")."""

    def __init__(self, card: str) -> None:
        self.card = card
        self._ctl = f"hw:{card}" if card.isdigit() else f"hw:CARD={card}"
        self._control: str | None = None

    @classmethod
    def for_device(cls, device: str) -> CaptureGain:
        card = card_of(device)
        if card is None:
            raise MicrophoneError(
                f"{device} is not a sound card's device: set [audio] device to "
                "hw:CARD=<id>,DEV=0 to control its gain."
            )
        return cls(card)

    def control(self) -> str:
        """The name of the capture control; MicrophoneError if the card has none."""
        if self._control is None:
            with self._errors() as alsaaudio:
                caps = [
                    (name, alsaaudio.Mixer(name, device=self._ctl).volumecap())
                    for name in alsaaudio.mixers(device=self._ctl)
                ]
            self._control = choose_capture_control(caps)
            if self._control is None:
                raise MicrophoneError(
                    f"Sound card {self.card} has no capture volume control: set the level on "
                    "the microphone itself."
                )
        return self._control

    def percent(self) -> int:
        with self._errors() as alsaaudio:
            mixer = alsaaudio.Mixer(self.control(), device=self._ctl)
            units = {"pcmtype": alsaaudio.PCM_CAPTURE, "units": alsaaudio.VOLUME_UNITS_RAW}
            low, high = mixer.getrange(**units)
            raw = mixer.getvolume(**units)  # one value per channel
        return to_percent(sum(raw) / len(raw), low, high) if raw else 0

    def set_percent(self, percent: float) -> int:
        """Set every channel's capture volume; returns the percentage the card took."""
        with self._errors() as alsaaudio:
            mixer = alsaaudio.Mixer(self.control(), device=self._ctl)
            units = {"pcmtype": alsaaudio.PCM_CAPTURE, "units": alsaaudio.VOLUME_UNITS_RAW}
            low, high = mixer.getrange(**units)
            mixer.setvolume(to_raw(percent, low, high), **units)
        return self.percent()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[Any]:
        """pyalsaaudio, with its errors said as what to do."""
        try:
            import alsaaudio
        except ImportError as e:
            raise MicrophoneError("pyalsaaudio is not installed: run install.sh again.") from e
        try:
            yield alsaaudio
        except alsaaudio.ALSAAudioError as e:
            raise MicrophoneError(
                f"Cannot use the mixer of sound card {self.card} ({e}): plug in the USB microphone."
            ) from e
