"""A 10 s hold when idle opens the hotspot, through the conductor, with the real Hotspot
against the stand-in nmcli (tests/peers/fake_nmcli)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from kit import checks
from kit.config import from_dict
from kit.daemon import Conductor, Parts
from kit.hw.gpio import Panel
from kit.media.audio import Tone
from kit.media.camera import TestPatternCamera
from kit.media.pipeline import Encode
from kit.net.hotspot import Hotspot
from kit.store import Store
from tests.unit.test_hotspot import FAKE_NMCLI

PASSWORD = "correct horse; 'x'"


def make(tmp_path: Path, open_hotspot) -> Iterator[Conductor]:  # type: ignore[no-untyped-def]
    cfg = from_dict(
        {"recording": {"dir": str(tmp_path / "rec")}, "state": {"dir": str(tmp_path / "state")}}
    )
    panel = Panel(cfg.gpio, lambda: None, lambda: None, pin_factory=MockFactory())
    store = Store(tmp_path / "state" / "kit.db")
    c = Conductor(
        Parts(
            cfg,
            TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500)),
            Tone(),
            panel,
            store,
            "libx264",
            checks=list(checks.CHECKS),
            open_hotspot=open_hotspot,
        )
    )
    c.start()
    yield c
    c.shutdown()
    panel.close()
    store.close()


@pytest.fixture
def hotspot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hotspot:
    monkeypatch.setenv("FAKE_NMCLI_LOG", str(tmp_path / "argv.jsonl"))
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "fresh")
    root = tmp_path / "root"
    (root / "sys/class/net/wlan0").mkdir(parents=True)
    (root / "sys/class/net/wlan0/address").write_text("dc:a6:32:01:02:03\n")
    secret = tmp_path / "hotspot-password"
    secret.write_text(PASSWORD + "\n")
    return Hotspot(nmcli=FAKE_NMCLI, root=root, password_file=secret)


def wait_hotspot(c: Conductor) -> str:
    deadline = time.monotonic() + 10
    while not c.status()["hotspot"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return str(c.status()["hotspot"])


def test_long_hold_when_idle_opens_the_hotspot(tmp_path: Path, hotspot: Hotspot) -> None:
    for c in make(tmp_path, lambda: hotspot.start().url(8080)):
        c.long_hold()
        said = wait_hotspot(c)
        assert "http://10.42.0.1:8080/" in said
        assert PASSWORD not in said
        assert c.status()["state"] == "idle"
        assert '"Kit-0203"' in (tmp_path / "argv.jsonl").read_text()


def test_a_failure_says_why_without_the_password(
    tmp_path: Path, hotspot: Hotspot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "ap-fails")
    for c in make(tmp_path, lambda: hotspot.start().url(8080)):
        c.long_hold()
        said = wait_hotspot(c)
        assert said.startswith("could not open")
        assert PASSWORD not in said


def test_no_hotspot_in_simulation(tmp_path: Path) -> None:
    for c in make(tmp_path, None):
        c.long_hold()
        assert "simulation" in wait_hotspot(c)
