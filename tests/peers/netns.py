"""A network namespace joined to this host by a veth pair: the kit's network checks against
real peers behind a link the test can cut or slow down.

    host (the kit, pytest)              namespace "kitnetX"
    10.200.X.1/30  kn{X}h  <== veth ==>  kn{X}n  10.200.X.2/30
                      ^ tc tbf shapes the uplink here (host -> namespace)

Inside the namespace run the peers: nginx with the RTMP module (plain RTMP, and RTMPS through
nginx's stream module with a throwaway CA whose certificate names 10.200.X.2) and an HTTP
upload sink. These addresses are the project's own test hosts inside the sandbox; nothing
here reaches another address.

Needs root (ip netns, ip link, tc). Every object is removed on close(), also after a failure,
at garbage collection or at interpreter exit (weakref.finalize), and every namespace has a
name of its own, so tests never see each other's links.

Run as ``python -m tests.peers.netns sink HOST PORT`` it is the upload sink itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODULES = Path("/usr/lib/nginx/modules")
REPO = Path(__file__).resolve().parents[2]
RTMP_PORT = 1935
RTMPS_PORT = 443
SINK_PORT = 8000
# Interface names must fit IFNAMSIZ (15 characters): kn255h is 6.
_MAX_INDEX = 255


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL for the whole group (nginx has workers)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _teardown(
    name: str, host_if: str, guard: list[str], procs: list[subprocess.Popen[bytes]]
) -> None:
    for proc in procs:
        with contextlib.suppress(OSError):  # already gone: the links must go all the same
            _stop(proc)
    procs.clear()
    # Deleting the host end removes its peer; `ip netns del` alone leaves the host end
    # behind for a while (seen under gVisor), which would collide with the next test.
    _ip("link", "del", host_if, check=False)
    _ip("netns", "del", name, check=False)
    _ip("route", "del", *guard, check=False)


class NetNs:
    """One namespace and its veth pair. Use as a context manager."""

    def __init__(self) -> None:
        self.index = self._claim()
        self.name = f"kitnet{self.index}"
        self.host_if = f"kn{self.index}h"
        self.ns_if = f"kn{self.index}n"
        self.host_ip = f"10.200.{self.index}.1"
        self.ns_ip = f"10.200.{self.index}.2"
        # While the host end is down its route is gone, and the default route would carry
        # packets for 10.200.X.2 out of the sandbox: this route keeps them here.
        self._guard = ["unreachable", f"10.200.{self.index}.0/30", "metric", "9999"]
        self._procs: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(
            self, _teardown, self.name, self.host_if, self._guard, self._procs
        )
        try:
            self._link()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _claim() -> int:
        """The first free index: `ip netns add` fails if the name exists, so it is the lock."""
        start = os.getpid() % _MAX_INDEX
        for step in range(_MAX_INDEX):
            index = (start + step) % _MAX_INDEX + 1
            if os.path.exists(f"/sys/class/net/kn{index}h"):
                continue
            if _ip("netns", "add", f"kitnet{index}", check=False).returncode == 0:
                return index
        raise RuntimeError("no free network namespace index")

    def _link(self) -> None:
        _ip("route", "replace", *self._guard)
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if,
            "netns", self.name)  # fmt: skip
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        self.run(["ip", "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if])
        self.run(["ip", "link", "set", self.ns_if, "up"])
        self.run(["ip", "link", "set", "lo", "up"])

    def __enter__(self) -> NetNs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._finalizer()

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and wait for it; RuntimeError if it fails."""
        return _ip("netns", "exec", self.name, *argv)

    def spawn(self, argv: list[str], log: Path, **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a process inside the namespace; it is stopped on close()."""
        with log.open("ab") as out:
            # `ip netns exec` execs the command, so the pid is the command's own.
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.name, *argv],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, **kwargs,  # type: ignore[arg-type]
            )  # fmt: skip
        self._procs.append(proc)
        return proc

    def link_down(self, where: str = "host") -> None:
        """Cut the link. "host": the kit's own interface goes down, as when the Pi loses its
        Wi-Fi (connecting fails at once: no route to host). "far": everything the namespace
        sends back vanishes, as past a router that lost its uplink (connecting times out).
        (Taking the namespace's interface down instead would fail ARP after 3 s with "no
        route to host", the first case again.)"""
        if where == "host":
            _ip("link", "set", self.host_if, "down")
        else:
            self.run(["ip", "route", "replace", "blackhole", f"{self.host_ip}/32"])

    def link_up(self) -> None:
        _ip("link", "set", self.host_if, "up")
        subprocess.run(
            ["ip", "netns", "exec", self.name, "ip", "route", "del", "blackhole",
             f"{self.host_ip}/32"], capture_output=True,
        )  # fmt: skip

    def shape(self, rate: str = "1mbit", burst: str = "32kbit", latency: str = "400ms") -> None:
        """Limit the uplink (host -> namespace) with a token bucket, like a slow Wi-Fi."""
        subprocess.run(
            ["tc", "qdisc", "replace", "dev", self.host_if, "root", "tbf",
             "rate", rate, "burst", burst, "latency", latency],
            capture_output=True, text=True, check=True,
        )  # fmt: skip

    def unshape(self) -> None:
        subprocess.run(["tc", "qdisc", "del", "dev", self.host_if, "root"], capture_output=True)

    def wait_port(
        self, port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 10
    ) -> None:
        """Return once the namespace side accepts connections on `port` (from the host)."""
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"exited at start:\n{log.read_text(errors='replace')}")
            try:
                socket.create_connection((self.ns_ip, port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"port {port} not listening:\n{log.read_text()}") from None
                time.sleep(0.05)


def make_certs(directory: Path, ip: str, names: tuple[str, ...] = ()) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for the IP address `ip` and the host `names`
    (SANs: clients match an IP literal only against IP entries, a name only against DNS
    entries)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert, ext = (
        directory / n
        for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "server.ext")
    )
    san = ",".join([f"IP:{ip}", *(f"DNS:{name}" for name in names)])
    ext.write_text(
        f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=kit netns test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={ip}"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", cert],
    ):  # fmt: skip
        subprocess.run([str(a) for a in command], check=True, capture_output=True)
    return ca, cert, key


