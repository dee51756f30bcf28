"""After a crash, a kill -9 or a power cut: end the broadcast the daemon left open.

At the next start (kit.app, with the daemon's lock held, so no other daemon is running
it) each session with no end is ended as ``interrupted`` at its last recorded second: the
moment its last segment started (when the one before it was last written, or the
broadcast's start) plus what of that segment plays (ffprobe, counting only the packets
wholly on disk: a segment cut short declares more than it holds), never later than the
segment's last write. Without a segment the broadcast ends where it began.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

from kit.store import Session, Store

log = logging.getLogger(__name__)

SEGMENT = re.compile(r"^part-\d{4,}\.mp4$")


def close_interrupted(store: Store, ffprobe: str = "ffprobe") -> list[int]:
    """End every unfinished session as interrupted; the ids ended."""
    ended = []
    for session in store.unfinished():
        at = last_recorded_second(session, ffprobe)
        store.interrupted(session.id, at)
        ended.append(session.id)
        log.warning(
            "broadcast %d was interrupted (the kit stopped without ending it): "
            "ended at its last recorded second, %.1f s after its start",
            session.id,
            at - session.started_at,
        )
    return ended


def last_recorded_second(session: Session, ffprobe: str = "ffprobe") -> float:
    """The wall-clock time (epoch s) of the session's last recorded second."""
    try:
        segments = sorted(p for p in Path(session.dir).iterdir() if SEGMENT.match(p.name))
        times = [p.stat().st_mtime for p in segments]
    except OSError:
        return session.started_at
    if not segments:
        return session.started_at
    began = times[-2] if len(times) > 1 else session.started_at
    plays = playable_seconds(segments[-1], ffprobe)
    last = times[-1] if plays is None else min(times[-1], began + plays)
    return max(session.started_at, last)


def playable_seconds(path: Path, ffprobe: str = "ffprobe") -> float | None:
    """Seconds of media in the packets wholly inside the file; None if ffprobe cannot run."""
    try:
        size = path.stat().st_size
        r = subprocess.run(
            [ffprobe, "-v", "error", "-of", "json",
             "-show_entries", "packet=pts_time,duration_time,pos,size", str(path)],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        packets = json.loads(r.stdout or "{}").get("packets", [])
    except ValueError:
        packets = []
    start = end = None
    for p in packets:
        try:
            pts, dur = float(p["pts_time"]), float(p.get("duration_time", 0))
            if int(p["pos"]) + int(p["size"]) > size:
                continue
        except (KeyError, TypeError, ValueError):
            continue
        start = pts if start is None else min(start, pts)
        end = pts + dur if end is None else max(end, pts + dur)
    if start is None or end is None:
        return 0.0  # nothing in it plays (a segment just opened, or cut before its media)
    return max(0.0, end - start)
