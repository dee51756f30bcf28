"""The pre-flight check "microphone working, neither silent nor clipping".

It measures the microphone the broadcast will use (kit.media.mic.measure) when the kit is
idle. The conductor gives it the device through :class:`MicContext`; without one (the
simulated tone, or a context built elsewhere) it says "not measured" and passes, since
there is no microphone to judge. Whether a microphone is plugged in at all is the
"microphone" check's business; this one judges the sound.

kit.media.mic says what it measured in English only. Its sentences are defined here as
templates as well and recognised (:meth:`kit.messages.Template.match`), so the result
carries an id and values for the page; a sentence that is not recognised (mic.py said
something new) stays English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kit.checks import Context, Level, Result
from kit.media import mic
from kit.media.audio import MicrophoneError
from kit.messages import Message, define

ID = "mic_level"
NOT_MEASURED_SIMULATION = define(
    "check.mic_level.simulation", "Not measured: in simulation the microphone is a tone."
)
NOT_MEASURED_BECAUSE = define("check.mic_level.not_measured", "Not measured: {reason}.")
# kit.media.audio's MicrophoneError and kit.media.mic's readings, word for word.
NO_MICROPHONE = define("check.mic_level.no_microphone", "no USB microphone found: plug one in")
SAID_BY_MIC = [
    define("check.mic_level.clipping", "Clipping: turn the microphone's gain down."),
    define(
        "check.mic_level.silent",
        "Silent: check the microphone is switched on and unmuted, or turn its gain up.",
    ),
    define("check.mic_level.level", "Level {rms} dBFS, peaks at {peak} dBFS."),
    define(
        "check.mic_level.busy",
        "{device} is in use, by the broadcast while live: its level is measured when "
        "the kit is idle.",
    ),
    define(
        "check.mic_level.cannot_read",
        "Cannot read {device} ({error}): plug in the USB microphone, or check [audio] device.",
    ),
    define("check.mic_level.no_alsa", "pyalsaaudio is not installed: run install.sh again."),
    define(
        "check.mic_level.not_16_bit",
        "{device} gives {format} samples, not 16-bit: use its plughw: name.",
    ),
    define(
        "check.mic_level.no_sound",
        "No sound came from {device} in {seconds} s: unplug the microphone and plug it in again.",
    ),
]


def _no_device() -> str | None:
    return None


@dataclass(frozen=True)
class MicContext(Context):
    # The ALSA device to measure; None: no microphone to measure (simulation).
    # Raises MicrophoneError when no microphone is plugged in.
    microphone_device: Callable[[], str | None] = _no_device


def recognised(text: str) -> Message | str:
    """mic.py's English sentence as a message with an id, or as it is."""
    return next((m for t in SAID_BY_MIC if (m := t.match(text)) is not None), text)


def result_for(reading: mic.Reading) -> Result:
    """A meter reading as a check result (pure)."""
    said = recognised(reading.message)
    if reading.state is mic.Meter.BUSY:
        return Result(ID, Level.WARN, said)
    if reading.state is mic.Meter.UNAVAILABLE:
        return Result(ID, Level.FAIL, said)
    if reading.clipping:
        return Result(ID, Level.WARN, said)
    if reading.silent:
        return Result(ID, Level.WARN, said)
    return Result(ID, Level.OK, said)


def check_level(ctx: Context, measure: Callable[[str], mic.Reading] = mic.measure) -> Result:
    device_of = getattr(ctx, "microphone_device", _no_device)
    try:
        device = device_of()
    except MicrophoneError as e:
        reason: Message | str = NO_MICROPHONE.match(str(e)) or str(e)
        return Result(ID, Level.OK, NOT_MEASURED_BECAUSE(reason=reason))
    if device is None:
        return Result(ID, Level.OK, NOT_MEASURED_SIMULATION())
    return result_for(measure(device))
