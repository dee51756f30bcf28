"""Wi-Fi and Ethernet status, and joining a Wi-Fi network, through NetworkManager.

NetworkManager is what Raspberry Pi OS Bookworm runs, so ``nmcli`` is the main source. Its
terse output (``-t``), as printed by ``_print_do`` in NetworkManager's src/nmcli/utils.c:

- tabular (``device status``, ``device wifi list``): one line per row, columns joined by ':';
  with ``-e yes`` (the default, passed anyway) every ':' and '\\' inside a value is escaped
  with '\\'. So an SSID ``a:b\\c`` arrives as ``a\\:b\\\\c``. An empty value is empty
  (only the human-readable modes print "--").
- multiline (``device show``, ``connection show <id>``): ``NAME:value`` per line, never
  escaped (the name has no ':', so split at the first one); list values as ``NAME[1]:...``.

Numbers and words depend on the locale ("MHz", "Mbit/s", "yes"), so nmcli runs with
LC_ALL=C.UTF-8 (plain C would turn every non-ASCII character of a name into "?").
nmcli's SIGNAL is a percentage, not dBm; the dBm come from ``iw dev <if> link`` or, without
iw, from /proc/net/wireless (the kernel's wireless-extensions table, which the
Pi's brcmfmac driver fills through cfg80211).

Without NetworkManager the readers fall back to files: the default route from
/proc/net/route, the signal from /proc/net/wireless, rfkill from /sys/class/rfkill.

The Wi-Fi country: a new Pi's Wi-Fi is rfkill-blocked until a country is set (Raspberry Pi
OS's /etc/profile.d/wifi-check.sh says so at login). On Bookworm ``raspi-config nonint
do_wifi_country XX`` runs ``iw reg set XX`` and writes ``cfg80211.ieee80211_regdom=XX`` to
the kernel command line; its ``get_wifi_country`` asks wpa_cli on older releases. So the
country is read from ``iw reg get`` (the regulatory domain in force; "00" is the unset
world domain), else from /proc/cmdline. The block itself is read from
/sys/class/rfkill/*/soft and hard for the "wlan" entries: files, no tool, no root.

Joining: the SSID and the password go to nmcli as argv elements of their own, never through
a shell, after being checked here, and error messages never contain the password. (nmcli
itself has no other way to take it non-interactively short of a file; any process of the
same user can read a process's argv while nmcli runs, which on the kit is the kit alone.)
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import string
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from kit.messages import Message, define

PROC_ROUTE = Path("proc/net/route")
PROC_WIRELESS = Path("proc/net/wireless")
PROC_CMDLINE = Path("proc/cmdline")
SYS_NET = Path("sys/class/net")
SYS_RFKILL = Path("sys/class/rfkill")

# The fields the kit asks nmcli for; the parsers below expect exactly these, in this order.
STATUS_FIELDS = ("DEVICE", "TYPE", "STATE", "CONNECTION")
LIST_FIELDS = ("ACTIVE", "SSID", "BSSID", "SIGNAL", "FREQ", "RATE", "SECURITY")
SHOW_FIELDS = ("GENERAL.TYPE", "GENERAL.STATE", "GENERAL.CONNECTION", "IP4.ADDRESS", "IP4.GATEWAY")
POWERSAVE_FIELD = "802-11-wireless.powersave"

NM_TIMEOUT = define("wifi.nm_timeout", "NetworkManager did not answer in time")
NM_NOT_RUNNING = define("wifi.nm_not_running", "NetworkManager is not running")
NMCLI_FAILED = define("wifi.nmcli_failed", "nmcli failed (exit code {code})")
# nmcli's exit codes (nmcli(1), "Exit Status") that a person can act on.
NO_DEVICE = define(
    "wifi.no_device", "the kit has no Wi-Fi device: check that its Wi-Fi is not switched off"
)
_NMCLI_EXIT = {
    3: NM_TIMEOUT,
    4: define(
        "wifi.join_refused",
        "the network refused to connect: check the password and that the kit is in range",
    ),
    8: NM_NOT_RUNNING,
    10: define(
        "wifi.no_such_network", "no such network: check the name and that the kit is in range"
    ),
}
NO_NMCLI = define(
    "wifi.no_nmcli", "NetworkManager (nmcli) is not installed: Wi-Fi cannot be set up"
)
SIMULATION = define("wifi.simulation", "simulation: the kit does not change this computer's Wi-Fi")
SSID_EMPTY = define("wifi.ssid_empty", "the Wi-Fi name is empty")
SSID_LONG = define(
    "wifi.ssid_long", "the Wi-Fi name is {size} bytes long; Wi-Fi names have at most 32"
)
SSID_CONTROL = define(
    "wifi.ssid_control", "the Wi-Fi name contains a control character or a line break"
)
PASSWORD_CHARS = define(
    "wifi.password_chars",
    "the Wi-Fi password contains a character other than plain ASCII letters, digits, "
    "punctuation and spaces: type it again",
)
PASSWORD_SHORT = define(
    "wifi.password_short", "the Wi-Fi password has {n} characters; WPA passwords have at least 8"
)
PASSWORD_LONG = define(
    "wifi.password_long",
    "the Wi-Fi password has {n} characters; WPA passwords have at most 63 "
    "(or exactly 64 hexadecimal digits)",
)
NAME_BAD = define(
    "wifi.name_bad", "the saved network's name is empty or contains a control character"
)


class WifiError(ValueError):
    """A Wi-Fi request that cannot be done; the message says why and never holds a password.

    ``str(e)`` is the English sentence (logs, the CLI); ``e.message`` is the same with its
    id and values (kit.messages), which the page shows from ``error.<id>`` in the
    visitor's language."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message

    @property
    def id(self) -> str:
        """The message's id ("wifi.ssid_empty"); "" for English without one."""
        return self.message.id


