"""Pure: how to get a portrait picture from a camera sensor, and which sensor mode to use.

Imported by the camera process (kit.media.camproc), which runs with picamera2 and
nothing else of the kit's, so this module imports nothing from the kit.

picamera2 and libcamera pick the sensor mode by size, not by frame rate: for a
1080x1920 portrait window on a Camera Module 3 that is the full 4608x2592 mode, at most
14.35 fps, and a sideways 1280x720 picture gets the cropped 1536x864 mode (a narrower
picture). The kit chooses the mode itself: one that reaches the frame rate, with the
sensor's whole field of view, the largest of those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Mount = Literal["upright", "left", "right"]


@dataclass(frozen=True)
class Plan:
    """How to get a portrait picture of ``out`` size from a sensor."""

    capture: tuple[int, int]  # size the ISP delivers
    crop: tuple[int, int, int, int]  # ScalerCrop in sensor pixels: x, y, w, h
    rotate: Literal[0, 90, 270]


def plan(sensor: tuple[int, int], out: tuple[int, int], mount: Mount) -> Plan:
    """The capture size, the sensor crop and the turn for a portrait ``out``.

    Upright: the largest centred window of the sensor with the output's
    aspect (9:16), scaled by the ISP. Sideways: the largest centred landscape
    window (16:9), captured at out's size turned, then turned by ffmpeg.
    """
    sw, sh = sensor
    ow, oh = out
    if mount == "upright":
        target_w, target_h = ow, oh
        rotate: Literal[0, 90, 270] = 0
    else:
        target_w, target_h = oh, ow
        # Mounted with its top to the left, the picture must turn clockwise.
        rotate = 90 if mount == "left" else 270
    # Largest window of the target aspect that fits the sensor, even sizes.
    if sw * target_h >= sh * target_w:
        ch = sh - sh % 2
        cw = (ch * target_w // target_h) // 2 * 2
    else:
        cw = sw - sw % 2
        ch = (cw * target_h // target_w) // 2 * 2
    x, y = (sw - cw) // 2, (sh - ch) // 2
    return Plan((target_w, target_h), (x, y, cw, ch), rotate)


@dataclass(frozen=True)
class Mode:
    """A sensor mode as picamera2's ``sensor_modes`` lists it."""

    size: tuple[int, int]
    bit_depth: int
    fps: float
    crop_limits: tuple[int, int, int, int]  # the part of the pixel array it sees

    @classmethod
    def from_picamera2(cls, m: dict[str, Any]) -> Mode:
        return cls(
            (int(m["size"][0]), int(m["size"][1])),
            int(m["bit_depth"]),
            float(m["fps"]),
            tuple(int(v) for v in m["crop_limits"]),  # type: ignore[arg-type]
        )


def full_view(mode: Mode, sensor: tuple[int, int]) -> bool:
    """The mode sees the whole pixel array (binned or not), not a cropped part of it."""
    _, _, w, h = mode.crop_limits
    return w >= sensor[0] * 0.98 and h >= sensor[1] * 0.98


def choose_mode(modes: list[Mode], sensor: tuple[int, int], fps: float) -> Mode:
    """The mode to capture at ``fps``: the frame rate first, then the whole field of
    view, then the most pixels. With none fast enough, the fastest (the camera then
    says its real rate, and the kit reports it)."""
    if not modes:
        raise ValueError("the camera lists no sensor modes")
    fast = [m for m in modes if m.fps >= fps * 0.995]
    if not fast:
        return max(modes, key=lambda m: (m.fps, full_view(m, sensor)))
    return max(fast, key=lambda m: (full_view(m, sensor), m.size[0] * m.size[1]))
