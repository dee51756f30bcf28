"""A real RTMP/RTMPS ingest server for tests: nginx-rtmp plus an in-process on_publish hook.

nginx runs in the foreground as our child (never daemonized) so that a crashed test cannot
leave it behind; everything it writes lives in one directory.  RTMPS is nginx's stream
module terminating TLS in front of the RTMP port, like the TLS front ends real platforms use.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

MODULES = Path("/usr/lib/nginx/modules")
APPS = ("game", "live")
HOST = "127.0.0.1"
# The recording watcher's poll period: it bounds how late a media arrival time can be.
POLL_S = 0.005


@dataclass(frozen=True)
class MediaTag:
    """One audio/video FLV tag as it landed in a recording."""

    path: Path
    arrived: float  # time.monotonic() when the whole tag was first seen on disk
    kind: str  # "audio" or "video"
    timestamp_ms: int  # the FLV (stream) timestamp
    config: bool  # an AVC/AAC sequence header rather than a frame


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        directory / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = directory / "server.ext"
    # Clients check the SAN, not the CN; gnutls matches an IP literal only against IP: entries.
    ext.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=kit test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", cert],
    ]  # fmt: skip
    for command in commands:
        subprocess.run([str(arg) for arg in command], check=True, capture_output=True)
    return ca, cert, key


def _nginx_conf(root: Path, rtmp_port: int, tls_port: int, hook_port: int) -> str:
    # As root, nginx workers would drop to nobody and could not write recordings here.
    user = "user root;" if os.geteuid() == 0 else ""
    apps = "".join(
        f"""
        application {app} {{
            live on;
            record all;
            record_path {root}/record/{app};
            record_unique on;
            on_publish http://{HOST}:{hook_port}/on_publish;
        }}"""
        for app in APPS
    )
    return f"""
