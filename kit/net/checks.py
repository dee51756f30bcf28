"""Network pre-flight checks towards the real ingest, and the while-live push monitor.

Four checks in the style of kit.checks, ids ``wifi``, ``dns``, ``ingest``, ``upload``. Each
measures one step of the path a broadcast takes and says what to do when it is not good
enough. ``ingest`` proves the server speaks RTMP (kit.net.rtmp_probe: handshake and
``connect``, over TLS for rtmps://, never a publish) and reads the key's own ``expire=``
before any connection. Each has a hard time limit, so a pre-flight never hangs: DNS lookups run in a
thread that is abandoned at the deadline (getaddrinfo cannot be cancelled), sockets carry
timeouts from one deadline, and the Wi-Fi readers run under a deadline too.

The ``wifi`` check's levels: below -80 dBm fails (streams stall), below -70 dBm warns. Where
only NetworkManager's percentage is known, 35 % and 50 %: NetworkManager maps dBm to percent
in two ways (scan results: -100..-40 dBm -> 0..100 %; the joined AP through nl80211:
-90..-20 dBm -> 30..100 %); -70 dBm is 50 % in both, and 35 % lies between their -80 dBm.
Ethernet in use is ok. A machine with neither NetworkManager nor a wireless interface nor a
default route (a PC running the simulation) is "not measured" and ok: the ``ingest`` and
``upload`` checks test the path itself, and a warning nobody can act on would teach people
to ignore warnings.

The upload test POSTs random bytes, up to UPLOAD_MAX_BYTES for at most UPLOAD_SECONDS, to
``[network] upload_test_url`` (by default Cloudflare's speed test, kit.config) and times it
until the server's answer, so data still queued in the kernel's send buffer counts as not yet
sent. It needs 1.5 times the stream's total bitrate (video + audio). A test host that cannot
be reached, or a test turned off, is "not measured" at the ok level, never a warning: the
creator cannot change that from the page, and the ``ingest`` check tests the way to the
server anyway.

Every verdict's sentence is a :func:`kit.messages.define` template (``check.<id>.<what>``),
so a result carries its id and values for the page next to the English. The parts a
sentence is built from (the Wi-Fi link's details, the upload advice) are messages too.

The while-live monitor (``push_health``) is pure: given (time, bytes) samples of the push
connection, read with ``read_push_connections`` from ``ss -tinpH``, it says whether the
connection has been sending slower than the stream for more than a few seconds.
"""

from __future__ import annotations

import datetime
import errno
import http.client
import ipaddress
import logging
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

# One way only, as kit.hw.health: kit.checks must not import this module.
from kit import destination
from kit.checks import Context, Level, Result
from kit.config import UPLOAD_TEST_OFF, Config
from kit.messages import Message, define
from kit.net import rtmp_probe, wifi

T = TypeVar("T")
log = logging.getLogger(__name__)

SIGNAL_WARN_DBM = -70
SIGNAL_FAIL_DBM = -80
SIGNAL_WARN_PERCENT = 50
SIGNAL_FAIL_PERCENT = 35
WIFI_TIMEOUT_S = 6.0

DNS_TIMEOUT_S = 3.0
DNS_SLOW_MS = 1000.0

INGEST_TIMEOUT_S = 5.0  # lookup, TCP connect, TLS and RTMP handshakes and connect together
DETECT_RESERVE_S = 1.5  # kept for telling a scheme mix-up from a port that is not RTMP
CONNECT_SLOW_MS = 1000.0
TLS_SLOW_MS = 2000.0

UPLOAD_SECONDS = 2.0
UPLOAD_MAX_BYTES = 2 * 2**20
UPLOAD_TIMEOUT_S = 6.0
UPLOAD_HEADROOM = 1.5
# A small send buffer keeps what the kernel holds back (and so the wait for the answer) short.
UPLOAD_SNDBUF = 64 * 1024
UPLOAD_CHUNK = 32 * 1024
UPLOAD_USER_AGENT = "kit-upload-check/1"  # names the program, never the kit or its owner
MIN_BITRATE_KBPS = 500  # the lowest stream.bitrate_kbps kit.config accepts


def call_with_timeout(fn: Callable[[], T], timeout: float, name: str = "net-check") -> T:
    """fn() in a daemon thread; TimeoutError if it has not returned within `timeout` s.

    For calls that cannot be interrupted (getaddrinfo, a reader that runs several tools):
    the thread is left to finish on its own, the caller moves on.
    """
    box: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            box.append((True, fn()))
        except BaseException as e:  # handed to the caller below
            box.append((False, e))

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        raise TimeoutError(f"no answer within {timeout:g} s")
    ok, value = box[0]
    if ok:
        return value
    raise value


def _mbps(kbps: float) -> str:
    return f"{kbps / 1000:.1f} Mb/s"


def _server(config: Config) -> tuple[str, str, int]:
    """(scheme, host, port) of the stream server; DestinationError if it is not usable."""
    scheme, host, port, _ = destination.parse_server(config.stream.server)
    return scheme, host.strip("[]"), port


NOT_CHECKED = define("check.net.not_checked", "Not checked: {problem}.")


def _not_checked(check_id: str, e: destination.DestinationError) -> Result:
    # check_stream fails for the same reason and says how to fix it; no second failure.
    return Result(check_id, Level.WARN, NOT_CHECKED(problem=e.message))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# -- wifi ----------------------------------------------------------------------------

