"""The network checks and the push monitor against real peers behind a real link: nginx-rtmp
and an HTTP upload sink in a network namespace (tests/peers/netns.py), reached over a veth
pair that the tests take down or shape to 1 Mbit/s with tc.

Needs root (ip netns, tc). Skipped only where that is missing and CI is unset: in CI these
must run.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kit import config
from kit.checks import Context, Level, Result
from kit.machine import Ev, Failed
from kit.net import checks as net
from tests.peers.live import Live
from tests.peers.netns import NetNs, NsIngest, UploadSink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 and not os.environ.get("CI"),
        reason="network namespaces and tc need root",
    ),
]

REPO = Path(__file__).resolve().parents[2]
# A name under .test (RFC 2606) given to the namespace's address by a private /etc/hosts.
NAME = "ingest.kit.test"
AUDIO_KBPS = 128


@dataclass
class Peers:
    ns: NetNs
    ingest: NsIngest
    sink: UploadSink


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Peers]:
    with NetNs() as ns:
        ingest = NsIngest(ns, tmp_path / "ingest", names=(NAME,))
        ingest.start()
        sink = UploadSink(ns, tmp_path / "sink")
        sink.start()
        yield Peers(ns, ingest, sink)


def context(server: str, ca_file: Path, bitrate_kbps: int = 2500) -> Context:
    cfg = config.from_dict(
        {"stream": {"server": server, "key": "stream-1", "ca_file": str(ca_file),
                    "bitrate_kbps": bitrate_kbps, "audio_bitrate_kbps": AUDIO_KBPS}}
    )  # fmt: skip
    return Context(cfg, camera_ok=lambda: True, microphone_ok=lambda: True)


def timed(check: object, *args: object, **kwargs: object) -> tuple[Result, float]:
    start = time.monotonic()
    result = check(*args, **kwargs)  # type: ignore[operator]
    return result, time.monotonic() - start


_BY_NAME = """
import json, sys
from kit import config
from kit.checks import Context
from kit.net import checks as net
server, ca_file, upload_url = sys.argv[1:]
cfg = config.from_dict({"stream": {"server": server, "key": "stream-1", "ca_file": ca_file}})
ctx = Context(cfg, camera_ok=lambda: True, microphone_ok=lambda: True)
results = [net.check_wifi(ctx), net.check_dns(ctx), net.check_ingest(ctx),
           net.check_upload(ctx, url=upload_url)]
