"""The microphone as the page sees it: its level and its capture gain, as plain data.

The page's routes (kit.api.app) call this and never the ALSA mixer or the capture device
themselves. It is built in the composition root from two questions it asks the
conductor: which device the broadcast captures from (None: the simulated tone; raises
MicrophoneError when none is plugged in), and whether the microphone is in use now (the
conductor decides that from its state: ffmpeg holds the device from the countdown's end
to the broadcast's end, and the checks measure it themselves).

Every sentence goes out in English (``message`` or ``error``, for the CLI and the log)
and as an id with flat values (``message_id``, ``message_values``), so that the page
says it in its own language from ``error.<id>`` in its catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kit.media import mic, mic_check
from kit.media.audio import MicrophoneError
from kit.messages import Message, define

SIMULATED = define("mic.simulated", "simulation: a tone, no meter")
BUSY = define("mic.busy", "in use by the broadcast: the level is measured when the kit is idle")


def said(message: Message | str) -> dict[str, Any]:
    """A sentence as {"message": English} plus its id and flat values where it has one
    (kit.media.mic speaks English; mic_check recognises its sentences)."""
    if not isinstance(message, Message):
        text = message
        message = mic_check.NO_MICROPHONE.match(text) or mic_check.recognised(text)
        if not isinstance(message, Message):
            return {"message": text}
    values = message.as_dict()["values"]
    values = {k: v["text"] if isinstance(v, dict) else v for k, v in values.items()}
    return {"message": str(message), "message_id": message.id, "message_values": values}


class MicrophoneService:
    """``level()`` and ``gain()`` / ``set_gain(percent)``: dicts ready to be sent as JSON."""

    def __init__(
        self,
        device: Callable[[], str | None],
        in_use: Callable[[], bool],
        measure: Callable[[str], mic.Reading] | None = None,
        gain_of: Callable[[str], Any] | None = None,
    ) -> None:
        self._device, self._in_use = device, in_use
        # Looked up at each call (not bound here), so a test can stand in for ALSA.
        self._measure = measure or (lambda d: mic.measure(d))
        self._gain_of = gain_of or (lambda d: mic.CaptureGain.for_device(d))

    def _which(self) -> tuple[str | None, str, Message | str]:
        """(device, "", "") or (None, "simulated" or "unavailable", why)."""
        try:
            device = self._device()
        except MicrophoneError as e:
            return None, "unavailable", str(e)
        if device is None:
            return None, "simulated", SIMULATED()
        return device, "", ""

    @staticmethod
    def _no_level(state: str, why: Message | str) -> dict[str, Any]:
        return {"state": state, **said(why), "peak_dbfs": None, "rms_dbfs": None,
                "silent": False, "clipping": False}  # fmt: skip

    def level(self) -> dict[str, Any]:
        """A short reading of the level; never opens the device while it is in use."""
        if self._in_use():
            return self._no_level("busy", BUSY())
        device, state, why = self._which()
        if device is None:
            return self._no_level(state, why)
        reading = self._measure(device).as_dict()
        return reading | said(reading["message"])

    def gain(self) -> dict[str, Any]:
        """{"percent": n}, or {"state", "error", ...} when there is no gain to control."""
        return self._gain(None)

    def set_gain(self, percent: float) -> dict[str, Any]:
        """Set the card's capture volume; {"percent": what the card took} or an error."""
        return self._gain(percent)

    def _gain(self, percent: float | None) -> dict[str, Any]:
        device, state, why = self._which()
        if device is None:
            return self._refused(state, why)
        try:
            gain = self._gain_of(device)
            return {"percent": gain.percent() if percent is None else gain.set_percent(percent)}
        except MicrophoneError as e:
            return self._refused("unavailable", str(e))

    @staticmethod
    def _refused(state: str, why: Message | str) -> dict[str, Any]:
        out = said(why)
        return {"state": state, "error": out.pop("message"), **out}
