"""kit.net.checks: the verdicts as tables, and the probes against real peers on loopback (a TCP
listener, a TLS server with a throwaway CA, the HTTP upload sink, a process pushing bytes).

The namespace tests (tests/integration/test_network.py) add what loopback cannot: a link
that goes down and an uplink shaped to 1 Mbit/s.

The `ss` lines below were captured in this sandbox (iproute2 6.1, as on Raspberry Pi OS
Bookworm) with `ss -tinpH dst 10.200.177.2:1935` while ffmpeg pushed to nginx-rtmp in a
network namespace: first unshaped, then with the uplink shaped by tc tbf to 1 Mbit/s, then
just after ffmpeg was killed.
"""

from __future__ import annotations

import errno
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit import config
from kit.checks import Context, Level, Result
from kit.net import checks as net
from kit.net import rtmp_probe, wifi
from kit.net.checks import IngestProbe, Lookup, StepTimeout, TcpConn, UploadProbe
from tests.peers import fake_rtmp
from tests.peers.netns import make_certs, sink_server

HOST = "127.0.0.1"


def context(server: str = "rtmp://127.0.0.1:1935/live/", **stream: object) -> Context:
    cfg = config.from_dict({"stream": {"server": server, "key": "stream-1", **stream}})
    return Context(cfg, camera_ok=lambda: True, microphone_ok=lambda: True)


def status(**fields: object) -> wifi.LinkStatus:
    return wifi.LinkStatus(**{"kind": "wifi", "interface": "wlan0",  # type: ignore[arg-type]
                              "source": "networkmanager", "ssid": "Home", **fields})  # fmt: skip


# -- wifi ----------------------------------------------------------------------------

BLOCKED_NO_COUNTRY = wifi.Radio(None, True, False)


@pytest.mark.parametrize(
    ("link", "level", "words"),
    [
        (status(signal_dbm=-55, freq_mhz=5180, rate_mbps=433.3), Level.OK,
         ["“Home” at -55 dBm", "5 GHz", "433.3 Mb/s"]),
        (status(signal_dbm=-70), Level.OK, ["-70 dBm"]),
        (status(signal_dbm=-71), Level.WARN, ["weak", "-71 dBm", "closer to the router"]),
        (status(signal_dbm=-80), Level.WARN, ["-80 dBm"]),
        (status(signal_dbm=-81), Level.FAIL, ["too weak", "closer to the router", "Ethernet"]),
        # dBm wins over NetworkManager's percentage when both are known.
        (status(signal_dbm=-85, signal_percent=90), Level.FAIL, ["-85 dBm"]),
        (status(signal_percent=50), Level.OK, ["50 %"]),
        (status(signal_percent=49), Level.WARN, ["49 %", "closer to the router"]),
        (status(signal_percent=34), Level.FAIL, ["34 %"]),
        (status(), Level.WARN, ["cannot be read", "closer to the router"]),
        (status(signal_dbm=-60, power_save=True), Level.OK, ["power saving on"]),
        (status(kind="ethernet", interface="eth0", ssid=None), Level.OK, ["Wired", "eth0"]),
        # Ethernet in use: a blocked Wi-Fi does not matter.
        (status(kind="ethernet", interface="eth0", radio=BLOCKED_NO_COUNTRY), Level.OK,
         ["Wired"]),
        (status(kind="none", interface=None, radio=BLOCKED_NO_COUNTRY), Level.FAIL,
         ["no Wi-Fi country is set", "WLAN Country"]),
        (status(kind="none", interface=None, radio=wifi.Radio("GB", True, False)), Level.FAIL,
         ["switched off", "turn Wi-Fi on"]),
        (status(kind="none", interface=None, radio=wifi.Radio("GB", False, True)), Level.FAIL,
         ["hardware switch"]),
        (status(kind="none", interface=None), Level.FAIL, ["Not connected", "join a Wi-Fi"]),
        (status(kind="none", interface=None, source="none"), Level.OK, ["not measured"]),
    ],
)  # fmt: skip
def test_wifi_result(link: wifi.LinkStatus, level: Level, words: list[str]) -> None:
    result = net.wifi_result(link)
    assert (result.id, result.status) == ("wifi", level), result.message
    for word in words:
        assert word in result.message


