"""ALSA capture devices made of files, for tests on a machine with no sound card.

Each device is alsa-lib's ``file`` PCM plugin over a ``null`` slave: capture from it gives
the bytes of its ``infile``, a raw S16_LE file the test writes (a tone at a known level,
silence, a clipping square wave). Any ALSA program opens it by name, pyalsaaudio in this
process as well as ``ffmpeg -f alsa -i NAME`` or ``arecord -D NAME``.

How alsa-lib finds them: it reads the files listed in ``ALSA_CONFIG_PATH`` instead of its
own ``/usr/share/alsa/alsa.conf``. The config written here defines the test's devices and
nothing else, so no system or user file (``/etc/asound.conf``, ``~/.asoundrc``, a sound
server's hooks) can change them, and nothing on the machine is touched:

- a subprocess: ``subprocess.run([...], env=devices.env())``;
- pyalsaaudio in this process: ``monkeypatch.setenv("ALSA_CONFIG_PATH", str(devices.config))``.
  alsa-lib rereads its configuration at the next open whenever that list of files changes,
  so this works after earlier opens in the process, and restoring the variable restores
  the machine's own devices.

Two things a real microphone does differently:

- No clock: the null slave has none, so reads return at once and a program reads as fast
  as it asks. ffmpeg's alsa input stamps packets with the wall clock, so ``-t 1`` gives an
  unpredictable number of samples: cut by count instead (``-af atrim=end_sample=48000``).
- An end: past the end of ``infile`` the plugin stops filling the buffer and the reader
  gets whatever was in it before (pyalsaaudio: the previous period again; ffmpeg: stale
  memory). Make each sound longer than anything will read from it.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RATE = 48000
CHANNELS = 2  # what ffmpeg's alsa input opens when given no -ac
FULL_SCALE = 32768


def _frames(values: list[int], channels: int) -> bytes:
    """Mono sample values as interleaved S16_LE frames, the same value in every channel."""
    samples = array("h", (v for v in values for _ in range(channels)))
    if array("h", [1]).tobytes() != b"\x01\x00":
        samples.byteswap()
    return samples.tobytes()


def tone(
    frequency: float = 1000,
    peak_dbfs: float = -12.0,
    seconds: float = 5.0,
    *,
    rate: int = RATE,
    channels: int = CHANNELS,
) -> bytes:
    """A sine whose peak is at ``peak_dbfs``; its RMS is 3.01 dB lower."""
    amplitude = min(FULL_SCALE * 10 ** (peak_dbfs / 20), FULL_SCALE - 1)
    step = 2 * math.pi * frequency / rate
    values = [round(amplitude * math.sin(step * i)) for i in range(round(seconds * rate))]
    return _frames(values, channels)


def silence(seconds: float = 5.0, *, rate: int = RATE, channels: int = CHANNELS) -> bytes:
    return bytes(2 * channels * round(seconds * rate))


def square(
    frequency: float = 1000, seconds: float = 5.0, *, rate: int = RATE, channels: int = CHANNELS
) -> bytes:
    """A full-scale square wave: every sample at the limit, as a microphone that clips."""
    half = rate / frequency / 2
    values = [
        FULL_SCALE - 1 if int(i / half) % 2 == 0 else -FULL_SCALE
        for i in range(round(seconds * rate))
    ]
    return _frames(values, channels)


@dataclass(frozen=True)
class AlsaDevices:
    config: Path  # the file for ALSA_CONFIG_PATH
    names: tuple[str, ...]

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment for a subprocess that sees these devices."""
        return {**(os.environ if base is None else base), "ALSA_CONFIG_PATH": str(self.config)}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_devices(folder: Path, sounds: Mapping[str, bytes]) -> AlsaDevices:
    """One capture device per sound, named by its key (letters, digits and _)."""
    folder.mkdir(parents=True, exist_ok=True)
    blocks = []
    for name, data in sounds.items():
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a usable ALSA PCM name: {name!r}")
        raw = folder / f"{name}.raw"
        raw.write_bytes(data)
        blocks.append(
            f"pcm.{name} {{\n"
            "    type file\n"
            "    slave.pcm { type null }\n"
            '    file "/dev/null"  # the plugin also writes what is read; nowhere\n'
            f"    infile {_quoted(os.fspath(raw))}\n"
            '    format "raw"\n'
            "}\n"
        )
    config = folder / "asound.conf"
    config.write_text("".join(blocks))
    return AlsaDevices(config, tuple(sounds))
