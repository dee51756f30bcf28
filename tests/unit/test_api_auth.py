"""The JSON API through Flask's test client, in front of a real Conductor in simulation.

A request without a valid token gets 401 and changes nothing; with it, the
conductor acts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from kit import checks
from kit.api.app import create_app
from kit.config import from_dict
from kit.daemon import Conductor, Parts
from kit.hw.gpio import Panel
from kit.media.audio import Tone
from kit.media.camera import TestPatternCamera
from kit.media.pipeline import Encode
from kit.store import Store

TOKEN = "t" * 43


@pytest.fixture
def conductor(tmp_path: Path) -> Iterator[Conductor]:
    cfg = from_dict(
        {
            "stream": {"server": "rtmp://127.0.0.1:1/live/", "key": "k?sign=1"},
            "recording": {"dir": str(tmp_path / "rec"), "min_free_mb": 50},
            "state": {"dir": str(tmp_path / "state")},
        }
    )
    panel = Panel(cfg.gpio, lambda: None, lambda: None, pin_factory=MockFactory())
    store = Store(tmp_path / "state" / "kit.db")
    # The local checks only: this test is about the API, not about reaching a server.
    c = Conductor(
        Parts(
            cfg,
            TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500)),
            Tone(),
            panel,
            store,
            "libx264",
            checks=list(checks.CHECKS),
        )
    )
    c.start()
    yield c
    c.shutdown()
    panel.close()
    store.close()


def client(conductor: Conductor, simulate: bool = False):  # type: ignore[no-untyped-def]
    presses: list[float] = []
    app = create_app(conductor, TOKEN, presses.append if simulate else None)
    c = app.test_client()
    c.presses = presses  # type: ignore[attr-defined]
    return c


ROUTES = [
    ("GET", "/api/status"),
    ("POST", "/api/live/start"),
    ("POST", "/api/live/stop"),
    ("POST", "/api/marker"),
    ("GET", "/api/checks"),
    ("POST", "/api/press"),
]
BAD_HEADERS = [
    None,
    "Bearer",
    "Bearer wrong",
    f"Basic {TOKEN}",
    f"Bearer {TOKEN}x",
    f"bearer {TOKEN}",
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", BAD_HEADERS)
def test_no_valid_token_is_401_and_changes_nothing(
    conductor: Conductor, method: str, path: str, header: str | None
) -> None:
    c = client(conductor, simulate=True)
    headers = {"Authorization": header} if header else {}
    r = c.open(path, method=method, headers=headers, json={"hold": 1})
    assert r.status_code == 401
    assert "token" in r.get_json()["error"]
    time.sleep(0.05)
    assert conductor.status()["state"] == "idle"
    assert c.presses == []


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_with_the_token_start_then_stop_cancels(conductor: Conductor) -> None:
    c = client(conductor)
    assert c.post("/api/live/start", headers=auth()).status_code == 202
    deadline = time.monotonic() + 3
    while conductor.status()["state"] != "countdown" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert conductor.status()["state"] == "countdown"
    assert c.post("/api/live/start", headers=auth()).status_code == 409
    assert c.post("/api/live/stop", headers=auth()).status_code == 202
    time.sleep(0.1)
    assert conductor.status()["state"] == "idle"


def test_marker_needs_a_broadcast(conductor: Conductor) -> None:
    r = client(conductor).post("/api/marker", headers=auth())
    assert r.status_code == 409
    assert "live" in r.get_json()["error"]


def test_status_never_contains_the_key(conductor: Conductor) -> None:
    body = client(conductor).get("/api/status", headers=auth()).get_data(as_text=True)
    assert "k?sign=1" not in body
    assert '"state": "idle"' in body or '"state":"idle"' in body


def test_checks_report_every_check(conductor: Conductor) -> None:
    r = client(conductor).get("/api/checks", headers=auth())
    ids = {c["id"] for c in r.get_json()}
    assert {"stream", "disk", "camera", "microphone", "encoder"} <= ids
    assert all(c["status"] in ("ok", "warn", "fail") for c in r.get_json())


@pytest.mark.parametrize("hold", ["3", True, -1, 0, 16, None])
def test_press_validates_hold(conductor: Conductor, hold: object) -> None:
    c = client(conductor, simulate=True)
    r = c.post("/api/press", headers=auth(), json={"hold": hold})
    assert r.status_code == 400
    assert c.presses == []


def test_press_only_in_simulation(conductor: Conductor) -> None:
    r = client(conductor).post("/api/press", headers=auth(), json={"hold": 1})
    assert r.status_code == 404


def test_press_drives_the_simulated_button(conductor: Conductor) -> None:
    c = client(conductor, simulate=True)
    r = c.post("/api/press", headers=auth(), json={"hold": 0.2})
    assert r.status_code == 200
    assert c.presses == [0.2]