def test_wifi_check_has_a_deadline() -> None:
    release = threading.Event()

    def stuck() -> wifi.LinkStatus:
        release.wait(10)
        return status()

    start = time.monotonic()
    result = net.check_wifi(context(), reader=stuck, timeout=0.3)
    release.set()
    assert time.monotonic() - start < 1.0
    assert (result.status, result.id) == (Level.WARN, "wifi")
    assert "did not come within 0.3 s" in result.message


def test_wifi_check_reads_the_machine() -> None:
    # Whatever this machine has, the check answers in time with one of its verdicts.
    start = time.monotonic()
    result = net.check_wifi(context())
    assert time.monotonic() - start < net.WIFI_TIMEOUT_S + 0.5
    assert result.id == "wifi" and result.message


# -- call_with_timeout ------------------------------------------------------------------


def test_call_with_timeout() -> None:
    assert net.call_with_timeout(lambda: 42, 1) == 42
    with pytest.raises(ZeroDivisionError):
        net.call_with_timeout(lambda: 1 / 0, 1)
    gate = threading.Event()
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        net.call_with_timeout(lambda: gate.wait(5), 0.2)
    gate.set()
    assert time.monotonic() - start < 1


# -- dns -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "level", "words"),
    [
        (Lookup(["192.0.2.10"], 12.0), Level.OK, ["found in 12 ms"]),
        (Lookup(["192.0.2.10"], 1500.0), Level.WARN, ["1500 ms", "slow"]),
        (Lookup([], 3.0), Level.FAIL, ["no address", "server URL"]),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), Level.FAIL,
         ["does not exist", "check the server URL"]),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), Level.FAIL,
         ["Cannot look up", "internet connection"]),
        (TimeoutError(), Level.FAIL, ["longer than 3 s", "internet connection"]),
    ],
)  # fmt: skip
def test_dns_result(outcome: object, level: Level, words: list[str]) -> None:
    result = net.dns_result("push.example.com", outcome, 3.0)  # type: ignore[arg-type]
    assert (result.id, result.status) == ("dns", level), result.message
    for word in words:
        assert word in result.message


def test_dns_resolves_a_real_name() -> None:
    # localhost comes from /etc/hosts through glibc: a real lookup that leaves the machine
    # never.
    result = net.check_dns(context("rtmp://localhost:1935/live/"))
    assert (result.id, result.status) == ("dns", Level.OK), result.message
    assert "localhost found in" in result.message


