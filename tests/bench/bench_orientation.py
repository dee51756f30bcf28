"""Benchmark: what a sideways-mounted camera costs against upright.

Run:  .venv/bin/python -m tests.bench.bench_orientation [--seconds 20]

Upright, the camera source encodes the 720x1280 portrait picture and ffmpeg copies it.
Sideways, the camera source encodes the 1280x720 landscape picture (the Pi's ISP cannot
turn it) and ffmpeg decodes, turns (transpose) and encodes it again. Here the camera
source is the simulation's test pattern (x264, as picamera2's LibavH264Encoder on a
Pi 5); on a Pi 4 the first encode is the hardware's. Prints the CPU seconds of the
source and of ffmpeg for each, and the ratio; nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from kit.media import pipeline
from kit.media.camera import TestPatternCamera


def run(capture: tuple[int, int], rotate: int, seconds: float, folder: Path) -> float:
    w, h = capture
    folder.mkdir(parents=True, exist_ok=True)
    camera = TestPatternCamera(lambda: pipeline.Encode("libx264", w, h, 30, 2500))
    feed = camera.start_feed(time.time())
    feed = pipeline.VideoFeed(feed.fd, w, h, 30.0, feed.t0, rotate=rotate)  # type: ignore[arg-type]
    spec = pipeline.Spec(
        feed,
        pipeline.AudioFeed("tone"),
        pipeline.Encode("libx264", 720, 1280, 30, 2500),
        pipeline.Outputs(folder / "part-%04d.mp4", 60, 0, None),
    )
    enc = psutil.Popen(
        pipeline.build(spec),
        pass_fds=(feed.fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    source = psutil.Process(camera._proc.pid)  # type: ignore[union-attr]

    def cpu() -> float:
        return sum(enc.cpu_times()[:2]) + sum(source.cpu_times()[:2])

    try:
        time.sleep(2)
        c0 = cpu()
        time.sleep(seconds)
        return cpu() - c0
    finally:
        enc.terminate()
        enc.wait(10)
        camera.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        up = run((720, 1280), 0, args.seconds, Path(tmp) / "up")
        side = run((1280, 720), 90, args.seconds, Path(tmp) / "side")
    print("| mount | source + ffmpeg CPU | per second of video |")
    print("|---|---|---|")
    print(f"| upright (encoded once, copied) | {up:.2f} s | {up / args.seconds:.2f} |")
    print(f"| sideways (encoded, turned, encoded) | {side:.2f} s | {side / args.seconds:.2f} |")
    print(f"| ratio sideways/upright | {side / up:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