WIFI_HARD_BLOCKED = define("check.wifi.hard_blocked", "Wi-Fi is switched off by a hardware switch.")
WIFI_NO_COUNTRY = define(
    "check.wifi.no_country",
    "Wi-Fi is blocked because no Wi-Fi country is set: set the country "
    "(raspi-config: Localisation Options, WLAN Country), or plug in Ethernet.",
)
WIFI_RFKILL = define(
    "check.wifi.rfkill", "Wi-Fi is switched off (rfkill): turn Wi-Fi on, or plug in Ethernet."
)
WIFI_ETHERNET = define("check.wifi.ethernet", "Wired network ({interface}) in use.")
WIFI_NOT_MEASURED = define(
    "check.wifi.not_measured",
    "Wi-Fi not measured (no NetworkManager, no wireless interface, no route); "
    "the ingest and upload checks test the connection.",
)
WIFI_NO_NETWORK = define(
    "check.wifi.no_network",
    "Not connected to any network: join a Wi-Fi network or plug in Ethernet.",
)
WIFI_NAMED = define("check.wifi.named", "“{ssid}”")
WIFI_UNNAMED = define("check.wifi.unnamed", "Wi-Fi")
WIFI_RATE = define("check.wifi.rate", "{rate} Mb/s link")
WIFI_POWER_SAVE = define("check.wifi.power_save", "power saving on")
WIFI_NO_SIGNAL = define(
    "check.wifi.no_signal",
    "Connected to {name}, but its signal cannot be read: if the stream stalls, "
    "move the kit closer to the router.",
)
WIFI_TOO_WEAK = define(
    "check.wifi.too_weak",
    "Wi-Fi signal too weak to stream: {name} at {strength}{details}. Move the kit "
    "closer to the router, or use Ethernet.",
)
WIFI_WEAK = define(
    "check.wifi.weak",
    "Wi-Fi signal is weak: {name} at {strength}{details}. Move the kit closer to "
    "the router for a steadier stream.",
)
WIFI_OK = define("check.wifi.ok", "Wi-Fi {name} at {strength}{details}.")
WIFI_DETAILS = define("check.wifi.details", " ({parts})")
WIFI_SLOW_STATUS = define(
    "check.wifi.slow_status",
    "The Wi-Fi status did not come within {seconds} s: NetworkManager is busy.",
)


def wifi_result(status: wifi.LinkStatus) -> Result:
    """The ``wifi`` check's verdict on a link status (pure)."""
    radio = status.radio
    if status.kind == "none" and radio.blocked:
        if radio.hard_blocked:
            return Result("wifi", Level.FAIL, WIFI_HARD_BLOCKED())
        if radio.country is None:
            return Result("wifi", Level.FAIL, WIFI_NO_COUNTRY())
        return Result("wifi", Level.FAIL, WIFI_RFKILL())
    if status.kind == "ethernet":
        return Result("wifi", Level.OK, WIFI_ETHERNET(interface=status.interface))
    if status.kind == "none":
        if status.source == "none":
            return Result("wifi", Level.OK, WIFI_NOT_MEASURED())
        return Result("wifi", Level.FAIL, WIFI_NO_NETWORK())

    name = WIFI_NAMED(ssid=status.ssid) if status.ssid else WIFI_UNNAMED()
    parts: list[str | Message] = [
        part
        for part in (
            status.band,
            WIFI_RATE(rate=f"{status.rate_mbps:g}") if status.rate_mbps else None,
            WIFI_POWER_SAVE() if status.power_save else None,
        )
        if part
    ]
    if status.signal_dbm is not None:
        strength = f"{status.signal_dbm} dBm"
        fail = status.signal_dbm < SIGNAL_FAIL_DBM
        warn = status.signal_dbm < SIGNAL_WARN_DBM
    elif status.signal_percent is not None:
        strength = f"{status.signal_percent} %"
        fail = status.signal_percent < SIGNAL_FAIL_PERCENT
        warn = status.signal_percent < SIGNAL_WARN_PERCENT
    else:
        return Result("wifi", Level.WARN, WIFI_NO_SIGNAL(name=name))
    details = WIFI_DETAILS(parts=tuple(parts)) if parts else ""
    if fail:
        return Result(
            "wifi", Level.FAIL, WIFI_TOO_WEAK(name=name, strength=strength, details=details)
        )
    if warn:
        return Result("wifi", Level.WARN, WIFI_WEAK(name=name, strength=strength, details=details))
    return Result("wifi", Level.OK, WIFI_OK(name=name, strength=strength, details=details))


def check_wifi(
    ctx: Context,
    reader: Callable[[], wifi.LinkStatus] | None = None,
    timeout: float = WIFI_TIMEOUT_S,
) -> Result:
    read = reader or wifi.Wifi().status
    try:
        status = call_with_timeout(read, timeout, "wifi-check")
    except TimeoutError:
        return Result("wifi", Level.WARN, WIFI_SLOW_STATUS(seconds=f"{timeout:g}"))
    return wifi_result(status)


# -- dns -----------------------------------------------------------------------------

Resolver = Callable[..., list[Any]]


@dataclass(frozen=True)
class Lookup:
    addresses: list[str]
    ms: float


def resolve(
    host: str, port: int, timeout: float, resolver: Resolver = socket.getaddrinfo
) -> Lookup:
    """The host's addresses (IPv4 first: the ingests the kit knows answer on IPv4), timed.
    socket.gaierror or TimeoutError when it cannot be had within `timeout` s."""
    start = time.monotonic()
    infos = call_with_timeout(
        lambda: resolver(host, port, type=socket.SOCK_STREAM), timeout, "dns-lookup"
    )
    ms = (time.monotonic() - start) * 1000
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    addresses.sort(key=lambda a: ":" in a)
    return Lookup(addresses, ms)


