"""systemd/kit-hidepid.service and the drop-in for the services that must see every process:
systemd's own `verify` on them, in a throwaway root (as tests/unit/test_systemd_unit.py
does for kit.service). That /proc then hides the key from other users, and polkitd still
works, is tests/integration/test_proc_hidepid.py."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_systemd_unit import analyze, make_root, run  # noqa: F401

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD / "kit-hidepid.service"


def test_systemd_verifies_the_unit_and_the_drop_in(analyze: str, tmp_path: Path) -> None:  # noqa: F811
    root = make_root(tmp_path, (SYSTEMD / "kit.service").read_text())
    units = root / "etc/systemd/system"
    (units / UNIT.name).write_text(UNIT.read_text())
    for name in ("systemd-logind", "NetworkManager"):
        (units / f"{name}.service.d").mkdir()
        (units / f"{name}.service.d/kit-proc.conf").write_text(
            (SYSTEMD / "kit-proc.conf").read_text()
        )
    mount = root / "usr/bin/mount"
    mount.parent.mkdir(parents=True, exist_ok=True)
    mount.write_text("#!/bin/sh\nexit 0\n")
    mount.chmod(0o755)
    r = run(analyze, "verify", "--man=no", f"--root={root}", UNIT.name, "systemd-logind.service")
    problems = [
        line for line in (r.stdout + r.stderr).splitlines()
        if "kit-hidepid" in line or "kit-proc" in line or "SupplementaryGroups" in line
    ]  # fmt: skip
    assert not problems, r.stdout + r.stderr


def test_the_unit_runs_before_every_ordinary_service() -> None:
    text = UNIT.read_text()
    assert "DefaultDependencies=no" in text
    assert "Before=sysinit.target" in text
    assert "WantedBy=sysinit.target" in text
    assert "remount,hidepid=invisible,gid=proc /proc" in text