# -- parsers (pure) -----------------------------------------------------------------


def split_terse(line: str) -> list[str]:
    """One line of nmcli's terse tabular output (``-t -e yes``) into its values."""
    values: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for c in chars:
        if c == "\\":
            current.append(next(chars, "\\"))  # nmcli escapes only ':' and '\'
        elif c == ":":
            values.append("".join(current))
            current = []
        else:
            current.append(c)
    values.append("".join(current))
    return values


def _rows(text: str, width: int) -> list[list[str]]:
    """The rows of terse tabular output that have `width` values (others are not ours)."""
    rows = (split_terse(line) for line in text.splitlines() if line)
    return [row for row in rows if len(row) == width]


def parse_multiline(text: str) -> dict[str, list[str]]:
    """nmcli's terse multiline output: ``NAME:value`` or ``NAME[n]:value`` lines, unescaped."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            continue
        out.setdefault(re.sub(r"\[\d+\]$", "", name), []).append(value)
    return out


@dataclass(frozen=True)
class Device:
    name: str
    type: str  # "wifi", "ethernet", "loopback", "wifi-p2p", ...
    state: str  # "connected", "disconnected", "unavailable", "connecting (...)", ...
    connection: str  # the connection profile's name; "" when none

    @property
    def connected(self) -> bool:
        return self.state.startswith("connected")


def parse_device_status(text: str) -> list[Device]:
    """``nmcli -t -e yes -f DEVICE,TYPE,STATE,CONNECTION device status``."""
    return [Device(*row) for row in _rows(text, len(STATUS_FIELDS))]


def band(freq_mhz: int | None) -> str | None:
    """The Wi-Fi band of a channel's centre frequency."""
    if freq_mhz is None:
        return None
    if 2400 <= freq_mhz < 2500:
        return "2.4 GHz"
    if 4900 <= freq_mhz < 5900:
        return "5 GHz"
    if 5925 <= freq_mhz <= 7125:
        return "6 GHz"
    return None


@dataclass(frozen=True)
class AccessPoint:
    ssid: str  # "" for a hidden network
    bssid: str
    signal_percent: int | None
    freq_mhz: int | None
    rate_mbps: int | None  # the access point's maximum rate, not the link's
    security: str  # "WPA2", "WPA1 WPA2", "WPA3", "" for an open network
    active: bool

    @property
    def band(self) -> str | None:
        return band(self.freq_mhz)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "band": self.band}


def _leading_int(text: str) -> int | None:
    """'5180 MHz' -> 5180, '270 Mbit/s' -> 270, '72' -> 72, '' -> None."""
    m = re.match(r"\s*(\d+)", text)
    return int(m.group(1)) if m else None