LOOKUP_SLOW_FAIL = define(
    "check.dns.timeout",
    "Looking up {host} took longer than {seconds} s: check the internet connection "
    "(the router may be offline).",
)
LOOKUP_NO_NAME = define(
    "check.dns.no_such_name", "The server name {host} does not exist: check the server URL."
)
LOOKUP_FAILED = define(
    "check.dns.failed", "Cannot look up {host} ({error}): check the internet connection."
)
DNS_NO_ADDRESS = define(
    "check.dns.no_address", "The server name {host} has no address: check the server URL."
)
DNS_SLOW = define(
    "check.dns.slow",
    "{host} took {ms} ms to look up: the network is slow; "
    "if the stream stalls, move closer to the router.",
)
DNS_OK = define("check.dns.ok", "{host} found in {ms} ms.")
DNS_BY_ADDRESS = define(
    "check.dns.by_address", "The server is given by its address ({host}): no lookup."
)


def _lookup_failure(check_id: str, host: str, e: BaseException, timeout: float) -> Result:
    if isinstance(e, TimeoutError):
        return Result(check_id, Level.FAIL, LOOKUP_SLOW_FAIL(host=host, seconds=f"{timeout:g}"))
    code = getattr(e, "errno", None)
    if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
        return Result(check_id, Level.FAIL, LOOKUP_NO_NAME(host=host))
    return Result(check_id, Level.FAIL, LOOKUP_FAILED(host=host, error=e))


def dns_result(host: str, outcome: Lookup | BaseException, timeout: float) -> Result:
    """The ``dns`` check's verdict on one lookup (pure)."""
    if isinstance(outcome, BaseException):
        return _lookup_failure("dns", host, outcome, timeout)
    if not outcome.addresses:
        return Result("dns", Level.FAIL, DNS_NO_ADDRESS(host=host))
    if outcome.ms > DNS_SLOW_MS:
        return Result("dns", Level.WARN, DNS_SLOW(host=host, ms=f"{outcome.ms:.0f}"))
    return Result("dns", Level.OK, DNS_OK(host=host, ms=f"{outcome.ms:.0f}"))


def check_dns(
    ctx: Context, timeout: float = DNS_TIMEOUT_S, resolver: Resolver = socket.getaddrinfo
) -> Result:
    try:
        _, host, port = _server(ctx.config)
    except destination.DestinationError as e:
        return _not_checked("dns", e)
    if _is_ip(host):
        return Result("dns", Level.OK, DNS_BY_ADDRESS(host=host))
    try:
        outcome: Lookup | BaseException = resolve(host, port, timeout, resolver)
    except (OSError, TimeoutError) as e:
        outcome = e
    return dns_result(host, outcome, timeout)


# -- ingest --------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestProbe:
    address: str
    connect_ms: float
    tls_ms: float | None  # None for rtmp://
    rtmp_ms: float | None = None  # the RTMP handshake and connect


class StepTimeout(TimeoutError):
    """A step of a probe that ran out of time; `step` says which."""

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(step)


class WrongScheme(Exception):
    """The port speaks RTMP, but not the way the URL says: `expects` is "rtmps" (a TLS port
    reached with rtmp://) or "rtmp" (a plain RTMP port reached with rtmps://)."""

    def __init__(self, expects: str) -> None:
        self.expects = expects
        super().__init__(f"the server expects {expects}://")


class AppRefused(Exception):
    """The server speaks RTMP but did not accept ``connect`` to `app`."""

    def __init__(self, app: str, refusal: rtmp_probe.ConnectRefused) -> None:
        self.app = app
        self.refusal = refusal
        super().__init__(f"{app}: {refusal}")


