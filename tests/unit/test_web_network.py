"""The Wi-Fi screen through Flask's test client, in front of a real Conductor in simulation
and WifiSetup driving the stand-in nmcli (tests/peers/fake_nmcli, stateful mode)."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.api.app import create_app
from kit.api.netpage import can_change
from kit.machine import State
from kit.net.wifi import SIMULATION, WifiError
from tests.unit.test_web_routes import TOKEN, Kit, csrf_of, logged_in
from tests.unit.test_wifisetup import ODD_SSID, PASSWORD, Env


class NetKit(Kit):
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
        super().__init__(tmp)
        self.env = Env(tmp, monkeypatch, scenario)
        self.setup = self.env.setup
        self.setup.can_change = can_change(self.conductor)
        self.deps.network = self.setup
        self.app = create_app(self.conductor, TOKEN, None, self.deps)


@pytest.fixture
def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    made: list[NetKit] = []

    def build(scenario: str = "wifi") -> NetKit:
        k = NetKit(tmp_path, monkeypatch, scenario)
        made.append(k)
        return k

    yield build
    for k in made:
        k.setup.wait(15)  # no job left writing into the next test's nmcli log
        k.close()


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def values_of(page: str, name: str) -> list[str]:
    """The values of the hidden inputs called `name`, as the browser will send them."""
    return [html.unescape(v) for v in re.findall(rf'name="{name}" value="([^"]*)"', page)]


ROUTES = ["/network/scan", "/network/join", "/network/forget", "/network/hotspot/close"]


def test_needs_a_session_and_a_csrf_token(make: Any) -> None:
    kit = make("hotspot")
    anonymous = kit.app.test_client()
    assert anonymous.get("/network").location == "/login"
    for path in ROUTES:
        assert anonymous.post(path, data={"ssid": "Neighbour Net"}).status_code in (302, 403)
    c, _ = logged_in(kit)
    for path in ROUTES:
        assert c.post(path, data={"ssid": "Neighbour Net", "name": ODD_SSID}).status_code == 403
    assert kit.env.changes() == []


def test_status_and_saved_networks(make: Any) -> None:
    kit = make("wifi")
    c, _ = logged_in(kit)
    r = c.get("/network")
    assert r.status_code == 200
    page = text_of(r.text)
    assert ODD_SSID in page  # the SSID with quotes, a colon, a backslash and an emoji
    assert "192.168.1.23" in page and "192.168.1.1" in page
    assert "(72%)" in page and "5 GHz" in page
    assert "Wi-Fi power saving" in page and "delay" in page  # on: the hint shows
    assert "in use" in page
    assert "Kit-BBCC" not in page  # no hotspot open: its card is not shown
    # The odd SSID reaches the forget form intact (attribute-escaped, not broken).
    assert values_of(r.text, "name") == [ODD_SSID]


def test_scan_lists_networks_each_with_a_join_form(make: Any) -> None:
    kit = make("wifi")
    c, token = logged_in(kit)
    r = c.post("/network/scan", data={"csrf": token})
    assert r.status_code == 200
    page = text_of(r.text)
    # Strongest first, the SSID seen on two radios once; the hidden one left out.
    assert values_of(r.text, "ssid") == [ODD_SSID, "Open Café", "Neighbour Net"]
    assert "Neighbour Net" in page


def test_join_answers_first_then_shows_how_it_went(make: Any) -> None:
    kit = make("wifi")
    c, token = logged_in(kit)
    r = c.post("/network/join", data={"csrf": token, "ssid": "Neighbour Net",
                                      "password": PASSWORD})  # fmt: skip
    assert r.status_code == 303 and r.location == "/network"
    kit.setup.wait(10)
    page = c.get("/network").text
    assert "Joined Neighbour Net." in text_of(page)
    assert PASSWORD not in page
    assert 'http-equiv="refresh"' not in page  # done: no more reloading


def test_a_running_change_reloads_the_page_and_tells_a_hotspot_phone_where_to_go(
    make: Any,
) -> None:
    kit = make("hotspot")
    gate = threading.Event()
    kit.setup.sleep = lambda s: gate.wait(10)
    c, token = logged_in(kit)
    page = c.get("/network").text
    assert "Kit-BBCC" in page and "Close the hotspot" in page
    r = c.post("/network/join", data={"csrf": token, "ssid": "Neighbour Net",
                                      "password": PASSWORD})  # fmt: skip
    assert r.status_code == 303
    page = c.get("/network").text
    assert 'http-equiv="refresh"' in page
    shown = text_of(page)
    assert "Joining Neighbour Net" in shown
    assert "Connect your phone to Neighbour Net" in shown
    assert re.search(r"then open http://[\w.-]+\.local/", shown), shown
    assert kit.env.changes() == []  # nothing done before the answer went out
    gate.set()
    kit.setup.wait(10)
    assert kit.env.changes() == ["down kit-hotspot", "rescan", "connect Neighbour Net"]


@pytest.mark.parametrize(
    ("lang", "ssid", "password", "field", "message"),
    [
        ("en", "", PASSWORD, "ssid", "the Wi-Fi name is empty"),
        ("sv", "", PASSWORD, "ssid", "Wi-Fi-namnet är tomt"),
        ("en", "x" * 33, PASSWORD, "ssid", "33 bytes long"),
        ("en", "Home", "short", "password", "has 5 characters"),
        ("sv", "Home", "short", "password", "Wi-Fi-lösenordet har 5 tecken"),
        ("en", "Home", "pässwörd-long", "password", "plain ASCII letters"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_runs(
    make: Any, lang: str, ssid: str, password: str, field: str, message: str
) -> None:
    kit = make("wifi")
    c, token = logged_in(kit)
    r = c.post("/network/join", headers={"Accept-Language": lang},
               data={"csrf": token, "ssid": ssid, "password": password})  # fmt: skip
    assert r.status_code == 400
    m = re.search(rf'<p class="err" id="err-{field}" role="alert">([^<]*)</p>', r.text)
    assert m and message in html.unescape(m.group(1)), r.text
    assert f'id="{field}"' in r.text and 'aria-invalid="true"' in r.text
    assert password not in r.text  # never sent back, not even into its field
    assert kit.env.changes() == [] and kit.setup.job() is None


def test_failed_join_from_the_hotspot_in_swedish(make: Any) -> None:
    kit = make("hotspot")
    c, token = logged_in(kit)
    sv = {"Accept-Language": "sv"}
    form = {"csrf": token, "ssid": "Neighbour Net", "password": "wrong password"}
    r = c.post("/network/join", headers=sv, data=form)
    assert r.status_code == 303
    kit.setup.wait(10)
    shown = text_of(c.get("/network", headers=sv).text)
    assert "Kunde inte ansluta till Neighbour Net; kitets surfzon är öppen igen" in shown
    assert "kontrollera lösenordet" in shown
    assert "wrong password" not in shown


def test_forget_and_close(make: Any) -> None:
    kit = make("wifi")
    c, token = logged_in(kit)
    r = c.post("/network/forget", data={"csrf": token, "name": "Nope"})
    assert r.status_code == 400 and "no saved network of that name" in text_of(r.text)
    r = c.post("/network/forget", data={"csrf": token, "name": ODD_SSID})
    assert r.status_code == 303
    kit.setup.wait(10)
    shown = text_of(c.get("/network").text)
    assert f"Forgot {ODD_SSID}. No network was left, so the kit opened its hotspot." in shown
    assert "Close the hotspot" in shown
    r = c.post("/network/hotspot/close", data={"csrf": token})
    assert r.status_code == 303
    kit.setup.wait(10)
    assert "The hotspot is closed." in text_of(c.get("/network").text)
    assert kit.env.changes()[-1] == "down kit-hotspot"


def test_refused_on_air(make: Any) -> None:
    kit = make("wifi")
    c, token = logged_in(kit)
    kit.setup.can_change = lambda: False  # as can_change() says on air (tested below)
    for path, data in (
        ("/network/join", {"ssid": "Neighbour Net", "password": PASSWORD}),
        ("/network/scan", {}),
        ("/network/forget", {"name": ODD_SSID}),
    ):
        r = c.post(path, data={"csrf": token, **data})
        assert r.status_code == 409, path
        assert "end the broadcast to change the Wi-Fi" in text_of(r.text)
    assert kit.env.changes() == []


@pytest.mark.parametrize(
    ("state", "allowed"),
    [("idle", True), ("key_rejected", True), ("checking", False), ("countdown", False),
     ("connecting", False), ("live", False), ("reconnecting", False), ("stopping", False)],
)  # fmt: skip
def test_can_change_only_when_idle_or_in_error(state: str, allowed: bool) -> None:
    class Conductor:
        def status(self) -> dict[str, Any]:
            return {"state": State(state).value}

    assert can_change(Conductor())() is allowed


def test_read_only_in_simulation(make: Any) -> None:
    kit = make("wifi")
    kit.setup.read_only = WifiError(SIMULATION())
    c, token = logged_in(kit)
    page = c.get("/network").text
    assert "does not change this computer" in text_of(page)
    assert 'id="join-form"' not in page and ODD_SSID in text_of(page)  # status still shown
    r = c.post("/network/join", data={"csrf": token, "ssid": "Neighbour Net"})
    assert r.status_code == 400
    assert kit.env.changes() == []


def test_csrf_token_is_in_every_form(make: Any) -> None:
    kit = make("wifi")
    c, token = logged_in(kit)
    page = c.post("/network/scan", data={"csrf": token}).text
    forms = re.findall(r"<form [^>]*method=\"post\"[^>]*>(.*?)</form>", page, re.S)
    assert len(forms) >= 5
    assert all(csrf_of(f) == token for f in forms)


def test_a_change_clears_the_last_hotspot_outcome_on_the_home_page(make: Any) -> None:
    kit = make("wifi")
    kit.setup.on_done = kit.conductor.network_changed
    kit.conductor.long_hold()  # in simulation: "no hotspot here (simulation)"
    deadline = time.monotonic() + 5
    while not kit.conductor.status()["hotspot"]:
        assert time.monotonic() < deadline, "the hold never said anything"
        kit.conductor.wait_for_change(kit.conductor.status()["version"], 0.5)
    c, token = logged_in(kit)
    c.post("/network/join", data={"csrf": token, "ssid": "Open Café"})
    assert kit.setup.wait(10) is not None
    assert kit.conductor.status()["hotspot"] == ""
