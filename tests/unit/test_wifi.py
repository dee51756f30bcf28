"""kit.net.wifi: the parsers as tables, the checks of names and passwords, and the reader and
the join/scan/forget calls against tests/peers/fake_nmcli/nmcli on a tree of real files.

Where each output format comes from (no NetworkManager runs in the test sandbox, so these are
written to the formats of the tools' own source and manuals, not recorded from a daemon):

- nmcli terse tabular (device status, device wifi list): NetworkManager src/nmcli/utils.c,
  `_print_do`: values joined by ':', each ':' and '\\' in a value escaped with '\\' when
  --escape is yes (nmcli(1): "-e | --escape yes|no ... If omitted, default is yes"). Empty
  values stay empty: "--" is printed only in the normal and pretty modes (`_print_fill`).
- nmcli terse multiline (device show, connection show <id>): the same function, `NAME:value`
  with no escaping and list values as `NAME[1]:value`.
- device wifi list columns: src/nmcli/devices.c prints FREQ "%u MHz", RATE "%u Mbit/s",
  SIGNAL "%u"; SECURITY joins "WEP", "WPA1", "WPA2", "WPA3", "802.1X" with spaces.
- 802-11-wireless.powersave: "<name>" with -t, "<n> (<name>)" without; 0 default, 1 ignore,
  2 disable, 3 enable (nm-settings-nmcli(5)); "2 (disable)" and "0 (default)" are what users
  post from `nmcli connection show <name>`.
- iw dev <if> link / get power_save / reg get: iw's link.c ("Connected to ...", "\\tSSID:",
  "\\tfreq:", "\\tsignal: %d dBm", "\\ttx bitrate: %s"), "Power save: on", and reg.c
  ("global" or "phy#0", then "country %c%c: %s" with DFS-UNSET/DFS-ETSI/DFS-FCC).
- /proc/net/wireless: the kernel's net/wireless/wext-proc.c: two header lines, then
  "wlan0: 0000   70.  -40.  -256 ..." (status, link quality, level in dBm, noise).
- /proc/net/route: the kernel's fib_route_seq_show, hex little-endian addresses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.net import wifi
from kit.net.wifi import AccessPoint, Device, IwLink, Route, Wifi, WifiError

FAKE_NMCLI = str(Path(__file__).resolve().parents[1] / "peers" / "fake_nmcli" / "nmcli")
ODD_SSID = 'Café "Joe\'s": 5G \\ 😀'  # spaces, quotes, a colon, a backslash, non-ASCII


# -- nmcli's terse output -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "values"),
    [
        ("wlan0:wifi:connected:Home", ["wlan0", "wifi", "connected", "Home"]),
        ("eth0:ethernet:unavailable:", ["eth0", "ethernet", "unavailable", ""]),
        ("", [""]),
        (":", ["", ""]),
        (r"a\:b", ["a:b"]),
        (r"a\\:b", ["a\\", "b"]),  # an escaped backslash, then a separator
        (r"a\\\:b", ["a\\:b"]),
        ('Café "Joe\'s"\\: 5G \\\\ 😀', [ODD_SSID]),
        (r"DC\:A6\:32\:01\:02\:03:72", ["DC:A6:32:01:02:03", "72"]),
        ("trailing\\", ["trailing\\"]),  # never printed by nmcli; kept, not lost
        ("Wired connection 1", ["Wired connection 1"]),
    ],
)
def test_split_terse(line: str, values: list[str]) -> None:
    assert wifi.split_terse(line) == values


def test_device_status() -> None:
    text = (
        'wlan0:wifi:connected:Café "Joe\'s"\\: 5G \\\\ 😀\n'
        "eth0:ethernet:unavailable:\n"
        "lo:loopback:connected (externally):lo\n"
        "p2p-dev-wlan0:wifi-p2p:disconnected:\n"
    )
    devices = wifi.parse_device_status(text)
    assert devices == [
        Device("wlan0", "wifi", "connected", ODD_SSID),
        Device("eth0", "ethernet", "unavailable", ""),
        Device("lo", "loopback", "connected (externally)", "lo"),
        Device("p2p-dev-wlan0", "wifi-p2p", "disconnected", ""),
    ]
    assert [d.connected for d in devices] == [True, False, True, False]


WIFI_LIST = (
    'yes:Café "Joe\'s"\\: 5G \\\\ 😀:DC\\:A6\\:32\\:01\\:02\\:03:72:5180 MHz:540 Mbit/s:WPA2\n'
    "no:Neighbour Net:11\\:22\\:33\\:44\\:55\\:66:35:2412 MHz:65 Mbit/s:WPA1 WPA2\n"
    "no::AA\\:BB\\:CC\\:DD\\:EE\\:FF:20:2462 MHz:130 Mbit/s:WPA2\n"
    "no:Open:02\\:00\\:00\\:00\\:00\\:01:50:2412 MHz:54 Mbit/s:\n"
    "no:Six:02\\:00\\:00\\:00\\:00\\:02:81:5975 MHz:1201 Mbit/s:WPA3\n"
    "no:Odd:02\\:00\\:00\\:00\\:00\\:03:::0 Mbit/s:--\n"
    "not a row of seven values\n"
)


def test_wifi_list() -> None:
    aps = wifi.parse_wifi_list(WIFI_LIST)
    assert aps == [
        AccessPoint(ODD_SSID, "DC:A6:32:01:02:03", 72, 5180, 540, "WPA2", True),
        AccessPoint("Neighbour Net", "11:22:33:44:55:66", 35, 2412, 65, "WPA1 WPA2", False),
        AccessPoint("", "AA:BB:CC:DD:EE:FF", 20, 2462, 130, "WPA2", False),
        AccessPoint("Open", "02:00:00:00:00:01", 50, 2412, 54, "", False),
        AccessPoint("Six", "02:00:00:00:00:02", 81, 5975, 1201, "WPA3", False),
        AccessPoint("Odd", "02:00:00:00:00:03", None, None, 0, "", False),
    ]
    assert [a.band for a in aps] == ["5 GHz", "2.4 GHz", "2.4 GHz", "2.4 GHz", "6 GHz", None]
    assert aps[0].as_dict()["band"] == "5 GHz"


@pytest.mark.parametrize(
    ("freq", "name"),
    [(2412, "2.4 GHz"), (2484, "2.4 GHz"), (5180, "5 GHz"), (5825, "5 GHz"), (5955, "6 GHz"),
     (7115, "6 GHz"), (60480, None), (0, None), (None, None)],
)  # fmt: skip
def test_band(freq: int | None, name: str | None) -> None:
    assert wifi.band(freq) == name


def test_device_show_multiline() -> None:
    # Unescaped: the connection name keeps its colon and backslash as they are.
    text = (
        "GENERAL.TYPE:wifi\n"
        "GENERAL.STATE:100 (connected)\n"
        f"GENERAL.CONNECTION:{ODD_SSID}\n"
        "IP4.ADDRESS[1]:192.168.1.23/24\n"
        "IP4.ADDRESS[2]:10.0.0.7/8\n"
        "IP4.GATEWAY:192.168.1.1\n"
    )
    assert wifi.parse_multiline(text)["IP4.ADDRESS"] == ["192.168.1.23/24", "10.0.0.7/8"]
    assert wifi.parse_device_show(text) == wifi.DeviceInfo(
        "wifi", "100 (connected)", ODD_SSID, "192.168.1.23/24", "192.168.1.1"
    )
    down = "GENERAL.TYPE:wifi\nGENERAL.STATE:20 (unavailable)\nGENERAL.CONNECTION:\nIP4.GATEWAY:\n"
    assert wifi.parse_device_show(down) == wifi.DeviceInfo(
        "wifi", "20 (unavailable)", None, None, None
    )


@pytest.mark.parametrize(
    ("text", "on"),
    [
        # nmcli -t prints the name (NetworkManager 1.42, tests/integration/
        # test_networkmanager.py); the "<n> (<name>)" form is its pretty mode's.
        ("802-11-wireless.powersave:enable\n", True),
        ("802-11-wireless.powersave:disable\n", False),
        ("802-11-wireless.powersave:default\n", None),
        ("802-11-wireless.powersave:ignore\n", None),
        ("802-11-wireless.powersave:3 (enable)\n", True),
        ("802-11-wireless.powersave:2 (disable)\n", False),
        ("802-11-wireless.powersave:0 (default)\n", None),
        ("802-11-wireless.powersave:1 (ignore)\n", None),
        ("", None),
    ],
)
def test_powersave_setting(text: str, on: bool | None) -> None:
    assert wifi.parse_powersave_setting(text) is on


# -- iw and the kernel's files --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "on"),
    [("Power save: on\n", True), ("Power save: off\n", False), ("command failed: ...\n", None)],
)
def test_iw_power_save(text: str, on: bool | None) -> None:
    assert wifi.parse_iw_power_save(text) is on


IW_REG_SET = """global
country DE: DFS-ETSI
\t(2400 - 2483 @ 40), (N/A, 20), (N/A)
\t(5150 - 5250 @ 80), (N/A, 23), (N/A), NO-OUTDOOR, AUTO-BW