def tls_context(verify: bool, ca_file: Path) -> ssl.SSLContext:
    """Checked against the CA file the config names, as ffmpeg is (stream.ca_file)."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=str(ca_file))


def _connect(address: str, port: int, deadline: float) -> socket.socket:
    left = deadline - time.monotonic()
    if left <= 0:
        raise StepTimeout("connect")
    try:
        return socket.create_connection((address, port), timeout=left)
    except TimeoutError:
        raise StepTimeout("connect") from None


def _speaks_tls(address: str, port: int, host: str, deadline: float) -> bool:
    """Does the port finish a TLS handshake? Only to name a mix-up: nothing is sent over
    it, so the certificate is not checked here."""
    try:
        with _connect(address, port, deadline) as sock:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            with tls_context(False, Path()).wrap_socket(sock, server_hostname=host):
                return True
    except (OSError, ssl.SSLError):  # TimeoutError, StepTimeout are OSErrors
        return False


def _speaks_rtmp(address: str, port: int, deadline: float) -> bool:
    """Does the port answer an RTMP handshake (S0 and S1) in plain TCP?"""
    try:
        with _connect(address, port, deadline) as sock:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.sendall(rtmp_probe.c0c1())
            head = rtmp_probe.read_exactly(
                sock, 1 + rtmp_probe.HANDSHAKE_SIZE, deadline, "handshake"
            )
            rtmp_probe.check_s0s1(head)
            return True
    except (OSError, rtmp_probe.NotRtmp):
        return False


def probe_ingest(
    host: str,
    port: int,
    secure: bool,
    *,
    app: str,
    ca_file: Path,
    verify: bool = True,
    timeout: float = INGEST_TIMEOUT_S,
    resolver: Resolver = socket.getaddrinfo,
) -> IngestProbe:
    """Connect to the ingest (each address in turn), do the TLS handshake for rtmps://, then
    the RTMP handshake and ``connect`` to `app` (kit.net.rtmp_probe: never a publish, never
    the key). When the handshake fails, a second connection tells a scheme mix-up (TLS
    where the URL says rtmp://, plain RTMP where it says rtmps://) from a port that is not
    RTMP at all; the last DETECT_RESERVE_S of the time limit are kept for it.
    Raises OSError, ssl.SSLError, socket.gaierror, StepTimeout, WrongScheme, AppRefused or
    rtmp_probe.NotRtmp."""
    start_all = time.monotonic()
    deadline = start_all + timeout
    reserve = min(DETECT_RESERVE_S, timeout * 0.3)
    context = tls_context(verify, ca_file) if secure else None  # a missing CA file raises here
    addresses = [host] if _is_ip(host) else resolve(host, port, timeout, resolver).addresses
    error: OSError = OSError(errno.EHOSTUNREACH, "no address")
    url = rtmp_probe.tc_url("rtmps" if secure else "rtmp", host, port, app)
    for address in addresses:
        start = time.monotonic()
        try:
            sock = _connect(address, port, deadline)
        except StepTimeout:
            raise
        except OSError as e:
            error = e
            continue
        connect_ms = (time.monotonic() - start) * 1000
        with sock:
            stream: socket.socket = sock
            tls_ms = None
            if context is not None:
                start = time.monotonic()
                sock.settimeout(max(0.001, deadline - reserve - time.monotonic()))
                try:
                    stream = context.wrap_socket(sock, server_hostname=host)
                except (TimeoutError, ssl.SSLError) as e:
                    if isinstance(e, ssl.SSLCertVerificationError):
                        raise
                    if _speaks_rtmp(address, port, deadline):
                        raise WrongScheme("rtmp") from e
                    if isinstance(e, TimeoutError):
                        raise StepTimeout("tls") from None
                    raise
                tls_ms = (time.monotonic() - start) * 1000
            start = time.monotonic()
            try:
                with stream:
                    rtmp_probe.rtmp_connect(
                        stream, app, url, deadline,
                        handshake_deadline=deadline - (0 if secure else reserve),
                    )  # fmt: skip
            except rtmp_probe.NotRtmp as e:
                tls_port = e.looks_like_tls or (
                    not secure and not e.head and _speaks_tls(address, port, host, deadline)
                )
                if not secure and tls_port:
                    raise WrongScheme("rtmps") from e
                raise
            except rtmp_probe.RtmpTimeout as e:
                if e.step == "handshake":
                    if not secure and _speaks_tls(address, port, host, deadline):
                        raise WrongScheme("rtmps") from e
                    raise StepTimeout("rtmp") from None
                raise StepTimeout("rtmp_connect") from None
            except rtmp_probe.ConnectRefused as e:
                raise AppRefused(app, e) from e
            rtmp_ms = (time.monotonic() - start) * 1000
            return IngestProbe(address, connect_ms, tls_ms, rtmp_ms)
    raise error


CERT_HOST = define(
    "check.ingest.cert_host", "The server's certificate is not for {host}: check the server URL."
)
CERT_EXPIRED = define(
    "check.ingest.cert_expired",
    "The server's certificate has expired ({where}): check the server URL.",
)
CERT_UNTRUSTED = define(
    "check.ingest.cert_untrusted",
    "The server's certificate is not trusted ({reason}): check the "
    "server URL; a certificate that cannot be checked may mean an impostor.",
)
TLS_FAILED = define(
    "check.ingest.tls_failed",
    "The secure connection to {where} failed ({reason}): check the server URL "
    "(rtmps:// or rtmp://, and the port).",
)
STEP_TLS = define("check.ingest.step_tls", "the secure connection")
STEP_CONNECT = define("check.ingest.step_connect", "connecting")
STEP_RTMP = define("check.ingest.step_rtmp", "the RTMP handshake")
STEP_RTMP_CONNECT = define("check.ingest.step_rtmp_connect", "the RTMP connect")
WANTS_RTMPS = define(
    "check.ingest.wants_rtmps",
    "The server {where} expects rtmps:// (a secure connection): change the start of the "
    "server URL from rtmp:// to rtmps://.",
)
WANTS_RTMP = define(
    "check.ingest.wants_rtmp",
    "The server {where} expects rtmp://, not rtmps://: change the start of the server URL "
    "to rtmp://, or check the port.",
)
NOT_RTMP = define(
    "check.ingest.not_rtmp",
    "{where} answers, but does not speak RTMP: check the server URL and the port.",
)
APP_REFUSED = define(
    "check.ingest.app_refused",
    "The server {where} speaks RTMP but does not accept the application “{app}”: "
    "check the server URL.",
)
KEY_EXPIRED = define(
    "check.ingest.key_expired", "This key expired at {time}: get a new one in the TikTok app."
)
KEY_EXPIRES = define(
    "check.ingest.key_expires",
    "This key expires in {minutes} minutes: for a longer broadcast, get a new one in the "
    "TikTok app.",
)
KEY_EXPIRES_NOW = define(
    "check.ingest.key_expires_now",
    "This key expires in less than 2 minutes: get a new one in the TikTok app.",
)
NO_ANSWER = define(
    "check.ingest.no_answer",
    "No answer from {where} within {seconds} s ({step}): check the internet "
    "connection and the server URL.",
)
CA_MISSING = define(
    "check.ingest.ca_missing",
    "The CA file {path} (stream.ca_file) is missing: fix stream.ca_file or "
    "install the ca-certificates package.",
)
INGEST_REFUSED = define(
    "check.ingest.refused", "Nothing answers at {where} (connection refused): check the server URL."
)
INGEST_NO_ROUTE = define(
    "check.ingest.no_route",
    "Cannot reach {where} (no route): check the Wi-Fi or Ethernet connection.",
)
INGEST_FAILED = define(
    "check.ingest.failed",
    "Cannot connect to {where} ({error}): check the connection and the server URL.",
)
TIMING = define("check.ingest.timing", "connect {connect} ms")
TIMING_TLS = define("check.ingest.timing_tls", "connect {connect} ms, TLS {tls} ms")
INGEST_SLOW = define(
    "check.ingest.slow",
    "The server {where} answers slowly ({timing}): the connection is congested; "
    "move closer to the router or lower the bitrate.",
)
INGEST_OK = define("check.ingest.ok", "The server {where} answers ({timing}).")


def ingest_result(
    host: str, port: int, outcome: IngestProbe | BaseException, timeout: float
) -> Result:
    """The ``ingest`` check's verdict on one probe (pure)."""
    where = f"{host}:{port}"
    e = outcome
    if isinstance(e, ssl.SSLCertVerificationError):
        code = e.verify_code
        if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            said = CERT_HOST(host=host)
        elif code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
            said = CERT_EXPIRED(where=where)
        else:
            said = CERT_UNTRUSTED(reason=e.verify_message)
        return Result("ingest", Level.FAIL, said)
    if isinstance(e, ssl.SSLError):
        return Result("ingest", Level.FAIL, TLS_FAILED(where=where, reason=e.reason or e))
    if isinstance(e, WrongScheme):
        said = WANTS_RTMPS(where=where) if e.expects == "rtmps" else WANTS_RTMP(where=where)
        return Result("ingest", Level.FAIL, said)
    if isinstance(e, rtmp_probe.NotRtmp):
        return Result("ingest", Level.FAIL, NOT_RTMP(where=where))
    if isinstance(e, AppRefused):
        return Result("ingest", Level.FAIL, APP_REFUSED(where=where, app=e.app))
    if isinstance(e, StepTimeout):
        step = {
            "tls": STEP_TLS, "rtmp": STEP_RTMP, "rtmp_connect": STEP_RTMP_CONNECT,
        }.get(e.step, STEP_CONNECT)()  # fmt: skip
        return Result(
            "ingest", Level.FAIL, NO_ANSWER(where=where, seconds=f"{timeout:g}", step=step)
        )
    if isinstance(e, (socket.gaierror, TimeoutError)):
        return _lookup_failure("ingest", host, e, timeout)
    if isinstance(e, FileNotFoundError):
        return Result("ingest", Level.FAIL, CA_MISSING(path=e.filename))
    if isinstance(e, OSError):
        if e.errno == errno.ECONNREFUSED:
            return Result("ingest", Level.FAIL, INGEST_REFUSED(where=where))
        if e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
            return Result("ingest", Level.FAIL, INGEST_NO_ROUTE(where=where))
        return Result("ingest", Level.FAIL, INGEST_FAILED(where=where, error=e.strerror or e))
    if isinstance(e, BaseException):
        raise e
    connect = f"{e.connect_ms:.0f}"
    timing = (
        TIMING(connect=connect)
        if e.tls_ms is None
        else TIMING_TLS(connect=connect, tls=f"{e.tls_ms:.0f}")
    )
    if e.connect_ms > CONNECT_SLOW_MS or (e.tls_ms or 0) > TLS_SLOW_MS:
        return Result("ingest", Level.WARN, INGEST_SLOW(where=where, timing=timing))
    return Result("ingest", Level.OK, INGEST_OK(where=where, timing=timing))


KEY_WARN_S = 15 * 60


def key_expiry(key: str) -> int | None:
    """The unix time in a key's ``expire=`` query parameter (TikTok's keys carry one);
    None when there is none or it is not a whole number."""
    _, _, query = key.partition("?")
    values = urllib.parse.parse_qs(query).get("expire") or [""]
    return int(values[0]) if values[0].isdigit() else None


def expiry_result(key: str, now: float, tz: datetime.tzinfo | None = None) -> Result | None:
    """The ``ingest`` check's verdict on the key's own expiry, before any connection (pure
    given `now`, a unix time, and `tz`; None: the kit's local time). None: no verdict (no
    expiry in the key, or more than KEY_WARN_S left). The key itself is never said."""
    expire = key_expiry(key)
    if expire is None:
        return None
    left = expire - now
    if left <= 0:
        at = datetime.datetime.fromtimestamp(expire, tz).astimezone(tz)
        today = datetime.datetime.fromtimestamp(now, tz).astimezone(tz).date()
        when = at.strftime("%H:%M" if at.date() == today else "%Y-%m-%d %H:%M")
        return Result("ingest", Level.FAIL, KEY_EXPIRED(time=when))
    if left < 120:
        return Result("ingest", Level.WARN, KEY_EXPIRES_NOW())
    if left < KEY_WARN_S:
        return Result("ingest", Level.WARN, KEY_EXPIRES(minutes=f"{int(left // 60)}"))
    return None


def check_ingest(
    ctx: Context,
    timeout: float = INGEST_TIMEOUT_S,
    resolver: Resolver = socket.getaddrinfo,
    clock: Callable[[], float] = time.time,
    tz: datetime.tzinfo | None = None,
) -> Result:
    try:
        scheme, host, port = _server(ctx.config)
        app = destination.parse_server(ctx.config.stream.server)[3]
    except destination.DestinationError as e:
        return _not_checked("ingest", e)
    s = ctx.config.stream
    expiry = expiry_result(s.key.reveal(), clock(), tz)
    if expiry is not None and expiry.status is Level.FAIL:
        return expiry  # no connection for a key that cannot work
    try:
        outcome: IngestProbe | BaseException = probe_ingest(
            host,
            port,
            scheme == "rtmps",
            app=app,
            ca_file=s.ca_file,
            verify=s.tls_verify,
            timeout=timeout,
            resolver=resolver,
        )
    except (
        OSError, TimeoutError, ssl.SSLError, WrongScheme, AppRefused, rtmp_probe.NotRtmp,
    ) as e:  # fmt: skip
        outcome = e
    result = ingest_result(host, port, outcome, timeout)
    if expiry is not None and result.status is not Level.FAIL:
        return expiry
    return result


# -- upload --------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadProbe:
    sent: int  # body bytes
    seconds: float  # from the first byte to the server's answer (or to giving up)
    status: int | None  # the HTTP status; None when the answer did not come in time

    @property
    def kbps(self) -> float:
        return self.sent * 8 / 1000 / self.seconds if self.seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        return self.status is not None


URL_SCHEME = define("check.upload.url_scheme", "must start with http:// or https://")
URL_INVALID = define("check.upload.url_invalid", "is not a valid address ({error})")


class UploadUrlError(ValueError):
    """[network] upload_test_url cannot be used; ``message`` says why (an id and values)."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(str(message))


def probe_upload(
    url: str,
    *,
    seconds: float = UPLOAD_SECONDS,
    max_bytes: int = UPLOAD_MAX_BYTES,
    timeout: float = UPLOAD_TIMEOUT_S,
) -> UploadProbe:
    """POST random bytes (chunked) for `seconds` or `max_bytes`, whichever comes first, and
    time it until the answer. Raises UploadUrlError, OSError or StepTimeout("connect"/"send")."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UploadUrlError(URL_SCHEME())
    deadline = time.monotonic() + timeout
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            conn.connect()
        except TimeoutError:
            raise StepTimeout("connect") from None
        assert conn.sock is not None
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UPLOAD_SNDBUF)
        conn.putrequest("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("User-Agent", UPLOAD_USER_AGENT)
        conn.endheaders()
        # Random bytes: nothing on the way can compress them; no key, no identifier.
        chunk = b"%x\r\n" % UPLOAD_CHUNK + os.urandom(UPLOAD_CHUNK) + b"\r\n"
        start = time.monotonic()
        sent = 0
        try:
            while sent < max_bytes and time.monotonic() - start < seconds:
                conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
                conn.send(chunk)
                sent += UPLOAD_CHUNK
            conn.send(b"0\r\n\r\n")
        except TimeoutError:
            raise StepTimeout("send") from None
        conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            response = conn.getresponse()
            response.read()
        except TimeoutError:
            # Not all of it arrived in time: the rate is below what this says.
            return UploadProbe(sent, time.monotonic() - start, None)
        return UploadProbe(sent, time.monotonic() - start, response.status)
    finally:
        conn.close()


def suggested_bitrate(upload_kbps: float, audio_kbps: int) -> int:
    """The highest video bitrate (whole 100 kb/s) that leaves the 1.5x headroom."""
    return int((upload_kbps / UPLOAD_HEADROOM - audio_kbps) // 100 * 100)


UPLOAD_OFF = define(
    "check.upload.off",
    "Upload speed not measured: the test is turned off ([network] upload_test_url). While "
    "live, the kit watches the stream's own send rate.",
)
UPLOAD_NOT_MEASURED = define(
    "check.upload.not_measured",
    "Upload speed not measured: {host} could not be reached ({why}). While live, the kit "
    "watches the stream's own send rate.",
)
UPLOAD_BAD_URL = define(
    "check.upload.bad_url", "Upload speed not measured: [network] upload_test_url {problem}."
)
UPLOAD_TIMEOUT = define(
    "check.upload.timeout",
    "The upload test to {host} could send nothing for {seconds} s: the upload is far too "
    "slow. Move closer to the router or use another network.",
)
# Why the test host could not be reached (the {why} of check.upload.not_measured).
WHY_NO_SUCH_HOST = define("check.upload.why.no_such_host", "no such host")
WHY_LOOKUP_FAILED = define("check.upload.why.lookup_failed", "its name could not be looked up")
WHY_REFUSED = define("check.upload.why.refused", "connection refused")
WHY_NO_ANSWER = define("check.upload.why.no_answer", "no answer within {seconds} s")
WHY_HTTP = define("check.upload.why.http", "it answered HTTP {status}")
WHY_NO_ROUTE = define("check.upload.why.no_route", "no network route to it")
WHY_TLS = define("check.upload.why.tls", "the secure connection failed")
WHY_BROKE_OFF = define("check.upload.why.broke_off", "the connection broke off")
AT_MOST = define("check.upload.at_most", "at most {rate}")
UPLOAD_OK = define("check.upload.ok", "Upload {measured}, enough for the stream's {stream}.")
TODO_LOWER = define(
    "check.upload.todo_lower", "lower the bitrate to {kbps} kb/s, or move closer to the router"
)
TODO_LOWEST = define(
    "check.upload.todo_lowest",
    "lower the bitrate to the lowest, {kbps} kb/s, and move closer to the "
    "router or use another network",
)
TODO_MOVE = define(
    "check.upload.todo_move",
    "move closer to the router or use another network: even {kbps} kb/s needs more",
)
UPLOAD_TOO_SLOW = define(
    "check.upload.too_slow", "Upload {measured} is less than the stream's {stream}: {todo}."
)
UPLOAD_TIGHT = define(
    "check.upload.tight",
    "Upload {measured} leaves little room for the stream's {stream} (1.5 times is safe): {todo}.",
)


def _not_reached(outcome: BaseException | UploadProbe, timeout: float) -> Message | None:
    """Why the test host could not be reached (None: it was, and the probe measured)."""
    if isinstance(outcome, StepTimeout):
        return WHY_NO_ANSWER(seconds=f"{timeout:g}") if outcome.step == "connect" else None
    if isinstance(outcome, socket.gaierror):
        return WHY_NO_SUCH_HOST() if outcome.errno == socket.EAI_NONAME else WHY_LOOKUP_FAILED()
    if isinstance(outcome, OSError):
        if outcome.errno == errno.ECONNREFUSED:
            return WHY_REFUSED()
        if outcome.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return WHY_NO_ROUTE()
        # The OS's or OpenSSL's own English goes to the log only (upload_result).
        return WHY_TLS() if isinstance(outcome, ssl.SSLError) else WHY_BROKE_OFF()
    if isinstance(outcome, UploadProbe) and outcome.status is not None and outcome.status >= 400:
        return WHY_HTTP(status=outcome.status)
    return None


def upload_result(
    url: str,
    outcome: UploadProbe | BaseException | None,
    video_kbps: int,
    audio_kbps: int,
    timeout: float = UPLOAD_TIMEOUT_S,
) -> Result:
    """The ``upload`` check's verdict (pure). `outcome` None: the test is turned off.

    Only a measurement warns or fails. When the test host cannot be reached (offline, a
    hotspot without internet, a network that blocks it) or the test is off, the speed is
    "not measured" at the ok level: nothing the creator could do from the page, and the
    ingest check tests the way to the server anyway; while live, the supervisor watches the
    stream's own send rate (push_health)."""
    if outcome is None:
        return Result("upload", Level.OK, UPLOAD_OFF())
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(outcome, UploadUrlError):
        return Result("upload", Level.OK, UPLOAD_BAD_URL(problem=outcome.message))
    if isinstance(outcome, StepTimeout) and outcome.step != "connect":
        return Result("upload", Level.FAIL, UPLOAD_TIMEOUT(host=host, seconds=f"{timeout:g}"))
    why = _not_reached(outcome, timeout)
    if why is not None:
        log.info("upload test to %s: not measured (%s; %s)", host, why, outcome)
        return Result("upload", Level.OK, UPLOAD_NOT_MEASURED(host=host, why=why))
    if isinstance(outcome, BaseException):
        raise outcome
    stream = video_kbps + audio_kbps
    need = stream * UPLOAD_HEADROOM
    rate = outcome.kbps
    measured: str | Message = _mbps(rate) if outcome.complete else AT_MOST(rate=_mbps(rate))
    if rate >= need and outcome.complete:
        return Result("upload", Level.OK, UPLOAD_OK(measured=measured, stream=_mbps(stream)))
    suggestion = suggested_bitrate(rate, audio_kbps)
    if suggestion >= MIN_BITRATE_KBPS:
        todo = TODO_LOWER(kbps=suggestion)
    elif rate >= MIN_BITRATE_KBPS + audio_kbps:
        todo = TODO_LOWEST(kbps=MIN_BITRATE_KBPS)
    else:
        todo = TODO_MOVE(kbps=MIN_BITRATE_KBPS)
    verdict = UPLOAD_TOO_SLOW if rate < stream or not outcome.complete else UPLOAD_TIGHT
    level = Level.FAIL if verdict is UPLOAD_TOO_SLOW else Level.WARN
    return Result("upload", level, verdict(measured=measured, stream=_mbps(stream), todo=todo))


def upload_test_url(config: Config) -> str:
    """The test's address; "" when it is turned off ("off" or empty in the config)."""
    url = config.network.upload_test_url
    return "" if url in UPLOAD_TEST_OFF else url


def check_upload(ctx: Context, url: str | None = None, timeout: float = UPLOAD_TIMEOUT_S) -> Result:
    url = upload_test_url(ctx.config) if url is None else url
    s = ctx.config.stream
    outcome: UploadProbe | BaseException | None = None
    if url:
        try:
            outcome = probe_upload(url, timeout=timeout)
        except UploadUrlError as e:
            outcome = e
        except ValueError as e:  # http.client.InvalidURL: a port that is not a number
            outcome = UploadUrlError(URL_INVALID(error=e))
        except http.client.HTTPException as e:
            outcome = OSError(f"not an HTTP answer: {e!r}")
        except OSError as e:
            outcome = e
    return upload_result(url, outcome, s.bitrate_kbps, s.audio_bitrate_kbps, timeout)


NET_CHECKS: list[Callable[[Context], Result]] = [check_wifi, check_dns, check_ingest, check_upload]


# -- while live: the push connection ---------------------------------------------------


@dataclass(frozen=True)
class TcpConn:
    """One TCP socket as ``ss -tinpH`` shows it."""

    state: str  # "ESTAB", "SYN-SENT", "FIN-WAIT-1", ...
    local: str
    peer: str
    send_q: int
    pids: frozenset[int]
    bytes_sent: int | None
    bytes_acked: int | None
    bytes_retrans: int | None
    notsent: int | None


def _info_int(info: str, name: str) -> int | None:
    m = re.search(rf"(?:^|\s){name}:(\d+)", info)
    return int(m.group(1)) if m else None


def parse_ss(text: str) -> list[TcpConn]:
    """``ss -tinpH`` output: a line per socket (state, Recv-Q, Send-Q, local, peer and, with
    -p, users:(("ffmpeg",pid=740,fd=3))), then its -i details on indented lines."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    conns = []
    for head, *info_lines in blocks:
        parts = head.split()
        if len(parts) < 5 or not parts[2].isdigit():
            continue
        info = " ".join(info_lines)
        conns.append(
            TcpConn(
                state=parts[0],
                local=parts[3],
                peer=parts[4],
                send_q=int(parts[2]),
                pids=frozenset(int(p) for p in re.findall(r"pid=(\d+)", head)),
                bytes_sent=_info_int(info, "bytes_sent"),
                bytes_acked=_info_int(info, "bytes_acked"),
                bytes_retrans=_info_int(info, "bytes_retrans"),
                notsent=_info_int(info, "notsent"),
            )
        )
    return conns


def ss_argv(address: str | None, port: int) -> list[str]:
    if address is None:
        return ["ss", "-tinpH", "dport", "=", f":{port}"]
    peer = f"[{address}]" if ":" in address else address
    return ["ss", "-tinpH", "dst", f"{peer}:{port}"]


def read_push_connections(
    pid: int, address: str | None, port: int, timeout: float = 2.0
) -> list[TcpConn] | None:
    """The established TCP connections of process `pid` to the ingest; None if ss fails.

    `address` is the ingest's IP (None: any address on `port`). ss shows the owner of a
    socket only to root or to the same user, which the kit is for its own ffmpeg.
    """
    try:
        done = subprocess.run(
            ss_argv(address, port), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [c for c in parse_ss(done.stdout) if pid in c.pids and c.state == "ESTAB"]


def push_bytes(conns: Sequence[TcpConn]) -> int | None:
    """Bytes the ingest has acknowledged (else sent) over the push connections."""
    counts = [c.bytes_acked if c.bytes_acked is not None else c.bytes_sent for c in conns]
    known = [n for n in counts if n is not None]
    return sum(known) if known else None


@dataclass(frozen=True)
class PushHealth:
    state: Literal["ok", "behind", "unknown"]
    rate_kbps: float | None  # over the last window
    target_kbps: float
    behind_s: float  # how long the rate has stayed below the target

    @property
    def message(self) -> str:
        if self.state == "unknown" or self.rate_kbps is None:
            return "Send rate not known yet."
        if self.state == "behind":
            return (
                f"Sending {_mbps(self.rate_kbps)} of a {_mbps(self.target_kbps)} stream for "
                f"{self.behind_s:.0f} s: the connection cannot keep up; lower the bitrate or "
                "move closer to the router."
            )
        return f"Sending {_mbps(self.rate_kbps)} of a {_mbps(self.target_kbps)} stream."


def push_health(
    samples: Sequence[tuple[float, int]],
    target_kbps: float,
    *,
    window_s: float = 2.0,
    behind_after_s: float = 5.0,
    tolerance: float = 0.8,
) -> PushHealth:
    """Is the push connection keeping up? (pure)

    `samples` are (time.monotonic(), bytes) of the push connection, oldest first, bytes
    being what ``push_bytes`` returns. `target_kbps` is what the encoder makes: its measured
    output rate where known (the supervisor's bitrate from the recording's growth), else
    the configured video + audio bitrate; a still picture compresses below the configured
    rate, and comparing with that would cry wolf. Rates are taken over windows of at least
    `window_s`; the verdict is "behind" when the rate has stayed below `tolerance` x target
    for more than `behind_after_s` seconds, counted from the end of the first window below
    it (so a slowdown is never reported early, and at most one window late).
    A drop in the byte count (a new connection after a reconnect) starts afresh.
    """
    ordered = sorted(samples)
    for i in range(len(ordered) - 1, 0, -1):
        if ordered[i][1] < ordered[i - 1][1]:
            ordered = ordered[i:]
            break
    windows: list[tuple[float, float, float]] = []  # (start, end, kbps)
    j = 0
    for t, b in ordered:
        while j + 1 < len(ordered) and t - ordered[j + 1][0] >= window_s:
            j += 1
        t0, b0 = ordered[j]
        if t - t0 >= window_s:
            windows.append((t0, t, (b - b0) * 8 / 1000 / (t - t0)))
    if not windows:
        return PushHealth("unknown", None, target_kbps, 0.0)
    floor = tolerance * target_kbps
    since = None  # the end of the first window of the trailing run below the floor
    for _, end, kbps in reversed(windows):
        if kbps >= floor:
            break
        since = end
    rate = windows[-1][2]
    behind_s = windows[-1][1] - since if since is not None else 0.0
    return PushHealth("behind" if behind_s > behind_after_s else "ok", rate, target_kbps, behind_s)
