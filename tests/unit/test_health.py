"""kit.hw.health: the parsers as tables, the readers on a fake sysfs of real files, and the
psutil fields on this machine."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NamedTuple

import pytest

from kit.checks import Level
from kit.hw import health
from kit.hw.health import Sources, Throttled, decode_throttled

ALL_CLEAR = decode_throttled(0)


# -- the throttled word ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "flags"),
    [
        (0x0, []),
        (0x1, ["under_voltage_now"]),
        (0x2, ["freq_capped_now"]),
        (0x4, ["throttled_now"]),
        (0x8, ["soft_temp_limit_now"]),
        (0x10000, ["under_voltage_occurred"]),
        (0x20000, ["freq_capped_occurred"]),
        (0x40000, ["throttled_occurred"]),
        (0x80000, ["soft_temp_limit_occurred"]),
        # The classic bad-supply reading: under-voltage and throttled, now and since boot.
        (0x50005, ["under_voltage_now", "throttled_now", "under_voltage_occurred",
                   "throttled_occurred"]),
        (0x50000, ["under_voltage_occurred", "throttled_occurred"]),
        (0x80008, ["soft_temp_limit_now", "soft_temp_limit_occurred"]),
        (0xF000F, list(health._BITS)),
        # Bits the documentation does not name are kept in raw but set no flag.
        (0x1F0, []),
    ],
)  # fmt: skip
def test_decode_throttled(value: int, flags: list[str]) -> None:
    decoded = decode_throttled(value)
    assert decoded.flags() == flags
    assert decoded.raw == value
    assert decoded.as_dict() == {"raw": hex(value), "flags": flags}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("throttled=0x50005\n", 0x50005),  # vcgencmd get_throttled
        ("throttled=0x0\n", 0),
        ("50005\n", 0x50005),  # sysfs get_throttled: %x, no prefix
        ("10000\n", 0x10000),  # hex, not ten thousand: under-voltage has occurred
        ("0\n", 0),
        ("0x80008", 0x80008),
        ("  e0000 \n", 0xE0000),
        ("", None),
        ("throttled=\n", None),
        ("VCHI initialization failed\n", None),
        ("throttled=0xZZ", None),
    ],
)
def test_parse_throttled(text: str, value: int | None) -> None:
    assert health.parse_throttled(text) == value


# -- temperature, model, alarm ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("48312\n", 48.312),
        ("0\n", 0.0),
        ("85000", 85.0),
        ("-5000\n", -5.0),
        ("", None),
        ("48.3\n", None),  # not a millidegree reading
        ("N/A\n", None),
    ],
)
def test_parse_millidegrees(text: str, celsius: float | None) -> None:
    assert health.parse_millidegrees(text) == celsius


@pytest.mark.parametrize(
    ("raw", "model", "on_pi"),
    [
        (b"Raspberry Pi 4 Model B Rev 1.5\x00", "Raspberry Pi 4 Model B Rev 1.5", True),
        (b"Raspberry Pi 5 Model B Rev 1.0\x00", "Raspberry Pi 5 Model B Rev 1.0", True),
        (b"Raspberry Pi Compute Module 4 Rev 1.1\x00", "Raspberry Pi Compute Module 4 Rev 1.1",
         True),
        (b"Pine64 RockPro64 v2.1\x00", "Pine64 RockPro64 v2.1", False),
        (b"\x00", None, False),
        (b"", None, False),
    ],
)  # fmt: skip
def test_parse_model(raw: bytes, model: str | None, on_pi: bool) -> None:
    assert health.parse_model(raw) == model
    assert health.is_raspberry_pi(model) is on_pi


@pytest.mark.parametrize(
    ("text", "alarm"), [("0\n", False), ("1\n", True), ("", None), ("2\n", None)]
)
def test_parse_alarm(text: str, alarm: bool | None) -> None:
    assert health.parse_alarm(text) is alarm


class Shwtemp(NamedTuple):
    """psutil's reading, by its own field names."""

    label: str
    current: float
    high: float | None = None
    critical: float | None = None


@pytest.mark.parametrize(
    ("sensors", "celsius"),
    [
        ({}, None),
        ({"cpu_thermal": [Shwtemp("", 51.6)]}, 51.6),  # a Pi
        ({"coretemp": [Shwtemp("Package id 0", 63.0), Shwtemp("Core 0", 60.0)]}, 63.0),
        # A disk's or a battery's temperature is not the CPU's.
        ({"nvme": [Shwtemp("Composite", 40.0)]}, None),
        ({"nvme": [Shwtemp("Composite", 40.0)], "k10temp": [Shwtemp("Tctl", 70.5)]}, 70.5),
        ({"cpu_thermal": []}, None),
    ],
)
def test_pick_cpu_temperature(sensors: dict, celsius: float | None) -> None:
    assert health.pick_cpu_temperature(sensors) == celsius