phy#0
country 99: DFS-UNSET
\t(2402 - 2482 @ 40), (6, 20), (N/A)
"""
IW_REG_UNSET = """global
country 00: DFS-UNSET
\t(2402 - 2472 @ 40), (N/A, 20), (N/A)
\t(2457 - 2482 @ 20), (N/A, 20), (N/A), AUTO-BW, PASSIVE-SCAN
"""


@pytest.mark.parametrize(
    ("text", "country"), [(IW_REG_SET, "DE"), (IW_REG_UNSET, None), ("", None)]
)
def test_iw_reg(text: str, country: str | None) -> None:
    assert wifi.parse_iw_reg(text) == country


@pytest.mark.parametrize(
    ("cmdline", "country"),
    [
        ("console=serial0,115200 root=PARTUUID=1-02 rootwait cfg80211.ieee80211_regdom=GB\n", "GB"),
        ("cfg80211.ieee80211_regdom=fr quiet", "FR"),
        ("cfg80211.ieee80211_regdom=00", None),
        ("xcfg80211.ieee80211_regdom=GB", None),
        ("root=/dev/mmcblk0p2 rootwait", None),
    ],
)
def test_cmdline_country(cmdline: str, country: str | None) -> None:
    assert wifi.parse_cmdline_country(cmdline) == country


IW_LINK = """Connected to dc:a6:32:01:02:03 (on wlan0)
\tSSID: Caf\\xc3\\xa9 "Joe's": 5G \\x5c \\xf0\\x9f\\x98\\x80
\tfreq: 5180
\tRX: 29152 bytes (271 packets)
\tTX: 20300 bytes (170 packets)
\tsignal: -52 dBm
\trx bitrate: 390.0 MBit/s VHT-MCS 9 80MHz short GI VHT-NSS 1
\ttx bitrate: 433.3 MBit/s VHT-MCS 9 80MHz short GI VHT-NSS 1

