"""The kit's own Wi-Fi hotspot (``Kit-XXXX``), so that a phone can reach the page and join the
kit to a network when it knows none.

The name is derived stably per kit: the last 4 hex digits of wlan0's MAC address
(/sys/class/net/wlan0/address; the Pi's is burnt in), else of /etc/machine-id, else
"Kit-0000". The password is generated per kit by install.sh into /etc/kit/hotspot-password
(mode 0640 root:kit) and printed for the label (hardware/label.svg); there is no default.

nmcli (NetworkManager's src/nmcli/devices.c, ``device wifi hotspot [ifname IF] [con-name
NAME] [ssid SSID] [band a|bg] [channel N] [password PASSWORD]``) creates a profile in AP
mode with ipv4.method "shared" and autoconnect off, or reuses the AP profile of the same
name, and activates it. In shared mode NetworkManager gives the kit 10.42.0.1/24 and runs a
DHCP server for the phones, so the page is at http://10.42.0.1:<port>/ on the hotspot.
``connection down id kit-hotspot`` stops it (the profile stays, still without autoconnect).

The password goes to nmcli as one argv element, never through a shell; it is in no error
message here and nmcli's own messages (which quote an invalid PSK) are not passed on.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kit.messages import define
from kit.net.wifi import (
    NM_NOT_RUNNING,
    NM_TIMEOUT,
    NMCLI_FAILED,
    Nmcli,
    NmcliError,
    WifiError,
    check_password,
    check_ssid,
    no_wifi_device,
    split_terse,
)

HOTSPOT_CONNECTION = "kit-hotspot"  # the NetworkManager profile's name
HOTSPOT_ADDRESS = "10.42.0.1"  # NetworkManager's shared mode (ipv4.method shared)
PASSWORD_FILE = Path("/etc/kit/hotspot-password")
# install.sh draws 12 characters from this alphabet: no 0/O, 1/l/I to misread on a label.
PASSWORD_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
PASSWORD_LENGTH = 12
DEFAULT_NAME = "Kit-0000"

SYS_NET = Path("sys/class/net")
MACHINE_ID = Path("etc/machine-id")
CONNECTION_FIELDS = ("NAME", "TYPE")
# nmcli prints a profile's type as its setting name in terse mode; the short aliases too.
WIFI_TYPES = {"802-11-wireless", "wifi"}
ETHERNET_TYPES = {"802-3-ethernet", "ethernet"}

# nmcli's exit codes (nmcli(1), "Exit Status") for the hotspot's commands.
_NMCLI_EXIT = {
    3: NM_TIMEOUT,
    4: define("wifi.hotspot_failed", "the hotspot could not be started on the Wi-Fi device"),
    8: NM_NOT_RUNNING,
    10: define("wifi.no_wifi_device", "no Wi-Fi device to open the hotspot on"),
}
NOT_CLOSED = define("wifi.hotspot_not_closed", "NetworkManager refused to close the hotspot")
NO_NMCLI = define("wifi.hotspot_no_nmcli", "NetworkManager (nmcli) is not installed: no hotspot")
# The file's path is no secret; its content never goes into a message.
PASSWORD_MISSING = define(
    "wifi.hotspot_password_missing",
    "the hotspot has no password: {path} is missing (run install.sh again)",
)
PASSWORD_UNREADABLE = define(
    "wifi.hotspot_password_unreadable", "the hotspot's password cannot be read from {path}"
)
PASSWORD_INVALID = define(
    "wifi.hotspot_password_invalid",
    "the hotspot's password in {path} is not a valid WPA password (run install.sh "
    "again after removing it)",
)


class HotspotError(WifiError):
    """The hotspot cannot be started or read; the message never holds the password."""


# -- pure -----------------------------------------------------------------------------

_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_MACHINE_ID = re.compile(r"[0-9a-f]{32}")


def hotspot_name(mac: str | None, machine_id: str | None = None) -> str:
    """``Kit-XXXX`` from the last 4 hex digits of the MAC address, else of the machine id."""
    mac = (mac or "").strip().lower()
    if _MAC.fullmatch(mac) and mac not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        return "Kit-" + mac.replace(":", "")[-4:].upper()
    machine_id = (machine_id or "").strip().lower()
    if _MACHINE_ID.fullmatch(machine_id) and set(machine_id) != {"0"}:
        return "Kit-" + machine_id[-4:].upper()
    return DEFAULT_NAME


def page_url(port: int = 8080, host: str = HOTSPOT_ADDRESS) -> str:
    """The page's address while the phone is on the hotspot."""
    return f"http://{host}:{port}/"


@dataclass(frozen=True)
class Connection:
    name: str
    type: str  # "802-11-wireless", "802-3-ethernet", "loopback", "bridge", ...

    @property
    def is_wifi(self) -> bool:
        return self.type in WIFI_TYPES

    @property
    def is_hotspot(self) -> bool:
        return self.name == HOTSPOT_CONNECTION


def parse_connections(text: str) -> list[Connection]:
    """``nmcli -t -e yes -f NAME,TYPE connection show [--active]`` (terse tabular)."""
    rows = (split_terse(line) for line in text.splitlines() if line)
    return [Connection(*row) for row in rows if len(row) == len(CONNECTION_FIELDS)]