def test_dns_needs_no_lookup_for_an_address() -> None:
    def never(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("looked up an IP address")

    result = net.check_dns(context("rtmps://203.0.113.7:443/game/"), resolver=never)
    assert (result.status, result.message) == (
        Level.OK, "The server is given by its address (203.0.113.7): no lookup."
    )  # fmt: skip


def test_dns_gives_up_at_its_deadline() -> None:
    gate = threading.Event()

    def hanging_resolver(*args: object, **kwargs: object) -> list[object]:
        gate.wait(10)  # as glibc does when the name server does not answer
        return []

    start = time.monotonic()
    result = net.check_dns(context("rtmp://push.example.com/live/"), timeout=0.4,
                           resolver=hanging_resolver)  # fmt: skip
    gate.set()
    assert time.monotonic() - start < 1.0
    assert result.status is Level.FAIL and "longer than 0.4 s" in result.message


@pytest.mark.parametrize("check", [net.check_dns, net.check_ingest])
def test_unusable_server_is_left_to_the_stream_check(check: object) -> None:
    result = check(context(""))  # type: ignore[operator]
    assert result.status is Level.WARN
    assert result.message.startswith("Not checked: the stream server is not set")


# -- ingest ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "level", "words"),
    [
        (IngestProbe("192.0.2.10", 35.0, None), Level.OK, ["answers (connect 35 ms)"]),
        (IngestProbe("192.0.2.10", 35.0, 80.0), Level.OK, ["connect 35 ms, TLS 80 ms"]),
        (IngestProbe("192.0.2.10", 1200.0, None), Level.WARN, ["slowly", "1200 ms"]),
        (IngestProbe("192.0.2.10", 100.0, 2500.0), Level.WARN, ["slowly", "TLS 2500 ms"]),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), Level.FAIL,
         ["connection refused", "check the server URL"]),
        (OSError(errno.EHOSTUNREACH, "No route to host"), Level.FAIL,
         ["no route", "Wi-Fi or Ethernet"]),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), Level.FAIL, ["no route"]),
        (StepTimeout("connect"), Level.FAIL, ["within 5 s (connecting)", "server URL"]),
        (StepTimeout("tls"), Level.FAIL, ["(the secure connection)"]),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), Level.FAIL,
         ["does not exist"]),
        (FileNotFoundError(errno.ENOENT, "No such file", "/etc/kit/ca.pem"), Level.FAIL,
         ["/etc/kit/ca.pem", "stream.ca_file"]),
        (StepTimeout("rtmp"), Level.FAIL, ["within 5 s (the RTMP handshake)"]),
        (StepTimeout("rtmp_connect"), Level.FAIL, ["within 5 s (the RTMP connect)"]),
        (net.WrongScheme("rtmps"), Level.FAIL, ["expects rtmps://", "to rtmps://."]),
        (net.WrongScheme("rtmp"), Level.FAIL, ["expects rtmp://, not rtmps://"]),
        (rtmp_probe.NotRtmp(b"HTTP/1.1"), Level.FAIL, ["does not speak RTMP"]),
        (net.AppRefused("game", rtmp_probe.ConnectRefused("x", "y")), Level.FAIL,
         ["does not accept the application “game”"]),
    ],
)  # fmt: skip
def test_ingest_result(outcome: object, level: Level, words: list[str]) -> None:
    result = net.ingest_result("push.example.com", 443, outcome, 5.0)  # type: ignore[arg-type]
    assert (result.id, result.status) == ("ingest", level), result.message
    for word in words:
        assert word in result.message


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server((HOST, 0)) as sock:
        yield sock


def serve_rtmp(listener: socket.socket, seen: list[dict | None], refuse: frozenset[str]) -> None:
    conn, _ = listener.accept()
    with conn:
        seen.append(fake_rtmp.answer(conn, refuse))


