"""The Pi's health: CPU temperature, throttling and under-voltage, memory, disk, load.

Two layers. The parsers turn the text of the Pi's own interfaces into values and are pure;
the readers find that text under a root folder (``/`` on the kit, a tree of real files in a
temp folder in the tests) and never raise: what cannot be read here is ``None``, as on a PC
in a container, which has no thermal zone, no firmware and no vcgencmd.

The firmware's throttled word, as documented for ``vcgencmd get_throttled``:

    bit  0 under-voltage now            bit 16 under-voltage has occurred (since boot)
    bit  1 ARM frequency capped now     bit 17 ARM frequency capping has occurred
    bit  2 throttled now                bit 18 throttling has occurred
    bit  3 soft temperature limit now   bit 19 soft temperature limit has occurred

Where the word comes from, first found wins:

1. ``vcgencmd get_throttled`` ("throttled=0x50005"), when installed and allowed: it needs
   /dev/vcio, so the kit's user must be in the ``video`` group.
2. ``/sys/devices/platform/soc/soc:firmware/get_throttled``, printed by the firmware driver
   with ``%x``: hex without ``0x`` ("50005"). Only second, because Raspberry Pi kernels
   (rpi-6.6.y) mark it deprecated: the first read after boot logs a WARN_ONCE with a
   backtrace in dmesg and taints the kernel. It holds the value the hwmon driver last
   polled (every 2 s).

The hwmon device named ``rpi_volt`` adds ``in0_lcrit_alarm``: the under-voltage condition
now, without the "since boot" half. It is read as well, since neither source above is sure
to be there (no vcgencmd, or no access to it; a kernel without the firmware's file).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

# One way only: kit.checks must not import this module (build the list where the parts are
# put together instead), or whichever is imported first finds the other half-made.
from kit.checks import Context, Level, Result
from kit.messages import define

THERMAL = Path("sys/class/thermal/thermal_zone0/temp")
GET_THROTTLED = Path("sys/devices/platform/soc/soc:firmware/get_throttled")
HWMON = Path("sys/class/hwmon")
MODEL = Path("proc/device-tree/model")

TEMP_WARN_C = 75.0
# The Pi 4's and 5's firmware slows the CPU from 80 °C, and harder from 85 °C.
TEMP_FAIL_C = 82.0

# psutil.sensors_temperatures() keys that name the CPU; anything else (a disk, a
# battery) would be the wrong temperature to show.
CPU_SENSORS = ("cpu_thermal", "coretemp", "k10temp", "cpu-thermal", "soc_thermal", "acpitz")

_BITS = {
    "under_voltage_now": 0,
    "freq_capped_now": 1,
    "throttled_now": 2,
    "soft_temp_limit_now": 3,
    "under_voltage_occurred": 16,
    "freq_capped_occurred": 17,
    "throttled_occurred": 18,
    "soft_temp_limit_occurred": 19,
}


# -- parsers (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Throttled:
    """The firmware's throttled word, decoded."""

    raw: int
    under_voltage_now: bool
    freq_capped_now: bool
    throttled_now: bool
    soft_temp_limit_now: bool
    under_voltage_occurred: bool
    freq_capped_occurred: bool
    throttled_occurred: bool
    soft_temp_limit_occurred: bool

    def flags(self) -> list[str]:
        """The names of the bits that are set, in bit order."""
        return [name for name in _BITS if getattr(self, name)]

    def as_dict(self) -> dict[str, Any]:
        return {"raw": f"0x{self.raw:x}", "flags": self.flags()}


def decode_throttled(value: int) -> Throttled:
    return Throttled(value, **{name: bool(value >> bit & 1) for name, bit in _BITS.items()})


def parse_throttled(text: str) -> int | None:
    """The throttled word from sysfs ("50005") or vcgencmd ("throttled=0x50005").

    Always hex: sysfs prints it with %x and no prefix, so "10000" is bit 16, not ten
    thousand.
    """
    value = text.strip().removeprefix("throttled=").strip()
    try:
        return int(value, 16)  # int(x, 16) accepts an optional "0x"
    except ValueError:
        return None


