"""Benchmark: clips and the joined video of an hour-long broadcast.

Run:  .venv/bin/python -m tests.bench.bench_clips [--minutes 60] [--dir /var/tmp/bench]

Makes a recording as the kit cuts it (720x1280 30 fps, 2.5 Mb/s, AAC 48 kHz, 60 s
segments of fragmented MP4; an hour in a few seconds: a 20 s loop encoded once, then
copied), then measures, through the kit's own code:

- a 40 s clip, copy cut and smart cut (kit.media.clipjobs, at the lowest priority): time,
  and the CPU of ffmpeg (children) and of the Python side;
- the joined video of the whole broadcast through the page's route (kit.api.recordings,
  Flask's client in process, no network): time to the first byte and to the last,
  and the CPU that costs;
- a broadcast's encoder (x264 720x1280 at 30 fps in real time, as the simulation's
  camera source) while a smart-cut clip is exported beside it: its speed must stay 1.0x.

Prints a table; nothing is asserted. On a Pi: the same command (the recording needs
about 1.2 GB free in --dir per hour).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from kit.media import clips, mp4join
from kit.media.clipjobs import ClipJobs
from kit.store import Store
from tests.peers import segments


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def export(folder: Path, store: Store, sid: int, joined: mp4join.Joined, marker: int,
           at: float, before: float) -> tuple[str, float, float, float]:  # fmt: skip
    plan = clips.plan(at, before, 40.0 - before, joined.duration_s, joined.keyframes_s,
                      joined.frames_s)  # fmt: skip
    clip_id = store.save_clip(sid, marker, plan.start_s, plan.end_s, plan.method)
    jobs = ClipJobs(store, lambda _: joined)
    t0, c0, s0 = time.perf_counter(), cpu_children(), cpu_self()
    jobs.submit(clip_id)
    jobs.wait_idle(600)
    wall, child, own = time.perf_counter() - t0, cpu_children() - c0, cpu_self() - s0
    clip = store.clip(clip_id)
    assert clip is not None and clip.state == "done", clip
    return plan.method, wall, child, own


def download(folder: Path, store: Store, sid: int) -> tuple[float, float, int, float]:
    from tests.unit.test_web_routes import Kit, logged_in

    kit = Kit(folder.parent.parent / "kit")
    try:
        # The bench's recording, moved into this kit's recordings folder.
        root = kit.settings.current().recording.dir
        root.mkdir(parents=True, exist_ok=True)
        link = root / folder.name
        shutil.move(str(folder), link)
        sid = kit.store.begin("Bench", link, now=1000.0)
        kit.store.end(sid, "stopped", 0, 0, 2500.0, now=1000.0 + 3600)
        # (a fresh process would have no cached index: none is made before this)
        c, _ = logged_in(kit)
        c0 = cpu_self()
        t0 = time.perf_counter()
        r = c.get(f"/recordings/{sid}/video.mp4", buffered=False)
        assert r.status_code == 200, r.status_code
        it = iter(r.response)
        first = next(it)
        ttfb = time.perf_counter() - t0
        total = len(first)
        for chunk in it:
            total += len(chunk)
        wall = time.perf_counter() - t0
        r.close()
        return ttfb, wall, total, cpu_self() - c0
    finally:
        kit.close()
        if link.exists():
            shutil.move(str(link), folder)


def encoder_speed_during(work: callable, seconds: float) -> float:  # type: ignore[valid-type]
    """x264 720x1280 at 30 fps in real time (-re) while `work` runs: its speed at the end."""
    enc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i",
         f"testsrc2=size=720x1280:rate=30:duration={seconds}", "-c:v", "libx264",
         "-preset", "veryfast", "-tune", "zerolatency", "-b:v", "2500k", "-f", "null", "-",
         "-progress", "pipe:1"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(2)
    work()
    speed = 0.0
    assert enc.stdout is not None
    for line in enc.stdout:
        if line.startswith("speed="):
            with contextlib.suppress(ValueError):
                speed = float(line.split("=")[1].rstrip("x\n"))
    enc.wait()
    return speed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-clips-", dir=args.dir))
    rows: list[tuple[str, str]] = []
    try:
        folder = base / "rec" / "2026-01-01_120000_bench"
        t0 = time.perf_counter()
        segs = segments.long_recording(folder, args.minutes * 60, bitrate_kbps=2500)
        made = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in segs)
        rows.append(("recording", f"{args.minutes:g} min, {len(segs)} segments, "
                     f"{size / 2**20:.0f} MB (made in {made:.1f} s)"))  # fmt: skip
        t0, c0 = time.perf_counter(), cpu_self()
        joined = mp4join.index(folder, [p.name for p in segs])
        assert joined is not None
        rows.append(("index of the joined video (boxes of every segment)",
                     f"{time.perf_counter() - t0:.2f} s, CPU {cpu_self() - c0:.2f} s, "
                     f"moov {len(joined.header) / 2**10:.0f} KB"))  # fmt: skip
        store = Store(base / "kit.db")
        sid = store.begin("Bench", folder)
        middle = joined.duration_s / 2
        k = min(joined.keyframes_s, key=lambda t: abs(t - middle))
        for n, (name, start) in enumerate((("copy cut", k), ("smart cut", k + 1.0)), 1):
            method, wall, child, own = export(folder, store, sid, joined, n, start + 30, 30)
            said = f"{wall:.2f} s, CPU ffmpeg {child:.2f} s + Python {own:.2f} s"
            rows.append((f"40 s clip, {name} ({method})", said))

        def smart() -> None:
            export(folder, store, sid, joined, 3, k + 1.0 + 30, 30)

        speed = encoder_speed_during(smart, 12)
        rows.append(("live encoder's speed while a smart cut is exported", f"{speed:.2f}x"))
        store.close()
        ttfb, wall, total, own = download(folder, store, sid)
        rows.append(("joined video, time to first byte (index included)", f"{ttfb * 1000:.0f} ms"))
        rows.append(("joined video, whole download", f"{total / 2**20:.0f} MB in {wall:.1f} s "
                     f"({total / 2**20 / wall:.0f} MB/s), CPU {own:.2f} s"))  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
    width = max(len(a) for a, _ in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|---|")
    for a, b in rows:
        print(f"| {a:<{width}} | {b} |")


if __name__ == "__main__":
    main()