class NsIngest:
    """nginx-rtmp listening on the namespace address: RTMP on 1935, RTMPS on 443.

    The applications "live" and "game" accept any publish and record nothing: these tests
    measure the path, not the media (tests/peers/ingest.py checks the media).
    """

    def __init__(self, ns: NetNs, root: Path, names: tuple[str, ...] = ()) -> None:
        """`names`: host names the certificate is also for (resolved by the test itself)."""
        self.ns = ns
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca_file, cert, key = make_certs(root / "tls", ns.ns_ip, names)
        user = "user root;" if os.geteuid() == 0 else ""
        apps = "".join(f"\n        application {a} {{ live on; }}" for a in ("live", "game"))
        (root / "nginx.conf").write_text(
            f"""
load_module {MODULES}/ngx_rtmp_module.so;
load_module {MODULES}/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 64; }}
stream {{
    server {{
        listen {ns.ns_ip}:{RTMPS_PORT} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        proxy_pass {ns.ns_ip}:{RTMP_PORT};
    }}
}}
rtmp {{
    server {{
        listen {ns.ns_ip}:{RTMP_PORT};
        chunk_size 4096;{apps}
    }}
}}
"""
        )
        self.log = root / "nginx.stderr"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = self.ns.spawn(
            ["nginx", "-p", f"{self.root}/", "-c", str(self.root / "nginx.conf"),
             "-e", str(self.root / "error.log")],
            self.log,
        )  # fmt: skip
        self.ns.wait_port(RTMP_PORT, self.proc, self.log)
        self.ns.wait_port(RTMPS_PORT, self.proc, self.log)

    def rtmp_url(self, app: str = "live") -> str:
        return f"rtmp://{self.ns.ns_ip}:{RTMP_PORT}/{app}/"

    def rtmps_url(self, app: str = "live") -> str:
        return f"rtmps://{self.ns.ns_ip}:{RTMPS_PORT}/{app}/"


class UploadSink:
    """An HTTP server in the namespace that reads and discards POST bodies (chunked or with a
    Content-Length) and answers 200 with the byte count."""

    def __init__(self, ns: NetNs, root: Path) -> None:
        self.ns = ns
        self.log = root / "sink.log"
        root.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = self.ns.spawn(
            [sys.executable, "-m", "tests.peers.netns", "sink", self.ns.ns_ip, str(SINK_PORT)],
            self.log,
            cwd=REPO,
        )
        self.ns.wait_port(SINK_PORT, self.proc, self.log)

    @property
    def url(self) -> str:
        return f"http://{self.ns.ns_ip}:{SINK_PORT}/upload"


class _SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        received = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    break
                received += len(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                data = self.rfile.read(min(left, 65536))
                if not data:
                    break
                received += len(data)
                left -= len(data)
        body = f"{received}\n".encode()
        # Any other path is a 404, as a mistyped upload_test_url would get.
        self.send_response(200 if self.path.split("?")[0] == "/upload" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def sink_server(host: str, port: int) -> ThreadingHTTPServer:
    """The upload sink's server, bound and ready for serve_forever()."""
    server = ThreadingHTTPServer((host, port), _SinkHandler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "sink":
        sys.exit("usage: python -m tests.peers.netns sink HOST PORT")
    sink_server(sys.argv[2], int(sys.argv[3])).serve_forever()
