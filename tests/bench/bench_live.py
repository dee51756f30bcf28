"""Benchmark: the kit live in simulation beside a bare ffmpeg doing the same encode and outputs.

Run:  .venv/bin/python -m tests.bench.bench_live [--seconds 30]

Prints a table. Figures are compared as ratios within one run, because the
machine is shared and noisy; nothing here is asserted.

- daemon CPU: user+system seconds of the kit's own Python process while live
- ffmpeg CPU: the encoder ffmpeg under the kit; total = daemon + all children
  (the simulated camera's test-pattern ffmpeg included)
- bare: one ffmpeg with the test pattern inline, same encode, same tee outputs
- peak RSS: the daemon's VmHWM from /proc
- first packet: end of the countdown -> first audio/video frame at the ingest
- live again: ingest back after a 10 s outage -> the kit says live again
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from kit import destination
from kit.media import pipeline
from tests.integration.kitproc import KitProcess, write_config
from tests.peers.ingest import Ingest


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def poll_until(kit: KitProcess, pred, timeout: float, step: float = 0.02) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred(kit.status()):
            return time.monotonic()
        time.sleep(step)
    raise TimeoutError


def run_kit(ingest: Ingest, root: Path, seconds: float) -> dict[str, float]:
    cfg = write_config(root, ingest.rtmp_url())
    kit = KitProcess(cfg, root / "daemon.log")
    kit.start()
    try:
        assert kit.proc is not None
        daemon = psutil.Process(kit.proc.pid)
        pressed = time.monotonic()
        kit.press()
        countdown_end = poll_until(
            kit, lambda s: s["state"] not in ("idle", "checking", "countdown"), 10
        )
        first_media = ingest.wait_for_media(timeout=10, since=pressed)
        poll_until(kit, lambda s: s["state"] == "live", 10)
        time.sleep(1)  # let the encoder settle before measuring
        children = daemon.children(recursive=True)
        encoder = max(children, key=lambda c: len(c.cmdline()))
        d0, e0 = cpu_seconds(daemon), cpu_seconds(encoder)
        c0 = sum(cpu_seconds(c) for c in children)
        t0 = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - t0
        d1, e1 = cpu_seconds(daemon), cpu_seconds(encoder)
        c1 = sum(cpu_seconds(c) for c in children)

        ingest.stop()
        poll_until(kit, lambda s: s["state"] == "reconnecting", 15)
        time.sleep(10)
        back = time.monotonic()
        ingest.start()
        live_again = poll_until(kit, lambda s: s["state"] == "live", 15) - back
        media_again = ingest.wait_for_media(timeout=10, since=back) - back
        rss = peak_rss_mb(daemon.pid)
        kit.cli("live", "stop")
        kit.wait_state("idle")
        return {
            "wall": wall,
            "daemon_cpu": d1 - d0,
            "encoder_cpu": e1 - e0,
            "total_cpu": (d1 - d0) + (c1 - c0),
            "rss_mb": rss,
            "first_packet": first_media - countdown_end,
            "live_again": live_again,
            "media_again": media_again,
        }
    finally:
        kit.stop()


def run_bare(ingest: Ingest, root: Path, seconds: float) -> float:
    """The same encode and tee outputs, the test pattern generated inside ffmpeg."""
    dest = destination.parse(ingest.rtmp_url(), "bare")
    spec = pipeline.Spec(
        pipeline.VideoFeed(0, "rawvideo", 720, 1280, 30),
        pipeline.AudioFeed("tone"),
        pipeline.Encode("libx264", 720, 1280, 30, 2500),
        pipeline.Outputs(root / "part-%04d.mp4", 10, 0, dest),
    )
    argv = pipeline.build(spec)
    i = argv.index("pipe:0")
    # Replace the piped raw input (-f rawvideo ... -i pipe:0) by the inline pattern.
    start = argv.index("-f")
    argv[start : i + 1] = ["-re", "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=30"]
    proc = psutil.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ingest.wait_for_media(timeout=10, since=time.monotonic() - 1)
        time.sleep(1)
        c0 = cpu_seconds(proc)
        time.sleep(seconds)
        return cpu_seconds(proc) - c0
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp, Ingest() as ingest:
        root = Path(tmp)
        (root / "kit").mkdir()
        (root / "bare").mkdir()
        k = run_kit(ingest, root / "kit", args.seconds)
        bare = run_bare(ingest, root / "bare", args.seconds)
    rows = [
        ("live window", f"{k['wall']:.1f} s", ""),
        (
            "daemon CPU (Python process)",
            f"{k['daemon_cpu']:.2f} s",
            f"{100 * k['daemon_cpu'] / k['encoder_cpu']:.2f}% of ffmpeg's (budget 2%)",
        ),
        ("encoder ffmpeg CPU", f"{k['encoder_cpu']:.2f} s", ""),
        (
            "kit total CPU (daemon + children)",
            f"{k['total_cpu']:.2f} s",
            f"kit/bare = {k['total_cpu'] / bare:.2f}",
        ),
        ("bare ffmpeg CPU", f"{bare:.2f} s", ""),
        ("daemon peak RSS", f"{k['rss_mb']:.1f} MB", "budget 60 MB"),
        ("countdown end -> first frame at ingest", f"{k['first_packet']:.2f} s", "budget 1 s"),
        ("ingest back -> status live", f"{k['live_again']:.2f} s", "budget 3 s"),
        ("ingest back -> first frame at ingest", f"{k['media_again']:.2f} s", ""),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{w}} | value | note |")
    print(f"|{'-' * (w + 2)}|-------|------|")
    for name, value, note in rows:
        print(f"| {name:<{w}} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