# -- the checks' verdicts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("celsius", "on_pi", "level", "says"),
    [
        (45.0, True, Level.OK, "45 °C"),
        (74.9, True, Level.OK, "75 °C"),  # rounded for show, judged unrounded
        (75.0, True, Level.WARN, "give it air"),
        (81.9, True, Level.WARN, "82 °C"),
        (82.0, True, Level.FAIL, "let it cool"),
        (90.0, True, Level.FAIL, "90 °C"),
        (None, True, Level.WARN, "cannot be read"),
        # Off a Pi the limits mean nothing: a PC's CPU runs hotter.
        (None, False, Level.OK, "Not a Raspberry Pi"),
        (95.0, False, Level.OK, "Not a Raspberry Pi"),
    ],
)
def test_temperature_result(celsius: float | None, on_pi: bool, level: Level, says: str) -> None:
    result = health.temperature_result(celsius, on_pi)
    assert (result.id, result.status) == ("temperature", level)
    assert says in result.message


@pytest.mark.parametrize(
    ("throttled", "alarm", "on_pi", "level", "says"),
    [
        (ALL_CLEAR, None, True, Level.OK, "steady"),
        (ALL_CLEAR, False, True, Level.OK, "steady"),
        (None, False, True, Level.OK, "steady"),
        (decode_throttled(0x50005), None, True, Level.FAIL, "official Raspberry Pi power"),
        (decode_throttled(0x1), False, True, Level.FAIL, "Under-voltage now"),
        (ALL_CLEAR, True, True, Level.FAIL, "Under-voltage now"),  # the hwmon alarm alone
        (None, True, True, Level.FAIL, "Under-voltage now"),
        (decode_throttled(0x50000), None, True, Level.WARN, "since boot"),
        (decode_throttled(0x10000), False, True, Level.WARN, "since boot"),
        # Heat, not power: the power check has nothing to say about it.
        (decode_throttled(0xE000E), None, True, Level.OK, "steady"),
        (None, None, True, Level.WARN, "cannot be checked"),
        (None, None, False, Level.OK, "Not a Raspberry Pi"),
    ],
)
def test_power_result(
    throttled: Throttled | None, alarm: bool | None, on_pi: bool, level: Level, says: str
) -> None:
    result = health.power_result(throttled, alarm, on_pi)
    assert (result.id, result.status) == ("power", level)
    assert says in result.message


# -- the readers, on a fake sysfs of real files -----------------------------------------