load_module {MODULES}/ngx_rtmp_module.so;
load_module {MODULES}/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 256; }}
stream {{
    server {{
        listen {HOST}:{tls_port} ssl;
        ssl_certificate {root}/tls/server.pem;
        ssl_certificate_key {root}/tls/server.key;
        proxy_pass {HOST}:{rtmp_port};
    }}
}}
rtmp {{
    server {{
        listen {HOST}:{rtmp_port};
        chunk_size 4096;{apps}
    }}
}}
"""


class _Hooks:
    """What the on_publish hook saw, shared with the HTTP server's threads."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.publishes: list[dict] = []
        self.reject_names: set[str] = set()

    def on_publish(self, path: str, raw: str) -> bool:
        fields: dict = {}
        for key, value in parse_qsl(raw, keep_blank_values=True):
            # nginx's own fields come before the key's query; a key must not shadow them.
            fields.setdefault(key, value)
        accepted = fields.get("name") not in self.reject_names
        fields.update(_raw=raw, _time=time.monotonic(), _accepted=accepted, _path=path)
        with self.changed:
            self.publishes.append(fields)
            self.changed.notify_all()
        return accepted


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hooks: _Hooks) -> None:
        super().__init__((HOST, 0), _HookHandler)
        self.hooks = hooks


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # surrogateescape keeps the body byte-for-byte recoverable whatever a key contains.
        accepted = self.server.hooks.on_publish(self.path, body.decode("utf-8", "surrogateescape"))
        self.send_response(200 if accepted else 403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class _FlvFile:
    offset: int = 0  # where the next unread tag starts; 0 until the file header is read
    size: int = 0


class _Watcher:
    """Follows the FLV recordings as nginx writes them and notes when each tag landed."""

    def __init__(self, record_dir: Path) -> None:
        self.record_dir = record_dir
        self.changed = threading.Condition()
        self.files: dict[Path, _FlvFile] = {}  # in the order they appeared
        self.tags: list[MediaTag] = []
        self.error: BaseException | None = None
        self._scan_lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ingest-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stopped.wait(POLL_S):
                self.scan()
        except BaseException as exc:
            # Surface it in wait_for_media instead of silently timing out there.
            with self.changed:
                self.error = exc
                self.changed.notify_all()
            raise

    def scan(self) -> None:
        with self._scan_lock:
            new = sorted(
                (p for p in self.record_dir.glob("*/*.flv") if p not in self.files),
                key=lambda p: p.stat().st_mtime_ns,
            )
            with self.changed:
                self.files.update((p, _FlvFile()) for p in new)
            tags = [tag for path, state in self.files.items() for tag in _read_tags(path, state)]
            if tags:
                with self.changed:
                    self.tags.extend(tags)
                    self.changed.notify_all()


def _read_tags(path: Path, state: _FlvFile) -> list[MediaTag]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return []
    if size == state.size:
        return []
    if size < state.size:  # rewritten from the start (same name, same second)
        state.offset = 0
    state.size = size
    with path.open("rb") as file:
        file.seek(state.offset)
        data = file.read()
    now = time.monotonic()
    pos = 0
    if state.offset == 0:
        if len(data) < 9 or data[:3] != b"FLV":
            return []
        pos = int.from_bytes(data[5:9]) + 4  # header, then PreviousTagSize0
    tags = []
    while pos + 11 <= len(data):
        kind, length = data[pos] & 0x1F, int.from_bytes(data[pos + 1 : pos + 4])
        end = pos + 11 + length
        if end > len(data):
            break
        timestamp = int.from_bytes(data[pos + 4 : pos + 7]) | data[pos + 7] << 24
        body = data[pos + 11 : end]
        if kind in (8, 9) and body:
            # AVCPacketType / AACPacketType 0 marks a sequence header, not media.
            is_avc = kind == 9 and body[0] & 0x0F == 7
            is_aac = kind == 8 and body[0] >> 4 == 10
            config = (is_avc or is_aac) and len(body) > 1 and body[1] == 0
            tags.append(MediaTag(path, now, "video" if kind == 9 else "audio", timestamp, config))
        pos = end + 4  # skip PreviousTagSize, even if not written yet
    state.offset += pos
    return tags


class _Nginx:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with (self.root / "nginx.stderr").open("ab") as log:
            self.proc = subprocess.Popen(
                ["nginx", "-p", f"{self.root}/", "-c", str(self.root / "nginx.conf"),
                 "-e", str(self.root / "error.log")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so a stuck master and its workers go down together.
                start_new_session=True,
            )  # fmt: skip

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        # SIGTERM is nginx's fast shutdown: it drops live connections like a real outage,
        # where SIGQUIT would wait for publishers to leave.
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # The unreaped master keeps the group id ours, so this reaches only its workers.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _shutdown(nginx: _Nginx, server: _HookServer, watcher: _Watcher, remove: Path | None) -> None:
    try:
        nginx.stop()
    finally:
        watcher.stop()
        server.shutdown()
        server.server_close()
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)


class Ingest:
    """nginx-rtmp on free loopback ports with the applications "game" and "live".

    Both record every publish to FLV and ask the on_publish hook first, which accepts
    unless the stream name is in `reject_names`.  `stop()` then `start()` brings the same
    server back on the same ports, so tests can simulate an ingest outage.
    """

    def __init__(self, root: Path | None = None) -> None:
        """`root` is kept after close() (e.g. pytest's tmp_path); by default a temp dir is used
        and removed."""
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="ingest-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.record_dir = self.root / "record"
        for app in APPS:
            (self.record_dir / app).mkdir(parents=True, exist_ok=True)
        self.ca_file, _, _ = _make_certs(self.root / "tls")
        self.rtmp_port = free_port()
        self.tls_port = free_port()
        self._hooks = _Hooks()
        self._server = _HookServer(self._hooks)
        self.hook_port: int = self._server.server_address[1]
        # A short poll keeps shutdown() (in close) from waiting up to half a second.
        hook = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        hook.start()
        (self.root / "nginx.conf").write_text(
            _nginx_conf(self.root, self.rtmp_port, self.tls_port, self.hook_port)
        )
        self._nginx = _Nginx(self.root)
        self._watcher = _Watcher(self.record_dir)
        # Runs on close(), on garbage collection or at interpreter exit, whichever is first.
        self._finalizer = weakref.finalize(
            self, _shutdown, self._nginx, self._server, self._watcher,
            None if root is not None else self.root,
        )  # fmt: skip

    def __enter__(self) -> "Ingest":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._nginx.running()

    def start(self, timeout: float = 10.0) -> None:
        """Start nginx and return once both ports accept connections."""
        if not self._finalizer.alive:
            raise RuntimeError("Ingest is closed")
        if self.running:
            return
        self._nginx.start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self._nginx.stop()
            raise
        self._watcher.start()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = [self.rtmp_port, self.tls_port]
        while pending:
            if not self.running:
                raise RuntimeError(f"nginx exited at start:\n{self.error_log()}")
            try:
                socket.create_connection((HOST, pending[0]), timeout=1).close()
                pending.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nginx not listening:\n{self.error_log()}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop nginx (dropping live connections); the ports and the hook stay ours."""
        self._nginx.stop()

    def close(self) -> None:
        self._finalizer()

    def rtmp_url(self, app: str = "game") -> str:
        return f"rtmp://{HOST}:{self.rtmp_port}/{app}/"

    def rtmps_url(self, app: str = "game") -> str:
        # 127.0.0.1 rather than localhost: the certificate has an IP SAN that ffmpeg/gnutls
        # verifies, and localhost may resolve to ::1 first, where nothing listens.
        return f"rtmps://{HOST}:{self.tls_port}/{app}/"

    @property
    def reject_names(self) -> set[str]:
        """Stream names the on_publish hook refuses (HTTP 403); change it at any time."""
        return self._hooks.reject_names

    @reject_names.setter
    def reject_names(self, names: set[str]) -> None:
        self._hooks.reject_names = set(names)

    @property
    def publishes(self) -> list[dict]:
        """Every on_publish call, oldest first: the form fields (app, name, tcurl, ..., and the
        key's own query such as expire and sign; first value wins) plus `_raw` (the body as
        sent), `_time` (time.monotonic()), `_accepted` and `_path`."""
        with self._hooks.changed:
            return list(self._hooks.publishes)

    def wait_for_publish(self, timeout: float = 10.0, count: int = 1) -> dict:
        """Wait until at least `count` publishes were seen; return the `count`-th."""
        with self._hooks.changed:
            if not self._hooks.changed.wait_for(
                lambda: len(self._hooks.publishes) >= count, timeout
            ):
                raise TimeoutError(f"{len(self._hooks.publishes)} publish(es), wanted {count}")
            return self._hooks.publishes[count - 1]

    def recordings(self, app: str | None = None) -> list[Path]:
        """The FLV files nginx recorded, in the order they appeared."""
        self._watcher.scan()
        with self._watcher.changed:
            paths = list(self._watcher.files)
        return [p for p in paths if app is None or p.parent.name == app]

    def media_tags(self) -> list[MediaTag]:
        """Every audio/video tag recorded so far, in arrival order."""
        self._watcher.scan()
        with self._watcher.changed:
            return list(self._watcher.tags)

    def wait_for_media(
        self, timeout: float = 10.0, *, since: float | None = None, include_config: bool = False
    ) -> float:
        """time.monotonic() at which the first audio/video frame reached a recording.

        Codec sequence headers do not count unless `include_config`; with `since`, only
        arrivals at or after that monotonic time count (e.g. after an outage).  Accurate to
        the watcher's poll period plus nginx's write latency, i.e. a few milliseconds.
        """

        def first() -> float | None:
            for tag in self._watcher.tags:
                if (include_config or not tag.config) and (since is None or tag.arrived >= since):
                    return tag.arrived
            return None

        self._watcher.start()
        with self._watcher.changed:
            self._watcher.changed.wait_for(
                lambda: first() is not None or self._watcher.error is not None, timeout
            )
            if self._watcher.error is not None:
                raise RuntimeError("recording watcher failed") from self._watcher.error
            arrived = first()
        if arrived is None:
            raise TimeoutError(f"no media recorded within {timeout} s:\n{self.error_log()}")
        return arrived

    def error_log(self) -> str:
        """nginx's error log and anything it printed, for debugging failures."""
        return "".join(
            path.read_text(errors="replace")
            for path in (self.root / "nginx.stderr", self.root / "error.log")
            if path.exists()
        )
