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
- daemon bytes per frame: what the daemon's process read and wrote (/proc/PID/io, rchar
  + wchar: ffmpeg's log and progress lines, the API) per frame: no frame passes through it
- A/V offset: kit.avsync on what arrived at the ingest, with the sync pattern on

With --camera rig the picture comes from the real picamera2 on the camera rig
(tests/rigs/camera), in the camera's own process, whose CPU and memory are shown beside
the daemon's; with --camera pi, on a Raspberry Pi, from its camera through the system's
picamera2 (stop the kit's service first: the camera is one program's at a time). The
default is the simulation's test pattern.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from kit import avsync, destination
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


def io_bytes(pid: int) -> int:
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["rchar"]) + int(fields["wchar"])


SYNC = """
[simulation]
sync_pattern = true
"""


def rig_camera() -> str:
    from tests.peers.camrig import ensure_rig, enter_argv

    ensure_rig()
    return f"""
[camera]
source = "picamera2"
python = "{" ".join(enter_argv("python3"))}"
"""


PI_CAMERA = """
[camera]
source = "picamera2"
python = "/usr/bin/python3"
"""


def run_kit(ingest: Ingest, root: Path, seconds: float, camera: str) -> dict[str, float]:
    extra = SYNC + {"rig": rig_camera, "pi": lambda: PI_CAMERA}.get(camera, lambda: "")()
    cfg = write_config(root, ingest.rtmp_url(), extra=extra)
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
        encoder = next(c for c in children if "-progress" in c.cmdline())
        source = [c for c in children if c.pid != encoder.pid]
        d0, e0 = cpu_seconds(daemon), cpu_seconds(encoder)
        s0 = sum(cpu_seconds(c) for c in source)
        io0, f0 = io_bytes(daemon.pid), kit.status()["frame"]
        t0 = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - t0
        d1, e1 = cpu_seconds(daemon), cpu_seconds(encoder)
        s1 = sum(cpu_seconds(c) for c in source)
        io1, f1 = io_bytes(daemon.pid), kit.status()["frame"]
        source_rss = sum(c.memory_info().rss for c in source) / 2**20
        flv = ingest.recordings()

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
        sync = avsync.measure(flv)
        return {
            "wall": wall,
            "daemon_cpu": d1 - d0,
            "encoder_cpu": e1 - e0,
            "source_cpu": s1 - s0,
            "source_rss_mb": source_rss,
            "total_cpu": (d1 - d0) + (e1 - e0) + (s1 - s0),
            "bytes_per_frame": (io1 - io0) / max(1, f1 - f0),
            "sync_mean": sync.mean,
            "sync_min": sync.min,
            "sync_max": sync.max,
            "rss_mb": rss,
            "first_packet": first_media - countdown_end,
            "live_again": live_again,
            "media_again": media_again,
        }
    finally:
        kit.stop()


def run_bare(ingest: Ingest, root: Path, seconds: float) -> float:
    """The same encode and tee outputs in one ffmpeg, the test pattern generated inside."""
    dest = destination.parse(ingest.rtmp_url(), "bare")
    encode = pipeline.Encode("libx264", 720, 1280, 30, 2500)
    spec = pipeline.Spec(
        pipeline.VideoFeed(0, 720, 1280, 30.0, time.time()),
        pipeline.AudioFeed("tone"),
        encode,
        pipeline.Outputs(root / "part-%04d.mp4", 10, 0, dest),
    )
    argv = pipeline.build(spec)
    i = argv.index("pipe:0")
    # Replace the camera's input (-f nut ... -i pipe:0) by the inline pattern, and the
    # copy by the encode the camera source does.
    start = argv.index("-f")
    argv[start : i + 1] = ["-re", "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=30"]
    c = argv.index("copy")
    x264 = {"b:v": "2500k", "g": 60, "pix_fmt": "yuv420p", **pipeline.x264_args(encode)}
    argv[c : c + 1] = ["libx264", *[x for k, v in x264.items() for x in (f"-{k}", str(v))]]
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
    ap.add_argument(
        "--camera",
        choices=("test-pattern", "rig", "pi"),
        default="test-pattern",
        help="the simulation's test pattern, the real picamera2 on the camera rig, or "
        "the Pi's own camera through the system's picamera2 (run on a Pi)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp, Ingest() as ingest:
        root = Path(tmp)
        (root / "kit").mkdir()
        (root / "bare").mkdir()
        k = run_kit(ingest, root / "kit", args.seconds, args.camera)
        bare = run_bare(ingest, root / "bare", args.seconds)
    rows = [
        ("live window", f"{k['wall']:.1f} s", ""),
        (
            "daemon CPU (Python process)",
            f"{k['daemon_cpu']:.2f} s",
            f"{100 * k['daemon_cpu'] / (k['encoder_cpu'] + k['source_cpu']):.2f}% of the "
            "encoding (camera source + ffmpeg; budget 2%)",
        ),
        ("encoder ffmpeg CPU (copies the video)", f"{k['encoder_cpu']:.2f} s", ""),
        (f"camera source CPU ({args.camera})", f"{k['source_cpu']:.2f} s", ""),
        (f"camera source RSS ({args.camera})", f"{k['source_rss_mb']:.1f} MB", ""),
        ("daemon bytes read+written per frame", f"{k['bytes_per_frame']:.0f} B", "no pixels"),
        (
            "A/V offset at the ingest (picture - sound)",
            f"{k['sync_mean']:+.1f} ms",
            f"min {k['sync_min']:+.1f}, max {k['sync_max']:+.1f}; budget -125..+45",
        ),
        (
            "kit total CPU (daemon + source + ffmpeg)",
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
