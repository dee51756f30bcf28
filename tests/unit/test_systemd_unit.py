"""systemd/kit.service: systemd's own checks, and the directives the kit relies on.

`systemd-analyze verify` and `systemd-analyze security --offline=true` run on the
unit, unchanged, inside a throwaway root (`--root=`) that holds a fake
/opt/kit/venv/bin/kit (verify refuses a unit whose ExecStart= binary does not
exist) and a copy of the system's own units (so that verify can resolve the
unit's dependencies and build its start job). Neither needs systemd running as
PID 1. Each check is also run on a broken unit, so that a check that can no
longer fail is noticed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "kit.service"
KIT = "/opt/kit/venv/bin/kit"
MAX_EXPOSURE = 4.0
SYSTEM_UNITS = [Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")]
EXPOSURE = re.compile(r"Overall exposure level for kit\.service:\s*(\d+(?:\.\d+)?)")


# -- running systemd-analyze --------------------------------------------------


@pytest.fixture
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: CI must install systemd to check kit.service")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return path


def make_root(base: Path, unit_text: str, with_kit: bool = True) -> Path:
    """A root with the system's units, the unit under test and a fake kit executable."""
    root = base / "root"
    system_units = next((d for d in SYSTEM_UNITS if d.is_dir()), None)
    assert system_units, f"none of {SYSTEM_UNITS} exists: is systemd installed?"
    shutil.copytree(system_units, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "kit.service").write_text(unit_text)
    if with_kit:
        kit = root / KIT.lstrip("/")
        kit.parent.mkdir(parents=True)
        kit.write_text("#!/bin/sh\nexit 0\n")
        kit.chmod(0o755)
    return root


