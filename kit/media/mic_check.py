"""The pre-flight check "microphone working, neither silent nor clipping".

It measures the microphone the broadcast will use (kit.media.mic.measure) when the kit is
idle. The conductor gives it the device through :class:`MicContext`; without one (the
simulated tone, or a context built elsewhere) it says "not measured" and passes, since
there is no microphone to judge. Whether a microphone is plugged in at all is the
"microphone" check's business; this one judges the sound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kit.checks import Context, Level, Result
from kit.media import mic
from kit.media.audio import MicrophoneError

ID = "mic_level"
NOT_MEASURED = "Not measured: in simulation the microphone is a tone."


def _no_device() -> str | None:
    return None


@dataclass(frozen=True)
class MicContext(Context):
    # The ALSA device to measure; None: no microphone to measure (simulation).
    # Raises MicrophoneError when no microphone is plugged in.
    microphone_device: Callable[[], str | None] = _no_device


def result_for(reading: mic.Reading) -> Result:
    """A meter reading as a check result (pure)."""
    if reading.state is mic.Meter.BUSY:
        return Result(ID, Level.WARN, reading.message)
    if reading.state is mic.Meter.UNAVAILABLE:
        return Result(ID, Level.FAIL, reading.message)
    if reading.clipping:
        return Result(ID, Level.WARN, reading.message)
    if reading.silent:
        return Result(ID, Level.WARN, reading.message)
    return Result(ID, Level.OK, reading.message)


def check_level(ctx: Context, measure: Callable[[str], mic.Reading] = mic.measure) -> Result:
    device_of = getattr(ctx, "microphone_device", _no_device)
    try:
        device = device_of()
    except MicrophoneError as e:
        return Result(ID, Level.OK, f"Not measured: {e}.")
    if device is None:
        return Result(ID, Level.OK, NOT_MEASURED)
    return result_for(measure(device))
