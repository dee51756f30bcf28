"""The ``ingest`` check (and so Test connection) against real peers: nginx-rtmp's plain port
and its TLS port (nginx's stream module, the test CA), each reached the right and the wrong
way, a web server and a silent TCP port. The mix-ups of issue 10 each get their own words.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kit import config
from kit.checks import Context, Level
from kit.net import checks as net
from tests.peers.ingest import HOST, Ingest

KEY = "stream-1?expire=9999999999&sign=secret"


def context(server: str, ca_file: Path) -> Context:
    cfg = config.from_dict({"stream": {"server": server, "key": KEY, "ca_file": str(ca_file)}})
    return Context(cfg, camera_ok=lambda: True, microphone_ok=lambda: True)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    with Ingest(tmp_path_factory.mktemp("ingest")) as ingest:
        yield ingest


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_port() -> Iterator[int]:
    server = ThreadingHTTPServer((HOST, 0), _Hello)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections (the kernel's backlog) and never says a word."""
    with socket.create_server((HOST, 0)) as sock:
        yield sock.getsockname()[1]


def check(server: str, ca_file: Path, timeout: float = net.INGEST_TIMEOUT_S) -> tuple[Level, str]:
    start = time.monotonic()
    result = net.check_ingest(context(server, ca_file), timeout=timeout)
    assert time.monotonic() - start < timeout + 0.5
    assert "secret" not in result.message and "stream-1" not in result.message
    return result.status, result.message


def test_rtmp_to_the_rtmp_port(nginx: Ingest) -> None:
    level, said = check(nginx.rtmp_url(), nginx.ca_file)
    assert level is Level.OK, said
    assert said.startswith(f"The server {HOST}:{nginx.rtmp_port} answers (connect ")
    assert nginx.publishes == []  # connect only: the key was never offered


def test_rtmps_to_the_tls_port(nginx: Ingest) -> None:
    level, said = check(nginx.rtmps_url(), nginx.ca_file)
    assert level is Level.OK, said
    assert "TLS" in said
    assert nginx.publishes == []


def test_rtmp_to_the_tls_port_says_rtmps(nginx: Ingest) -> None:
    level, said = check(f"rtmp://{HOST}:{nginx.tls_port}/game/", nginx.ca_file)
    assert (level, said) == (
        Level.FAIL,
        f"The server {HOST}:{nginx.tls_port} expects rtmps:// (a secure connection): "
        "change the start of the server URL from rtmp:// to rtmps://.",
    )


def test_rtmps_to_the_rtmp_port_says_rtmp(nginx: Ingest) -> None:
    level, said = check(f"rtmps://{HOST}:{nginx.rtmp_port}/game/", nginx.ca_file)
    assert (level, said) == (
        Level.FAIL,
        f"The server {HOST}:{nginx.rtmp_port} expects rtmp://, not rtmps://: change the "
        "start of the server URL to rtmp://, or check the port.",
    )


def test_an_unknown_application(nginx: Ingest) -> None:
    level, said = check(f"rtmp://{HOST}:{nginx.rtmp_port}/nosuchapp/", nginx.ca_file)
    assert level is Level.FAIL
    assert said == (
        f"The server {HOST}:{nginx.rtmp_port} speaks RTMP but does not accept the "
        "application “nosuchapp”: check the server URL."
    )


def test_the_tls_port_still_checks_the_certificate(nginx: Ingest) -> None:
    level, said = check(nginx.rtmps_url(), Path("/etc/ssl/certs/ca-certificates.crt"))
    assert level is Level.FAIL
    assert "certificate is not trusted" in said


def test_a_web_server_does_not_speak_rtmp(web_port: int, nginx: Ingest) -> None:
    level, said = check(f"rtmp://{HOST}:{web_port}/game/", nginx.ca_file)
    assert (level, said) == (
        Level.FAIL,
        f"{HOST}:{web_port} answers, but does not speak RTMP: check the server URL and the port.",
    )


def test_a_web_server_over_rtmps_is_not_tls(web_port: int, nginx: Ingest) -> None:
    level, said = check(f"rtmps://{HOST}:{web_port}/game/", nginx.ca_file)
    assert level is Level.FAIL
    assert said.startswith(f"The secure connection to {HOST}:{web_port} failed (")


def test_a_silent_port(silent_port: int, nginx: Ingest) -> None:
    level, said = check(f"rtmp://{HOST}:{silent_port}/game/", nginx.ca_file, timeout=2)
    assert (level, said) == (
        Level.FAIL,
        f"No answer from {HOST}:{silent_port} within 2 s (the RTMP handshake): check the "
        "internet connection and the server URL.",
    )
