"""kit.store: the SQLite session history in a temporary folder."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.store import Session, Store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history.db"  # the folder does not exist yet


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = Store(db)
    yield s
    s.close()


def test_round_trip(store: Store) -> None:
    sid = store.begin("Friday sale", Path("/rec/2026-11-25_034815_friday-sale"), now=1000.0)
    store.add_marker(sid, 42.5, now=1042.5)
    store.add_marker(sid, 7.0, now=1007.0)
    store.end(sid, "idle", reconnects=2, dropped_frames=13, bitrate_kbps=2480.5, now=1900.0)
    assert store.session(sid) == Session(
        id=sid,
        started_at=1000.0,
        ended_at=1900.0,
        title="Friday sale",
        dir="/rec/2026-11-25_034815_friday-sale",
        end_state="idle",
        reconnects=2,
        dropped_frames=13,
        bitrate_kbps=2480.5,
        markers=(7.0, 42.5),  # in broadcast order, not insertion order
    )


def test_open_session_has_no_end(store: Store) -> None:
    sid = store.begin("", Path("/rec/x"), now=5.0)
    s = store.session(sid)
    assert s is not None
    assert (s.ended_at, s.end_state, s.reconnects, s.markers) == (None, "", 0, ())


def test_sessions_newest_first_and_markers_stay_with_their_session(store: Store) -> None:
    first = store.begin("one", Path("/rec/1"), now=1.0)
    second = store.begin("two", Path("/rec/2"), now=2.0)
    store.add_marker(first, 1.0, now=3.0)
    store.add_marker(second, 2.0, now=4.0)
    assert [(s.id, s.title, s.markers) for s in store.sessions()] == [
        (second, "two", (2.0,)),
        (first, "one", (1.0,)),
    ]


def test_unknown_session(store: Store) -> None:
    assert store.session(12345) is None


def test_marker_for_unknown_session_is_refused(store: Store) -> None:
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        store.add_marker(999, 1.0, now=1.0)


def test_file_mode_is_0600(store: Store, db: Path) -> None:
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_reopen_keeps_data(db: Path) -> None:
    s = Store(db)
    sid = s.begin("kept", Path("/rec/k"), now=10.0)
    s.add_marker(sid, 3.0, now=13.0)
    s.end(sid, "key_rejected", 1, 0, 2000.0, now=20.0)
    s.close()

    reopened = Store(db)
    try:
        got = reopened.session(sid)
        assert got is not None
        assert (got.title, got.end_state, got.ended_at, got.markers) == (
            "kept",
            "key_rejected",
            20.0,
            (3.0,),
        )
        # New sessions continue after the old ones instead of reusing their ids.
        assert reopened.begin("next", Path("/rec/n"), now=30.0) > sid
    finally:
        reopened.close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_peak_temperature_is_kept_and_missing_means_not_measured(store: Store) -> None:
    hot = store.begin("hot", Path("/rec/h"), now=1.0)
    store.end(hot, "idle", 0, 0, 2500.0, now=2.0, peak_temperature_c=71.5)
    cold = store.begin("no sensor", Path("/rec/c"), now=3.0)
    store.end(cold, "idle", 0, 0, 2500.0, now=4.0)
    assert store.session(hot).peak_temperature_c == 71.5  # type: ignore[union-attr]
    assert store.session(cold).peak_temperature_c is None  # type: ignore[union-attr]


# The sessions table as the first release made it, before peak_temperature_c.
OLD_SCHEMA = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL,
    title TEXT NOT NULL DEFAULT '', dir TEXT NOT NULL, end_state TEXT NOT NULL DEFAULT '',
    reconnects INTEGER NOT NULL DEFAULT 0, dropped_frames INTEGER NOT NULL DEFAULT 0,
    bitrate_kbps REAL NOT NULL DEFAULT 0
);
INSERT INTO sessions (started_at, ended_at, title, dir, end_state)
    VALUES (5.0, 6.0, 'before the upgrade', '/rec/old', 'idle');
"""


def test_a_database_from_before_the_peak_temperature_is_migrated(db: Path) -> None:
    import sqlite3

    db.parent.mkdir(parents=True)
    old = sqlite3.connect(db)
    old.executescript(OLD_SCHEMA)
    old.close()
    for _ in range(2):  # and opening it again does not add the column twice
        s = Store(db)
        try:
            got = s.session(1)
            assert got is not None
            assert (got.title, got.peak_temperature_c) == ("before the upgrade", None)
            sid = s.begin("after", Path("/rec/new"), now=7.0)
            s.end(sid, "idle", 0, 0, 1.0, now=8.0, peak_temperature_c=60.0)
            assert s.session(sid).peak_temperature_c == 60.0  # type: ignore[union-attr]
        finally:
            s.close()
