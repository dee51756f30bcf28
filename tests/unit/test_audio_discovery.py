"""Finding the USB microphone by its stable ALSA id, from a /proc/asound tree of real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.media.audio import AlsaMicrophone, MicrophoneError, first_usb_capture_card


def card(root: Path, n: int, card_id: str, usb: bool, capture: bool) -> None:
    d = root / f"card{n}"
    d.mkdir(parents=True)
    (d / "id").write_text(card_id + "\n")
    if usb:
        (d / "usbid").write_text("0d8c:0014\n")
    (d / ("pcm0c" if capture else "pcm0p")).mkdir()


def test_first_usb_card_with_capture(tmp_path: Path) -> None:
    card(tmp_path, 0, "Headphones", usb=False, capture=False)  # the Pi's own jack
    card(tmp_path, 1, "vc4hdmi0", usb=False, capture=False)
    card(tmp_path, 2, "Speaker", usb=True, capture=False)  # USB, playback only
    card(tmp_path, 3, "Device", usb=True, capture=True)
    assert first_usb_capture_card(tmp_path) == "Device"
    assert AlsaMicrophone(proc_asound=tmp_path).device() == "plughw:CARD=Device,DEV=0"


def test_configured_device_wins(tmp_path: Path) -> None:
    mic = AlsaMicrophone("hw:CARD=Other,DEV=0", proc_asound=tmp_path)
    assert mic.feed().device == "hw:CARD=Other,DEV=0"


def test_no_microphone_says_what_to_do(tmp_path: Path) -> None:
    card(tmp_path, 0, "Headphones", usb=False, capture=False)
    mic = AlsaMicrophone(proc_asound=tmp_path)
    assert mic.available() is False
    with pytest.raises(MicrophoneError, match="plug one in"):
        mic.device()


@pytest.mark.parametrize(
    ("device", "present"),
    [
        ("hw:CARD=Device,DEV=0", True),
        ("plughw:CARD=Gone,DEV=0", False),
        ("hw:3,0", True),
        ("hw:7,0", False),
        ("default", True),
    ],
)
def test_a_configured_device_is_available_only_while_its_card_is_there(
    tmp_path: Path, device: str, present: bool
) -> None:
    card(tmp_path, 3, "Device", usb=True, capture=True)
    (tmp_path / "Device").symlink_to("card3")  # as /proc/asound has it
    assert AlsaMicrophone(device, proc_asound=tmp_path).available() is present