\tbss flags:\tshort-slot-time
\tdtim period:\t1
\tbeacon int:\t100
"""


@pytest.mark.parametrize(
    ("text", "link"),
    [
        (IW_LINK, IwLink(ODD_SSID, 5180, -52, 433.3)),
        # iw 6.x prints the frequency with a decimal; some drivers give no tx bitrate.
        ("Connected to aa:bb:cc:dd:ee:ff (on wlan0)\n\tSSID: Home\n\tfreq: 2437.0\n"
         "\tsignal: -71 dBm\n", IwLink("Home", 2437, -71, None)),
        ("Not connected.\n", None),
        ("", None),
    ],
)  # fmt: skip
def test_iw_link(text: str, link: IwLink | None) -> None:
    assert wifi.parse_iw_link(text) == link


PROC_WIRELESS = (
    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
    " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
    " wlan0: 0000   58.  -52.  -256        0      0      0      0      0        0\n"
    "  wlan1: 0000   10.  200.  0        0      0      0      0      0        0\n"
)


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        (PROC_WIRELESS, {"wlan0": -52}),  # a positive level is not dBm: left out
        (PROC_WIRELESS.splitlines(keepends=True)[0] * 2, {}),  # headers only: no Wi-Fi up
        ("", {}),
    ],
)
def test_proc_wireless(text: str, levels: dict[str, int]) -> None:
    assert wifi.parse_proc_wireless(text) == levels


ROUTE_HEAD = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


@pytest.mark.parametrize(
    ("rows", "route"),
    [
        # As on this sandbox's eth0: default via 192.0.2.1.
        (["eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
          "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0"],
         Route("eth0", "192.0.2.1")),
        # Ethernet and Wi-Fi both up: NetworkManager gives Ethernet the lower metric.
        (["wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
          "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0"],
         Route("eth0", "192.168.1.1")),
        (["wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0"], None),
        (["eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0"], None),  # not up
        ([], None),
    ],
)  # fmt: skip
def test_proc_route(rows: list[str], route: Route | None) -> None:
    assert wifi.parse_proc_route(ROUTE_HEAD + "\n".join(rows) + "\n") == route


def test_ip_addr() -> None:
    text = (
        "3: wlan0    inet 192.168.1.23/24 brd 192.168.1.255 scope global dynamic "
        "noprefixroute wlan0\\       valid_lft 86000sec preferred_lft 86000sec\n"
    )
    assert wifi.parse_ip_addr(text) == "192.168.1.23/24"
    assert wifi.parse_ip_addr("") is None


# -- names and passwords --------------------------------------------------------------


@pytest.mark.parametrize(
    "ssid", [ODD_SSID, "a", "x" * 32, "é" * 16, "Home-5G", " spaced ", "日本語のネットワーク"]
)
def test_ssid_accepted(ssid: str) -> None:
    wifi.check_ssid(ssid)


@pytest.mark.parametrize(
    ("ssid", "why"),
    [
        ("", "empty"),
        ("x" * 33, "33 bytes"),
        ("é" * 17, "34 bytes"),  # 17 characters, but 34 bytes of UTF-8
        ("😀" * 9, "36 bytes"),
        ("Home\nNet", "control character"),
        ("Home\x00", "control character"),
        ("Tab\there", "control character"),
    ],
)
def test_ssid_refused(ssid: str, why: str) -> None:
    with pytest.raises(WifiError, match=why):
        wifi.check_ssid(ssid)


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "p" * 63,
        "a b \"c\" 'd'; $(rm -rf /) `x` | & > <",
        "0123456789abcdef" * 4,  # a 64-hex-digit raw key
        "0123456789ABCDEF" * 4,
    ],
)
def test_password_accepted(password: str) -> None:
    wifi.check_password(password)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("secret7", "7 characters; WPA passwords have at least 8"),
        ("", "0 characters"),
        ("s3cret-" * 10, "70 characters; WPA passwords have at most 63"),
        ("g" * 64, "64 characters"),  # 64 characters but not hex
        ("pässwörd-1", "plain ASCII"),
        ("secret\tpassword", "plain ASCII"),
        ("secret\npassword", "plain ASCII"),
    ],
)
def test_password_refused_without_echo(password: str, why: str) -> None:
    with pytest.raises(WifiError, match=why) as e:
        wifi.check_password(password)
    assert password == "" or password not in str(e.value)
    for piece in ("secret", "s3cret", "pässwörd", "ggg"):
        assert piece not in str(e.value)


def test_join_argv_keeps_each_value_one_argument() -> None:
    password = "a b \"c\" 'd'; echo pwned"
    argv = wifi.join_argv(ODD_SSID, password, "wlan0")
    assert argv == ["-w", "45", "device", "wifi", "connect", ODD_SSID,
                    "password", password, "ifname", "wlan0"]  # fmt: skip
    assert wifi.join_argv("Open Café", None) == ["-w", "45", "device", "wifi", "connect",
                                                 "Open Café"]  # fmt: skip
    with pytest.raises(WifiError):
        wifi.join_argv("x" * 33, password)
    assert wifi.forget_argv("-x") == ["connection", "delete", "id", "-x"]


# -- against the stand-in nmcli -------------------------------------------------------


def make_root(tmp_path: Path, route_if: str | None = "wlan0", level: int | None = None,
              rfkill_soft: str | None = "0", cmdline: str = "quiet") -> Path:  # fmt: skip
    """A /proc and /sys with the files the reader looks at, as real files."""
    root = tmp_path / "root"
    (root / "proc/net").mkdir(parents=True)
    rows = []
    if route_if:
        rows.append(f"{route_if}\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0")
    (root / "proc/net/route").write_text(ROUTE_HEAD + "\n".join(rows) + "\n")
    if level is not None:
        (root / "proc/net/wireless").write_text(
            PROC_WIRELESS.splitlines(keepends=True)[0] * 2
            + f" wlan0: 0000   40.  {level}.  -256        0      0      0      0      0        0\n"
        )
    (root / "proc/cmdline").write_text(cmdline + "\n")
    if rfkill_soft is not None:
        entry = root / "sys/class/rfkill/rfkill0"
        entry.mkdir(parents=True)
        (entry / "type").write_text("wlan\n")
        (entry / "soft").write_text(rfkill_soft + "\n")
        (entry / "hard").write_text("0\n")
        bt = root / "sys/class/rfkill/rfkill1"  # a blocked Bluetooth must not count
        bt.mkdir(parents=True)
        (bt / "type").write_text("bluetooth\n")
        (bt / "soft").write_text("1\n")
        (bt / "hard").write_text("0\n")
    return root


@pytest.fixture
def nmcli_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_NMCLI_LOG", str(log))
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "wifi")
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_status_on_wifi(tmp_path: Path, nmcli_log: Path) -> None:
    root = make_root(tmp_path, level=-61, cmdline="rootwait cfg80211.ieee80211_regdom=GB")
    status = Wifi(nmcli=FAKE_NMCLI, iw=None, ip=None, root=root).status()
    assert status == wifi.LinkStatus(
        kind="wifi", interface="wlan0", source="networkmanager", ssid=ODD_SSID,
        signal_dbm=-61, signal_percent=72, rate_mbps=None, max_rate_mbps=540, freq_mhz=5180,
        address="192.168.1.23/24", gateway="192.168.1.1", power_save=True,
        radio=wifi.Radio("GB", False, False),
    )  # fmt: skip
    assert status.band == "5 GHz"
    d = status.as_dict()
    assert (d["ssid"], d["band"], d["radio"]["blocked"]) == (ODD_SSID, "5 GHz", False)
    json.dumps(d)  # goes to the status API as it is
    # The power-save setting was asked of the connection by its exact, unescaped name.
    assert ["-t", "-f", "802-11-wireless.powersave", "connection", "show", "id",
            ODD_SSID] in calls(nmcli_log)  # fmt: skip
    assert all(c[0] == "-t" for c in calls(nmcli_log))


def test_status_on_ethernet(
    tmp_path: Path, nmcli_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "ethernet")
    status = Wifi(
        nmcli=FAKE_NMCLI, iw=None, ip=None, root=make_root(tmp_path, route_if="eth0")
    ).status()
    assert (status.kind, status.interface, status.address, status.gateway) == (
        "ethernet", "eth0", "192.168.1.40/24", "192.168.1.1"
    )  # fmt: skip
    assert status.ssid is None and status.signal_dbm is None


def test_status_without_a_route_uses_networkmanagers_connected_device(
    tmp_path: Path, nmcli_log: Path
) -> None:
    status = Wifi(
        nmcli=FAKE_NMCLI, iw=None, ip=None, root=make_root(tmp_path, route_if=None)
    ).status()
    assert (status.kind, status.interface, status.signal_percent) == ("wifi", "wlan0", 72)


def test_status_offline_and_blocked(
    tmp_path: Path, nmcli_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "offline")
    root = make_root(tmp_path, route_if=None, rfkill_soft="1")
    status = Wifi(nmcli=FAKE_NMCLI, iw=None, ip=None, root=root).status()
    assert (status.kind, status.source) == ("none", "networkmanager")
    assert status.radio == wifi.Radio(None, True, False)
    assert status.radio.blocked


def test_status_without_networkmanager_falls_back_to_the_kernel(
    tmp_path: Path, nmcli_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "no-daemon")  # nmcli exits 8
    root = make_root(tmp_path, level=-77)
    status = Wifi(nmcli=FAKE_NMCLI, iw=None, ip=None, root=root).status()
    assert (status.kind, status.interface, status.source) == ("wifi", "wlan0", "kernel")
    assert (status.signal_dbm, status.signal_percent, status.ssid) == (-77, None, None)
    assert status.gateway == "192.168.1.1"  # from /proc/net/route
    missing = Wifi(nmcli=str(tmp_path / "no-such-nmcli"), iw=None, ip=None, root=root).status()
    assert (missing.kind, missing.signal_dbm) == ("wifi", -77)


def test_status_with_nothing_known(tmp_path: Path) -> None:
    root = make_root(tmp_path, route_if=None, rfkill_soft=None)
    status = Wifi(nmcli=None, iw=None, ip=None, root=root).status()
    assert (status.kind, status.source, status.radio.blocked) == ("none", "none", False)


def test_scan_one_entry_per_network_strongest_first(nmcli_log: Path) -> None:
    aps = Wifi(nmcli=FAKE_NMCLI, iw=None).scan()
    assert [(a.ssid, a.signal_percent, a.active) for a in aps] == [
        (ODD_SSID, 72, True),  # the joined one of its two access points
        ("Open Café", 50, False),
        ("Neighbour Net", 35, False),
    ]  # the hidden network is left out
    assert calls(nmcli_log)[-1][-3:] == ["list", "--rescan", "yes"]


def test_join_passes_ssid_and_password_as_single_arguments(nmcli_log: Path) -> None:
    password = "my pass \"word\"; 'rm' -rf $HOME"
    Wifi(nmcli=FAKE_NMCLI, iw=None).join(ODD_SSID, password)
    assert calls(nmcli_log)[-1] == [
        "-w", "45", "device", "wifi", "connect", ODD_SSID, "password", password,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("ssid", "password", "message"),
    [
        (ODD_SSID, "wrong password", "check the password"),
        ("Nobody's network", "whatever-pass", "no such network"),
    ],
)
def test_join_failure_says_why_without_the_password(
    nmcli_log: Path, ssid: str, password: str, message: str
) -> None:
    with pytest.raises(WifiError, match=message) as e:
        Wifi(nmcli=FAKE_NMCLI, iw=None).join(ssid, password)
    assert password not in str(e.value)
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_join_checks_before_calling_nmcli(nmcli_log: Path) -> None:
    with pytest.raises(WifiError, match="at least 8"):
        Wifi(nmcli=FAKE_NMCLI, iw=None).join(ODD_SSID, "short")
    assert not nmcli_log.exists()


def test_forget(nmcli_log: Path) -> None:
    Wifi(nmcli=FAKE_NMCLI, iw=None).forget(ODD_SSID)
    assert calls(nmcli_log)[-1] == ["connection", "delete", "id", ODD_SSID]
    with pytest.raises(WifiError, match="no such network"):
        Wifi(nmcli=FAKE_NMCLI, iw=None).forget("Never joined")


def test_changes_without_networkmanager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WifiError, match="not installed"):
        Wifi(nmcli=str(tmp_path / "no-such-nmcli")).join(ODD_SSID, "password1")
    monkeypatch.setenv("FAKE_NMCLI_SCENARIO", "no-daemon")
    with pytest.raises(WifiError, match="NetworkManager is not running"):
        Wifi(nmcli=FAKE_NMCLI).scan()


def test_nmcli_runs_in_the_c_utf8_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "MHz", "yes" and the decimal point are translated otherwise.
    script = tmp_path / "nmcli"
    script.write_text('#!/bin/sh\necho "$LC_ALL:$LANG:$KIT_MARK"\n')
    script.chmod(0o755)
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("KIT_MARK", "kept")  # the rest of the environment goes through
    assert wifi.Nmcli(str(script)).run(["x"]) == "C.UTF-8:C.UTF-8:kept\n"


def test_nmcli_timeout(tmp_path: Path) -> None:
    script = tmp_path / "nmcli"
    script.write_text("#!/bin/sh\nexec sleep 5\n")
    script.chmod(0o755)
    with pytest.raises(wifi.NmcliError) as e:
        wifi.Nmcli(str(script), timeout=0.3).run(["device", "status"])
    assert e.value.returncode == 3


def test_stand_in_nmcli_refuses_what_it_does_not_know(nmcli_log: Path) -> None:
    # So that a command the kit starts sending is not answered by accident.
    with pytest.raises(wifi.NmcliError) as e:
        wifi.Nmcli(FAKE_NMCLI).run(["connection", "up", "id", "kit-hotspot"])
    assert e.value.returncode == 2
    assert calls(nmcli_log) == [["connection", "up", "id", "kit-hotspot"]]
