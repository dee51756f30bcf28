"""Benchmark: A/V sync over a long broadcast with a flawed camera.

Run:  .venv/bin/python -m tests.bench.bench_sync [--minutes 10] [--slow 0.5] [--drop 2]
      [--camera test-pattern|rig|pi]

The kit live (in simulation: simulated pins and a beep for the microphone) with the sync
pattern on: a white flash and a 1 kHz beep together at each whole second of the wall
clock. With the test pattern the camera runs --slow percent slow and drops --drop
percent of its frames; with --camera rig or pi the real picamera2 gives the picture (the
camera process whitens the frame the sensor took nearest each second). kit.avsync then
measures picture minus sound at the ingest and in the recording, over the whole run and
its first and last minute. Budget (ITU-R BT.1359): -125 ms .. +45 ms. Nothing is
asserted; tests/integration/test_av_sync.py runs a shorter one as a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from kit import avsync
from tests.bench.bench_live import PI_CAMERA, rig_camera
from tests.integration.kitproc import KitProcess, write_config
from tests.peers.ingest import Ingest


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--slow", type=float, default=0.5, help="test camera rate error, percent")
    ap.add_argument("--drop", type=float, default=2.0, help="test camera frames dropped, percent")
    ap.add_argument("--camera", choices=("test-pattern", "rig", "pi"), default="test-pattern")
    args = ap.parse_args()
    extra = f"""
[simulation]
camera_rate_error_percent = {args.slow}
camera_drop_percent = {args.drop}
sync_pattern = true
""" + {"rig": rig_camera, "pi": lambda: PI_CAMERA}.get(args.camera, lambda: "")()
    with tempfile.TemporaryDirectory(prefix="kit-sync-") as tmp, Ingest() as ingest:
        root = Path(tmp)
        kit = KitProcess(write_config(root, ingest.rtmp_url(), extra=extra), root / "daemon.log")
        kit.start()
        try:
            kit.press()
            kit.wait_state("live", timeout=30)
            time.sleep(args.minutes * 60)
            kit.cli("live", "stop")
            kit.wait_state("idle", timeout=60)
        finally:
            kit.stop()
        reports = {
            "ingest": avsync.measure(ingest.recordings()),
            "recording": avsync.measure(sorted(root.glob("recordings/*/part-*.mp4"))),
        }
    print(
        f"camera: {args.camera}"
        + (f", {args.slow}% slow, drops {args.drop}%" if args.camera == "test-pattern" else "")
    )
    print("| where | pairs | mean | min .. max | first minute | last minute | within |")
    print("|---|---|---|---|---|---|---|")
    for where, r in reports.items():
        print(
            f"| {where} | {r.count} | {r.mean:+.1f} ms | {r.min:+.1f} .. {r.max:+.1f} ms "
            f"| {r.first_minute_mean_ms:+.1f} ms | {r.last_minute_mean_ms:+.1f} ms "
            f"| {'yes' if r.within(-125, 45) else 'NO'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