def run(analyze: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": "cat"}
    return subprocess.run(
        [analyze, "--no-pager", *args],
        capture_output=True, text=True, encoding="utf-8", errors="replace",
        env=env, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def verify_problems(analyze: str, root: Path) -> list[str]:
    # "one": the unit and its direct dependencies (sysinit.target, modprobe@...).
    r = run(
        analyze, "verify", "--man=no", "--recursive-errors=one", f"--root={root}", "kit.service"
    )
    lines = (r.stdout + r.stderr).splitlines()
    problems = [line for line in lines if "kit.service" in line]
    if r.returncode != 0 and not problems:
        problems = [f"systemd-analyze verify exited {r.returncode}", *lines]
    return problems


def exposure(analyze: str, root: Path) -> float:
    r = run(analyze, "security", "--offline=true", f"--root={root}", "kit.service")
    m = EXPOSURE.search(r.stdout)
    assert m, f"no exposure level in systemd-analyze's output:\n{r.stdout}{r.stderr}"
    return float(m.group(1))


# -- systemd's checks -----------------------------------------------------------


def test_systemd_verify_finds_nothing_wrong(analyze: str, tmp_path: Path) -> None:
    problems = verify_problems(analyze, make_root(tmp_path, UNIT.read_text()))
    assert problems == []


def test_systemd_verify_catches_a_missing_executable(analyze: str, tmp_path: Path) -> None:
    root = make_root(tmp_path, UNIT.read_text(), with_kit=False)
    assert any("is not executable" in p for p in verify_problems(analyze, root))


@pytest.mark.parametrize(
    "unit_text",
    [
        pytest.param(f"[Service]\nExecStart={KIT} run\nWatchdogSecs=30\n", id="misspelt-key"),
        pytest.param(
            f"[Unit]\nRequires=no-such.service\n[Service]\nExecStart={KIT} run\n",
            id="missing-dependency",
        ),
    ],
)
def test_systemd_verify_catches_a_broken_unit(analyze: str, tmp_path: Path, unit_text: str) -> None:
    assert verify_problems(analyze, make_root(tmp_path, unit_text)) != []


def test_security_exposure_is_at_most_4(analyze: str, tmp_path: Path) -> None:
    level = exposure(analyze, make_root(tmp_path, UNIT.read_text()))
    assert level <= MAX_EXPOSURE, f"exposure {level} > {MAX_EXPOSURE}: see systemd/README.md"


def test_security_exposure_of_an_unhardened_unit_is_above_4(analyze: str, tmp_path: Path) -> None:
    root = make_root(tmp_path, f"[Service]\nExecStart={KIT} run\n")
    assert exposure(analyze, root) > MAX_EXPOSURE


# -- the directives the kit relies on --------------------------------------------

Unit = dict[str, dict[str, list[str]]]

REQUIRED_DEVICES = {
    "char-video4linux",  # camera, ISP, sensor subdevices, the Pi 4's H.264 encoder
    "char-media",  # libcamera's media controller
    "char-dma_heap",  # picamera2's frame buffers
    "char-alsa",  # the USB microphone
    "char-gpiochip",  # button, relay, LED
}
TRUE = {"1", "yes", "true", "on"}


def parse_unit(text: str) -> Unit:
    """Sections -> key -> every value in order (systemd allows repeated keys)."""
    sections: Unit = {}
    current: dict[str, list[str]] | None = None
    lines = iter(text.splitlines())
    for raw in lines:
        line = raw.strip()
        while line.endswith("\\"):
            line = line[:-1] + " " + next(lines, "").strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        if current is None or not sep:
            raise ValueError(f"not a unit file line: {raw!r}")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def last(unit: Unit, section: str, key: str) -> str | None:
    """The effective value of a single-valued setting: the last assignment wins."""
    values = unit.get(section, {}).get(key)
    return values[-1] if values else None


def directive_problems(text: str) -> list[str]:
    unit = parse_unit(text)
    problems = []
    expected = {
        ("Unit", "StartLimitIntervalSec"): "0",
        ("Service", "Type"): "notify",
        ("Service", "NotifyAccess"): "main",
        ("Service", "ExecStart"): f"{KIT} run --config /etc/kit/kit.toml",
        ("Service", "Restart"): "on-failure",
        ("Service", "KillMode"): "mixed",
        ("Service", "User"): "kit",
        ("Service", "Group"): "kit",
        ("Service", "StateDirectory"): "kit",
        ("Service", "DevicePolicy"): "closed",
        ("Service", "ProtectSystem"): "strict",
        ("Service", "ProtectProc"): "invisible",
        ("Service", "NoNewPrivileges"): "true",
        ("Service", "CapabilityBoundingSet"): "",
    }
    for (section, key), want in expected.items():
        got = last(unit, section, key)
        if got != want:
            problems.append(f"[{section}] {key}={got!r}, expected {want!r}")

    watchdog = last(unit, "Service", "WatchdogSec") or ""
    m = re.fullmatch(r"(\d+)s?", watchdog)
    if not m or int(m.group(1)) == 0:
        problems.append(f"WatchdogSec={watchdog!r}: expected a number of seconds above 0")

    groups = {g for v in unit.get("Service", {}).get("SupplementaryGroups", []) for g in v.split()}
    for group in ("video", "audio", "gpio"):
        if group not in groups:
            problems.append(f"SupplementaryGroups lacks {group}")

    stop_post = [v.lstrip("-@:+!") for v in unit.get("Service", {}).get("ExecStopPost", [])]
    if f"{KIT} relay-off --config /etc/kit/kit.toml" not in stop_post:
        problems.append(f"no ExecStopPost= running kit relay-off (got {stop_post})")

    devices = [v.split()[0] for v in unit.get("Service", {}).get("DeviceAllow", []) if v]
    for device in sorted(REQUIRED_DEVICES - set(devices)):
        problems.append(f"DeviceAllow lacks {device}")
    for device in devices:
        if device.startswith("/dev/") and any(c in device for c in "*?["):
            problems.append(f"DeviceAllow={device}: systemd takes no wildcards in /dev paths")

    if (last(unit, "Service", "PrivateDevices") or "").lower() in TRUE:
        problems.append("PrivateDevices= would hide the camera, the microphone and the pins")
    if last(unit, "Service", "ProcSubset") == "pid":
        problems.append("ProcSubset=pid hides /proc/asound, /proc/stat and /proc/meminfo")
    return problems


def test_unit_has_the_directives_the_kit_relies_on() -> None:
    assert directive_problems(UNIT.read_text()) == []


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        changed = re.sub(rf"(?m)^{old}$", new, text)
        assert changed != text, f"{old!r} is not in the unit"
        return changed

    return edit


def add(line: str) -> Callable[[str], str]:
    return lambda text: text.replace("[Service]\n", f"[Service]\n{line}\n", 1)


@pytest.mark.parametrize(
    "edit, problem",
    [
        (replace(r"StartLimitIntervalSec=0", "StartLimitBurst=5"), "StartLimitIntervalSec"),
        (replace(r"Type=notify", "Type=simple"), "Type="),
        (replace(r"NotifyAccess=main", "NotifyAccess=all"), "NotifyAccess="),
        (replace(r"ExecStart=.*", "ExecStart=/usr/bin/kit run"), "ExecStart="),
        (replace(r"Restart=on-failure", "Restart=no"), "Restart="),
        (replace(r"KillMode=mixed", "KillMode=control-group"), "KillMode="),
        (replace(r"User=kit", "User=root"), "User="),
        (replace(r"Group=kit", "Group=root"), "Group="),
        (replace(r"StateDirectory=kit", ""), "StateDirectory="),
        (replace(r"DevicePolicy=closed", "DevicePolicy=auto"), "DevicePolicy="),
        (replace(r"ProtectSystem=strict", "ProtectSystem=full"), "ProtectSystem="),
        (replace(r"ProtectProc=invisible", "ProtectProc=default"), "ProtectProc="),
        (replace(r"NoNewPrivileges=true", "NoNewPrivileges=false"), "NoNewPrivileges="),
        (replace(r"CapabilityBoundingSet=", "CapabilityBoundingSet=CAP_NET_ADMIN"),
         "CapabilityBoundingSet="),
        (replace(r"WatchdogSec=.*", ""), "WatchdogSec="),
        (replace(r"WatchdogSec=.*", "WatchdogSec=0"), "WatchdogSec="),
        (replace(r"SupplementaryGroups=.*", "SupplementaryGroups=audio gpio"), "lacks video"),
        (replace(r"SupplementaryGroups=.*", "SupplementaryGroups=video gpio"), "lacks audio"),
        (replace(r"SupplementaryGroups=.*", "SupplementaryGroups=video audio"), "lacks gpio"),
        (replace(r"ExecStopPost=.*", ""), "relay-off"),
        (replace(r"DeviceAllow=char-video4linux rw", ""), "lacks char-video4linux"),
        (replace(r"DeviceAllow=char-gpiochip rw", ""), "lacks char-gpiochip"),
        (add("DeviceAllow=/dev/media* rw"), "no wildcards"),
        (add("PrivateDevices=yes"), "PrivateDevices="),
        (add("ProcSubset=pid"), "ProcSubset=pid"),
    ],
)  # fmt: skip
def test_each_directive_check_can_fail(edit: Callable[[str], str], problem: str) -> None:
    problems = directive_problems(edit(UNIT.read_text()))
    assert any(problem in p for p in problems), problems