def write(root: Path, relative: Path | str, content: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def no_sensors() -> dict:
    return {}


def pi(tmp_path: Path, throttled: str | None = "0\n", temp: str | None = "48312\n") -> Sources:
    """A Pi's sysfs as the kernel shows it, with no vcgencmd and no psutil fallback."""
    write(tmp_path, health.MODEL, b"Raspberry Pi 4 Model B Rev 1.5\x00")
    if temp is not None:
        write(tmp_path, health.THERMAL, temp)
    if throttled is not None:
        write(tmp_path, health.GET_THROTTLED, throttled)
    return Sources(root=tmp_path, vcgencmd=None, sensors=no_sensors)


def hwmon(root: Path, devices: dict[str, dict[str, str]]) -> None:
    for device, files in devices.items():
        for name, text in files.items():
            write(root, health.HWMON / device / name, text)


def test_a_pi_in_good_health(tmp_path: Path) -> None:
    src = pi(tmp_path)
    h = health.snapshot(tmp_path, src)
    assert h.model == "Raspberry Pi 4 Model B Rev 1.5"
    assert h.temperature_c == 48.312
    assert h.throttled == ALL_CLEAR
    assert (h.under_voltage_now, h.under_voltage_occurred) == (False, False)
    d = h.as_dict()
    assert d["temperature_c"] == 48.3
    assert d["throttled"] == {"raw": "0x0", "flags": []}


def test_a_pi_on_a_weak_supply(tmp_path: Path) -> None:
    h = health.snapshot(tmp_path, pi(tmp_path, throttled="50005\n"))
    assert h.throttled is not None and h.throttled.raw == 0x50005
    assert (h.under_voltage_now, h.under_voltage_occurred) == (True, True)
    assert h.as_dict()["throttled"]["raw"] == "0x50005"


def test_a_pc_in_a_container_has_none_of_it(tmp_path: Path) -> None:
    src = Sources(root=tmp_path, vcgencmd=None, sensors=no_sensors)
    h = health.snapshot(tmp_path, src)
    assert (h.model, h.temperature_c, h.throttled) == (None, None, None)
    assert (h.under_voltage_now, h.under_voltage_occurred) == (None, None)
    verdict = health.temperature_result(h.temperature_c, health.is_raspberry_pi(h.model))
    assert (verdict.status, verdict.message) == (
        Level.OK,
        "Not a Raspberry Pi: temperature not checked.",
    )


def test_psutil_is_the_fallback_for_temperature(tmp_path: Path) -> None:
    src = Sources(tmp_path, None, lambda: {"cpu_thermal": [Shwtemp("", 55.5)]})
    assert health.read_temperature(src) == 55.5
    # sysfs wins where it is there.
    write(tmp_path, health.THERMAL, "61000\n")
    assert health.read_temperature(src) == 61.0


def test_an_unreadable_thermal_zone_falls_back(tmp_path: Path) -> None:
    write(tmp_path, health.THERMAL, "")  # the driver failed to read the sensor
    src = Sources(tmp_path, None, lambda: {"cpu_thermal": [Shwtemp("", 50.0)]})
    assert health.read_temperature(src) == 50.0


def test_the_rpi_volt_alarm_is_found_by_name_not_by_number(tmp_path: Path) -> None:
    src = pi(tmp_path, throttled=None)
    hwmon(
        tmp_path,
        {
            "hwmon0": {"name": "cpu_thermal\n", "temp1_input": "48312\n"},
            "hwmon1": {"name": "other\n", "in0_lcrit_alarm": "0\n"},
            "hwmon3": {"name": "rpi_volt\n", "in0_lcrit_alarm": "1\n"},
        },
    )
    assert health.read_under_voltage_alarm(src) is True
    h = health.snapshot(tmp_path, src)
    assert h.throttled is None
    assert (h.under_voltage_now, h.under_voltage_occurred) == (True, True)


def test_a_quiet_alarm_does_not_clear_the_since_boot_bit(tmp_path: Path) -> None:
    src = pi(tmp_path, throttled="50000\n")
    hwmon(tmp_path, {"hwmon2": {"name": "rpi_volt\n", "in0_lcrit_alarm": "0\n"}})
    h = health.snapshot(tmp_path, src)
    assert (h.under_voltage_now, h.under_voltage_occurred) == (False, True)


def test_a_quiet_alarm_alone_cannot_tell_the_past(tmp_path: Path) -> None:
    src = pi(tmp_path, throttled=None)
    hwmon(tmp_path, {"hwmon2": {"name": "rpi_volt\n", "in0_lcrit_alarm": "0\n"}})
    h = health.snapshot(tmp_path, src)
    assert (h.under_voltage_now, h.under_voltage_occurred) == (False, None)


def fake_vcgencmd(folder: Path, output: str, code: int = 0) -> str:
    """A real executable that answers as vcgencmd does, for the fallback path."""
    script = folder / "vcgencmd"
    script.write_text(
        f'#!/bin/sh\n[ "$1" = get_throttled ] || exit 2\nprintf "{output}"\nexit {code}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return os.fspath(script)


def test_vcgencmd_comes_before_the_deprecated_sysfs_file(tmp_path: Path) -> None:
    binary = fake_vcgencmd(tmp_path, "throttled=0x50000\\n")
    src = Sources(tmp_path / "root", binary, no_sensors)
    assert health.read_throttled(src) == decode_throttled(0x50000)
    # Reading the sysfs file taints a Raspberry Pi kernel: vcgencmd wins where both answer.
    write(src.root, health.GET_THROTTLED, "0\n")
    assert health.read_throttled(src) == decode_throttled(0x50000)


@pytest.mark.parametrize(
    ("output", "code"),
    [
        (None, 0),  # not installed
        ("VCHI initialization failed\\n", 255),  # what it does without access to /dev/vcio
        ('error=1 error_msg=\\"Command not registered\\"\\n', 0),
    ],
    ids=["missing", "no-vcio", "garbage"],
)
def test_sysfs_stands_in_for_a_vcgencmd_that_cannot_answer(
    tmp_path: Path, output: str | None, code: int
) -> None:
    if output is None:
        binary = os.fspath(tmp_path / "no-such-vcgencmd")
    else:
        binary = fake_vcgencmd(tmp_path, output, code)
    src = Sources(tmp_path / "root", binary, no_sensors)
    assert health.read_throttled(src) is None
    write(src.root, health.GET_THROTTLED, "50005\n")
    assert health.read_throttled(src) == decode_throttled(0x50005)


def test_disk_free_is_measured_for_a_folder_not_made_yet(tmp_path: Path) -> None:
    free = health.disk_free_mb(tmp_path / "recordings" / "not-yet")
    assert free is not None and free > 0


# -- this machine, through psutil and its real files -------------------------------------


def test_this_machine(tmp_path: Path) -> None:
    h = health.snapshot(tmp_path)
    assert h.memory_available_mb is not None and h.memory_available_mb > 0
    assert h.memory_percent is not None and 0 < h.memory_percent < 100
    assert h.disk_free_mb is not None and h.disk_free_mb > 0
    assert h.cpu_percent is not None and 0 <= h.cpu_percent <= 100
    assert h.uptime_s is not None and h.uptime_s > 0
    assert set(h.as_dict()) == {
        "model", "temperature_c", "throttled", "under_voltage_now", "under_voltage_occurred",
        "memory_available_mb", "memory_percent", "disk_free_mb", "cpu_percent", "uptime_s",
    }  # fmt: skip
