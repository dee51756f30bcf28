"""Session history: one row per broadcast, its highlight markers, its figures.

SQLite from the standard library in WAL mode under the state folder: each
commit is durable and a power cut leaves the last committed state, and the
recordings page and the session report can query it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL,
    title TEXT NOT NULL DEFAULT '',
    dir TEXT NOT NULL,
    end_state TEXT NOT NULL DEFAULT '',
    reconnects INTEGER NOT NULL DEFAULT 0,
    dropped_frames INTEGER NOT NULL DEFAULT 0,
    bitrate_kbps REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS markers (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    at_s REAL NOT NULL,
    created_at REAL NOT NULL
);
"""


# (name, declaration) of sessions columns added later, in order; NULL in older rows.
_ADDED_COLUMNS = (("peak_temperature_c", "REAL"),)


@dataclass(frozen=True)
class Session:
    id: int
    started_at: float
    ended_at: float | None
    title: str
    dir: str
    end_state: str
    reconnects: int
    dropped_frames: int
    bitrate_kbps: float
    markers: tuple[float, ...]
    # The hottest CPU temperature sampled while on air; None: not measured.
    peak_temperature_c: float | None = None


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._migrate()
        path.chmod(0o600)

    def _migrate(self) -> None:
        """Columns added after the first release, for databases made before them."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(sessions)")}
        for name, decl in _ADDED_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE sessions ADD COLUMN {name} {decl}")

    def begin(self, title: str, directory: Path, now: float | None = None) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO sessions (started_at, title, dir) VALUES (?, ?, ?)",
                (time.time() if now is None else now, title, str(directory)),
            )
            return int(cur.lastrowid or 0)

    def end(
        self,
        session_id: int,
        end_state: str,
        reconnects: int,
        dropped_frames: int,
        bitrate_kbps: float,
        now: float | None = None,
        peak_temperature_c: float | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET ended_at=?, end_state=?, reconnects=?, dropped_frames=?, "
                "bitrate_kbps=?, peak_temperature_c=? WHERE id=?",
                (
                    time.time() if now is None else now,
                    end_state,
                    reconnects,
                    dropped_frames,
                    bitrate_kbps,
                    peak_temperature_c,
                    session_id,
                ),
            )

    def add_marker(self, session_id: int, at_s: float, now: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO markers (session_id, at_s, created_at) VALUES (?, ?, ?)",
                (session_id, at_s, time.time() if now is None else now),
            )

    def session(self, session_id: int) -> Session | None:
        found = self.sessions(where="id=?", args=(session_id,))
        return found[0] if found else None

    def sessions(self, where: str = "1", args: tuple[object, ...] = ()) -> list[Session]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, started_at, ended_at, title, dir, end_state, reconnects, "
                "dropped_frames, bitrate_kbps, peak_temperature_c "
                f"FROM sessions WHERE {where} ORDER BY id DESC",
                args,
            ).fetchall()
            out = []
            for r in rows:
                marks = self._db.execute(
                    "SELECT at_s FROM markers WHERE session_id=? ORDER BY at_s", (r[0],)
                ).fetchall()
                out.append(
                    Session(*r[:9], markers=tuple(m[0] for m in marks), peak_temperature_c=r[9])
                )
            return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