def should_open_at_boot(known: Iterable[Connection], active: Iterable[Connection]) -> bool:
    """Open the hotspot when the kit knows no Wi-Fi network and nothing connects it: no
    active connection (Ethernet, Wi-Fi, anything but loopback and the hotspot itself) and no
    saved Wi-Fi profile. A saved network that is out of range does not open it: the 10 s hold
    of the button does."""
    if any(c.type != "loopback" and not c.is_hotspot for c in active):
        return False
    return not any(c.is_wifi and not c.is_hotspot for c in known)


def connections_argv(active: bool = False) -> list[str]:
    argv = ["-t", "-e", "yes", "-f", ",".join(CONNECTION_FIELDS), "connection", "show"]
    return argv + (["--active"] if active else [])


def start_argv(ssid: str, password: str, ifname: str = "wlan0") -> list[str]:
    """nmcli's arguments to open the hotspot (each value checked, each one argument)."""
    check_ssid(ssid)
    check_password(password)
    return [
        "-w", "30", "device", "wifi", "hotspot", "ifname", ifname, "con-name", HOTSPOT_CONNECTION,
        "ssid", ssid, "band", "bg", "password", password,
    ]  # fmt: skip


def stop_argv() -> list[str]:
    # "id" so that the name is taken as a name, as in kit.net.wifi.forget_argv.
    return ["connection", "down", "id", HOTSPOT_CONNECTION]


# -- reading files ----------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def read_hotspot_name(root: Path = Path("/"), ifname: str = "wlan0") -> str:
    return hotspot_name(_read(root / SYS_NET / ifname / "address"), _read(root / MACHINE_ID))


def read_password(path: Path = PASSWORD_FILE) -> str:
    """The hotspot's password from the file install.sh writes (one line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HotspotError(PASSWORD_MISSING(path=path)) from None
    except (OSError, UnicodeDecodeError):
        raise HotspotError(PASSWORD_UNREADABLE(path=path)) from None
    password = text.rstrip("\r\n")
    try:
        check_password(password)
    except WifiError:
        raise HotspotError(PASSWORD_INVALID(path=path)) from None
    return password


# -- running nmcli ----------------------------------------------------------------------


@dataclass(frozen=True)
class HotspotInfo:
    ssid: str
    address: str  # the kit's address on the hotspot

    def url(self, port: int = 8080) -> str:
        return page_url(port, self.address)


class Hotspot:
    """Opens and closes the kit's hotspot through nmcli (a path or a name; the tests use
    tests/peers/fake_nmcli/nmcli). `root` is where /sys and /etc/machine-id are read."""

    def __init__(
        self,
        nmcli: str = "nmcli",
        root: Path = Path("/"),
        password_file: Path = PASSWORD_FILE,
        ifname: str = "wlan0",
        timeout: float = 5.0,
    ) -> None:
        self.nmcli = Nmcli(nmcli, timeout)
        self.root = root
        self.password_file = password_file
        self.ifname = ifname

    def __repr__(self) -> str:
        return f"Hotspot(ifname={self.ifname!r}, password_file={str(self.password_file)!r})"

    @property
    def ssid(self) -> str:
        return read_hotspot_name(self.root, self.ifname)

    def _run(self, argv: Sequence[str], timeout: float) -> str:
        if not self.nmcli.available():
            raise HotspotError(NO_NMCLI())
        try:
            return self.nmcli.run(argv, timeout=timeout)
        except NmcliError as e:
            # nmcli's text may quote the password ("'...' is not valid WPA PSK"): not shown.
            if no_wifi_device(e):
                raise HotspotError(_NMCLI_EXIT[10]()) from None
            known = _NMCLI_EXIT.get(e.returncode)
            raise HotspotError(known() if known else NMCLI_FAILED(code=e.returncode)) from None

    def connections(self, active: bool = False) -> list[Connection]:
        return parse_connections(self._run(connections_argv(active), timeout=10))

    def is_active(self) -> bool:
        return any(c.is_hotspot for c in self.connections(active=True))

    def should_open_at_boot(self) -> bool:
        return should_open_at_boot(self.connections(), self.connections(active=True))

    def start(self) -> HotspotInfo:
        """Open the hotspot (switching wlan0 from any network it is on). HotspotError says
        why not, without the password."""
        ssid = self.ssid
        password = read_password(self.password_file)
        try:
            argv = start_argv(ssid, password, self.ifname)
        except WifiError as e:  # the name; the password was checked when read
            raise HotspotError(e.message) from None
        self._run(argv, timeout=45)
        return HotspotInfo(ssid, HOTSPOT_ADDRESS)

    def stop(self) -> bool:
        """Close the hotspot; False when it was not open."""
        if not self.is_active():
            return False
        said = self._run(stop_argv(), timeout=20)
        # A refused deactivation is said on stdout with exit status 0 (NetworkManager 1.42).
        if "deactivation failed" in said:
            raise HotspotError(NOT_CLOSED())
        return True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kit.net.hotspot name [--root DIR]``: the hotspot's name (install.sh)."""
    parser = argparse.ArgumentParser(prog="python -m kit.net.hotspot")
    parser.add_argument("what", choices=["name"])
    parser.add_argument("--root", type=Path, default=Path("/"))
    args = parser.parse_args(argv)
    print(read_hotspot_name(args.root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