def parse_wifi_list(text: str) -> list[AccessPoint]:
    """``nmcli -t -e yes -f ACTIVE,SSID,BSSID,SIGNAL,FREQ,RATE,SECURITY device wifi list``.

    FREQ is "%u MHz", RATE "%u Mbit/s", SIGNAL "%u" (0-100) in src/nmcli/devices.c.
    """
    return [
        AccessPoint(
            ssid=ssid,
            bssid=bssid,
            signal_percent=_leading_int(signal),
            freq_mhz=_leading_int(freq),
            rate_mbps=_leading_int(rate),
            security="" if security == "--" else security,
            active=active == "yes",
        )
        for active, ssid, bssid, signal, freq, rate, security in _rows(text, len(LIST_FIELDS))
    ]


@dataclass(frozen=True)
class DeviceInfo:
    type: str | None
    state: str | None  # "100 (connected)"
    connection: str | None
    address: str | None  # "192.168.1.23/24"
    gateway: str | None


def parse_device_show(text: str) -> DeviceInfo:
    """``nmcli -t -f GENERAL.TYPE,GENERAL.STATE,GENERAL.CONNECTION,IP4.ADDRESS,IP4.GATEWAY
    device show <if>`` (multiline: IP4.ADDRESS[1]:..., first address wins)."""
    values = parse_multiline(text)

    def first(name: str) -> str | None:
        found = [v for v in values.get(name, []) if v and v != "--"]
        return found[0] if found else None

    return DeviceInfo(
        type=first("GENERAL.TYPE"),
        state=first("GENERAL.STATE"),
        connection=first("GENERAL.CONNECTION"),
        address=first("IP4.ADDRESS"),
        gateway=first("IP4.GATEWAY"),
    )


def parse_powersave_setting(text: str) -> bool | None:
    """``nmcli -t -f 802-11-wireless.powersave connection show id <name>``: terse mode
    prints the name ("enable" on, "disable" off), the pretty mode "3 (enable)"; both are
    read. "default" and "ignore" leave it to the global default or the driver, which this
    cannot tell."""
    value = parse_multiline(text).get(POWERSAVE_FIELD, [""])[0].strip()
    word = value.split("(", 1)[1].rstrip(")") if "(" in value else value
    return {"enable": True, "3": True, "disable": False, "2": False}.get(word.strip())


def parse_iw_power_save(text: str) -> bool | None:
    """``iw dev <if> get power_save``: "Power save: on"."""
    m = re.search(r"Power save:\s*(on|off)", text)
    return None if m is None else m.group(1) == "on"


def parse_iw_reg(text: str) -> str | None:
    """``iw reg get``: the first "country XX: ..." line (the global domain); None for the
    unset world domain "00"."""
    m = re.search(r"^country ([A-Z0-9]{2}):", text, re.MULTILINE)
    return None if m is None or m.group(1) == "00" else m.group(1)


def parse_cmdline_country(text: str) -> str | None:
    """``cfg80211.ieee80211_regdom=XX`` on the kernel command line (raspi-config's)."""
    m = re.search(r"(?:^|\s)cfg80211\.ieee80211_regdom=([A-Za-z]{2})(?:\s|$)", text)
    return m.group(1).upper() if m and m.group(1) != "00" else None


def _unescape_iw(ssid: str) -> str:
    """iw prints SSID bytes it deems unprintable as \\xHH."""
    raw = ssid.encode("utf-8", "surrogateescape")
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class IwLink:
    ssid: str | None
    freq_mhz: int | None
    signal_dbm: int | None
    tx_rate_mbps: float | None


def parse_iw_link(text: str) -> IwLink | None:
    """``iw dev <if> link``; None when "Not connected."."""
    if not text.startswith("Connected to"):
        return None

    def field(name: str) -> str | None:
        m = re.search(rf"^\s*{name}:\s*(.*)$", text, re.MULTILINE)
        return m.group(1).strip() if m else None

    ssid, freq, signal, tx = field("SSID"), field("freq"), field("signal"), field("tx bitrate")
    signal_m = re.match(r"(-?\d+)", signal or "")
    tx_m = re.match(r"([\d.]+) MBit/s", tx or "")
    return IwLink(
        ssid=_unescape_iw(ssid) if ssid is not None else None,
        freq_mhz=round(float(freq)) if freq and re.fullmatch(r"[\d.]+", freq) else None,
        signal_dbm=int(signal_m.group(1)) if signal_m else None,
        tx_rate_mbps=float(tx_m.group(1)) if tx_m else None,
    )


