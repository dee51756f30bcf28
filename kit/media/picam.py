"""What the Raspberry Pi camera's own metadata says about the light in front of it.

The camera itself runs in a process of its own (kit.media.camproc, driven by
kit.media.camclient); this is the daemon's reading of the figures it sends back.
"""

from __future__ import annotations

from typing import Any

from kit.messages import Message, define

LIGHT_DARK_LUX = define(
    "check.light.dark_lux", "Too dark ({lux} lux): switch the ring light on or add light."
)
LIGHT_DARK = define(
    "check.light.dark", "Too dark: the camera is at its longest exposure. Add light."
)
LIGHT_OK_LUX = define("check.light.ok_lux", "Enough light ({lux} lux).")
LIGHT_OK = define("check.light.ok", "Enough light (exposure normal).")


def light_level(meta: dict[str, Any]) -> tuple[str, Message]:
    """Pure: ('ok'|'warn', message) from the camera's own metadata; ``str(message)`` is
    the English, its id and values are for the page.

    ``Lux`` is the ISP's estimate of the scene's brightness; a long exposure
    with a high analogue gain means the camera is struggling even if no lux
    estimate is given.
    """
    lux = meta.get("Lux")
    exposure_us = meta.get("ExposureTime") or 0
    gain = meta.get("AnalogueGain") or 1.0
    if lux is not None and lux < 30:
        return "warn", LIGHT_DARK_LUX(lux=f"{lux:.0f}")
    if exposure_us >= 30000 and gain >= 8:
        return "warn", LIGHT_DARK()
    return "ok", LIGHT_OK_LUX(lux=f"{lux:.0f}") if lux is not None else LIGHT_OK()
