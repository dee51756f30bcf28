"""Recordings as the page shows them: sessions from the store plus what is on disk."""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from kit.store import Session

SEGMENT = re.compile(r"^part-\d{4,}\.mp4$")


@dataclass(frozen=True)
class Recording:
    session: Session
    files: tuple[tuple[str, int], ...]  # (name, bytes)

    @property
    def size(self) -> int:
        return sum(n for _, n in self.files)

    @property
    def duration_s(self) -> float | None:
        s = self.session
        return None if s.ended_at is None else max(0.0, s.ended_at - s.started_at)

    @property
    def average_kbps(self) -> float | None:
        """What was recorded over the broadcast's duration (video and audio)."""
        d = self.duration_s
        return None if not d or not self.size else self.size * 8 / 1000 / d

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.session.started_at))


def segment_files(folder: Path) -> tuple[tuple[str, int], ...]:
    try:
        entries = sorted(p for p in folder.iterdir() if SEGMENT.match(p.name) and p.is_file())
    except OSError:
        return ()
    return tuple((p.name, p.stat().st_size) for p in entries)


def recording(session: Session) -> Recording:
    return Recording(session, segment_files(Path(session.dir)))


def inside(root: Path, folder: Path) -> bool:
    try:
        folder.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return folder.resolve() != root.resolve()


def delete(db_path: Path, recordings_root: Path, session: Session) -> None:
    """Remove the session's folder (only if it lies inside the recordings folder) and its
    row and markers. A connection of its own: kit.store has no delete yet."""
    folder = Path(session.dir)
    if folder.exists() and inside(recordings_root, folder):
        shutil.rmtree(folder)
    db = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    try:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("DELETE FROM markers WHERE session_id=?", (session.id,))
        db.execute("DELETE FROM sessions WHERE id=?", (session.id,))
    finally:
        db.close()