def parse_proc_wireless(text: str) -> dict[str, int]:
    """/proc/net/wireless: the signal level in dBm per interface (the "level" column,
    printed with a trailing '.'). Two header lines, then ``wlan0: 0000   70.  -40.  -256 ...``.
    """
    levels: dict[str, int] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or len(parts) < 3:
            continue
        try:
            level = int(float(parts[2].rstrip(".")))
        except ValueError:
            continue
        if level < 0:  # a positive level is a driver's unsigned relative value, not dBm
            levels[name.strip()] = level
    return levels


@dataclass(frozen=True)
class Route:
    interface: str
    gateway: str


def parse_proc_route(text: str) -> Route | None:
    """The default route with the lowest metric from /proc/net/route (hex, little-endian)."""
    best: tuple[int, Route] | None = None
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 8 or parts[1] != "00000000" or parts[7] != "00000000":
            continue
        try:
            flags, metric = int(parts[3], 16), int(parts[6])
            gateway = str(ipaddress.IPv4Address(int(parts[2], 16).to_bytes(4, "little")))
        except ValueError:
            continue
        if not flags & 0x1:  # RTF_UP
            continue
        if best is None or metric < best[0]:
            best = (metric, Route(parts[0], gateway))
    return best[1] if best else None


def parse_ip_addr(text: str) -> str | None:
    """``ip -o -4 addr show dev <if>``: the first "inet 192.168.1.23/24"."""
    m = re.search(r"\binet (\d+\.\d+\.\d+\.\d+/\d+)", text)
    return m.group(1) if m else None


# -- validation (pure) --------------------------------------------------------------


def check_ssid(ssid: str) -> None:
    """Raise WifiError unless `ssid` is 1 to 32 bytes of UTF-8 without control characters."""
    if not ssid:
        raise WifiError(SSID_EMPTY())
    size = len(ssid.encode("utf-8", "surrogatepass"))
    if size > 32:
        raise WifiError(SSID_LONG(size=size))
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in ssid):
        raise WifiError(SSID_CONTROL())


_HEX = set(string.hexdigits)


def check_password(password: str) -> None:
    """Raise WifiError unless `password` is a WPA passphrase (8 to 63 printable ASCII
    characters) or a raw key (64 hex digits). The message never contains the password."""
    n = len(password)
    if n == 64 and set(password) <= _HEX:
        return
    if any(not 0x20 <= ord(c) <= 0x7E for c in password):
        raise WifiError(PASSWORD_CHARS())
    if n < 8:
        raise WifiError(PASSWORD_SHORT(n=n))
    if n > 63:
        raise WifiError(PASSWORD_LONG(n=n))


def scan_argv(ifname: str | None = None, rescan: bool = True) -> list[str]:
    argv = ["-t", "-e", "yes", "-f", ",".join(LIST_FIELDS), "device", "wifi", "list"]
    argv += ["--rescan", "yes" if rescan else "no"]
    return argv + (["ifname", ifname] if ifname else [])


def join_argv(ssid: str, password: str | None, ifname: str | None = None) -> list[str]:
    """nmcli's arguments to join `ssid` (checked first); None for an open network."""
    check_ssid(ssid)
    argv = ["-w", "45", "device", "wifi", "connect", ssid]
    if password is not None:
        check_password(password)
        argv += ["password", password]
    return argv + (["ifname", ifname] if ifname else [])


def forget_argv(name: str) -> list[str]:
    """nmcli's arguments to delete the saved network `name` (a profile name, which is the
    SSID for networks joined here, but may be longer than 32 bytes)."""
    if not name or any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise WifiError(NAME_BAD())
    # "id" so that a name that looks like a UUID or a D-Bus path is still taken as a name.
    return ["connection", "delete", "id", name]


def no_wifi_device(e: NmcliError) -> bool:
    """nmcli's "No Wi-Fi device found." / "Device 'wlan0' is not a Wi-Fi device." (exit 1,
    seen with NetworkManager 1.42): the only case read from its text, which is otherwise
    never passed on (it may quote a password)."""
    return e.returncode in (1, 10) and "Wi-Fi device" in e.stderr


# -- running nmcli ------------------------------------------------------------------


class NmcliError(Exception):
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"nmcli exited with {returncode}: {self.stderr}")


