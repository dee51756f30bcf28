"""Benchmark: what a sideways-mounted camera costs (ffmpeg turns the picture) against upright.

Run:  .venv/bin/python -m tests.bench.bench_orientation [--seconds 20]

Feeds the kit's real ffmpeg pipeline with raw YUV420 frames shaped as picamera2
delivers them (rows padded to 64 bytes): upright is 720x1280 cropped by the
ISP, sideways is 1280x720 turned by ffmpeg's transpose. Prints the encoder's
CPU seconds for each and the ratio; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from kit.media import pipeline


def generator(w: int, h: int, stride: int) -> list[str]:
    pad = f",pad={stride}:{h}:0:0" if stride != w else ""
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
            f"testsrc2=size={w}x{h}:rate=30{pad}", "-f", "rawvideo", "-pix_fmt", "yuv420p",
            "pipe:1"]  # fmt: skip


def run(capture: tuple[int, int], stride: int, rotate: int, seconds: float, folder: Path) -> float:
    w, h = capture
    folder.mkdir(parents=True, exist_ok=True)
    r, wfd = os.pipe()
    gen = subprocess.Popen(generator(w, h, stride), stdout=wfd, stderr=subprocess.DEVNULL)
    os.close(wfd)
    spec = pipeline.Spec(
        pipeline.VideoFeed(r, "rawvideo", w, h, 30, stride=stride, rotate=rotate),  # type: ignore[arg-type]
        pipeline.AudioFeed("tone"),
        pipeline.Encode("libx264", 720, 1280, 30, 2500),
        pipeline.Outputs(folder / "part-%04d.mp4", 60, 0, None),
    )
    enc = psutil.Popen(
        pipeline.build(spec), pass_fds=(r,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    os.close(r)
    try:
        time.sleep(2)
        c0 = sum(enc.cpu_times()[:2])
        time.sleep(seconds)
        return sum(enc.cpu_times()[:2]) - c0
    finally:
        enc.terminate()
        gen.terminate()
        enc.wait(10)
        gen.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        up = run((720, 1280), 768, 0, args.seconds, Path(tmp) / "up")
        side = run((1280, 720), 1280, 90, args.seconds, Path(tmp) / "side")
    print("| mount | encoder ffmpeg CPU | per second of video |")
    print("|---|---|---|")
    print(f"| upright (ISP crop, stride crop) | {up:.2f} s | {up / args.seconds:.2f} |")
    print(f"| sideways (ffmpeg transpose) | {side:.2f} s | {side / args.seconds:.2f} |")
    print(f"| ratio sideways/upright | {side / up:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
