"""kit.media.sensor.choose_mode and the camera process's pure parts, as tables."""

from __future__ import annotations

import pytest

from kit.media.camera import Flaws, pattern_filters
from kit.media.camproc import split_parameter_sets
from kit.media.sensor import Mode, choose_mode, full_view, plan

IMX708 = (4608, 2592)
# As picamera2's sensor_modes lists a Camera Module 3 (IMX708) on a Pi.
CM3 = [
    Mode((1536, 864), 10, 120.13, (768, 432, 3072, 1728)),
    Mode((2304, 1296), 10, 56.03, (0, 0, 4608, 2592)),
    Mode((4608, 2592), 10, 14.35, (0, 0, 4608, 2592)),
]
IMX219 = (3280, 2464)
# Camera Module 2: its 1640x1232 mode is binned from the whole array, 1920x1080 is cropped.
CM2 = [
    Mode((640, 480), 10, 103.33, (1000, 752, 1280, 960)),
    Mode((1640, 1232), 10, 41.85, (0, 0, 3280, 2464)),
    Mode((1920, 1080), 10, 47.57, (680, 692, 1920, 1080)),
    Mode((3280, 2464), 10, 21.19, (0, 0, 3280, 2464)),
]


@pytest.mark.parametrize(
    ("modes", "sensor", "fps", "size"),
    [
        # The bug: picamera2 alone takes the full 14 fps mode for a 1080x1920 window.
        (CM3, IMX708, 30, (2304, 1296)),
        (CM3, IMX708, 25, (2304, 1296)),
        (CM3, IMX708, 50, (2304, 1296)),
        # 60 fps only the cropped mode reaches: the rate comes first.
        (CM3, IMX708, 60, (1536, 864)),
        # 14 fps: the full mode is fast enough and has the most pixels.
        (CM3, IMX708, 14, (4608, 2592)),
        (CM2, IMX219, 30, (1640, 1232)),
        (CM2, IMX219, 15, (3280, 2464)),
        # Nothing reaches 200 fps: the fastest, and the camera says its real rate.
        (CM3, IMX708, 200, (1536, 864)),
    ],
)
def test_choose_mode(modes: list[Mode], sensor: tuple[int, int], fps: float, size: tuple) -> None:
    assert choose_mode(modes, sensor, fps).size == size


def test_no_modes_is_an_error() -> None:
    with pytest.raises(ValueError, match="no sensor modes"):
        choose_mode([], IMX708, 30)


@pytest.mark.parametrize(("mode", "full"), [(CM3[0], False), (CM3[1], True), (CM3[2], True)])
def test_full_view(mode: Mode, full: bool) -> None:
    assert full_view(mode, IMX708) is full


def test_mode_from_picamera2_dict() -> None:
    listed = {
        "format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10,
        "size": (2304, 1296), "fps": 56.03, "crop_limits": (0, 0, 4608, 2592),
        "exposure_limits": (9, None),
    }  # fmt: skip
    assert Mode.from_picamera2(listed) == CM3[1]


def test_sideways_720p_uses_the_whole_width() -> None:
    # Mounted sideways, the 1280x720 capture is the sensor's whole 16:9 picture.
    p = plan(IMX708, (720, 1280), "left")
    assert p.capture == (1280, 720)
    assert p.crop == (0, 0, 4608, 2592)
    assert choose_mode(CM3, IMX708, 30).crop_limits == (0, 0, 4608, 2592)


@pytest.mark.parametrize(
    ("flaws", "expected"),
    [
        (Flaws(), "settb=1/1000000,setpts=PTS+RTCSTART"),
        (
            Flaws(drop_percent=2),
            "select='gte(random(0),0.020000)',settb=1/1000000,setpts=PTS+RTCSTART",
        ),
        (
            Flaws(sync_pattern=True),
            "settb=1/1000000,setpts=PTS+RTCSTART,"
            "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(abs(t-round(t)),0.016667)'",
        ),
    ],
)
def test_pattern_filters(flaws: Flaws, expected: str) -> None:
    assert pattern_filters(30, flaws) == expected


SPS = b"\x67\x64\x00\x1f\xac\xd9"
PPS = b"\x68\xeb\xe3\xcb"
IDR = b"\x65\x88\x84\x00\x33"


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        # x264 and the V4L2 encoder: 4-byte start codes, SPS, PPS, then the picture.
        (
            b"\0\0\0\1" + SPS + b"\0\0\0\1" + PPS + b"\0\0\0\1" + IDR,
            b"\0\0\0\1" + SPS + b"\0\0\0\1" + PPS,
        ),
        # 3-byte start codes, an SEI (6) before them.
        (
            b"\0\0\1\x06\x05\x01" + b"\0\0\1" + SPS + b"\0\0\1" + PPS + b"\0\0\1" + IDR,
            b"\0\0\0\1" + SPS + b"\0\0\0\1" + PPS,
        ),
        # A packet without parameter sets gives none.
        (b"\0\0\0\1" + IDR, b""),
    ],
)
def test_split_parameter_sets(packet: bytes, expected: bytes) -> None:
    assert split_parameter_sets(packet) == expected
