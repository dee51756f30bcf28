"""Audio sources: the USB microphone through ALSA, or a tone in simulation.

ffmpeg opens the ALSA device itself (``-f alsa``), so audio samples never pass
through Python either. Device discovery, the level meter and the gain control
build on this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kit.media.pipeline import AudioFeed


class MicrophoneError(RuntimeError):
    """No usable microphone; the message says what to check."""


class AudioSource(Protocol):
    def feed(self) -> AudioFeed: ...

    def available(self) -> bool: ...


class Tone:
    """A 440 Hz tone standing in for the microphone in simulation."""

    def __init__(self, frequency: int = 440, sync: bool | Callable[[], bool] = False) -> None:
        """`sync`: a beep once a second on the wall clock instead (the sync pattern)."""
        self.frequency = frequency
        self._sync = sync if callable(sync) else (lambda: sync)

    def feed(self) -> AudioFeed:
        return AudioFeed("sync" if self._sync() else "tone", frequency=self.frequency)

    def available(self) -> bool:
        return True


class AlsaMicrophone:
    """An ALSA capture device by stable name; empty name: the first USB capture device."""

    def __init__(
        self, device: str | Callable[[], str] = "", proc_asound: Path = Path("/proc/asound")
    ) -> None:
        """`device`: a name, or a function giving the name wanted now (the page's setting,
        which can change while the kit runs)."""
        self._device = device if callable(device) else (lambda: device)
        self._proc = proc_asound

    def device(self) -> str:
        name = self._device()
        if name:
            return name
        card = first_usb_capture_card(self._proc)
        if card is None:
            raise MicrophoneError("no USB microphone found: plug one in")
        # plughw, not hw: many USB mics offer only mono or only 24-bit on hw,
        # which ffmpeg's default 2-channel 16-bit open would refuse; plughw
        # converts and still takes the device exclusively.
        return f"plughw:CARD={card},DEV=0"

    def feed(self) -> AudioFeed:
        return AudioFeed("alsa", device=self.device())

    def available(self) -> bool:
        """Whether the device is there now (a USB mic can be unplugged at any time)."""
        from kit.media.mic import card_of

        try:
            name = self.device()
        except MicrophoneError:
            return False
        card = card_of(name)
        if card is None:
            return True  # a plugin PCM: only opening it would tell
        return (self._proc / (f"card{card}" if card.isdigit() else card)).exists()


def first_usb_capture_card(proc_asound: Path = Path("/proc/asound")) -> str | None:
    """The ALSA id of the first USB card with a capture device, by its stable id."""
    for card in sorted(proc_asound.glob("card[0-9]*")):
        if not (card / "usbid").exists():
            continue
        if not any(card.glob("pcm*c")):
            continue
        try:
            return (card / "id").read_text().strip()
        except OSError:
            continue
    return None