def parse_millidegrees(text: str) -> float | None:
    """A thermal zone's ``temp`` ("48312") in °C, or None for anything else."""
    try:
        return int(text.strip()) / 1000
    except ValueError:
        return None


def parse_model(raw: bytes) -> str | None:
    """The device tree's model string, which ends in a NUL byte."""
    model = raw.rstrip(b"\0\n").decode("utf-8", "replace").strip()
    return model or None


def is_raspberry_pi(model: str | None) -> bool:
    return model is not None and model.startswith("Raspberry Pi")


def parse_alarm(text: str) -> bool | None:
    """An hwmon ``*_alarm`` file: "1" or "0"."""
    value = text.strip()
    return {"0": False, "1": True}.get(value)


def pick_cpu_temperature(sensors: Mapping[str, Sequence[Any]]) -> float | None:
    """The CPU's temperature from psutil.sensors_temperatures(), or None when it lists none."""
    for name in CPU_SENSORS:
        for reading in sensors.get(name, ()):
            return float(reading.current)
    return None


TEMP_NOT_PI = define("check.temperature.not_pi", "Not a Raspberry Pi: temperature not checked.")
TEMP_UNREADABLE = define(
    "check.temperature.unreadable",
    "The CPU temperature cannot be read: the Pi could overheat unnoticed.",
)
TEMP_HOT = define(
    "check.temperature.hot",
    "CPU at {celsius} °C, the Pi is slowing down: let it cool and give it air or a fan.",
)
TEMP_WARM = define(
    "check.temperature.warm",
    "CPU at {celsius} °C: close to the Pi's limit of 80 °C; give it air or a fan.",
)
TEMP_OK = define("check.temperature.ok", "CPU at {celsius} °C.")
POWER_NOT_PI = define("check.power.not_pi", "Not a Raspberry Pi: power not checked.")
POWER_UNKNOWN = define(
    "check.power.unknown",
    "Under-voltage cannot be checked: vcgencmd is missing or the kit's user is not in "
    "the video group.",
)
POWER_LOW_NOW = define(
    "check.power.low_now",
    "Under-voltage now: use the official Raspberry Pi power supply and its cable.",
)
POWER_WAS_LOW = define(
    "check.power.was_low",
    "Under-voltage has occurred since boot: use the official Raspberry Pi power "
    "supply and its cable.",
)
POWER_OK = define("check.power.ok", "Power supply steady.")


def temperature_result(celsius: float | None, on_pi: bool) -> Result:
    if not on_pi:
        return Result("temperature", Level.OK, TEMP_NOT_PI())
    if celsius is None:
        return Result("temperature", Level.WARN, TEMP_UNREADABLE())
    shown = f"{celsius:.0f}"
    if celsius >= TEMP_FAIL_C:
        return Result("temperature", Level.FAIL, TEMP_HOT(celsius=shown))
    if celsius >= TEMP_WARN_C:
        return Result("temperature", Level.WARN, TEMP_WARM(celsius=shown))
    return Result("temperature", Level.OK, TEMP_OK(celsius=shown))


def power_result(throttled: Throttled | None, alarm: bool | None, on_pi: bool) -> Result:
    """Under-voltage from the throttled word and the hwmon alarm, whichever are known."""
    if not on_pi:
        return Result("power", Level.OK, POWER_NOT_PI())
    if throttled is None and alarm is None:
        return Result("power", Level.WARN, POWER_UNKNOWN())
    if alarm or (throttled is not None and throttled.under_voltage_now):
        return Result("power", Level.FAIL, POWER_LOW_NOW())
    if throttled is not None and throttled.under_voltage_occurred:
        return Result("power", Level.WARN, POWER_WAS_LOW())
    return Result("power", Level.OK, POWER_OK())