class Nmcli:
    """nmcli at a configurable path (tests use tests/peers/fake_nmcli/nmcli)."""

    def __init__(self, binary: str = "nmcli", timeout: float = 5.0) -> None:
        self.binary = binary
        self.timeout = timeout

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def run(self, argv: Sequence[str], timeout: float | None = None) -> str:
        """nmcli's stdout; NmcliError on a non-zero exit, a timeout or a missing binary."""
        try:
            done = subprocess.run(
                [self.binary, *argv],
                capture_output=True,
                timeout=timeout or self.timeout,
                check=False,
                # C.UTF-8, not C: the same words and numbers, but in C nmcli prints every
                # non-ASCII character of a name as "?" (seen with NetworkManager 1.42), and
                # a network listed as "Caf?" could not be forgotten by that name.
                env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise NmcliError(3, "timed out") from None
        except OSError as e:
            raise NmcliError(127, e.strerror or "cannot run nmcli") from None
        # nmcli prints SSIDs as UTF-8 (nm_utils_ssid_to_utf8); anything else is replaced.
        if done.returncode != 0:
            raise NmcliError(done.returncode, done.stderr.decode("utf-8", "replace"))
        return done.stdout.decode("utf-8", "replace")


def _run_tool(argv: Sequence[str], timeout: float) -> str | None:
    """A helper tool's stdout, or None when it is missing, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    env = {**os.environ, "LC_ALL": "C"}
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            timeout=timeout,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


# -- status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Radio:
    country: str | None  # None: not set (or cannot be read)
    soft_blocked: bool | None  # None: no Wi-Fi rfkill entry
    hard_blocked: bool | None

    @property
    def blocked(self) -> bool:
        return bool(self.soft_blocked or self.hard_blocked)


@dataclass(frozen=True)
class LinkStatus:
    """The link the kit's traffic leaves by, and what can be said about it."""

    kind: Literal["wifi", "ethernet", "none"]
    interface: str | None
    source: Literal["networkmanager", "kernel", "none"]  # where the answers came from
    ssid: str | None = None
    signal_dbm: int | None = None
    signal_percent: int | None = None
    rate_mbps: float | None = None  # the link's transmit rate now (iw)
    max_rate_mbps: int | None = None  # the access point's maximum (nmcli)
    freq_mhz: int | None = None
    address: str | None = None
    gateway: str | None = None
    power_save: bool | None = None
    radio: Radio = Radio(None, None, None)

    @property
    def band(self) -> str | None:
        return band(self.freq_mhz)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["band"] = self.band
        d["radio"] = {**asdict(self.radio), "blocked": self.radio.blocked}
        return d


class Wifi:
    """Reads the link status and joins, scans and forgets networks.

    `nmcli`, `iw` and `ip` are paths or names (None: do not use); `root` is where /proc and
    /sys are read (a tree of real files in the tests). Nothing here raises while reading:
    what cannot be read is None. Each tool call has `timeout`; callers that need one
    deadline for all of them run status() under one (kit.net.checks does).
    """

    def __init__(
        self,
        nmcli: str | None = "nmcli",
        iw: str | None = "iw",
        root: Path = Path("/"),
        timeout: float = 3.0,
        ip: str | None = "ip",
    ) -> None:
        self.nmcli = Nmcli(nmcli, timeout) if nmcli else None
        self.iw = iw
        self.ip = ip
        self.root = root
        self.timeout = timeout

    # -- reading

    def _nm(self, argv: Sequence[str]) -> str | None:
        if self.nmcli is None or not self.nmcli.available():
            return None
        try:
            return self.nmcli.run(argv)
        except NmcliError:
            return None

    def _iw(self, *args: str) -> str | None:
        return _run_tool([self.iw, *args], self.timeout) if self.iw else None

    def devices(self) -> list[Device] | None:
        """NetworkManager's devices, or None without NetworkManager."""
        text = self._nm(["-t", "-e", "yes", "-f", ",".join(STATUS_FIELDS), "device", "status"])
        return None if text is None else parse_device_status(text)

    def radio(self) -> Radio:
        soft = hard = None
        for entry in sorted((self.root / SYS_RFKILL).glob("rfkill*")):
            if (_read(entry / "type") or "").strip() != "wlan":
                continue
            soft = soft or (_read(entry / "soft") or "").strip() == "1"
            hard = hard or (_read(entry / "hard") or "").strip() == "1"
        reg = self._iw("reg", "get")
        country = parse_iw_reg(reg) if reg is not None else None
        if country is None:
            country = parse_cmdline_country(_read(self.root / PROC_CMDLINE) or "")
        return Radio(country, soft, hard)

    def _is_wireless(self, name: str, devices: list[Device] | None, levels: dict[str, int]) -> bool:
        if devices is not None and any(d.name == name and d.type == "wifi" for d in devices):
            return True
        return name in levels or (self.root / SYS_NET / name / "wireless").is_dir()

    def status(self) -> LinkStatus:
        devices = self.devices()
        route = parse_proc_route(_read(self.root / PROC_ROUTE) or "")
        levels = parse_proc_wireless(_read(self.root / PROC_WIRELESS) or "")
        radio = self.radio()
        source: Literal["networkmanager", "kernel", "none"] = (
            "networkmanager" if devices is not None else "kernel" if route or levels else "none"
        )
        name = route.interface if route else None
        if name is None and devices:
            name = next((d.name for d in devices if d.connected and d.type != "loopback"), None)
        if name is None:
            return LinkStatus("none", None, source, radio=radio)

        info = DeviceInfo(None, None, None, None, None)
        if devices is not None:
            show = self._nm(["-t", "-f", ",".join(SHOW_FIELDS), "device", "show", name])
            info = parse_device_show(show) if show is not None else info
        address = info.address
        if address is None and self.ip:
            shown = _run_tool([self.ip, "-o", "-4", "addr", "show", "dev", name], self.timeout)
            address = parse_ip_addr(shown or "")
        gateway = info.gateway or (route.gateway if route else None)

        if not self._is_wireless(name, devices, levels):
            return LinkStatus(
                "ethernet", name, source, address=address, gateway=gateway, radio=radio
            )

        ap = None
        if devices is not None:
            aps = parse_wifi_list(self._nm(scan_argv(name, rescan=False)) or "")
            ap = next((a for a in aps if a.active), None)
        link_text = self._iw("dev", name, "link")
        link = parse_iw_link(link_text) if link_text is not None else None
        power_text = self._iw("dev", name, "get", "power_save")
        power_save = parse_iw_power_save(power_text) if power_text is not None else None
        if power_save is None and info.connection:
            argv = ["-t", "-f", POWERSAVE_FIELD, "connection", "show", "id", info.connection]
            setting = self._nm(argv)
            power_save = parse_powersave_setting(setting) if setting is not None else None
        signal_dbm = link.signal_dbm if link and link.signal_dbm is not None else levels.get(name)
        return LinkStatus(
            kind="wifi",
            interface=name,
            source=source,
            ssid=ap.ssid if ap else (link.ssid if link else None),
            signal_dbm=signal_dbm,
            signal_percent=ap.signal_percent if ap else None,
            rate_mbps=link.tx_rate_mbps if link else None,
            max_rate_mbps=ap.rate_mbps if ap else None,
            freq_mhz=ap.freq_mhz if ap and ap.freq_mhz else (link.freq_mhz if link else None),
            address=address,
            gateway=gateway,
            power_save=power_save,
            radio=radio,
        )

    # -- changing

    def _require_nmcli(self) -> Nmcli:
        if self.nmcli is None or not self.nmcli.available():
            raise WifiError(NO_NMCLI())
        return self.nmcli

    def _change(self, argv: list[str], timeout: float) -> str:
        try:
            return self._require_nmcli().run(argv, timeout=timeout)
        except NmcliError as e:
            # nmcli's own message may quote the command line, password included: not shown.
            if no_wifi_device(e):
                raise WifiError(NO_DEVICE()) from None
            known = _NMCLI_EXIT.get(e.returncode)
            raise WifiError(known() if known else NMCLI_FAILED(code=e.returncode)) from None

    def scan(self, ifname: str | None = None) -> list[AccessPoint]:
        """Visible networks, strongest first, one entry per SSID (hidden ones left out)."""
        text = self._change(scan_argv(ifname, rescan=True), timeout=30)
        best: dict[str, AccessPoint] = {}
        for ap in parse_wifi_list(text):
            if ap.ssid and (ap.ssid not in best or _stronger(ap, best[ap.ssid])):
                best[ap.ssid] = ap
        return sorted(best.values(), key=lambda a: -(a.signal_percent or 0))

    def join(self, ssid: str, password: str | None = None, ifname: str | None = None) -> None:
        """Connect to `ssid` and keep it as a saved network. WifiError says why not."""
        self._change(join_argv(ssid, password, ifname), timeout=60)

    def forget(self, name: str) -> None:
        """Delete the saved network (connection profile) called `name`."""
        self._change(forget_argv(name), timeout=15)


def _stronger(a: AccessPoint, b: AccessPoint) -> bool:
    return a.active or (not b.active and (a.signal_percent or 0) > (b.signal_percent or 0))
