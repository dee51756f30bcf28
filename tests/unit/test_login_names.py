"""The login page names the kit (its hostname, its hotspot's Kit-XXXX where known), in the
visitor's language, so that a creator sees the page is their kit's."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.api import auth
from kit.net.hotspot import Hotspot
from kit.net.wifi import Wifi
from kit.net.wifisetup import WifiSetup
from tests.unit.test_web_routes import PASSWORD, Kit


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)
    auth.set_password(k.state, PASSWORD)
    yield k
    k.close()


def login_page(kit: Kit, lang: str = "en") -> str:
    r = kit.app.test_client().get("/login", headers={"Accept-Language": lang})
    assert r.status_code == 200
    return r.text


def test_the_hostname_by_default(kit: Kit) -> None:
    host = socket.gethostname()
    assert f"This is the kit {host}." in login_page(kit)
    assert f"Det här är kitet {host}." in login_page(kit, "sv")


def test_the_hotspot_name_where_the_kit_has_one(kit: Kit, tmp_path: Path) -> None:
    # The Pi's Wi-Fi MAC address, as /sys shows it: Kit- and its last four hex digits.
    root = tmp_path / "root"
    (root / "sys/class/net/wlan0").mkdir(parents=True)
    (root / "sys/class/net/wlan0/address").write_text("dc:a6:32:12:ab:cd\n")
    wifi = Wifi(nmcli=None, iw=None, ip=None, root=root)
    kit.deps.network = WifiSetup(wifi, Hotspot("nmcli", root=root), lambda: True)
    host = socket.gethostname()
    assert f"This is the kit {host} (its own Wi-Fi: Kit-ABCD)." in login_page(kit)
    assert f"Det här är kitet {host} (dess eget Wi-Fi: Kit-ABCD)." in login_page(kit, "sv")


def test_names_are_escaped(kit: Kit) -> None:
    kit.deps.names = lambda: {"host": "<b>kit</b>"}
    page = login_page(kit)
    assert "This is the kit &lt;b&gt;kit&lt;/b&gt;." in page