# -- readers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """Where the readers look: the real machine by default."""

    root: Path = Path("/")
    vcgencmd: str | None = "vcgencmd"  # None: do not run it
    # psutil has no sensors on some systems (macOS): then there are none.
    sensors: Callable[[], Mapping[str, Sequence[Any]]] = getattr(
        psutil, "sensors_temperatures", dict
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def read_model(src: Sources = Sources()) -> str | None:
    try:
        return parse_model((src.root / MODEL).read_bytes())
    except OSError:
        return None


def read_temperature(src: Sources = Sources()) -> float | None:
    text = _read_text(src.root / THERMAL)
    celsius = parse_millidegrees(text) if text is not None else None
    if celsius is not None:
        return celsius
    try:
        return pick_cpu_temperature(src.sensors())
    except OSError:
        return None


def read_throttled(src: Sources = Sources()) -> Throttled | None:
    value = _throttled_value(_run_vcgencmd(src.vcgencmd))
    if value is None:  # only then: reading the file taints the kernel (module docstring)
        value = _throttled_value(_read_text(src.root / GET_THROTTLED))
    return decode_throttled(value) if value is not None else None


def _throttled_value(text: str | None) -> int | None:
    return parse_throttled(text) if text is not None else None


def _run_vcgencmd(binary: str | None) -> str | None:
    if binary is None or shutil.which(binary) is None:
        return None
    try:
        done = subprocess.run(
            [binary, "get_throttled"], capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # Without access to /dev/vcio it prints an error and exits non-zero.
    return done.stdout if done.returncode == 0 else None


def read_under_voltage_alarm(src: Sources = Sources()) -> bool | None:
    """The rpi_volt hwmon alarm. Found by name: hwmon numbering changes between boots."""
    for device in sorted((src.root / HWMON).glob("hwmon*")):
        if (_read_text(device / "name") or "").strip() != "rpi_volt":
            continue
        text = _read_text(device / "in0_lcrit_alarm")
        return parse_alarm(text) if text is not None else None
    return None


def disk_free_mb(folder: Path) -> int | None:
    """Free space for ``folder``, or for its nearest existing parent before it is made."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free // 2**20
    except OSError:
        return None


@dataclass(frozen=True)
class Health:
    """One reading of everything; None where this machine cannot tell."""

    model: str | None
    temperature_c: float | None
    throttled: Throttled | None
    under_voltage_now: bool | None
    under_voltage_occurred: bool | None
    memory_available_mb: int | None
    memory_percent: float | None
    disk_free_mb: int | None
    cpu_percent: float | None
    uptime_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "temperature_c": None if self.temperature_c is None else round(self.temperature_c, 1),
            "throttled": None if self.throttled is None else self.throttled.as_dict(),
            "under_voltage_now": self.under_voltage_now,
            "under_voltage_occurred": self.under_voltage_occurred,
            "memory_available_mb": self.memory_available_mb,
            "memory_percent": self.memory_percent,
            "disk_free_mb": self.disk_free_mb,
            "cpu_percent": self.cpu_percent,
            "uptime_s": None if self.uptime_s is None else round(self.uptime_s),
        }


def _try(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except OSError:
        return None


def snapshot(recording_dir: Path, src: Sources = Sources()) -> Health:
    """Everything at once. cpu_percent is the load since the previous call (psutil's
    interval=None): the first call in a process means nothing, so poll it."""
    throttled = read_throttled(src)
    alarm = read_under_voltage_alarm(src)
    uv_now = uv_occurred = None
    if throttled is not None:
        uv_now, uv_occurred = throttled.under_voltage_now, throttled.under_voltage_occurred
    if alarm:  # the alarm knows only "now", and now implies "has occurred"
        uv_now = uv_occurred = True
    elif alarm is False and uv_now is None:
        uv_now = False
    memory = _try(psutil.virtual_memory)
    boot = _try(psutil.boot_time)
    return Health(
        model=read_model(src),
        temperature_c=read_temperature(src),
        throttled=throttled,
        under_voltage_now=uv_now,
        under_voltage_occurred=uv_occurred,
        memory_available_mb=None if memory is None else memory.available // 2**20,
        memory_percent=None if memory is None else memory.percent,
        disk_free_mb=disk_free_mb(recording_dir),
        cpu_percent=_try(lambda: psutil.cpu_percent(interval=None)),
        uptime_s=None if boot is None else time.time() - boot,
    )


# -- pre-flight checks, in the style of kit.checks -----------------------------------


def check_temperature(ctx: Context) -> Result:
    return temperature_result(read_temperature(), is_raspberry_pi(read_model()))


def check_power(ctx: Context) -> Result:
    return power_result(read_throttled(), read_under_voltage_alarm(), is_raspberry_pi(read_model()))