def test_ingest_connects(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    seen: list[dict | None] = []
    threading.Thread(target=serve_rtmp, args=(listener, seen, frozenset()), daemon=True).start()
    result = net.check_ingest(context(f"rtmp://{HOST}:{port}/live/"))
    assert (result.status, result.id) == (Level.OK, "ingest"), result.message
    assert result.message.startswith(f"The server {HOST}:{port} answers (connect ")
    # connect only, with the app and the URL: never the key
    assert seen == [{"app": "live", "type": "nonprivate", "flashVer": rtmp_probe.FLASH_VER,
                     "tcUrl": f"rtmp://{HOST}:{port}/live"}]  # fmt: skip


def test_ingest_app_refused(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    args = (listener, [], frozenset({"live"}))
    threading.Thread(target=serve_rtmp, args=args, daemon=True).start()
    result = net.check_ingest(context(f"rtmp://{HOST}:{port}/live/"))
    assert result.status is Level.FAIL
    assert "does not accept the application “live”" in result.message


def test_ingest_a_port_that_closes_at_once_is_not_rtmp(listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    def close_each() -> None:
        for _ in range(2):  # the probe, then the look for TLS
            conn, _ = listener.accept()
            conn.close()

    threading.Thread(target=close_each, daemon=True).start()
    result = net.check_ingest(context(f"rtmp://{HOST}:{port}/live/"), timeout=2)
    assert result.status is Level.FAIL
    assert result.message == (
        f"{HOST}:{port} answers, but does not speak RTMP: check the server URL and the port."
    )


def test_ingest_refused() -> None:
    with socket.create_server((HOST, 0)) as sock:
        port = sock.getsockname()[1]  # closed again: nothing listens there now
    result = net.check_ingest(context(f"rtmp://{HOST}:{port}/live/"))
    assert result.status is Level.FAIL
    assert result.message == (
        f"Nothing answers at {HOST}:{port} (connection refused): check the server URL."
    )


class TlsServer:
    """A TLS server on loopback: handshakes, then answers RTMP's handshake and connect
    (`rtmp=False`: closes). `handshake=False` accepts the TCP connection and never answers."""

    def __init__(self, cert: Path, key: Path, handshake: bool = True, rtmp: bool = True) -> None:
        self.rtmp = rtmp
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.handshake = handshake
        self.sock = socket.create_server((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if not self.handshake:
                self.held.append(conn)
                continue
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    if self.rtmp:
                        fake_rtmp.answer(tls)
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, Path]]:
    root = tmp_path_factory.mktemp("certs")
    return {ip: make_certs(root / ip, ip) for ip in (HOST, "127.0.0.2")}


@pytest.mark.parametrize(
    ("cert_for", "ca", "verify", "level", "words"),
    [
        (HOST, "own", True, Level.OK, ["TLS"]),
        (HOST, "system", True, Level.FAIL, ["certificate is not trusted", "server URL"]),
        ("127.0.0.2", "own", True, Level.FAIL, ["certificate is not for 127.0.0.1"]),
        (HOST, "system", False, Level.OK, ["TLS"]),  # stream.tls_verify = false
        (HOST, "missing", True, Level.FAIL, ["is missing", "stream.ca_file"]),
    ],
)
def test_ingest_tls(
    certs: dict[str, tuple[Path, Path, Path]], tmp_path: Path,
    cert_for: str, ca: str, verify: bool, level: Level, words: list[str],
) -> None:  # fmt: skip
    ca_file, cert, key = certs[cert_for]
    ca_path = {"own": ca_file, "system": Path("/etc/ssl/certs/ca-certificates.crt"),
               "missing": tmp_path / "nope.pem"}[ca]  # fmt: skip
    server = TlsServer(cert, key)
    try:
        result = net.check_ingest(
            context(f"rtmps://{HOST}:{server.port}/game/", ca_file=str(ca_path), tls_verify=verify)
        )
    finally:
        server.close()
    assert (result.id, result.status) == ("ingest", level), result.message
    for word in words:
        assert word in result.message


def test_ingest_tls_without_an_answer_times_out(certs: dict[str, tuple[Path, Path, Path]]) -> None:
    ca_file, cert, key = certs[HOST]
    server = TlsServer(cert, key, handshake=False)
    start = time.monotonic()
    try:
        result = net.check_ingest(
            context(f"rtmps://{HOST}:{server.port}/game/", ca_file=str(ca_file)), timeout=0.5
        )
    finally:
        server.close()
    assert time.monotonic() - start < 1.5
    assert result.status is Level.FAIL
    assert "within 0.5 s (the secure connection)" in result.message


def test_rtmps_against_a_plain_rtmp_port(listener: socket.socket) -> None:
    # A TCP server that closes without speaking TLS, like rtmps:// to an rtmp-only port.
    port = listener.getsockname()[1]

    def close_at_once() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.close()

    threading.Thread(target=close_at_once, daemon=True).start()
    result = net.check_ingest(context(f"rtmps://{HOST}:{port}/game/"), timeout=2)
    assert result.status is Level.FAIL
    assert result.message.startswith(f"The secure connection to {HOST}:{port} failed (")
    assert result.message.endswith("check the server URL (rtmps:// or rtmp://, and the port).")


# -- upload --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    server = sink_server(HOST, 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_upload_probe_against_the_sink(sink: str) -> None:
    probe = net.probe_upload(f"{sink}/upload", seconds=0.5, max_bytes=1 * 2**20)
    assert probe.status == 200 and probe.complete
    assert probe.sent == 1 * 2**20  # loopback takes a megabyte well within half a second
    assert probe.kbps > 10_000


def test_upload_check_ok_on_loopback(sink: str) -> None:
    result = net.check_upload(context(), url=f"{sink}/upload")
    assert (result.id, result.status) == ("upload", Level.OK), result.message
    assert "enough for the stream's 2.6 Mb/s" in result.message


def test_upload_to_a_wrong_path_is_not_measured_never_a_warning(sink: str) -> None:
    result = net.check_upload(context(), url=f"{sink}/nope")
    assert result.status is Level.OK
    assert result.message == (
        f"Upload speed not measured: {sink.removeprefix('http://')} could not be reached (it "
        "answered HTTP 404). While live, the kit watches the stream's own send rate."
    )


def test_upload_without_an_answer_fails_at_its_deadline(listener: socket.socket) -> None:
    port = listener.getsockname()[1]  # accepts (the kernel does) but never reads
    start = time.monotonic()
    result = net.check_upload(context(), url=f"http://{HOST}:{port}/upload", timeout=1.0)
    assert time.monotonic() - start < 2.0
    assert result.status is Level.FAIL  # connected, but the upload is stuck: a measurement
    assert result.message.startswith(f"The upload test to {HOST}:{port} ") or (
        result.message.startswith("Upload at most")
    ), result.message


@pytest.mark.parametrize(
    ("url", "level", "words"),
    [
        ("", Level.OK, ["not measured", "turned off", "upload_test_url"]),
        ("ftp://example.com/x", Level.OK, ["not measured", "must start with http://"]),
        ("http://127.0.0.1:notaport/x", Level.OK, ["not measured", "not a valid address"]),
    ],
)
def test_upload_setting(url: str, level: Level, words: list[str]) -> None:
    result = net.check_upload(context(), url=url)
    assert (result.id, result.status) == ("upload", level), result.message
    for word in words:
        assert word in result.message


def test_upload_refused() -> None:
    with socket.create_server((HOST, 0)) as sock:
        port = sock.getsockname()[1]
    result = net.check_upload(context(), url=f"http://{HOST}:{port}/upload")
    assert result.status is Level.OK and "(connection refused)" in result.message


@pytest.mark.parametrize(
    ("outcome", "why"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "no such host"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
         "its name could not be looked up"),
        (net.StepTimeout("connect"), "no answer within 6 s"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "no network route to it"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
         "the secure connection failed"),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
         "the connection broke off"),
        (net.UploadProbe(1000, 0.1, 403), "it answered HTTP 403"),
    ],
)  # fmt: skip
def test_an_unreachable_test_host_is_not_measured_at_the_ok_level(
    outcome: BaseException | net.UploadProbe, why: str
) -> None:
    # Offline, a hotspot without internet, a network that blocks the host: nothing the
    # creator can change from the page, so never a warning at every check.
    result = net.upload_result(config.DEFAULT_UPLOAD_TEST_URL, outcome, 2500, 128)
    assert result.status is Level.OK
    assert result.message == (
        f"Upload speed not measured: speed.cloudflare.com could not be reached ({why}). "
        "While live, the kit watches the stream's own send rate."
    )


def test_upload_url_comes_from_the_config_with_a_default_and_can_be_turned_off() -> None:
    assert net.upload_test_url(context().config) == "https://speed.cloudflare.com/__up"
    for off in ("off", ""):
        cfg = config.from_dict({"network": {"upload_test_url": off}})
        assert net.upload_test_url(cfg) == ""
        assert net.check_upload(Context(cfg, lambda: True, lambda: True)).status is Level.OK
    mine = config.from_dict({"network": {"upload_test_url": "http://10.0.0.1/up"}})
    assert net.upload_test_url(mine) == "http://10.0.0.1/up"
    with pytest.raises(config.ConfigError):
        config.from_dict({"network": {"upload_test_url": "on"}})


@pytest.mark.parametrize(
    ("kbps", "complete", "level", "words"),
    [
        (40_000, True, Level.OK, ["Upload 40.0 Mb/s, enough for the stream's 2.6 Mb/s."]),
        (3_942, True, Level.OK, ["3.9 Mb/s"]),  # exactly 1.5 x (2500 + 128)
        (3_000, True, Level.WARN, ["little room", "lower the bitrate to 1800 kb/s"]),
        (2_000, True, Level.FAIL, ["less than the stream's 2.6 Mb/s",
                                   "lower the bitrate to 1200 kb/s"]),
        (960, True, Level.FAIL, ["Upload 1.0 Mb/s", "lower the bitrate to 500 kb/s"]),
        (700, True, Level.FAIL, ["lower the bitrate to the lowest, 500 kb/s",
                                 "use another network"]),
        (600, True, Level.FAIL, ["even 500 kb/s needs more"]),
        (5_000, False, Level.FAIL, ["at most 5.0 Mb/s"]),  # the answer never came
    ],
)  # fmt: skip
def test_upload_result(kbps: float, complete: bool, level: Level, words: list[str]) -> None:
    probe = UploadProbe(int(kbps * 1000 / 8 * 2), 2.0, 200 if complete else None)
    result = net.upload_result("http://x/upload", probe, 2500, 128)
    assert (result.id, result.status) == ("upload", level), result.message
    for word in words:
        assert word in result.message


@pytest.mark.parametrize(
    ("upload", "audio", "video"), [(3942, 128, 2500), (1000, 128, 500), (10_000, 128, 6500)]
)
def test_suggested_bitrate(upload: float, audio: int, video: int) -> None:
    assert net.suggested_bitrate(upload, audio) == video


def test_the_checks_in_order_with_their_ids(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    threading.Thread(target=serve_rtmp, args=(listener, [], frozenset()), daemon=True).start()
    cfg = config.from_dict(
        {
            "stream": {"server": f"rtmp://localhost:{port}/live/", "key": "stream-1"},
            "network": {"upload_test_url": "off"},
        }
    )  # never the internet
    results = [check(Context(cfg, lambda: True, lambda: True)) for check in net.NET_CHECKS]
    assert [r.id for r in results] == ["wifi", "dns", "ingest", "upload"]
    assert all(isinstance(r, Result) for r in results)
    # The upload test turned off: said at the ok level, never a warning.
    assert results[3].status is Level.OK and "turned off" in results[3].message
    assert results[2].status is Level.OK, results[2].message


# -- while live: ss and the push monitor ------------------------------------------------

SS_UNSHAPED = (
    'ESTAB 0      0      10.200.177.1:32952 10.200.177.2:1935 users:(("ffmpeg",pid=740,fd=3))\n'
    "\t bbr wscale:10,10 rto:204 rtt:0.028/0.017 ato:40 mss:1448 pmtu:1500 rcvmss:1448 "
    "advmss:1448 cwnd:142 ssthresh:136 bytes_sent:1166658 bytes_acked:1166659 "
    "bytes_received:3482 segs_out:1344 segs_in:776 data_segs_out:1338 data_segs_in:8 "
    "bbr:(bw:8688000000bps,mrtt:0.001,pacing_gain:1.25,cwnd_gain:2) send 58747428571bps "
    "lastsnd:24 lastrcv:2760 lastack:24 pacing_rate 10751400000bps delivery_rate 3861333328bps "
    "delivered:1339 app_limited busy:188ms rcv_space:14480 rcv_ssthresh:73554 minrtt:0.001 "
    "snd_wnd:964608\n"
)
SS_SHAPED = (
    'ESTAB 0      55029  10.200.177.1:32952 10.200.177.2:1935 users:(("ffmpeg",pid=740,fd=3))\n'
    "\t bbr wscale:10,10 rto:284 rtt:82.175/6.864 ato:40 mss:1448 pmtu:1500 rcvmss:1448 "
    "advmss:1448 cwnd:8 ssthresh:136 bytes_sent:2021958 bytes_acked:2011823 "
    "bytes_received:3482 segs_out:2160 segs_in:1221 data_segs_out:2154 data_segs_in:8 "
    "bbr:(bw:956976bps,mrtt:0.001,pacing_gain:1,cwnd_gain:2) send 1127740bps lastsnd:8 "
    "lastrcv:7280 pacing_rate 947408bps delivery_rate 956136bps delivered:2148 busy:3204ms "
    "unacked:7 rcv_space:14480 rcv_ssthresh:73554 notsent:44893 minrtt:0.001 snd_wnd:964608\n"
)
SS_CLOSING = (
    "FIN-WAIT-1 0      55030  10.200.177.1:32952 10.200.177.2:1935\n"
    "\t bbr wscale:10,10 rto:284 rtt:82.175/6.864 ato:40 mss:1448 cwnd:8 bytes_sent:2021958 "
    "bytes_acked:2011823 bytes_received:3482 notsent:44894 minrtt:0.001 snd_wnd:964608\n"
)
# Linux adds bytes_retrans once a segment was sent again; two processes can share a socket.
SS_RETRANS = (
    "ESTAB 0 0 [2001:db8::1]:40000 [2001:db8::2]:443 "
    'users:(("ffmpeg",pid=12,fd=5),("ffmpeg",pid=13,fd=5))\n'
    "\t cubic wscale:7,7 rto:220 rtt:18.2/4.1 mss:1428 cwnd:10 bytes_sent:5000 "
    "bytes_retrans:1428 bytes_acked:3572 bytes_received:900 notsent:0\n"
)


@pytest.mark.parametrize(
    ("text", "conns"),
    [
        (SS_UNSHAPED, [TcpConn("ESTAB", "10.200.177.1:32952", "10.200.177.2:1935", 0,
                               frozenset({740}), 1166658, 1166659, None, None)]),
        (SS_SHAPED, [TcpConn("ESTAB", "10.200.177.1:32952", "10.200.177.2:1935", 55029,
                             frozenset({740}), 2021958, 2011823, None, 44893)]),
        (SS_CLOSING, [TcpConn("FIN-WAIT-1", "10.200.177.1:32952", "10.200.177.2:1935", 55030,
                              frozenset(), 2021958, 2011823, None, 44894)]),
        (SS_RETRANS, [TcpConn("ESTAB", "[2001:db8::1]:40000", "[2001:db8::2]:443", 0,
                              frozenset({12, 13}), 5000, 3572, 1428, 0)]),
        (SS_UNSHAPED + SS_CLOSING, [TcpConn("ESTAB", "10.200.177.1:32952", "10.200.177.2:1935",
                                            0, frozenset({740}), 1166658, 1166659, None, None),
                                    TcpConn("FIN-WAIT-1", "10.200.177.1:32952",
                                            "10.200.177.2:1935", 55030, frozenset(), 2021958,
                                            2011823, None, 44894)]),
        ("", []),
        ("State Recv-Q Send-Q Local Peer\n", []),  # a header (without -H) is not a socket
    ],
)  # fmt: skip
def test_parse_ss(text: str, conns: list[TcpConn]) -> None:
    assert net.parse_ss(text) == conns


def test_push_bytes() -> None:
    assert net.push_bytes(net.parse_ss(SS_SHAPED)) == 2011823
    assert net.push_bytes(net.parse_ss(SS_UNSHAPED + SS_RETRANS)) == 1166659 + 3572
    assert net.push_bytes([]) is None


@pytest.mark.parametrize(
    ("address", "argv"),
    [
        ("10.200.1.2", ["ss", "-tinpH", "dst", "10.200.1.2:1935"]),
        ("2001:db8::2", ["ss", "-tinpH", "dst", "[2001:db8::2]:1935"]),
        (None, ["ss", "-tinpH", "dport", "=", ":1935"]),
    ],
)
def test_ss_argv(address: str | None, argv: list[str]) -> None:
    assert net.ss_argv(address, 1935) == argv


def test_read_push_connections_of_a_real_process(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    pusher = subprocess.Popen(
        [sys.executable, "-c",
         "import socket, sys, time\n"
         f"s = socket.create_connection(('{HOST}', {port}))\n"
         "s.sendall(b'x' * 300000)\n"
         "print('sent', flush=True)\n"
         "time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        conn, _ = listener.accept()
        with conn:
            received = 0
            while received < 300000:
                received += len(conn.recv(65536))
            assert pusher.stdout is not None and pusher.stdout.readline() == "sent\n"
            other = net.read_push_connections(pusher.pid + 100000, HOST, port)
            mine = net.read_push_connections(pusher.pid, HOST, port)
            anywhere = net.read_push_connections(pusher.pid, None, port)
    finally:
        pusher.kill()
        pusher.wait()
    assert other == []
    assert mine is not None and len(mine) == 1 and mine == anywhere
    assert mine[0].state == "ESTAB" and mine[0].peer == f"{HOST}:{port}"
    assert net.push_bytes(mine) is not None and net.push_bytes(mine) >= 300000  # type: ignore[operator]


def series(*spans: tuple[float, float], start_bytes: int = 0) -> list[tuple[float, int]]:
    """Samples every 0.5 s: each span is (seconds, kb/s)."""
    out, t, b = [(0.0, start_bytes)], 0.0, float(start_bytes)
    for seconds, kbps in spans:
        for _ in range(int(seconds * 2)):
            t += 0.5
            b += kbps * 1000 / 8 * 0.5
            out.append((t, int(b)))
    return out


@pytest.mark.parametrize(
    ("samples", "state", "behind"),
    [
        (series((20, 2628)), "ok", 0.0),
        (series((20, 2300)), "ok", 0.0),  # 87 %: inside the tolerance
        # Counted from the end of the first window below the target: never early.
        (series((10, 2628), (10, 960)), "behind", 9.0),  # the 1 Mbit/s uplink
        (series((10, 2628), (6, 960)), "ok", 5.0),  # not more than 5 s yet
        (series((10, 2628), (4, 960)), "ok", 3.0),  # a dip
        (series((10, 2628), (8, 960), (4, 2628)), "ok", 0.0),  # recovered
        (series((10, 2628), (8, 0)), "behind", 7.5),  # stalled: nothing acknowledged
        (series((1.5, 2628)), "unknown", 0.0),  # less than one window
        ([], "unknown", 0.0),
        # A reconnect starts the counter again: the old connection's bytes do not count.
        (series((10, 2628))[:-1] + [(t + 10, b) for t, b in series((10, 2628))], "ok", 0.0),
    ],
)  # fmt: skip
def test_push_health(samples: list[tuple[float, int]], state: str, behind: float) -> None:
    health = net.push_health(samples, 2628)
    assert health.state == state
    assert health.behind_s == pytest.approx(behind, abs=0.01)


def test_push_health_message() -> None:
    health = net.push_health(series((10, 2628), (10, 960)), 2628)
    assert health.rate_kbps == pytest.approx(960, rel=0.01)
    assert health.message == (
        "Sending 1.0 Mb/s of a 2.6 Mb/s stream for 9 s: the connection cannot keep up; "
        "lower the bitrate or move closer to the router."
    )
    assert net.push_health([], 2628).message == "Send rate not known yet."
