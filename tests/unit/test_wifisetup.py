"""Wi-Fi setup jobs against the stand-in nmcli (tests/peers/fake_nmcli), in its stateful
mode: a join, a forget or the hotspot moves the fake between the scenarios NetworkManager
would be in, and every argv nmcli got is logged, so the order of the commands is checked."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kit.net.hotspot import HOTSPOT_CONNECTION, Hotspot
from kit.net.wifi import SIMULATION, Wifi, WifiError
from kit.net.wifisetup import Busy, WifiSetup
from tests.unit.test_hotspot import FAKE_NMCLI

ODD_SSID = 'Café "Joe\'s": 5G \\ 😀'
PASSWORD = "correct horse battery"


class Env:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
        self.log = tmp / "argv.jsonl"
        self.state = tmp / "scenario"
        self.state.write_text(scenario)
        monkeypatch.setenv("FAKE_NMCLI_LOG", str(self.log))
        monkeypatch.setenv("FAKE_NMCLI_STATE", str(self.state))
        root = tmp / "root"
        (root / "sys/class/net/wlan0").mkdir(parents=True)
        (root / "sys/class/net/wlan0/address").write_text("dc:a6:32:aa:bb:cc\n")
        secret = tmp / "hotspot-password"
        secret.write_text("Hq7xR4mWk2Zp\n")
        self.on_air = False
        self.setup = WifiSetup(
            Wifi(nmcli=FAKE_NMCLI, iw=None, ip=None, root=root),
            Hotspot(nmcli=FAKE_NMCLI, root=root, password_file=secret),
            lambda: not self.on_air,
            settle_s=0,
            grace_s=0,
            sleep=lambda s: None,
        )

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def changes(self) -> list[str]:
        """The commands that change something, shortened: 'connect SSID', 'hotspot', ..."""
        out = []
        for argv in self.calls():
            words = [w for w in argv if not w.startswith("-")]
            if "connect" in argv:
                out.append(f"connect {argv[argv.index('connect') + 1]}")
            elif "hotspot" in words:
                out.append("hotspot")
            elif argv[:3] == ["connection", "down", "id"]:
                out.append(f"down {argv[3]}")
            elif argv[:3] == ["connection", "delete", "id"]:
                out.append(f"delete {argv[3]}")
            elif "list" in argv and argv[argv.index("--rescan") + 1] == "yes":
                out.append("rescan")
        return out


@pytest.mark.parametrize(
    ("scenario", "ssid", "password", "changes", "key", "after"),
    [
        # On a network: a plain connect; the password is one argv element of its own.
        ("wifi", "Neighbour Net", PASSWORD, ["connect Neighbour Net"], "network.job.join.ok",
         "wifi"),
        # From the hotspot: close it, rescan (none in AP mode), then connect.
        ("hotspot", "Neighbour Net", PASSWORD,
         ["down kit-hotspot", "rescan", "connect Neighbour Net"], "network.job.join.ok", "wifi"),
        # Refused by the network while on another: NetworkManager keeps the old link.
        ("wifi", "Neighbour Net", "wrong password", ["connect Neighbour Net"],
         "network.job.join.failed", "wifi"),
        # Refused from the hotspot: the hotspot opens again, nobody is locked out.
        ("hotspot", "Neighbour Net", "wrong password",
         ["down kit-hotspot", "rescan", "connect Neighbour Net", "rescan", "hotspot"],
         "network.job.join.failed_hotspot", "hotspot"),
        # Not in range from the hotspot: same.
        ("hotspot", "Nowhere", PASSWORD,
         ["down kit-hotspot", "rescan", "connect Nowhere", "rescan", "hotspot"],
         "network.job.join.failed_hotspot", "hotspot"),
        # An open network, or one the kit knows: no password argument at all.
        ("wifi", "Open Café", None, ["connect Open Café"], "network.job.join.ok", "wifi"),
    ],
)  # fmt: skip
def test_join(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
    ssid: str,
    password: str | None,
    changes: list[str],
    key: str,
    after: str,
) -> None:
    env = Env(tmp_path, monkeypatch, scenario)
    job = env.setup.join(ssid, password)
    assert job.state == "running" and job.via_hotspot == (scenario == "hotspot")
    done = env.setup.wait(10)
    assert done is not None and done.key == key, done
    assert env.changes() == changes
    assert env.state.read_text() == after
    connect = next(a for a in env.calls() if "connect" in a)
    if password is None:
        assert "password" not in connect
    else:
        assert connect[connect.index("password") + 1] == password
    # The password is in no outcome the page or the log could show.
    assert password is None or password not in repr(done) + done.detail


def test_failed_join_says_why_in_words_the_page_translates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    env.setup.join("Neighbour Net", "wrong password")
    done = env.setup.wait(10)
    assert done is not None and done.state == "failed"
    assert done.reason is not None and done.reason.id == "wifi.join_refused"
    assert "check the password" in done.detail
    assert "wrong password" not in done.detail  # nmcli's own text (it echoes it) is dropped


@pytest.mark.parametrize(
    ("ssid", "password", "key"),
    [
        ("", PASSWORD, "wifi.ssid_empty"),
        ("x" * 33, PASSWORD, "wifi.ssid_long"),
        ("two\nlines", PASSWORD, "wifi.ssid_control"),
        ("Home", "short", "wifi.password_short"),
        ("Home", "p" * 65, "wifi.password_long"),
        ("Home", "pässwörd-long", "wifi.password_chars"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ssid: str, password: str, key: str
) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    with pytest.raises(WifiError) as caught:
        env.setup.join(ssid, password)
    assert caught.value.id == key
    assert password not in str(caught.value)
    assert env.changes() == [] and env.setup.job() is None


def test_nothing_changes_on_air(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    env.on_air = True
    for call in (
        lambda: env.setup.join("Neighbour Net", PASSWORD),
        lambda: env.setup.forget(ODD_SSID),
        lambda: env.setup.close_hotspot(),
        lambda: env.setup.scan(),
    ):
        with pytest.raises(Busy) as caught:
            call()
        assert caught.value.id == "wifi.busy_live"
    assert env.changes() == []


def test_one_change_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    gate = threading.Event()
    env.setup.sleep = lambda s: gate.wait(10)  # the first job waits in its settle time
    env.setup.join("Neighbour Net", PASSWORD)
    with pytest.raises(Busy) as caught:
        env.setup.join("Open Café", None)
    assert caught.value.id == "wifi.busy_job"
    gate.set()
    done = env.setup.wait(10)
    assert done is not None and done.target == "Neighbour Net" and done.state == "ok"


@pytest.mark.parametrize(
    ("scenario", "name", "key", "changes", "after"),
    [
        # The network in use, and no other saved: the kit opens its hotspot.
        ("wifi", ODD_SSID, "network.job.forget.hotspot",
         [f"delete {ODD_SSID}", "rescan", "hotspot"], "hotspot"),
        # A saved network out of range while on Ethernet-less "offline": still stranded.
        ("offline", "Home", "network.job.forget.hotspot", ["delete Home", "rescan", "hotspot"],
         "hotspot"),
    ],
)  # fmt: skip
def test_forget(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
    name: str,
    key: str,
    changes: list[str],
    after: str,
) -> None:
    env = Env(tmp_path, monkeypatch, scenario)
    env.setup.forget(name)
    done = env.setup.wait(10)
    assert done is not None and done.key == key, done
    assert env.changes() == changes
    assert env.state.read_text() == after


@pytest.mark.parametrize("name", ["Nope", HOTSPOT_CONNECTION, "Wired connection 1", "lo"])
def test_forget_only_a_saved_wifi_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    with pytest.raises(WifiError) as caught:
        env.setup.forget(name)
    assert caught.value.id == "wifi.unknown_name"
    assert env.changes() == []


def test_scan_on_the_hotspot_shows_the_list_from_before_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, monkeypatch, "fresh")
    env.setup.open_hotspot()  # the button's 10 s hold: scan first, then open
    assert env.changes() == ["rescan", "hotspot"]
    assert env.state.read_text() == "hotspot"
    scan = env.setup.scan()
    assert scan.cached
    assert {ap.ssid for ap in scan.networks} == {ODD_SSID, "Neighbour Net", "Open Café"}
    assert env.changes() == ["rescan", "hotspot"]  # no scan attempted in AP mode


def test_close_hotspot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = Env(tmp_path, monkeypatch, "hotspot")
    assert env.setup.overview().hotspot_active
    env.setup.close_hotspot()
    done = env.setup.wait(10)
    assert done is not None and done.key == "network.job.hotspot_close.ok"
    assert env.changes() == ["down kit-hotspot"]
    assert not env.setup.overview().hotspot_active


def test_overview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    o = env.setup.overview()
    assert o.saved == [ODD_SSID]  # the hotspot's profile and Ethernet left out
    assert o.in_use == ODD_SSID
    assert not o.hotspot_active and o.hotspot_name == "Kit-BBCC"
    assert o.refusal is None
    assert o.link is not None and o.link.ssid == ODD_SSID


def test_read_only_refuses_every_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = Env(tmp_path, monkeypatch, "wifi")
    env.setup.read_only = WifiError(SIMULATION())
    with pytest.raises(WifiError) as caught:
        env.setup.join("Neighbour Net", PASSWORD)
    assert caught.value.id == "wifi.simulation"
    assert env.changes() == []