print(json.dumps([r.as_dict() for r in results]))
"""


def checks_by_name(peers: Peers, server: str, upload_url: str, tmp: Path) -> list[dict]:
    """The four checks in a process of their own whose /etc/hosts (a private mount, the
    machine's file untouched) names the namespace's address: the real resolver finds NAME
    without asking a name server."""
    hosts = tmp / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{peers.ns.ns_ip} {NAME}\n")
    script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", str(hosts),
         sys.executable, "-c", _BY_NAME, server, str(peers.ingest.ca_file), upload_url],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("scheme", ["rtmp", "rtmps"])
def test_all_four_checks_pass(peers: Peers, tmp_path: Path, scheme: str) -> None:
    port = 1935 if scheme == "rtmp" else 443
    server = f"{scheme}://{NAME}:{port}/live/"
    upload_url = f"http://{NAME}:8000/upload"
    results = checks_by_name(peers, server, upload_url, tmp_path)
    assert [r["id"] for r in results] == ["wifi", "dns", "ingest", "upload"]
    assert [r["status"] for r in results] == ["ok"] * 4, results
    _, dns, ingest, upload = (r["message"] for r in results)
    assert dns.startswith(f"{NAME} found in ")
    assert ingest.startswith(f"The server {NAME}:{port} answers (connect ")
    assert ("TLS" in ingest) is (scheme == "rtmps")
    assert upload.endswith("enough for the stream's 2.6 Mb/s.")


def test_untrusted_certificate_in_the_namespace(peers: Peers, tmp_path: Path) -> None:
    # The system's CA bundle does not know the namespace's throwaway CA.
    ctx = context(peers.ingest.rtmps_url(), Path("/etc/ssl/certs/ca-certificates.crt"))
    result = net.check_ingest(ctx)
    assert result.status is Level.FAIL
    assert result.message.startswith("The server's certificate is not trusted (")


@pytest.mark.parametrize(
    ("where", "ingest_says", "upload_says"),
    [
        # The kit's own link goes (Wi-Fi lost): no route, at once.
        ("host", "(no route): check the Wi-Fi or Ethernet connection.",
         "(no network route to it). While live, the kit watches the stream's own send rate."),
        # The far end goes (the router's uplink): nothing answers until the deadline.
        ("far", "within 5 s (connecting): check the internet connection and the server URL.",
         "(no answer within 6 s). While live, the kit watches the stream's own send rate."),
    ],
    ids=["host", "far"],
)  # fmt: skip
def test_link_down(peers: Peers, where: str, ingest_says: str, upload_says: str) -> None:
    ctx = context(peers.ingest.rtmps_url(), peers.ingest.ca_file)
    before = net.check_ingest(ctx)
    assert before.status is Level.OK, before.message

    peers.ns.link_down(where)
    ingest, ingest_s = timed(net.check_ingest, ctx)
    upload, upload_s = timed(net.check_upload, ctx, url=peers.sink.url)
    # The ingest check fails and says what to do; the upload is only "not measured" (at the
    # ok level: one failure, not two, and never a warning the page cannot act on).
    assert (ingest.status, upload.status) == (Level.FAIL, Level.OK), (ingest, upload)
    assert ingest.message.endswith(ingest_says), ingest.message
    assert upload.message.endswith(upload_says), upload.message
    assert ingest_s < net.INGEST_TIMEOUT_S + 0.5
    assert upload_s < net.UPLOAD_TIMEOUT_S + 0.5

    peers.ns.link_up()
    after = net.check_ingest(ctx)
    assert after.status is Level.OK, after.message


def test_slow_uplink_upload_says_lower_the_bitrate(peers: Peers) -> None:
    ctx = context(peers.ingest.rtmp_url(), peers.ingest.ca_file, bitrate_kbps=2500)
    fast = net.check_upload(ctx, url=peers.sink.url)
    assert fast.status is Level.OK, fast.message

    peers.ns.shape("1mbit")
    probe = net.probe_upload(peers.sink.url)
    # At most tc's 1 Mbit/s (which counts the headers too): timing until the sink's answer
    # leaves nothing in the send buffer uncounted.
    assert probe.complete and 800 < probe.kbps <= 1000, probe
    result, seconds = timed(net.check_upload, ctx, url=peers.sink.url)
    assert seconds < net.UPLOAD_TIMEOUT_S + 0.5
    assert result.status is Level.FAIL, result.message
    assert "is less than the stream's 2.6 Mb/s: lower the bitrate to" in result.message
    # The ingest still answers: a slow link is not a broken one.
    assert net.check_ingest(ctx).status is Level.OK


def ffmpeg_push(url: str, seconds: int, bitrate_kbps: int) -> subprocess.Popen[bytes]:
    """A 2.5 Mb/s stream that really is 2.5 Mb/s: noise does not compress, so x264 spends
    its whole bitrate (a plain test pattern would use a fraction of it)."""
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-vf", "noise=alls=60:allf=t", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "60",
         "-b:v", f"{bitrate_kbps}k", "-maxrate", f"{bitrate_kbps}k",
         "-bufsize", f"{bitrate_kbps * 2}k",
         "-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-f", "flv", url + "stream-1"],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def sample(pid: int, peers: Peers, seconds: float, into: list[tuple[float, int]]) -> list[float]:
    """Readings of the push connection's acknowledged bytes for `seconds`, into `into`,
    each stamped at the middle of the ss run that read it; returns how long each ss took
    (shown when the test fails: a busy machine slows ss down)."""
    took = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        conns = net.read_push_connections(pid, peers.ns.ns_ip, 1935)
        count = net.push_bytes(conns or [])
        done = time.monotonic()
        took.append(done - start)
        if count is not None:
            into.append(((start + done) / 2, count))
        time.sleep(0.5)
    return took


def readings(samples: list[tuple[float, int]], took: list[float]) -> str:
    """The readings as a table of rates, for a failure's message."""
    lines = [f"ss took {min(took):.2f}..{max(took):.2f} s"]
    for (t0, b0), (t1, b1) in itertools.pairwise(samples):
        lines.append(
            f"{t1 - samples[0][0]:6.2f} s  {b1:>10}  {(b1 - b0) * 8 / 1000 / (t1 - t0):7.0f} kb/s"
        )
    return "\n".join(lines)


def test_push_through_a_slow_uplink_falls_behind(peers: Peers) -> None:
    target = 2500 + AUDIO_KBPS
    push = ffmpeg_push(peers.ingest.rtmp_url(), seconds=40, bitrate_kbps=2500)
    before: list[tuple[float, int]] = []
    after: list[tuple[float, int]] = []
    try:
        took = sample(push.pid, peers, 8, before)
        steady = net.push_health(before, target)
        peers.ns.shape("1mbit")
        took += sample(push.pid, peers, 13, after)
        # The verdict from the slow link's own readings: the first window after the
        # change mixes both rates, and where it starts depends on a busy machine's timing.
        slow = net.push_health(after, target)
    finally:
        push.kill()
        _, err = push.communicate()
    table = readings(before + after, took or [0.0])
    assert len(before) > 10 and len(after) > 15, err.decode(errors="replace") + "\n" + table
    assert steady.state == "ok", f"{steady}\n{table}"
    assert steady.rate_kbps is not None and steady.rate_kbps > 0.8 * target, table
    assert slow.state == "behind", f"{slow}\n{table}"
    assert slow.rate_kbps is not None and slow.rate_kbps < 1100, table
    assert slow.behind_s > 5, table
    assert "lower the bitrate or move closer to the router" in slow.message


def _push(peers: Peers, folder: Path) -> Live:
    """The kit's broadcast to the namespace's ingest, watching what the ingest acknowledges."""
    return Live(
        peers.ingest.rtmp_url(),
        "stream-live",
        folder,
        push_health=True,
        target_kbps=2500 + AUDIO_KBPS,
    )


def test_a_dead_link_while_live_is_reconnecting_then_live(peers: Peers, tmp_path: Path) -> None:
    """Packets back from the ingest vanish: TCP neither fails nor delivers, ffmpeg notices
    nothing; the kernel's counters show nothing acknowledged, so the kit says reconnecting,
    and live again once data flows."""
    with _push(peers, tmp_path / "rec") as live:
        try:
            live.wait_for(Ev.PUSH_UP, 15)
            time.sleep(3)
            peers.ns.link_down("far")
            live.wait_for(Ev.PUSH_DOWN, 15)
            time.sleep(4)
            peers.ns.link_up()
            live.wait_for(Ev.PUSH_UP, 45, times=2)
        finally:
            peers.ns.link_up()
    assert not any(isinstance(e, Failed) for e in live.events)


def test_a_slow_uplink_while_live_warns(peers: Peers, tmp_path: Path) -> None:
    with _push(peers, tmp_path / "rec") as live:
        sup = live.supervisor
        try:
            live.wait_for(Ev.PUSH_UP, 15)
            live.wait(lambda: sup.stats()["network"] == "ok", 15, "the network ok")
            peers.ns.shape("1mbit")
            live.wait(lambda: sup.stats()["network"] == "behind", 30, "the network behind")
            assert Ev.NETWORK_CHANGED in live.events
            send = sup.stats()["send_kbps"]
            assert send is not None and send < 1500
        finally:
            peers.ns.unshape()
