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


# The end state of a broadcast the daemon never ended (killed, crashed, a power cut): set
# at the next start (kit.recovery), with the end at its last recorded second.
INTERRUPTED = "interrupted"

# (name, declaration) of sessions columns added later, in order; NULL in older rows.
_ADDED_COLUMNS = (
    ("peak_temperature_c", "REAL"),
    # 1: the creator marked it *keep*; retention by free space never removes it.
    ("keep", "INTEGER NOT NULL DEFAULT 0"),
)

# The recordings page's tables (kit.figures, kit.media.clipjobs), beside the sessions.
_RECORDINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    at_s REAL NOT NULL,
    bitrate_kbps REAL NOT NULL,
    dropped_frames INTEGER NOT NULL,
    reconnects INTEGER NOT NULL,
    temperature_c REAL,
    video_s REAL
);
CREATE INDEX IF NOT EXISTS samples_session ON samples(session_id, at_s);
CREATE TABLE IF NOT EXISTS clips (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    marker INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    method TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued',
    progress REAL NOT NULL DEFAULT 0,
    file TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    keep INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (session_id, marker)
);
"""


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
    keep: bool = False


@dataclass(frozen=True)
class Sample:
    """The broadcast's figures at one moment (kit.figures), for the report's chart."""

    at_s: float  # since the broadcast began, as the markers
    bitrate_kbps: float
    dropped_frames: int  # so far
    reconnects: int  # so far
    temperature_c: float | None
    # Where the recording had got to (its video's time); None: not known.
    video_s: float | None = None


@dataclass(frozen=True)
class Clip:
    """A highlight's clip: one per marker (1-based, in the markers' time order)."""

    id: int
    session_id: int
    marker: int
    start_s: float  # in the joined video
    end_s: float
    method: str  # "copy", "smart" or "encode" (kit.media.clips)
    state: str  # "queued", "running", "done", "failed"
    progress: float  # 0..1
    file: str  # its name in the recording's clips/ folder, once done
    size: int
    keep: bool
    error: str


CLIP_FIELDS = frozenset({"method", "state", "progress", "file", "size", "error"})


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
            self._db.executescript(_RECORDINGS_SCHEMA)
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

    def unfinished(self) -> list[Session]:
        """Sessions begun and never ended (only a dead daemon leaves one: kit.startup lets
        one daemon at a time use the store)."""
        return self.sessions(where="ended_at IS NULL")

    def interrupted(self, session_id: int, ended_at: float) -> None:
        """End a session the daemon could not end itself; its figures stay as they were."""
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET ended_at=?, end_state=? WHERE id=? AND ended_at IS NULL",
                (ended_at, INTERRUPTED, session_id),
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
                "dropped_frames, bitrate_kbps, peak_temperature_c, keep "
                f"FROM sessions WHERE {where} ORDER BY id DESC",
                args,
            ).fetchall()
            out = []
            for r in rows:
                marks = self._db.execute(
                    "SELECT at_s FROM markers WHERE session_id=? ORDER BY at_s", (r[0],)
                ).fetchall()
                markers = tuple(m[0] for m in marks)
                out.append(
                    Session(*r[:9], markers=markers, peak_temperature_c=r[9], keep=bool(r[10]))
                )
            return out

    # -- the recordings page: keep, the figures over time, the clips ------------------

    def set_keep(self, session_id: int, keep: bool) -> None:
        with self._lock:
            self._db.execute("UPDATE sessions SET keep=? WHERE id=?", (int(keep), session_id))

    def delete_session(self, session_id: int) -> None:
        """The row, its markers, figures and clips (the folder is the caller's)."""
        with self._lock:
            self._db.execute("DELETE FROM markers WHERE session_id=?", (session_id,))
            self._db.execute("DELETE FROM sessions WHERE id=?", (session_id,))

    def add_sample(self, session_id: int, sample: Sample) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO samples (session_id, at_s, bitrate_kbps, dropped_frames, "
                "reconnects, temperature_c, video_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, sample.at_s, sample.bitrate_kbps, sample.dropped_frames,
                 sample.reconnects, sample.temperature_c, sample.video_s),
            )  # fmt: skip

    def samples(self, session_id: int) -> list[Sample]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at_s, bitrate_kbps, dropped_frames, reconnects, temperature_c, video_s "
                "FROM samples WHERE session_id=? ORDER BY at_s",
                (session_id,),
            ).fetchall()
        return [Sample(*r) for r in rows]

    def save_clip(self, session_id: int, marker: int, start_s: float, end_s: float,
                  method: str, now: float | None = None) -> int:  # fmt: skip
        """A clip for the marker, queued (replacing the marker's earlier one); its id."""
        with self._lock:
            self._db.execute(
                "INSERT INTO clips (session_id, marker, start_s, end_s, method, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, marker) DO UPDATE SET "
                "start_s=excluded.start_s, end_s=excluded.end_s, method=excluded.method, "
                "state='queued', progress=0, error='', created_at=excluded.created_at",
                (session_id, marker, start_s, end_s, method, time.time() if now is None else now),
            )
            row = self._db.execute(
                "SELECT id FROM clips WHERE session_id=? AND marker=?", (session_id, marker)
            ).fetchone()
            return int(row[0])

    def update_clip(self, clip_id: int, **fields: object) -> None:
        unknown = set(fields) - CLIP_FIELDS
        if unknown:
            raise ValueError(f"not a clip field: {sorted(unknown)}")
        sets = ", ".join(f"{name}=?" for name in fields)
        with self._lock:
            self._db.execute(f"UPDATE clips SET {sets} WHERE id=?", (*fields.values(), clip_id))

    def set_clip_keep(self, clip_id: int, keep: bool) -> None:
        with self._lock:
            self._db.execute("UPDATE clips SET keep=? WHERE id=?", (int(keep), clip_id))

    def clips(self, session_id: int) -> list[Clip]:
        return self._clips("session_id=?", (session_id,))

    def clip(self, clip_id: int) -> Clip | None:
        found = self._clips("id=?", (clip_id,))
        return found[0] if found else None

    def _clips(self, where: str, args: tuple[object, ...]) -> list[Clip]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, session_id, marker, start_s, end_s, method, state, progress, file, "
                f"size, keep, error FROM clips WHERE {where} ORDER BY marker",
                args,
            ).fetchall()
        return [Clip(*r[:10], keep=bool(r[10]), error=r[11]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
