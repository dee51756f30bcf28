"""Benchmark: how long the stream is gone at the ingest when the encoder fails mid-broadcast.

Run:  .venv/bin/python -m tests.bench.bench_faults [--times 3] [--camera rig]

The kit's supervisor (the daemon's own code, through tests/peers/live.py) streams the
simulation's test pattern to a local nginx ingest; after each healthy stretch ffmpeg is
killed (a crash) or stopped with SIGSTOP (a hang). The gap is the time between the last
frame that reached the ingest before the fault and the first after it. With --camera rig
the picture comes from the real picamera2 on the camera rig (tests/rigs/camera), through
the camera process, as on a Pi; the table then also counts the camera processes started
(one: the camera was never taken for the fault). Budgets (issue 12):
at most 1 s after a crash, 4 s after a hang. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kit.machine import Ev
from kit.media import supervisor
from tests.peers.ingest import Ingest
from tests.peers.live import Live


def gap(ingest: Ingest, live: Live, old_pid: int) -> float:
    """From the last frame of the failed ffmpeg that reached the ingest (what it had in
    flight included) to the first of its replacement."""
    live.wait(lambda: live.supervisor.pid not in (None, old_pid), 20, "a new ffmpeg")
    restarted = time.monotonic()
    after = ingest.wait_for_media(timeout=20, since=restarted)
    before = max(
        (t.arrived for t in ingest.media_tags() if not t.config and t.arrived < restarted),
        default=restarted,
    )
    return after - before


def rig_camera() -> Any:
    """The camera process on the rig, as tests/integration/test_camera_process.py starts it."""
    from kit.media.camclient import CameraProcess
    from tests.peers.camrig import ensure_rig, enter_argv
    from tests.peers.live import ENCODE

    ensure_rig()
    return CameraProcess(lambda: ENCODE, python=enter_argv("python3"))


def run(kind: str, times: int, camera: Any = None, starts: list[int] | None = None) -> list[float]:
    gaps = []
    with (
        tempfile.TemporaryDirectory(prefix="kit-faults-") as tmp,
        Ingest() as ingest,
        Live(ingest.rtmp_url(), "bench", Path(tmp), camera=camera, push_health=True) as live,
    ):
        pids = set()
        live.wait_for(Ev.PUSH_UP, 15)
        for _ in range(times):
            live.wait(lambda: live.supervisor._healthy_s > supervisor.HEALTHY_S + 1, 40, "healthy")
            pid = live.supervisor.pid
            assert pid is not None
            if camera is not None:
                pids.add(camera._proc.pid)
            os.kill(pid, signal.SIGKILL if kind == "crash" else signal.SIGSTOP)
            gaps.append(gap(ingest, live, pid))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            if camera is not None:
                live.wait(lambda: camera._proc is not None, 10, "the camera process")
                pids.add(camera._proc.pid)
        if starts is not None:
            starts.append(len(pids))
    if camera is not None:
        camera.close()
    return gaps


def fill_and_free(live: Live, disk: Path, session: Path) -> float:
    """Fill the disk, wait for the kit to see it, free it: seconds from the room coming
    back to the new segment holding frames."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * (1 << 20))
    state = live.supervisor.stats
    live.wait(lambda: state()["recording_state"] == "disk_full", 10, "the disk full")
    before = set(session.glob("part-*.mp4"))
    filler.unlink()
    freed = time.monotonic()

    def new_segment() -> Path | None:
        new = set(session.glob("part-*.mp4")) - before
        return next(iter(new)) if new else None

    live.wait(lambda: (p := new_segment()) is not None and p.stat().st_size > 65536, 15, "new")
    return time.monotonic() - freed


def space_back(times: int) -> list[float]:
    """A full disk (a small tmpfs filled up) while live, then room again."""
    import subprocess

    out = []
    with tempfile.TemporaryDirectory(prefix="kit-disk-") as tmp, Ingest() as ingest:
        disk = Path(tmp) / "disk"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)], check=True)
        try:
            session = disk / "show"
            session.mkdir()
            with Live(ingest.rtmp_url(), "bench", session, push_health=True) as live:
                live.wait_for(Ev.PUSH_UP, 15)
                for _ in range(times):
                    out.append(fill_and_free(live, disk, session))
                    time.sleep(3)
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=False)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--times", type=int, default=3)
    ap.add_argument("--camera", choices=("test-pattern", "rig"), default="test-pattern")
    args = ap.parse_args()
    rig = args.camera == "rig"
    starts: list[int] = []
    faults = (("crash (SIGKILL)", "crash", 1.0), ("hang (SIGSTOP)", "hang", 4.0))
    rows = [
        (f"encoder {name}", run(kind, args.times, rig_camera() if rig else None, starts), budget)
        for name, kind, budget in faults
    ]
    if not rig:
        rows.append(("disk full, then room: room -> recording again", space_back(args.times), 5.0))
    print(f"camera: {args.camera}")
    print("| fault | gaps | median | budget |" + (" camera processes |" if rig else ""))
    print("|---|---|---|---|" + ("---|" if rig else ""))
    for i, (name, gaps, budget) in enumerate(rows):
        listed = ", ".join(f"{g:.2f}" for g in gaps)
        extra = f" {starts[i]} |" if rig else ""
        print(f"| {name} | {listed} s | {statistics.median(gaps):.2f} s | {budget:.0f} s |{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
